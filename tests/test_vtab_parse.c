/*
 * test_vtab_parse.c - the vec0 CREATE-statement parser on statement text alone:
 * no database, no extension (the schema vec0 itself reads back is
 * test_vec0.c's).
 */
#include "testutil.h"

#include "err.h"
#include "ivf.h"
#include "vtab_parse.h"

/* A CREATE statement is read from the database file, which anyone may have
 * written: a dimension or IVF parameter vec0's constructor refuses is no vector
 * column, so no caller sizes a buffer by it (float[2^62 + 1] times 4 bytes
 * wraps to 4). Text only: no database, no extension. */
static void test_vtab_parse__refuses_what_vec0_could_not_create(void **state)
{
	static const struct {
		const char *args; /* inside vec0(...) */
		int rc;
	} cases[] = {
	    {"emb float[8192] indexed by ivf(nlist=65536, nprobe=65536, oversample=1)", 0},
	    {"emb float[0] indexed by ivf()", ERR_INPUT},
	    {"emb float[8193] indexed by ivf()", ERR_INPUT},
	    {"emb float[4611686018427387905] indexed by ivf()", ERR_INPUT},
	    {"emb float[18446744073709551620] indexed by ivf()", ERR_INPUT},
	    {"emb float[8] indexed by ivf(nlist=4294967295)", ERR_INPUT},
	    {"emb float[8] indexed by ivf(nlist=65537)", ERR_INPUT},
	    {"emb float[8] indexed by ivf(nprobe=0)", ERR_INPUT},
	    {"emb float[8] indexed by ivf(nlist=8, oversample=0)", ERR_INPUT},
	    {"emb float[8] indexed by ivf(nlist=x)", ERR_INPUT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char sql[256], err[ERR_LEN] = "";
		snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE s USING vec0(%s)", cases[i].args);
		vtab t;
		int rc = vtab_parse("s", sql, NULL, 1, &t, err);
		if (rc != cases[i].rc || (rc && !strstr(err, "table s has no vector column")))
			fail_msg("%s: rc %d, message '%s'", cases[i].args, rc, err);
		if (rc == 0) {
			assert_int_equal(t.d, VTAB_MAX_DIM);
			assert_int_equal(t.nlist, IVF_MAX_NLIST);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vtab_parse__refuses_what_vec0_could_not_create),
	};
	return cmocka_run_group_tests_name("vtab_parse", tests, NULL, NULL);
}

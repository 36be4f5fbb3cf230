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

/* An auxiliary column's type, read as sqlite-vec reads it: any prefix of text,
 * int/integer, float/double or blob, any case (a load refuses values of another
 * type, as vec0's insert does). */
static void test_vtab_parse__auxiliary_types_as_vec0_reads_them(void **state)
{
	static const struct {
		const char *decl;
		int type; /* SQLite's type code, 0: none vec0 knows */
	} cases[] = {
	    {"+a text", 3},  {"+a TEXT", 3},  {"+a t", 3},        {"+a int", 1}, {"+a integer", 1},
	    {"+a in", 1},    {"+a float", 2}, {"+a double", 2},   {"+a d", 2},   {"+a blob", 4},
	    {"+a texts", 0}, {"+a real", 0},  {"+a integers", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char sql[256], err[ERR_LEN] = "";
		snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE s USING vec0(emb float[4], %s)",
		         cases[i].decl);
		vtab t;
		assert_int_equal(vtab_parse("s", sql, NULL, 0, &t, err), 0);
		assert_int_equal(t.naux, 1);
		if (t.aux_type[0] != cases[i].type)
			fail_msg("%s: type %d, expected %d", cases[i].decl, t.aux_type[0],
			         cases[i].type);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vtab_parse__refuses_what_vec0_could_not_create),
	    cmocka_unit_test(test_vtab_parse__auxiliary_types_as_vec0_reads_them),
	};
	return cmocka_run_group_tests_name("vtab_parse", tests, NULL, NULL);
}

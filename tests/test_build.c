/*
 * test_build.c - the training pipeline (train/build.h): the training-size rule,
 * table-driven, and the promise vecbench's `trainer = ivftrain` rests on: a
 * table's rows and the same rows as a matrix give the same sample and
 * byte-identical centroids for the same options. @per-vec0: the table is a
 * real vec0 table of the build under test (flat, so every build runs it).
 */
#include "testutil.h"

#include "build.h"
#include "err.h"
#include "rng.h"
#include "vec0.h"
#include "vtab.h"

#define D 12
#define NROWS 1200

static vec0_ext ext;
static char *dir;

/* sqlite-vec's own leaks inside libsqlite3 (see test_vec0.c) */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsqlite3.so\n";
}

static int setup(void **state)
{
	(void)state;
	char err[ERR_LEN];
	dir = tu_mkdtemp();
	if (vec0_find(getenv("VEC0_PATH"), &ext, err) != 0)
		fail_msg("vec0_find: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmdir(dir);
	return 0;
}

/* The defaults come from the libraries' own defaults, with the sizes left to
 * the rule. */
static void test_build__defaults_leave_the_sizes_to_the_rule(void **state)
{
	(void)state;
	build_opts o;
	km_params k;
	ivf_write_opts w;
	build_defaults(&o);
	km_defaults(&k);
	ivf_write_defaults(&w);
	assert_int_equal(o.nlist, 0);
	assert_int_equal(o.ntrain, 0);
	assert_int_equal(o.km.niter, k.niter);
	assert_true(o.km.seed == RNG_DEFAULT_SEED && o.write.seed == RNG_DEFAULT_SEED);
	assert_int_equal(o.write.assign, w.assign);
	assert_int_equal(o.write.batch, VTAB_BATCH);
	assert_int_equal(o.write.busy_ms, IVF_BUSY_MS);
}

static void test_build__training_size_rule(void **state)
{
	(void)state;
	static const struct {
		size_t nlist, ntrain; /* given: 0 = not */
		int declared;         /* the table's nlist, -1 = no table */
		int64_t avail;
		int rc;
		size_t want_nlist, want_ntrain;
		const char *msg; /* the warning (rc 0) or the error */
	} cases[] = {
	    /* the default: min(rows, 256 x nlist) */
	    {0, 0, 32, 3000, 0, 32, 3000, ""},
	    {0, 0, 4, 3000, 0, 4, 1024, ""},
	    {0, 0, 4, 1024, 0, 4, 1024, ""},
	    {0, 0, 4, 1023, 0, 4, 1023, ""},
	    {0, 0, -1, 100000, 0, BUILD_NLIST, BUILD_NLIST * BUILD_NTRAIN_PER_CENTROID, ""},
	    {16, 0, 4, 100000, 0, 16, 16 * BUILD_NTRAIN_PER_CENTROID, ""},
	    /* a given ntrain is taken, and cut to the rows there are with a warning */
	    {10, 500, 32, 3000, 0, 10, 500, ""},
	    {10, 3000, 32, 3000, 0, 10, 3000, ""},
	    {10, 5000, 32, 3000, 0, 10, 3000,
	     "ntrain 5000 > the 3000 rows of table t: training on all of them"},
	    /* refused */
	    {0, 0, 0, 3000, ERR_INPUT, 0, 0, "table t declares nlist=0: give nlist"},
	    {3001, 0, 32, 3000, ERR_INPUT, 0, 0, "nlist 3001 > the 3000 rows of table t"},
	    {65537, 0, 32, 1000000, ERR_INPUT, 0, 0, "nlist 65537 > 65536"},
	    {32, 20, 32, 3000, ERR_INPUT, 0, 0, "ntrain 20 < nlist 32"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		build_opts o;
		build_sizes s = {.nlist = 7, .ntrain = 7};
		char err[ERR_LEN] = "";
		build_defaults(&o);
		o.nlist = cases[i].nlist;
		o.ntrain = cases[i].ntrain;
		int rc = build_size(&o, cases[i].declared, cases[i].avail, "table t", &s, err);
		print_message("case %zu: rc %d, nlist %zu, ntrain %zu, '%s' '%s'\n", i, rc, s.nlist,
		              s.ntrain, s.warn, err);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(s.nlist, cases[i].want_nlist);
			assert_int_equal(s.ntrain, cases[i].want_ntrain);
			assert_string_equal(s.warn, cases[i].msg);
		} else {
			assert_non_null(strstr(err, cases[i].msg));
			assert_int_equal(s.nlist, 7); /* untouched */
		}
	}
}

/* Centroids from elsewhere must fit the table; another metric is a warning. */
static void test_build__given_centroids_checked_against_the_table(void **state)
{
	(void)state;
	vtab t = {.name = "items", .column = "emb", .d = 8, .metric = VTAB_COSINE};
	static const struct {
		size_t nlist, k, d;
		const char *distance;
		int64_t rows;
		int rc;
		const char *msg;
	} cases[] = {
	    {0, 16, 8, "angular", 100, 0, ""},
	    {16, 16, 8, "", 100, 0, ""},
	    {0, 16, 8, "euclidean", 100, 0,
	     "c.h5 was trained for euclidean distance, table items uses cosine"},
	    {0, 16, 9, "angular", 100, ERR_INPUT,
	     "c.h5: centroids have 9 dimensions, column items.emb has 8"},
	    {12, 16, 8, "angular", 100, ERR_INPUT, "c.h5 holds 16 centroids, nlist says 12"},
	    {0, 0, 8, "angular", 100, ERR_INPUT, "c.h5: 0 centroids, not in [1, 65536]"},
	    {0, 16, 8, "angular", 15, ERR_INPUT, "c.h5: 16 centroids for the 15 rows of items"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		build_opts o;
		build_sizes s = {.nlist = 7};
		char err[ERR_LEN] = "";
		build_defaults(&o);
		o.nlist = cases[i].nlist;
		int rc = build_centroids(&o, cases[i].k, cases[i].d, cases[i].distance, &t,
		                         cases[i].rows, "c.h5", &s, err);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(s.nlist, cases[i].k);
			assert_string_equal(s.warn, cases[i].msg);
		} else {
			assert_string_equal(err, cases[i].msg);
			assert_int_equal(s.nlist, 7);
		}
	}
}

/* vecbench trains on the dataset's rows as a matrix, ivftrain on the table's
 * rows: with row i stored under id i, the same options sample the same rows
 * and train byte-identical centroids, spherical (cosine) and not. */
static void test_build__table_and_matrix_give_identical_centroids(void **state)
{
	(void)state;
	char err[ERR_LEN];
	rng_t g;
	rng_seed(&g, 7);
	float *x = malloc(sizeof(float) * NROWS * D);
	for (size_t i = 0; i < (size_t)NROWS * D; i++)
		x[i] = (float)(rng_normal(&g) + (double)(i / D % 6) * 3.0);
	sqlite3 *db = NULL;
	assert_int_equal(vec0_open(tu_path(dir, "pipe.db"),
	                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 2000, &ext, &db,
	                           err),
	                 0);
	for (int metric = VTAB_L2; metric <= VTAB_COSINE; metric++) {
		vtab_spec spec = {.d = D, .metric = (vtab_metric)metric};
		snprintf(spec.name, sizeof spec.name, "t%d", metric);
		vtab t;
		if (vtab_create(db, &spec, &t, err) != 0 ||
		    vtab_insert(db, &t, x, NROWS, 0, 0, NULL, err) != 0)
			fail_msg("%s", err);
		build_opts o;
		build_sizes s;
		build_defaults(&o);
		o.nlist = 6;
		o.ntrain = 700; /* a real sample: fewer than the rows */
		o.km.niter = 8;
		o.km.seed = 99;
		assert_int_equal(build_size(&o, -1, NROWS, "t", &s, err), 0);
		float *from_table = NULL, *owned = NULL;
		const float *from_matrix = NULL;
		size_t got = 0;
		if (build_sample_table(db, &t, &s, &o, &from_table, &got, NULL, err) != 0 ||
		    build_sample_matrix(x, NROWS, D, &s, &o, &from_matrix, &owned, err) != 0)
			fail_msg("%s", err);
		assert_int_equal(got, 700);
		assert_ptr_equal(from_matrix, owned);
		assert_memory_equal(from_table, from_matrix, sizeof(float) * 700 * D);
		km_result a = {0}, b = {0};
		if (build_train(from_table, got, D, &s, t.metric, &o, &a, NULL, err) != 0 ||
		    build_train(from_matrix, s.ntrain, D, &s, (vtab_metric)metric, &o, &b, NULL,
		                err) != 0)
			fail_msg("%s", err);
		assert_int_equal(a.k, 6);
		assert_memory_equal(a.centroids, b.centroids, sizeof(float) * 6 * D);
		free(from_table);
		free(owned);
		km_result_free(&a);
		km_result_free(&b);
	}
	/* every row: the matrix itself, no copy */
	build_opts o;
	build_sizes s;
	const float *all = NULL;
	float *owned = (float *)1;
	build_defaults(&o);
	o.nlist = 6;
	assert_int_equal(build_size(&o, -1, NROWS, "t", &s, err), 0);
	assert_int_equal(s.ntrain, NROWS); /* 6 x 256 > 1200 rows */
	assert_int_equal(build_sample_matrix(x, NROWS, D, &s, &o, &all, &owned, err), 0);
	assert_ptr_equal(all, x);
	assert_null(owned);
	sqlite3_close(db);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build__defaults_leave_the_sizes_to_the_rule),
	    cmocka_unit_test(test_build__training_size_rule),
	    cmocka_unit_test(test_build__given_centroids_checked_against_the_table),
	    cmocka_unit_test(test_build__table_and_matrix_give_identical_centroids),
	};
	return cmocka_run_group_tests_name("build", tests, setup, teardown);
}

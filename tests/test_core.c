/*
 * test_core.c - the shared core: RNG sampling, GEMM distances and exact top-k
 * against a naive double-precision loop, errors, option tables and numbers.
 */
#include "testutil.h"

#include <limits.h>
#include <math.h>

#include "cli.h"
#include "dist.h"
#include "err.h"
#include "ivf.h"
#include "kmeans.h"
#include "names.h"
#include "rng.h"

static void test_rng__same_seed_same_stream(void **state)
{
	rng_t a, b, c;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = rng_next(&a);
		assert_int_equal(x, rng_next(&b));
		differ |= x != rng_next(&c);
	}
	assert_true(differ);
}

static void test_rng__sample_distinct_sorted_uniform(void **state)
{
	rng_t r;
	rng_seed(&r, 7);
	enum { N = 50, M = 10, TRIALS = 20000 };
	uint64_t out[M];
	int hits[N] = {0};
	for (int t = 0; t < TRIALS; t++) {
		rng_sample(&r, N, M, out);
		for (int i = 0; i < M; i++) {
			assert_true(out[i] < N);
			if (i)
				assert_true(out[i] > out[i - 1]);
			hits[out[i]]++;
		}
	}
	/* each index expected TRIALS*M/N = 4000 times; 5 sigma is about 300 */
	for (int i = 0; i < N; i++)
		assert_in_range(hits[i], 3700, 4300);
	rng_sample(&r, 5, 5, out);
	for (int i = 0; i < 5; i++)
		assert_int_equal(out[i], i);
}

static void test_rng__sample_rows_copies_the_sampled_rows(void **state)
{
	enum { N = 40, D = 3, M = 7 };
	float x[N * D];
	for (int i = 0; i < N * D; i++)
		x[i] = (float)i;
	uint64_t pick[M];
	rng_t r;
	rng_seed(&r, 99);
	rng_sample(&r, N, M, pick);
	float *s = rng_sample_rows(99, x, N, D, M);
	assert_non_null(s);
	for (int i = 0; i < M; i++)
		assert_memory_equal(s + i * D, x + pick[i] * D, D * sizeof *s);
	free(s);
}

static void test_rng__below_in_range(void **state)
{
	rng_t r;
	rng_seed(&r, 1);
	for (int i = 0; i < 10000; i++)
		assert_true(rng_below(&r, 3) < 3);
	double s = 0;
	for (int i = 0; i < 10000; i++)
		s += rng_normal(&r);
	assert_true(fabs(s / 10000) < 0.05);
}

static void fill(rng_t *r, float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)rng_normal(r);
}

static void test_dist__all_distances_match_naive(void **state)
{
	enum { NX = 37, NY = 53, D = 19 };
	rng_t r;
	rng_seed(&r, 3);
	float x[NX * D], y[NY * D], out[NX * NY];
	int64_t ids[NX * NY];
	char err[ERR_LEN];
	fill(&r, x, NX * D);
	fill(&r, y, NY * D);
	/* k = ny: every pair's GEMM distance comes back, each checked once */
	assert_int_equal(dist_knn(x, NX, y, NY, D, NY, ids, out, NULL, err), 0);
	for (int i = 0; i < NX; i++)
		for (int c = 0; c < NY; c++) {
			int64_t j = ids[i * NY + c];
			double s = 0;
			for (int t = 0; t < D; t++) {
				double v = (double)x[i * D + t] - y[j * D + t];
				s += v * v;
			}
			assert_float_equal(out[i * NY + c], s, 1e-3 * (1 + s));
			assert_true(out[i * NY + c] >= 0);
		}
	/* a row against itself: round-off negatives are clamped to exactly 0 */
	assert_int_equal(dist_knn(x, 1, x, 1, D, 1, ids, out, NULL, err), 0);
	assert_true(out[0] >= 0 && out[0] < 1e-4);
}

/* Naive exact top-k in double, ties by lower id: the reference. */
static void naive_knn(const float *x, size_t nx, const float *y, size_t ny, size_t d,
		      size_t k, int64_t *ids, double *dists)
{
	double *all = malloc(ny * sizeof *all);
	for (size_t q = 0; q < nx; q++) {
		for (size_t j = 0; j < ny; j++) {
			double s = 0;
			for (size_t t = 0; t < d; t++) {
				double v = (double)x[q * d + t] - y[j * d + t];
				s += v * v;
			}
			all[j] = s;
		}
		for (size_t i = 0; i < k; i++) {
			size_t best = SIZE_MAX;
			for (size_t j = 0; j < ny; j++)
				if (all[j] >= 0 && (best == SIZE_MAX || all[j] < all[best]))
					best = j;
			ids[q * k + i] = (int64_t)best;
			dists[q * k + i] = all[best];
			all[best] = -1;
		}
	}
	free(all);
}

static void test_dist__knn_matches_naive(void **state)
{
	/* ny spans several row tiles and nx several query blocks */
	enum { NX = 300, NY = 4500, D = 12, K = 17 };
	rng_t r;
	rng_seed(&r, 11);
	float *x = malloc(sizeof(float) * NX * D), *y = malloc(sizeof(float) * NY * D);
	/* small integers: exact in float, so GEMM and naive agree exactly and the
	 * many equal distances exercise the lower-id-first tie rule */
	for (size_t i = 0; i < NX * D; i++)
		x[i] = (float)rng_below(&r, 4);
	for (size_t i = 0; i < NY * D; i++)
		y[i] = (float)rng_below(&r, 4);
	int64_t *ids = malloc(sizeof(int64_t) * NX * K), *nids = malloc(sizeof(int64_t) * NX * K);
	float *dd = malloc(sizeof(float) * NX * K);
	double *nd = malloc(sizeof(double) * NX * K);
	char err[ERR_LEN];
	assert_int_equal(dist_knn(x, NX, y, NY, D, K, ids, dd, NULL, err), 0);
	naive_knn(x, NX, y, NY, D, K, nids, nd);
	for (size_t i = 0; i < NX * K; i++) {
		assert_float_equal(dd[i], nd[i], 1e-4);
		assert_int_equal(ids[i], nids[i]);
	}
	free(x), free(y), free(ids), free(nids), free(dd), free(nd);
}

static void test_dist__knn_k_equals_n(void **state)
{
	float y[] = {0, 0, 3, 0, 1, 0, 2, 0};
	float x[] = {0.9f, 0};
	int64_t ids[4];
	float d[4];
	char err[ERR_LEN];
	assert_int_equal(dist_knn(x, 1, y, 4, 2, 4, ids, d, NULL, err), 0);
	int64_t want[] = {2, 0, 3, 1};
	for (int i = 0; i < 4; i++)
		assert_int_equal(ids[i], want[i]);
	assert_float_equal(d[0], 0.01f, 1e-5);
}

/* The first bad value in row-major order, whether the scan runs in one thread or many. */
static void test_dist__first_nonfinite_in_row_major_order(void **state)
{
	enum { N = 300, D = 300 }; /* N * D above the threshold for a parallel scan */
	float *x = calloc(N * D, sizeof *x);
	assert_non_null(x);
	assert_int_equal(dist_first_nonfinite(x, N, D), N * D);
	assert_int_equal(dist_first_nonfinite(x, 0, D), 0);
	x[250 * D + 7] = INFINITY;
	assert_int_equal(dist_first_nonfinite(x, N, D), 250 * D + 7);
	x[120 * D + 299] = -INFINITY;
	x[120 * D + 5] = 1e30f; /* large but finite */
	assert_int_equal(dist_first_nonfinite(x, N, D), 120 * D + 299);
	x[3] = NAN;
	assert_int_equal(dist_first_nonfinite(x, N, D), 3);
	assert_int_equal(dist_first_nonfinite(x + 121 * D, 2, D), 2 * D); /* one thread */
	assert_int_equal(dist_first_nonfinite(x + 250 * D, 1, D), 7);
	assert_int_equal(dist_first_nonfinite(x + 119 * D, 2, D), D + 299); /* one thread */
	free(x);
}

static void test_err__codes_and_messages(void **state)
{
	char err[ERR_LEN];
	assert_int_equal(err_set(err, ERR_INPUT, "bad %s", "thing"), ERR_INPUT);
	assert_string_equal(err, "bad thing");
	/* a name from a file cannot split the message or reach the terminal raw */
	err_set(err, ERR_INPUT, "dataset %s: bad", "a\nb\r\033[2Jc\t");
	assert_string_equal(err, "dataset a?b??[2Jc?: bad");
	assert_int_equal(err_exit_status(ERR_INPUT), 2);
	assert_int_equal(err_exit_status(ERR_FAIL), 1);
	assert_int_equal(err_exit_status(ERR_INTR), 130);
	assert_int_equal(err_exit_status(ERR_OK), 0);
}

/* What each parser accepts and the message it gives, value untouched on failure. */
static void test_cli__numbers_in_range_or_one_line_error(void **state)
{
	static const struct {
		const char *text;
		long min, max;
		int rc;
		long want;       /* when rc is 0 */
		const char *msg; /* when it is not */
	} cases[] = {
	    {"12", 1, 100, 0, 12, NULL},
	    {"-5", -10, 10, 0, -5, NULL},
	    {"0", 1, 65536, ERR_INPUT, 0, "--n: '0' is not an integer in [1, 65536]"},
	    {"12x", 1, 100, ERR_INPUT, 0, "--n: '12x' is not an integer in [1, 100]"},
	    {"", 1, 100, ERR_INPUT, 0, "--n: '' is not an integer in [1, 100]"},
	    {"99999999999999999999", 0, LONG_MAX, ERR_INPUT, 0,
	     "--n: '99999999999999999999' is not an integer >= 0"},
	};
	char err[ERR_LEN];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		long v = 777;
		err[0] = 0;
		assert_int_equal(
		    cli_parse_long("n", cases[i].text, cases[i].min, cases[i].max, &v, err),
		    cases[i].rc);
		if (cases[i].rc) {
			assert_int_equal(v, 777);
			assert_string_equal(err, cases[i].msg);
		} else {
			assert_int_equal(v, cases[i].want);
		}
	}
	size_t z = 7;
	assert_int_equal(cli_parse_size("q", "42", 1, SIZE_MAX, &z, err), 0);
	assert_int_equal(z, 42);
	assert_int_equal(cli_parse_size("q", " -1", 0, SIZE_MAX, &z, err), ERR_INPUT);
	assert_string_equal(err, "--q: ' -1' is not an integer >= 0");
	assert_int_equal(cli_parse_size("q", "11", 1, 10, &z, err), ERR_INPUT);
	assert_string_equal(err, "--q: '11' is not an integer in [1, 10]");
	assert_int_equal(z, 42);
	double x = 5;
	assert_int_equal(cli_parse_double("x", "0.25", 0, 1, &x, err), 0);
	assert_true(x == 0.25);
	assert_int_equal(cli_parse_double("x", "nan", 0, 1, &x, err), ERR_INPUT);
	assert_string_equal(err, "--x: 'nan' is not a number in [0, 1]");
	assert_int_equal(cli_parse_double("x", "1.5", 0, 1, &x, NULL), ERR_INPUT);
	assert_true(x == 0.25);
}

/* A subset of the table, in the listed order, for getopt_long and for --help. */
static void test_cli__longopts_and_help_follow_the_ids(void **state)
{
	static const cli_opt opts[] = {
	    {"alpha", 256, "N", "the first one"},
	    {"beta", 257, NULL, "a flag"},
	    {"a-rather-long-option", 258, "VALUE", "goes on a line of its own"},
	};
	static const int ids[] = {258, 257, 0};
	struct option lo[4];
	cli_longopts(opts, 3, ids, lo);
	assert_string_equal(lo[0].name, "a-rather-long-option");
	assert_int_equal(lo[0].has_arg, required_argument);
	assert_int_equal(lo[1].val, 257);
	assert_int_equal(lo[1].has_arg, no_argument);
	assert_null(lo[2].name);
	cli_longopts(opts, 3, NULL, lo);
	assert_string_equal(lo[2].name, "a-rather-long-option");
	assert_null(lo[3].name);

	char buf[512] = "";
	FILE *f = fmemopen(buf, sizeof buf - 1, "w");
	assert_non_null(f);
	cli_help(f, opts, 3, ids, 16);
	fclose(f);
	assert_string_equal(buf, "  --a-rather-long-option VALUE\n"
	                         "                goes on a line of its own\n"
	                         "  --beta        a flag\n");
}

static void test_names__find_and_join_follow_the_table(void **state)
{
	(void)state;
	static const char *const t[] = {"alpha", "beta", "gamma", NULL};
	char buf[64];
	assert_int_equal(names_find(t, "beta"), 1);
	assert_int_equal(names_find(t, "Beta"), -1);
	assert_int_equal(names_find(t, ""), -1);
	assert_string_equal(names_join(t, ~0u, " | ", buf, sizeof buf), "alpha | beta | gamma");
	assert_string_equal(names_join(t, 1u << 0 | 1u << 2, ", ", buf, sizeof buf), "alpha, gamma");
	assert_string_equal(names_join(t, ~0u, ", ", buf, 9), "alpha");
}

/* Every owner's name table reads back through its own parse, and a name it
 * does not hold leaves the output untouched. */
static void test_names__each_enum_round_trips(void **state)
{
	(void)state;
	for (int i = 0; ivf_assign_names[i]; i++) {
		ivf_assign a = IVF_ASSIGN_NONE;
		assert_int_equal(ivf_assign_parse(ivf_assign_name((ivf_assign)i), &a), 0);
		assert_int_equal(a, i);
	}
	for (int i = 0; vtab_metric_names[i]; i++) {
		vtab_metric m = VTAB_L1;
		assert_int_equal(vtab_metric_parse(vtab_metric_name((vtab_metric)i), &m), 0);
		assert_int_equal(m, i);
	}
	for (int i = 0; km_init_names[i]; i++) {
		km_init k = KM_INIT_RANDOM;
		assert_int_equal(km_init_parse(km_init_name((km_init)i), &k), 0);
		assert_int_equal(k, i);
	}
	ivf_assign a = IVF_ASSIGN_NATIVE;
	assert_int_equal(ivf_assign_parse("fast", &a), -1);
	assert_int_equal(a, IVF_ASSIGN_NATIVE);
	assert_string_equal(ivf_assign_name(IVF_ASSIGN_BULK), "bulk");
	assert_string_equal(vtab_metric_name(VTAB_COSINE), "cosine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng__same_seed_same_stream),
		cmocka_unit_test(test_rng__sample_distinct_sorted_uniform),
		cmocka_unit_test(test_rng__sample_rows_copies_the_sampled_rows),
		cmocka_unit_test(test_rng__below_in_range),
		cmocka_unit_test(test_dist__all_distances_match_naive),
		cmocka_unit_test(test_dist__knn_matches_naive),
		cmocka_unit_test(test_dist__knn_k_equals_n),
		cmocka_unit_test(test_dist__first_nonfinite_in_row_major_order),
		cmocka_unit_test(test_err__codes_and_messages),
		cmocka_unit_test(test_cli__numbers_in_range_or_one_line_error),
		cmocka_unit_test(test_cli__longopts_and_help_follow_the_ids),
		cmocka_unit_test(test_names__find_and_join_follow_the_table),
		cmocka_unit_test(test_names__each_enum_round_trips),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}

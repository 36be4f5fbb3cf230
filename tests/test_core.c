/*
 * test_core.c - the shared core: RNG sampling, GEMM distances and exact top-k
 * against a naive double-precision loop, errors.
 */
#include "testutil.h"

#include <math.h>

#include "dist.h"
#include "err.h"
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

static void test_dist__block_matches_naive(void **state)
{
	enum { NX = 37, NY = 53, D = 19 };
	rng_t r;
	rng_seed(&r, 3);
	float x[NX * D], y[NY * D], xn[NX], yn[NY], out[NX * NY];
	fill(&r, x, NX * D);
	fill(&r, y, NY * D);
	dist_sqnorms(x, NX, D, xn);
	dist_sqnorms(y, NY, D, yn);
	dist_l2sq_block(x, NX, xn, y, NY, yn, D, out);
	for (int i = 0; i < NX; i++)
		for (int j = 0; j < NY; j++) {
			double s = 0;
			for (int t = 0; t < D; t++) {
				double v = (double)x[i * D + t] - y[j * D + t];
				s += v * v;
			}
			assert_float_equal(out[i * NY + j], s, 1e-3 * (1 + s));
			assert_true(out[i * NY + j] >= 0);
		}
	/* a row against itself: round-off negatives are clamped to exactly 0 */
	dist_l2sq_block(x, 1, xn, x, 1, xn, D, out);
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

static void test_err__codes_and_messages(void **state)
{
	char err[ERR_LEN];
	assert_int_equal(err_set(err, ERR_INPUT, "bad %s", "thing"), ERR_INPUT);
	assert_string_equal(err, "bad thing");
	assert_int_equal(err_exit_status(ERR_INPUT), 2);
	assert_int_equal(err_exit_status(ERR_FAIL), 1);
	assert_int_equal(err_exit_status(ERR_INTR), 130);
	assert_int_equal(err_exit_status(ERR_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng__same_seed_same_stream),
		cmocka_unit_test(test_rng__sample_distinct_sorted_uniform),
		cmocka_unit_test(test_rng__below_in_range),
		cmocka_unit_test(test_dist__block_matches_naive),
		cmocka_unit_test(test_dist__knn_matches_naive),
		cmocka_unit_test(test_dist__knn_k_equals_n),
		cmocka_unit_test(test_err__codes_and_messages),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}

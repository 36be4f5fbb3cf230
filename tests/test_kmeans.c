/*
 * test_kmeans.c - k-means: exact recovery of separated blobs, monotone inertia,
 * empty-cluster repair, the k = 1 and k = n edges, spherical output,
 * determinism, input checks and assignment against brute force.
 */
#include "testutil.h"

#include <math.h>
#include <signal.h>

#include "err.h"
#include "intr.h"
#include "kmeans.h"
#include "rng.h"

/* n rows around nblob centres drawn with spread `far`, unit noise; blob of row i
 * is i % nblob. */
static float *blobs(size_t n, size_t d, size_t nblob, double far, uint64_t seed)
{
	rng_t r;
	rng_seed(&r, seed);
	float *ctr = malloc(nblob * d * sizeof *ctr), *x = malloc(n * d * sizeof *x);
	for (size_t i = 0; i < nblob * d; i++)
		ctr[i] = (float)(far * rng_normal(&r));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			x[i * d + j] = ctr[(i % nblob) * d + j] + (float)rng_normal(&r);
	free(ctr);
	return x;
}

/* Exact nearest centroid and squared distance in double: the reference. */
static void brute_nearest(const float *x, const float *c, size_t k, size_t d, int32_t *id,
                          double *dist)
{
	*dist = INFINITY;
	for (size_t j = 0; j < k; j++) {
		double s = 0;
		for (size_t t = 0; t < d; t++) {
			double v = (double)x[t] - c[j * d + t];
			s += v * v;
		}
		if (s < *dist)
			*dist = s, *id = (int32_t)j;
	}
}

static km_params params(size_t k, int niter, uint64_t seed)
{
	km_params p;
	km_defaults(&p);
	p.k = k;
	p.niter = niter;
	p.seed = seed;
	return p;
}

static void test_kmeans__recovers_separated_blobs(void **state)
{
	enum { NB = 8, PER = 100, N = NB * PER, D = 16 };
	float *x = blobs(N, D, NB, 100, 5);
	km_params p = params(NB, 20, 7);
	km_result res = {0};
	char err[ERR_LEN];
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
	int32_t a[N];
	assert_int_equal(km_assign(x, N, D, res.centroids, NB, a, NULL, err), 0);
	/* one cluster per blob, every row in its blob's cluster */
	int used[NB] = {0};
	for (int b = 0; b < NB; b++) {
		assert_false(used[a[b]]);
		used[a[b]] = 1;
		double mean[D] = {0};
		for (int i = b; i < N; i += NB) {
			assert_int_equal(a[i], a[b]);
			for (int t = 0; t < D; t++)
				mean[t] += x[i * D + t] / (double)PER;
		}
		for (int t = 0; t < D; t++)
			assert_float_equal(res.centroids[a[b] * D + t], mean[t], 1e-3);
	}
	assert_float_equal(res.imbalance, 1.0, 1e-12);
	km_result_free(&res);
	free(x);
}

static void test_kmeans__inertia_non_increasing(void **state)
{
	/* overlapping blobs: many iterations of real movement */
	enum { N = 3000, D = 24, K = 40 };
	float *x = blobs(N, D, 60, 2, 9);
	km_params p = params(K, 25, 3);
	p.tol = 0;
	km_result res = {0};
	char err[ERR_LEN];
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
	assert_int_equal(res.niter, 25);
	for (int i = 1; i < res.niter; i++)
		assert_true(res.iters[i].inertia <= res.iters[i - 1].inertia * (1 + 1e-6));
	assert_true(res.iters[res.niter - 1].inertia < res.iters[0].inertia);

	/* the reported inertia and imbalance are those of the returned centroids */
	int32_t *a = malloc(N * sizeof *a);
	float *dist = malloc(N * sizeof *dist);
	assert_int_equal(km_assign(x, N, D, res.centroids, K, a, dist, err), 0);
	double inertia = 0, sq = 0;
	size_t size[K] = {0};
	for (int i = 0; i < N; i++) {
		inertia += dist[i];
		size[a[i]]++;
	}
	for (int j = 0; j < K; j++)
		sq += (double)size[j] * size[j];
	assert_float_equal(res.inertia, inertia, 1e-6 * inertia);
	assert_float_equal(res.imbalance, sq * K / ((double)N * N), 1e-9);
	assert_true(res.imbalance >= 1.0);
	assert_true(res.train_s >= res.init_s && res.init_s >= 0);

	/* a loose tolerance stops early */
	km_result early = {0};
	p.tol = 1e-2;
	assert_int_equal(km_train(x, N, D, &p, &early, NULL, err), 0);
	assert_true(early.niter >= 1 && early.niter < 25);
	km_result_free(&early);
	km_result_free(&res);
	free(a), free(dist), free(x);
}

static void test_kmeans__empty_clusters_are_split(void **state)
{
	/* 40 well-separated points, each twice; random init of k = 40 picks both
	 * copies of some points, so identical centroids leave clusters empty */
	enum { M = 40, N = 2 * M, D = 8 };
	float *u = blobs(M, D, M, 50, 21), x[N * D];
	for (int i = 0; i < M; i++) {
		for (int t = 0; t < D; t++)
			u[i * D + t] +=
			    200; /* away from the origin, where a split has no direction */
		memcpy(x + 2 * i * D, u + i * D, sizeof(float) * D);
		memcpy(x + (2 * i + 1) * D, u + i * D, sizeof(float) * D);
	}
	km_params p = params(M, 40, 4);
	p.init = KM_INIT_RANDOM;
	p.tol = 0;
	km_result res = {0};
	char err[ERR_LEN];
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
	assert_true(res.iters[0].nsplit > 0);
	int32_t a[N];
	assert_int_equal(km_assign(x, N, D, res.centroids, M, a, NULL, err), 0);
	int size[M] = {0};
	for (int i = 0; i < N; i++)
		size[a[i]]++;
	for (int j = 0; j < M; j++)
		assert_int_equal(size[j], 2); /* no empty cluster: one point (twice) each */
	assert_int_equal(res.iters[res.niter - 1].nsplit, 0);
	/* 0 up to the round-off of ||x||^2 - 2 x.c + ||c||^2 in float */
	double sumsq = 0;
	for (int i = 0; i < N * D; i++)
		sumsq += (double)x[i] * x[i];
	assert_true(res.inertia < 1e-6 * sumsq);
	km_result_free(&res);
	free(u);
}

static void test_kmeans__k1_is_the_mean(void **state)
{
	enum { N = 500, D = 10 };
	float *x = blobs(N, D, 3, 5, 2);
	km_params p = params(1, 5, 1);
	km_result res = {0};
	char err[ERR_LEN];
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
	for (int t = 0; t < D; t++) {
		double m = 0;
		for (int i = 0; i < N; i++)
			m += x[i * D + t];
		assert_float_equal(res.centroids[t], m / N, 1e-5);
	}
	assert_float_equal(res.imbalance, 1.0, 1e-12);
	km_result_free(&res);
	free(x);
}

static void test_kmeans__k_equals_n_has_zero_inertia(void **state)
{
	enum { N = 50, D = 6 };
	float *x = blobs(N, D, 5, 10, 8);
	for (int init = KM_INIT_KMEANSPP; init <= KM_INIT_RANDOM; init++) {
		km_params p = params(N, 10, 5);
		p.init = (km_init)init;
		km_result res = {0};
		char err[ERR_LEN];
		assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
		/* every row is a centroid, bit for bit */
		for (int i = 0; i < N; i++) {
			int found = 0;
			for (int j = 0; j < N && !found; j++)
				found =
				    !memcmp(x + i * D, res.centroids + j * D, sizeof(float) * D);
			assert_true(found);
		}
		assert_float_equal(res.inertia, 0, 1e-3);
		km_result_free(&res);
	}
	free(x);
}

static void test_kmeans__spherical_unit_norm(void **state)
{
	enum { N = 2000, D = 32, K = 30 };
	float *x = blobs(N, D, 20, 3, 13);
	float *copy = malloc(sizeof(float) * N * D);
	memcpy(copy, x, sizeof(float) * N * D);
	km_params p = params(K, 10, 2);
	p.spherical = 1;
	km_result res = {0};
	char err[ERR_LEN];
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
	for (int j = 0; j < K; j++) {
		double s = 0;
		for (int t = 0; t < D; t++)
			s += (double)res.centroids[j * D + t] * res.centroids[j * D + t];
		assert_float_equal(sqrt(s), 1.0, 1e-5);
	}
	/* inertia is of the normalised rows: at most 4 (antipodal) per row */
	assert_true(res.inertia > 0 && res.inertia < 4.0 * N);
	assert_memory_equal(x, copy, sizeof(float) * N * D); /* the input is not touched */
	km_result_free(&res);
	free(x), free(copy);
}

/* Exact k-means++ probability of ending with centre set `set` (a bitmask of 3 of
 * the 4 points of v): sum over the orders it can be drawn in. */
static double kmeanspp_prob(const double *v, int n, unsigned set)
{
	double p = 0;
	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++)
			for (int c = 0; c < n; c++) {
				if (a == b || a == c || b == c ||
				    set != (1u << a | 1u << b | 1u << c))
					continue;
				double wa = 0, wab = 0;
				for (int i = 0; i < n; i++) {
					double da = (v[i] - v[a]) * (v[i] - v[a]);
					double db = (v[i] - v[b]) * (v[i] - v[b]);
					wa += da;
					wab += da < db ? da : db;
				}
				double db = (v[b] - v[a]) * (v[b] - v[a]);
				double dc = fmin((v[c] - v[a]) * (v[c] - v[a]),
				                 (v[c] - v[b]) * (v[c] - v[b]));
				p += 1.0 / n * (db / wa) * (dc / wab);
			}
	return p;
}

static void test_kmeans__kmeanspp_exact_distribution(void **state)
{
	/* the second and third centres come from one batch, through the rejection
	 * step: their joint law must still be k-means++'s */
	enum { N = 4, K = 3, TRIALS = 20000 };
	const double v[N] = {0, 1, 3, 7};
	float x[N] = {0, 1, 3, 7};
	int hits[16] = {0};
	for (int t = 0; t < TRIALS; t++) {
		km_params p = params(K, 0, (uint64_t)t);
		p.nthreads = 1;
		km_result res = {0};
		char err[ERR_LEN];
		assert_int_equal(km_train(x, N, 1, &p, &res, NULL, err), 0);
		unsigned set = 0;
		for (int j = 0; j < K; j++)
			for (int i = 0; i < N; i++)
				if (res.centroids[j] == x[i])
					set |= 1u << i;
		hits[set]++;
		km_result_free(&res);
	}
	double total = 0;
	for (unsigned set = 0; set < 16; set++) {
		double pr = __builtin_popcount(set) == K ? kmeanspp_prob(v, N, set) : 0;
		total += pr;
		double sd = sqrt(pr * (1 - pr) / TRIALS);
		assert_float_equal((double)hits[set] / TRIALS, pr, 5 * sd + 1e-12);
	}
	assert_float_equal(total, 1.0, 1e-12);
}

static void test_kmeans__fewer_distinct_rows_than_k(void **state)
{
	/* 3 distinct points, k = 5: k-means++ runs out of weight and the splits
	 * cannot separate duplicates; training still ends with a sane result */
	enum { N = 30, D = 2, K = 5 };
	float x[N * D];
	for (int i = 0; i < N; i++)
		x[i * D] = (float)(10 * (i % 3)), x[i * D + 1] = 5;
	for (int init = KM_INIT_KMEANSPP; init <= KM_INIT_RANDOM; init++) {
		km_params p = params(K, 5, 3);
		p.init = (km_init)init;
		km_result res = {0};
		char err[ERR_LEN];
		assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), 0);
		assert_float_equal(res.inertia, 0, 1e-3);
		for (int j = 0; j < K; j++) /* every centroid is one of the points */
			assert_true(res.centroids[j * D + 1] == 5 &&
			            fmodf(res.centroids[j * D], 10) == 0);
		km_result_free(&res);
	}
}

static void train_or_fail(const float *x, size_t n, size_t d, const km_params *p, km_result *res)
{
	char err[ERR_LEN];
	int rc = km_train(x, n, d, p, res, NULL, err);
	if (rc)
		fail_msg("km_train: %s", err);
}

static void test_kmeans__deterministic(void **state)
{
	/* several row blocks, so both threads share the work */
	enum { N = 4000, D = 20, K = 64 };
	float *x = blobs(N, D, 100, 3, 17);
	for (int init = KM_INIT_KMEANSPP; init <= KM_INIT_RANDOM; init++) {
		km_params p = params(K, 8, 99);
		p.init = (km_init)init;
		p.nthreads = 2;
		km_result a = {0}, b = {0}, c = {0}, one = {0};
		train_or_fail(x, N, D, &p, &a);
		train_or_fail(x, N, D, &p, &b);
		assert_memory_equal(a.centroids, b.centroids, sizeof(float) * K * D);
		assert_true(a.inertia == b.inertia);
		/* by design, the thread count does not change the result either */
		p.nthreads = 1;
		train_or_fail(x, N, D, &p, &one);
		assert_memory_equal(a.centroids, one.centroids, sizeof(float) * K * D);
		p.seed = 100;
		train_or_fail(x, N, D, &p, &c);
		assert_true(memcmp(a.centroids, c.centroids, sizeof(float) * K * D) != 0);
		km_result_free(&a), km_result_free(&b), km_result_free(&c), km_result_free(&one);
	}
	free(x);
}

static void test_kmeans__bad_input(void **state)
{
	enum { N = 20, D = 4 };
	float *x = blobs(N, D, 2, 5, 1);
	km_result res = {0}, zero = {0};
	char err[ERR_LEN];
	km_params p = params(21, 5, 1);
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), ERR_INPUT);
	assert_non_null(strstr(err, "21"));
	assert_null(strchr(err, '\n'));
	p.k = 0;
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), ERR_INPUT);
	p.k = 3;
	assert_int_equal(km_train(x, N, 0, &p, &res, NULL, err), ERR_INPUT);
	p.niter = -1;
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), ERR_INPUT);
	p.niter = 5;
	x[7 * D + 2] = NAN;
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), ERR_INPUT);
	assert_non_null(strstr(err, "row 7"));
	x[7 * D + 2] = 0;
	x[12 * D] = -INFINITY;
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), ERR_INPUT);
	assert_non_null(strstr(err, "row 12"));
	assert_memory_equal(&res, &zero, sizeof res); /* untouched on failure */
	int32_t a[N];
	assert_int_equal(km_assign(x, N, D, x, 0, a, NULL, err), ERR_INPUT);
	free(x);
}

/* Values whose squared norms float32 cannot hold (3e38 gave inertia -nan or inf
 * and rc 0, or k-means++ never finished) are an error naming a row, for both
 * inits; values just inside the bound train to a finite inertia, and spherical
 * mode, which normalises in double first, takes even 3e38. */
static void test_kmeans__overflowing_values_are_an_error(void **state)
{
	enum { N = 64, D = 4 };
	static const struct {
		float scale;
		int spherical, rc;
	} cases[] = {{3e38f, 0, ERR_INPUT}, {1e19f, 0, ERR_INPUT}, {4e18f, 0, 0}, {3e38f, 1, 0}};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		for (int init = KM_INIT_KMEANSPP; init <= KM_INIT_RANDOM; init++) {
			float *x = blobs(N, D, 4, 5, 7);
			for (size_t i = 0; i < N * D; i++)
				x[i] = (x[i] / 20 + (i % 2 ? 0.5f : -0.5f)) * cases[c].scale;
			km_params p = params(4, 5, 1);
			p.init = (km_init)init;
			p.spherical = cases[c].spherical;
			km_result res = {0};
			char err[ERR_LEN] = "";
			assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), cases[c].rc);
			if (cases[c].rc) {
				assert_non_null(strstr(err, "training row 0 has squared norm"));
				assert_null(res.centroids);
			} else {
				assert_true(isfinite(res.inertia));
				for (size_t i = 0; i < 4 * D; i++)
					assert_true(isfinite(res.centroids[i]));
			}
			km_result_free(&res);
			free(x);
		}
	}
	/* centroids loaded from outside get the same check */
	float x[2 * D] = {1, 2, 3, 4, 5, 6, 7, 8}, c[D] = {3e38f, 0, 0, 0};
	int32_t a[2];
	char err[ERR_LEN];
	assert_int_equal(km_assign(x, 2, D, c, 1, a, NULL, err), ERR_INPUT);
	assert_non_null(strstr(err, "centroid 0 has squared norm"));
}

static void test_kmeans__assign_matches_brute_force(void **state)
{
	enum { N = 1500, D = 20, K = 37 };
	float *x = blobs(N, D, 10, 3, 31), *c = blobs(K, D, 10, 3, 32);
	int32_t *a = malloc(N * sizeof *a);
	float *dist = malloc(N * sizeof *dist);
	char err[ERR_LEN];
	assert_int_equal(km_assign(x, N, D, c, K, a, dist, err), 0);
	for (int i = 0; i < N; i++) {
		int32_t id = -1;
		double best;
		brute_nearest(x + i * D, c, K, D, &id, &best);
		assert_float_equal(dist[i], best, 1e-4 * (1 + best));
		if (a[i] != id) { /* only a float near-tie may pick another centroid */
			double alt;
			int32_t other = -1;
			brute_nearest(x + i * D, c + a[i] * D, 1, D, &other, &alt);
			assert_float_equal(alt, best, 1e-4 * (1 + best));
		}
	}
	free(x), free(c), free(a), free(dist);
}

/* Last: the interrupt flag cannot be cleared once raised. */
static void test_kmeans__ctrl_c_interrupts(void **state)
{
	enum { N = 500, D = 8 };
	float *x = blobs(N, D, 4, 5, 3);
	km_params p = params(4, 5, 1);
	km_result res = {0};
	char err[ERR_LEN];
	intr_install();
	raise(SIGINT);
	assert_int_equal(km_train(x, N, D, &p, &res, NULL, err), ERR_INTR);
	assert_null(res.centroids);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kmeans__recovers_separated_blobs),
	    cmocka_unit_test(test_kmeans__inertia_non_increasing),
	    cmocka_unit_test(test_kmeans__empty_clusters_are_split),
	    cmocka_unit_test(test_kmeans__k1_is_the_mean),
	    cmocka_unit_test(test_kmeans__k_equals_n_has_zero_inertia),
	    cmocka_unit_test(test_kmeans__spherical_unit_norm),
	    cmocka_unit_test(test_kmeans__kmeanspp_exact_distribution),
	    cmocka_unit_test(test_kmeans__fewer_distinct_rows_than_k),
	    cmocka_unit_test(test_kmeans__deterministic),
	    cmocka_unit_test(test_kmeans__bad_input),
	    cmocka_unit_test(test_kmeans__overflowing_values_are_an_error),
	    cmocka_unit_test(test_kmeans__assign_matches_brute_force),
	    cmocka_unit_test(test_kmeans__ctrl_c_interrupts),
	};
	return cmocka_run_group_tests_name("kmeans", tests, NULL, NULL);
}

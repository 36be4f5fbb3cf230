/*
 * test_groundtruth.c - exact ground truth against a naive O(n q d) double loop
 * (euclidean and angular, random data and deliberate ties), the proof's second
 * round, argument errors, and gt_check catching corrupted ground truth.
 */
#include "testutil.h"

#include <math.h>

#include "err.h"
#include "groundtruth.h"
#include "rng.h"

typedef struct pair {
	double d;
	int32_t id;
} pair;

static int pair_cmp(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* The reference: every distance in double, one plain loop, sorted by (distance, id). */
static void naive(const float *y, size_t n, const float *x, size_t nq, size_t d, size_t k,
                  gt_metric m, int32_t *ids, double *dist)
{
	pair *all = malloc(n * sizeof *all);
	for (size_t q = 0; q < nq; q++) {
		const float *a = x + q * d;
		for (size_t j = 0; j < n; j++) {
			const float *b = y + j * d;
			double s = 0, ab = 0, aa = 0, bb = 0;
			for (size_t t = 0; t < d; t++) {
				s += ((double)a[t] - b[t]) * ((double)a[t] - b[t]);
				ab += (double)a[t] * b[t];
				aa += (double)a[t] * a[t];
				bb += (double)b[t] * b[t];
			}
			all[j].id = (int32_t)j;
			all[j].d = m == GT_EUCLIDEAN ? sqrt(s) : 1 - ab / (sqrt(aa) * sqrt(bb));
		}
		qsort(all, n, sizeof *all, pair_cmp);
		for (size_t i = 0; i < k; i++) {
			ids[q * k + i] = all[i].id;
			dist[q * k + i] = all[i].d;
		}
	}
	free(all);
}

/* Data kinds: normal floats; small integers (many exact ties); for angular,
 * rows that are power-of-two multiples of a few directions (exactly tied
 * cosines); tiny noise on a large common offset, where float GEMM distances are
 * mostly rounding error and only the exact rounds can get the order right. */
enum { DATA_NORMAL, DATA_SMALLINT, DATA_SCALED, DATA_OFFSET };

static void make(rng_t *r, int kind, float *v, size_t rows, size_t d)
{
	for (size_t i = 0; i < rows; i++) {
		float s = (float)(1 << rng_below(r, 4)); /* DATA_SCALED: one scale a row */
		for (size_t t = 0; t < d; t++)
			v[i * d + t] = kind == DATA_NORMAL     ? (float)rng_normal(r)
			               : kind == DATA_SMALLINT ? (float)rng_below(r, 3)
			               : kind == DATA_OFFSET ? (float)(1000 + 0.01 * rng_normal(r))
			                                     : (float)((i % 7) * 5 + t % 5 + 1) * s;
	}
}

static void test_gt__matches_naive(void **state)
{
	static const struct {
		gt_metric m;
		int data;
		size_t n, nq, d, k;
		int redo; /* 1: ties must push some queries into a second round */
	} cases[] = {
	    {GT_EUCLIDEAN, DATA_NORMAL, 3000, 70, 24, 10, 0},
	    {GT_EUCLIDEAN, DATA_NORMAL, 500, 300, 7, 100, 0},
	    {GT_ANGULAR, DATA_NORMAL, 3000, 70, 24, 10, 0},
	    {GT_EUCLIDEAN, DATA_SMALLINT, 2500, 50, 6, 20, 1},
	    {GT_ANGULAR, DATA_SCALED, 700, 20, 9, 30, 1},
	    {GT_EUCLIDEAN, DATA_OFFSET, 2000, 30, 32, 10, 1},
	    {GT_EUCLIDEAN, DATA_NORMAL, 40, 5, 3, 40, 0}, /* k = n */
	    {GT_ANGULAR, DATA_NORMAL, 1, 3, 2, 1, 0},     /* one row */
	};
	rng_t r;
	rng_seed(&r, 5);
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		size_t n = cases[c].n, nq = cases[c].nq, d = cases[c].d, k = cases[c].k;
		float *y = malloc(n * d * sizeof *y), *x = malloc(nq * d * sizeof *x);
		make(&r, cases[c].data, y, n, d);
		make(&r, cases[c].data, x, nq, d);
		int32_t *ids = malloc(nq * k * sizeof *ids), *nids = malloc(nq * k * sizeof *nids);
		float *dd = malloc(nq * k * sizeof *dd);
		double *nd = malloc(nq * k * sizeof *nd);
		gt_stats st;
		char err[ERR_LEN];
		assert_int_equal(gt_compute(y, n, x, nq, d, k, cases[c].m, ids, dd, &st, NULL, err),
		                 0);
		naive(y, n, x, nq, d, k, cases[c].m, nids, nd);
		for (size_t i = 0; i < nq * k; i++) {
			if (ids[i] != nids[i] || fabs(dd[i] - nd[i]) > 1e-6 * fabs(nd[i]) + 1e-7)
				fail_msg("case %zu query %zu rank %zu: id %d dist %.9g, naive id "
				         "%d dist %.9g",
				         c, i / k, i % k, ids[i], dd[i], nids[i], nd[i]);
			if (i % k)
				assert_true(dd[i] >= dd[i - 1]);
		}
		if (cases[c].redo)
			assert_true(st.redone > 0);
		assert_true(st.candidates >= k && st.candidates <= n);
		assert_true(st.total_s >= st.knn_s);
		free(y), free(x), free(ids), free(nids), free(dd), free(nd);
	}
}

static void test_gt__bad_arguments(void **state)
{
	float y[6] = {1, 0, 0, 0, 0, 1}, x[2] = {1, 1};
	int32_t ids[4];
	float dd[4];
	char err[ERR_LEN];
	assert_int_equal(gt_compute(y, 3, x, 1, 2, 4, GT_EUCLIDEAN, ids, dd, NULL, NULL, err),
	                 ERR_INPUT);
	assert_non_null(strstr(err, "k = 4"));
	assert_int_equal(gt_compute(y, 3, x, 1, 2, 0, GT_EUCLIDEAN, ids, dd, NULL, NULL, err),
	                 ERR_INPUT);
	/* row 1 of y is all zeros: no angle */
	assert_int_equal(gt_compute(y, 3, x, 1, 2, 2, GT_ANGULAR, ids, dd, NULL, NULL, err),
	                 ERR_INPUT);
	assert_non_null(strstr(err, "train row 1 is all zeros"));
	assert_int_equal(gt_compute(y, 3, x, 1, 2, 2, GT_EUCLIDEAN, ids, dd, NULL, NULL, err), 0);
	assert_int_equal(ids[0], 0); /* rows 0 and 2 tie at distance 1: lower id first */
	assert_int_equal(ids[1], 2);
	gt_metric m;
	assert_int_equal(gt_metric_parse("angular", &m, err), 0);
	assert_int_equal(m, GT_ANGULAR);
	assert_int_equal(gt_metric_parse("cosine", &m, err), ERR_INPUT);
	assert_string_equal(gt_metric_name(GT_EUCLIDEAN), "euclidean");
}

static void test_gt__distances_of_given_ids(void **state)
{
	float y[6] = {0, 0, 3, 4, 1, 1}, x[2] = {0, 0};
	int32_t ids[3] = {1, 2, 0};
	float dd[3];
	char err[ERR_LEN];
	assert_int_equal(gt_distances_of(y, 3, x, 1, 2, GT_EUCLIDEAN, ids, 3, dd, err), 0);
	assert_float_equal(dd[0], 5, 1e-6);
	assert_float_equal(dd[1], sqrt(2), 1e-6);
	assert_float_equal(dd[2], 0, 1e-6);
	float xa[2] = {1, 0};
	assert_int_equal(gt_distances_of(y + 2, 2, xa, 1, 2, GT_ANGULAR, ids + 2, 1, dd, err), 0);
	assert_float_equal(dd[0], 1 - 0.6, 1e-6);
	ids[1] = 3;
	assert_int_equal(gt_distances_of(y, 3, x, 1, 2, GT_EUCLIDEAN, ids, 3, dd, err), ERR_INPUT);
	assert_non_null(strstr(err, "id 3"));
}

static void test_gt__check_finds_corruption(void **state)
{
	enum { N = 800, NQ = 40, D = 10, K = 15 };
	static const struct {
		const char *what;
		int row, col;
		int32_t id; /* new id at (row, col); -2 keeps it */
		float dist; /* new distance; NAN keeps it */
		int bad_ids, not_asc, disagree;
	} cases[] = {
	    {"intact", 0, 0, -2, NAN, 0, 0, 0},
	    {"id out of range", 5, 3, N, NAN, 1, 0, 1},
	    {"repeated id", 7, 4, -1, NAN, 1, 0, 1},
	    {"not ascending", 9, 2, -2, -1, 0, 1, 1},
	    {"far neighbor", 0, K - 1, -3, NAN, 0, 0, 1},
	    {"wrong distance", 4, 6, -2, 1e-3f, 0, 1, 1},
	};
	rng_t r;
	rng_seed(&r, 9);
	float *y = malloc(N * D * sizeof *y), *x = malloc(NQ * D * sizeof *x);
	make(&r, DATA_NORMAL, y, N, D);
	make(&r, DATA_NORMAL, x, NQ, D);
	int32_t ids[NQ * K], bad[NQ * K];
	float dd[NQ * K], bd[NQ * K];
	char err[ERR_LEN];
	assert_int_equal(gt_compute(y, N, x, NQ, D, K, GT_EUCLIDEAN, ids, dd, NULL, NULL, err), 0);
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		memcpy(bad, ids, sizeof bad);
		memcpy(bd, dd, sizeof bd);
		int at = cases[c].row * K + cases[c].col;
		if (cases[c].id == -1) /* repeat the previous id */
			bad[at] = bad[at - 1];
		else if (cases[c].id == -3) { /* the farthest row, with its true distance */
			int32_t far = 0;
			for (int32_t j = 0; j < N; j++)
				if (gt_distance(x, y + j * D, D, GT_EUCLIDEAN) >
				    gt_distance(x, y + far * D, D, GT_EUCLIDEAN))
					far = j;
			bad[at] = far;
			bd[at] = (float)gt_distance(x, y + far * D, D, GT_EUCLIDEAN);
		} else if (cases[c].id != -2)
			bad[at] = cases[c].id;
		if (!isnan(cases[c].dist))
			bd[at] = cases[c].dist;
		gt_report rep;
		/* spot-check every query, so row 0 and row 4 are both among them */
		assert_int_equal(gt_check(y, N, x, NQ, D, GT_EUCLIDEAN, bad, bd, K, NQ, &rep, err),
		                 0);
		if ((rep.bad_ids > 0) != cases[c].bad_ids ||
		    (rep.not_ascending > 0) != cases[c].not_asc ||
		    (rep.spot_agree < rep.spot_checked) != cases[c].disagree)
			fail_msg("%s: bad_ids %zu not_ascending %zu agree %zu/%zu", cases[c].what,
			         rep.bad_ids, rep.not_ascending, rep.spot_agree, rep.spot_checked);
		assert_int_equal(rep.first_bad == SIZE_MAX, !strcmp(cases[c].what, "intact"));
		if (strcmp(cases[c].what, "intact"))
			assert_int_equal(rep.first_bad, cases[c].row);
	}
	free(y);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt__matches_naive),
	    cmocka_unit_test(test_gt__bad_arguments),
	    cmocka_unit_test(test_gt__distances_of_given_ids),
	    cmocka_unit_test(test_gt__check_finds_corruption),
	};
	return cmocka_run_group_tests_name("groundtruth", tests, NULL, NULL);
}

/*
 * test_filtergt.c - filtered ground truth against a naive double loop over the
 * matching rows (ties included, fewer matches than k padded), fgt_check catching
 * corruption, synthetic tags' exact selectivities, and the HDF5 round trip.
 */
#include "testutil.h"

#include <math.h>

#include "err.h"
#include "filtergt.h"
#include "h5ds.h"
#include "rng.h"

/* The reference: for each query every matching row's distance in double, one
 * selection sort by (distance, id), -1 / inf past the matches. */
static void naive(const float *y, size_t n, const float *x, size_t nq, size_t d, size_t k,
                  const int32_t *lab, const int32_t *qf, int32_t *ids, double *dist)
{
	double *dd = malloc(n * sizeof *dd);
	unsigned char *used = malloc(n);
	for (size_t q = 0; q < nq; q++) {
		for (size_t j = 0; j < n; j++) {
			double s = 0;
			for (size_t t = 0; t < d; t++)
				s += ((double)x[q * d + t] - y[j * d + t]) *
				     ((double)x[q * d + t] - y[j * d + t]);
			dd[j] = sqrt(s);
			used[j] = lab[j] != qf[q];
		}
		for (size_t i = 0; i < k; i++) {
			size_t best = n;
			for (size_t j = 0; j < n; j++)
				if (!used[j] && (best == n || dd[j] < dd[best]))
					best = j; /* strict <: the lower id wins a tie */
			ids[q * k + i] = best == n ? -1 : (int32_t)best;
			dist[q * k + i] = best == n ? INFINITY : dd[best];
			if (best < n)
				used[best] = 1;
		}
	}
	free(dd);
	free(used);
}

/* Small-integer rows (many exact distance ties), labels 0..3 with label 3 on
 * only 3 rows, queries filtering on 0..4 (4 matches nothing). */
static void make(size_t n, size_t nq, size_t d, float *y, float *x, int32_t *lab, int32_t *qf)
{
	rng_t r;
	rng_seed(&r, 7);
	for (size_t i = 0; i < n * d; i++)
		y[i] = (float)rng_below(&r, 3);
	for (size_t i = 0; i < nq * d; i++)
		x[i] = (float)rng_below(&r, 3);
	for (size_t i = 0; i < n; i++)
		lab[i] = i < 3 ? 3 : (int32_t)rng_below(&r, 3);
	for (size_t q = 0; q < nq; q++)
		qf[q] = (int32_t)(q % 5);
}

#define N 600
#define NQ 25
#define D 6
#define K 10

static void test_fgt__matches_naive_with_ties_and_padding(void **state)
{
	float *y = malloc(N * D * sizeof *y), *x = malloc(NQ * D * sizeof *x);
	int32_t lab[N], qf[NQ], ids[NQ * K], ref[NQ * K];
	float dist[NQ * K];
	double rdist[NQ * K];
	char err[ERR_LEN];
	size_t nshort = 0;
	make(N, NQ, D, y, x, lab, qf);
	assert_int_equal(
	    fgt_compute(y, N, x, NQ, D, K, GT_EUCLIDEAN, lab, qf, ids, dist, &nshort, NULL, err),
	    0);
	naive(y, N, x, NQ, D, K, lab, qf, ref, rdist);
	size_t ties = 0;
	for (size_t i = 0; i < NQ * K; i++) {
		assert_int_equal(ids[i], ref[i]);
		if (ref[i] < 0)
			assert_true(isinf(dist[i]));
		else
			assert_float_equal(dist[i], rdist[i], 1e-5);
		ties += i % K && ref[i] >= 0 && rdist[i] == rdist[i - 1];
	}
	assert_true(ties > 20); /* the data does exercise the tie order */
	/* filter 3 matches 3 rows, filter 4 none: 10 of the 25 queries are short */
	assert_int_equal(nshort, 10);
	assert_in_range(ids[3 * K + 2], 0, 2);
	assert_int_equal(ids[3 * K + 3], FGT_NONE);
	assert_int_equal(ids[4 * K], FGT_NONE);
	gt_report rep;
	assert_int_equal(
	    fgt_check(y, N, x, NQ, D, GT_EUCLIDEAN, lab, qf, ids, dist, K, NQ, &rep, err), 0);
	assert_int_equal(rep.first_bad, SIZE_MAX);
	assert_int_equal(rep.spot_agree, NQ);
	free(y);
	free(x);
}

/* Each corruption is caught, on the query it touches. */
static void test_fgt__check_finds_corruption(void **state)
{
	float *y = malloc(N * D * sizeof *y), *x = malloc(NQ * D * sizeof *x);
	int32_t lab[N], qf[NQ], ids[NQ * K], bad[NQ * K];
	float dist[NQ * K], bdist[NQ * K];
	char err[ERR_LEN];
	make(N, NQ, D, y, x, lab, qf);
	assert_int_equal(
	    fgt_compute(y, N, x, NQ, D, K, GT_EUCLIDEAN, lab, qf, ids, dist, NULL, NULL, err), 0);
	for (int kind = 0; kind < 4; kind++) {
		memcpy(bad, ids, sizeof bad);
		memcpy(bdist, dist, sizeof bdist);
		size_t q = 5; /* filter 0: many matches */
		int32_t other = -1;
		for (size_t i = 0; i < N && other < 0; i++)
			if (lab[i] != qf[q])
				other = (int32_t)i;
		if (kind == 0)
			bad[q * K + 1] = other; /* a row of another label */
		else if (kind == 1)
			bad[q * K + 9] = FGT_NONE; /* padding where matches remain */
		else if (kind == 2)
			bad[3 * K + 5] = 0; /* a match past the 3 filter 3 has */
		else
			bad[q * K + 9] = bad[q * K + 0]; /* repeated */
		gt_report rep;
		assert_int_equal(
		    fgt_check(y, N, x, NQ, D, GT_EUCLIDEAN, lab, qf, bad, bdist, K, NQ, &rep, err),
		    0);
		assert_int_equal(rep.bad_ids, 1);
		assert_int_equal(rep.first_bad, kind == 2 ? 3 : q);
	}
	/* a valid-looking but not nearest neighbor: only the brute-force spot check sees it */
	memcpy(bad, ids, sizeof bad);
	int32_t far = -1;
	for (size_t i = N; i-- > 0 && far < 0;) {
		int in = 0;
		for (size_t j = 0; j < K; j++)
			in |= ids[5 * K + j] == (int32_t)i;
		if (lab[i] == qf[5] && !in)
			far = (int32_t)i;
	}
	bad[5 * K + 0] = far;
	gt_report rep;
	assert_int_equal(
	    fgt_check(y, N, x, NQ, D, GT_EUCLIDEAN, lab, qf, bad, dist, K, NQ, &rep, err), 0);
	assert_int_equal(rep.spot_agree, NQ - 1);
	assert_int_equal(rep.first_bad, 5);
	free(y);
	free(x);
}

static void test_fgt__tags_have_exact_selectivity(void **state)
{
	int32_t tr[10000], te[9], tr2[10000], te2[9];
	double sel[3] = {0.1, 0.01, 0.001};
	char err[ERR_LEN];
	assert_int_equal(fgt_tags(10000, 9, sel, 3, 42, tr, te, err), 0);
	size_t cnt[4] = {0};
	for (size_t i = 0; i < 10000; i++)
		cnt[tr[i]]++;
	assert_int_equal(cnt[1], 1000);
	assert_int_equal(cnt[2], 100);
	assert_int_equal(cnt[3], 10);
	assert_int_equal(cnt[0], 10000 - 1110);
	for (size_t q = 0; q < 9; q++)
		assert_int_equal(te[q], 1 + q % 3);
	size_t m[9];
	fgt_matches(tr, 10000, te, 9, m);
	assert_int_equal(m[0], 1000);
	assert_int_equal(m[2], 10);
	/* seeded: the same seed, the same rows; another seed, other rows */
	assert_int_equal(fgt_tags(10000, 9, sel, 3, 42, tr2, te2, err), 0);
	assert_memory_equal(tr, tr2, sizeof tr);
	assert_int_equal(fgt_tags(10000, 9, sel, 3, 43, tr2, te2, err), 0);
	assert_memory_not_equal(tr, tr2, sizeof tr);
	double over[2] = {0.6, 0.5}, zero[1] = {0};
	assert_int_equal(fgt_tags(10000, 9, over, 2, 1, tr, te, err), ERR_INPUT);
	assert_non_null(strstr(err, "at most 1"));
	assert_int_equal(fgt_tags(10000, 9, zero, 1, 1, tr, te, err), ERR_INPUT);
}

/* Written beside a real ann-benchmarks file, read back with its filter's name,
 * everything else in the file kept. */
static void test_fgt__hdf5_round_trip(void **state)
{
	char *dir = tu_mkdtemp(), path[4200], err[ERR_LEN];
	snprintf(path, sizeof path, "%s/f.hdf5", dir);
	float train[4 * 2] = {0, 0, 1, 0, 0, 1, 1, 1}, test[2 * 2] = {0, 0, 1, 1};
	int32_t tl[4] = {1, 1, 2, 2}, ql[2] = {2, 5};
	h5_dataset ds = {.distance = "euclidean",
	                 .d = 2,
	                 .n = 4,
	                 .train = train,
	                 .nq = 2,
	                 .test = test,
	                 .train_labels = tl,
	                 .test_labels = ql};
	assert_int_equal(h5_write(path, &ds, err), 0);
	int32_t nb[2 * 3];
	float dist[2 * 3];
	assert_int_equal(
	    fgt_compute(train, 4, test, 2, 2, 3, GT_EUCLIDEAN, tl, ql, nb, dist, NULL, NULL, err),
	    0);
	assert_int_equal(nb[0], 2);
	assert_int_equal(nb[1], 3);
	assert_int_equal(nb[2], FGT_NONE);
	assert_int_equal(nb[3], FGT_NONE); /* filter 5 matches nothing */
	assert_int_equal(fgt_write(path, "labels", nb, dist, 2, 3, err), 0);
	fgt_data f;
	assert_int_equal(fgt_read(path, NULL, 4, 2, &f, err), 0);
	assert_string_equal(f.name, "labels");
	assert_int_equal(f.k, 3);
	assert_memory_equal(f.neighbors, nb, sizeof nb);
	assert_true(isinf(f.distances[2]));
	assert_memory_equal(f.labels, tl, sizeof tl);
	fgt_free(&f);
	h5_dataset back;
	assert_int_equal(h5_read(path, 0, &back, err), 0);
	assert_memory_equal(back.train, train, sizeof train);
	assert_memory_equal(back.test_labels, ql, sizeof ql);
	h5_free(&back);
	assert_int_equal(fgt_read(path, "tags", 4, 2, &f, err), ERR_INPUT);
	assert_non_null(strstr(err, "no 'train_tags' dataset"));
	assert_int_equal(fgt_read(path, "labels", 4, 3, &f, err), ERR_INPUT);
	assert_non_null(strstr(err, "'test_labels' has 2 entries for 3 rows"));
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fgt__matches_naive_with_ties_and_padding),
	    cmocka_unit_test(test_fgt__check_finds_corruption),
	    cmocka_unit_test(test_fgt__tags_have_exact_selectivity),
	    cmocka_unit_test(test_fgt__hdf5_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

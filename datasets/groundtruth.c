/*
 * groundtruth.c - exact top-k from GEMM candidates, double re-ranking and a
 * per-query proof (see groundtruth.h).
 *
 * Angular is computed as euclidean on unit-normalised float copies (for unit
 * vectors ||a - b||^2 / 2 = 1 - cos), so one GEMM path serves both metrics; the
 * re-ranking then uses the original vectors: squared distance, or 1 - cos from
 * a double dot product and double norms.
 *
 * Why the proof holds. dist_knn's squared distances come from float sgemm and
 * float norms; each is within E = (d + GT_ERR_EXTRA) * 2^-24 * (|x| + |y|)^2
 * of the exact squared distance of the float vectors it was given (a d-term dot
 * product in any summation order errs by at most d u sum|x_i y_i| <= d u |x||y|,
 * likewise the norms, plus the two final additions; normalising in double and
 * rounding once to float moves an angular distance by < 9 u more). dist_knn
 * keeps the kc smallest approximate distances, so every row left out has an
 * approximate distance >= the last candidate's, c, hence an exact one >= c - Emax,
 * with Emax taken at the largest train norm. When the exact k-th candidate
 * distance lies below c - Emax, no row left out can reach the top k, not even
 * as a tie. Queries without that proof go to another round with GT_GROW times
 * more candidates; with kc = n there is nothing left out.
 */
#include "groundtruth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "timing.h"

/* First-round candidates: k + k / GT_MARGIN_DIV + GT_MARGIN_MIN. On Fashion-MNIST
 * (k = 100) 101 candidates leave 78% of the queries without proof, 108 leave 12
 * of 10,000, 120 none; each extra candidate costs one more exact distance. */
#define GT_MARGIN_DIV 8
#define GT_MARGIN_MIN 8
#define GT_GROW 4       /* candidate growth a round for queries without proof */
#define GT_ERR_EXTRA 16 /* roundings beyond the d of the dot product, with room */
#define GT_UNIT_ROUND 0x1p-24
#define GT_KEY_SLACK 1e-9 /* relative rounding of the double keys themselves */
#define GT_DIST_REL 1e-3  /* gt_check: stored vs exact distance */
#define GT_DIST_ABS 1e-6

int gt_metric_parse(const char *s, gt_metric *m, char *err)
{
	if (!strcmp(s, "euclidean"))
		*m = GT_EUCLIDEAN;
	else if (!strcmp(s, "angular"))
		*m = GT_ANGULAR;
	else
		return err_set(err, ERR_INPUT, "unknown metric '%s' (euclidean, angular)", s);
	return ERR_OK;
}

const char *gt_metric_name(gt_metric m)
{
	return m == GT_ANGULAR ? "angular" : "euclidean";
}

/* Double-precision kernels. GT_LANES independent partial sums let the compiler
 * fill whole SIMD registers (16: two AVX-512 or four AVX2 registers of doubles,
 * measured 3x faster than 4 sums on 784-d rows). */
#define GT_LANES 16

static double gt_sqdist(const float *restrict a, const float *restrict b, size_t d)
{
	double s[GT_LANES] = {0}, r = 0;
	size_t j = 0;
	for (; j + GT_LANES <= d; j += GT_LANES)
		for (size_t l = 0; l < GT_LANES; l++) {
			double e = (double)a[j + l] - b[j + l];
			s[l] += e * e;
		}
	for (; j < d; j++) {
		double e = (double)a[j] - b[j];
		r += e * e;
	}
	for (size_t l = 0; l < GT_LANES; l++)
		r += s[l];
	return r;
}

static double gt_dot(const float *restrict a, const float *restrict b, size_t d)
{
	double s[GT_LANES] = {0}, r = 0;
	size_t j = 0;
	for (; j + GT_LANES <= d; j += GT_LANES)
		for (size_t l = 0; l < GT_LANES; l++)
			s[l] += (double)a[j + l] * b[j + l];
	for (; j < d; j++)
		r += (double)a[j] * b[j];
	for (size_t l = 0; l < GT_LANES; l++)
		r += s[l];
	return r;
}

/* out[i] = |x_i| in double. */
static void gt_norms(const float *x, size_t n, size_t d, double *out)
{
#pragma omp parallel for schedule(static) if (n * d > 65536)
	for (size_t i = 0; i < n; i++)
		out[i] = sqrt(gt_dot(x + i * d, x + i * d, d));
}

double gt_distance(const float *a, const float *b, size_t d, gt_metric m)
{
	if (m == GT_EUCLIDEAN)
		return sqrt(gt_sqdist(a, b, d));
	double na = sqrt(gt_dot(a, a, d)), nb = sqrt(gt_dot(b, b, d));
	/* an all-zero vector has no direction: call it orthogonal to everything */
	return na > 0 && nb > 0 ? 1 - gt_dot(a, b, d) / (na * nb) : 1;
}

/* Everything a round needs; the GEMM inputs are the originals for euclidean
 * and normalised copies for angular. */
typedef struct gt_ctx {
	const float *train, *test; /* originals: n x d, nq x d */
	size_t n, nq, d, k;
	gt_metric m;
	double *tnorm, *qnorm;  /* angular: norms of the original rows */
	const float *gy, *gx;   /* GEMM inputs (train, test) */
	float *gy_own, *gx_own; /* normalised copies owned here (angular) */
	double *gqnorm;         /* norms of the GEMM query rows */
	double gymax;           /* largest norm among the GEMM train rows */
} gt_ctx;

/* Ranking key of (query q, train row j): exact squared distance, or 1 - cos. */
static double gt_key(const gt_ctx *c, size_t q, size_t j)
{
	const float *a = c->test + q * c->d, *b = c->train + j * c->d;
	if (c->m == GT_EUCLIDEAN)
		return gt_sqdist(a, b, c->d);
	return 1 - gt_dot(a, b, c->d) / (c->qnorm[q] * c->tnorm[j]);
}

/* The key as the distance ann-benchmarks stores. */
static double gt_stored(gt_metric m, double key)
{
	return m == GT_EUCLIDEAN ? sqrt(key) : key > 0 ? key : 0;
}

/* The key as a squared distance between the GEMM inputs. */
static double gt_gemm_space(gt_metric m, double key)
{
	return m == GT_EUCLIDEAN ? key : 2 * key;
}

/* Unit-normalised float copy of x (rows scaled in double, rounded once);
 * norm[i] = |x_i|. ERR_INPUT naming the first all-zero row. */
static int gt_normalised(const float *x, size_t n, size_t d, const char *what, double *norm,
                         float **out, char *err)
{
	gt_norms(x, n, d, norm);
	for (size_t i = 0; i < n; i++)
		if (!(norm[i] > 0))
			return err_set(err, ERR_INPUT,
			               "%s row %zu is all zeros: angular distance is undefined",
			               what, i);
	float *y = malloc(n * d * sizeof *y);
	if (!y)
		return err_set(err, ERR_NOMEM, "out of memory for %zu x %zu normalised rows", n, d);
#pragma omp parallel for schedule(static) if (n * d > 65536)
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			y[i * d + j] = (float)(x[i * d + j] / norm[i]);
	*out = y;
	return ERR_OK;
}

static void gt_ctx_free(gt_ctx *c)
{
	free(c->tnorm);
	free(c->qnorm);
	free(c->gy_own);
	free(c->gx_own);
	free(c->gqnorm);
}

/* Norms and (angular) normalised copies; with gemm = 0 only what gt_key needs. */
static int gt_prepare(gt_ctx *c, int gemm, char *err)
{
	int rc = ERR_OK;
	c->gy = c->train;
	c->gx = c->test;
	if (c->m == GT_ANGULAR) {
		c->tnorm = malloc(c->n * sizeof *c->tnorm);
		c->qnorm = malloc(c->nq * sizeof *c->qnorm);
		if (!c->tnorm || !c->qnorm)
			return err_set(err, ERR_NOMEM, "out of memory for %zu norms", c->n + c->nq);
		if (!gemm) {
			gt_norms(c->train, c->n, c->d, c->tnorm);
			gt_norms(c->test, c->nq, c->d, c->qnorm);
			return ERR_OK;
		}
		rc = gt_normalised(c->train, c->n, c->d, "train", c->tnorm, &c->gy_own, err);
		if (!rc)
			rc = gt_normalised(c->test, c->nq, c->d, "test", c->qnorm, &c->gx_own, err);
		if (rc)
			return rc;
		c->gy = c->gy_own;
		c->gx = c->gx_own;
	}
	if (!gemm)
		return ERR_OK;
	double *ynorm = malloc(c->n * sizeof *ynorm);
	c->gqnorm = malloc(c->nq * sizeof *c->gqnorm);
	if (!ynorm || !c->gqnorm) {
		free(ynorm);
		return err_set(err, ERR_NOMEM, "out of memory for %zu norms", c->n + c->nq);
	}
	gt_norms(c->gy, c->n, c->d, ynorm);
	gt_norms(c->gx, c->nq, c->d, c->gqnorm);
	c->gymax = 0;
	for (size_t j = 0; j < c->n; j++)
		c->gymax = ynorm[j] > c->gymax ? ynorm[j] : c->gymax;
	free(ynorm);
	return ERR_OK;
}

typedef struct gt_cand {
	double key;
	int64_t id;
} gt_cand;

static int gt_cand_cmp(const void *pa, const void *pb)
{
	const gt_cand *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Re-ranks query q's kc candidates (ids, approximate distances ad ascending)
 * exactly and writes its k neighbors; returns 1 when the proof (see the file
 * header) shows that no row outside the candidates can enter the top k. */
static int gt_rerank(const gt_ctx *c, size_t q, const int64_t *ids, const double *keys,
                     const float *ad, size_t kc, gt_cand *cand, int32_t *nb, float *dist)
{
	for (size_t j = 0; j < kc; j++) {
		cand[j].id = ids[j];
		cand[j].key = keys[j];
	}
	qsort(cand, kc, sizeof *cand, gt_cand_cmp);
	for (size_t j = 0; j < c->k; j++) {
		nb[q * c->k + j] = (int32_t)cand[j].id;
		dist[q * c->k + j] = (float)gt_stored(c->m, cand[j].key);
	}
	if (kc == c->n)
		return 1;
	double r = c->gqnorm[q] + c->gymax;
	double bound = (double)(c->d + GT_ERR_EXTRA) * GT_UNIT_ROUND * r * r;
	double kth = gt_gemm_space(c->m, cand[c->k - 1].key);
	return (double)ad[kc - 1] - bound > kth + GT_KEY_SLACK * fabs(kth);
}

/* Exact keys of all nt x kc candidate pairs, keys[i] for (query of i, ids[i]).
 * Computed train row by train row: each row is read from memory once for all
 * the queries that list it, while the query rows (nq x d) stay in cache; taken
 * query by query, the random train rows made this pass memory-bound. */
static int gt_keys(const gt_ctx *c, const size_t *todo, size_t nt, size_t kc, const int64_t *ids,
                   double *keys, char *err)
{
	size_t np = nt * kc;
	size_t *start = calloc(c->n + 1, sizeof *start);
	size_t *pairs = malloc(np * sizeof *pairs);
	if (!start || !pairs) {
		free(start);
		free(pairs);
		return err_set(err, ERR_NOMEM, "out of memory for %zu candidate pairs", np);
	}
	/* counting sort of the pairs by train row */
	for (size_t i = 0; i < np; i++)
		start[ids[i] + 1]++;
	for (size_t j = 0; j < c->n; j++)
		start[j + 1] += start[j];
	for (size_t i = 0; i < np; i++)
		pairs[start[ids[i]]++] = i;
	for (size_t j = c->n; j > 0; j--)
		start[j] = start[j - 1];
	start[0] = 0;
#pragma omp parallel for schedule(dynamic, 256) if (np > 4096)
	for (size_t j = 0; j < c->n; j++)
		for (size_t p = start[j]; p < start[j + 1]; p++) {
			size_t i = pairs[p], q = i / kc;
			keys[i] = gt_key(c, todo ? todo[q] : q, j);
		}
	free(start);
	free(pairs);
	return ERR_OK;
}

/* One round over the queries todo[0..nt) (todo NULL: all nq) with kc candidates
 * each; queries still without proof are written to next (*nnext of them). */
static int gt_round(const gt_ctx *c, const size_t *todo, size_t nt, size_t kc, prog_t *prog,
                    int32_t *nb, float *dist, size_t *next, size_t *nnext, gt_stats *st, char *err)
{
	const float *x = c->gx;
	float *sub = todo ? malloc(nt * c->d * sizeof *sub) : NULL;
	int64_t *ids = malloc(nt * kc * sizeof *ids);
	float *ad = malloc(nt * kc * sizeof *ad);
	double *keys = malloc(nt * kc * sizeof *keys);
	unsigned char *proven = malloc(nt);
	int rc = ERR_OK;
	if ((todo && !sub) || !ids || !ad || !keys || !proven) {
		rc = err_set(err, ERR_NOMEM, "out of memory for %zu x %zu candidates", nt, kc);
		goto out;
	}
	if (todo) {
		for (size_t i = 0; i < nt; i++)
			memcpy(sub + i * c->d, c->gx + todo[i] * c->d, c->d * sizeof *sub);
		x = sub;
	}
	double t = tm_now();
	rc = dist_knn(x, nt, c->gy, c->n, c->d, kc, ids, ad, prog, err);
	st->knn_s += tm_now() - t;
	if (rc)
		goto out;
	t = tm_now();
	if ((rc = gt_keys(c, todo, nt, kc, ids, keys, err)))
		goto out;
	int nomem = 0;
#pragma omp parallel if (nt > 16)
	{
		gt_cand *cand = malloc(kc * sizeof *cand);
		if (!cand) {
#pragma omp atomic write
			nomem = 1;
		}
#pragma omp for schedule(dynamic, 64)
		for (size_t i = 0; i < nt; i++)
			proven[i] = cand && gt_rerank(c, todo ? todo[i] : i, ids + i * kc,
			                              keys + i * kc, ad + i * kc, kc, cand, nb,
			                              dist);
		free(cand);
	}
	if (nomem) {
		rc = err_set(err, ERR_NOMEM, "out of memory for re-ranking scratch");
		goto out;
	}
	*nnext = 0;
	for (size_t i = 0; i < nt; i++)
		if (!proven[i])
			next[(*nnext)++] = todo ? todo[i] : i;
	st->exact_s += tm_now() - t;
out:
	free(sub);
	free(ids);
	free(ad);
	free(keys);
	free(proven);
	return rc;
}

static int gt_check_args(size_t n, size_t nq, size_t d, size_t k, char *err)
{
	if (n == 0 || nq == 0 || d == 0)
		return err_set(err, ERR_INPUT,
		               "empty input (%zu train rows, %zu test rows, dimension %zu)", n, nq,
		               d);
	if (n > INT32_MAX)
		return err_set(err, ERR_INPUT, "%zu train rows do not fit int32 neighbor ids", n);
	if (k == 0 || k > n)
		return err_set(err, ERR_INPUT, "k = %zu must be between 1 and the %zu train rows",
		               k, n);
	return ERR_OK;
}

int gt_compute(const float *train, size_t n, const float *test, size_t nq, size_t d, size_t k,
               gt_metric m, int32_t *neighbors, float *distances, gt_stats *stats, prog_t *prog,
               char *err)
{
	double t0 = tm_now();
	gt_stats st = {0};
	int rc = gt_check_args(n, nq, d, k, err);
	if (rc)
		return rc;
	gt_ctx c = {.train = train, .test = test, .n = n, .nq = nq, .d = d, .k = k, .m = m};
	size_t *todo = malloc(nq * sizeof *todo), *next = malloc(nq * sizeof *next);
	if (!todo || !next) {
		rc = err_set(err, ERR_NOMEM, "out of memory for %zu queries", nq);
		goto out;
	}
	if ((rc = gt_prepare(&c, 1, err)))
		goto out;
	st.prep_s = tm_now() - t0;
	size_t kc = k + k / GT_MARGIN_DIV + GT_MARGIN_MIN;
	kc = kc < n ? kc : n;
	st.candidates = kc;
	prog_begin(prog, "ground truth", nq);
	size_t nt = nq;
	rc = gt_round(&c, NULL, nt, kc, prog, neighbors, distances, todo, &nt, &st, err);
	prog_end(prog);
	st.redone = nt;
	while (!rc && nt) {
		kc = kc * GT_GROW < n ? kc * GT_GROW : n;
		size_t nn;
		rc = gt_round(&c, todo, nt, kc, NULL, neighbors, distances, next, &nn, &st, err);
		size_t *swap = todo;
		todo = next;
		next = swap;
		nt = nn;
	}
out:
	gt_ctx_free(&c);
	free(todo);
	free(next);
	st.total_s = tm_now() - t0;
	if (!rc && stats)
		*stats = st;
	return rc;
}

int gt_distances_of(const float *train, size_t n, const float *test, size_t nq, size_t d,
                    gt_metric m, const int32_t *neighbors, size_t k, float *distances, char *err)
{
	for (size_t i = 0; i < nq * k; i++)
		if (neighbors[i] < 0 || (size_t)neighbors[i] >= n)
			return err_set(err, ERR_INPUT,
			               "neighbor row %zu holds id %d, outside the %zu train rows",
			               i / k, neighbors[i], n);
	gt_ctx c = {.train = train, .test = test, .n = n, .nq = nq, .d = d, .k = k, .m = m};
	int rc = gt_prepare(&c, 0, err);
	if (!rc) {
#pragma omp parallel for schedule(static) if (nq * k * d > 65536)
		for (size_t i = 0; i < nq * k; i++)
			distances[i] = (float)gt_stored(m, gt_key(&c, i / k, (size_t)neighbors[i]));
	}
	gt_ctx_free(&c);
	return rc;
}

static int gt_id_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int gt_key_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Ids of row i in range and distinct (sorted copy in scratch). */
static int gt_row_ids_ok(const int32_t *ids, size_t k, size_t n, int32_t *scratch)
{
	memcpy(scratch, ids, k * sizeof *scratch);
	qsort(scratch, k, sizeof *scratch, gt_id_cmp);
	for (size_t j = 0; j < k; j++)
		if (scratch[j] < 0 || (size_t)scratch[j] >= n ||
		    (j && scratch[j] == scratch[j - 1]))
			return 0;
	return 1;
}

/* Brute force over every train row for query q (keys in scratch, size n):
 * stored neighbors agree when none is farther than the exact k-th (ties within
 * GT_TIE_REL) and each stored distance matches its exact value. The farthest
 * stored neighbor is taken before the sort reorders keys, so no distance is
 * computed twice. */
static int gt_spot_agrees(const gt_ctx *c, size_t q, const int32_t *ids, const float *dist,
                          double *keys)
{
	double far = 0;
#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < c->n; j++)
		keys[j] = gt_key(c, q, j);
	for (size_t j = 0; j < c->k; j++) {
		double e = gt_stored(c->m, keys[ids[j]]);
		if (fabs(dist[j] - e) > GT_DIST_REL * e + GT_DIST_ABS)
			return 0;
		far = e > far ? e : far;
	}
	qsort(keys, c->n, sizeof *keys, gt_key_cmp);
	double kth = gt_stored(c->m, keys[c->k - 1]);
	return !(far > kth * (1 + GT_TIE_REL) + GT_DIST_ABS);
}

int gt_check(const float *train, size_t n, const float *test, size_t nq, size_t d, gt_metric m,
             const int32_t *neighbors, const float *distances, size_t k, size_t spot,
             gt_report *rep, char *err)
{
	memset(rep, 0, sizeof *rep);
	rep->first_bad = SIZE_MAX;
	gt_ctx c = {.train = train, .test = test, .n = n, .nq = nq, .d = d, .k = k, .m = m};
	int32_t *scratch = malloc(k * sizeof *scratch);
	double *keys = malloc(n * sizeof *keys);
	unsigned char *ids_ok = malloc(nq);
	int rc = scratch && keys && ids_ok ? gt_prepare(&c, 0, err)
	                                   : err_set(err, ERR_NOMEM, "out of memory for checks");
	for (size_t i = 0; !rc && i < nq; i++) {
		const float *dr = distances + i * k;
		ids_ok[i] = gt_row_ids_ok(neighbors + i * k, k, n, scratch);
		int asc = 1;
		for (size_t j = 1; j < k; j++)
			asc &= dr[j] >= dr[j - 1];
		rep->bad_ids += !ids_ok[i];
		rep->not_ascending += !asc;
		if ((!ids_ok[i] || !asc) && rep->first_bad == SIZE_MAX)
			rep->first_bad = i;
	}
	spot = spot < nq ? spot : nq;
	for (size_t s = 0; !rc && s < spot; s++) {
		size_t q = s * nq / spot;
		int ok =
		    ids_ok[q] && gt_spot_agrees(&c, q, neighbors + q * k, distances + q * k, keys);
		rep->spot_checked++;
		rep->spot_agree += ok;
		if (!ok && (rep->first_bad == SIZE_MAX || q < rep->first_bad))
			rep->first_bad = q;
	}
	gt_ctx_free(&c);
	free(scratch);
	free(keys);
	free(ids_ok);
	return rc;
}

int gt_report_verdict(const gt_report *rep, size_t nq, char *err)
{
	if (rep->first_bad == SIZE_MAX)
		return 0;
	return err_set(err, ERR_FAIL,
	               "ground truth check failed (first at query %zu): %zu of %zu rows with an "
	               "id out of range or repeated, %zu with distances not ascending, %zu of "
	               "%zu spot-checked queries disagree with brute force",
	               rep->first_bad, rep->bad_ids, nq, rep->not_ascending,
	               rep->spot_checked - rep->spot_agree, rep->spot_checked);
}

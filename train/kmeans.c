/*
 * kmeans.c - multithreaded Lloyd k-means with k-means++ or random init (see kmeans.h).
 *
 * Assignment: rows are cut into fixed blocks; each block's distances to the
 * centroids come from one single-threaded sgemm into a per-thread tile, laid out
 * centroid-major so the argmin runs down the columns, vectorised across rows.
 * Update: rows are bucketed by cluster (counting sort, row order kept) and each
 * centroid's mean is summed in double by the one thread that owns it.
 *
 * Determinism: a block's distances and a centroid's sum never depend on which
 * thread computes them, and every reduction (inertia, k-means++ weights) runs
 * in a fixed order. So the centroids depend only on the data, the parameters
 * and the seed - not on the thread count or the scheduling - and dynamic
 * schedules are safe.
 *
 * Memory: beyond x (and its normalised copy in spherical mode), O(k*d) for the
 * centroids, O(n) for norms, assignment and bucket arrays, and one distance
 * tile per thread.
 */
#include "kmeans.h"

#include <assert.h>
#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "imbalance.h"
#include "intr.h"
#include "names.h"
#include "rng.h"
#include "timing.h"

/* rows per distance tile: at k = 1024, d = 768 as fast as 128 and 5% faster than 64 */
#define KM_BLOCK 256
/* centroids per sgemm call: a 1 MiB tile, which the argmin streams from L2 */
#define KM_CCHUNK 1024
/* floats touched below which a parallel region costs more than it saves */
#define KM_PAR_MIN 65536
/* rows prefetched ahead when gathering a cluster's rows for its sum */
#define KM_PREFETCH_AHEAD 2
/* faiss's relative perturbation of a split centroid */
#define KM_SPLIT_EPS (1.0f / 1024)
/* Largest squared norm a row or centroid may have: x.c is bounded by the norms
 * (Cauchy-Schwarz, partial sums included), so every GEMM distance term
 * ||x||^2 - 2 x.c + ||c||^2 stays below 4 x this = FLT_MAX, finite. */
#define KM_MAX_SQNORM (FLT_MAX / 4)
/* imbalance factor above which large k count as degenerate (km_imbalance_limit) */
#define KM_IMBALANCE_WARN 8.0
/* k-means++: centres per batch between two distance passes, at least ... */
#define KM_PP_MIN_BATCH 64
/* ... and proposals per batch slot before the stale weights stop paying */
#define KM_PP_PROPOSALS 4

/* Scratch shared by every phase of one training run, allocated once. */
typedef struct km_work {
	const float *x; /* n x d rows being clustered (normalised copy in spherical mode) */
	size_t n, d, k;
	int spherical;
	int nthreads;       /* threads the tiles and accumulators were sized for */
	float *xn;          /* n squared row norms */
	float *cn;          /* k squared centroid norms */
	size_t tile_floats; /* per-thread distance tile: KM_BLOCK x min(k, KM_CCHUNK) */
	float *tiles;       /* nthreads x tile_floats distance tiles */
	double *acc;        /* nthreads x d double accumulators for centroid sums */
	double *bsum;       /* per-block inertia, summed in block order */
	int32_t *near;      /* n: nearest centroid of each row */
	float *dist;        /* n: squared distance to it (partial during k-means++) */
	size_t *count;      /* k: rows per cluster */
	size_t *start;      /* k: first slot of each cluster in order[] */
	size_t *order;      /* n: rows bucketed by cluster, ascending within a bucket */
	size_t *tmp;        /* n: scratch for splitting a bucket */
} km_work;

const char *const km_init_names[] = {
    [KM_INIT_KMEANSPP] = "kmeans++",
    [KM_INIT_RANDOM] = "random",
    NULL,
};

NAMES_DEFINE(km_init, km_init)

void km_defaults(km_params *p)
{
	memset(p, 0, sizeof *p);
	p->k = 256;
	p->niter = 20;
	p->tol = 1e-4;
	p->init = KM_INIT_KMEANSPP;
	p->seed = RNG_DEFAULT_SEED;
	p->spherical = 0;
	p->nthreads = 0;
}

void km_result_free(km_result *res)
{
	if (!res)
		return;
	free(res->centroids);
	free(res->iters);
	memset(res, 0, sizeof *res);
}

/* Lowers best[i] to min_j (cn[j] - 2 x_i.c_j) over the nc centroids c (rows j0,
 * j0+1, ... of the full set) and sets near[i] to the winning index, for the m
 * rows x. Strict '<' keeps the lower index on ties, also across calls made in
 * increasing j0. Adding ||x_i||^2 gives the squared distance. */
static void nearest_update(const float *x, size_t m, size_t d, const float *c, const float *cn,
                           size_t nc, int32_t j0, float *restrict tile, float *restrict best,
                           int32_t *restrict near)
{
	for (size_t c0 = 0; c0 < nc; c0 += KM_CCHUNK) {
		size_t cc = nc - c0 < KM_CCHUNK ? nc - c0 : KM_CCHUNK;
		/* tile[j * m + i] = -2 c_j . x_i: one row of the tile per centroid */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cc, (int)m, (int)d, -2.0f,
		            c + c0 * d, (int)d, x, (int)d, 0.0f, tile, (int)m);
		for (size_t j = 0; j < cc; j++) {
			const float *restrict t = tile + j * m;
			const float cj = cn[c0 + j];
			const int32_t id = j0 + (int32_t)(c0 + j);
#pragma omp simd
			for (size_t i = 0; i < m; i++) {
				float v = t[i] + cj;
				int lt = v < best[i];
				best[i] = lt ? v : best[i];
				near[i] = lt ? id : near[i];
			}
		}
	}
}

/* Assigns every row to its nearest of the k centroids c (norms in w->cn): fills
 * w->near and w->dist and returns the inertia in *inertia. ERR_INTR on Ctrl-C. */
static int assign_all(km_work *w, const float *c, double *inertia)
{
	size_t n = w->n, B = KM_BLOCK, nblocks = (n + B - 1) / B;
	int stop = 0;
#pragma omp parallel for schedule(dynamic, 1) if (nblocks > 1)
	for (size_t b = 0; b < nblocks; b++) {
		int halt;
#pragma omp atomic read
		halt = stop;
		if (halt)
			continue;
		if (intr_pending()) {
#pragma omp atomic write
			stop = 1;
			continue;
		}
		size_t r0 = b * B, m = n - r0 < B ? n - r0 : B;
		float *best = w->dist + r0;
		for (size_t i = 0; i < m; i++)
			best[i] = INFINITY;
		nearest_update(w->x + r0 * w->d, m, w->d, c, w->cn, w->k, 0,
		               w->tiles + (size_t)omp_get_thread_num() * w->tile_floats, best,
		               w->near + r0);
		double s = 0;
		for (size_t i = 0; i < m; i++) {
			float v = best[i] + w->xn[r0 + i];
			best[i] = v < 0 ? 0 : v; /* round-off below an exact 0 */
			s += best[i];
		}
		w->bsum[b] = s;
	}
	if (stop)
		return ERR_INTR;
	double s = 0;
	for (size_t b = 0; b < nblocks; b++)
		s += w->bsum[b];
	*inertia = s;
	return ERR_OK;
}

/* w->count[j] = rows assigned to centroid j by w->near. */
static void count_rows(km_work *w)
{
	memset(w->count, 0, w->k * sizeof *w->count);
	for (size_t i = 0; i < w->n; i++)
		w->count[w->near[i]]++;
}

/* Buckets the rows by w->near: count, start and order (rows ascending inside a
 * bucket, so sums run in row order whoever computes them). */
static void bucket_rows(km_work *w)
{
	count_rows(w);
	size_t s = 0;
	for (size_t j = 0; j < w->k; j++) {
		w->start[j] = s;
		s += w->count[j];
	}
	/* start[] doubles as the fill cursor, then is restored */
	for (size_t i = 0; i < w->n; i++)
		w->order[w->start[w->near[i]]++] = i;
	for (size_t j = 0; j < w->k; j++)
		w->start[j] -= w->count[j];
}

/* out = mean of the cnt rows listed in rows (cnt >= 1), summed in double in list
 * order; in spherical mode scaled to unit norm, unless it is 0 (out then keeps
 * its previous, unit-norm value). */
static void mean_of(const km_work *w, const size_t *rows, size_t cnt, double *restrict acc,
                    float *restrict out)
{
	size_t d = w->d;
	memset(acc, 0, d * sizeof *acc);
	for (size_t r = 0; r < cnt; r++) {
		const float *restrict xr = w->x + rows[r] * d;
		if (r + KM_PREFETCH_AHEAD < cnt) {
			const char *next = (const char *)(w->x + rows[r + KM_PREFETCH_AHEAD] * d);
			for (size_t b = 0; b < d * sizeof(float); b += 64)
				__builtin_prefetch(next + b);
		}
#pragma omp simd
		for (size_t j = 0; j < d; j++)
			acc[j] += xr[j];
	}
	double scale = 1.0 / (double)cnt;
	if (w->spherical) {
		double s = 0;
		for (size_t j = 0; j < d; j++)
			s += acc[j] * acc[j];
		if (s == 0)
			return;
		scale = 1.0 / sqrt(s);
	}
	for (size_t j = 0; j < d; j++)
		out[j] = (float)(acc[j] * scale);
}

/* Squared distance between two rows, in float: used where a handful of distances
 * are needed and a GEMM would not pay. */
static float l2sq(const float *restrict a, const float *restrict b, size_t d)
{
	float s = 0;
#pragma omp simd reduction(+ : s)
	for (size_t j = 0; j < d; j++) {
		float v = a[j] - b[j];
		s += v * v;
	}
	return s;
}

/* Repairs empty cluster ci by splitting the largest cluster cj, as faiss does:
 * ci gets a copy of cj's centroid, the two are pushed apart by a small symmetric
 * perturbation, cj's rows go to the nearer of the two (by halves of the list if
 * that leaves one side empty, e.g. duplicated rows) and both centroids become the
 * means of their rows. Updates count/start, so later splits see the new sizes. */
static void split_largest(km_work *w, float *c, size_t ci)
{
	size_t k = w->k, d = w->d, cj = 0;
	for (size_t j = 1; j < k; j++)
		if (w->count[j] > w->count[cj])
			cj = j;
	assert(w->count[cj] >= 2); /* n >= k rows in at most k - 1 clusters */
	float *a = c + cj * d, *b = c + ci * d;
	for (size_t j = 0; j < d; j++) {
		float up = a[j] * (1 + KM_SPLIT_EPS), down = a[j] * (1 - KM_SPLIT_EPS);
		a[j] = j % 2 ? up : down;
		b[j] = j % 2 ? down : up;
	}
	/* stable partition of cj's bucket: rows kept by cj first, then ci's */
	size_t *rows = w->order + w->start[cj], cnt = w->count[cj], keep = 0, moved = 0;
	for (size_t r = 0; r < cnt; r++) {
		const float *xr = w->x + rows[r] * d;
		if (l2sq(xr, b, d) < l2sq(xr, a, d))
			w->tmp[moved++] = rows[r];
		else
			rows[keep++] = rows[r];
	}
	memcpy(rows + keep, w->tmp, moved * sizeof *rows);
	if (keep == 0 || moved == 0)
		keep = cnt / 2;
	w->count[cj] = keep;
	w->start[ci] = w->start[cj] + keep;
	w->count[ci] = cnt - keep;
	mean_of(w, rows, keep, w->acc, a);
	mean_of(w, rows + keep, cnt - keep, w->acc, b);
}

/* One Lloyd update: each non-empty cluster's centroid becomes the mean of its
 * rows; then each empty one is repaired by a split. Returns the splits made. */
static int update_centroids(km_work *w, float *c)
{
	size_t k = w->k;
	bucket_rows(w);
#pragma omp parallel for schedule(dynamic, 4) if (w->n * w->d > KM_PAR_MIN)
	for (size_t j = 0; j < k; j++)
		if (w->count[j])
			mean_of(w, w->order + w->start[j], w->count[j],
			        w->acc + (size_t)omp_get_thread_num() * w->d, c + j * w->d);
	int nsplit = 0;
	for (size_t j = 0; j < k; j++)
		if (w->count[j] == 0) {
			split_largest(w, c, j);
			nsplit++;
		}
	return nsplit;
}

/* Imbalance factor of the current assignment (imbalance.h). */
static double imbalance_of(km_work *w)
{
	count_rows(w);
	return imb_factor(w->count, w->k);
}

double km_imbalance_limit(size_t k)
{
	double half = ((double)k + 1) / 2;
	return half < KM_IMBALANCE_WARN ? half : KM_IMBALANCE_WARN;
}

/* Random init: k distinct rows, uniformly, seeded. */
static void init_random(km_work *w, rng_t *rng, float *c)
{
	_Static_assert(sizeof(size_t) == sizeof(uint64_t), "row indices are 64-bit");
	size_t *rows = w->tmp; /* k <= n slots */
	rng_sample(rng, w->n, w->k, (uint64_t *)rows);
	for (size_t j = 0; j < w->k; j++)
		memcpy(c + j * w->d, w->x + rows[j] * w->d, w->d * sizeof *c);
}

/* k-means++: centres [j0, j1) (rows rows[j]) join: copies them into c and lowers
 * the partial distances in w->dist (see nearest_update) by one pass of GEMM
 * tiles over the rows. */
static int pp_absorb(km_work *w, float *c, const size_t *rows, size_t j0, size_t j1)
{
	size_t n = w->n, d = w->d, B = KM_BLOCK, nblocks = (n + B - 1) / B;
	for (size_t j = j0; j < j1; j++) {
		memcpy(c + j * d, w->x + rows[j] * d, d * sizeof *c);
		w->cn[j] = w->xn[rows[j]];
	}
	int stop = 0;
#pragma omp parallel for schedule(dynamic, 1) if (nblocks > 1)
	for (size_t b = 0; b < nblocks; b++) {
		if (intr_pending()) {
#pragma omp atomic write
			stop = 1;
			continue;
		}
		size_t r0 = b * B, m = n - r0 < B ? n - r0 : B;
		nearest_update(w->x + r0 * d, m, d, c + j0 * d, w->cn + j0, j1 - j0, (int32_t)j0,
		               w->tiles + (size_t)omp_get_thread_num() * w->tile_floats,
		               w->dist + r0, w->near + r0);
	}
	/* a chosen row is exactly at distance 0, whatever GEMM round-off says */
	for (size_t j = j0; j < j1; j++) {
		w->dist[rows[j]] = -w->xn[rows[j]];
		w->near[rows[j]] = (int32_t)j;
	}
	return stop ? ERR_INTR : ERR_OK;
}

/* k-means++ weights: cum[i] = sum of the squared distances of rows 0..i to their
 * nearest centre, in row order; returns the total. */
static double pp_weights(const km_work *w, double *cum)
{
	double total = 0;
	for (size_t i = 0; i < w->n; i++) {
		float v = w->dist[i] + w->xn[i];
		total += v > 0 ? v : 0;
		cum[i] = total;
	}
	return total;
}

/* A row drawn with probability proportional to its weight: the first whose
 * cumulative weight exceeds a uniform draw in [0, total). */
static size_t pp_draw(rng_t *rng, const double *cum, size_t n, double total)
{
	double u = rng_uniform(rng) * total;
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* One batch of k-means++ centres, chosen against the weights of the last pass
 * (cum, total) while rows[done..have) are not in them yet: each proposal, drawn
 * from those stale weights, is accepted with probability current / stale weight,
 * its current weight being also bounded by the centres accepted in this batch.
 * That is rejection sampling from the current weights (the stale weight bounds
 * the current one), so the batch is exact k-means++. Stops after `batch` centres
 * or KM_PP_PROPOSALS x batch proposals (the weights are then too stale to pay).
 * Returns the new count of centres. */
static size_t pp_batch(const km_work *w, rng_t *rng, const double *cum, double total, size_t *rows,
                       size_t done, size_t batch)
{
	size_t d = w->d, have = done;
	for (size_t p = 0; p < KM_PP_PROPOSALS * batch && have < done + batch; p++) {
		if (total == 0) {
			/* every row sits on a centre (fewer distinct rows than k):
			 * any row will do, the splits handle the duplicates */
			rows[have++] = rng_below(rng, w->n);
			continue;
		}
		size_t i = pp_draw(rng, cum, w->n, total);
		float stale = w->dist[i] + w->xn[i], now = stale;
		for (size_t j = done; j < have && now > 0; j++) {
			float v = l2sq(w->x + i * d, w->x + rows[j] * d, d);
			now = v < now ? v : now;
		}
		if (rng_uniform(rng) * stale < now)
			rows[have++] = i;
	}
	return have;
}

/* k-means++ init (each centre drawn with probability proportional to its squared
 * distance to the nearest centre so far), batched so that the distance updates
 * run as GEMM: a batch as large as the centres so far, so about log2(k) passes
 * over the rows, each the cost of an assignment step to that batch. Leaves
 * w->near / w->dist as the assignment to the k centres (the first Lloyd step's)
 * and returns its inertia. cum is n-sized scratch. */
static int init_kmeanspp(km_work *w, rng_t *rng, float *c, double *cum, double *inertia)
{
	size_t n = w->n, k = w->k;
	size_t *rows = w->tmp; /* row of each centre */
	for (size_t i = 0; i < n; i++)
		w->dist[i] = INFINITY;
	rows[0] = rng_below(rng, n);
	size_t have = 1, done = 0; /* centres chosen; centres already in w->dist */
	for (;;) {
		int rc = pp_absorb(w, c, rows, done, have);
		if (rc)
			return rc;
		done = have;
		double total = pp_weights(w, cum);
		if (have == k) {
			*inertia = total;
			break;
		}
		size_t batch = have > KM_PP_MIN_BATCH ? have : KM_PP_MIN_BATCH;
		have =
		    pp_batch(w, rng, cum, total, rows, done, batch < k - have ? batch : k - have);
	}
	for (size_t i = 0; i < n; i++) {
		float v = w->dist[i] + w->xn[i];
		w->dist[i] = v > 0 ? v : 0;
	}
	return ERR_OK;
}

/* The checks every entry point shares; ERR_INPUT with one line on failure. */
static int check_shape(size_t d, size_t k, char *err)
{
	if (k < 1)
		return err_set(err, ERR_INPUT, "k must be at least 1");
	if (k > INT32_MAX)
		return err_set(err, ERR_INPUT, "k = %zu is too large (at most %d)", k, INT32_MAX);
	if (d < 1)
		return err_set(err, ERR_INPUT, "dimension must be at least 1");
	if (d > INT_MAX) /* CBLAS takes int sizes */
		return err_set(err, ERR_INPUT, "dimension %zu is too large", d);
	return ERR_OK;
}

static void work_free(km_work *w)
{
	free(w->xn);
	free(w->cn);
	free(w->tiles);
	free(w->acc);
	free(w->bsum);
	free(w->near);
	free(w->dist);
	free(w->count);
	free(w->start);
	free(w->order);
	free(w->tmp);
}

/* Allocates the scratch for n rows x, k centroids; computes the row norms. With
 * for_train unset, only what assignment needs. */
static int work_init(km_work *w, const float *x, size_t n, size_t d, size_t k, int for_train,
                     char *err)
{
	memset(w, 0, sizeof *w);
	w->x = x;
	w->n = n, w->d = d, w->k = k;
	w->nthreads = omp_get_max_threads();
	size_t nblocks = (n + KM_BLOCK - 1) / KM_BLOCK;
	w->xn = malloc(n * sizeof *w->xn);
	w->cn = malloc(k * sizeof *w->cn);
	/* a smaller k needs only k columns of tile */
	w->tile_floats = (size_t)KM_BLOCK * (k < KM_CCHUNK ? k : KM_CCHUNK);
	w->tiles = malloc((size_t)w->nthreads * w->tile_floats * sizeof *w->tiles);
	w->bsum = malloc((nblocks ? nblocks : 1) * sizeof *w->bsum);
	w->near = malloc(n * sizeof *w->near);
	w->dist = malloc(n * sizeof *w->dist);
	int ok = w->xn && w->cn && w->tiles && w->bsum && w->near && w->dist;
	if (for_train) {
		w->acc = malloc((size_t)w->nthreads * d * sizeof *w->acc);
		w->count = malloc(k * sizeof *w->count);
		w->start = malloc(k * sizeof *w->start);
		w->order = malloc(n * sizeof *w->order);
		w->tmp = malloc(n * sizeof *w->tmp);
		ok = ok && w->acc && w->count && w->start && w->order && w->tmp;
	}
	if (!ok) {
		work_free(w);
		return err_set(err, ERR_NOMEM,
		               "out of memory for k-means scratch (n = %zu, k = %zu)", n, k);
	}
	dist_sqnorms(x, n, d, w->xn);
	return ERR_OK;
}

/* ERR_INPUT naming the first of the m rows of what (squared norms sq) whose
 * squared norm float32 distances cannot hold: values of 3e38 made every distance
 * NaN, and k-means then "converged" to inertia -nan. */
static int check_norms(const float *sq, size_t m, const char *what, char *err)
{
	for (size_t i = 0; i < m; i++)
		if (!(sq[i] <= KM_MAX_SQNORM))
			return err_set(
			    err, ERR_INPUT,
			    "%s %zu has squared norm %g, beyond the %g float32 distances "
			    "can hold: scale the vectors down",
			    what, i, (double)sq[i], (double)KM_MAX_SQNORM);
	return ERR_OK;
}

/* The inertia after an assignment must be a number: the norm checks make that
 * so, and this makes sure no NaN ever reaches the counts and centroid sums. */
static int check_inertia(double inertia, int iter, char *err)
{
	if (isfinite(inertia))
		return ERR_OK;
	return err_set(err, ERR_FAIL, "k-means arithmetic gave inertia %g at iteration %d", inertia,
	               iter);
}

float *km_normalised(const float *x, size_t n, size_t d)
{
	float *y = malloc(n * d * sizeof *y);
	if (!y)
		return NULL;
#pragma omp parallel for schedule(static) if (n * d > KM_PAR_MIN)
	for (size_t i = 0; i < n; i++) {
		const float *restrict r = x + i * d;
		float *restrict o = y + i * d;
		double s = 0;
		for (size_t j = 0; j < d; j++)
			s += (double)r[j] * r[j];
		float scale = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
		for (size_t j = 0; j < d; j++)
			o[j] = r[j] * scale;
	}
	return y;
}

/* The Lloyd loop from the assignment to the initial centroids (inertia prev):
 * update, repair, reassign, until niter or the relative change drops below tol. */
static int lloyd(km_work *w, const km_params *p, float *c, double prev, km_iter *iters, int *nrun,
                 prog_t *prog, char *err)
{
	*nrun = 0;
	for (int it = 0; it < p->niter; it++) {
		if (intr_pending())
			return ERR_INTR;
		double t0 = tm_now(), inertia;
		int nsplit = update_centroids(w, c);
		dist_sqnorms(c, w->k, w->d, w->cn);
		int rc = assign_all(w, c, &inertia);
		if (!rc)
			rc = check_inertia(inertia, it + 1, err);
		if (rc)
			return rc;
		iters[it].inertia = inertia;
		iters[it].imbalance = imbalance_of(w);
		iters[it].nsplit = nsplit;
		iters[it].time_s = tm_now() - t0;
		*nrun = it + 1;
		prog_update(prog, (uint64_t)(it + 1));
		if (prev == 0 || fabs(prev - inertia) < p->tol * prev)
			break;
		prev = inertia;
	}
	return ERR_OK;
}

int km_train(const float *x, size_t n, size_t d, const km_params *p, km_result *res, prog_t *prog,
             char *err)
{
	double t0 = tm_now();
	int rc = check_shape(d, p->k, err);
	if (rc)
		return rc;
	if (n < p->k)
		return err_set(err, ERR_INPUT,
		               "k = %zu clusters need at least as many rows, got %zu", p->k, n);
	if (p->niter < 0 || !(p->tol >= 0) || p->nthreads < 0 ||
	    (p->init != KM_INIT_KMEANSPP && p->init != KM_INIT_RANDOM))
		return err_set(err, ERR_INPUT,
		               "bad k-means parameters (niter %d, tol %g, nthreads %d, init %d)",
		               p->niter, p->tol, p->nthreads, (int)p->init);
	size_t bad = dist_first_nonfinite(x, n, d);
	if (bad < n * d)
		return err_set(err, ERR_INPUT, "row %zu has a NaN or infinite value", bad / d);

	prog_begin(prog, "k-means", (uint64_t)p->niter);
	int saved_threads = omp_get_max_threads();
	if (p->nthreads > 0)
		omp_set_num_threads(p->nthreads);
	size_t k = p->k;
	float *xs = NULL, *c = malloc(k * d * sizeof *c);
	km_iter *iters = calloc(p->niter ? (size_t)p->niter : 1, sizeof *iters);
	double *cum = NULL;
	km_work w;
	memset(&w, 0, sizeof w);
	if (p->spherical)
		xs = km_normalised(x, n, d);
	if (p->init == KM_INIT_KMEANSPP)
		cum = malloc(n * sizeof *cum);
	if (!c || !iters || (p->spherical && !xs) || (p->init == KM_INIT_KMEANSPP && !cum)) {
		rc = err_set(err, ERR_NOMEM,
		             "out of memory for k-means (n = %zu, d = %zu, k = %zu)", n, d, k);
		goto out;
	}
	rc = work_init(&w, xs ? xs : x, n, d, k, 1, err);
	if (!rc)
		rc = check_norms(w.xn, n, "training row", err);
	if (rc)
		goto out;
	w.spherical = p->spherical;

	rng_t rng;
	rng_seed(&rng, p->seed);
	double inertia;
	if (p->init == KM_INIT_KMEANSPP) {
		rc = init_kmeanspp(&w, &rng, c, cum, &inertia);
	} else {
		init_random(&w, &rng, c);
		dist_sqnorms(c, k, d, w.cn);
		rc = assign_all(&w, c, &inertia);
	}
	double init_s = tm_now() - t0;
	int nrun = 0;
	if (!rc)
		rc = check_inertia(inertia, 0, err);
	if (!rc)
		rc = lloyd(&w, p, c, inertia, iters, &nrun, prog, err);
	if (rc) {
		if (rc == ERR_INTR)
			err_set(err, rc, "k-means interrupted");
		goto out;
	}
	res->centroids = c;
	res->k = k;
	res->d = d;
	res->niter = nrun;
	res->iters = iters;
	res->inertia = nrun ? iters[nrun - 1].inertia : inertia;
	res->imbalance = nrun ? iters[nrun - 1].imbalance : imbalance_of(&w);
	res->init_s = init_s;
	res->train_s = tm_now() - t0;
	c = NULL;
	iters = NULL;
out:
	prog_end(prog);
	work_free(&w);
	free(xs);
	free(c);
	free(iters);
	free(cum);
	omp_set_num_threads(saved_threads);
	return rc;
}

int km_assign(const float *x, size_t n, size_t d, const float *c, size_t k, int32_t *assign,
              float *dist, char *err)
{
	int rc = check_shape(d, k, err);
	if (rc || n == 0)
		return rc;
	km_work w;
	rc = work_init(&w, x, n, d, k, 0, err);
	if (rc)
		return rc;
	double inertia;
	dist_sqnorms(c, k, d, w.cn);
	if ((rc = check_norms(w.xn, n, "row", err)) || (rc = check_norms(w.cn, k, "centroid", err)))
		goto out;
	rc = assign_all(&w, c, &inertia);
	if (rc) {
		err_set(err, rc, "assignment interrupted");
	} else {
		memcpy(assign, w.near, n * sizeof *assign);
		if (dist)
			memcpy(dist, w.dist, n * sizeof *dist);
	}
out:
	work_free(&w);
	return rc;
}

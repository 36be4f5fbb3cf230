/*
 * dist.c - GEMM distance blocks and blocked exact top-k (see dist.h).
 *
 * dist_knn splits the queries into blocks and gives whole blocks to threads: each
 * thread runs a single-threaded sgemm of its query block against a block of rows,
 * then folds that distance tile into per-query max-heaps while the tile is still
 * in cache. No thread shares a heap, so no locks and the result does not depend on
 * the thread count.
 */
#include "dist.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "intr.h"

#define DIST_QBLOCK 256  /* queries per thread task: heaps + tile fit in L2 */
#define DIST_YBLOCK 2048 /* rows per sgemm tile: 256 x 2048 floats = 2 MiB */
#define DIST_PAR_MIN 65536 /* floats below which a parallel loop costs more than it saves */

/* Nonzero when the d floats of r hold a NaN or infinity. */
static int row_nonfinite(const float *r, size_t d)
{
	float s = 0;
	/* branch-free, so it vectorises (the simd reduction lets the adds be
	 * reordered): 0 unless some r[j] is NaN or infinite */
#pragma omp simd reduction(+ : s)
	for (size_t j = 0; j < d; j++)
		s += r[j] * 0.0f;
	return s != 0;
}

size_t dist_first_nonfinite(const float *x, size_t n, size_t d)
{
	size_t bad = n;
	/* callers check one row at a time too (every insert): an OpenMP region,
	 * even one that runs serially, costs more than the scan of a small input */
	if (n * d <= DIST_PAR_MIN) {
		for (size_t i = 0; i < n && bad == n; i++)
			if (row_nonfinite(x + i * d, d))
				bad = i;
	} else {
#pragma omp parallel for schedule(static) reduction(min : bad)
		for (size_t i = 0; i < n; i++)
			if (row_nonfinite(x + i * d, d) && i < bad)
				bad = i;
	}
	if (bad == n)
		return n * d;
	size_t j = 0;
	while (j < d && isfinite(x[bad * d + j]))
		j++;
	assert(j < d);
	return bad * d + j;
}

void dist_sqnorms(const float *x, size_t n, size_t d, float *out)
{
#pragma omp parallel for schedule(static) if (n * d > DIST_PAR_MIN)
	for (size_t i = 0; i < n; i++) {
		const float *r = x + i * d;
		float s = 0;
		for (size_t j = 0; j < d; j++)
			s += r[j] * r[j];
		out[i] = s;
	}
}

/* Max-heap of (dist, id) ordered so the worst candidate is on top: larger
 * distance, then larger id, is worse. */
static int heap_worse(float da, int64_t ia, float db, int64_t ib)
{
	return da > db || (da == db && ia > ib);
}

static void heap_replace_top(float *hd, int64_t *hi, size_t k, float d, int64_t id)
{
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		float wd = d;
		int64_t wi = id;
		if (l < k && heap_worse(hd[l], hi[l], wd, wi))
			w = l, wd = hd[l], wi = hi[l];
		if (r < k && heap_worse(hd[r], hi[r], wd, wi))
			w = r;
		if (w == i)
			break;
		hd[i] = hd[w];
		hi[i] = hi[w];
		i = w;
	}
	hd[i] = d;
	hi[i] = id;
}

/* Heap sort in place: pops the worst to the end until the array is ascending. */
static void heap_sort_ascending(float *hd, int64_t *hi, size_t k)
{
	for (size_t n = k; n > 1; n--) {
		float d = hd[n - 1];
		int64_t id = hi[n - 1];
		hd[n - 1] = hd[0];
		hi[n - 1] = hi[0];
		heap_replace_top(hd, hi, n - 1, d, id);
	}
}

/* Runs one query block [q0, q1) against all rows of y. */
static void knn_block(const float *x, const float *xn, size_t q0, size_t q1,
		      const float *y, const float *yn, size_t ny, size_t d,
		      size_t k, float *tile, int64_t *ids, float *dists)
{
	size_t nq = q1 - q0;
	for (size_t q = q0; q < q1; q++) {
		/* an empty heap is "full" of +inf entries that any real row beats */
		for (size_t j = 0; j < k; j++) {
			dists[q * k + j] = __builtin_inff();
			ids[q * k + j] = INT64_MAX;
		}
	}
	for (size_t y0 = 0; y0 < ny; y0 += DIST_YBLOCK) {
		size_t nyb = ny - y0 < DIST_YBLOCK ? ny - y0 : DIST_YBLOCK;
		/* tile = -2 x.y; the norms are added in the heap scan, not in a
		 * pass of their own: one read of the tile instead of three */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nyb,
			    (int)d, -2.0f, x + q0 * d, (int)d, y + y0 * d, (int)d, 0.0f,
			    tile, (int)nyb);
		const float *ynb = yn + y0;
		for (size_t q = 0; q < nq; q++) {
			float *hd = dists + (q0 + q) * k;
			int64_t *hi = ids + (q0 + q) * k;
			const float *t = tile + q * nyb;
			float xq = xn[q0 + q], thr = hd[0];
			for (size_t j = 0; j < nyb; j++) {
				float v = t[j] + xq + ynb[j];
				v = v < 0 ? 0 : v;
				/* rows arrive in increasing id order, so an equal
				 * distance never displaces the lower id kept */
				if (v < thr) {
					heap_replace_top(hd, hi, k, v, (int64_t)(y0 + j));
					thr = hd[0];
				}
			}
		}
	}
	for (size_t q = q0; q < q1; q++)
		heap_sort_ascending(dists + q * k, ids + q * k, k);
}

int dist_knn(const float *x, size_t nx, const float *y, size_t ny, size_t d,
	     size_t k, int64_t *ids, float *dists, prog_t *prog, char *err)
{
	assert(k >= 1 && k <= ny);
	float *xn = malloc(nx * sizeof *xn);
	float *yn = malloc(ny * sizeof *yn);
	if (!xn || !yn) {
		free(xn);
		free(yn);
		return err_set(err, ERR_NOMEM, "out of memory for %zu x %zu norms", nx, ny);
	}
	dist_sqnorms(x, nx, d, xn);
	dist_sqnorms(y, ny, d, yn);

	size_t nblocks = (nx + DIST_QBLOCK - 1) / DIST_QBLOCK;
	size_t blocks_done = 0;
	int rc = ERR_OK;
#pragma omp parallel
	{
		float *tile = malloc((size_t)DIST_QBLOCK * DIST_YBLOCK * sizeof *tile);
		if (!tile) {
#pragma omp atomic write
			rc = ERR_NOMEM;
		}
#pragma omp for schedule(dynamic, 1)
		for (size_t b = 0; b < nblocks; b++) {
			int stop;
#pragma omp atomic read
			stop = rc;
			if (stop || !tile)
				continue;
			if (intr_pending()) {
#pragma omp atomic write
				rc = ERR_INTR;
				continue;
			}
			size_t q0 = b * DIST_QBLOCK;
			size_t q1 = q0 + DIST_QBLOCK < nx ? q0 + DIST_QBLOCK : nx;
			knn_block(x, xn, q0, q1, y, yn, ny, d, k, tile, ids, dists);
			size_t done;
#pragma omp atomic capture
			done = ++blocks_done;
			if (omp_get_thread_num() == 0)
				prog_update(prog, done * DIST_QBLOCK < nx ? done * DIST_QBLOCK : nx);
		}
		free(tile);
	}
	free(xn);
	free(yn);
	if (rc == ERR_NOMEM)
		return err_set(err, rc, "out of memory for distance tiles");
	if (rc == ERR_INTR)
		return err_set(err, rc, "interrupted");
	return ERR_OK;
}

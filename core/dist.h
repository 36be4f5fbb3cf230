/*
 * dist.h - squared euclidean distances through GEMM, and exact top-k search.
 *
 * ||x - y||^2 = ||x||^2 - 2 x.y + ||y||^2 with x.y from cblas_sgemm over blocks;
 * round-off negatives are clamped to 0. Matrices are row-major float32, n rows of
 * d floats, passed as (pointer, n, d). dist_knn serves ground truth (datasets/);
 * k-means (train/) runs its own fused argmin over the same formula and shares the
 * norms and the check that their input holds no NaN or infinity
 * (every distance to such a row is NaN); depends on nothing but CBLAS and OpenMP.
 */
#ifndef IVFKIT_DIST_H
#define IVFKIT_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"

/* Index of the first NaN or infinite value of x (size n * d; its row is the
 * index / d, its column index % d), or n * d when all are finite. Parallel over
 * rows on large inputs. */
size_t dist_first_nonfinite(const float *x, size_t n, size_t d);

/* out[i] = ||x_i||^2 for n rows of x (size n * d). Parallel over rows. */
void dist_sqnorms(const float *x, size_t n, size_t d, float *out);

/* For each of the nx queries x, the k nearest of the ny rows y by squared L2:
 * ids (size nx * k, 0-based rows of y) and dists (size nx * k, squared), sorted
 * by (distance, id) ascending, so equal distances list the lower id first.
 * k <= ny. Parallel over query blocks; prog (may be NULL) counts queries done.
 * Returns 0, ERR_NOMEM or ERR_INTR (with err filled). */
int dist_knn(const float *x, size_t nx, const float *y, size_t ny, size_t d,
	     size_t k, int64_t *ids, float *dists, prog_t *prog, char *err);

#endif

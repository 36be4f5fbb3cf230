/*
 * kmeans.h - multithreaded k-means on a float32 matrix; no SQLite in it.
 *
 * Input x is n x d row-major; output centroids are k x d. Assignment by GEMM
 * distance blocks (core/dist.h), argmin per row in parallel, centroid update from
 * per-thread partial sums in double. Empty clusters are repaired by splitting the
 * largest, as faiss does. Spherical mode (cosine tables) normalises the inputs and
 * renormalises centroids after each update. Deterministic for a given seed and
 * thread count: byte-identical centroids.
 */
#ifndef IVFKIT_KMEANS_H
#define IVFKIT_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"

typedef enum { KM_INIT_KMEANSPP = 0, KM_INIT_RANDOM = 1 } km_init;

/* Each km_init's name (ivftrain --init, reports), indexed by value,
 * NULL-terminated (names.h). */
extern const char *const km_init_names[];
const char *km_init_name(km_init i);
/* 0 with *out set when s names an initialisation; -1 (out untouched) otherwise. */
int km_init_parse(const char *s, km_init *out);

typedef struct km_params {
	size_t k;       /* clusters (nlist) */
	int niter;      /* maximum Lloyd iterations (default 20) */
	double tol;     /* stop when relative inertia change < tol (default 1e-4; 0 = never) */
	km_init init;   /* default k-means++ */
	uint64_t seed;  /* default RNG_DEFAULT_SEED */
	int spherical;  /* unit-norm inputs and centroids (cosine) */
	int nthreads;   /* OpenMP threads; 0 = all cores (OMP_NUM_THREADS if set) */
} km_params;

typedef struct km_iter {
	double inertia;   /* sum of squared distances to the assigned centroid */
	double imbalance; /* sum(size^2) * k / n^2; 1.0 is perfectly balanced */
	int nsplit;       /* empty clusters repaired this iteration */
	double time_s;    /* wall time of this iteration */
} km_iter;

typedef struct km_result {
	float *centroids;  /* k * d, owned */
	size_t k, d;
	int niter;         /* iterations run */
	km_iter *iters;    /* niter entries, owned */
	double inertia;    /* final inertia (of the returned centroids' assignment) */
	double imbalance;  /* final imbalance factor */
	double init_s;     /* time for initialisation */
	double train_s;    /* total time, init included */
} km_result;

/* Fills p with the defaults. */
void km_defaults(km_params *p);

/* Trains k centroids on x. Checks at entry: n >= k >= 1, d >= 1, finite values
 * (ERR_INPUT with the row). Returns 0, ERR_INPUT, ERR_NOMEM or ERR_INTR (Ctrl-C
 * polled each iteration); res is filled only on success. prog (may be NULL)
 * counts iterations: km_train begins it (total niter) and ends it. */
int km_train(const float *x, size_t n, size_t d, const km_params *p,
	     km_result *res, prog_t *prog, char *err);

/* Nearest centroid of each row: assign (size n) and squared distance dist (size
 * n, may be NULL). Parallel. */
int km_assign(const float *x, size_t n, size_t d, const float *c, size_t k,
	      int32_t *assign, float *dist, char *err);

/* A unit-norm copy of x (n x d, caller frees; zero rows stay zero), as
 * spherical k-means clusters it; NULL when out of memory. */
float *km_normalised(const float *x, size_t n, size_t d);

/* The imbalance factor above which k clusters (or IVF cells) count as
 * degenerate, worth a warning: min(8, (k + 1) / 2). (k + 1) / 2 is halfway from
 * perfectly balanced (1) to every row in one cluster (k), so small k are judged
 * on their own scale; 8 caps it for large k at about twice the worst seen on
 * real data (4.8: 100,000 x 768 clustered vectors at k 1024; Fashion-MNIST at k
 * 256 gives 1.3), and means a query at a given nprobe scans some 8x the rows a
 * balanced index would. 32 identical centroids give 32 at k 32. */
double km_imbalance_limit(size_t k);

/* Frees what res owns and zeroes it; NULL-safe. */
void km_result_free(km_result *res);

#endif

/*
 * build.h - the training pipeline of an IVF index: how many rows to train on,
 * the seeded sample (of a table's rows or of a matrix), k-means, and the
 * one-transaction write. ivftrain and vecbench both build through it, so
 * vecbench's `trainer = ivftrain` is what ivftrain does.
 *
 * Options live in one struct with its defaults set by build_defaults alone; a
 * CLI or a config only overrides fields. The steps are separate calls, in this
 * order: build_size, build_sample_table or build_sample_matrix, build_train,
 * build_write. Both samplers draw the same rows for the same seed when the
 * table holds the matrix's rows in key order (row i has id i, as ivftrain
 * --load and vecbench insert them), so the same options give byte-identical
 * centroids from either (k-means is deterministic for a seed and thread count).
 * Like every library here: errors as ERR_* with a caller-owned message, no
 * printing; a warning comes back as text for the caller to show.
 * Centroids trained elsewhere (ivftrain --load-centroids) replace the middle
 * steps: build_centroids checks them against the table instead of build_size.
 * Public API: build_defaults, build_size, build_sample_table,
 * build_sample_matrix, build_train, build_centroids, build_write,
 * build_params_json.
 */
#ifndef IVFKIT_BUILD_H
#define IVFKIT_BUILD_H

#include <cJSON.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ivf.h"
#include "kmeans.h"
#include "progress.h"
#include "vtab.h"

/* Default sample: 256 rows per centroid, where faiss stops sampling too
 * (max_points_per_centroid); more rows rarely move the centroids but cost
 * time and ntrain x d x 4 bytes. */
#define BUILD_NTRAIN_PER_CENTROID 256
/* nlist when neither the caller nor a table says: sqlite-vec's own default. */
#define BUILD_NLIST VTAB_IVF_NLIST

typedef struct build_opts {
	size_t nlist;         /* centroids; 0: the table's declared nlist, BUILD_NLIST
	                         without a table */
	size_t ntrain;        /* rows to train on; 0: min(rows, BUILD_NTRAIN_PER_CENTROID
	                         x nlist) */
	km_params km;         /* k-means (km_defaults: 20 iterations, tol 1e-4, k-means++,
	                         seed RNG_DEFAULT_SEED, every core); build_train sets k and
	                         spherical; km.seed also picks the sample and the rows
	                         the write verifies */
	ivf_write_opts write; /* the write (ivf_write_defaults: assign bulk, batch
	                         VTAB_BATCH, 200 verified rows, 5000 ms busy timeout) */
} build_opts;

/* What build_size decided. */
typedef struct build_sizes {
	size_t nlist;       /* centroids to train */
	size_t ntrain;      /* rows to sample */
	char warn[ERR_LEN]; /* "" or why ntrain was cut to the rows there are */
} build_sizes;

/* Fills o with every default. */
void build_defaults(build_opts *o);

/* The training-size rule: nlist = o->nlist, else declared_nlist (a table's;
 * ERR_INPUT when it is < 1), else BUILD_NLIST when declared_nlist is -1 (no
 * table); ntrain = o->ntrain, else min(avail, BUILD_NTRAIN_PER_CENTROID x
 * nlist). A given ntrain above avail is cut to avail with a warning in s->warn.
 * ERR_INPUT (naming what, e.g. "table items") when nlist exceeds IVF_MAX_NLIST
 * or avail, or ntrain < nlist. */
int build_size(const build_opts *o, int declared_nlist, int64_t avail, const char *what,
               build_sizes *s, char *err);

/* s->ntrain rows of table t, uniformly without replacement, seeded by
 * o->km.seed (vtab_sample: only the sampled vectors are read; NaN/Inf refused).
 * *x (caller frees) is *got x t->d. */
int build_sample_table(sqlite3 *db, const vtab *t, const build_sizes *s, const build_opts *o,
                       float **x, size_t *got, prog_t *prog, char *err);

/* s->ntrain rows of x (n x d) drawn as build_sample_table draws them from a
 * table whose key order is x's row order. When they are all n rows, *sample is
 * x itself and *owned NULL (no copy); else *sample == *owned, s->ntrain x d,
 * caller frees. */
int build_sample_matrix(const float *x, size_t n, size_t d, const build_sizes *s,
                        const build_opts *o, const float **sample, float **owned, char *err);

/* k-means of the n x d sample into s->nlist centroids with o->km, spherical
 * (unit vectors, cosine) when metric is VTAB_COSINE. res as km_train fills it. */
int build_train(const float *x, size_t n, size_t d, const build_sizes *s, vtab_metric metric,
                const build_opts *o, km_result *res, prog_t *prog, char *err);

/* Given k x d centroids (read from what, trained for distance: "angular",
 * "euclidean" or "" when unknown) checked against table t of rows rows: d must
 * be t's, k in [1, IVF_MAX_NLIST], at most rows and o->nlist when that is
 * given (ERR_INPUT naming what). s->nlist = k and s->ntrain = 0; a distance
 * other than t's in s->warn. */
int build_centroids(const build_opts *o, size_t k, size_t d, const char *distance, const vtab *t,
                    int64_t rows, const char *what, build_sizes *s, char *err);

/* The k x d centroids c into t in one transaction with o->write (its seed
 * o->km.seed): ivf_write_centroids, or ivf_load of rows into the empty table
 * when rows is not NULL. Rollback and commit as those say. */
int build_write(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
                const build_opts *o, ivf_write_stats *ws, prog_t *prog, char *err);

/* The effective options of a build as every report records them, added to
 * the object params: ntrain (from s), niter, tol, seed, threads (0 resolved to
 * the cores used), init, spherical, assign, verify, batch. */
void build_params_json(cJSON *params, const build_opts *o, const build_sizes *s, int spherical);

#endif

/*
 * filter.h - vecbench's filtered workload: each query asks for its k nearest
 * rows among those whose label equals its filter value (datasets/filtergt.h),
 * on vec0 tables holding the label in one of four ways, scored against the
 * filtered ground truth, per selectivity class.
 *
 *   metadata   `label integer`: vec0 filters during its scan (flat only)
 *   partition  `label integer partition key`: vec0 scans only the matching
 *              partition (flat only)
 *   aux        `+label integer`: vec0 cannot filter on it; the query over-fetches
 *              k x oversample nearest rows and keeps the first k matching ones
 *              (post-filtering, the only way on an IVF table)
 *   join       the labels in a side table `<table>_labels(id, label)`, joined to
 *              the over-fetched rows (post-filtering on builds whose IVF tables
 *              reject auxiliary columns, v0.1.10-alpha.1)
 *
 * A query's true neighbours are m = min(k, matching rows); recall is out of m,
 * and a query is under-k when fewer than m rows come back (post-filtering whose
 * fetch held too few matches). Queries fall into selectivity classes by the
 * decade nearest to their matching fraction (10%, 1%, 0.1%, ...; no match at
 * all is its own class), and every figure is also reported per class.
 * Public API: flt_mode_*, flt_open/close, flt_truth, flt_class_*, flt_load_join,
 * flt_query_*, flt_score.
 */
#ifndef IVFKIT_FILTER_H
#define IVFKIT_FILTER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "filtergt.h"
#include "h5ds.h"
#include "vtab.h"

typedef enum { FLT_METADATA = 0, FLT_PARTITION, FLT_AUX, FLT_JOIN, FLT_NMODES } flt_mode;

#define FLT_COLUMN "label"
#define FLT_MAX_FETCH 4096 /* vec0's largest k in a KNN query (every release so far) */
#define FLT_NCLASS 11      /* decades 10^0 .. 10^-9, then "no match" */

/* "metadata", "partition", "aux", "join" (names.h: the config's key values). */
extern const char *const flt_mode_names[FLT_NMODES + 1];
const char *flt_mode_name(flt_mode m);
int flt_mode_parse(const char *s, flt_mode *out);
/* 1 when the mode filters after the KNN (aux, join): its sweep has oversample. */
int flt_mode_post(flt_mode m);
/* The column definition the table gets ("" for join). */
const char *flt_mode_column(flt_mode m);

typedef struct flt_run {
	fgt_data gt;        /* the filter's columns and ground truth */
	size_t nq, k;       /* queries used and scored */
	size_t *matches;    /* nq: matching train rows */
	unsigned char *cls; /* nq: selectivity class */
	size_t class_nq[FLT_NCLASS];
	double class_sel[FLT_NCLASS]; /* mean matching fraction of each class's queries */
} flt_run;

/* Reads filter name of dataset path (ds already read from it) for nq queries
 * and k: its columns and filtered ground truth, which must exist, be made for
 * this filter, reach k and pass fgt_check (ERR_INPUT naming the file and the
 * `vecdata` command that fixes it); counts and classes. */
int flt_open(flt_run *f, const char *path, const char *name, const h5_dataset *ds, size_t nq,
             size_t k, char *err);
void flt_close(flt_run *f);

/* Query q's true neighbours: *ids (the first returned count), m = min(k, matches). */
size_t flt_truth(const flt_run *f, size_t q, const int32_t **ids);

/* "10%", "1%", "0.1%", ..., "none" (no match) for class c. */
const char *flt_class_name(size_t c);

/* 1 when db's vec0 accepts mode m's column on a table of this kind (ivf or
 * flat), probed on an in-memory table; else 0 with vec0's refusal in why
 * (v0.1.10-alpha.1 rejects auxiliary columns on IVF tables). */
int flt_mode_supported(sqlite3 *db, flt_mode m, int ivf, char *why, size_t len);

/* join mode: creates `<t>_labels(id integer primary key, label integer)` and fills
 * it with labels[i] for id i, in one transaction. */
int flt_load_join(sqlite3 *db, const vtab *t, const int32_t *labels, size_t n, char *err);

/* A prepared filtered KNN query on t for mode m. */
typedef struct flt_query {
	vtab_query q; /* run by vtab_query_run: ?1 the vector, columns id, distance */
	float *dists; /* k: the distances it reads (unused here) */
	int post;     /* over-fetches: ?2 = k x oversample, ?4 = k */
} flt_query;
int flt_query_prepare(sqlite3 *db, const vtab *t, flt_mode m, size_t k, flt_query *q, char *err);
/* The first k rows among the filtered KNN answer for vector v and filter value
 * label (fetching k x oversample first when post-filtering) into ids, *got. */
int flt_query_run(flt_query *q, const float *v, int32_t label, int oversample, int64_t *ids,
                  size_t *got, char *err);
void flt_query_finalize(flt_query *q);

/* One point's figures in one selectivity class. */
typedef struct flt_class_pt {
	size_t nq;      /* queries of the class */
	size_t under_k; /* ... that got fewer than min(k, matches) rows */
	double recall;  /* mean recall out of m */
	double lat_s;   /* summed latency (mean = lat_s / nq, QPS = nq / lat_s) */
} flt_class_pt;

typedef struct flt_point {
	size_t under_k; /* over every query */
	flt_class_pt c[FLT_NCLASS];
} flt_point;

/* Recall of query q out of m (1 when m = 0 and nothing came back), and whether
 * it is under-k. */
double flt_recall(const flt_run *f, size_t q, const int64_t *ids, size_t got, int *under_k);

/* Per-class figures of one pass from per-query recalls and latencies. */
void flt_score(const flt_run *f, const double *recall_q, const unsigned char *under_q,
               const double *lat_s, flt_point *out);

#endif

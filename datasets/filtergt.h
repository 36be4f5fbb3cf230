/*
 * filtergt.h - filtered ground truth: exact top-k of each query among the train
 * rows whose label equals the query's filter value, its checks, its storage, and
 * synthetic tag columns of chosen selectivity.
 *
 * A filter is a pair of int32 columns named after it: `train_<name>` (a label a
 * train row) and `test_<name>` (the filter value a query). Fashion-MNIST's
 * `labels` are its classes; `vecdata tags` writes `tags`. The ground truth is
 * stored beside the unfiltered one as `filtered_neighbors` (nq x k int32) and
 * `filtered_distances` (nq x k float32), each with a string attribute `filter`
 * naming the filter, so a file holds one filtered ground truth at a time.
 *
 * Fewer matching rows than k: a query whose filter value matches m < k train rows
 * has those m rows first and then -1 ids with +inf distances (a reader treats -1
 * as "no neighbour"; recall is then out of m, see eval/filter.h). Ties and
 * exactness are gt_compute's: equal distances list the lower train row first.
 */
#ifndef IVFKIT_FILTERGT_H
#define IVFKIT_FILTERGT_H

#include <stddef.h>
#include <stdint.h>

#include "groundtruth.h"
#include "progress.h"

#define FGT_NAME 48           /* a filter's name: letters, digits, '_', '-' */
#define FGT_NONE (-1)         /* the id padding a row with fewer than k matches */
#define FGT_MAX_TAGS 16       /* selectivities one `vecdata tags` can make */

/* Exact filtered top-k: for query q, the k nearest train rows i with
 * labels[i] == qfilter[q], padded (see above). neighbors, distances: nq * k.
 * Each distinct filter value is one gt_compute over its matching rows. *short_q
 * (may be NULL) counts queries with fewer than k matches. Errors as gt_compute's
 * (ERR_INPUT for k = 0 or n > INT32_MAX); outputs complete only on success. */
int fgt_compute(const float *train, size_t n, const float *test, size_t nq, size_t d, size_t k,
                gt_metric m, const int32_t *labels, const int32_t *qfilter, int32_t *neighbors,
                float *distances, size_t *short_q, prog_t *prog, char *err);

/* Checks a stored filtered ground truth: each row holds min(k, matches) distinct
 * ids whose label is the query's filter value, then only padding; distances
 * ascend; spot queries (evenly spread) agree with gt_check's brute force over
 * their matching rows. Findings in rep as gt_check's (bad_ids counts rows with a
 * wrong id, label, count or padding). ERR_NOMEM only. */
int fgt_check(const float *train, size_t n, const float *test, size_t nq, size_t d, gt_metric m,
              const int32_t *labels, const int32_t *qfilter, const int32_t *neighbors,
              const float *distances, size_t k, size_t spot, gt_report *rep, char *err);

/* Matching train rows of each query: count[q] = |{i : labels[i] == qfilter[q]}|. */
void fgt_matches(const int32_t *labels, size_t n, const int32_t *qfilter, size_t nq, size_t *count);

/* A synthetic tag column: for each of the ntag selectivities sel[t] (0 < sel,
 * sum <= 1), exactly round(sel[t] * n) train rows (at least 1), drawn at random
 * (seeded) and disjoint, get tag t + 1; the others 0. Query q filters on tag
 * 1 + q % ntag, so the queries split evenly over the selectivities. ERR_INPUT on
 * bad selectivities. */
int fgt_tags(size_t n, size_t nq, const double *sel, size_t ntag, uint64_t seed,
             int32_t *train_tags, int32_t *test_tags, char *err);

/* A filter's columns and ground truth as read from a file. */
typedef struct fgt_data {
	char name[FGT_NAME];
	int32_t *labels;  /* n: train_<name> */
	int32_t *qfilter; /* nq: test_<name> */
	size_t n, nq;
	int32_t *neighbors; /* nq * k, NULL when the file has no filtered ground truth */
	float *distances;   /* nq * k */
	size_t k;
	char gt_filter[FGT_NAME]; /* the filter the stored ground truth was made for */
} fgt_data;

/* Nonzero when s can name a filter (1 to FGT_NAME - 1 letters, digits, '_', '-'). */
int fgt_valid_name(const char *s);

/* Reads filter name's columns (both required: ERR_INPUT naming the file and the
 * missing dataset) of a file with n train and nq test rows, and its filtered
 * ground truth when there is one (shape nq x k checked; its `filter` attribute
 * into gt_filter). name NULL: the filter the stored ground truth names; a file
 * without one gives ERR_OK with f->k = 0 and no columns read. */
int fgt_read(const char *path, const char *name, size_t n, size_t nq, fgt_data *f, char *err);
void fgt_free(fgt_data *f);

/* Writes neighbors/distances (nq x k) as the file's filtered ground truth for
 * filter name, atomically, keeping everything else. */
int fgt_write(const char *path, const char *name, const int32_t *neighbors, const float *distances,
              size_t nq, size_t k, char *err);

#endif

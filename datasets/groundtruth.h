/*
 * groundtruth.h - exact top-k ground truth (euclidean and angular) and its checks.
 *
 * Distances are the ones ann-benchmarks stores: euclidean = ||a - b||, angular =
 * 1 - cos(a, b). Results are exact, not float-GEMM approximate: GEMM (core
 * dist_knn) proposes k + margin candidates a query, their distances are
 * recomputed in double from the vectors and re-sorted by (distance, id), and a
 * rounding-error bound on the GEMM distances proves per query that no row left
 * out could beat the k-th; queries without that proof are redone with more
 * candidates (in the end all rows). Equal distances list the lower id first.
 * Matrices are row-major float32: train n x d, test nq x d.
 */
#ifndef IVFKIT_GROUNDTRUTH_H
#define IVFKIT_GROUNDTRUTH_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"

typedef enum { GT_EUCLIDEAN = 0, GT_ANGULAR = 1 } gt_metric;

/* "euclidean" or "angular" to a metric: 0, or ERR_INPUT (err names the choices). */
int gt_metric_parse(const char *s, gt_metric *m, char *err);
const char *gt_metric_name(gt_metric m);

/* Where the time of a gt_compute went, and how often the proof needed a second round. */
typedef struct gt_stats {
	double prep_s;     /* norms, normalised copies (angular) */
	double knn_s;      /* core dist_knn: GEMM tiles + heaps, every round */
	double exact_s;    /* double recomputation, re-sort and proofs */
	double total_s;    /* the whole call */
	size_t candidates; /* candidates a query in the first round (k + margin) */
	size_t redone;     /* queries that needed a wider round */
} gt_stats;

/* Exact top-k of each test row among the train rows: neighbors (size nq * k,
 * 0-based train rows) and distances (size nq * k, ascending). 1 <= k <= n and
 * n <= INT32_MAX, else ERR_INPUT; angular with an all-zero row is ERR_INPUT
 * (cosine undefined). ERR_NOMEM, ERR_INTR (Ctrl-C) otherwise; outputs are only
 * complete on success. stats and prog (counts queries) may be NULL. */
int gt_compute(const float *train, size_t n, const float *test, size_t nq, size_t d, size_t k,
               gt_metric m, int32_t *neighbors, float *distances, gt_stats *stats, prog_t *prog,
               char *err);

/* The exact distance of a and b (d floats each), in double. */
double gt_distance(const float *a, const float *b, size_t d, gt_metric m);

/* Distances (size nq * k) of given neighbor ids (size nq * k), e.g. a ground
 * truth imported from ivecs, in exact double. ERR_INPUT for an id outside [0, n). */
int gt_distances_of(const float *train, size_t n, const float *test, size_t nq, size_t d,
                    gt_metric m, const int32_t *neighbors, size_t k, float *distances, char *err);

/* Relative slack under which two distances count as tied when ground truths are
 * compared: a neighbor list agrees with the exact one when its ids are distinct
 * and none lies farther than the exact k-th distance * (1 + GT_TIE_REL). */
#define GT_TIE_REL 1e-4

/* What gt_check found in a stored ground truth (nq x k). */
typedef struct gt_report {
	size_t bad_ids;       /* rows with an id outside [0, n) or repeated */
	size_t not_ascending; /* rows whose distances decrease somewhere */
	size_t spot_checked;  /* queries recomputed by brute force */
	size_t spot_agree;    /* ... whose stored neighbors and distances agree with it */
	size_t first_bad;     /* first failing row of any check, or SIZE_MAX */
} gt_report;

/* Checks a stored ground truth: ids in range and distinct, distances
 * ascending, and spot queries (evenly spread) recomputed by a brute-force double
 * loop over all train rows: they agree when the ids are a top-k up to ties (see
 * GT_TIE_REL) and the stored distances match the exact ones within 1e-3
 * relative. ERR_NOMEM only; the findings go to rep. */
int gt_check(const float *train, size_t n, const float *test, size_t nq, size_t d, gt_metric m,
             const int32_t *neighbors, const float *distances, size_t k, size_t spot,
             gt_report *rep, char *err);

/* Spot queries gt_check recomputes when the caller has no reason to choose:
 * `vecdata info` and vecbench's check before it builds anything. */
#define GT_DEFAULT_SPOT 10

/* The verdict on a gt_check report: 0 when every check passed, else ERR_FAIL
 * with one line saying which checks failed and the first failing query. */
int gt_report_verdict(const gt_report *rep, size_t nq, char *err);

#endif

/*
 * stats.h - the figures vecbench reports: latency summaries, recall@k by id and
 * ann-benchmarks' distance-tie recall, true distances in the dataset's units.
 *
 * Pure functions on caller-owned arrays; no I/O, no SQLite. Percentiles use linear
 * interpolation between closest ranks (numpy's default, what ann-benchmarks
 * reports), so hand-computed values in tests match.
 */
#ifndef IVFKIT_STATS_H
#define IVFKIT_STATS_H

#include <stddef.h>
#include <stdint.h>

/* ann-benchmarks counts a returned id as a hit when its true distance is within
 * this much of the k-th true distance. */
#define STATS_TIE_EPS 1e-3

typedef struct stats_lat {
	size_t n;                       /* samples */
	double mean;                    /* seconds */
	double p50, p95, p99, min, max; /* seconds */
	double qps;                     /* n / sum of samples: queries a second, one at a time */
} stats_lat;

/* The p-th percentile (0..100) of n >= 1 ascending values. */
double stats_percentile(const double *sorted, size_t n, double p);

/* Summary of n >= 1 latencies in seconds (unsorted; left untouched). Returns 0,
 * ERR_INPUT for n == 0 or a negative / non-finite sample, ERR_NOMEM. */
int stats_latency(const double *sec, size_t n, stats_lat *out, char *err);

/* |first min(ngot, k) ids of got ∩ truth[0..k)| / k; a repeated returned id
 * counts once. */
double stats_recall_ids(const int64_t *got, size_t ngot, const int32_t *truth, size_t k);

/* ann-benchmarks' recall: among the first min(ngot, k) returned rows, those whose
 * true distance got_dist[i] <= kth + eps, divided by k. kth is the k-th smallest
 * true distance of the query. */
double stats_recall_ties(const double *got_dist, size_t ngot, double kth, size_t k, double eps);

/* Distance between a and b (d floats) in ann-benchmarks' units, in double:
 * euclidean (not squared) when angular == 0, else 1 - cos(a, b) (1 when either
 * vector is zero): datasets' gt_distance, the one the ground truth is made with. */
double stats_distance(const float *a, const float *b, size_t d, int angular);

#endif

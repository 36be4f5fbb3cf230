/*
 * stats.c - latency summaries, recall and true distances (see stats.h).
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "groundtruth.h"

double stats_percentile(const double *sorted, size_t n, double p)
{
	/* rank (n - 1) * p / 100, interpolated between its two neighbours */
	double rank = (double)(n - 1) * p / 100.0;
	size_t lo = (size_t)floor(rank);
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	double f = rank - (double)lo;
	return sorted[lo] + (sorted[hi] - sorted[lo]) * f;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int stats_latency(const double *sec, size_t n, stats_lat *out, char *err)
{
	if (n == 0)
		return err_set(err, ERR_INPUT, "no latency samples");
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(sec[i]) || sec[i] < 0)
			return err_set(err, ERR_INPUT, "latency sample %zu is %g s", i, sec[i]);
		sum += sec[i];
	}
	double *s = malloc(n * sizeof *s);
	if (!s)
		return err_set(err, ERR_NOMEM, "out of memory sorting %zu latencies", n);
	memcpy(s, sec, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_double);
	out->n = n;
	out->mean = sum / (double)n;
	out->p50 = stats_percentile(s, n, 50);
	out->p95 = stats_percentile(s, n, 95);
	out->p99 = stats_percentile(s, n, 99);
	out->min = s[0];
	out->max = s[n - 1];
	out->qps = sum > 0 ? (double)n / sum : 0;
	free(s);
	return 0;
}

double stats_recall_ids(const int64_t *got, size_t ngot, const int32_t *truth, size_t k)
{
	size_t m = ngot < k ? ngot : k, hits = 0;
	for (size_t i = 0; i < m; i++) {
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = got[j] == got[i];
		if (dup)
			continue;
		for (size_t j = 0; j < k; j++) {
			if (truth[j] == got[i]) {
				hits++;
				break;
			}
		}
	}
	return (double)hits / (double)k;
}

double stats_recall_ties(const double *got_dist, size_t ngot, double kth, size_t k, double eps)
{
	size_t m = ngot < k ? ngot : k, hits = 0;
	for (size_t i = 0; i < m; i++)
		hits += got_dist[i] <= kth + eps;
	return (double)hits / (double)k;
}

double stats_distance(const float *a, const float *b, size_t d, int angular)
{
	/* the ground truth's own distance, so kth and returned rows share its units */
	return gt_distance(a, b, d, angular ? GT_ANGULAR : GT_EUCLIDEAN);
}

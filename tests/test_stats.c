/*
 * test_stats.c - vecbench's figures against values worked out by hand:
 * percentiles (linear interpolation), latency summaries, recall by id and with
 * distance ties, true distances in ann-benchmarks' units.
 */
#include "testutil.h"

#include <math.h>

#include "err.h"
#include "stats.h"

static void test_percentile__interpolates_between_ranks(void **state)
{
	const double v[] = {1, 2, 3, 4};
	/* rank = (n - 1) p / 100: p50 -> 1.5, p95 -> 2.85, p99 -> 2.97 */
	assert_float_equal(stats_percentile(v, 4, 50), 2.5, 1e-12);
	assert_float_equal(stats_percentile(v, 4, 95), 3.85, 1e-12);
	assert_float_equal(stats_percentile(v, 4, 99), 3.97, 1e-12);
	assert_float_equal(stats_percentile(v, 4, 0), 1, 1e-12);
	assert_float_equal(stats_percentile(v, 4, 100), 4, 1e-12);
	assert_float_equal(stats_percentile(v, 1, 99), 1, 1e-12);
}

static void test_latency__summary_of_unsorted_samples(void **state)
{
	double v[] = {0.004, 0.001, 0.003, 0.002, 0.010};
	stats_lat s;
	char err[ERR_LEN];
	assert_int_equal(stats_latency(v, 5, &s, err), 0);
	assert_int_equal(s.n, 5);
	assert_float_equal(s.mean, 0.004, 1e-12);
	assert_float_equal(s.p50, 0.003, 1e-12);
	/* sorted .001 .002 .003 .004 .010; p95 rank 3.8 -> .004 + .8 * .006 */
	assert_float_equal(s.p95, 0.0088, 1e-12);
	assert_float_equal(s.p99, 0.00976, 1e-12);
	assert_float_equal(s.min, 0.001, 1e-12);
	assert_float_equal(s.max, 0.010, 1e-12);
	assert_float_equal(s.qps, 250, 1e-9);
	assert_float_equal(v[0], 0.004, 0); /* input left as it was */
}

static void test_latency__rejects_empty_and_bad_samples(void **state)
{
	double v[] = {0.001, -1};
	stats_lat s;
	char err[ERR_LEN];
	assert_int_equal(stats_latency(v, 0, &s, err), ERR_INPUT);
	assert_int_equal(stats_latency(v, 2, &s, err), ERR_INPUT);
	v[1] = NAN;
	assert_int_equal(stats_latency(v, 2, &s, err), ERR_INPUT);
}

static void test_recall__by_id(void **state)
{
	const int32_t truth[] = {4, 3, 9, 8};
	const int64_t half[] = {1, 2, 3, 4}, all[] = {8, 9, 4, 3}, dup[] = {4, 4, 4, 4};
	assert_float_equal(stats_recall_ids(half, 4, truth, 4), 0.5, 0);
	assert_float_equal(stats_recall_ids(all, 4, truth, 4), 1.0, 0);
	/* a repeated id is one hit, not four */
	assert_float_equal(stats_recall_ids(dup, 4, truth, 4), 0.25, 0);
	/* fewer rows than k: the missing ones are misses */
	assert_float_equal(stats_recall_ids(all, 2, truth, 4), 0.5, 0);
	/* recall@2 looks at the first 2 of each */
	assert_float_equal(stats_recall_ids(half, 4, truth, 2), 0.0, 0);
}

static void test_recall__distance_ties_count(void **state)
{
	/* true top-2 has distances 1.0 and 2.0; the index returned another row at
	 * exactly 2.0 instead of the second true neighbour: a miss by id, a hit by
	 * ann-benchmarks' rule */
	const int32_t truth[] = {0, 1};
	const int64_t got[] = {0, 5};
	const double got_dist[] = {1.0, 2.0};
	assert_float_equal(stats_recall_ids(got, 2, truth, 2), 0.5, 0);
	assert_float_equal(stats_recall_ties(got_dist, 2, 2.0, 2, STATS_TIE_EPS), 1.0, 0);
	/* within 1e-3 counts, beyond does not */
	const double near[] = {1.0, 2.0009}, far[] = {1.0, 2.002};
	assert_float_equal(stats_recall_ties(near, 2, 2.0, 2, STATS_TIE_EPS), 1.0, 0);
	assert_float_equal(stats_recall_ties(far, 2, 2.0, 2, STATS_TIE_EPS), 0.5, 0);
	/* short result */
	assert_float_equal(stats_recall_ties(got_dist, 1, 2.0, 2, STATS_TIE_EPS), 0.5, 0);
	const double none[] = {INFINITY, INFINITY};
	assert_float_equal(stats_recall_ties(none, 2, 2.0, 2, STATS_TIE_EPS), 0.0, 0);
}

static void test_distance__euclidean_and_angular(void **state)
{
	const float o[] = {0, 0}, a[] = {3, 4}, x[] = {1, 0}, y[] = {0, 1}, x2[] = {2, 0},
	            nx[] = {-1, 0};
	assert_float_equal(stats_distance(o, a, 2, 0), 5.0, 1e-12);
	assert_float_equal(stats_distance(x, y, 2, 1), 1.0, 1e-12);
	assert_float_equal(stats_distance(x, x2, 2, 1), 0.0, 1e-12);
	assert_float_equal(stats_distance(x, nx, 2, 1), 2.0, 1e-12);
	assert_float_equal(stats_distance(o, x, 2, 1), 1.0, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_percentile__interpolates_between_ranks),
	    cmocka_unit_test(test_latency__summary_of_unsorted_samples),
	    cmocka_unit_test(test_latency__rejects_empty_and_bad_samples),
	    cmocka_unit_test(test_recall__by_id),
	    cmocka_unit_test(test_recall__distance_ties_count),
	    cmocka_unit_test(test_distance__euclidean_and_angular),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}

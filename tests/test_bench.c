/*
 * test_bench.c - vecbench's harness-overhead verdict: two-sided around the
 * floor, so a floor slower than the harness (41.98 ms against a harness of
 * 40.77 ms once passed as "met") makes the check invalid, not a pass.
 */
#include "testutil.h"

#include "bench.h"

static void test_overhead__verdict_is_two_sided(void **state)
{
	static const struct {
		double harness_ms, floor_ms;
		bench_overhead want;
	} cases[] = {
	    {40.77, 41.98, BENCH_OVERHEAD_INVALID}, /* the floor was no floor */
	    {10.00, 10.00, BENCH_OVERHEAD_MET},     {10.19, 10.00, BENCH_OVERHEAD_MET},
	    {9.81, 10.00, BENCH_OVERHEAD_MET},      {10.21, 10.00, BENCH_OVERHEAD_EXCEEDED},
	    {9.79, 10.00, BENCH_OVERHEAD_INVALID},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		assert_int_equal(
		    bench_overhead_verdict(cases[i].harness_ms * 1e-3, cases[i].floor_ms * 1e-3),
		    cases[i].want);
	assert_string_equal(bench_overhead_name(BENCH_OVERHEAD_INVALID), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overhead__verdict_is_two_sided),
	};
	return cmocka_run_group_tests_name("bench", tests, NULL, NULL);
}

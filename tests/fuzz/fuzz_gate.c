/*
 * fuzz_gate.c - libFuzzer target: the results / baseline JSON reader of
 * `vecbench gate` (gate_run in eval/gate.c, cJSON underneath). The input is a
 * results file, optionally followed by a NUL byte and a baseline file; the gate
 * runs with minimums on a flat and an IVF point and both baseline limits.
 */
#include "fuzz.h"
#include "gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t rlen = nul ? (size_t)(nul - data) : size;
	char results[4200], baseline[4200];
	snprintf(results, sizeof results, "%s", fz_file("results.json", data, rlen));
	if (nul)
		snprintf(baseline, sizeof baseline, "%s",
		         fz_file("baseline.json", nul + 1, size - rlen - 1));
	gate_opts o;
	char err[ERR_LEN] = "";
	gate_defaults(&o);
	static const char *const mins[] = {"flat=1", "ivf=0.9", "ivf@8=0.5"};
	for (size_t i = 0; i < sizeof mins / sizeof *mins; i++)
		if (gate_add_min(&o, mins[i], err))
			abort();
	o.max_recall_drop = 0.01;
	o.max_latency_ratio = 2;
	gate_result res = {0};
	int rc = gate_run(results, nul ? baseline : NULL, &o, &res, err);
	fz_check_err(rc, err);
	if (rc == 0) {
		size_t failed = 0;
		for (size_t i = 0; i < res.n; i++)
			failed += res.checks[i].verdict == GATE_FAIL;
		if (failed != res.failed || res.n < o.nmin)
			abort();
	} else if (res.n || res.checks) {
		abort();
	}
	gate_result_free(&res);
	return 0;
}

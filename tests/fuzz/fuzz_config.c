/*
 * fuzz_config.c - libFuzzer target: vecbench's config reader (cfg_load in
 * eval/config.c, libinih underneath) on arbitrary text. A refusal must leave
 * the struct as it was; an accepted config must hold the invariants the build
 * phases rely on.
 */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cfg c, before;
	const char *p = fz_file("config.ini", data, size);
	char err[ERR_LEN] = "";
	cfg_defaults(&c);
	before = c;
	int rc = cfg_load(p, &c, err);
	fz_check_err(rc, err);
	if (rc && memcmp(&c, &before, sizeof c) != 0)
		abort();
	if (rc == 0) {
		if (!c.dataset[0] || c.nidx == 0 || c.nidx > CFG_MAX_INDEX)
			abort();
		for (size_t i = 0; i < c.nidx; i++) {
			const cfg_index *x = &c.idx[i];
			if (!cfg_valid_name(x->name) || (x->type_ivf != 0 && x->type_ivf != 1))
				abort();
			for (int j = 0; x->type_ivf && j < x->nnprobe; j++)
				if (x->nnprobe < 1 || x->nprobe[j] < 1 || x->nprobe[j] > x->nlist)
					abort();
		}
	}
	return 0;
}

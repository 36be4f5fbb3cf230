/*
 * fuzz_vecs.c - libFuzzer target: the fvecs / ivecs / bvecs reader
 * (datasets/vecs.c). The first byte picks the file kind (the reader goes by the
 * extension), the rest is the file. A success must give n x d values that the
 * file holds.
 */
#include "fuzz.h"
#include "vecs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"in.fvecs", "in.ivecs", "in.bvecs"};
	if (size < 1)
		return 0;
	const char *p = fz_file(names[data[0] % 3], data + 1, size - 1);
	int plain = size < 3 || data[1] != 0x1f || data[2] != 0x8b;
	char err[ERR_LEN] = "";
	size_t n = 0, d = 0;
	int rc;
	if (data[0] % 3 == 1) {
		int32_t *ids = NULL;
		rc = vecs_read_int(p, &ids, &n, &d, err);
		free(ids);
	} else {
		float *x = NULL;
		rc = vecs_read_float(p, &x, &n, &d, err);
		free(x);
	}
	fz_check_err(rc, err);
	if (rc == 0 && (n * d == 0 || (plain && n * d > size)))
		abort();
	return 0;
}

/*
 * fuzz_idx.c - libFuzzer target: the IDX reader (datasets/idx.c) on arbitrary
 * bytes, read both as images and as labels. A success must give the shape the
 * header declares, within what the file holds.
 */
#include "fuzz.h"
#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = fz_file("in-idx-ubyte", data, size);
	char err[ERR_LEN] = "";
	float *x = NULL;
	int32_t *y = NULL;
	size_t n = 0, d = 0;
	int rc = idx_read_images(p, &x, &n, &d, err);
	fz_check_err(rc, err);
	/* a plain file holds one byte a value; gzip may hold far more */
	if (rc == 0 && (n * d == 0 || (data[0] != 0x1f && n * d > size)))
		abort();
	free(x);
	err[0] = 0;
	rc = idx_read_labels(p, &y, &n, err);
	fz_check_err(rc, err);
	if (rc == 0 && (n == 0 || (data[0] != 0x1f && n > size)))
		abort();
	free(y);
	return 0;
}

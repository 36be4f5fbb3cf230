/*
 * fuzz_h5ds.c - libFuzzer target: the ann-benchmarks HDF5 reader (h5_read and
 * h5_read_matrix in datasets/h5ds.c) on arbitrary bytes, written to a file since
 * libhdf5 reads files. Each flag combination a CLI uses is tried on the file. A
 * success must hold what h5ds.h promises: shapes that match and ids in range.
 */
#include "fuzz.h"
#include "h5ds.h"

static void check_dataset(const h5_dataset *ds, unsigned flags)
{
	if (!ds->d || !ds->n || !ds->nq || !ds->test || (!(flags & H5_NO_TRAIN) && !ds->train))
		abort();
	if ((flags & H5_NEED_GT) && !ds->neighbors)
		abort();
	if (!!ds->neighbors != !!ds->distances || !!ds->neighbors != !!ds->kgt)
		abort();
	for (size_t i = 0; !(flags & H5_LAX_GT) && i < ds->nq * ds->kgt; i++)
		if (ds->neighbors[i] < 0 || (size_t)ds->neighbors[i] >= ds->n)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flag_sets[] = {0, H5_NEED_GT, H5_NO_TRAIN | H5_LAX_GT};
	const char *p = fz_file("in.hdf5", data, size);
	for (size_t i = 0; i < sizeof flag_sets / sizeof *flag_sets; i++) {
		h5_dataset ds;
		char err[ERR_LEN] = "";
		int rc = h5_read(p, flag_sets[i], &ds, err);
		fz_check_err(rc, err);
		if (rc == 0)
			check_dataset(&ds, flag_sets[i]);
		h5_free(&ds);
	}
	float *x = NULL;
	size_t n = 0, d = 0;
	char distance[16], err[ERR_LEN] = "";
	int rc = h5_read_matrix(p, "train", &x, &n, &d, distance, sizeof distance, err);
	fz_check_err(rc, err);
	if (rc == 0 && (!x || !n || !d))
		abort();
	free(x);
	return 0;
}

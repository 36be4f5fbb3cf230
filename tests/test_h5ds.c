/*
 * test_h5ds.c - ann-benchmarks HDF5: write/read round trips, in-place ground
 * truth replacement, matrices, atomic writes, and one validation error per kind
 * of bad file. Bad files are built with the HDF5 API as other tools would write
 * them, into a temporary folder.
 */
#include "testutil.h"

#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <sys/stat.h>

#include "err.h"
#include "h5ds.h"

enum { N = 20, NQ = 5, D = 4, K = 3 };

/* Entries of dir (hidden temporary files included). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A dataset in file type ftype from double values (HDF5 converts); v NULL:
 * declared only, nothing written. */
static void put_ds(hid_t f, const char *name, hid_t ftype, int rank, hsize_t d0, hsize_t d1,
                   hsize_t d2, const double *v)
{
	hsize_t dims[3] = {d0, d1, d2};
	hid_t sp = H5Screate_simple(rank, dims, NULL);
	hid_t ds = H5Dcreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(ds >= 0);
	if (v && d0 * d1 * d2 > 0)
		assert_true(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
	H5Dclose(ds);
	H5Sclose(sp);
}

/* A string attribute, variable-length (as h5py writes str) or fixed-length. */
static void put_str(hid_t f, const char *name, const char *val, int fixed)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, fixed ? strlen(val) : H5T_VARIABLE);
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(H5Awrite(a, t, fixed ? (const void *)val : (const void *)&val) >= 0);
	H5Aclose(a);
	H5Sclose(sp);
	H5Tclose(t);
}

static void put_int(hid_t f, const char *name, long long v)
{
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(f, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(H5Awrite(a, H5T_NATIVE_LLONG, &v) >= 0);
	H5Aclose(a);
	H5Sclose(sp);
}

/* Ways to spoil a valid file (V_OK); each is one row of the table below. */
enum {
	V_OK,
	V_FIXED_STRINGS,
	V_TRAIN_F64,
	V_NO_TRAIN,
	V_NO_TEST,
	V_TRAIN_3D,
	V_TRAIN_1D,
	V_TEST_DIM,
	V_TRAIN_INT,
	V_TRAIN_NAN,
	V_TEST_INF,
	V_TEST_EMPTY,
	V_NB_RANGE,
	V_NB_ROWS,
	V_DIST_SHAPE,
	V_DIST_ONLY,
	V_NB_FLOAT,
	V_NO_METRIC,
	V_BAD_METRIC,
	V_DIM_ATTR,
	V_SPARSE,
	V_LABELS_LEN,
	V_DIST_NAN,
	V_TRAIN_UNSTORED,
	V_NB_UNSTORED,
};

/* Writes an ann-benchmarks file the way h5py would, spoiled by variant v. */
static void mkfile(const char *path, int v)
{
	double tr[N * D], te[NQ * (D + 1)], nb[NQ * K], di[NQ * K], lab[N];
	for (int i = 0; i < N * D; i++)
		tr[i] = i * 0.5;
	for (int i = 0; i < NQ * (D + 1); i++)
		te[i] = 1 + i;
	for (int i = 0; i < NQ * K; i++) {
		nb[i] = (i * 7) % N;
		di[i] = i % K;
	}
	for (int i = 0; i < N; i++)
		lab[i] = i % 10;
	if (v == V_TRAIN_NAN)
		tr[3 * D + 1] = NAN;
	if (v == V_TEST_INF)
		te[2] = INFINITY;
	if (v == V_NB_RANGE)
		nb[2 * K + 1] = N;
	if (v == V_DIST_NAN)
		di[K + 2] = NAN;
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(f >= 0);
	if (v != V_NO_METRIC)
		put_str(f, "distance", v == V_BAD_METRIC ? "hamming" : "euclidean",
		        v == V_FIXED_STRINGS);
	put_str(f, "type", v == V_SPARSE ? "sparse" : "dense", v == V_FIXED_STRINGS);
	put_str(f, "point_type", "float", v == V_FIXED_STRINGS);
	put_int(f, "dimension", v == V_DIM_ATTR ? D + 1 : D);
	if (v == V_TRAIN_3D)
		put_ds(f, "train", H5T_IEEE_F32LE, 3, N, 2, 2, tr);
	else if (v == V_TRAIN_1D)
		put_ds(f, "train", H5T_IEEE_F32LE, 1, N * D, 1, 1, tr);
	else if (v == V_TRAIN_UNSTORED) /* 1 TiB declared, nothing written */
		put_ds(f, "train", H5T_IEEE_F32LE, 2, (hsize_t)1 << 36, D, 1, NULL);
	else if (v != V_NO_TRAIN)
		put_ds(f, "train",
		       v == V_TRAIN_INT   ? H5T_STD_I64LE
		       : v == V_TRAIN_F64 ? H5T_IEEE_F64LE
		                          : H5T_IEEE_F32LE,
		       2, N, D, 1, tr);
	if (v != V_NO_TEST)
		put_ds(f, "test", H5T_IEEE_F32LE, 2, v == V_TEST_EMPTY ? 0 : NQ,
		       v == V_TEST_DIM ? D + 1 : D, 1, te);
	if (v != V_DIST_ONLY)
		put_ds(f, "neighbors", v == V_NB_FLOAT ? H5T_IEEE_F32LE : H5T_STD_I32LE, 2,
		       v == V_NB_ROWS ? NQ - 1 : NQ, K, 1, v == V_NB_UNSTORED ? NULL : nb);
	put_ds(f, "distances", H5T_IEEE_F32LE, 2, NQ, v == V_DIST_SHAPE ? K - 1 : K, 1, di);
	put_ds(f, "train_labels", H5T_STD_I64LE, 1, v == V_LABELS_LEN ? N - 1 : N, 1, 1, lab);
	put_ds(f, "something_else", H5T_STD_I32LE, 1, 3, 1, 1, lab);
	H5Fclose(f);
}

static void test_h5__read_validates(void **state)
{
	static const struct {
		int v;
		const char *want; /* NULL: reads fine */
	} cases[] = {
	    {V_OK, NULL},
	    {V_FIXED_STRINGS, NULL},
	    {V_TRAIN_F64, NULL},
	    {V_NO_TRAIN, "no 'train' dataset"},
	    {V_NO_TEST, "no 'test' dataset"},
	    {V_TRAIN_3D, "'train' is 3-D, expected 2-D"},
	    {V_TRAIN_1D, "'train' is 1-D, expected 2-D"},
	    {V_TEST_DIM, "'test' has dimension 5, 'train' has 4"},
	    {V_TRAIN_INT, "'train' holds integer data, expected float"},
	    {V_TRAIN_NAN, "'train' row 3 column 1 is NaN"},
	    {V_TEST_INF, "'test' row 0 column 2 is +Inf"},
	    {V_TEST_EMPTY, "'test' is empty"},
	    {V_NB_RANGE, "'neighbors' row 2 holds id 20, outside the 20 train rows"},
	    {V_NB_ROWS, "'neighbors' has 4 rows, 'test' has 5"},
	    {V_DIST_SHAPE, "'distances' is 5 x 2, 'neighbors' 5 x 3"},
	    {V_DIST_ONLY, "'distances' without 'neighbors'"},
	    {V_NB_FLOAT, "'neighbors' holds float data, expected integer"},
	    {V_NO_METRIC, "no 'distance' attribute"},
	    {V_BAD_METRIC, "distance 'hamming' is not supported"},
	    {V_DIM_ATTR, "attribute 'dimension' is 5 but 'train' has 4 columns"},
	    {V_SPARSE, "type 'sparse' is not supported"},
	    {V_LABELS_LEN, "'train_labels' has 19 entries for 20 rows"},
	    {V_DIST_NAN, "'distances' row 1 column 2 is NaN"},
	    /* refused before a buffer is sized by the shape: 1 TiB was "out of
	     * memory"; unwritten ground truth read as HDF5's fill value, all id 0 */
	    {V_TRAIN_UNSTORED,
	     "'train' declares 68719476736 x 4 values (1099511627776 bytes) but the file stores 0"},
	    {V_NB_UNSTORED, "'neighbors' declares 5 x 3 values (60 bytes) but the file stores 0"},
	};
	char *dir = tu_mkdtemp();
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		const char *p = tu_path(dir, "f.hdf5");
		mkfile(p, cases[c].v);
		h5_dataset ds;
		char err[ERR_LEN] = "";
		int rc = h5_read(p, 0, &ds, err);
		if (!cases[c].want) {
			if (rc)
				fail_msg("variant %d: %s", cases[c].v, err);
			assert_string_equal(ds.distance, "euclidean");
			assert_int_equal(ds.n, N);
			assert_int_equal(ds.d, D);
			assert_int_equal(ds.nq, NQ);
			assert_int_equal(ds.kgt, K);
			assert_true(ds.train[N * D - 1] == (N * D - 1) * 0.5f);
			assert_int_equal(ds.neighbors[4], 28 % N);
			assert_int_equal(ds.train_labels[13], 3);
			assert_null(ds.test_labels);
			h5_free(&ds);
			continue;
		}
		if (rc != ERR_INPUT || !strstr(err, cases[c].want) || strncmp(err, p, strlen(p)))
			fail_msg("variant %d: rc %d, message '%s', expected '%s'", cases[c].v, rc,
			         err, cases[c].want);
		assert_null(ds.train);
		assert_null(ds.test);
		assert_int_equal(ds.n, 0);
	}
	tu_rmdir(dir);
}

static void test_h5__read_bad_paths_and_flags(void **state)
{
	char *dir = tu_mkdtemp();
	h5_dataset ds;
	char err[ERR_LEN];
	const char *txt = tu_path(dir, "text.hdf5");
	FILE *f = fopen(txt, "w");
	fputs("not hdf5 at all\n", f);
	fclose(f);
	static const struct {
		const char *name, *want;
	} cases[] = {
	    {"missing.hdf5", "missing.hdf5: cannot open: No such file or directory"},
	    {"text.hdf5", "text.hdf5: not an HDF5 file"},
	    {"", "is a folder"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		assert_int_equal(h5_read(tu_path(dir, cases[c].name), 0, &ds, err), ERR_INPUT);
		if (!strstr(err, cases[c].want))
			fail_msg("%s: '%s'", cases[c].name, err);
	}
	/* without ground truth: fine, unless it is required */
	const char *p = tu_path(dir, "f.hdf5");
	mkfile(p, V_OK);
	hid_t h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
	H5Ldelete(h, "neighbors", H5P_DEFAULT);
	H5Ldelete(h, "distances", H5P_DEFAULT);
	H5Fclose(h);
	assert_int_equal(h5_read(p, H5_NO_TRAIN, &ds, err), 0);
	assert_null(ds.train);
	assert_int_equal(ds.n, N);
	assert_int_equal(ds.kgt, 0);
	assert_null(ds.neighbors);
	h5_free(&ds);
	assert_int_equal(h5_read(p, H5_NEED_GT, &ds, err), ERR_INPUT);
	assert_non_null(strstr(err, "no 'neighbors' dataset"));
	/* out-of-range ids and NaN distances pass with H5_LAX_GT, for `vecdata info`
	 * to report */
	mkfile(p, V_NB_RANGE);
	assert_int_equal(h5_read(p, H5_LAX_GT, &ds, err), 0);
	assert_int_equal(ds.neighbors[2 * K + 1], N);
	h5_free(&ds);
	mkfile(p, V_DIST_NAN);
	assert_int_equal(h5_read(p, H5_LAX_GT, &ds, err), 0);
	assert_true(isnan(ds.distances[K + 2]));
	h5_free(&ds);
	h5_free(NULL);
	tu_rmdir(dir);
}

/* A small complete dataset with every optional part. */
static void fill(h5_dataset *ds, float *tr, float *te, int32_t *nb, float *di, int32_t *tl,
                 int32_t *ql)
{
	for (int i = 0; i < N * D; i++)
		tr[i] = (float)i / 3;
	for (int i = 0; i < NQ * D; i++)
		te[i] = -(float)i;
	for (int i = 0; i < NQ * K; i++) {
		nb[i] = (i * 3) % N;
		di[i] = (float)(i % K) / 7;
	}
	for (int i = 0; i < N; i++)
		tl[i] = i % 4;
	for (int i = 0; i < NQ; i++)
		ql[i] = 9 - i;
	*ds = (h5_dataset){.d = D,
	                   .n = N,
	                   .train = tr,
	                   .nq = NQ,
	                   .test = te,
	                   .kgt = K,
	                   .neighbors = nb,
	                   .distances = di,
	                   .train_labels = tl,
	                   .test_labels = ql};
	strcpy(ds->distance, "angular");
}

static void test_h5__write_read_round_trip(void **state)
{
	char *dir = tu_mkdtemp();
	float tr[N * D], te[NQ * D], di[NQ * K];
	int32_t nb[NQ * K], tl[N], ql[NQ];
	h5_dataset w, r;
	char err[ERR_LEN];
	fill(&w, tr, te, nb, di, tl, ql);
	const char *p = tu_path(dir, "rt.hdf5");
	for (int pass = 0; pass < 2; pass++) { /* the second write replaces the first */
		assert_int_equal(h5_write(p, &w, err), 0);
		assert_int_equal(h5_read(p, H5_NEED_GT, &r, err), 0);
		assert_string_equal(r.distance, "angular");
		assert_int_equal(r.n, N);
		assert_int_equal(r.nq, NQ);
		assert_int_equal(r.d, D);
		assert_int_equal(r.kgt, K);
		assert_memory_equal(r.train, tr, sizeof tr);
		assert_memory_equal(r.test, te, sizeof te);
		assert_memory_equal(r.neighbors, nb, sizeof nb);
		assert_memory_equal(r.distances, di, sizeof di);
		assert_memory_equal(r.train_labels, tl, sizeof tl);
		assert_memory_equal(r.test_labels, ql, sizeof ql);
		h5_free(&r);
		tr[0] = 42;
	}
	assert_int_equal(count_entries(dir), 1); /* no temporary file left */
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_mode & S_IRUSR);
	/* the ground truth is optional */
	w.neighbors = NULL;
	w.distances = NULL;
	w.kgt = 0;
	w.test_labels = NULL;
	assert_int_equal(h5_write(p, &w, err), 0);
	assert_int_equal(h5_read(p, 0, &r, err), 0);
	assert_null(r.neighbors);
	assert_null(r.test_labels);
	assert_non_null(r.train_labels);
	h5_free(&r);
	tu_rmdir(dir);
}

static void test_h5__write_failures_leave_nothing(void **state)
{
	char *dir = tu_mkdtemp();
	float tr[N * D], te[NQ * D], di[NQ * K];
	int32_t nb[NQ * K], tl[N], ql[NQ];
	h5_dataset w;
	char err[ERR_LEN];
	fill(&w, tr, te, nb, di, tl, ql);
	static const struct {
		const char *name, *want;
	} cases[] = {
	    {"no/such/folder/x.hdf5", "cannot write"},
	    {"", "is a folder"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		const char *p = tu_path(dir, cases[c].name);
		assert_int_equal(h5_check_output(p, err), ERR_INPUT);
		assert_non_null(strstr(err, cases[c].want));
		assert_int_equal(h5_write(p, &w, err), ERR_INPUT);
	}
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(h5_check_output(tu_path(dir, "fine.hdf5"), err), 0);
	assert_int_equal(h5_write_groundtruth(tu_path(dir, "absent.hdf5"), &w, err), ERR_INPUT);
	assert_int_equal(count_entries(dir), 0);
	tu_rmdir(dir);
}

static void test_h5__write_groundtruth_keeps_the_rest(void **state)
{
	char *dir = tu_mkdtemp();
	const char *p = tu_path(dir, "gt.hdf5");
	mkfile(p, V_OK);
	hid_t h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
	put_str(h, "source", "unit test", 0);
	H5Fclose(h);
	h5_dataset ds;
	char err[ERR_LEN];
	assert_int_equal(h5_read(p, 0, &ds, err), 0);
	/* a deeper ground truth and another metric */
	enum { K2 = 6 };
	free(ds.neighbors);
	free(ds.distances);
	ds.neighbors = malloc(NQ * K2 * sizeof *ds.neighbors);
	ds.distances = malloc(NQ * K2 * sizeof *ds.distances);
	for (int i = 0; i < NQ * K2; i++) {
		ds.neighbors[i] = N - 1 - i % N;
		ds.distances[i] = (float)i;
	}
	ds.kgt = K2;
	strcpy(ds.distance, "angular");
	assert_int_equal(h5_write_groundtruth(p, &ds, err), 0);
	h5_dataset r;
	assert_int_equal(h5_read(p, H5_NEED_GT, &r, err), 0);
	assert_string_equal(r.distance, "angular");
	assert_int_equal(r.kgt, K2);
	assert_memory_equal(r.neighbors, ds.neighbors, NQ * K2 * sizeof *r.neighbors);
	assert_memory_equal(r.train, ds.train, N * D * sizeof *r.train);
	assert_memory_equal(r.train_labels, ds.train_labels, N * sizeof *r.train_labels);
	h5_free(&r);
	h5_free(&ds);
	h = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
	assert_true(H5Lexists(h, "something_else", H5P_DEFAULT) > 0);
	assert_true(H5Aexists(h, "source") > 0);
	long long dim = 0;
	hid_t a = H5Aopen(h, "dimension", H5P_DEFAULT);
	H5Aread(a, H5T_NATIVE_LLONG, &dim);
	H5Aclose(a);
	H5Fclose(h);
	assert_int_equal(dim, D);
	assert_int_equal(count_entries(dir), 1);
	tu_rmdir(dir);
}

static void test_h5__matrix_round_trip(void **state)
{
	char *dir = tu_mkdtemp();
	const char *p = tu_path(dir, "c.hdf5");
	float c[6] = {1, 2, 3, 4, 5, 6}, *x;
	size_t n, d;
	char dist[16], err[ERR_LEN];
	assert_int_equal(h5_write_matrix(p, "centroids", c, 2, 3, "angular", err), 0);
	assert_int_equal(h5_read_matrix(p, "centroids", &x, &n, &d, dist, sizeof dist, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d, 3);
	assert_memory_equal(x, c, sizeof c);
	assert_string_equal(dist, "angular");
	free(x);
	assert_int_equal(h5_read_matrix(p, "other", &x, &n, &d, NULL, 0, err), ERR_INPUT);
	assert_non_null(strstr(err, "no 'other' dataset"));
	/* an ann-benchmarks file: the metric comes from the root attribute */
	mkfile(p, V_OK);
	assert_int_equal(h5_read_matrix(p, "train", &x, &n, &d, dist, sizeof dist, err), 0);
	assert_string_equal(dist, "euclidean");
	assert_int_equal(n * d, N * D);
	free(x);
	assert_non_null(strchr(h5_version(), '.'));
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h5__read_validates),
	    cmocka_unit_test(test_h5__read_bad_paths_and_flags),
	    cmocka_unit_test(test_h5__write_read_round_trip),
	    cmocka_unit_test(test_h5__write_failures_leave_nothing),
	    cmocka_unit_test(test_h5__write_groundtruth_keeps_the_rest),
	    cmocka_unit_test(test_h5__matrix_round_trip),
	};
	return cmocka_run_group_tests_name("h5ds", tests, NULL, NULL);
}

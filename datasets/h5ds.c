/*
 * h5ds.c - ann-benchmarks HDF5 files through the HDF5 C library (see h5ds.h).
 *
 * HDF5's own error-stack printing is switched off before the first call; a
 * failure becomes one line "path: what failed: innermost HDF5 message".
 * Strings are written the way h5py writes a Python str (scalar, variable-length
 * UTF-8), so h5py hands them back as str; `dimension` is an int64, as h5py
 * writes a Python int. Reads accept float32 or float64 vectors (HDF5 converts
 * to float32) and any integer width for ids and labels; any other value class
 * is a "non-float data" input error.
 * Every write builds a temporary file next to the destination and renames it
 * over the destination only after HDF5 closed it cleanly and it was synced.
 */
#include "h5ds.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dist.h"
#include "dsio.h"
#include "err.h"

#define H5_PATH_MAX 4096
#define H5_WHY_LEN 200    /* room for HDF5's innermost message inside ERR_LEN */
#define H5_MAX_RATIO 1032 /* deflate's best compression ratio: bytes out per byte stored */

/* Switches HDF5's automatic error printing off, once per process. */
static void h5_quiet(void)
{
	static int done;
	if (!done) {
		H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
		done = 1;
	}
}

static herr_t h5_why_walk(unsigned n, const H5E_error2_t *e, void *data)
{
	if (n == 0)
		snprintf(data, H5_WHY_LEN, "%s", e->desc ? e->desc : "");
	return 0;
}

/* The innermost message on HDF5's error stack (where the failure started). */
static const char *h5_why(char *buf)
{
	buf[0] = 0;
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_why_walk, buf);
	return buf[0] ? buf : "HDF5 error";
}

static const char *h5_class_name(H5T_class_t c)
{
	switch (c) {
	case H5T_INTEGER:
		return "integer";
	case H5T_FLOAT:
		return "float";
	case H5T_STRING:
		return "string";
	case H5T_ENUM:
		return "enum (bool)";
	case H5T_COMPOUND:
		return "compound";
	default:
		return "non-numeric";
	}
}

/* ---- reading ---------------------------------------------------------------- */

static int h5_open_read(const char *path, hid_t *f, char *err)
{
	struct stat st;
	h5_quiet();
	if (stat(path, &st) != 0)
		return err_set(err, ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return err_set(err, ERR_INPUT, "%s: is a folder, expected an HDF5 file", path);
	if (H5Fis_hdf5(path) <= 0)
		return err_set(err, ERR_INPUT, "%s: not an HDF5 file", path);
	*f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (*f < 0) {
		char why[H5_WHY_LEN];
		return err_set(err, ERR_INPUT, "%s: cannot open as HDF5: %s", path, h5_why(why));
	}
	return ERR_OK;
}

/* Opens dataset name, checks its rank (1 or 2), value class and that it is not
 * empty, and gives its shape (dims[1] = 1 for rank 1). When the dataset is
 * absent: ERR_INPUT if required, else ERR_OK with *dset < 0. */
static int h5_open_dset(hid_t f, const char *path, const char *name, int rank, H5T_class_t cls,
                        int required, hid_t *dset, hsize_t *dims, char *err)
{
	char why[H5_WHY_LEN];
	*dset = H5I_INVALID_HID;
	if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
		return required ? err_set(err, ERR_INPUT, "%s: no '%s' dataset", path, name)
		                : ERR_OK;
	hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
	if (d < 0)
		return err_set(err, ERR_INPUT, "%s: '%s' is not a readable dataset: %s", path, name,
		               h5_why(why));
	hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
	hsize_t dd[H5S_MAX_RANK] = {0};
	int r = H5Sget_simple_extent_ndims(sp);
	H5Sget_simple_extent_dims(sp, dd, NULL);
	H5T_class_t c = H5Tget_class(ty);
	H5Sclose(sp);
	H5Tclose(ty);
	int rc = ERR_OK;
	if (r != rank)
		rc = err_set(err, ERR_INPUT, "%s: '%s' is %d-D, expected %s", path, name, r,
		             rank == 2 ? "2-D (rows x dimension)" : "1-D");
	else if (c != cls)
		rc = err_set(err, ERR_INPUT, "%s: '%s' holds %s data, expected %s", path, name,
		             h5_class_name(c), cls == H5T_FLOAT ? "float" : "integer");
	else if (dd[0] == 0 || (rank == 2 && dd[1] == 0))
		rc = err_set(err, ERR_INPUT, "%s: '%s' is empty", path, name);
	if (rc) {
		H5Dclose(d);
		return rc;
	}
	dims[0] = dd[0];
	dims[1] = rank == 2 ? dd[1] : 1;
	*dset = d;
	return ERR_OK;
}

/* Refuses a dataset whose shape claims more values than the file stores, before
 * a buffer is sized by the claim: storage never written (HDF5 would hand back
 * its fill value for all of it) or a shape beyond the file. Filtered chunks may
 * hold more than they occupy, up to deflate's limit of about 1032:1. Products
 * in double: a damaged shape must not wrap around. */
static int h5_check_stored(hid_t f, hid_t d, const char *path, const char *name,
                           const hsize_t *dims, char *err)
{
	hid_t ty = H5Dget_type(d), pl = H5Dget_create_plist(d);
	size_t esz = H5Tget_size(ty);
	int nfilt = pl >= 0 ? H5Pget_nfilters(pl) : 0;
	hsize_t stored = H5Dget_storage_size(d), fsize = 0;
	H5Tclose(ty);
	if (pl >= 0)
		H5Pclose(pl);
	if (H5Fget_filesize(f, &fsize) < 0 || stored > fsize)
		stored = fsize;
	double need = (double)dims[0] * (double)dims[1] * (double)esz;
	if (need > (double)stored * (nfilt > 0 ? H5_MAX_RATIO : 1))
		return err_set(err, ERR_INPUT,
		               "%s: '%s' declares %llu x %llu values (%.0f bytes) but the file "
		               "stores %llu bytes of them",
		               path, name, (unsigned long long)dims[0], (unsigned long long)dims[1],
		               need, (unsigned long long)stored);
	return ERR_OK;
}

/* Opens and, when out is non-NULL, reads a whole dataset converted to memtype
 * (elem bytes a value) into a new buffer. Absent and optional: ERR_OK, *out
 * untouched and dims zero. */
static int h5_load(hid_t f, const char *path, const char *name, int rank, H5T_class_t cls,
                   int required, hid_t memtype, size_t elem, void **out, hsize_t *dims, char *err)
{
	hid_t d;
	dims[0] = dims[1] = 0;
	int rc = h5_open_dset(f, path, name, rank, cls, required, &d, dims, err);
	if (!rc && d >= 0 && out)
		rc = h5_check_stored(f, d, path, name, dims, err);
	if (rc || d < 0 || !out) {
		if (d >= 0)
			H5Dclose(d);
		return rc;
	}
	size_t count = (size_t)dims[0] * (size_t)dims[1];
	void *buf = malloc(count * elem);
	if (!buf)
		rc = err_set(err, ERR_NOMEM, "%s: out of memory for '%s' (%zu values)", path, name,
		             count);
	else if (H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
		char why[H5_WHY_LEN];
		rc = err_set(err, ERR_INPUT, "%s: cannot read '%s': %s", path, name, h5_why(why));
	}
	H5Dclose(d);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	return ERR_OK;
}

static int h5_check_finite(const char *path, const char *name, const float *x, size_t n, size_t d,
                           char *err)
{
	size_t bad = dist_first_nonfinite(x, n, d);
	if (bad == n * d)
		return ERR_OK;
	return err_set(err, ERR_INPUT, "%s: '%s' row %zu column %zu is %s", path, name, bad / d,
	               bad % d, dsio_nonfinite_name(x[bad]));
}

/* Opens attribute name of obj if it exists and holds one value: 1 with *a set,
 * 0 when absent, ERR_INPUT otherwise. */
static int h5_open_attr(hid_t obj, const char *path, const char *name, hid_t *a, char *err)
{
	if (H5Aexists(obj, name) <= 0)
		return 0;
	*a = H5Aopen(obj, name, H5P_DEFAULT);
	if (*a < 0)
		return err_set(err, ERR_INPUT, "%s: cannot open attribute '%s'", path, name);
	hid_t sp = H5Aget_space(*a);
	hssize_t np = H5Sget_simple_extent_npoints(sp);
	H5Sclose(sp);
	if (np != 1) {
		H5Aclose(*a);
		return err_set(err, ERR_INPUT, "%s: attribute '%s' holds %lld values, expected one",
		               path, name, (long long)np);
	}
	return 1;
}

/* String attribute (variable or fixed length) into out: 1 present, 0 absent,
 * ERR_INPUT when it is not a string. */
static int h5_get_string(hid_t obj, const char *path, const char *name, char *out, size_t len,
                         char *err)
{
	hid_t a;
	int rc = h5_open_attr(obj, path, name, &a, err);
	if (rc <= 0)
		return rc;
	hid_t ft = H5Aget_type(a);
	hid_t mt = H5Tcopy(ft);
	herr_t st = -1;
	if (H5Tget_class(ft) != H5T_STRING) {
		rc = err_set(err, ERR_INPUT, "%s: attribute '%s' is not a string", path, name);
	} else if (H5Tis_variable_str(ft) > 0) {
		char *s = NULL;
		if ((st = H5Aread(a, mt, &s)) >= 0 && s) {
			snprintf(out, len, "%s", s);
			H5free_memory(s);
		}
	} else {
		size_t sz = H5Tget_size(ft);
		char *s = calloc(1, sz + 1);
		if (s && (st = H5Aread(a, mt, s)) >= 0)
			snprintf(out, len, "%s", s);
		free(s);
	}
	if (rc == 1 && st < 0)
		rc = err_set(err, ERR_INPUT, "%s: cannot read attribute '%s'", path, name);
	H5Tclose(mt);
	H5Tclose(ft);
	H5Aclose(a);
	return rc;
}

/* Integer attribute: 1 present, 0 absent, ERR_INPUT when not an integer. */
static int h5_get_int(hid_t obj, const char *path, const char *name, long long *v, char *err)
{
	hid_t a;
	int rc = h5_open_attr(obj, path, name, &a, err);
	if (rc <= 0)
		return rc;
	hid_t ft = H5Aget_type(a);
	if (H5Tget_class(ft) != H5T_INTEGER || H5Aread(a, H5T_NATIVE_LLONG, v) < 0)
		rc = err_set(err, ERR_INPUT, "%s: attribute '%s' is not an integer", path, name);
	H5Tclose(ft);
	H5Aclose(a);
	return rc;
}

/* Root attributes: `distance` (required, euclidean | angular), and when
 * present `type` dense, `point_type` float and `dimension` d. */
static int h5_read_attrs(hid_t f, const char *path, size_t d, h5_dataset *ds, char *err)
{
	char s[64];
	long long dim;
	int rc = h5_get_string(f, path, "distance", ds->distance, sizeof ds->distance, err);
	if (rc == 0)
		return err_set(err, ERR_INPUT, "%s: no 'distance' attribute", path);
	if (rc < 0)
		return rc;
	if (strcmp(ds->distance, "euclidean") && strcmp(ds->distance, "angular"))
		return err_set(err, ERR_INPUT,
		               "%s: distance '%s' is not supported (euclidean, angular)", path,
		               ds->distance);
	if ((rc = h5_get_string(f, path, "type", s, sizeof s, err)) < 0)
		return rc;
	if (rc && strcmp(s, "dense"))
		return err_set(err, ERR_INPUT, "%s: type '%s' is not supported (dense)", path, s);
	if ((rc = h5_get_string(f, path, "point_type", s, sizeof s, err)) < 0)
		return rc;
	if (rc && strcmp(s, "float"))
		return err_set(err, ERR_INPUT, "%s: point_type '%s' is not supported (float)", path,
		               s);
	if ((rc = h5_get_int(f, path, "dimension", &dim, err)) < 0)
		return rc;
	if (rc && (dim < 0 || (size_t)dim != d))
		return err_set(err, ERR_INPUT,
		               "%s: attribute 'dimension' is %lld but 'train' has %zu columns",
		               path, dim, d);
	return ERR_OK;
}

/* neighbors + distances: both or neither; same nq x kgt shape; unless lax, ids
 * in [0, n) and finite distances. */
static int h5_read_gt(hid_t f, const char *path, unsigned flags, h5_dataset *ds, char *err)
{
	hsize_t nd[2], dd[2];
	int rc = h5_load(f, path, "neighbors", 2, H5T_INTEGER, flags & H5_NEED_GT, H5T_NATIVE_INT32,
	                 sizeof(int32_t), (void **)&ds->neighbors, nd, err);
	if (!rc)
		rc = h5_load(f, path, "distances", 2, H5T_FLOAT, ds->neighbors != NULL,
		             H5T_NATIVE_FLOAT, sizeof(float), (void **)&ds->distances, dd, err);
	if (rc)
		return rc;
	if (!ds->neighbors && ds->distances)
		return err_set(err, ERR_INPUT, "%s: 'distances' without 'neighbors'", path);
	if (!ds->neighbors)
		return ERR_OK;
	if (nd[0] != ds->nq)
		return err_set(err, ERR_INPUT, "%s: 'neighbors' has %llu rows, 'test' has %zu",
		               path, (unsigned long long)nd[0], ds->nq);
	if (dd[0] != nd[0] || dd[1] != nd[1])
		return err_set(err, ERR_INPUT,
		               "%s: 'distances' is %llu x %llu, 'neighbors' %llu x %llu", path,
		               (unsigned long long)dd[0], (unsigned long long)dd[1],
		               (unsigned long long)nd[0], (unsigned long long)nd[1]);
	ds->kgt = nd[1];
	if (flags & H5_LAX_GT)
		return ERR_OK;
	for (size_t i = 0; i < ds->nq * ds->kgt; i++)
		if (ds->neighbors[i] < 0 || (size_t)ds->neighbors[i] >= ds->n)
			return err_set(
			    err, ERR_INPUT,
			    "%s: 'neighbors' row %zu holds id %d, outside the %zu train rows", path,
			    i / ds->kgt, ds->neighbors[i], ds->n);
	return h5_check_finite(path, "distances", ds->distances, ds->nq, ds->kgt, err);
}

/* Optional label vector of exactly rows entries. */
static int h5_read_labels(hid_t f, const char *path, const char *name, size_t rows, int32_t **out,
                          char *err)
{
	hsize_t dims[2];
	int rc = h5_load(f, path, name, 1, H5T_INTEGER, 0, H5T_NATIVE_INT32, sizeof(int32_t),
	                 (void **)out, dims, err);
	if (!rc && *out && dims[0] != rows)
		rc = err_set(err, ERR_INPUT, "%s: '%s' has %llu entries for %zu rows", path, name,
		             (unsigned long long)dims[0], rows);
	return rc;
}

static int h5_read_body(hid_t f, const char *path, unsigned flags, h5_dataset *ds, char *err)
{
	hsize_t tr[2], te[2];
	int rc = h5_load(f, path, "train", 2, H5T_FLOAT, 1, H5T_NATIVE_FLOAT, sizeof(float),
	                 flags & H5_NO_TRAIN ? NULL : (void **)&ds->train, tr, err);
	if (!rc)
		rc = h5_load(f, path, "test", 2, H5T_FLOAT, 1, H5T_NATIVE_FLOAT, sizeof(float),
		             (void **)&ds->test, te, err);
	if (rc)
		return rc;
	if (te[1] != tr[1])
		return err_set(err, ERR_INPUT, "%s: 'test' has dimension %llu, 'train' has %llu",
		               path, (unsigned long long)te[1], (unsigned long long)tr[1]);
	if (tr[0] > INT32_MAX)
		return err_set(err, ERR_INPUT, "%s: %llu train rows do not fit int32 neighbor ids",
		               path, (unsigned long long)tr[0]);
	ds->n = tr[0];
	ds->d = tr[1];
	ds->nq = te[0];
	if ((rc = h5_read_attrs(f, path, ds->d, ds, err)))
		return rc;
	if (ds->train && (rc = h5_check_finite(path, "train", ds->train, ds->n, ds->d, err)))
		return rc;
	if ((rc = h5_check_finite(path, "test", ds->test, ds->nq, ds->d, err)))
		return rc;
	if ((rc = h5_read_gt(f, path, flags, ds, err)))
		return rc;
	rc = h5_read_labels(f, path, "train_labels", ds->n, &ds->train_labels, err);
	if (!rc)
		rc = h5_read_labels(f, path, "test_labels", ds->nq, &ds->test_labels, err);
	return rc;
}

int h5_read(const char *path, unsigned flags, h5_dataset *ds, char *err)
{
	hid_t f;
	memset(ds, 0, sizeof *ds);
	int rc = h5_open_read(path, &f, err);
	if (rc)
		return rc;
	rc = h5_read_body(f, path, flags, ds, err);
	H5Fclose(f);
	if (rc)
		h5_free(ds);
	return rc;
}

int h5_read_matrix(const char *path, const char *name, float **x, size_t *n, size_t *d,
                   char *distance, size_t distance_len, char *err)
{
	hid_t f;
	hsize_t dims[2];
	float *buf = NULL;
	int rc = h5_open_read(path, &f, err);
	if (rc)
		return rc;
	rc = h5_load(f, path, name, 2, H5T_FLOAT, 1, H5T_NATIVE_FLOAT, sizeof(float), (void **)&buf,
	             dims, err);
	if (!rc)
		rc = h5_check_finite(path, name, buf, dims[0], dims[1], err);
	if (!rc && distance) {
		/* the attribute sits on the matrix; an ann-benchmarks file has it on the root */
		distance[0] = 0;
		hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
		rc = h5_get_string(ds, path, "distance", distance, distance_len, err);
		H5Dclose(ds);
		if (rc == 0)
			rc = h5_get_string(f, path, "distance", distance, distance_len, err);
		rc = rc < 0 ? rc : ERR_OK;
	}
	H5Fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	*x = buf;
	*n = dims[0];
	*d = dims[1];
	return ERR_OK;
}

int h5_read_array(const char *path, const char *name, int is_float, int rank, void **x,
                  size_t *rows, size_t *cols, const char *attr, char *attr_value, size_t attr_len,
                  char *err)
{
	hid_t f;
	hsize_t dims[2];
	void *buf = NULL;
	*x = NULL;
	if (attr)
		attr_value[0] = 0;
	int rc = h5_open_read(path, &f, err);
	if (rc)
		return rc;
	rc = h5_load(f, path, name, rank, is_float ? H5T_FLOAT : H5T_INTEGER, 0,
	             is_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32, 4, &buf, dims, err);
	if (!rc && buf && attr) {
		hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
		rc = h5_get_string(d, path, attr, attr_value, attr_len, err);
		rc = rc < 0 ? rc : ERR_OK;
		H5Dclose(d);
	}
	H5Fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	*x = buf;
	*rows = dims[0];
	*cols = dims[1];
	return ERR_OK;
}

/* ---- writing ---------------------------------------------------------------- */

/* A file being written: HDF5 handle on a temporary name next to the destination. */
typedef struct h5_out {
	const char *path;      /* destination */
	char tmp[H5_PATH_MAX]; /* temporary file, renamed to path on commit */
	hid_t f;
} h5_out;

/* Splits path into its folder (for the temporary file) and base name. */
static void h5_split(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, dirlen, ".");
		*base = path;
	} else {
		int len = slash == path ? 1 : (int)(slash - path);
		snprintf(dir, dirlen, "%.*s", len, path);
		*base = slash + 1;
	}
}

int h5_check_output(const char *path, char *err)
{
	char dir[H5_PATH_MAX];
	const char *base;
	struct stat st;
	h5_split(path, dir, sizeof dir, &base);
	if (!*base || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return err_set(err, ERR_INPUT, "%s: is a folder, expected a file name", path);
	if (stat(dir, &st) != 0)
		return err_set(err, ERR_INPUT, "%s: cannot write: folder %s: %s", path, dir,
		               strerror(errno));
	if (access(dir, W_OK | X_OK) != 0)
		return err_set(err, ERR_INPUT, "%s: cannot write: folder %s: %s", path, dir,
		               strerror(errno));
	return ERR_OK;
}

/* Creates the temporary file with the given permission bits. */
static int h5_out_begin(h5_out *o, const char *path, mode_t mode, char *err)
{
	char dir[H5_PATH_MAX];
	const char *base;
	h5_quiet();
	o->path = path;
	o->f = H5I_INVALID_HID;
	int rc = h5_check_output(path, err);
	if (rc)
		return rc;
	h5_split(path, dir, sizeof dir, &base);
	if ((size_t)snprintf(o->tmp, sizeof o->tmp, "%s/.%s.tmp-XXXXXX", dir, base) >=
	    sizeof o->tmp)
		return err_set(err, ERR_INPUT, "%s: path too long", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0)
		return err_set(err, ERR_INPUT, "%s: cannot write: %s", path, strerror(errno));
	/* mkstemp makes the file 0600; the result gets ordinary permissions */
	fchmod(fd, mode);
	close(fd);
	o->f = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	if (o->f < 0) {
		char why[H5_WHY_LEN];
		unlink(o->tmp);
		return err_set(err, ERR_FAIL, "%s: cannot create HDF5 file: %s", path, h5_why(why));
	}
	return ERR_OK;
}

/* Permission bits for a new file: 0666 less the process umask. */
static mode_t h5_new_mode(void)
{
	mode_t m = umask(0);
	umask(m);
	return 0666 & ~m;
}

static void h5_out_abort(h5_out *o)
{
	if (o->f >= 0)
		H5Fclose(o->f);
	unlink(o->tmp);
}

/* Closes, syncs and renames the temporary file over the destination. */
static int h5_out_commit(h5_out *o, char *err)
{
	char why[H5_WHY_LEN];
	int rc = ERR_OK;
	herr_t st = H5Fclose(o->f);
	o->f = H5I_INVALID_HID;
	if (st < 0)
		rc = err_set(err, ERR_FAIL, "%s: cannot finish writing: %s", o->path, h5_why(why));
	int fd = rc ? -1 : open(o->tmp, O_RDONLY);
	if (!rc && (fd < 0 || fsync(fd) != 0))
		rc = err_set(err, ERR_FAIL, "%s: cannot sync: %s", o->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (!rc && rename(o->tmp, o->path) != 0)
		rc = err_set(err, ERR_INPUT, "%s: cannot write: %s", o->path, strerror(errno));
	if (rc)
		unlink(o->tmp);
	return rc;
}

/* Scalar variable-length UTF-8 string attribute, as h5py writes a str. */
static herr_t h5_put_string(hid_t obj, const char *name, const char *val)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	hid_t sp = H5Screate(H5S_SCALAR);
	herr_t st = H5Tset_size(t, H5T_VARIABLE);
	if (st >= 0)
		st = H5Tset_cset(t, H5T_CSET_UTF8);
	if (st >= 0 && H5Aexists(obj, name) > 0)
		st = H5Adelete(obj, name);
	hid_t a = st >= 0 ? H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
	st = a >= 0 ? H5Awrite(a, t, &val) : -1;
	if (a >= 0)
		H5Aclose(a);
	H5Sclose(sp);
	H5Tclose(t);
	return st;
}

/* Scalar int64 attribute, as h5py writes a Python int. */
static herr_t h5_put_int(hid_t obj, const char *name, long long v)
{
	hid_t sp = H5Screate(H5S_SCALAR);
	hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
	herr_t st = a >= 0 ? H5Awrite(a, H5T_NATIVE_LLONG, &v) : -1;
	if (a >= 0)
		H5Aclose(a);
	H5Sclose(sp);
	return st;
}

/* A contiguous rows x cols (rank 2) or rows (cols 0: rank 1) dataset. */
static herr_t h5_put_dset(hid_t f, const char *name, hid_t ftype, hid_t mtype, const void *buf,
                          size_t rows, size_t cols)
{
	hsize_t dims[2] = {rows, cols};
	hid_t sp = H5Screate_simple(cols ? 2 : 1, dims, NULL);
	hid_t d = H5Dcreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	herr_t st = d >= 0 ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
	if (d >= 0 && H5Dclose(d) < 0)
		st = -1;
	H5Sclose(sp);
	return st;
}

/* The ground truth datasets and the `distance` attribute; returns the name of
 * what failed or NULL. */
static const char *h5_put_gt(hid_t f, const h5_dataset *ds)
{
	if (h5_put_string(f, "distance", ds->distance) < 0)
		return "distance";
	if (!ds->neighbors)
		return NULL;
	if (h5_put_dset(f, "neighbors", H5T_STD_I32LE, H5T_NATIVE_INT32, ds->neighbors, ds->nq,
	                ds->kgt) < 0)
		return "neighbors";
	if (h5_put_dset(f, "distances", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ds->distances, ds->nq,
	                ds->kgt) < 0)
		return "distances";
	return NULL;
}

/* Everything of a full dataset file; returns the name of what failed or NULL. */
static const char *h5_put_all(hid_t f, const h5_dataset *ds)
{
	if (h5_put_string(f, "type", "dense") < 0)
		return "type";
	if (h5_put_string(f, "point_type", "float") < 0)
		return "point_type";
	if (h5_put_int(f, "dimension", (long long)ds->d) < 0)
		return "dimension";
	if (h5_put_dset(f, "train", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ds->train, ds->n, ds->d) < 0)
		return "train";
	if (h5_put_dset(f, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ds->test, ds->nq, ds->d) < 0)
		return "test";
	if (ds->train_labels && h5_put_dset(f, "train_labels", H5T_STD_I32LE, H5T_NATIVE_INT32,
	                                    ds->train_labels, ds->n, 0) < 0)
		return "train_labels";
	if (ds->test_labels && h5_put_dset(f, "test_labels", H5T_STD_I32LE, H5T_NATIVE_INT32,
	                                   ds->test_labels, ds->nq, 0) < 0)
		return "test_labels";
	return h5_put_gt(f, ds);
}

/* Finishes a write whose body reported failed (a name or NULL). */
static int h5_out_end(h5_out *o, const char *failed, char *err)
{
	if (failed) {
		char why[H5_WHY_LEN];
		int rc = err_set(err, ERR_FAIL, "%s: cannot write '%s': %s", o->path, failed,
		                 h5_why(why));
		h5_out_abort(o);
		return rc;
	}
	return h5_out_commit(o, err);
}

int h5_write(const char *path, const h5_dataset *ds, char *err)
{
	h5_out o;
	int rc = h5_out_begin(&o, path, h5_new_mode(), err);
	if (rc)
		return rc;
	return h5_out_end(&o, h5_put_all(o.f, ds), err);
}

/* What h5_copy_* need while iterating the source file's root. */
typedef struct h5_copy {
	hid_t dst;
	char failed[128];        /* name of what could not be copied; empty while all went well */
	const char *const *skip; /* names of the datasets being replaced */
	size_t nskip;
} h5_copy;

/* Copies each root object except those being replaced. */
static herr_t h5_copy_link(hid_t src, const char *name, const H5L_info_t *info, void *data)
{
	h5_copy *c = data;
	for (size_t i = 0; i < c->nskip; i++)
		if (!strcmp(name, c->skip[i]))
			return 0;
	if (H5Ocopy(src, name, c->dst, name, H5P_DEFAULT, H5P_DEFAULT) < 0) {
		snprintf(c->failed, sizeof c->failed, "%s", name);
		return -1;
	}
	return 0;
}

/* Copies a root attribute in its stored type; variable-length values (strings)
 * are reclaimed after the copy. */
static herr_t h5_copy_attr(hid_t src, const char *name, const H5A_info_t *info, void *data)
{
	h5_copy *c = data;
	hid_t a = H5Aopen(src, name, H5P_DEFAULT);
	hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
	hssize_t np = H5Sget_simple_extent_npoints(sp);
	void *buf = np >= 0 ? calloc((size_t)np + 1, H5Tget_size(t)) : NULL;
	herr_t st = buf ? H5Aread(a, t, buf) : -1;
	if (st >= 0) {
		hid_t b = H5Acreate2(c->dst, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
		st = b >= 0 ? H5Awrite(b, t, buf) : -1;
		if (b >= 0)
			H5Aclose(b);
		H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf);
	}
	free(buf);
	H5Sclose(sp);
	H5Tclose(t);
	H5Aclose(a);
	if (st < 0)
		snprintf(c->failed, sizeof c->failed, "%s", name);
	return st;
}

/* Room for a rewrite of path adding about extra bytes. HDF5 (1.10) can crash
 * inside H5Ocopy when the disk fills during the copy, so a rewrite that cannot
 * fit is refused before it starts (space taken by others meanwhile can still
 * make it fail, and then the temporary file goes with the process). */
static int h5_check_room(const char *path, size_t extra, char *err)
{
	char dir[H5_PATH_MAX];
	const char *base;
	struct stat st;
	struct statvfs fs;
	h5_split(path, dir, sizeof dir, &base);
	if (stat(path, &st) != 0 || statvfs(dir, &fs) != 0)
		return ERR_OK; /* h5_open_read / h5_out_begin report these */
	double need = ((double)st.st_size + (double)extra) * 1.05,
	       room = (double)fs.f_bavail * (double)fs.f_frsize;
	if (room < need)
		return err_set(err, ERR_FAIL,
		               "%s: not enough free space in %s to rewrite it (%.0f bytes free, "
		               "%.0f needed); nothing was changed",
		               path, dir, room, need);
	return ERR_OK;
}

/* Opens path's copy-to-be: every root object but the skip names and every root
 * attribute go into a new temporary file o; c says what failed. extra: bytes the
 * caller will add. */
static int h5_rewrite_begin(const char *path, const char *const *skip, size_t nskip, size_t extra,
                            h5_out *o, h5_copy *c, char *err)
{
	hid_t src;
	struct stat st;
	int rc = h5_check_room(path, extra, err);
	if (!rc)
		rc = h5_open_read(path, &src, err);
	if (rc)
		return rc;
	rc = h5_out_begin(o, path, stat(path, &st) == 0 ? st.st_mode & 07777 : h5_new_mode(), err);
	if (rc) {
		H5Fclose(src);
		return rc;
	}
	*c = (h5_copy){.dst = o->f, .skip = skip, .nskip = nskip};
	H5Literate(src, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, h5_copy_link, c);
	if (!c->failed[0])
		H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, h5_copy_attr, c);
	H5Fclose(src);
	return ERR_OK;
}

int h5_write_groundtruth(const char *path, const h5_dataset *ds, char *err)
{
	static const char *const skip[] = {"neighbors", "distances"};
	h5_out o;
	h5_copy c;
	int rc = h5_rewrite_begin(path, skip, 2, ds->nq * ds->kgt * 8, &o, &c, err);
	if (rc)
		return rc;
	return h5_out_end(&o, c.failed[0] ? c.failed : h5_put_gt(o.f, ds), err);
}

/* The arrays of h5_put_arrays into f; returns the name of what failed or NULL. */
static const char *h5_put_list(hid_t f, const h5_array *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (h5_put_dset(f, a[i].name, a[i].is_float ? H5T_IEEE_F32LE : H5T_STD_I32LE,
		                a[i].is_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32, a[i].data,
		                a[i].rows, a[i].cols) < 0)
			return a[i].name;
		if (!a[i].attr)
			continue;
		hid_t d = H5Dopen2(f, a[i].name, H5P_DEFAULT);
		herr_t st = d >= 0 ? h5_put_string(d, a[i].attr, a[i].attr_value) : -1;
		if (d >= 0)
			H5Dclose(d);
		if (st < 0)
			return a[i].attr;
	}
	return NULL;
}

int h5_put_arrays(const char *path, const h5_array *a, size_t n, char *err)
{
	const char *skip[n ? n : 1];
	size_t extra = 0;
	for (size_t i = 0; i < n; i++) {
		skip[i] = a[i].name;
		extra += a[i].rows * (a[i].cols ? a[i].cols : 1) * 4;
	}
	h5_out o;
	h5_copy c;
	int rc = h5_rewrite_begin(path, skip, n, extra, &o, &c, err);
	if (rc)
		return rc;
	return h5_out_end(&o, c.failed[0] ? c.failed : h5_put_list(o.f, a, n), err);
}

int h5_write_matrix(const char *path, const char *name, const float *x, size_t n, size_t d,
                    const char *distance, char *err)
{
	h5_out o;
	int rc = h5_out_begin(&o, path, h5_new_mode(), err);
	if (rc)
		return rc;
	const char *failed = NULL;
	if (h5_put_dset(o.f, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, x, n, d) < 0) {
		failed = name;
	} else if (distance) {
		hid_t m = H5Dopen2(o.f, name, H5P_DEFAULT);
		if (h5_put_string(m, "distance", distance) < 0)
			failed = "distance";
		H5Dclose(m);
	}
	return h5_out_end(&o, failed, err);
}

const char *h5_version(void)
{
	static char v[32];
	unsigned maj, min, rel;
	H5get_libversion(&maj, &min, &rel);
	snprintf(v, sizeof v, "%u.%u.%u", maj, min, rel);
	return v;
}

void h5_free(h5_dataset *ds)
{
	if (!ds)
		return;
	free(ds->train);
	free(ds->test);
	free(ds->neighbors);
	free(ds->distances);
	free(ds->train_labels);
	free(ds->test_labels);
	memset(ds, 0, sizeof *ds);
}

/*
 * h5ds.h - ann-benchmarks HDF5 datasets: read, validate, write.
 *
 * Layout (the one the field uses): datasets `train` (n x d float32), `test`
 * (nq x d float32), `neighbors` (nq x kgt int32, 0-based train rows), `distances`
 * (nq x kgt float32, ascending); root attributes `distance` ("euclidean" |
 * "angular"), `point_type` ("float"), `dimension` (d). Unknown datasets are
 * ignored on read. Optional `train_labels` / `test_labels` (int32) are read and
 * written when present.
 *
 * Writes go to a temporary file in the destination folder, renamed over the
 * destination only on success: a failed write leaves nothing behind.
 * All memory in an h5_dataset is owned by it and freed by h5_free.
 */
#ifndef IVFKIT_H5DS_H
#define IVFKIT_H5DS_H

#include <stddef.h>
#include <stdint.h>

typedef struct h5_dataset {
	char distance[16];     /* "euclidean" or "angular" */
	size_t d;              /* dimension */
	size_t n;              /* train rows */
	float *train;          /* n * d, NULL when read with H5_NO_TRAIN */
	size_t nq;             /* test rows */
	float *test;           /* nq * d */
	size_t kgt;            /* ground-truth depth; 0 when the file has none */
	int32_t *neighbors;    /* nq * kgt or NULL */
	float *distances;      /* nq * kgt or NULL */
	int32_t *train_labels; /* n or NULL */
	int32_t *test_labels;  /* nq or NULL */
} h5_dataset;

enum {
	H5_NEED_GT = 1 << 0,  /* fail (ERR_INPUT) when neighbors/distances are absent */
	H5_NO_TRAIN = 1 << 1, /* skip reading train (its shape is still read) */
	H5_LAX_GT = 1 << 2,   /* load neighbors/distances without the id range and
	                       * finite checks, so that `vecdata info` can report them
	                       * as failed checks and `vecdata groundtruth` replace them */
};

/* Reads and validates path: file exists and is HDF5, train/test present,
 * 2-D float (float64 is converted to float32), same dimension, finite values,
 * neighbor ids in [0, n), `distance` euclidean or angular. On error
 * returns ERR_INPUT (or ERR_NOMEM) with a message naming the file and the
 * problem; ds is left zeroed. */
int h5_read(const char *path, unsigned flags, h5_dataset *ds, char *err);

/* Writes ds to path atomically (temp file + rename); the ground truth and label
 * datasets are written when non-NULL. */
int h5_write(const char *path, const h5_dataset *ds, char *err);

/* Replaces only the neighbors/distances of an existing file (used by
 * `vecdata groundtruth`) and sets its `distance` attribute to ds->distance,
 * atomically, keeping every other dataset and attribute. */
int h5_write_groundtruth(const char *path, const h5_dataset *ds, char *err);

/* An optional named int32 (is_float 0) or float32 array of the given rank (1 or
 * 2; *cols = 1 for rank 1), read as stored, without range or finite checks (the
 * caller checks: a filtered ground truth pads with -1 and +inf). *x stays NULL
 * when the file has no such dataset. attr (may be NULL): a string attribute of
 * the dataset into attr_value ("" when absent). ERR_INPUT on a wrong rank or
 * value class, naming path and name. */
int h5_read_array(const char *path, const char *name, int is_float, int rank, void **x,
                  size_t *rows, size_t *cols, const char *attr, char *attr_value,
                  size_t attr_len, char *err);

/* A named array for h5_put_arrays: int32 or float32, rank 1 (cols 0) or 2, with
 * an optional string attribute on it (attr NULL: none). */
typedef struct h5_array {
	const char *name;
	int is_float;
	const void *data;
	size_t rows, cols;
	const char *attr, *attr_value;
} h5_array;

/* Adds or replaces the n arrays in the existing file path, atomically, keeping
 * every other dataset and attribute (`vecdata tags`, filtered ground truth). */
int h5_put_arrays(const char *path, const h5_array *a, size_t n, char *err);

/* One named 2-D float32 matrix, e.g. k-means centroids ("centroids", k x d) with
 * a `distance` attribute. Read allocates *x (caller frees). */
int h5_read_matrix(const char *path, const char *name, float **x, size_t *n, size_t *d,
                   char *distance, size_t distance_len, char *err);
int h5_write_matrix(const char *path, const char *name, const float *x, size_t n, size_t d,
                    const char *distance, char *err);

/* Checks early, before long work, that path can be written: its folder exists
 * and is writable and path is not a folder. ERR_INPUT naming path otherwise. */
int h5_check_output(const char *path, char *err);

/* The HDF5 library version, e.g. "1.10.8" (for result files). */
const char *h5_version(void);

/* Frees everything ds owns and zeroes it; NULL-safe. */
void h5_free(h5_dataset *ds);

#endif

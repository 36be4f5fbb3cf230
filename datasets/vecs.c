/*
 * vecs.c - fvecs / ivecs / bvecs reader (see vecs.h).
 *
 * Records are streamed into one growing buffer that holds only the values (the
 * per-record dimension fields are checked and dropped), so the result is the
 * row-major n x d matrix. Values are read as stored: this assumes a
 * little-endian host, which the build asserts.
 */
#include "vecs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dist.h"
#include "dsio.h"
#include "err.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "vecs files are little-endian and are read in place");

#define VECS_MAX_DIM (1 << 20) /* far above any real descriptor; stops garbage headers */
#define VECS_FIRST_BYTES ((size_t)1 << 20) /* first buffer for a gzip file of unknown size */

static const struct {
	const char *ext;
	size_t elem; /* bytes per value */
} vecs_formats[] = {
    [VECS_FVECS] = {".fvecs", 4},
    [VECS_IVECS] = {".ivecs", 4},
    [VECS_BVECS] = {".bvecs", 1},
};

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

int vecs_kind_of(const char *path, vecs_kind *kind, char *err)
{
	size_t len = strlen(path);
	if (ends_with(path, len, ".gz"))
		len -= 3;
	for (size_t k = 0; k < sizeof vecs_formats / sizeof *vecs_formats; k++)
		if (ends_with(path, len, vecs_formats[k].ext)) {
			*kind = (vecs_kind)k;
			return ERR_OK;
		}
	return err_set(err, ERR_INPUT,
	               "%s: unknown vector file type (expected .fvecs, .ivecs or .bvecs)", path);
}

/* Reads every record of an open file with elem-byte values into *raw (n * d
 * values, caller frees). file_bytes, when nonzero, is the size of an
 * uncompressed file: with the first record's dimension it gives the record
 * count, so the buffer is allocated once at its final size instead of doubling
 * (which peaked at twice the data, three times with the copy of a realloc). */
static int vecs_read_records(gzFile f, const char *path, size_t elem, size_t file_bytes,
                             void **raw, size_t *n, size_t *d, char *err)
{
	char *buf = NULL;
	size_t cap = 0, rows = 0, dim = 0, got;
	int rc;
	for (;;) {
		int32_t rd;
		if ((rc = dsio_read(f, path, &rd, sizeof rd, &got, err)))
			goto fail;
		if (got == 0)
			break;
		if (got < sizeof rd) {
			rc = err_set(
			    err, ERR_INPUT,
			    "%s: truncated record %zu (%zu of 4 bytes of its dimension field)",
			    path, rows, got);
			goto fail;
		}
		if (rd <= 0 || rd > VECS_MAX_DIM) {
			rc = err_set(err, ERR_INPUT, "%s: record %zu has dimension %d", path, rows,
			             rd);
			goto fail;
		}
		if (rows == 0) {
			dim = (size_t)rd;
		} else if ((size_t)rd != dim) {
			rc = err_set(err, ERR_INPUT,
			             "%s: record %zu has dimension %d, the records before it %zu "
			             "(dimension changes mid-file)",
			             path, rows, rd, dim);
			goto fail;
		}
		size_t rbytes = dim * elem;
		/* the first record's claim is held against the file before any buffer
		 * is sized by it; a gzip stream's buffer grows with what arrives */
		if (rows == 0 && file_bytes && file_bytes - sizeof rd < rbytes) {
			rc = err_set(err, ERR_INPUT,
			             "%s: truncated record 0 (%zu of %zu value bytes)", path,
			             file_bytes - sizeof rd, rbytes);
			goto fail;
		}
		if (rows == cap) {
			size_t ncap = cap ? 2 * cap : (VECS_FIRST_BYTES + rbytes - 1) / rbytes;
			if (!cap && file_bytes)
				ncap = file_bytes / (sizeof rd + rbytes) + 1;
			char *nb = realloc(buf, ncap * rbytes);
			if (!nb) {
				rc = err_set(err, ERR_NOMEM, "%s: out of memory for %zu records",
				             path, ncap);
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		if ((rc = dsio_read(f, path, buf + rows * rbytes, rbytes, &got, err)))
			goto fail;
		if (got < rbytes) {
			rc = err_set(err, ERR_INPUT,
			             "%s: truncated record %zu (%zu of %zu value bytes)", path,
			             rows, got, rbytes);
			goto fail;
		}
		rows++;
	}
	if (rows == 0) {
		rc = err_set(err, ERR_INPUT, "%s: empty file (no records)", path);
		goto fail;
	}
	*raw = buf;
	*n = rows;
	*d = dim;
	return ERR_OK;
fail:
	free(buf);
	return rc;
}

/* Opens path and reads its records as the given kind. */
static int vecs_load(const char *path, vecs_kind kind, void **raw, size_t *n, size_t *d, char *err)
{
	gzFile f;
	struct stat st;
	int rc = dsio_open(path, &f, err);
	if (rc)
		return rc;
	size_t file_bytes = gzdirect(f) && stat(path, &st) == 0 ? (size_t)st.st_size : 0;
	rc = vecs_read_records(f, path, vecs_formats[kind].elem, file_bytes, raw, n, d, err);
	gzclose(f);
	return rc;
}

int vecs_read_float(const char *path, float **x, size_t *n, size_t *d, char *err)
{
	vecs_kind kind;
	void *raw;
	size_t rows, dim;
	int rc = vecs_kind_of(path, &kind, err);
	if (!rc && kind == VECS_IVECS)
		rc = err_set(err, ERR_INPUT,
		             "%s: ivecs holds integer ids, expected vectors (.fvecs or .bvecs)",
		             path);
	if (!rc)
		rc = vecs_load(path, kind, &raw, &rows, &dim, err);
	if (rc)
		return rc;
	float *out = raw;
	if (kind == VECS_BVECS) {
		out = malloc(rows * dim * sizeof *out);
		if (!out) {
			free(raw);
			return err_set(err, ERR_NOMEM, "%s: out of memory for %zu x %zu floats",
			               path, rows, dim);
		}
		const unsigned char *b = raw;
		for (size_t i = 0; i < rows * dim; i++)
			out[i] = b[i];
		free(raw);
	}
	size_t bad = dist_first_nonfinite(out, rows, dim);
	if (bad < rows * dim) {
		rc = err_set(err, ERR_INPUT, "%s: record %zu value %zu is %s", path, bad / dim,
		             bad % dim, dsio_nonfinite_name(out[bad]));
		free(out);
		return rc;
	}
	*x = out;
	*n = rows;
	*d = dim;
	return ERR_OK;
}

int vecs_read_int(const char *path, int32_t **x, size_t *n, size_t *d, char *err)
{
	vecs_kind kind;
	int rc = vecs_kind_of(path, &kind, err);
	if (!rc && kind != VECS_IVECS)
		rc = err_set(err, ERR_INPUT, "%s: expected an .ivecs file of integer ids", path);
	if (rc)
		return rc;
	void *raw;
	rc = vecs_load(path, VECS_IVECS, &raw, n, d, err);
	if (!rc)
		*x = raw;
	return rc;
}

/*
 * idx.c - IDX reader (see idx.h).
 *
 * Format: 2 zero bytes, a type byte (0x08 = unsigned byte, the only one MNIST
 * and Fashion-MNIST use), the number of dimensions, then one big-endian uint32
 * per dimension, then the values row-major. Any other type, a wrong number of
 * dimensions, short data or trailing bytes are ERR_INPUT naming the file.
 */
#include "idx.h"

#include <stdlib.h>

#include "dsio.h"
#include "err.h"

#define IDX_TYPE_U8 0x08
#define IDX_MAX_ITEMS (1u << 31)        /* rows beyond int32 ids are not a dataset we serve */
#define IDX_MAX_BYTES ((size_t)1 << 40) /* a payload this large is a damaged header */

static int idx_truncated(const char *path, size_t got, size_t total, char *err)
{
	return err_set(err, ERR_INPUT, "%s: truncated: %zu of %zu data bytes present", path, got,
	               total);
}

/* Reads the header and the raw u8 payload of an IDX file with ndims dimensions;
 * dims gets the sizes, *raw the payload (caller frees). */
static int idx_read_u8(const char *path, gzFile f, int ndims, uint32_t *dims, unsigned char **raw,
                       size_t *len, char *err)
{
	unsigned char hdr[4 + 4 * 3];
	size_t hlen = 4 + 4 * (size_t)ndims, got;
	int rc = dsio_read(f, path, hdr, hlen, &got, err);
	if (rc)
		return rc;
	if (got == 0)
		return err_set(err, ERR_INPUT, "%s: empty file", path);
	if (got < 4)
		return err_set(err, ERR_INPUT, "%s: truncated IDX header", path);
	if (hdr[0] || hdr[1])
		return err_set(err, ERR_INPUT, "%s: not an IDX file (bad magic number)", path);
	if (hdr[2] != IDX_TYPE_U8)
		return err_set(err, ERR_INPUT,
		               "%s: IDX value type 0x%02x, expected 0x08 (unsigned byte)", path,
		               hdr[2]);
	if (hdr[3] != ndims)
		return err_set(err, ERR_INPUT, "%s: IDX file has %d dimensions, expected %d (%s)",
		               path, hdr[3], ndims, ndims == 3 ? "images" : "labels");
	if (got < hlen)
		return err_set(err, ERR_INPUT, "%s: truncated IDX header", path);
	size_t total = 1;
	for (int i = 0; i < ndims; i++) {
		const unsigned char *b = hdr + 4 + 4 * i;
		dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		if (dims[i] == 0 || dims[i] >= IDX_MAX_ITEMS)
			return err_set(err, ERR_INPUT, "%s: IDX dimension %d is %u", path, i,
			               dims[i]);
	}
	for (int i = 0; i < ndims; i++) {
		/* checked before multiplying: three dimensions below 2^31 can wrap */
		if (total >= IDX_MAX_BYTES / dims[i])
			return err_set(err, ERR_INPUT,
			               "%s: IDX payload of %u x %u x %u bytes is implausible", path,
			               dims[0], ndims > 1 ? dims[1] : 1, ndims > 2 ? dims[2] : 1);
		total *= dims[i];
	}
	int plain;
	size_t most = dsio_bytes_left_max(f, path, &plain);
	if (total > most && plain)
		return idx_truncated(path, most, total, err);
	if (total > most)
		return err_set(err, ERR_INPUT,
		               "%s: header claims %zu data bytes, more than this gzip file can "
		               "inflate to (%zu at most)",
		               path, total, most);
	unsigned char *buf = malloc(total + 1);
	if (!buf)
		return err_set(err, ERR_NOMEM, "%s: out of memory for %zu bytes", path, total);
	/* one byte more than needed: getting it means trailing garbage */
	rc = dsio_read(f, path, buf, total + 1, &got, err);
	if (!rc && got < total)
		rc = idx_truncated(path, got, total, err);
	else if (!rc && got > total)
		rc = err_set(err, ERR_INPUT, "%s: unexpected bytes after the %zu data bytes", path,
		             total);
	if (rc) {
		free(buf);
		return rc;
	}
	*raw = buf;
	*len = total;
	return ERR_OK;
}

/* Opens path and reads an ndims-dimensional u8 IDX file. */
static int idx_load(const char *path, int ndims, uint32_t *dims, unsigned char **raw, size_t *len,
                    char *err)
{
	gzFile f;
	int rc = dsio_open(path, &f, err);
	if (rc)
		return rc;
	rc = idx_read_u8(path, f, ndims, dims, raw, len, err);
	gzclose(f);
	return rc;
}

int idx_read_images(const char *path, float **x, size_t *n, size_t *d, char *err)
{
	uint32_t dims[3];
	unsigned char *raw;
	size_t len;
	int rc = idx_load(path, 3, dims, &raw, &len, err);
	if (rc)
		return rc;
	float *out = malloc(len * sizeof *out);
	if (!out) {
		free(raw);
		return err_set(err, ERR_NOMEM, "%s: out of memory for %zu floats", path, len);
	}
	for (size_t i = 0; i < len; i++)
		out[i] = raw[i];
	free(raw);
	*x = out;
	*n = dims[0];
	*d = (size_t)dims[1] * dims[2];
	return ERR_OK;
}

int idx_read_labels(const char *path, int32_t **y, size_t *n, char *err)
{
	uint32_t dims[1];
	unsigned char *raw;
	size_t len;
	int rc = idx_load(path, 1, dims, &raw, &len, err);
	if (rc)
		return rc;
	int32_t *out = malloc(len * sizeof *out);
	if (!out) {
		free(raw);
		return err_set(err, ERR_NOMEM, "%s: out of memory for %zu labels", path, len);
	}
	for (size_t i = 0; i < len; i++)
		out[i] = raw[i];
	free(raw);
	*y = out;
	*n = len;
	return ERR_OK;
}

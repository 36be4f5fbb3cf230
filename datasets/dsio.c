/*
 * dsio.c - shared input helpers of the dataset readers (see dsio.h).
 */
#include "dsio.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

int dsio_open(const char *path, gzFile *f, char *err)
{
	errno = 0;
	*f = gzopen(path, "rb");
	if (!*f)
		return err_set(err, ERR_INPUT, "%s: cannot open: %s", path,
		               errno ? strerror(errno) : "out of memory");
	return ERR_OK;
}

int dsio_read(gzFile f, const char *path, void *buf, size_t len, size_t *got, char *err)
{
	char *p = buf;
	*got = 0;
	while (*got < len) {
		/* gzread takes an unsigned count and returns an int: go in chunks */
		size_t want = len - *got < (1u << 30) ? len - *got : (1u << 30);
		errno = 0;
		int r = gzread(f, p + *got, (unsigned)want);
		if (r < 0) {
			int zerr;
			const char *msg = gzerror(f, &zerr);
			return err_set(err, ERR_INPUT, "%s: cannot read: %s", path,
			               zerr == Z_ERRNO ? strerror(errno) : msg);
		}
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return ERR_OK;
}

const char *dsio_nonfinite_name(float v)
{
	return isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

int dsio_check_not_input(const char *out, const char *input, char *err)
{
	struct stat so, si;
	if (!input || stat(out, &so) != 0 || stat(input, &si) != 0)
		return ERR_OK;
	if (so.st_dev == si.st_dev && so.st_ino == si.st_ino)
		return err_set(err, ERR_INPUT,
		               "%s: output is the input %s (the same file): writing it would "
		               "destroy the input; choose another output path",
		               out, input);
	return ERR_OK;
}

#define DSIO_MAX_INFLATE 1032 /* deflate's largest compression ratio */

size_t dsio_bytes_left_max(gzFile f, const char *path, int *plain)
{
	struct stat st;
	*plain = gzdirect(f);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return SIZE_MAX; /* a pipe or a device: only the read can tell */
	size_t size = (size_t)st.st_size, pos = (size_t)gztell(f);
	if (*plain)
		return size > pos ? size - pos : 0;
	return size <= SIZE_MAX / DSIO_MAX_INFLATE ? size * DSIO_MAX_INFLATE : SIZE_MAX;
}

/*
 * dsio.h - small input helpers shared by the dataset readers (IDX, fvecs, HDF5).
 *
 * Input files are opened through zlib's gzopen, which reads gzip-compressed and
 * plain files alike, so every reader accepts both. Every error message starts
 * with the file's path, as the CLIs print it verbatim after "vecdata: error: ".
 */
#ifndef IVFKIT_DSIO_H
#define IVFKIT_DSIO_H

#include <stddef.h>
#include <zlib.h>

/* Opens path for reading (plain or gzip). ERR_INPUT "path: cannot open: ..." when
 * it is missing or unreadable. */
int dsio_open(const char *path, gzFile *f, char *err);

/* Reads up to len bytes; *got says how many arrived (fewer only at end of file).
 * ERR_INPUT when the data cannot be read (damaged gzip stream, a folder, ...). */
int dsio_read(gzFile f, const char *path, void *buf, size_t len, size_t *got, char *err);

/* ERR_INPUT when out names the same file as input (same device and inode, so a
 * symlink, a hard link or another spelling of the path is caught): writing the
 * output would replace the input. 0 when they differ or out does not exist. */
int dsio_check_not_input(const char *out, const char *input, char *err);

/* An upper bound of the bytes still to come from f (opened on path, its header
 * read): the rest of a plain file (*plain set), or what a gzip file of that size
 * can inflate to (deflate's ratio is at most about 1032:1); SIZE_MAX when path
 * is not a regular file. A header that claims more is refused before anything
 * is allocated for it. */
size_t dsio_bytes_left_max(gzFile f, const char *path, int *plain);

/* "NaN", "+Inf" or "-Inf" for a non-finite value (message text). */
const char *dsio_nonfinite_name(float v);

#endif

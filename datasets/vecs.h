/*
 * vecs.h - fvecs / ivecs / bvecs files (the TEXMEX SIFT and GIST format).
 *
 * Each record is a little-endian int32 dimension d followed by d values: float32
 * (fvecs), int32 (ivecs) or uint8 (bvecs). Every record must have the same d.
 * Files may be gzip-compressed (read through zlib). A truncated record, a record
 * whose dimension differs from the first one's, an empty file and (for fvecs) a
 * NaN or infinite value are ERR_INPUT naming the file and the record.
 * Outputs are allocated by the reader and owned by the caller.
 */
#ifndef IVFKIT_VECS_H
#define IVFKIT_VECS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { VECS_FVECS, VECS_IVECS, VECS_BVECS } vecs_kind;

/* The kind named by path's extension (.fvecs, .ivecs, .bvecs, each optionally
 * followed by .gz); ERR_INPUT when it is none of them. */
int vecs_kind_of(const char *path, vecs_kind *kind, char *err);

/* Reads an fvecs or bvecs file (by extension) as n x d float32 (*x, size n * d). */
int vecs_read_float(const char *path, float **x, size_t *n, size_t *d, char *err);

/* Reads an ivecs file as n x d int32 (*x, size n * d). */
int vecs_read_int(const char *path, int32_t **x, size_t *n, size_t *d, char *err);

#endif

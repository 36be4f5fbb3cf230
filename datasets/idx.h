/*
 * idx.h - IDX files (MNIST / Fashion-MNIST format), plain or gzip-compressed.
 *
 * Images (magic 0x00000803, u8, n x rows x cols) become n x (rows*cols) float32
 * rows with the raw 0..255 pixel values, as ann-benchmarks' fashion-mnist file
 * has them; labels (magic 0x00000801, u8) become int32. Truncated or malformed
 * files are ERR_INPUT naming the file and what is wrong.
 */
#ifndef IVFKIT_IDX_H
#define IVFKIT_IDX_H

#include <stddef.h>
#include <stdint.h>

/* *x allocated, n * d floats (caller frees). */
int idx_read_images(const char *path, float **x, size_t *n, size_t *d, char *err);
/* *y allocated, n int32 (caller frees). */
int idx_read_labels(const char *path, int32_t **y, size_t *n, char *err);

#endif

/*
 * quant.h - sqlite-vec's IVF quantizers and its choice of a quantized row's
 * centroid, reproduced exactly, for writers and checkers of quantized tables.
 *
 * Read from sqlite-vec-ivf.c (v0.1.10-alpha.1 and alpha.3 hold the same file):
 * int8 clamps each value to [-1, 1] and stores (int8_t)(v * 127) (truncation);
 * binary sets bit i (byte i / 8, LSB first) when v > 0. vec0 quantizes a row
 * and compares it with each stored centroid blob: int8 by l2 over the int8
 * values (summed in float32, then the square root), binary by hamming
 * distance, whatever the table's distance_metric; the first centroid (in
 * centroid_id order) with the strictly smallest distance wins. quant_nearest
 * picks the same centroid for every row, ties and float32 round-off included,
 * so a row written by ivfkit sits where vec0's own insert would put it.
 * Public API: quant_of, quant_size, quant_encode, quant_decode, quant_nearest.
 */
#ifndef IVFKIT_QUANT_H
#define IVFKIT_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "vtab_parse.h"

typedef enum { QUANT_NONE = 0, QUANT_INT8 = 1, QUANT_BINARY = 2 } quant_kind;

/* The quantizer of t's IVF column (an unknown name counts as none). */
quant_kind quant_of(const vtab *t);

/* Bytes of one stored vector of d dimensions: d x 4 (none), d (int8), d / 8. */
size_t quant_size(quant_kind q, size_t d);

/* n rows of x (n x d floats) quantized into out (n x quant_size bytes) as vec0
 * stores them; QUANT_NONE copies the floats. */
void quant_encode(quant_kind q, const float *x, size_t n, size_t d, unsigned char *out);

/* n stored vectors back to floats that quant_encode turns into the same bytes
 * again (int8 values sit half a step from zero, past truncation's cut). */
void quant_decode(quant_kind q, const unsigned char *in, size_t n, size_t d, float *x);

/* For each of n quantized rows xq, the index (0..k-1) of the centroid among the
 * k quantized centroids cq (in centroid_id order) that vec0's insert chooses.
 * q is QUANT_INT8 or QUANT_BINARY. Parallel over rows. 0, or ERR_NOMEM. */
int quant_nearest(quant_kind q, const unsigned char *xq, size_t n, const unsigned char *cq,
                  size_t k, size_t d, int32_t *near, char *err);

#endif

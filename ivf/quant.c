/*
 * quant.c - sqlite-vec's IVF quantizers and quantized centroid choice (see
 * quant.h).
 *
 * vec0's int8 distance (l2_sqr_int8) sums the squared differences in float32
 * in dimension order and returns the float32 of their square root. Summed
 * exactly in integers instead, the result is the same while every partial sum
 * stays below 2^24 (all integers, all representable); above that float32
 * rounds, and the sum is replayed the way vec0 adds it. A centroid whose exact
 * sum exceeds the smallest by more than that round-off (and the square root's)
 * can bound cannot reach vec0's minimum or tie with it, so only the few near
 * the minimum are evaluated as vec0 does, in order, strict < as in vec0.
 */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define QUANT_EXACT_MAX 16777216.0 /* 2^24: float32 integer sums are exact up to here */

quant_kind quant_of(const vtab *t)
{
	return !strcmp(t->quantizer, "int8")     ? QUANT_INT8
	       : !strcmp(t->quantizer, "binary") ? QUANT_BINARY
	                                         : QUANT_NONE;
}

size_t quant_size(quant_kind q, size_t d)
{
	return q == QUANT_INT8 ? d : q == QUANT_BINARY ? d / 8 : d * sizeof(float);
}

void quant_encode(quant_kind q, const float *x, size_t n, size_t d, unsigned char *out)
{
	size_t qs = quant_size(q, d);
	for (size_t i = 0; i < n; i++) {
		const float *v = x + i * d;
		unsigned char *o = out + i * qs;
		if (q == QUANT_NONE) {
			memcpy(o, v, qs);
		} else if (q == QUANT_INT8) {
			for (size_t j = 0; j < d; j++) {
				float f = v[j] > 1.0f ? 1.0f : v[j] < -1.0f ? -1.0f : v[j];
				int8_t s = (int8_t)(f * 127.0f);
				memcpy(o + j, &s, 1);
			}
		} else {
			memset(o, 0, qs);
			for (size_t j = 0; j < d; j++)
				if (v[j] > 0.0f)
					o[j / 8] |= (unsigned char)(1u << (j % 8));
		}
	}
}

void quant_decode(quant_kind q, const unsigned char *in, size_t n, size_t d, float *x)
{
	size_t qs = quant_size(q, d);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *b = in + i * qs;
		float *v = x + i * d;
		if (q == QUANT_NONE) {
			memcpy(v, b, qs);
			continue;
		}
		for (size_t j = 0; j < d; j++) {
			if (q == QUANT_BINARY) {
				v[j] = b[j / 8] >> (j % 8) & 1 ? 1.0f : -1.0f;
			} else {
				int8_t s;
				memcpy(&s, b + j, 1);
				v[j] = s ? ((float)s + (s > 0 ? 0.5f : -0.5f)) / 127.0f : 0.0f;
			}
		}
	}
}

/* The exact integer sum of squared differences of two int8 vectors. */
static int64_t l2_exact(const int8_t *restrict a, const int8_t *restrict b, size_t d)
{
	int64_t s = 0;
	int32_t part = 0;
	size_t j = 0;
	/* 32,768 terms of at most 255^2 stay inside int32 */
	while (j < d) {
		size_t end = d - j > 32768 ? j + 32768 : d;
		part = 0;
#pragma omp simd reduction(+ : part)
		for (size_t i = j; i < end; i++) {
			int32_t t = (int32_t)a[i] - (int32_t)b[i];
			part += t * t;
		}
		s += part;
		j = end;
	}
	return s;
}

/* vec0's float32 distance for a pair whose exact sum is exact. */
static float l2_vec0(const int8_t *a, const int8_t *b, size_t d, int64_t exact)
{
	float res = 0;
	if ((double)exact <= QUANT_EXACT_MAX) {
		res = (float)exact;
	} else {
		for (size_t i = 0; i < d; i++) {
			float t = (float)(a[i] - b[i]);
			res += t * t;
		}
	}
	return (float)sqrt(res);
}

static int64_t hamming(const unsigned char *a, const unsigned char *b, size_t nbytes)
{
	int64_t s = 0;
	size_t i = 0;
	for (; i + 8 <= nbytes; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		s += __builtin_popcountll(x ^ y);
	}
	for (; i < nbytes; i++)
		s += __builtin_popcount((unsigned)(a[i] ^ b[i]));
	return s;
}

/* vec0's choice for one int8 row; ex is scratch for k sums. */
static int32_t nearest_int8(const int8_t *x, const int8_t *c, size_t k, size_t d, int64_t *ex)
{
	int64_t lo = INT64_MAX;
	for (size_t j = 0; j < k; j++) {
		ex[j] = l2_exact(x, c + j * d, d);
		if (ex[j] < lo)
			lo = ex[j];
	}
	/* float32 sums of d terms are within d x 2^-24 relative of exact, the square
	 * root rounds once more: past this margin no centroid can tie with the best */
	double cut = (double)lo * (1.0 + (4.0 * (double)d + 16.0) / QUANT_EXACT_MAX);
	float best = FLT_MAX;
	int32_t at = 0;
	for (size_t j = 0; j < k; j++) {
		if ((double)ex[j] > cut)
			continue;
		float v = l2_vec0(x, c + j * d, d, ex[j]);
		if (v < best) {
			best = v;
			at = (int32_t)j;
		}
	}
	return at;
}

static int32_t nearest_binary(const unsigned char *x, const unsigned char *c, size_t k,
                              size_t nbytes)
{
	int64_t best = INT64_MAX;
	int32_t at = 0;
	for (size_t j = 0; j < k; j++) {
		int64_t h = hamming(x, c + j * nbytes, nbytes);
		if (h < best) {
			best = h;
			at = (int32_t)j;
		}
	}
	return at;
}

int quant_nearest(quant_kind q, const unsigned char *xq, size_t n, const unsigned char *cq,
                  size_t k, size_t d, int32_t *near, char *err)
{
	size_t qs = quant_size(q, d);
	int fail = 0;
#pragma omp parallel if (n * k * qs > 1000000) reduction(| : fail)
	{
		int64_t *ex = q == QUANT_INT8 ? malloc(k * sizeof *ex) : NULL;
		fail = q == QUANT_INT8 && !ex;
#pragma omp for schedule(static)
		for (size_t i = 0; i < n; i++) {
			if (fail)
				continue;
			near[i] = q == QUANT_INT8 ? nearest_int8((const int8_t *)(xq + i * qs),
			                                         (const int8_t *)cq, k, d, ex)
			                          : nearest_binary(xq + i * qs, cq, k, qs);
		}
		free(ex);
	}
	return fail ? err_set(err, ERR_NOMEM, "out of memory for %zu centroid distances", k) : 0;
}

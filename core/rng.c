/*
 * rng.c - xoshiro256** generator and sampling (see rng.h).
 */
#include "rng.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void rng_seed(rng_t *r, uint64_t seed)
{
	/* splitmix64 spreads any seed, 0 included, over the whole state */
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		r->s[i] = z ^ (z >> 31);
	}
}

uint64_t rng_next(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return out;
}

uint64_t rng_below(rng_t *r, uint64_t n)
{
	assert(n > 0);
	/* rejection of the short top range keeps every value equally likely */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}

double rng_uniform(rng_t *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

double rng_normal(rng_t *r)
{
	double u1 = rng_uniform(r), u2 = rng_uniform(r);
	return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

void rng_sample(rng_t *r, uint64_t n, uint64_t m, uint64_t *out)
{
	assert(m <= n);
	/* Knuth's algorithm S: keep index i with probability (needed / left) */
	uint64_t got = 0;
	for (uint64_t i = 0; i < n && got < m; i++)
		if (rng_below(r, n - i) < m - got)
			out[got++] = i;
	assert(got == m);
}

float *rng_sample_rows(uint64_t seed, const float *x, size_t n, size_t d, size_t m)
{
	uint64_t *pick = malloc(m * sizeof *pick);
	float *out = malloc(m * d * sizeof *out);
	if (!pick || !out) {
		free(pick);
		free(out);
		return NULL;
	}
	rng_t g;
	rng_seed(&g, seed);
	rng_sample(&g, n, m, pick);
	for (size_t i = 0; i < m; i++)
		memcpy(out + i * d, x + pick[i] * d, d * sizeof *out);
	free(pick);
	return out;
}

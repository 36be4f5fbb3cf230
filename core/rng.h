/*
 * rng.h - seeded pseudo-random numbers (xoshiro256**, seeded through splitmix64).
 *
 * The same seed gives the same stream on every machine: sampling and k-means
 * initialisation are reproducible from the seed alone.
 */
#ifndef IVFKIT_RNG_H
#define IVFKIT_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The seed of every seeded step (sampling, k-means initialisation, the rows a
 * write verifies) unless the user gives one. */
#define RNG_DEFAULT_SEED 1234

typedef struct rng {
	uint64_t s[4];
} rng_t;

void rng_seed(rng_t *r, uint64_t seed);
uint64_t rng_next(rng_t *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Uniform double in [0, 1). */
double rng_uniform(rng_t *r);
/* Standard normal (Box-Muller). */
double rng_normal(rng_t *r);
/* m distinct indices of [0, n), uniformly without replacement, written to out in
 * ascending order (selection sampling: O(n) time, no extra memory); m <= n. */
void rng_sample(rng_t *r, uint64_t n, uint64_t m, uint64_t *out);
/* A new m x d matrix (caller frees) of m rows of x (n x d) drawn as rng_sample
 * draws them from a generator seeded with seed, in row order; NULL when out of
 * memory. m <= n. */
float *rng_sample_rows(uint64_t seed, const float *x, size_t n, size_t d, size_t m);

#endif

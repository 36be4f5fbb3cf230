/*
 * synth.c - clustered synthetic datasets from a seed (see synth.h).
 *
 * Each row has its own generator, seeded from (seed, split, row), so rows are
 * made in parallel without the result depending on the thread count.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rng.h"

enum { SYNTH_CENTRES = 0, SYNTH_TRAIN = 1, SYNTH_TEST = 2 }; /* streams of one seed */

void synth_defaults(synth_params *p)
{
	p->n = 1000000;
	p->nq = 1000;
	p->d = 384;
	p->clusters = 4096;
	p->spread = 1.0;
	p->metric = GT_ANGULAR;
	p->seed = RNG_DEFAULT_SEED;
}

/* The generator of one row of one stream. */
static void synth_rng(rng_t *r, uint64_t seed, int stream, size_t row)
{
	rng_seed(r, seed ^ ((uint64_t)stream << 56) ^ (row * 0x9e3779b97f4a7c15ull));
}

static void synth_normalize(float *x, size_t d)
{
	double s = 0;
	for (size_t j = 0; j < d; j++)
		s += (double)x[j] * x[j];
	float inv = s > 0 ? (float)(1 / sqrt(s)) : 0;
	for (size_t j = 0; j < d; j++)
		x[j] *= inv;
}

/* m rows of stream into x: a centre of c (k x d) plus noise; labels get the centre. */
static void synth_rows(const synth_params *p, const float *c, int stream, size_t m, float *x,
                       int32_t *labels)
{
	/* noise per coordinate so that its expected norm is spread (centres are unit) */
	const float sigma = (float)(p->spread / sqrt((double)p->d));
#pragma omp parallel for schedule(static) if (m * p->d > 65536)
	for (size_t i = 0; i < m; i++) {
		rng_t r;
		synth_rng(&r, p->seed, stream, i);
		size_t k = rng_below(&r, p->clusters);
		float *row = x + i * p->d;
		for (size_t j = 0; j < p->d; j++)
			row[j] = c[k * p->d + j] + sigma * (float)rng_normal(&r);
		if (p->metric == GT_ANGULAR)
			synth_normalize(row, p->d);
		labels[i] = (int32_t)k;
	}
}

int synth_make(const synth_params *p, h5_dataset *ds, char *err)
{
	memset(ds, 0, sizeof *ds);
	if (!p->n || !p->nq || !p->d || !p->clusters)
		return err_set(err, ERR_INPUT,
		               "synthetic data needs n, queries, d and clusters > 0");
	if (!isfinite(p->spread) || p->spread < 0)
		return err_set(err, ERR_INPUT, "spread %g: must be finite and >= 0", p->spread);
	if (p->n > (size_t)INT32_MAX || p->clusters > (size_t)INT32_MAX)
		return err_set(err, ERR_INPUT, "%zu rows do not fit int32 neighbor ids", p->n);
	float *c = malloc(p->clusters * p->d * sizeof *c);
	ds->train = malloc(p->n * p->d * sizeof *ds->train);
	ds->test = malloc(p->nq * p->d * sizeof *ds->test);
	ds->train_labels = malloc(p->n * sizeof *ds->train_labels);
	ds->test_labels = malloc(p->nq * sizeof *ds->test_labels);
	if (!c || !ds->train || !ds->test || !ds->train_labels || !ds->test_labels) {
		free(c);
		h5_free(ds);
		return err_set(err, ERR_NOMEM, "out of memory for %zu x %zu synthetic rows", p->n,
		               p->d);
	}
	for (size_t k = 0; k < p->clusters; k++) {
		rng_t r;
		synth_rng(&r, p->seed, SYNTH_CENTRES, k);
		for (size_t j = 0; j < p->d; j++)
			c[k * p->d + j] = (float)rng_normal(&r);
		synth_normalize(c + k * p->d, p->d);
	}
	synth_rows(p, c, SYNTH_TRAIN, p->n, ds->train, ds->train_labels);
	synth_rows(p, c, SYNTH_TEST, p->nq, ds->test, ds->test_labels);
	free(c);
	ds->n = p->n;
	ds->nq = p->nq;
	ds->d = p->d;
	snprintf(ds->distance, sizeof ds->distance, "%s", gt_metric_name(p->metric));
	return ERR_OK;
}

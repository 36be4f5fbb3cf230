/*
 * synth.h - clustered synthetic datasets, made from a seed: the recipe behind the
 * scale benchmarks (1,000,000 x 384 unit vectors, say), which are too large to commit.
 *
 * The model: `clusters` centres drawn uniformly on the unit sphere; each train and
 * test row picks a centre uniformly, adds isotropic Gaussian noise whose expected
 * norm is `spread` times the centre's, and (for angular data) is normalised. Test
 * rows come from the same mixture, so queries fall where the data is. Row i of a
 * split depends only on (seed, split, i): the output is the same for every thread
 * count, and a larger n extends a smaller one.
 */
#ifndef IVFKIT_SYNTH_H
#define IVFKIT_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "groundtruth.h"
#include "h5ds.h"

typedef struct synth_params {
	size_t n;         /* train rows (default 1,000,000) */
	size_t nq;        /* test rows (default 1,000) */
	size_t d;         /* dimension (default 384, a common sentence-embedding size) */
	size_t clusters;  /* mixture components (default 4096, four per IVF list at nlist 1024) */
	double spread;    /* noise norm / centre norm (default 1.0: clusters overlap, so IVF
	                     recall grows with nprobe; at the defaults faiss IVF nlist 1024 on
	                     these rows gets recall@10 0.944 / 0.956 / 0.970 at nprobe 8 / 16 / 32,
	                     close to real 384-d embeddings) */
	gt_metric metric; /* GT_ANGULAR (default: unit rows) or GT_EUCLIDEAN (raw) */
	uint64_t seed;    /* default RNG_DEFAULT_SEED */
} synth_params;

void synth_defaults(synth_params *p);

/* Fills ds->train (n x d), ds->test (nq x d), d and distance; labels are the rows'
 * cluster ids. ERR_INPUT for zero sizes or a spread that is not finite and >= 0,
 * ERR_NOMEM; ds is left zeroed on error. The ground truth is the caller's. */
int synth_make(const synth_params *p, h5_dataset *ds, char *err);

#endif

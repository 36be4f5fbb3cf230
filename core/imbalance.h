/*
 * imbalance.h - the imbalance factor of a partition into k clusters (k-means'
 * clusters, an IVF index's cells): sum(size^2) * k / n^2, n = sum(size).
 *
 * 1.0 is perfectly balanced, k is every row in one cluster. It is what an IVF
 * query pays over a balanced index at the same nprobe, so k-means reports it
 * per iteration and the write reports it for the committed index, from the
 * same function. Public API: imb_factor.
 */
#ifndef IVFKIT_IMBALANCE_H
#define IVFKIT_IMBALANCE_H

#include <stddef.h>

/* The factor of the k sizes in size; 0 when they sum to 0. */
double imb_factor(const size_t *size, size_t k);

#endif

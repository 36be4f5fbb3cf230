/*
 * imbalance.c - the imbalance factor of a partition (see imbalance.h).
 */
#include "imbalance.h"

double imb_factor(const size_t *size, size_t k)
{
	double n = 0, sq = 0; /* doubles: n^2 overflows 64 bits past 4e9 rows */
	for (size_t j = 0; j < k; j++) {
		n += (double)size[j];
		sq += (double)size[j] * (double)size[j];
	}
	return n > 0 ? sq * (double)k / (n * n) : 0;
}

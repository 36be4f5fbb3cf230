/*
 * constraint.h - whether a vec0 table's KNN query honours the constraints a
 * caller may add to it: `key IN (...)` and `distance > x`.
 *
 * vec0's flat tables apply both; its IVF path (every release so far) ignores
 * them and answers as if they were absent (DESIGN.md), so a caller that filters
 * this way on an IVF table gets wrong rows, silently. ivfkit never relies on
 * either constraint; vecbench records what each table does.
 * Public API: vcon_probe.
 */
#ifndef IVFKIT_CONSTRAINT_H
#define IVFKIT_CONSTRAINT_H

#include <sqlite3.h>

#include "vtab.h"

typedef struct vcon_result {
	int key_in;      /* 1: `key IN (a, b)` returned exactly rows a and b */
	int distance_gt; /* 1: `distance > x` returned rows, all farther than x */
} vcon_result;

/* Probes t with query vector q (t->d floats): from an unconstrained k = 40
 * answer, a and b are its 31st and 36th rows (outside the top 10) and x its 6th
 * distance; each constrained k = 10 query is then checked. ERR_INPUT when t has
 * fewer than 40 rows, ERR_FAIL on an SQLite error. */
int vcon_probe(sqlite3 *db, const vtab *t, const float *q, vcon_result *res, char *err);

#endif

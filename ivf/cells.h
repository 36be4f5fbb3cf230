/*
 * cells.h - an IVF table's index as plain arrays, read-only: every live row with
 * the centroid of its cell, for tools that rebuild the same index elsewhere
 * (faiss sidecars; the centroids: bulk_read_centroids).
 *
 * Float cells only (quantizer none): quantized cells hold no float vectors.
 * Rows come from the cells' live slots (validity bits), so the copy is the index
 * as vec0 searches it, unassigned (-1) cells included as centroid -1.
 */
#ifndef IVFKIT_CELLS_H
#define IVFKIT_CELLS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "vtab.h"

/* Every live row of an IVF table's cells, in cell order. Owned: cells_free. */
typedef struct cells_rows {
	size_t n, d;
	int64_t *rowid;    /* n */
	int64_t *centroid; /* n: its cell's centroid_id */
	float *x;          /* n x d */
} cells_rows;

/* Every live row of t's cells into rows (which the call fills; on error it
 * holds nothing). */
int cells_read(sqlite3 *db, const vtab *t, cells_rows *rows, char *err);

/* NULL-safe; zeroes rows. */
void cells_free(cells_rows *rows);

#endif

/*
 * check.h - the audit of a vec0 IVF index against every invariant of a
 * well-formed one, read-only, over the whole index (not a sample).
 *
 * What is checked (DESIGN.md, "vec0 IVF storage"): the trained flag is 1; the
 * centroids are ids 0..k-1 of the stored vector size; every cell belongs to an
 * existing centroid, none is unassigned (-1), its blobs are full size and its
 * n_vectors equals its live bits; every live row has exactly one slot and one
 * rowid-map row that points at that slot; no two map rows share a slot (what
 * sqlite-vec's insert after a delete does); the index holds exactly the table's
 * rows; each row sits in its nearest centroid's cell (distances by k-means' GEMM
 * kernel; l2 and cosine tables with float cells); and, given the hashes of the
 * rows as a writer read them, each row's vector bytes are unchanged. A writer
 * that also gives each row's assigned centroid (computed by the same kernel)
 * has each row checked against it instead of the distances being computed again.
 * Cells with holes (live slots other than 0..n-1, left by deletes) are counted
 * but are no fault: they are where sqlite-vec's next insert overwrites a row.
 *
 * Quantized (int8, binary) tables: every live row must also have its float32
 * copy in _ivf_vectors, its cell vector must be that copy quantized, no copy
 * may belong to a row outside the index, and its centroid must be the one
 * vec0's own insert chooses (quantized comparison, quant.h: exact, no
 * tolerance). A row's hash is that of its float32 copy.
 *
 * Memory: about 72 bytes per row (its slot, a copy by position, its map row),
 * plus one cell and one batch of vectors at a time.
 */
#ifndef IVFKIT_CHECK_H
#define IVFKIT_CHECK_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "vtab.h"

#define CHECK_CELL 64    /* slots per cell: sqlite-vec's VEC0_IVF_CELL_MAX_VECTORS */
#define CHECK_EXAMPLES 3 /* rows or cells named per kind of problem */

/* Each row's vector bytes as a 64-bit hash, keyed by rowid, and the centroid a
 * writer assigned it to (-1: none). */
typedef struct check_row {
	int64_t rowid;
	uint64_t hash;
	int64_t centroid;
} check_row;

typedef struct check_rows {
	check_row *v;
	size_t n, cap;
} check_rows;

/* Appends rowid with the hash of its len vector bytes, centroid -1; ERR_NOMEM
 * (err filled). */
int check_rows_add(check_rows *r, int64_t rowid, const void *vec, size_t len, char *err);
/* Frees what r holds and zeroes it; NULL-safe. */
void check_rows_free(check_rows *r);

typedef enum {
	CHECK_TRAINED,       /* trained flag is not 1 */
	CHECK_CENTROIDS,     /* centroid ids not 0..k-1, or a blob of the wrong size */
	CHECK_CELL_CENTROID, /* a cell of a centroid that does not exist */
	CHECK_CELL_BLOBS,    /* a cell whose blobs are not full size */
	CHECK_COUNT,         /* n_vectors differs from the live bits */
	CHECK_UNASSIGNED,    /* a row in an unassigned (-1) cell */
	CHECK_DUP_ROW,       /* a row live in more than one slot */
	CHECK_NO_MAP,        /* a live slot without a rowid-map row */
	CHECK_MAP_MISMATCH,  /* a map row that does not point at its row's slot */
	CHECK_SAME_SLOT,     /* two map rows on one slot */
	CHECK_NOT_IN_INDEX,  /* a table row the index does not hold */
	CHECK_NOT_IN_TABLE,  /* an index row the table does not have */
	CHECK_VECTOR,        /* vector bytes differ from the source's */
	CHECK_MISPLACED,     /* not in the nearest centroid's cell */
	CHECK_FULL,          /* quantized: no float32 copy of the right size */
	CHECK_QUANT,         /* quantized: cell vector is not the copy quantized */
	CHECK_FULL_EXTRA,    /* quantized: a float32 copy of a row not in the index */
	CHECK_NKINDS
} check_kind;

typedef struct check_problem {
	int64_t count;
	int nex;
	char ex[CHECK_EXAMPLES][80]; /* the first ones, e.g. "rowid 10" */
} check_problem;

typedef struct check_report {
	int64_t rows;   /* rows of the table (its _rowids table) */
	int64_t mapped; /* rowid-map rows */
	int64_t live;   /* live slots over all cells */
	int64_t cells, centroids;
	int64_t holes;               /* cells with holes left by deletes */
	int64_t nearest_checked;     /* rows whose nearest centroid was computed */
	const char *nearest_skipped; /* why not, or NULL */
	int64_t problems;            /* sum of the counts below */
	check_problem p[CHECK_NKINDS];
} check_report;

/* Audits t's index into r. expect (may be NULL) are the rows' hashes as a
 * writer read them (sorted here); when every one names a centroid, those are
 * checked instead of recomputing the nearest ones. Returns 0 when the audit ran, whatever it
 * found (r->problems), or a negative code (err filled) when it could not read. */
int check_index(sqlite3 *db, const vtab *t, check_rows *expect, check_report *r, prog_t *prog,
                char *err);

/* One line for kind i of r: "rowid-map rows sharing one slot: 2 (first: ...)". */
void check_line(const check_report *r, int i, char *buf, size_t len);

/* The first problem found as one line into err (for a failed verification);
 * returns 0 when r has none, else ERR_FAIL. */
int check_verdict(const check_report *r, const vtab *t, char *err);

#endif

/*
 * bulk.h - the bulk IVF writer: dense, assigned cells written straight into
 * vec0's shadow tables, inside the caller's write transaction.
 *
 * Used only on a layout bulk_layout has recognized: the shadow tables' exact
 * schemas and a vec0 release in the tested list (sqlite-vec keeps these tables
 * private; DESIGN.md, "vec0 IVF storage", lists what they hold). The caller
 * sets the k centroids through vec0's own set-centroid first, so that this
 * connection's vec0 sees the table as trained. bulk_assign then streams every
 * live row out of the existing cells in cell order, assigns a batch at a time
 * with k-means' GEMM kernel (km_assign), appends each row to its centroid's open
 * 64-slot cell (or takes the centroid from a plan made before the lock:
 * bulk_plan_make), inserts a cell once it is full (the rest at the end) with its
 * rowid-map rows, and deletes each source cell as soon as its rows are read, so
 * the new cells reuse its pages. Memory: at most k open cells plus one batch,
 * whatever the table's size. The base tables (rowids, chunks, auxiliary
 * columns) are not touched: every row keeps its rowid, key and columns.
 *
 * Quantized (int8, binary) tables: a row's vector comes from its float32 copy
 * in _ivf_vectors (the cells hold only the quantized one, and vec0's point
 * read returns that), its cell gets it quantized as vec0 quantizes, and it
 * goes to the centroid vec0's own insert would choose: the row and the stored
 * centroids compared quantized (quant.h). The caller stores the quantized
 * centroids over set-centroid's float32 ones (bulk_store_centroids). A load
 * writes each row's _ivf_vectors copy too.
 *
 * Every statement checks its result and that the transaction is still open
 * (SQLite rolls back by itself on a full disk); the first failure stops the
 * write and is returned: the caller rolls back.
 */
#ifndef IVFKIT_BULK_H
#define IVFKIT_BULK_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "progress.h"
#include "vtab.h"

/* Each row's centroid, worked out before the write lock is taken (bulk_plan),
 * in the order bulk_assign will read the rows. rowid[i] is checked against the
 * row read: any difference and the rest is assigned under the lock as usual.
 * A load's plan (bulk_plan_rows) has no rowids: its rows are given, by index. */
typedef struct bulk_plan {
	int64_t *rowid;
	int32_t *cid;
	size_t n, used;  /* rows planned; rows whose centroid came from the plan */
	double read_s;   /* reading the cells for the plan (outside the lock) */
	double assign_s; /* its nearest centroids (outside the lock) */
	int64_t version; /* the caller's: PRAGMA data_version before the plan was made */
} bulk_plan;

typedef struct bulk_stats {
	double read_s;         /* reading the source cells */
	double assign_s;       /* nearest centroids (km_assign) */
	double write_s;        /* inserting cells and map rows, deleting source cells */
	int64_t rows;          /* rows written */
	int64_t cells_read;    /* source cells consumed (and deleted) */
	int64_t cells_written; /* cells inserted */
} bulk_stats;

/* 1 when t's layout is one the bulk writer knows, 0 when not (why gets one line
 * saying what differs), negative (err filled) when it cannot be read. */
int bulk_layout(sqlite3 *db, const vtab *t, char *why, size_t len, char *err);

/* 1 when schema object name's CREATE statement is exactly want, 0 if not (why
 * says it is missing or different), negative (err filled) when unreadable. */
int bulk_same_sql(sqlite3 *db, const char *name, const char *want, char *why, size_t len,
                  char *err);

/* Runs write statement st to completion and resets it; ERR_FAIL naming what
 * failed, also when SQLite ended the transaction by itself (a full disk). */
int bulk_run_stmt(sqlite3 *db, sqlite3_stmt *st, const char *what, const vtab *t, char *err);

/* Deletes every centroid of t, ahead of set-centroid x k: what clear-centroids
 * does without moving every row back to unassigned cells first. */
int bulk_drop_centroids(sqlite3 *db, const vtab *t, char *err);

/* Quantized tables: overwrites the k float32 centroids set-centroid stored with
 * c quantized (k x d), the blobs vec0's inserts and queries compare with; none
 * tables: nothing to do. */
int bulk_store_centroids(sqlite3 *db, const vtab *t, const float *c, size_t k, char *err);

/* Rewrites every cell of t as described above, for the k centroids c (k x d,
 * as set). rows (the table's row count) sizes the progress bar; batch is the
 * rows read per step. src (may be NULL) receives each row's hash as read from
 * its source cell, for check_index to compare with what was written; the
 * caller frees it with check_rows_free. */
int bulk_assign(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch, int64_t rows,
                check_rows *src, bulk_plan *plan, bulk_stats *s, prog_t *prog, char *err);

/* Reads every cell of t without writing and fills p with each row's nearest of
 * the k centroids c: the GEMM of a bulk write, done before BEGIN IMMEDIATE so
 * the write lock is not held for it. The caller must make sure no other
 * connection changed the table between this and its write (PRAGMA
 * data_version), else pass no plan. bulk_plan_free releases p. */
int bulk_plan_make(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch, int64_t rows,
                   bulk_plan *p, prog_t *prog, char *err);
/* The same for a load's rows x (n x d), which need no read: p->cid[i] is row
 * i's centroid, p->rowid NULL. */
int bulk_plan_rows(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch,
                   const float *x, size_t n, bulk_plan *p, prog_t *prog, char *err);
void bulk_plan_free(bulk_plan *p);

/* The same writer fed from rows in memory instead of the table's cells, for a
 * load into an empty table: rows x (n x d) get rowids rowid[0..n-1] (unique,
 * any order) and are assigned and written as above (the base tables are the
 * caller's), except the rowid map: kept in memory (9 bytes a row) and written
 * in rowid order after the last cell: rows leave in cell order, and inserts
 * scattered over the map's b-tree cost a page read and write each once it
 * outgrows the page cache (1,000,000 x 384 rows, nlist 1024, the same run: the
 * cell write took 12.1 and 10.3 s with them, 9.1 and 7.4 s in rowid order).
 * Rowids given out of order are sorted first (bulk_rowid_order); ascending
 * ones, the usual case, cost one pass. src (may be NULL) receives each row's
 * hash as given; plan (may be NULL) is bulk_plan_rows' for these rows. */
int bulk_load(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch, const float *x,
              size_t n, const int64_t *rowid, check_rows *src, bulk_plan *plan, bulk_stats *s,
              prog_t *prog, char *err);

/* The indexes of rowid[0..n-1] in ascending rowid order (allocated: caller
 * frees); *order NULL when they already ascend. */
int bulk_rowid_order(const int64_t *rowid, size_t n, size_t **order, char *err);

/* The k centroids t holds now (k x d floats, allocated: caller frees), for a
 * repack; ERR_INPUT when there are none or they are not ids 0..k-1 of the
 * stored size. Quantized centroids come back as floats that quantize to the
 * same bytes (quant_decode). */
int bulk_read_centroids(sqlite3 *db, const vtab *t, float **c, size_t *k, char *err);

#endif

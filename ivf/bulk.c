/*
 * bulk.c - the bulk IVF writer (see bulk.h).
 *
 * Cells are written the way sqlite-vec's own compute-centroids writes them:
 * one INSERT of the whole 64-slot cell (validity bits LSB first, 64 native
 * int64 rowids, 64 vectors, zero-padded to full size, since sqlite-vec's later
 * inserts write into them at fixed offsets), then one rowid-map row per slot,
 * slots dense from 0. Source cells are read by rowid ranges below the largest
 * cell id there was at the start, so cells written meanwhile (always above it
 * while a source cell remains) are never read back.
 */
#include "bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "intr.h"
#include "kmeans.h"
#include "quant.h"
#include "sql.h"
#include "timing.h"

#define BULK_CELL CHECK_CELL /* sqlite-vec's VEC0_IVF_CELL_MAX_VECTORS */
#define BULK_VALIDITY (BULK_CELL / 8)

/* Releases whose shadow layout the writer was tested against (their
 * sqlite-vec-ivf.c is the same file). */
static const char *const tested[] = {"v0.1.10-alpha.1", "v0.1.10-alpha.3", NULL};

/* ---- the layout --------------------------------------------------------------- */

/* The CREATE statement sqlite_master must hold for object name, with %w for
 * the table name and %02d for the column index, as sqlite-vec writes it. */
typedef struct shadow_sql {
	const char *name, *sql;
} shadow_sql;

static const shadow_sql layout[] = {
    {"%s_info", "CREATE TABLE \"%w_info\" (key text primary key, value any)"},
    {"%s_ivf_centroids%02d", "CREATE TABLE \"%w_ivf_centroids%02d\" (centroid_id INTEGER "
                             "PRIMARY KEY, centroid BLOB NOT NULL)"},
    {"%s_ivf_cells%02d",
     "CREATE TABLE \"%w_ivf_cells%02d\" (centroid_id INTEGER NOT NULL,  n_vectors INTEGER "
     "NOT NULL DEFAULT 0,  validity BLOB NOT NULL,  rowids BLOB NOT NULL,  vectors BLOB NOT "
     "NULL)"},
    {"%s_ivf_cells%02d_centroid",
     "CREATE INDEX \"%w_ivf_cells%02d_centroid\" ON \"%w_ivf_cells%02d\" (centroid_id)"},
    {"%s_ivf_rowid_map%02d", "CREATE TABLE \"%w_ivf_rowid_map%02d\" (rowid INTEGER PRIMARY "
                             "KEY, cell_id INTEGER NOT NULL, slot INTEGER NOT NULL)"},
};

/* The full float32 copies a quantized column keeps beside its cells. */
static const shadow_sql layout_full = {
    "%s_ivf_vectors%02d",
    "CREATE TABLE \"%w_ivf_vectors%02d\" (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)"};

int bulk_same_sql(sqlite3 *db, const char *name, const char *want, char *why, size_t len, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(
	    db, sqlite3_mprintf("SELECT sql FROM sqlite_master WHERE name = %Q", name), &st, err);
	if (rc < 0)
		return rc;
	int s = sqlite3_step(st);
	const char *got = s == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	int same = got && !strcmp(got, want);
	if (!same)
		snprintf(why, len, "%s %s", name,
		         got ? "has a schema it does not know" : "is missing");
	sqlite3_finalize(st);
	return same;
}

static int version_tested(sqlite3 *db, char *why, size_t len)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;
	const char *v = "unknown";
	if (sqlite3_prepare_v2(db, "SELECT vec_version()", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = (const char *)sqlite3_column_text(st, 0);
	for (int i = 0; tested[i]; i++)
		ok |= !strcmp(v, tested[i]);
	if (!ok)
		snprintf(why, len, "vec0 %s is not a release its layout was tested on", v);
	sqlite3_finalize(st);
	return ok;
}

int bulk_layout(sqlite3 *db, const vtab *t, char *why, size_t len, char *err)
{
	quant_kind q = quant_of(t);
	/* quantized cells are compared by int8 l2 or hamming whatever the metric */
	if (t->metric == VTAB_L1 && q == QUANT_NONE) {
		snprintf(why, len, "sqlite-vec assigns l1 tables by l1 distance, not by l2");
		return 0;
	}
	if (q == QUANT_NONE && strcmp(t->quantizer, "none") != 0) {
		snprintf(why, len, "table %s has a quantizer it does not know (%s)", t->name,
		         t->quantizer);
		return 0;
	}
	if (!version_tested(db, why, len))
		return 0;
	int rc = 1;
	size_t n = sizeof layout / sizeof *layout;
	for (size_t i = 0; i < n + (q != QUANT_NONE) && rc == 1; i++) {
		const shadow_sql *l = i < n ? &layout[i] : &layout_full;
		char *name = sqlite3_mprintf(l->name, t->name, t->vec_index);
		char *sql = sqlite3_mprintf(l->sql, t->name, t->vec_index, t->name, t->vec_index);
		rc = name && sql ? bulk_same_sql(db, name, sql, why, len, err)
		                 : err_set(err, ERR_NOMEM, "out of memory");
		sqlite3_free(name);
		sqlite3_free(sql);
	}
	return rc;
}

/* ---- statements ------------------------------------------------------------------ */

/* Steps st once: SQLITE_ROW or SQLITE_DONE, or ERR_FAIL naming what failed.
 * SQLite ends the transaction by itself on some errors (a full disk, an I/O
 * error), after which later statements would each commit on their own: a
 * statement that finds the transaction gone fails too. */
static int step(sqlite3 *db, sqlite3_stmt *st, const char *what, const vtab *t, char *err)
{
	int r = sqlite3_step(st);
	if ((r == SQLITE_ROW || r == SQLITE_DONE) && !sqlite3_get_autocommit(db))
		return r;
	return err_set(err, ERR_FAIL, "%s of %s failed: %s", what, t->name,
	               r == SQLITE_ROW || r == SQLITE_DONE ? "the transaction was rolled back"
	                                                   : sqlite3_errmsg(db));
}

int bulk_run_stmt(sqlite3 *db, sqlite3_stmt *st, const char *what, const vtab *t, char *err)
{
	int r = step(db, st, what, t, err);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : r < 0 ? r : err_set(err, ERR_FAIL, "%s returned rows", what);
}

static int exec_once(sqlite3 *db, char *sql, const char *what, const vtab *t, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(db, sql, &st, err);
	if (!rc)
		rc = bulk_run_stmt(db, st, what, t, err);
	sqlite3_finalize(st);
	return rc;
}

int bulk_drop_centroids(sqlite3 *db, const vtab *t, char *err)
{
	return exec_once(db, sqlite3_mprintf("DELETE FROM %z", vtab_ivf_shadow(t, "centroids")),
	                 "deleting the old centroids", t, err);
}

int bulk_store_centroids(sqlite3 *db, const vtab *t, const float *c, size_t k, char *err)
{
	quant_kind q = quant_of(t);
	size_t qs = quant_size(q, t->d);
	sqlite3_stmt *st = NULL;
	unsigned char *buf = malloc(qs);
	int rc = buf ? 0 : err_set(err, ERR_NOMEM, "out of memory");
	if (!rc && q != QUANT_NONE)
		rc = sql_prepare(
		    db,
		    sqlite3_mprintf("UPDATE %z SET centroid = ?2 WHERE centroid_id = ?1",
		                    vtab_ivf_shadow(t, "centroids")),
		    &st, err);
	for (size_t i = 0; !rc && q != QUANT_NONE && i < k; i++) {
		quant_encode(q, c + i * t->d, 1, t->d, buf);
		sqlite3_bind_int64(st, 1, (int64_t)i);
		sqlite3_bind_blob(st, 2, buf, (int)qs, SQLITE_STATIC);
		rc = bulk_run_stmt(db, st, "storing a quantized centroid", t, err);
		if (!rc && sqlite3_changes(db) != 1)
			rc = err_set(err, ERR_FAIL, "centroid %zu of %s was not set", i, t->name);
	}
	sqlite3_finalize(st);
	free(buf);
	return rc;
}

/* ---- the writer ------------------------------------------------------------------ */

/* A centroid's cell being filled. */
typedef struct open_cell {
	int n;
	unsigned char validity[BULK_VALIDITY];
	int64_t rowids[BULK_CELL];
	size_t at[BULK_CELL];   /* a load: each slot's row, by its index in the rows */
	unsigned char *vectors; /* BULK_CELL x vs, allocated on the first row */
} open_cell;

typedef struct bulk {
	sqlite3 *db;
	const vtab *t;
	size_t d, k;
	size_t vs;         /* bytes of a vector in a cell: float32 or quantized */
	size_t fs;         /* bytes of a float32 vector */
	quant_kind q;      /* the column's quantizer */
	const float *c;    /* centroids to assign with: unit norm on cosine tables */
	unsigned char *cq; /* quantized tables: the centroids as stored (k x vs) */
	sqlite3_stmt *sel, *del, *cell, *map;
	sqlite3_stmt *full, *full_ins; /* quantized: a row's float32 copy read, written */
	open_cell *open;               /* k */
	/* one batch of rows read */
	size_t batch, m;
	float *x;
	unsigned char *xq; /* quantized tables: the batch's rows quantized */
	int64_t *ids;
	int32_t *near;
	int64_t *srcs; /* the source cells they came from */
	size_t nsrc;
	check_rows *hashes;
	bulk_plan *plan; /* centroids worked out before the lock, or NULL */
	size_t seen;     /* rows read before this batch */
	int unlocked;    /* reading for a plan, outside any transaction */
	/* rows to load instead of the cells' (bulk_load): n x d with their rowids */
	const float *from;
	size_t nfrom, next, first; /* rows; the next to take; the batch's first */
	const int64_t *rowid;
	size_t *order;           /* the rows in rowid order, NULL when they are in it */
	int64_t *map_cell;       /* a load's rowid map, by row: written in rowid */
	unsigned char *map_slot; /* order once every cell is in (see bulk_load) */
	float *unit;             /* the centroids normalised, on cosine tables */
	bulk_stats *s;
	char *err;
} bulk;

static int prepare(bulk *b)
{
	const vtab *t = b->t;
	int rc = sql_prepare(b->db,
	                     sqlite3_mprintf("SELECT rowid, validity, rowids, vectors FROM %z "
	                                     "WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid",
	                                     vtab_ivf_shadow(t, "cells")),
	                     &b->sel, b->err);
	if (!rc)
		rc = sql_prepare(
		    b->db,
		    sqlite3_mprintf("DELETE FROM %z WHERE rowid = ?1", vtab_ivf_shadow(t, "cells")),
		    &b->del, b->err);
	if (!rc)
		rc =
		    sql_prepare(b->db,
		                sqlite3_mprintf("INSERT INTO %z (centroid_id, n_vectors, validity, "
		                                "rowids, vectors) VALUES (?1, ?2, ?3, ?4, ?5)",
		                                vtab_ivf_shadow(t, "cells")),
		                &b->cell, b->err);
	if (!rc)
		rc =
		    sql_prepare(b->db,
		                sqlite3_mprintf("INSERT INTO %z (rowid, cell_id, slot) VALUES (?1, "
		                                "?2, ?3)",
		                                vtab_ivf_shadow(t, "rowid_map")),
		                &b->map, b->err);
	if (!rc && b->q != QUANT_NONE)
		rc = sql_prepare(b->db,
		                 sqlite3_mprintf("SELECT vector FROM %z WHERE rowid = ?1",
		                                 vtab_ivf_shadow(t, "vectors")),
		                 &b->full, b->err);
	if (!rc && b->q != QUANT_NONE && b->from)
		rc = sql_prepare(b->db,
		                 sqlite3_mprintf("INSERT INTO %z (rowid, vector) VALUES (?1, ?2)",
		                                 vtab_ivf_shadow(t, "vectors")),
		                 &b->full_ins, b->err);
	return rc;
}

/* Inserts centroid cid's open cell and its map rows, then empties it. */
static int flush(bulk *b, size_t cid)
{
	open_cell *o = &b->open[cid];
	int rc = 0;
	sqlite3_bind_int64(b->cell, 1, (int64_t)cid);
	sqlite3_bind_int(b->cell, 2, o->n);
	sqlite3_bind_blob(b->cell, 3, o->validity, BULK_VALIDITY, SQLITE_STATIC);
	sqlite3_bind_blob(b->cell, 4, o->rowids, BULK_CELL * 8, SQLITE_STATIC);
	sqlite3_bind_blob64(b->cell, 5, o->vectors, (uint64_t)BULK_CELL * b->vs, SQLITE_STATIC);
	if ((rc = bulk_run_stmt(b->db, b->cell, "inserting a cell", b->t, b->err)) < 0)
		return rc;
	int64_t cell = sqlite3_last_insert_rowid(b->db);
	for (int s = 0; b->map_cell && s < o->n; s++) {
		b->map_cell[o->at[s]] = cell;
		b->map_slot[o->at[s]] = (unsigned char)s;
	}
	for (int s = 0; !b->map_cell && s < o->n && !rc; s++) {
		sqlite3_bind_int64(b->map, 1, o->rowids[s]);
		sqlite3_bind_int64(b->map, 2, cell);
		sqlite3_bind_int(b->map, 3, s);
		rc = bulk_run_stmt(b->db, b->map, "writing the rowid map", b->t, b->err);
	}
	b->s->cells_written++;
	o->n = 0;
	memset(o->validity, 0, sizeof o->validity);
	memset(o->rowids, 0, sizeof o->rowids);
	memset(o->vectors, 0, BULK_CELL * b->vs);
	return rc;
}

/* One row of a read: under the write lock the transaction must still be open. */
static int read_step(bulk *b, sqlite3_stmt *st, const char *what)
{
	if (!b->unlocked)
		return step(b->db, st, what, b->t, b->err);
	int r = sqlite3_step(st);
	return r == SQLITE_ROW || r == SQLITE_DONE
	           ? r
	           : err_set(b->err, ERR_FAIL, "%s of %s failed: %s", what, b->t->name,
	                     sqlite3_errmsg(b->db));
}

/* A quantized row's float32 copy, the one its cells cannot give back. */
static int read_full(bulk *b, int64_t rowid, float *x)
{
	sqlite3_bind_int64(b->full, 1, rowid);
	int r = read_step(b, b->full, "reading a full-precision copy");
	int rc = r < 0 ? r : 0;
	if (!rc && (r != SQLITE_ROW || (size_t)sqlite3_column_bytes(b->full, 0) != b->fs))
		rc = err_set(b->err, ERR_FAIL,
		             "table %s, rowid %lld: no %zu-byte float32 copy in its _ivf_vectors "
		             "table (see `ivftrain --check`)",
		             b->t->name, (long long)rowid, b->fs);
	if (!rc)
		memcpy(x, sqlite3_column_blob(b->full, 0), b->fs);
	sqlite3_reset(b->full);
	return rc;
}

/* Copies the live rows of the cell st is on into the batch. */
static int take_cell(bulk *b, sqlite3_stmt *st)
{
	int64_t cell = sqlite3_column_int64(st, 0);
	const unsigned char *val = sqlite3_column_blob(st, 1);
	const unsigned char *rids = sqlite3_column_blob(st, 2);
	const unsigned char *vecs = sqlite3_column_blob(st, 3);
	if (sqlite3_column_bytes(st, 1) != BULK_VALIDITY ||
	    sqlite3_column_bytes(st, 2) != BULK_CELL * 8 ||
	    (size_t)sqlite3_column_bytes(st, 3) != BULK_CELL * b->vs)
		return err_set(b->err, ERR_FAIL,
		               "cell %lld of %s has blobs of %d/%d/%d bytes, not the %d/%d/%zu "
		               "every cell has",
		               (long long)cell, b->t->name, sqlite3_column_bytes(st, 1),
		               sqlite3_column_bytes(st, 2), sqlite3_column_bytes(st, 3),
		               BULK_VALIDITY, BULK_CELL * 8, BULK_CELL * b->vs);
	for (int s = 0; s < BULK_CELL; s++) {
		if (!(val[s / 8] >> (s % 8) & 1))
			continue;
		memcpy(&b->ids[b->m], rids + (size_t)s * 8, 8);
		int rc = b->q == QUANT_NONE
		             ? (memcpy(b->x + b->m * b->d, vecs + (size_t)s * b->vs, b->vs), 0)
		             : read_full(b, b->ids[b->m], b->x + b->m * b->d);
		if (!rc && b->hashes)
			rc = check_rows_add(b->hashes, b->ids[b->m], b->x + b->m * b->d, b->fs,
			                    b->err);
		if (rc < 0)
			return rc;
		b->m++;
	}
	b->srcs[b->nsrc++] = cell;
	return 0;
}

/* Reads the next cells after *last (up to maxsrc) until the batch holds at
 * least b->batch rows; *done when none are left. */
static int read_batch(bulk *b, int64_t *last, int64_t maxsrc, int *done)
{
	int rc = 0, r = SQLITE_ROW;
	b->m = b->nsrc = 0;
	sqlite3_bind_int64(b->sel, 1, *last);
	sqlite3_bind_int64(b->sel, 2, maxsrc);
	while (!rc && b->m < b->batch && b->nsrc < b->batch &&
	       (r = read_step(b, b->sel, "reading the cells")) == SQLITE_ROW)
		rc = take_cell(b, b->sel);
	if (r < 0)
		rc = r;
	*done = r == SQLITE_DONE;
	if (b->nsrc)
		*last = b->srcs[b->nsrc - 1];
	sqlite3_reset(b->sel);
	return rc;
}

/* The next batch of rows to load, hashed as they are taken; *done after the last. */
static int take_rows(bulk *b, int *done)
{
	size_t m = b->nfrom - b->next < b->batch ? b->nfrom - b->next : b->batch;
	b->m = b->nsrc = 0;
	memcpy(b->x, b->from + b->next * b->d, m * b->fs);
	for (size_t i = 0; i < m; i++) {
		b->ids[i] = b->rowid[b->next + i];
		if (b->hashes) {
			int rc =
			    check_rows_add(b->hashes, b->ids[i], b->x + i * b->d, b->fs, b->err);
			if (rc < 0)
				return rc;
		}
	}
	b->m = m;
	b->first = b->next;
	b->next += m;
	*done = b->next == b->nfrom;
	return 0;
}

/* b->near for the batch's m rows x (quantized tables: b->xq, by vec0's own rule). */
static int assign_rows(bulk *b, const float *x)
{
	return b->q == QUANT_NONE
	           ? km_assign(x, b->m, b->d, b->c, b->k, b->near, NULL, b->err)
	           : quant_nearest(b->q, b->xq, b->m, b->cq, b->k, b->d, b->near, b->err);
}

/* A plan's step: the nearest centroids of the batch's m rows x, quantized
 * first on a quantized table (the write quantizes its own batch for the cells). */
static int plan_batch(bulk *b, const float *x)
{
	if (b->q != QUANT_NONE)
		quant_encode(b->q, x, b->m, b->d, b->xq);
	return assign_rows(b, x);
}

/* b->near for the batch: from the plan while its rows are the ones read, else
 * (and from the first difference on) by GEMM. */
static int nearest(bulk *b)
{
	bulk_plan *p = b->plan;
	size_t at = b->seen;
	b->seen += b->m;
	/* a load's plan is by row (its rows cannot change); a table's by rowid */
	if (p && at + b->m <= p->n &&
	    (p->rowid ? !memcmp(p->rowid + at, b->ids, b->m * sizeof *b->ids) : b->from != NULL)) {
		memcpy(b->near, p->cid + at, b->m * sizeof *b->near);
		p->used += b->m;
		return 0;
	}
	b->plan = NULL;
	return assign_rows(b, b->x);
}

/* Assigns the batch's m rows (b->x, b->ids), appends them to their centroids'
 * open cells and inserts the cells that fill up. The last m hashes taken are
 * the batch's rows: each gets the centroid it was assigned. */
static int place_batch(bulk *b)
{
	int rc = 0;
	size_t bad = dist_first_nonfinite(b->x, b->m, b->d);
	if (bad < b->m * b->d)
		return err_set(b->err, ERR_INPUT, "table %s, rowid %lld: %s.%s[%zu] is %g",
		               b->t->name, (long long)b->ids[bad / b->d], b->t->name, b->t->column,
		               bad % b->d, (double)b->x[bad]);
	double t1 = tm_now();
	if (b->q != QUANT_NONE)
		quant_encode(b->q, b->x, b->m, b->d, b->xq);
	if ((rc = nearest(b)) < 0)
		return rc;
	for (size_t i = 0; b->hashes && i < b->m; i++)
		b->hashes->v[b->hashes->n - b->m + i].centroid = b->near[i];
	double t2 = tm_now();
	for (size_t i = 0; i < b->m && !rc; i++) {
		open_cell *o = &b->open[b->near[i]];
		if (!o->vectors && !(o->vectors = calloc(BULK_CELL, b->vs)))
			return err_set(b->err, ERR_NOMEM, "out of memory for the open cells");
		int s = o->n++;
		o->validity[s / 8] |= (unsigned char)(1u << (s % 8));
		o->rowids[s] = b->ids[i];
		o->at[s] = b->first + i;
		memcpy(o->vectors + (size_t)s * b->vs,
		       b->q == QUANT_NONE ? (const void *)(b->x + i * b->d) : b->xq + i * b->vs,
		       b->vs);
		if (o->n == BULK_CELL)
			rc = flush(b, (size_t)b->near[i]);
	}
	b->s->rows += (int64_t)b->m;
	b->s->assign_s += t2 - t1;
	b->s->write_s += tm_now() - t2;
	return rc;
}

/* Deletes the batch's source cells, then places its rows. */
static int write_batch(bulk *b)
{
	double t0 = tm_now();
	int rc = 0;
	for (size_t i = 0; i < b->nsrc && !rc; i++) {
		sqlite3_bind_int64(b->del, 1, b->srcs[i]);
		rc = bulk_run_stmt(b->db, b->del, "deleting a consumed cell", b->t, b->err);
	}
	for (size_t i = 0; b->full_ins && i < b->m && !rc; i++) {
		sqlite3_bind_int64(b->full_ins, 1, b->ids[i]);
		sqlite3_bind_blob(b->full_ins, 2, b->x + i * b->d, (int)b->fs, SQLITE_STATIC);
		rc = bulk_run_stmt(b->db, b->full_ins, "writing a full-precision copy", b->t,
		                   b->err);
	}
	b->s->cells_read += (int64_t)b->nsrc;
	b->s->write_s += tm_now() - t0;
	return rc || !b->m ? rc : place_batch(b);
}

/* A load's rowid map, in rowid order: appended to its b-tree, not scattered
 * over it. */
static int write_map(bulk *b)
{
	int rc = 0;
	for (size_t j = 0; j < b->nfrom && !rc; j++) {
		size_t i = b->order ? b->order[j] : j;
		sqlite3_bind_int64(b->map, 1, b->rowid[i]);
		sqlite3_bind_int64(b->map, 2, b->map_cell[i]);
		sqlite3_bind_int(b->map, 3, b->map_slot[i]);
		rc = bulk_run_stmt(b->db, b->map, "writing the rowid map", b->t, b->err);
	}
	return rc;
}

static int alloc_batch(bulk *b)
{
	size_t rows = b->batch + BULK_CELL; /* a batch ends after the cell that fills it */
	b->x = malloc(rows * b->d * sizeof *b->x);
	b->xq = b->q != QUANT_NONE ? malloc(rows * b->vs) : NULL;
	b->ids = malloc(rows * sizeof *b->ids);
	b->near = malloc(rows * sizeof *b->near);
	b->srcs = malloc(b->batch * sizeof *b->srcs);
	b->open = calloc(b->k, sizeof *b->open);
	if (!b->x || !b->ids || !b->near || !b->srcs || !b->open || (b->q && !b->xq))
		return err_set(b->err, ERR_NOMEM, "out of memory for a batch of %zu rows",
		               b->batch);
	if (b->from && (!(b->map_cell = malloc(b->nfrom * sizeof *b->map_cell)) ||
	                !(b->map_slot = malloc(b->nfrom))))
		return err_set(b->err, ERR_NOMEM, "out of memory for the rowid map of %zu rows",
		               b->nfrom);
	return b->from ? bulk_rowid_order(b->rowid, b->nfrom, &b->order, b->err) : 0;
}

static void bulk_free(bulk *b)
{
	sqlite3_finalize(b->sel);
	sqlite3_finalize(b->del);
	sqlite3_finalize(b->cell);
	sqlite3_finalize(b->map);
	sqlite3_finalize(b->full);
	sqlite3_finalize(b->full_ins);
	for (size_t i = 0; b->open && i < b->k; i++)
		free(b->open[i].vectors);
	free(b->open);
	free(b->x);
	free(b->xq);
	free(b->cq);
	free(b->ids);
	free(b->near);
	free(b->srcs);
	free(b->map_cell);
	free(b->map_slot);
	free(b->order);
	free(b->unit);
}

/* Streams every source cell (or row to load) through the batch, then inserts
 * what is left open. */
static int stream(bulk *b, int64_t rows, prog_t *prog)
{
	int64_t maxsrc = 0, last = INT64_MIN;
	int done = 0;
	int rc = sql_scalar(b->db,
	                    sqlite3_mprintf("SELECT coalesce(max(rowid), 0) FROM %z",
	                                    vtab_ivf_shadow(b->t, "cells")),
	                    &maxsrc, b->err);
	if (!rc)
		rc = exec_once(
		    b->db, sqlite3_mprintf("DELETE FROM %z", vtab_ivf_shadow(b->t, "rowid_map")),
		    "clearing the rowid map", b->t, b->err);
	prog_begin(prog, "write cells", (uint64_t)rows);
	while (!rc && !done) {
		double t0 = tm_now();
		rc = b->from ? take_rows(b, &done) : read_batch(b, &last, maxsrc, &done);
		b->s->read_s += tm_now() - t0;
		if (!rc)
			rc = write_batch(b);
		prog_update(prog, (uint64_t)b->s->rows);
		if (!rc && intr_pending())
			rc = err_set(b->err, ERR_INTR, "interrupted while writing the cells of %s",
			             b->t->name);
	}
	double t0 = tm_now();
	for (size_t i = 0; i < b->k && !rc; i++)
		if (b->open[i].n)
			rc = flush(b, i);
	if (!rc && b->from)
		rc = write_map(b);
	b->s->write_s += tm_now() - t0;
	prog_end(prog);
	return rc;
}

/* What every run of b needs: sizes, the centroids as assigned, buffers, statements. */
static int setup(bulk *b, const vtab *t)
{
	memset(b->s, 0, sizeof *b->s);
	b->d = t->d;
	b->q = quant_of(t);
	b->fs = t->d * sizeof(float);
	b->vs = quant_size(b->q, t->d);
	if (b->batch < 1)
		return err_set(b->err, ERR_INPUT, "a bulk write needs a batch of at least one row");
	/* the centroids as bulk_store_centroids stored them: what vec0 compares with */
	if (b->q != QUANT_NONE) {
		if (!(b->cq = malloc(b->k * b->vs)))
			return err_set(b->err, ERR_NOMEM, "out of memory for %zu centroids", b->k);
		quant_encode(b->q, b->c, b->k, b->d, b->cq);
	}
	if (b->q == QUANT_NONE && t->metric == VTAB_COSINE &&
	    !(b->c = b->unit = km_normalised(b->c, b->k, t->d)))
		return err_set(b->err, ERR_NOMEM, "out of memory for %zu centroids", b->k);
	int rc = alloc_batch(b);
	return rc ? rc : prepare(b);
}

/* Runs the writer b (filled by the caller) from start to end. */
static int bulk_run(bulk *b, const vtab *t, int64_t rows, prog_t *prog)
{
	int rc = setup(b, t);
	if (!rc && b->from && !b->nfrom)
		rc = err_set(b->err, ERR_INPUT, "no rows to load into %s", t->name);
	if (!rc)
		rc = stream(b, rows, prog);
	bulk_free(b);
	return rc;
}

int bulk_assign(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch, int64_t rows,
                check_rows *src, bulk_plan *plan, bulk_stats *s, prog_t *prog, char *err)
{
	bulk b = {.db = db,
	          .t = t,
	          .k = k,
	          .c = c,
	          .batch = batch,
	          .hashes = src,
	          .plan = plan,
	          .s = s,
	          .err = err};
	return bulk_run(&b, t, rows, prog);
}

/* Appends the batch's rowids and centroids to p. */
static int plan_add(bulk *b, bulk_plan *p, size_t *cap)
{
	if (p->n + b->m > *cap) {
		size_t want = *cap ? *cap : 1u << 16;
		while (want < p->n + b->m)
			want *= 2;
		int64_t *r = realloc(p->rowid, want * sizeof *r);
		if (r)
			p->rowid = r;
		int32_t *c = realloc(p->cid, want * sizeof *c);
		if (c)
			p->cid = c;
		if (!r || !c)
			return err_set(b->err, ERR_NOMEM,
			               "out of memory for the centroids of %zu rows", want);
		*cap = want;
	}
	memcpy(p->rowid + p->n, b->ids, b->m * sizeof *b->ids);
	memcpy(p->cid + p->n, b->near, b->m * sizeof *b->near);
	p->n += b->m;
	return 0;
}

int bulk_plan_make(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch, int64_t rows,
                   bulk_plan *p, prog_t *prog, char *err)
{
	bulk_stats s;
	bulk b = {
	    .db = db, .t = t, .k = k, .c = c, .batch = batch, .unlocked = 1, .s = &s, .err = err};
	memset(p, 0, sizeof *p);
	int64_t maxsrc = 0, last = INT64_MIN;
	size_t cap = 0;
	int done = 0;
	int rc = setup(&b, t);
	if (!rc)
		rc = sql_scalar(db,
		                sqlite3_mprintf("SELECT coalesce(max(rowid), 0) FROM %z",
		                                vtab_ivf_shadow(t, "cells")),
		                &maxsrc, err);
	prog_begin(prog, "nearest centroids", (uint64_t)rows);
	while (!rc && !done) {
		double t0 = tm_now();
		rc = read_batch(&b, &last, maxsrc, &done);
		double t1 = tm_now();
		if (!rc && b.m)
			rc = plan_batch(&b, b.x);
		p->read_s += t1 - t0;
		p->assign_s += tm_now() - t1;
		if (!rc && b.m)
			rc = plan_add(&b, p, &cap);
		prog_update(prog, (uint64_t)p->n);
		if (!rc && intr_pending())
			rc = err_set(err, ERR_INTR, "interrupted while assigning the rows of %s",
			             t->name);
	}
	prog_end(prog);
	bulk_free(&b);
	if (rc)
		bulk_plan_free(p);
	return rc;
}

int bulk_plan_rows(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch,
                   const float *x, size_t n, bulk_plan *p, prog_t *prog, char *err)
{
	bulk_stats s;
	bulk b = {
	    .db = db, .t = t, .k = k, .c = c, .batch = batch, .unlocked = 1, .s = &s, .err = err};
	memset(p, 0, sizeof *p);
	int rc = setup(&b, t);
	if (!rc && !(p->cid = malloc((n ? n : 1) * sizeof *p->cid)))
		rc = err_set(err, ERR_NOMEM, "out of memory for the centroids of %zu rows", n);
	double t0 = tm_now();
	prog_begin(prog, "nearest centroids", (uint64_t)n);
	while (!rc && p->n < n) {
		const float *rows = x + p->n * b.d; /* in place: the plan needs no copy */
		b.m = n - p->n < batch ? n - p->n : batch;
		if (!(rc = plan_batch(&b, rows))) {
			memcpy(p->cid + p->n, b.near, b.m * sizeof *b.near);
			p->n += b.m;
		}
		prog_update(prog, (uint64_t)p->n);
		if (!rc && intr_pending())
			rc = err_set(err, ERR_INTR, "interrupted while assigning the rows to load");
	}
	prog_end(prog);
	p->assign_s = tm_now() - t0;
	bulk_free(&b);
	if (rc)
		bulk_plan_free(p);
	return rc;
}

void bulk_plan_free(bulk_plan *p)
{
	free(p->rowid);
	free(p->cid);
	p->rowid = NULL;
	p->cid = NULL;
	p->n = p->used = 0;
}

/* Orders rows (i, rowid) by rowid. */
typedef struct keyed {
	int64_t rowid;
	size_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
	int64_t x = ((const keyed *)a)->rowid, y = ((const keyed *)b)->rowid;
	return (x > y) - (x < y);
}

int bulk_rowid_order(const int64_t *rowid, size_t n, size_t **order, char *err)
{
	size_t i = 1;
	*order = NULL;
	while (i < n && rowid[i - 1] < rowid[i])
		i++;
	if (i >= n)
		return 0;
	keyed *k = malloc(n * sizeof *k);
	size_t *o = malloc(n * sizeof *o);
	if (!k || !o) {
		free(k);
		free(o);
		return err_set(err, ERR_NOMEM, "out of memory to sort %zu rowids", n);
	}
	for (i = 0; i < n; i++)
		k[i] = (keyed){rowid[i], i};
	qsort(k, n, sizeof *k, cmp_keyed);
	for (i = 0; i < n; i++)
		o[i] = k[i].i;
	free(k);
	*order = o;
	return 0;
}

int bulk_load(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t batch, const float *x,
              size_t n, const int64_t *rowid, check_rows *src, bulk_plan *plan, bulk_stats *s,
              prog_t *prog, char *err)
{
	bulk b = {.db = db,
	          .plan = plan,
	          .t = t,
	          .k = k,
	          .c = c,
	          .batch = batch,
	          .hashes = src,
	          .from = x,
	          .nfrom = n,
	          .rowid = rowid,
	          .s = s,
	          .err = err};
	return bulk_run(&b, t, (int64_t)n, prog);
}

int bulk_read_centroids(sqlite3 *db, const vtab *t, float **c, size_t *k, char *err)
{
	sqlite3_stmt *st = NULL;
	quant_kind q = quant_of(t);
	size_t n = 0, cap = 0, vs = quant_size(q, t->d), fs = t->d * sizeof(float);
	float *out = NULL;
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT centroid_id, centroid FROM %z ORDER BY "
	                                     "centroid_id",
	                                     vtab_ivf_shadow(t, "centroids")),
	                     &st, err);
	int r = SQLITE_DONE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) != (int64_t)n ||
		    (size_t)sqlite3_column_bytes(st, 1) != vs) {
			rc =
			    err_set(err, ERR_INPUT,
			            "table %s: centroid #%zu is id %lld of %d bytes, not id %zu of "
			            "%zu: not an index to repack",
			            t->name, n, (long long)sqlite3_column_int64(st, 0),
			            sqlite3_column_bytes(st, 1), n, vs);
			break;
		}
		if (n == cap) {
			float *g = realloc(out, (cap = cap ? 2 * cap : 256) * fs);
			if (!g) {
				rc = err_set(err, ERR_NOMEM, "out of memory for centroids");
				break;
			}
			out = g;
		}
		quant_decode(q, sqlite3_column_blob(st, 1), 1, t->d, out + n++ * t->d);
	}
	if (!rc && r != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot read the centroids of %s: %s", t->name,
		             sqlite3_errmsg(db));
	if (!rc && !n)
		rc = err_set(err, ERR_INPUT, "table %s has no centroids: train it first", t->name);
	sqlite3_finalize(st);
	if (rc) {
		free(out);
		return rc;
	}
	*c = out;
	*k = n;
	return 0;
}

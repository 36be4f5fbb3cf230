/*
 * ivf.c - IVF commands on a vec0 table and the one-transaction centroid write
 * (see ivf.h).
 *
 * The write holds the lock from BEGIN IMMEDIATE to COMMIT/ROLLBACK and does
 * nothing slow that could happen before it: training is the caller's job and is
 * done by then. Moving rows goes through the table itself (read every user
 * column, delete, insert), because a row inserted while centroids exist is the
 * one path sqlite-vec assigns correctly in every release; shadow tables are only
 * read, to verify. Nothing is committed that a self-query check has not passed.
 */
#include "ivf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bulk.h"
#include "check.h"
#include "err.h"
#include "imbalance.h"
#include "intr.h"
#include "load.h"
#include "names.h"
#include "rng.h"
#include "sql.h"
#include "timing.h"

#define IVF_VERIFY_K 10  /* a row can tie with duplicates of itself: look past the first */
#define IVF_DUP_EPS 1e-6 /* a first result this close is an exact duplicate of the query */

void ivf_write_defaults(ivf_write_opts *o)
{
	memset(o, 0, sizeof *o);
	o->assign = IVF_ASSIGN_BULK;
	o->batch = VTAB_BATCH;
	o->bulk_batch = 8192;
	o->verify_samples = 200;
	o->seed = RNG_DEFAULT_SEED;
	o->busy_ms = IVF_BUSY_MS;
}

const char *const ivf_assign_names[] = {
    [IVF_ASSIGN_REINSERT] = "reinsert",
    [IVF_ASSIGN_NATIVE] = "native",
    [IVF_ASSIGN_NONE] = "none",
    [IVF_ASSIGN_BULK] = "bulk",
    NULL,
};

NAMES_DEFINE(ivf_assign, ivf_assign)

const char *ivf_syntax_name(ivf_cmd_syntax s)
{
	return s == IVF_CMD_HIDDEN ? "hidden column" : s == IVF_CMD_ID ? "id column" : "unknown";
}

/* alpha.2 and later declare a hidden column named after the table (FTS5 style);
 * alpha.1 has none and reads commands from the id column. */
int ivf_syntax(sqlite3 *db, const vtab *t, ivf_cmd_syntax *s, char *err)
{
	int64_t hidden = 0;
	int rc = sql_scalar(db,
	                    sqlite3_mprintf("SELECT count(*) FROM pragma_table_xinfo(%Q) "
	                                    "WHERE hidden != 0 AND name = %Q COLLATE NOCASE",
	                                    t->name, t->name),
	                    &hidden, err);
	if (rc < 0)
		return rc;
	*s = hidden ? IVF_CMD_HIDDEN : IVF_CMD_ID;
	return 0;
}

/* ---- the transaction's guards ---------------------------------------------- */

/* SQLite ends a transaction on its own when a statement fails with disk full, an
 * I/O error or out of memory and has no statement journal to undo only itself.
 * vec0 runs statements of its own for each row and ignores some of their errors:
 * a row's delete can fail in one of them, end the transaction and still return
 * success. Every statement after that commits on its own (autocommit): rows that
 * were deleted stayed deleted (seen on a full tmpfs: 121-735 of 5,000 rows lost,
 * integrity_check ok). Two guards: a commit hook turns every commit but the
 * write's own COMMIT into a rollback, and every statement of the write checks
 * that its transaction is still open (txn_step). */
#define IVF_TXN_LOST (-1) /* txn_step: the statement ran, the transaction is gone */

static int refuse_commit(void *committing)
{
	return !*(const int *)committing;
}

/* sqlite3_step for a statement of the write: IVF_TXN_LOST when it began inside
 * a transaction that SQLite ended while it ran. */
static int txn_step(sqlite3 *db, sqlite3_stmt *st)
{
	int open = !sqlite3_get_autocommit(db);
	int r = sqlite3_step(st);
	return open && sqlite3_get_autocommit(db) ? IVF_TXN_LOST : r;
}

/* Why step result r failed, for a message. */
static const char *step_why(sqlite3 *db, int r)
{
	return r == IVF_TXN_LOST  ? "SQLite ended the transaction on its own (an error inside "
	                            "sqlite-vec)"
	       : r == SQLITE_DONE ? "no such row"
	                          : sqlite3_errmsg(db);
}

/* Runs one command in syntax syn, with a float32 vector for set-centroid (vec
 * may be NULL). */
static int run_command(sqlite3 *db, const vtab *t, ivf_cmd_syntax syn, const char *cmd,
                       const float *vec, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	const char *target = syn == IVF_CMD_HIDDEN ? t->name : vtab_key(t);
	char *sql =
	    vec ? sqlite3_mprintf("INSERT INTO \"%w\"(\"%w\", \"%w\") VALUES (?1, ?2)", t->name,
	                          target, t->column)
	        : sqlite3_mprintf("INSERT INTO \"%w\"(\"%w\") VALUES (?1)", t->name, target);
	if ((rc = sql_prepare(db, sql, &st, err)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, cmd, -1, SQLITE_STATIC);
	if (vec)
		sqlite3_bind_blob(st, 2, vec, (int)(t->d * sizeof(float)), SQLITE_STATIC);
	int r = txn_step(db, st);
	if (r != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "IVF command '%s' on table %s (%s syntax) failed: %s",
		             cmd, t->name, ivf_syntax_name(syn), step_why(db, r));
	sqlite3_finalize(st);
	return rc;
}

int ivf_command(sqlite3 *db, const vtab *t, const char *cmd, char *err)
{
	ivf_cmd_syntax syn;
	int rc = ivf_syntax(db, t, &syn, err);
	return rc < 0 ? rc : run_command(db, t, syn, cmd, NULL, err);
}

/* set-centroid:i in syntax syn. */
static int set_centroid(sqlite3 *db, const vtab *t, ivf_cmd_syntax syn, int i, const float *c,
                        char *err)
{
	char cmd[32];
	snprintf(cmd, sizeof cmd, "set-centroid:%d", i);
	return run_command(db, t, syn, cmd, c, err);
}

int ivf_set_centroid(sqlite3 *db, const vtab *t, int i, const float *c, char *err)
{
	ivf_cmd_syntax syn;
	int rc = ivf_syntax(db, t, &syn, err);
	return rc < 0 ? rc : set_centroid(db, t, syn, i, c, err);
}

int ivf_state(sqlite3 *db, const vtab *t, int64_t *ncentroids, int64_t *unassigned, char *err)
{
	char *c = vtab_ivf_shadow(t, "centroids"), *cells = vtab_ivf_shadow(t, "cells");
	int rc = c && cells ? 0 : err_set(err, ERR_NOMEM, "out of memory");
	if (!rc)
		rc = sql_scalar(db, sqlite3_mprintf("SELECT count(*) FROM %s", c), ncentroids, err);
	if (!rc)
		rc = sql_scalar(db,
		                sqlite3_mprintf("SELECT coalesce(sum(n_vectors), 0) FROM %s "
		                                "WHERE centroid_id = -1",
		                                cells),
		                unassigned, err);
	if (rc < 0) {
		char why[ERR_LEN];
		snprintf(why, sizeof why, "%s", err);
		err_set(err, rc, "cannot read the IVF state of %s: %s", t->name, why);
	}
	sqlite3_free(c);
	sqlite3_free(cells);
	return rc;
}

/* Vectors held by all cells, and entries in the rowid map: each must equal the
 * row count, or a row went missing on the way. */
static int shadow_counts(sqlite3 *db, const vtab *t, int64_t *in_cells, int64_t *mapped, char *err)
{
	char *cells = vtab_ivf_shadow(t, "cells"), *map = vtab_ivf_shadow(t, "rowid_map");
	int rc = cells && map ? 0 : err_set(err, ERR_NOMEM, "out of memory");
	if (!rc)
		rc = sql_scalar(
		    db, sqlite3_mprintf("SELECT coalesce(sum(n_vectors), 0) FROM %s", cells),
		    in_cells, err);
	if (!rc)
		rc = sql_scalar(db, sqlite3_mprintf("SELECT count(*) FROM %s", map), mapped, err);
	sqlite3_free(cells);
	sqlite3_free(map);
	return rc;
}

/* Imbalance of the committed index (imbalance.h) from its cells' sizes per
 * centroid; a read that stops short of its last row is an error, not a
 * smaller index. */
static int index_imbalance(sqlite3 *db, const vtab *t, size_t k, double *out, char *err)
{
	sqlite3_stmt *st = NULL;
	size_t *size = calloc(k ? k : 1, sizeof *size);
	if (!size)
		return err_set(err, ERR_NOMEM, "out of memory");
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT centroid_id, sum(n_vectors) FROM %z WHERE "
	                                     "centroid_id >= 0 GROUP BY centroid_id",
	                                     vtab_ivf_shadow(t, "cells")),
	                     &st, err);
	int s = SQLITE_DONE;
	while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t c = sqlite3_column_int64(st, 0);
		if (c >= (int64_t)k)
			rc = err_set(err, ERR_FAIL,
			             "table %s: a cell of centroid %lld, past the %zu "
			             "centroids",
			             t->name, (long long)c, k);
		else
			size[c] = (size_t)sqlite3_column_int64(st, 1);
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot read the cells of %s: %s", t->name,
		             sqlite3_errmsg(db));
	if (rc == 0)
		*out = imb_factor(size, k);
	sqlite3_finalize(st);
	free(size);
	return rc;
}

/* ---- moving rows ------------------------------------------------------------ */

/* Why quantized rows cannot go through vec0's delete + insert. */
static const char quant_why_not_moved[] =
    "sqlite-vec's point read of a quantized IVF column returns the quantized bytes "
    "padded with unrelated memory, not the float32 row, and its clear-centroids "
    "writes float32 bytes into quantized cells";

/* 0 when a quantized table would fall back from the bulk write to a reinsert. */
static int bulk_ok_or_float(const vtab *t, const ivf_write_stats *s)
{
	return s->assigned == IVF_ASSIGN_BULK || !strcmp(t->quantizer, "none");
}

/* The statements of a move: read a row's user columns by key, delete it, insert
 * it again. Column names come from the table's own declared schema, so every
 * user column (vector, auxiliary, ...) is copied whatever the table holds. */
typedef struct mover {
	sqlite3_stmt *sel, *del, *ins;
	int ncols;
} mover;

/* The SQL to insert a value back into column name: int8 and bit vectors come
 * out of vec0 as bare blobs and must be typed again on the way in. */
static const char *value_wrapper(const vtab *t, const char *name)
{
	for (int i = 0; i < t->nvec; i++)
		if (strcasecmp(t->vec[i], name) == 0)
			return !strcmp(t->vec_elem[i], "int8")  ? "vec_int8"
			       : !strcmp(t->vec_elem[i], "bit") ? "vec_bit"
			                                        : "";
	return "";
}

static int mover_prepare(sqlite3 *db, const vtab *t, mover *mv, char *err)
{
	sqlite3_stmt *cols = NULL;
	sqlite3_str *sel = sqlite3_str_new(db), *ins = sqlite3_str_new(db),
	            *vals = sqlite3_str_new(db);
	int rc =
	    sql_prepare(db,
	                sqlite3_mprintf("SELECT name FROM pragma_table_xinfo(%Q) WHERE hidden = 0 "
	                                "ORDER BY cid",
	                                t->name),
	                &cols, err);
	memset(mv, 0, sizeof *mv);
	if (rc < 0)
		goto out;
	int r;
	while ((r = txn_step(db, cols)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(cols, 0);
		const char *sep = mv->ncols ? ", " : "";
		mv->ncols++;
		sqlite3_str_appendf(sel, "%s\"%w\"", sep, name);
		sqlite3_str_appendf(ins, "%s\"%w\"", sep, name);
		sqlite3_str_appendf(vals, "%s%s(?%d)", sep, value_wrapper(t, name), mv->ncols);
	}
	/* a column missed here would be dropped from every row moved */
	if (r != SQLITE_DONE) {
		rc = err_set(err, ERR_FAIL, "cannot read the columns of %s: %s", t->name,
		             step_why(db, r));
		goto out;
	}
	char *s = sqlite3_str_finish(sel), *i = sqlite3_str_finish(ins),
	     *v = sqlite3_str_finish(vals);
	sel = ins = vals = NULL;
	if (!s || !i || !v) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
	} else {
		rc = sql_prepare(db,
		                 sqlite3_mprintf("SELECT %s FROM \"%w\" WHERE \"%w\" = ?1", s,
		                                 t->name, vtab_key(t)),
		                 &mv->sel, err);
		if (!rc)
			rc = sql_prepare(db,
			                 sqlite3_mprintf("DELETE FROM \"%w\" WHERE \"%w\" = ?1",
			                                 t->name, vtab_key(t)),
			                 &mv->del, err);
		if (!rc)
			rc = sql_prepare(
			    db,
			    sqlite3_mprintf("INSERT INTO \"%w\"(%s) VALUES (%s)", t->name, i, v),
			    &mv->ins, err);
	}
	sqlite3_free(s);
	sqlite3_free(i);
	sqlite3_free(v);
out:
	sqlite3_free(sqlite3_str_finish(sel));
	sqlite3_free(sqlite3_str_finish(ins));
	sqlite3_free(sqlite3_str_finish(vals));
	sqlite3_finalize(cols);
	return rc;
}

static void mover_finalize(mover *mv)
{
	sqlite3_finalize(mv->sel);
	sqlite3_finalize(mv->del);
	sqlite3_finalize(mv->ins);
}

/* Steps st to completion (want = SQLITE_DONE) or to its row (SQLITE_ROW);
 * ERR_FAIL naming what was done to which row. */
static int step_row(sqlite3 *db, sqlite3_stmt *st, int want, const char *what, const vtab *t,
                    const vtab_ids *ids, size_t j, char *err)
{
	int r = txn_step(db, st);
	if (r == want)
		return 0;
	char row[VTAB_NAME + 48];
	vtab_ids_label(t, ids, j, row, sizeof row);
	return err_set(err, ERR_FAIL, "%s %s of %s failed: %s", what, row, t->name,
	               step_why(db, r));
}

/* Nonzero when column c of st's row holds the same value as v, byte for byte. */
static int same_value(sqlite3_value *v, sqlite3_stmt *st, int c)
{
	sqlite3_value *w = sqlite3_column_value(st, c);
	int type = sqlite3_value_type(v);
	if (type != sqlite3_value_type(w))
		return 0;
	if (type == SQLITE_INTEGER)
		return sqlite3_value_int64(v) == sqlite3_value_int64(w);
	if (type == SQLITE_FLOAT) {
		double a = sqlite3_value_double(v), b = sqlite3_value_double(w);
		return memcmp(&a, &b, sizeof a) == 0;
	}
	if (type == SQLITE_NULL)
		return 1;
	int n = sqlite3_value_bytes(v);
	const void *a =
	    type == SQLITE_TEXT ? (const void *)sqlite3_value_text(v) : sqlite3_value_blob(v);
	const void *b =
	    type == SQLITE_TEXT ? (const void *)sqlite3_value_text(w) : sqlite3_value_blob(w);
	return n == sqlite3_value_bytes(w) && (n == 0 || memcmp(a, b, (size_t)n) == 0);
}

/* Reads every row of the batch back and compares it with what was read before
 * the move: vec0 ignores a failed blob write inside an insert (disk full, I/O
 * error), so an insert that succeeded can still have stored other bytes. */
static int check_batch(sqlite3 *db, const vtab *t, const vtab_ids *ids, size_t j0, size_t j1,
                       mover *mv, sqlite3_value **vals, char *err)
{
	int rc = 0, nc = mv->ncols;
	for (size_t j = j0; j < j1 && !rc; j++) {
		vtab_ids_bind(mv->sel, 1, ids, j);
		rc = step_row(db, mv->sel, SQLITE_ROW, "reading back", t, ids, j, err);
		for (int c = 0; c < nc && !rc; c++)
			if (!same_value(vals[(j - j0) * nc + c], mv->sel, c)) {
				char row[VTAB_NAME + 48];
				vtab_ids_label(t, ids, j, row, sizeof row);
				rc = err_set(err, ERR_FAIL,
				             "%s of %s reads back other values after the move "
				             "(column %d): sqlite-vec lost a write",
				             row, t->name, c + 1);
			}
		sqlite3_reset(mv->sel);
	}
	return rc;
}

/* Moves one batch [j0, j1): read all its rows, delete them, insert them again,
 * read them back. */
static int move_batch(sqlite3 *db, const vtab *t, const vtab_ids *ids, size_t j0, size_t j1,
                      mover *mv, sqlite3_value **vals, ivf_write_stats *s, char *err)
{
	int rc = 0, nc = mv->ncols;
	size_t j;
	double t0 = tm_now(), t1, t2;
	for (j = j0; j < j1 && !rc; j++) {
		vtab_ids_bind(mv->sel, 1, ids, j);
		rc = step_row(db, mv->sel, SQLITE_ROW, "reading", t, ids, j, err);
		for (int c = 0; c < nc && !rc; c++)
			if (!(vals[(j - j0) * nc + c] =
			          sqlite3_value_dup(sqlite3_column_value(mv->sel, c))))
				rc = err_set(err, ERR_NOMEM, "out of memory copying rows");
		sqlite3_reset(mv->sel);
	}
	t1 = tm_now();
	for (j = j0; j < j1 && !rc; j++) {
		vtab_ids_bind(mv->del, 1, ids, j);
		rc = step_row(db, mv->del, SQLITE_DONE, "deleting", t, ids, j, err);
		sqlite3_reset(mv->del);
	}
	t2 = tm_now();
	for (j = j0; j < j1 && !rc; j++) {
		for (int c = 0; c < nc; c++)
			sqlite3_bind_value(mv->ins, c + 1, vals[(j - j0) * nc + c]);
		rc = step_row(db, mv->ins, SQLITE_DONE, "inserting", t, ids, j, err);
		sqlite3_reset(mv->ins);
	}
	double t3 = tm_now();
	if (!rc)
		rc = check_batch(db, t, ids, j0, j1, mv, vals, err);
	s->read_s += t1 - t0 + tm_now() - t3;
	s->delete_s += t2 - t1;
	s->insert_s += t3 - t2;
	for (size_t i = 0; i < (j1 - j0) * (size_t)nc; i++) {
		sqlite3_value_free(vals[i]);
		vals[i] = NULL;
	}
	return rc;
}

/* Reinserts every row so that sqlite-vec assigns it to its nearest centroid. */
static int move_rows(sqlite3 *db, const vtab *t, const vtab_ids *ids, size_t batch,
                     ivf_write_stats *s, prog_t *prog, char *err)
{
	mover mv;
	sqlite3_value **vals = NULL;
	int rc = mover_prepare(db, t, &mv, err);
	if (rc < 0)
		goto out;
	if (!(vals = calloc(batch * (size_t)mv.ncols, sizeof *vals))) {
		rc = err_set(err, ERR_NOMEM, "out of memory for a batch of %zu rows", batch);
		goto out;
	}
	prog_begin(prog, "move rows", ids->n);
	for (size_t j0 = 0; j0 < ids->n; j0 += batch) {
		size_t j1 = j0 + batch < ids->n ? j0 + batch : ids->n;
		if ((rc = move_batch(db, t, ids, j0, j1, &mv, vals, s, err)) < 0)
			goto out;
		s->rows_moved = (int64_t)j1;
		prog_update(prog, j1);
		if (intr_pending()) {
			rc = err_set(err, ERR_INTR, "interrupted while moving rows of %s", t->name);
			goto out;
		}
	}
	prog_end(prog);
out:
	free(vals);
	mover_finalize(&mv);
	return rc;
}

/* ---- verification ------------------------------------------------------------ */

/* Each of a random sample of rows, queried with its own vector at nprobe 1,
 * must come back (or an exact duplicate of it must come first): proof that rows
 * sit in the cell of their nearest centroid. nprobe is a setting of this
 * connection's table object, so it is put back to the declared value after. */
static int self_queries(sqlite3 *db, const vtab *t, const vtab_ids *ids, const ivf_write_opts *o,
                        ivf_write_stats *s, char *err)
{
	sqlite3_stmt *get = NULL, *knn = NULL;
	size_t m = (size_t)o->verify_samples < ids->n ? (size_t)o->verify_samples : ids->n;
	uint64_t *pick = malloc((m ? m : 1) * sizeof *pick);
	char first[VTAB_NAME + 48] = "";
	char cmd[32];
	int rc = pick ? 0 : err_set(err, ERR_NOMEM, "out of memory");
	if (!rc)
		rc = sql_prepare(db, vtab_vector_sql(t), &get, err);
	if (!rc)
		rc = sql_prepare(db,
		                 sqlite3_mprintf("SELECT \"%w\", distance FROM \"%w\" WHERE \"%w\" "
		                                 "MATCH ?1 AND k = %d",
		                                 vtab_key(t), t->name, t->column, IVF_VERIFY_K),
		                 &knn, err);
	if (!rc)
		rc = run_command(db, t, s->syntax, "nprobe=1", NULL, err);
	if (rc < 0)
		goto out;
	rng_t r;
	rng_seed(&r, o->seed);
	rng_sample(&r, ids->n, m, pick);
	for (size_t i = 0; i < m && !rc; i++) {
		vtab_ids_bind(get, 1, ids, pick[i]);
		if ((rc = step_row(db, get, SQLITE_ROW, "reading", t, ids, pick[i], err)) < 0)
			break;
		sqlite3_bind_value(knn, 1, sqlite3_column_value(get, 0));
		int found = 0, first_row = 1, sr;
		while ((sr = txn_step(db, knn)) == SQLITE_ROW) {
			found |= vtab_ids_match(ids, pick[i], knn, 0) ||
			         (first_row && sqlite3_column_double(knn, 1) <= IVF_DUP_EPS);
			first_row = 0;
		}
		if (sr != SQLITE_DONE)
			rc = err_set(err, ERR_FAIL, "self-query on %s failed: %s", t->name,
			             step_why(db, sr));
		sqlite3_reset(knn);
		sqlite3_reset(get);
		s->verify_checked++;
		if (!found && s->verify_failed++ == 0)
			vtab_ids_label(t, ids, pick[i], first, sizeof first);
	}
	snprintf(cmd, sizeof cmd, "nprobe=%d", t->nprobe);
	if (rc < 0) {
		char keep[ERR_LEN];
		run_command(db, t, s->syntax, cmd, NULL, keep);
	} else {
		rc = run_command(db, t, s->syntax, cmd, NULL, err);
	}
	if (!rc && s->verify_failed)
		rc = err_set(err, ERR_FAIL,
		             "verification failed: %d of %d sampled rows of %s were not found by a "
		             "self-query at nprobe 1 (first: %s)%s",
		             s->verify_failed, s->verify_checked, t->name, first,
		             o->assign == IVF_ASSIGN_NATIVE
		                 ? "; sqlite-vec's assign-vectors misplaces rows up to "
		                   "v0.1.10-alpha.3, use the reinsert assignment"
		                 : "");
out:
	sqlite3_finalize(get);
	sqlite3_finalize(knn);
	free(pick);
	return rc;
}

/* Every invariant over the whole index, and each row's vector as its source. */
static int audit(sqlite3 *db, const vtab *t, check_rows *src, ivf_write_stats *s, char *err)
{
	check_report r;
	double t0 = tm_now();
	int rc = check_index(db, t, src, &r, NULL, err);
	s->check_s = tm_now() - t0;
	return rc < 0 ? rc : check_verdict(&r, t, err);
}

/* A bulk write (bulk.h) of every row; src gets the rows' hashes as read. */
static int move_bulk(sqlite3 *db, const vtab *t, const float *c, size_t k, size_t rows,
                     const ivf_write_opts *o, check_rows *src, bulk_plan *plan, ivf_write_stats *s,
                     prog_t *prog, char *err)
{
	bulk_stats b;
	int rc = bulk_assign(db, t, c, k, o->bulk_batch, (int64_t)rows, src, plan, &b, prog, err);
	s->planned_rows = plan ? (int64_t)plan->used : 0;
	s->rows_moved = b.rows;
	s->bulk_read_s = b.read_s;
	s->bulk_nearest_s = b.assign_s;
	s->bulk_write_s = b.write_s;
	return rc;
}

/* What must hold before COMMIT: k centroids, every row in exactly one cell,
 * none left unassigned (unless asked to leave them), self-queries pass. */
static int verify(sqlite3 *db, const vtab *t, size_t k, const vtab_ids *ids,
                  const ivf_write_opts *o, check_rows *src, ivf_write_stats *s, char *err)
{
	int64_t nc = 0, un = 0, in_cells = 0, mapped = 0;
	int rc = ivf_state(db, t, &nc, &un, err);
	if (!rc)
		rc = shadow_counts(db, t, &in_cells, &mapped, err);
	if (rc < 0)
		return rc;
	if (nc != (int64_t)k)
		return err_set(err, ERR_FAIL,
		               "verification failed: %lld centroids in %s, expected %zu",
		               (long long)nc, t->name, k);
	if (in_cells != (int64_t)ids->n || mapped != (int64_t)ids->n)
		return err_set(
		    err, ERR_FAIL,
		    "verification failed: %s has %zu rows but its cells hold %lld vectors "
		    "and its rowid map %lld entries",
		    t->name, ids->n, (long long)in_cells, (long long)mapped);
	if (o->assign != IVF_ASSIGN_NONE && un != 0)
		return err_set(err, ERR_FAIL,
		               "verification failed: %lld rows of %s left unassigned",
		               (long long)un, t->name);
	if (src && (rc = audit(db, t, src, s, err)) < 0)
		return rc;
	return o->verify_samples > 0 ? self_queries(db, t, ids, o, s, err) : 0;
}

/* ---- the write ------------------------------------------------------------------ */

static int file_stats(sqlite3 *db, ivf_write_stats *s, char *err)
{
	int64_t pages = 0;
	int rc = sql_scalar(db, sqlite3_mprintf("PRAGMA page_count"), &pages, err);
	if (!rc)
		rc = sql_scalar(db, sqlite3_mprintf("PRAGMA page_size"), &s->page_size, err);
	if (!rc)
		rc = sql_scalar(db, sqlite3_mprintf("PRAGMA freelist_count"), &s->free_pages, err);
	s->file_bytes = pages * s->page_size;
	return rc;
}

/* Size of the database in bytes (pages x page size), -1 when unknown. */
static int64_t db_bytes(sqlite3 *db)
{
	int64_t pages = 0, psize = 0;
	char ignore[ERR_LEN];
	if (sql_scalar(db, sqlite3_mprintf("PRAGMA page_count"), &pages, ignore) < 0 ||
	    sql_scalar(db, sqlite3_mprintf("PRAGMA page_size"), &psize, ignore) < 0)
		return -1;
	return pages * psize;
}

/* The page cache for the write, in KiB. The move reads every old cell and fills
 * new ones (cells hold up to 64 vectors: ~200 KiB at 784 dims); with SQLite's
 * default 2 MiB cache most of those pages are read back from the file again and
 * again (measured, 20,000 x 784 rows, nlist 256: move 11.1 s with the default,
 * 2.9 s with 256 MiB). A cache that holds the whole change also spares spilling
 * dirty pages to the file before COMMIT. Auto: twice the file, at most a
 * quarter of RAM, never less than the connection has. A bulk write reads and
 * writes each cell once, in order, so it needs no more than IVF_BULK_CACHE_MIB:
 * a larger cache only costs memory and time (1,000,000 x 384 rows, nlist 1024:
 * lock 21.8 s and peak RSS 0.5 GiB with 256 MiB, 26.1 s and 1.9 GiB with 3 GiB). */
#define IVF_BULK_CACHE_MIB 256
static int64_t cache_kib(sqlite3 *db, const ivf_write_opts *o, int64_t current)
{
	int64_t want, bytes;
	if (o->cache_mib < 0)
		return current;
	if (o->cache_mib > 0) {
		want = (int64_t)o->cache_mib * 1024;
	} else {
		if ((bytes = db_bytes(db)) < 0)
			return current;
		int64_t ram = (int64_t)sysconf(_SC_PHYS_PAGES) / 4 * sysconf(_SC_PAGESIZE) / 1024;
		want = 2 * bytes / 1024;
		if (ram > 0 && want > ram)
			want = ram;
		if (o->assign == IVF_ASSIGN_BULK && want > IVF_BULK_CACHE_MIB * 1024)
			want = IVF_BULK_CACHE_MIB * 1024;
	}
	return want > current ? want : current;
}

/* The connection's cache size in KiB (PRAGMA cache_size is pages when positive). */
static int64_t current_cache_kib(sqlite3 *db)
{
	int64_t v = 0, psize = 0;
	char ignore[ERR_LEN];
	if (sql_scalar(db, sqlite3_mprintf("PRAGMA cache_size"), &v, ignore) < 0 ||
	    sql_scalar(db, sqlite3_mprintf("PRAGMA page_size"), &psize, ignore) < 0)
		return 2000;
	return v < 0 ? -v : v * psize / 1024;
}

static void set_cache_kib(sqlite3 *db, int64_t kib)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%lld", (long long)kib);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* set-centroid x k through vec0 itself, so this connection's vec0 sees the
 * table as trained; on a quantized table each is then stored quantized, the
 * form vec0's inserts and queries compare with. */
static int set_centroids(sqlite3 *db, const vtab *t, const float *c, size_t k, ivf_write_stats *s,
                         prog_t *prog, char *err)
{
	double t0 = tm_now();
	int rc = 0;
	prog_begin(prog, "set centroids", k);
	for (size_t i = 0; i < k && !rc; i++) {
		rc = set_centroid(db, t, s->syntax, (int)i, c + i * t->d, err);
		prog_update(prog, i + 1);
	}
	if (!rc)
		rc = bulk_store_centroids(db, t, c, k, err);
	prog_end(prog);
	s->set_s = tm_now() - t0;
	return rc;
}

/* A load's part between BEGIN IMMEDIATE and COMMIT: centroids, base tables,
 * cells, then the base tables, the whole index (every row's hash against the
 * source row's) and the self-queries verified. */
static int load_locked(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
                       const ivf_write_opts *o, bulk_plan *plan, ivf_write_stats *s, prog_t *prog,
                       char *err)
{
	vtab_ids ids = {0};
	check_rows src = {0};
	bulk_stats b = {0};
	int64_t nc = 0, un = 0, *rowid = NULL;
	double t0 = tm_now();
	int rc = load_ready(db, t, err);
	if (!rc)
		rc = load_check_rows(t, rows, "the rows to load", err);
	if (!rc)
		rc = ivf_state(db, t, &nc, &un, err);
	s->assigned = IVF_ASSIGN_BULK;
	s->was_trained = nc > 0;
	s->rows = (int64_t)rows->n;
	if (!rc && s->was_trained)
		rc = bulk_drop_centroids(db, t, err);
	s->clear_s = tm_now() - t0;
	if (!rc)
		rc = set_centroids(db, t, c, k, s, prog, err);
	t0 = tm_now();
	if (!rc)
		rc = load_rowids(db, t, rows, &rowid, err);
	if (!rc)
		rc = load_base(db, t, rows, rowid, err);
	s->base_s = tm_now() - t0;
	if (!rc)
		rc = bulk_load(db, t, c, k, o->bulk_batch, rows->x, rows->n, rowid, &src, plan, &b,
		               prog, err);
	s->planned_rows = plan ? (int64_t)plan->used : 0;
	s->rows_moved = b.rows;
	s->bulk_nearest_s = b.assign_s;
	s->bulk_write_s = b.write_s;
	s->assign_s = tm_now() - t0;
	t0 = tm_now();
	if (!rc)
		rc = load_check_base(db, t, rows, rowid, err);
	if (!rc)
		rc = vtab_ids_read(db, t, &ids, err);
	if (!rc)
		rc = verify(db, t, k, &ids, o, &src, s, err);
	s->verify_s = tm_now() - t0;
	free(rowid);
	check_rows_free(&src);
	vtab_ids_free(&ids);
	return rc;
}

/* Everything between BEGIN IMMEDIATE and COMMIT. */
static int write_locked(sqlite3 *db, const vtab *t, const float *c, size_t k,
                        const ivf_write_opts *o, bulk_plan *plan, ivf_write_stats *s, prog_t *prog,
                        char *err)
{
	vtab_ids ids = {0};
	check_rows src = {0};
	int64_t nc = 0, un = 0;
	double t0 = tm_now();
	int rc = vtab_ids_read(db, t, &ids, err);
	if (!rc)
		rc = ivf_state(db, t, &nc, &un, err);
	s->assigned = o->assign;
	if (!rc && o->assign == IVF_ASSIGN_BULK &&
	    (rc = bulk_layout(db, t, s->fallback, sizeof s->fallback, err)) >= 0) {
		s->assigned = rc ? IVF_ASSIGN_BULK : IVF_ASSIGN_REINSERT;
		rc = 0;
		if (!bulk_ok_or_float(t, s))
			rc = err_set(err, ERR_INPUT,
			             "table %s uses quantizer=%s and the bulk write does not know "
			             "its layout (%s); a reinsert cannot move its rows (%s)",
			             t->name, t->quantizer, s->fallback, quant_why_not_moved);
	}
	if (rc < 0)
		goto out;
	int bulk = s->assigned == IVF_ASSIGN_BULK;
	s->rows = (int64_t)ids.n;
	s->was_trained = nc > 0;
	/* the bulk write rewrites every cell anyway: dropping the centroids is enough */
	if (s->was_trained &&
	    (rc = bulk ? bulk_drop_centroids(db, t, err)
	               : run_command(db, t, s->syntax, "clear-centroids", NULL, err)) < 0)
		goto out;
	s->clear_s = tm_now() - t0;

	if ((rc = set_centroids(db, t, c, k, s, prog, err)) < 0)
		goto out;

	t0 = tm_now();
	if (bulk)
		rc = move_bulk(db, t, c, k, ids.n, o, &src, plan, s, prog, err);
	else if (s->assigned == IVF_ASSIGN_REINSERT)
		rc = move_rows(db, t, &ids, o->batch ? o->batch : 1000, s, prog, err);
	/* after a reinsert this only drops the emptied unassigned cells */
	double td = tm_now();
	if (!rc && !bulk && s->assigned != IVF_ASSIGN_NONE)
		rc = run_command(db, t, s->syntax, "assign-vectors", NULL, err);
	s->drop_s = tm_now() - td;
	s->assign_s = tm_now() - t0;
	if (rc < 0)
		goto out;

	t0 = tm_now();
	rc = verify(db, t, k, &ids, o, bulk ? &src : NULL, s, err);
	s->verify_s = tm_now() - t0;
out:
	check_rows_free(&src);
	vtab_ids_free(&ids);
	return rc;
}

/* The committed index checked again from the outside: integrity_check, its
 * centroids and unassigned rows, balance and file size. */
static int after_commit(sqlite3 *db, const vtab *t, size_t k, const ivf_write_opts *o,
                        ivf_write_stats *s, char *err)
{
	sqlite3_stmt *st = NULL;
	double t0 = tm_now();
	int rc = sql_prepare(db, sqlite3_mprintf("PRAGMA integrity_check"), &st, err);
	if (rc < 0)
		return rc;
	const char *ok =
	    sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (!ok || strcmp(ok, "ok") != 0)
		rc = err_set(err, ERR_FAIL, "after COMMIT, PRAGMA integrity_check says: %s",
		             ok ? ok : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	s->integrity_s = tm_now() - t0;
	if (!rc)
		rc = ivf_state(db, t, &s->ncentroids, &s->unassigned, err);
	if (!rc)
		rc = index_imbalance(db, t, k, &s->imbalance, err);
	if (!rc)
		rc = file_stats(db, s, err);
	if (!rc && (s->ncentroids != (int64_t)k || (o->assign != IVF_ASSIGN_NONE && s->unassigned)))
		rc = err_set(err, ERR_FAIL,
		             "after COMMIT, %s has %lld centroids and %lld unassigned rows",
		             t->name, (long long)s->ncentroids, (long long)s->unassigned);
	return rc;
}

/* Room on disk when the write began. */
typedef struct ivf_space {
	int64_t free_bytes; /* free for this process, -1 unknown */
	int64_t file_bytes; /* the database file */
} ivf_space;

/* Waiting for other connections, bounded for the whole write: SQLite's busy
 * timeout starts again at every lock it waits for, and with a reader holding a
 * read transaction (rollback journal) the write waits at every cache spill and
 * again at COMMIT (90 s with a 500 ms timeout, seen). */
typedef struct busy_budget {
	double left_s;   /* still to wait, in all */
	double waited_s; /* waited so far */
} busy_budget;

static int busy_wait(void *arg, int count)
{
	busy_budget *b = arg;
	if (b->left_s <= 0)
		return 0;
	double step = count < 10 ? 0.001 * (count + 1) : 0.02; /* SQLite's own ramp, roughly */
	if (step > b->left_s)
		step = b->left_s;
	double t0 = tm_now();
	usleep((useconds_t)(step * 1e6));
	double slept = tm_now() - t0;
	b->left_s -= slept;
	b->waited_s += slept;
	return 1;
}

/* Connections that queried the table before its first training keep vec0's
 * "untrained" cached and then scan only unassigned cells, which the write
 * removes: they get no rows until they reconnect. A new schema cookie makes
 * every connection re-read the schema at its next statement, and that
 * reconnects the table. The schema itself is unchanged; SQLite bumps the cookie
 * the same way for any schema change, so no connection can mistake an old
 * schema for the new one. Last statement before COMMIT. */
static int bump_schema(sqlite3 *db, char *err)
{
	int64_t v = 0;
	int rc = sql_scalar(db, sqlite3_mprintf("PRAGMA schema_version"), &v, err);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = sql_prepare(db, sqlite3_mprintf("PRAGMA schema_version = %lld", (long long)v + 1), &st,
	                 err);
	if (rc < 0)
		return rc;
	int r = txn_step(db, st);
	if (r != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot renew the schema cookie: %s", step_why(db, r));
	sqlite3_finalize(st);
	return rc;
}

/* Bytes free for this process on the file system holding the database, or -1. */
static int64_t disk_free(sqlite3 *db)
{
	struct statvfs v;
	const char *path = sqlite3_db_filename(db, "main");
	if (!path || !*path || statvfs(path, &v) != 0)
		return -1;
	return (int64_t)v.f_bavail * (int64_t)v.f_frsize;
}

/* Whether a failed write ran out of disk. SQLite says so (SQLITE_FULL), unless
 * the error came inside sqlite-vec, which reports its own message or none; a
 * transaction that SQLite ended on its own without an OS error (which it would
 * record) is taken for a full disk when there was less room than the write can
 * need: a rollback journal or WAL of up to the whole file, and as much again in
 * new pages. */
static int out_of_disk(sqlite3 *db, const char *err, int ended, const ivf_space *sp)
{
	if ((sqlite3_extended_errcode(db) & 0xff) == SQLITE_FULL ||
	    strstr(err, sqlite3_errstr(SQLITE_FULL)) ||
	    strstr(sqlite3_errmsg(db), sqlite3_errstr(SQLITE_FULL)))
		return 1;
	return ended && !sqlite3_system_errno(db) && sp->free_bytes >= 0 &&
	       sp->free_bytes < 2 * sp->file_bytes;
}

/* After an I/O error (disk full, file too large) SQLite can leave the journal
 * of a failed write for later: a read right after makes it play the journal
 * back now, while this process still holds the file. SQLITE_OK once it is. */
static int play_back(sqlite3 *db)
{
	return sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
}

/* Ends a failed transaction; the message says the database is unchanged, or
 * why that cannot be promised, and names a full disk as such. */
static int roll_back(sqlite3 *db, int rc, const ivf_space *sp, char *err)
{
	char why[ERR_LEN], io[96] = "";
	int oserr = sqlite3_system_errno(db);
	int ended = sqlite3_get_autocommit(db); /* SQLite rolled back on its own */
	if (out_of_disk(db, err, ended, sp))
		snprintf(why, sizeof why,
		         "disk full (%.1f MiB were free for a %.1f MiB database): %s",
		         (double)sp->free_bytes / 1048576, (double)sp->file_bytes / 1048576, err);
	else
		snprintf(why, sizeof why, "%s", err);
	if (oserr)
		snprintf(io, sizeof io, " (last I/O error: %s)", strerror(oserr));
	if (!ended && sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, ERR_FAIL, "%s%s; ROLLBACK failed too: %s", why, io,
		               sqlite3_errmsg(db));
	if (play_back(db) != SQLITE_OK)
		return err_set(err, ERR_FAIL,
		               "%s%s; rolled back, but the journal is not played back "
		               "yet (%s): the next open of the database will restore it",
		               why, io, sqlite3_errmsg(db));
	return err_set(err, rc, "%s%s; rolled back, the database is unchanged", why, io);
}

/* COMMIT, the one commit the guard lets through. */
static int commit(sqlite3 *db, int *committing, const busy_budget *b, int busy_ms, char *err)
{
	if (sqlite3_get_autocommit(db))
		return err_set(err, ERR_FAIL, "before COMMIT: %s", step_why(db, IVF_TXN_LOST));
	*committing = 1;
	int r = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	*committing = 0;
	if (r == SQLITE_OK)
		return 0;
	if ((r & 0xff) == SQLITE_BUSY)
		return err_set(err, ERR_FAIL,
		               "COMMIT waits for every reader to end its read transaction, and "
		               "one still held it after %.1f s of waiting (busy timeout %d ms)",
		               b->waited_s, busy_ms);
	return err_set(err, ERR_FAIL, "COMMIT failed: %s", sqlite3_errmsg(db));
}

/* PRAGMA data_version: changes when another connection commits (-1 unreadable). */
static int64_t data_version(sqlite3 *db)
{
	int64_t v = -1;
	char ignore[ERR_LEN];
	return sql_scalar(db, sqlite3_mprintf("PRAGMA data_version"), &v, ignore) < 0 ? -1 : v;
}

/* The rows' centroids for a bulk write, worked out before the lock (bulk.h):
 * the GEMM over every row is the longest step of a large write. A plan is an
 * optimisation only: none when the layout is not bulk's or anything fails. */
static void plan_rows(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_write_opts *o,
                      bulk_plan *p, ivf_write_stats *s, prog_t *prog)
{
	char why[160], ignore[ERR_LEN];
	int64_t rows = 0, version;
	memset(p, 0, sizeof *p);
	if (o->assign != IVF_ASSIGN_BULK || bulk_layout(db, t, why, sizeof why, ignore) != 1 ||
	    sql_scalar(db,
	               sqlite3_mprintf("SELECT count(*) FROM %z", vtab_ivf_shadow(t, "rowid_map")),
	               &rows, ignore) < 0 ||
	    (version = data_version(db)) < 0)
		return;
	double t0 = tm_now();
	if (bulk_plan_make(db, t, c, k, o->bulk_batch, rows, p, prog, ignore) < 0)
		return;
	p->version = version;
	s->plan_s = tm_now() - t0;
}

/* A load's plan: its rows are in memory, so only the GEMM moves out of the lock. */
static void plan_load(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
                      const ivf_write_opts *o, bulk_plan *p, ivf_write_stats *s, prog_t *prog)
{
	char ignore[ERR_LEN];
	double t0 = tm_now();
	if (bulk_plan_rows(db, t, c, k, o->bulk_batch, rows->x, rows->n, p, prog, ignore) == 0)
		s->plan_s = tm_now() - t0;
}

/* BEGIN IMMEDIATE .. COMMIT, or ROLLBACK. */
static int write_txn(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
                     const ivf_write_opts *o, bulk_plan *plan, ivf_write_stats *s,
                     const busy_budget *b, int *committing, prog_t *prog, char *err)
{
	ivf_space space = {disk_free(db), db_bytes(db)}, *sp = &space;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, ERR_FAIL, "cannot lock %s for writing%s: %s",
		               sqlite3_db_filename(db, "main"),
		               sqlite3_errcode(db) == SQLITE_BUSY ? " (another writer holds it)"
		                                                  : "",
		               sqlite3_errmsg(db));
	double tlock = tm_now();
	if (plan && plan->rowid && data_version(db) != plan->version)
		plan = NULL; /* another connection wrote since: assign under the lock */
	int rc = ivf_syntax(db, t, &s->syntax, err);
	if (rc == 0)
		rc = rows ? load_locked(db, t, c, k, rows, o, plan, s, prog, err)
		          : write_locked(db, t, c, k, o, plan, s, prog, err);
	vtab_release(db, t);
	if (rc == 0)
		rc = bump_schema(db, err);
	if (rc == 0) {
		double tc = tm_now();
		rc = commit(db, committing, b, o->busy_ms, err);
		s->commit_s = tm_now() - tc;
	}
	if (rc < 0)
		rc = roll_back(db, rc, sp, err);
	s->lock_s = tm_now() - tlock;
	s->committed = rc == 0;
	return rc;
}

int ivf_check_writable(sqlite3 *db, char *err)
{
	const char *path = sqlite3_db_filename(db, "main");
	if (sqlite3_db_readonly(db, "main") == 1)
		return err_set(err, ERR_INPUT,
		               "database %s is read-only (its permissions or a read-only file "
		               "system): nothing can be written",
		               path);
	/* a write rolled back before any page reaches the file: the journal, a new
	 * file next to the database, must be creatable */
	int r = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if ((r & 0xff) == SQLITE_BUSY)
		return 0; /* another writer: the write itself waits for it */
	int64_t v = 0;
	char sql[64];
	if (r == SQLITE_OK &&
	    (r = sql_scalar(db, sqlite3_mprintf("PRAGMA user_version"), &v, err)) == 0) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)v);
		r = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	int rc = r == SQLITE_OK ? 0
	                        : err_set(err, ERR_INPUT,
	                                  "cannot write database %s: %s (the folder must let "
	                                  "SQLite create its journal there)",
	                                  path, sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The one transaction of a write (rows NULL) or a load. */
static int transaction(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
                       const ivf_write_opts *opts, ivf_write_stats *stats, prog_t *prog, char *err)
{
	ivf_write_stats s;
	memset(&s, 0, sizeof s);
	if (!t->is_ivf)
		return err_set(err, ERR_INPUT, "column %s.%s is not indexed by ivf(...)", t->name,
		               t->column);
	if (strcmp(t->quantizer, "none") != 0 && opts->assign != IVF_ASSIGN_BULK &&
	    opts->assign != IVF_ASSIGN_NONE)
		return err_set(err, ERR_INPUT,
		               "table %s uses quantizer=%s: only the bulk assignment can move its "
		               "rows (%s)",
		               t->name, t->quantizer, quant_why_not_moved);
	if (k < 1 || k > IVF_MAX_NLIST)
		return err_set(err, ERR_INPUT, "nlist %zu out of range [1, %d]", k, IVF_MAX_NLIST);

	if (intr_pending())
		return err_set(err, ERR_INTR,
		               "interrupted before writing; the database is unchanged");
	int64_t cache_was = current_cache_kib(db);
	s.cache_kib = cache_kib(db, opts, cache_was);
	set_cache_kib(db, s.cache_kib);
	busy_budget budget = {(double)opts->busy_ms / 1000, 0};
	int committing = 0;
	sqlite3_busy_handler(db, busy_wait, &budget);
	sqlite3_commit_hook(db, refuse_commit, &committing);
	/* vec0 leaves read statements of its own open (after an insert): a read lock
	 * that would keep the writer this one waits for from ever committing */
	vtab_release(db, t);
	bulk_plan plan = {0};
	if (!rows)
		plan_rows(db, t, c, k, opts, &plan, &s, prog);
	else
		plan_load(db, t, c, k, rows, opts, &plan, &s, prog);
	int rc = write_txn(db, t, c, k, rows, opts, &plan, &s, &budget, &committing, prog, err);
	bulk_plan_free(&plan);
	sqlite3_commit_hook(db, NULL, NULL);
	sqlite3_busy_timeout(db, opts->busy_ms);
	s.wait_s = budget.waited_s;
	if (rc == 0)
		rc = after_commit(db, t, k, opts, &s, err);
	set_cache_kib(db, cache_was);
	*stats = s;
	return rc;
}

int ivf_write_centroids(sqlite3 *db, const vtab *t, const float *c, size_t k,
                        const ivf_write_opts *opts, ivf_write_stats *stats, prog_t *prog, char *err)
{
	return transaction(db, t, c, k, NULL, opts, stats, prog, err);
}

int ivf_load(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
             const ivf_write_opts *opts, ivf_write_stats *stats, prog_t *prog, char *err)
{
	ivf_write_opts o = *opts;
	o.assign = IVF_ASSIGN_BULK; /* every row is placed: none may be left unassigned */
	return transaction(db, t, c, k, rows, &o, stats, prog, err);
}

int ivf_vacuum(sqlite3 *db, ivf_write_stats *stats, char *err)
{
	double t0 = tm_now();
	if (sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK) {
		int full = (sqlite3_extended_errcode(db) & 0xff) == SQLITE_FULL;
		char why[ERR_LEN];
		snprintf(why, sizeof why, "%s", sqlite3_errmsg(db));
		/* a failed VACUUM, like a failed write, may leave its journal */
		if (play_back(db) != SQLITE_OK)
			return err_set(
			    err, ERR_FAIL,
			    "%sVACUUM failed: %s; its journal is not played back yet (%s): "
			    "the next open of the database will restore it",
			    full ? "disk full: " : "", why, sqlite3_errmsg(db));
		return err_set(err, ERR_FAIL, "%sVACUUM failed: %s; the file keeps its free pages",
		               full ? "disk full: " : "", why);
	}
	stats->vacuum_s = tm_now() - t0;
	return file_stats(db, stats, err);
}

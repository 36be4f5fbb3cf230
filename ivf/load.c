/*
 * load.c - the base tables of a bulk load (see load.h).
 *
 * The layout is what sqlite-vec v0.1.10-alpha.1 .. alpha.3 create for an
 * integer-key table without partition keys (sqlite-vec.c, VEC0_SHADOW_CHUNKS_CREATE
 * and VEC0_SHADOW_ROWIDS_CREATE_BASIC): read from sqlite_master and compared
 * byte for byte. Chunk rowids are native int64, as vec0 writes them through
 * sqlite3_blob_write.
 */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "err.h"
#include "sql.h"

static const char *const rowids_sql =
    "CREATE TABLE \"%w_rowids\"(rowid INTEGER PRIMARY KEY AUTOINCREMENT,id,chunk_id "
    "INTEGER,chunk_offset INTEGER)";
static const char *const chunks_sql =
    "CREATE TABLE \"%w_chunks\"(chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,size INTEGER NOT "
    "NULL,validity BLOB NOT NULL,rowids BLOB NOT NULL)";

/* 1 when base table <t>_<what> has the schema sql (a format taking the table
 * name), 0 if not (why filled), negative on error. */
static int base_schema(sqlite3 *db, const vtab *t, const char *what, const char *sql, char *why,
                       size_t len, char *err)
{
	char *name = sqlite3_mprintf("%s_%s", t->name, what);
	char *want = sqlite3_mprintf(sql, t->name);
	int rc = name && want ? bulk_same_sql(db, name, want, why, len, err)
	                      : err_set(err, ERR_NOMEM, "out of memory");
	sqlite3_free(name);
	sqlite3_free(want);
	return rc;
}

/* ERR_INPUT when any table of t already holds a row. */
static int empty(sqlite3 *db, const vtab *t, char *err)
{
	static const char *const what[] = {"rowids", "chunks"};
	static const char *const ivf[] = {"cells", "rowid_map"};
	int64_t n = 0;
	int rc = 0;
	for (int i = 0; i < 2 && !rc && !n; i++)
		rc = sql_scalar(db,
		                sqlite3_mprintf("SELECT count(*) FROM \"%w_%s\"", t->name, what[i]),
		                &n, err);
	for (int i = 0; i < 2 && !rc && !n; i++)
		rc = sql_scalar(
		    db, sqlite3_mprintf("SELECT count(*) FROM %z", vtab_ivf_shadow(t, ivf[i])), &n,
		    err);
	if (!rc && n)
		rc = err_set(err, ERR_INPUT, "table %s is not empty: a load fills an empty table",
		             t->name);
	return rc;
}

int load_ready(sqlite3 *db, const vtab *t, char *err)
{
	char why[200] = "";
	int64_t cols = 0;
	if (!t->is_ivf)
		return err_set(err, ERR_INPUT, "column %s.%s is not indexed by ivf(...)", t->name,
		               t->column);
	if (t->pk_text)
		return err_set(err, ERR_INPUT,
		               "table %s has a text primary key: a load writes integer keys only",
		               t->name);
	int rc = sql_scalar(db,
	                    sqlite3_mprintf("SELECT count(*) FROM pragma_table_xinfo(%Q) WHERE "
	                                    "hidden = 0",
	                                    t->name),
	                    &cols, err);
	if (rc < 0)
		return rc;
	if (cols != (t->pk[0] ? 2 : 1))
		return err_set(err, ERR_INPUT,
		               "table %s has columns besides its key and %s (auxiliary, metadata, "
		               "partition or vector): a load writes only those two",
		               t->name, t->column);
	if (t->chunk_size < 8 || t->chunk_size % 8)
		return err_set(err, ERR_INPUT, "table %s: chunk_size %d is not a multiple of 8",
		               t->name, t->chunk_size);
	rc = bulk_layout(db, t, why, sizeof why, err);
	if (rc == 1)
		rc = base_schema(db, t, "rowids", rowids_sql, why, sizeof why, err);
	if (rc == 1)
		rc = base_schema(db, t, "chunks", chunks_sql, why, sizeof why, err);
	if (rc == 0)
		return err_set(err, ERR_INPUT, "table %s cannot be loaded directly: %s", t->name,
		               why);
	return rc < 0 ? rc : empty(db, t, err);
}

/* ---- writing ------------------------------------------------------------------- */

int load_base(sqlite3 *db, const vtab *t, size_t n, int64_t first_id, char *err)
{
	sqlite3_stmt *chunk = NULL, *row = NULL;
	size_t cs = (size_t)t->chunk_size;
	unsigned char *validity = malloc(cs / 8);
	int64_t *rowids = malloc(cs * sizeof *rowids);
	int rc = validity && rowids ? 0 : err_set(err, ERR_NOMEM, "out of memory for a chunk");
	if (!rc)
		rc =
		    sql_prepare(db,
		                sqlite3_mprintf("INSERT INTO \"%w_chunks\"(size, validity, rowids) "
		                                "VALUES (?1, ?2, ?3)",
		                                t->name),
		                &chunk, err);
	if (!rc)
		rc = sql_prepare(db,
		                 sqlite3_mprintf("INSERT INTO \"%w_rowids\"(rowid, id, chunk_id, "
		                                 "chunk_offset) VALUES (?1, NULL, ?2, ?3)",
		                                 t->name),
		                 &row, err);
	for (size_t i0 = 0; i0 < n && !rc; i0 += cs) {
		size_t m = n - i0 < cs ? n - i0 : cs;
		memset(validity, 0, cs / 8);
		memset(rowids, 0, cs * sizeof *rowids);
		for (size_t j = 0; j < m; j++) {
			validity[j / 8] |= (unsigned char)(1u << (j % 8));
			rowids[j] = first_id + (int64_t)(i0 + j);
		}
		sqlite3_bind_int64(chunk, 1, (int64_t)cs);
		sqlite3_bind_blob(chunk, 2, validity, (int)(cs / 8), SQLITE_STATIC);
		sqlite3_bind_blob64(chunk, 3, rowids, cs * sizeof *rowids, SQLITE_STATIC);
		if ((rc = bulk_run_stmt(db, chunk, "writing a chunk", t, err)) < 0)
			break;
		int64_t id = sqlite3_last_insert_rowid(db);
		for (size_t j = 0; j < m && !rc; j++) {
			sqlite3_bind_int64(row, 1, rowids[j]);
			sqlite3_bind_int64(row, 2, id);
			sqlite3_bind_int64(row, 3, (int64_t)j);
			rc = bulk_run_stmt(db, row, "writing the rowids", t, err);
		}
	}
	sqlite3_finalize(chunk);
	sqlite3_finalize(row);
	free(validity);
	free(rowids);
	return rc;
}

/* ---- verifying ----------------------------------------------------------------- */

/* Every chunk's validity and rowids, in chunk id order. */
typedef struct chunks {
	size_t n, cap, cs;
	int64_t *id;
	unsigned char *validity; /* n x cs/8 */
	int64_t *rowids;         /* n x cs */
	int64_t live;
} chunks;

static void chunks_free(chunks *c)
{
	free(c->id);
	free(c->validity);
	free(c->rowids);
}

static int chunks_grow(chunks *c, char *err)
{
	size_t cap = c->cap ? 2 * c->cap : 64;
	int64_t *id = realloc(c->id, cap * sizeof *id);
	if (id)
		c->id = id;
	unsigned char *v = realloc(c->validity, cap * c->cs / 8);
	if (v)
		c->validity = v;
	int64_t *r = realloc(c->rowids, cap * c->cs * sizeof *r);
	if (r)
		c->rowids = r;
	if (!id || !v || !r)
		return err_set(err, ERR_NOMEM, "out of memory for the chunks");
	c->cap = cap;
	return 0;
}

static int chunks_read(sqlite3 *db, const vtab *t, chunks *c, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT chunk_id, size, validity, rowids FROM "
	                                     "\"%w_chunks\" ORDER BY chunk_id",
	                                     t->name),
	                     &st, err);
	int r = SQLITE_DONE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int64(st, 1) != (int64_t)c->cs ||
		    (size_t)sqlite3_column_bytes(st, 2) != c->cs / 8 ||
		    (size_t)sqlite3_column_bytes(st, 3) != c->cs * 8) {
			rc = err_set(
			    err, ERR_FAIL,
			    "verification failed: chunk %lld of %s is not of chunk_size %zu",
			    (long long)id, t->name, c->cs);
			break;
		}
		if (c->n == c->cap && (rc = chunks_grow(c, err)) < 0)
			break;
		unsigned char *v = c->validity + c->n * c->cs / 8;
		c->id[c->n] = id;
		memcpy(v, sqlite3_column_blob(st, 2), c->cs / 8);
		memcpy(c->rowids + c->n * c->cs, sqlite3_column_blob(st, 3), c->cs * 8);
		for (size_t j = 0; j < c->cs; j++)
			c->live += v[j / 8] >> (j % 8) & 1;
		c->n++;
	}
	if (!rc && r != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot read %s_chunks: %s", t->name,
		             sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

/* Index of chunk id in c, or -1. */
static ptrdiff_t chunk_find(const chunks *c, int64_t id)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->id[lo] == id ? (ptrdiff_t)lo : -1;
}

/* 1 when _rowids row (rowid, chunk, off) is live in c and named there. */
static int row_in_chunk(const chunks *c, int64_t rowid, int64_t chunk, int64_t off)
{
	ptrdiff_t i = chunk_find(c, chunk);
	if (i < 0 || off < 0 || off >= (int64_t)c->cs)
		return 0;
	const unsigned char *v = c->validity + (size_t)i * c->cs / 8;
	return (v[off / 8] >> (off % 8) & 1) && c->rowids[(size_t)i * c->cs + (size_t)off] == rowid;
}

int load_check_base(sqlite3 *db, const vtab *t, size_t n, int64_t first_id, char *err)
{
	chunks c = {.cs = (size_t)t->chunk_size};
	sqlite3_stmt *st = NULL;
	size_t i = 0;
	int rc = chunks_read(db, t, &c, err);
	if (!rc && c.live != (int64_t)n)
		rc = err_set(err, ERR_FAIL,
		             "verification failed: the chunks of %s mark %lld rows, expected %zu",
		             t->name, (long long)c.live, n);
	if (!rc)
		rc = sql_prepare(db,
		                 sqlite3_mprintf("SELECT rowid, id IS NULL, chunk_id, chunk_offset "
		                                 "FROM \"%w_rowids\" ORDER BY rowid",
		                                 t->name),
		                 &st, err);
	int r = SQLITE_DONE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rowid = sqlite3_column_int64(st, 0);
		if (i >= n || rowid != first_id + (int64_t)i || !sqlite3_column_int(st, 1) ||
		    !row_in_chunk(&c, rowid, sqlite3_column_int64(st, 2),
		                  sqlite3_column_int64(st, 3)))
			rc =
			    err_set(err, ERR_FAIL,
			            "verification failed: %s_rowids row %lld is not row %zu of the "
			            "load in the chunk slot it names",
			            t->name, (long long)rowid, i);
		i++;
	}
	if (!rc && r != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot read %s_rowids: %s", t->name,
		             sqlite3_errmsg(db));
	if (!rc && i != n)
		rc = err_set(err, ERR_FAIL,
		             "verification failed: %s_rowids holds %zu rows, expected %zu", t->name,
		             i, n);
	sqlite3_finalize(st);
	chunks_free(&c);
	return rc;
}

/*
 * load.c - the base tables of a bulk load (see load.h).
 *
 * The layout is what sqlite-vec v0.1.10-alpha.1 .. alpha.3 create for a table
 * without partition keys (sqlite-vec.c: VEC0_SHADOW_CHUNKS_CREATE,
 * VEC0_SHADOW_ROWIDS_CREATE_BASIC / _PK_TEXT and the _auxiliary table of
 * vec0_init), read from sqlite_master and compared byte for byte. Chunk rowids
 * are native int64, as vec0 writes them through sqlite3_blob_write.
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
static const char *const text_rowids_sql =
    "CREATE TABLE \"%w_rowids\"(rowid INTEGER PRIMARY KEY AUTOINCREMENT,id TEXT UNIQUE NOT "
    "NULL,chunk_id INTEGER,chunk_offset INTEGER)";
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

/* The _auxiliary table's CREATE statement for t's naux columns, as a format
 * taking the table name (sqlite3_free it). */
static char *aux_sql(const vtab *t)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	sqlite3_str_appendall(s, "CREATE TABLE \"%w_auxiliary\"( rowid integer PRIMARY KEY ");
	for (int i = 0; i < t->naux; i++)
		sqlite3_str_appendf(s, ", value%02d", i);
	sqlite3_str_appendall(s, ")");
	return sqlite3_str_finish(s);
}

int load_base_known(sqlite3 *db, const vtab *t, char *why, size_t len, char *err)
{
	int rc =
	    base_schema(db, t, "rowids", t->pk_text ? text_rowids_sql : rowids_sql, why, len, err);
	if (rc == 1)
		rc = base_schema(db, t, "chunks", chunks_sql, why, len, err);
	return rc;
}

/* bulk_layout and the base tables' schemas: 1 known, 0 not (why), < 0 error. */
static int base_layout(sqlite3 *db, const vtab *t, char *why, size_t len, char *err)
{
	int rc = bulk_layout(db, t, why, len, err);
	if (rc == 1)
		rc = load_base_known(db, t, why, len, err);
	if (rc == 1 && t->naux) {
		char *sql = aux_sql(t);
		rc = sql ? base_schema(db, t, "auxiliary", sql, why, len, err)
		         : err_set(err, ERR_NOMEM, "out of memory");
		sqlite3_free(sql);
	}
	return rc;
}

int load_ready(sqlite3 *db, const vtab *t, char *err)
{
	char why[200] = "";
	int64_t cols = 0;
	if (!t->is_ivf)
		return err_set(err, ERR_INPUT, "column %s.%s is not indexed by ivf(...)", t->name,
		               t->column);
	int rc = sql_scalar(db,
	                    sqlite3_mprintf("SELECT count(*) FROM pragma_table_xinfo(%Q) WHERE "
	                                    "hidden = 0",
	                                    t->name),
	                    &cols, err);
	if (rc < 0)
		return rc;
	if (cols != (t->pk[0] ? 2 : 1) + t->naux)
		return err_set(err, ERR_INPUT,
		               "table %s has columns besides its key, %s and auxiliary columns "
		               "(metadata, partition or vector): a load writes only those",
		               t->name, t->column);
	for (int i = 0; i < t->naux; i++)
		if (!t->aux_type[i])
			return err_set(
			    err, ERR_INPUT,
			    "table %s: auxiliary column %s has a type vec0 does not know", t->name,
			    t->aux[i]);
	if (t->chunk_size < 8 || t->chunk_size % 8)
		return err_set(err, ERR_INPUT, "table %s: chunk_size %d is not a multiple of 8",
		               t->name, t->chunk_size);
	rc = base_layout(db, t, why, sizeof why, err);
	if (rc == 0)
		return err_set(err, ERR_INPUT, "table %s cannot be loaded directly: %s", t->name,
		               why);
	return rc < 0 ? rc : empty(db, t, err);
}

/* ---- the rows -------------------------------------------------------------------- */

/* Row i's key for messages: "id 42", "id 'abc'". */
static void key_label(const load_rows *r, size_t i, char *buf, size_t len)
{
	if (r->text)
		snprintf(buf, len, "id '%.60s'", r->text[i] ? r->text[i] : "");
	else
		snprintf(buf, len, "id %lld",
		         (long long)(r->ids ? r->ids[i] : r->first_id + (int64_t)i));
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* ERR_INPUT naming a key r holds twice. */
static int unique_keys(const load_rows *r, const char *label, char *err)
{
	size_t n = r->n, sz = r->text ? sizeof *r->text : sizeof *r->ids;
	if (!r->text && !r->ids)
		return 0;
	void *v = malloc(n * sz);
	if (!v)
		return err_set(err, ERR_NOMEM, "out of memory for %zu keys", n);
	memcpy(v, r->text ? (const void *)r->text : (const void *)r->ids, n * sz);
	qsort(v, n, sz, r->text ? cmp_text : cmp_id);
	int rc = 0;
	for (size_t i = 1; i < n && !rc; i++) {
		if (r->text && !strcmp(((char **)v)[i - 1], ((char **)v)[i]))
			rc = err_set(err, ERR_INPUT, "%s: key '%.60s' appears twice", label,
			             ((char **)v)[i]);
		else if (!r->text && ((int64_t *)v)[i - 1] == ((int64_t *)v)[i])
			rc = err_set(err, ERR_INPUT, "%s: key %lld appears twice", label,
			             (long long)((int64_t *)v)[i]);
	}
	free(v);
	return rc;
}

static const char *type_name(int type)
{
	static const char *const names[] = {"NULL", "integer", "float", "text", "blob", "NULL"};
	return type >= 0 && type <= 5 ? names[type] : "unknown";
}

int load_check_rows(const vtab *t, const load_rows *r, const char *label, char *err)
{
	char key[96];
	if (t->pk_text && !r->text)
		return err_set(err, ERR_INPUT,
		               "table %s has a text primary key: %s gives integer keys", t->name,
		               label);
	if (!t->pk_text && r->text)
		return err_set(err, ERR_INPUT, "table %s has integer keys: %s gives text keys",
		               t->name, label);
	for (size_t i = 0; r->text && i < r->n; i++)
		if (!r->text[i])
			return err_set(err, ERR_INPUT, "%s: row %zu has no key", label, i);
	for (size_t i = 0; r->aux && i < r->n; i++)
		for (int a = 0; a < t->naux; a++) {
			sqlite3_value *v = r->aux[i * (size_t)t->naux + (size_t)a];
			int type = v ? sqlite3_value_type(v) : SQLITE_NULL;
			if (type == SQLITE_NULL || type == t->aux_type[a])
				continue;
			key_label(r, i, key, sizeof key);
			return err_set(err, ERR_INPUT,
			               "%s, %s: %s is %s, but %s.%s is declared %s (vec0 refuses "
			               "it)",
			               label, key, t->aux[a], type_name(type), t->name, t->aux[a],
			               type_name(t->aux_type[a]));
		}
	return unique_keys(r, label, err);
}

int load_rowids(sqlite3 *db, const vtab *t, const load_rows *r, int64_t **rowid, char *err)
{
	int64_t base = r->first_id;
	int rc = 0;
	/* what vec0's AUTOINCREMENT hands out next: past every rowid the table had */
	if (r->text)
		rc = sql_scalar(db,
		                sqlite3_mprintf("SELECT max(coalesce((SELECT seq FROM "
		                                "sqlite_sequence WHERE name = '%q_rowids'), 0), "
		                                "coalesce((SELECT max(rowid) FROM \"%w_rowids\"), "
		                                "0)) + 1",
		                                t->name, t->name),
		                &base, err);
	if (rc < 0)
		return rc;
	int64_t *v = malloc((r->n ? r->n : 1) * sizeof *v);
	if (!v)
		return err_set(err, ERR_NOMEM, "out of memory for %zu rowids", r->n);
	for (size_t i = 0; i < r->n; i++)
		v[i] = r->ids && !r->text ? r->ids[i] : base + (int64_t)i;
	*rowid = v;
	return 0;
}

/* ---- writing ------------------------------------------------------------------- */

/* The statement inserting a row's auxiliary values. */
static int prepare_aux(sqlite3 *db, const vtab *t, sqlite3_stmt **st, char *err)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	sqlite3_str_appendf(s, "INSERT INTO \"%w_auxiliary\"(rowid", t->name);
	for (int i = 0; i < t->naux; i++)
		sqlite3_str_appendf(s, ", value%02d", i);
	sqlite3_str_appendall(s, ") VALUES (?1");
	for (int i = 0; i < t->naux; i++)
		sqlite3_str_appendf(s, ", ?%d", i + 2);
	sqlite3_str_appendall(s, ")");
	return sql_prepare(db, sqlite3_str_finish(s), st, err);
}

/* Row i's _rowids row (and its auxiliary values) at chunk offset off. */
static int write_row(sqlite3 *db, const vtab *t, const load_rows *r, size_t i, int64_t rowid,
                     int64_t chunk, size_t off, sqlite3_stmt *row, sqlite3_stmt *aux, char *err)
{
	sqlite3_bind_int64(row, 1, rowid);
	if (r->text)
		sqlite3_bind_text(row, 2, r->text[i], -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(row, 2);
	sqlite3_bind_int64(row, 3, chunk);
	sqlite3_bind_int64(row, 4, (int64_t)off);
	int rc = bulk_run_stmt(db, row, "writing the rowids", t, err);
	if (rc || !aux)
		return rc;
	sqlite3_bind_int64(aux, 1, rowid);
	for (int a = 0; a < t->naux; a++) {
		sqlite3_value *v = r->aux ? r->aux[i * (size_t)t->naux + (size_t)a] : NULL;
		if (v)
			sqlite3_bind_value(aux, a + 2, v);
		else
			sqlite3_bind_null(aux, a + 2);
	}
	return bulk_run_stmt(db, aux, "writing the auxiliary values", t, err);
}

int load_base(sqlite3 *db, const vtab *t, const load_rows *r, const int64_t *rowid, char *err)
{
	sqlite3_stmt *chunk = NULL, *row = NULL, *aux = NULL;
	size_t cs = (size_t)t->chunk_size, n = r->n;
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
		                                 "chunk_offset) VALUES (?1, ?2, ?3, ?4)",
		                                 t->name),
		                 &row, err);
	if (!rc && t->naux)
		rc = prepare_aux(db, t, &aux, err);
	for (size_t i0 = 0; i0 < n && !rc; i0 += cs) {
		size_t m = n - i0 < cs ? n - i0 : cs;
		memset(validity, 0, cs / 8);
		memset(rowids, 0, cs * sizeof *rowids);
		for (size_t j = 0; j < m; j++) {
			validity[j / 8] |= (unsigned char)(1u << (j % 8));
			rowids[j] = rowid[i0 + j];
		}
		sqlite3_bind_int64(chunk, 1, (int64_t)cs);
		sqlite3_bind_blob(chunk, 2, validity, (int)(cs / 8), SQLITE_STATIC);
		sqlite3_bind_blob64(chunk, 3, rowids, cs * sizeof *rowids, SQLITE_STATIC);
		if ((rc = bulk_run_stmt(db, chunk, "writing a chunk", t, err)) < 0)
			break;
		int64_t id = sqlite3_last_insert_rowid(db);
		for (size_t j = 0; j < m && !rc; j++)
			rc = write_row(db, t, r, i0 + j, rowids[j], id, j, row, aux, err);
	}
	sqlite3_finalize(chunk);
	sqlite3_finalize(row);
	sqlite3_finalize(aux);
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

/* 1 when column col of st holds value v exactly (type and bytes). */
static int same_value(sqlite3_stmt *st, int col, sqlite3_value *v)
{
	int type = v ? sqlite3_value_type(v) : SQLITE_NULL;
	if (sqlite3_column_type(st, col) != type)
		return 0;
	switch (type) {
	case SQLITE_INTEGER:
		return sqlite3_column_int64(st, col) == sqlite3_value_int64(v);
	case SQLITE_FLOAT: {
		double x = sqlite3_column_double(st, col), y = sqlite3_value_double(v);
		return !memcmp(&x, &y, sizeof x);
	}
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *x = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
		                                    : sqlite3_column_blob(st, col);
		const void *y = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(v)
		                                    : sqlite3_value_blob(v);
		int nx = sqlite3_column_bytes(st, col), ny = sqlite3_value_bytes(v);
		return nx == ny && (!nx || !memcmp(x, y, (size_t)nx));
	}
	}
	return 1;
}

/* Row p of r as its _rowids row reads (st: rowid, id, chunk_id, chunk_offset). */
static int rowids_row_ok(const chunks *c, const load_rows *r, size_t p, int64_t rowid,
                         sqlite3_stmt *st)
{
	int id_ok = r->text ? sqlite3_column_type(st, 1) == SQLITE_TEXT &&
	                          !strcmp((const char *)sqlite3_column_text(st, 1), r->text[p])
	                    : sqlite3_column_type(st, 1) == SQLITE_NULL;
	return sqlite3_column_int64(st, 0) == rowid && id_ok &&
	       row_in_chunk(c, rowid, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
}

/* Row p of r as its _auxiliary row reads (st: rowid, value00, ...). */
static int aux_row_ok(const vtab *t, const load_rows *r, size_t p, int64_t rowid, sqlite3_stmt *st)
{
	if (sqlite3_column_int64(st, 0) != rowid)
		return 0;
	for (int a = 0; a < t->naux; a++)
		if (!same_value(st, a + 1, r->aux ? r->aux[p * (size_t)t->naux + (size_t)a] : NULL))
			return 0;
	return 1;
}

/* Walks base table <t>_<what> in rowid order against r's rows in the same
 * order (by order, NULL: as given): each must pass aux ? aux_row_ok :
 * rowids_row_ok, and there must be exactly n. */
static int walk_rows(sqlite3 *db, const vtab *t, const load_rows *r, const int64_t *rowid,
                     const size_t *order, const chunks *c, int aux, char *err)
{
	sqlite3_stmt *st = NULL;
	const char *what = aux ? "auxiliary" : "rowids";
	sqlite3_str *q = sqlite3_str_new(NULL);
	sqlite3_str_appendall(q, aux ? "SELECT rowid" : "SELECT rowid, id, chunk_id, chunk_offset");
	for (int a = 0; aux && a < t->naux; a++)
		sqlite3_str_appendf(q, ", value%02d", a);
	sqlite3_str_appendf(q, " FROM \"%w_%s\" ORDER BY rowid", t->name, what);
	int rc = sql_prepare(db, sqlite3_str_finish(q), &st, err);
	size_t i = 0;
	int s = SQLITE_DONE;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		size_t p = order ? order[i] : i;
		if (i >= r->n || !(aux ? aux_row_ok(t, r, p, rowid[p], st)
		                       : rowids_row_ok(c, r, p, rowid[p], st)))
			rc = err_set(err, ERR_FAIL,
			             "verification failed: %s_%s row %lld is not the row the load "
			             "wrote there",
			             t->name, what, (long long)sqlite3_column_int64(st, 0));
		i++;
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot read %s_%s: %s", t->name, what,
		             sqlite3_errmsg(db));
	if (!rc && i != r->n)
		rc = err_set(err, ERR_FAIL,
		             "verification failed: %s_%s holds %zu rows, expected %zu", t->name,
		             what, i, r->n);
	sqlite3_finalize(st);
	return rc;
}

int load_check_base(sqlite3 *db, const vtab *t, const load_rows *r, const int64_t *rowid, char *err)
{
	chunks c = {.cs = (size_t)t->chunk_size};
	size_t *order = NULL;
	int rc = chunks_read(db, t, &c, err);
	if (!rc && c.live != (int64_t)r->n)
		rc = err_set(err, ERR_FAIL,
		             "verification failed: the chunks of %s mark %lld rows, expected %zu",
		             t->name, (long long)c.live, r->n);
	if (!rc)
		rc = bulk_rowid_order(rowid, r->n, &order, err);
	if (!rc)
		rc = walk_rows(db, t, r, rowid, order, &c, 0, err);
	if (!rc && t->naux)
		rc = walk_rows(db, t, r, rowid, order, &c, 1, err);
	free(order);
	chunks_free(&c);
	return rc;
}

/*
 * source.c - the rows of a load (see source.h).
 *
 * A table is read with one SELECT of its key, vector and matching auxiliary
 * columns, through vec0 itself for a vec0 table (flat or IVF: its scan returns
 * each row's float32 vector). Two exceptions. A quantized IVF column's scan
 * returns the quantized bytes: its rows' float32 copies come from _ivf_vectors.
 * A flat vec0 column's vectors, on a layout
 * recognized (load_base_known and the _vector_chunks schema): vec0's scan reads
 * each row's vector through a blob open on its chunk, about 2 ms a row at 784
 * dimensions (60,000 rows: 136 s), so they are read one chunk at a time in the
 * order vec0's scan runs (_rowids by chunk_id, chunk_offset), each row's key
 * compared with the one vec0's scan gave.
 * Everything is held in memory (d x 4 bytes a row plus keys), as an HDF5 load
 * holds its train rows, since the write reads every row twice: once to train on
 * a sample, once to write.
 */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bulk.h"
#include "dist.h"
#include "err.h"
#include "h5ds.h"
#include "sql.h"

/* One table being read. */
typedef struct reader {
	sqlite3 *db;
	const vtab *t; /* the target */
	src_rows *s;
	size_t cap;
	sqlite3_stmt *json; /* vec_f32(?1): JSON text as vec0 reads it */
	sqlite3_stmt *pos;  /* a flat vec0 source's rows in scan order (or NULL) ... */
	sqlite3_stmt *vecs; /* ... and a chunk's vectors blob */
	sqlite3_stmt *copy; /* a quantized IVF source's float32 copy of a row (vtab_vector_sql):
	                       vec0's scan gives only its quantized bytes */
	int64_t chunk;      /* the chunk vecs is stepped on, -1 for none */
	char *err;
} reader;

const char *src_kind_name(src_kind k)
{
	return k == SRC_HDF5 ? "hdf5" : k == SRC_VEC0 ? "vec0 table" : "table";
}

void src_free(src_rows *s)
{
	for (size_t i = 0; s->text && i < s->rows.n; i++)
		free(s->text[i]);
	for (size_t i = 0; s->aux && i < s->rows.n * (size_t)s->naux; i++)
		sqlite3_value_free(s->aux[i]);
	free(s->x);
	free(s->ids);
	free(s->text);
	free(s->aux);
	memset(s, 0, sizeof *s);
}

/* ---- naming the source -------------------------------------------------------- */

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_sqlite(const char *path)
{
	char head[16] = "";
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(head, 1, sizeof head, f) : 0;
	if (f)
		fclose(f);
	return got == sizeof head && !memcmp(head, "SQLite format 3", 16);
}

/* 1 when db has a table called name, 0 if not, < 0 on error (a view has no
 * rowid to key its rows by). */
static int has_table(sqlite3 *db, const char *name, char *err)
{
	int64_t n = 0;
	int rc = sql_scalar(db,
	                    sqlite3_mprintf("SELECT count(*) FROM sqlite_master WHERE type = "
	                                    "'table' AND name = %Q COLLATE NOCASE",
	                                    name),
	                    &n, err);
	return rc < 0 ? rc : n > 0;
}

/* Splits spec into table and column (column "" when none): the whole of spec
 * when db has such a table, else at its last dot. whole is --load's value. */
static int split_table(sqlite3 *db, const char *spec, const char *whole, const char *where,
                       char *table, char *column, char *err)
{
	const char *dot = strrchr(spec, '.');
	int rc = has_table(db, spec, err);
	column[0] = 0;
	snprintf(table, VTAB_NAME, "%s", spec);
	if (rc == 0 && dot) {
		snprintf(table, VTAB_NAME, "%.*s", (int)(dot - spec), spec);
		snprintf(column, VTAB_NAME, "%s", dot + 1);
		rc = has_table(db, table, err);
	}
	if (rc == 0)
		rc = err_set(err, ERR_INPUT, "--load %s: no table %s in %s", whole, table, where);
	return rc < 0 ? rc : 0;
}

/* ---- reading rows ------------------------------------------------------------- */

static int grow(reader *r)
{
	src_rows *s = r->s;
	size_t cap = r->cap ? 2 * r->cap : 4096, d = r->t->d;
	float *x = realloc(s->x, cap * d * sizeof *x);
	if (x)
		s->x = x;
	int ok = x != NULL;
	if (ok && !s->text) {
		int64_t *ids = realloc(s->ids, cap * sizeof *ids);
		ok = ids != NULL;
		if (ok)
			s->ids = ids;
	}
	if (ok && s->text) {
		char **text = realloc(s->text, cap * sizeof *text);
		ok = text != NULL;
		if (ok)
			s->text = text;
	}
	if (ok && s->naux) {
		sqlite3_value **aux = realloc(s->aux, cap * (size_t)s->naux * sizeof *aux);
		ok = aux != NULL;
		if (ok)
			s->aux = aux;
	}
	if (!ok)
		return err_set(r->err, ERR_NOMEM, "out of memory reading %s (%zu rows)", s->label,
		               cap);
	r->cap = cap;
	return 0;
}

/* Row label for messages: "table docs, rowid 5" / "table docs, id 'a'". */
static void row_label(const reader *r, size_t i, char *buf, size_t len)
{
	const src_rows *s = r->s;
	if (s->text)
		snprintf(buf, len, "%s, id '%.60s'", s->label, s->text[i]);
	else
		snprintf(buf, len, "%s, rowid %lld", s->label, (long long)s->ids[i]);
}

/* Row i's vector from its chunk (r->pos, r->vecs): *blob, *bytes. */
static int chunk_vector(reader *r, size_t i, const char *row, const void **blob, size_t *bytes)
{
	size_t want = r->t->d * sizeof(float);
	int step = sqlite3_step(r->pos);
	const char *id = step == SQLITE_ROW ? (const char *)sqlite3_column_text(r->pos, 1) : NULL;
	int same =
	    step == SQLITE_ROW && (r->s->text ? id && !strcmp(id, r->s->text[i])
	                                      : sqlite3_column_int64(r->pos, 0) == r->s->ids[i]);
	if (!same)
		return err_set(r->err, ERR_FAIL,
		               "%s: vec0's scan and its _rowids table disagree on this row (%s)",
		               row,
		               step == SQLITE_ROW || step == SQLITE_DONE ? "another row"
		                                                         : sqlite3_errmsg(r->db));
	int64_t chunk = sqlite3_column_int64(r->pos, 2), off = sqlite3_column_int64(r->pos, 3);
	if (chunk != r->chunk) {
		sqlite3_reset(r->vecs);
		sqlite3_bind_int64(r->vecs, 1, chunk);
		r->chunk = sqlite3_step(r->vecs) == SQLITE_ROW ? chunk : -1;
	}
	size_t have = r->chunk == chunk ? (size_t)sqlite3_column_bytes(r->vecs, 0) : 0;
	if (off < 0 || (size_t)(off + 1) * want > have)
		return err_set(r->err, ERR_FAIL, "%s: chunk %lld holds no vector at offset %lld",
		               row, (long long)chunk, (long long)off);
	*blob = (const unsigned char *)sqlite3_column_blob(r->vecs, 0) + (size_t)off * want;
	*bytes = want;
	return 0;
}

/* Row i's vector from column col of st (or its chunk) into s->x. */
static int take_vector(reader *r, sqlite3_stmt *st, int col, size_t i)
{
	char row[800];
	size_t d = r->t->d, want = d * sizeof(float);
	int type = sqlite3_column_type(st, col);
	const void *blob = NULL;
	size_t bytes = 0;
	row_label(r, i, row, sizeof row);
	if (r->pos) {
		int rc = chunk_vector(r, i, row, &blob, &bytes);
		if (rc < 0)
			return rc;
	} else if (r->copy) {
		sqlite3_reset(r->copy);
		sqlite3_bind_value(r->copy, 1, sqlite3_column_value(st, 0));
		if (sqlite3_step(r->copy) != SQLITE_ROW)
			return err_set(r->err, ERR_FAIL, "%s: no float32 copy of %s in its _ivf_vectors "
			               "table (%s)", row, r->s->column, sqlite3_errmsg(r->db));
		blob = sqlite3_column_blob(r->copy, 0);
		bytes = (size_t)sqlite3_column_bytes(r->copy, 0);
	} else if (type == SQLITE_BLOB) {
		blob = sqlite3_column_blob(st, col);
		bytes = (size_t)sqlite3_column_bytes(st, col);
	} else if (type == SQLITE_TEXT) {
		sqlite3_reset(r->json);
		sqlite3_bind_value(r->json, 1, sqlite3_column_value(st, col));
		if (sqlite3_step(r->json) != SQLITE_ROW)
			return err_set(r->err, ERR_INPUT,
			               "%s: %s is text vec0 does not read as a "
			               "vector: %s",
			               row, r->s->column, sqlite3_errmsg(r->db));
		blob = sqlite3_column_blob(r->json, 0);
		bytes = (size_t)sqlite3_column_bytes(r->json, 0);
	} else {
		return err_set(r->err, ERR_INPUT, "%s: %s is %s, not a float32 BLOB or JSON text",
		               row, r->s->column, type == SQLITE_NULL ? "NULL" : "a number");
	}
	if (bytes != want)
		return err_set(
		    r->err, ERR_INPUT,
		    "%s: %s holds %zu bytes (%zu float32), table %s.%s has %zu dimensions", row,
		    r->s->column, bytes, bytes / 4, r->t->name, r->t->column, d);
	float *x = r->s->x + i * d;
	memcpy(x, blob, want);
	size_t bad = dist_first_nonfinite(x, 1, d);
	if (bad < d)
		return err_set(r->err, ERR_INPUT, "%s: %s[%zu] is %g", row, r->s->column, bad,
		               (double)x[bad]);
	return 0;
}

/* Row i's key (column 0) and auxiliary values (columns 2.., where aux[a] says
 * which, -1 for none) from st. */
static int take_row(reader *r, sqlite3_stmt *st, const int *aux, size_t i)
{
	src_rows *s = r->s;
	/* the row counts as read from here, so that src_free frees what it holds */
	if (s->text)
		s->text[i] = NULL;
	for (int a = 0; a < s->naux; a++)
		s->aux[i * (size_t)s->naux + (size_t)a] = NULL;
	s->rows.n = i + 1;
	if (s->text) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (sqlite3_column_type(st, 0) != SQLITE_TEXT || !k)
			return err_set(
			    r->err, ERR_INPUT, "%s, row %zu: its key is %s, not text", s->label,
			    i + 1, sqlite3_column_type(st, 0) == SQLITE_NULL ? "NULL" : "a number");
		if (!(s->text[i] = strdup(k)))
			return err_set(r->err, ERR_NOMEM, "out of memory for the keys");
	} else {
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
			return err_set(r->err, ERR_INPUT,
			               "%s, row %zu: its rowid is not an integer", s->label, i + 1);
		s->ids[i] = sqlite3_column_int64(st, 0);
	}
	for (int a = 0; a < s->naux; a++) {
		sqlite3_value **v = &s->aux[i * (size_t)s->naux + (size_t)a];
		if (aux[a] >= 0 && !(*v = sqlite3_value_dup(sqlite3_column_value(st, aux[a]))))
			return err_set(r->err, ERR_NOMEM, "out of memory for the auxiliary values");
	}
	return take_vector(r, st, 1, i);
}

/* Runs sql (key, vector, auxiliary columns) and keeps every row. */
static int read_rows(reader *r, char *sql, const int *aux, prog_t *prog)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(r->db, sql, &st, r->err);
	if (!rc)
		rc = sql_prepare(r->db, sqlite3_mprintf("SELECT vec_f32(?1)"), &r->json, r->err);
	size_t n = 0;
	int step = SQLITE_DONE;
	prog_begin(prog, "read rows", 0);
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == r->cap && (rc = grow(r)) < 0)
			break;
		rc = take_row(r, st, aux, n++);
		prog_update(prog, n);
	}
	prog_end(prog);
	if (!rc && step != SQLITE_DONE)
		rc = err_set(r->err, ERR_FAIL, "cannot read %s: %s", r->s->label,
		             sqlite3_errmsg(r->db));
	if (!rc && r->pos && sqlite3_step(r->pos) != SQLITE_DONE)
		rc = err_set(r->err, ERR_FAIL,
		             "%s: its _rowids table holds more rows than vec0's scan gave",
		             r->s->label);
	sqlite3_finalize(st);
	sqlite3_finalize(r->json);
	sqlite3_finalize(r->pos);
	sqlite3_finalize(r->vecs);
	sqlite3_finalize(r->copy);
	return rc;
}

/* Copies name into dst (len bytes), cut to fit. */
static void copy_name(char *dst, size_t len, const char *name)
{
	size_t n = strnlen(name, len - 1);
	memcpy(dst, name, n);
	dst[n] = 0;
}

/* Appends ", name" (or name first) to the list in buf, cut to fit. */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);
	if (used && used + 2 < len)
		copy_name(buf + used, len - used, ", ");
	used = strlen(buf);
	copy_name(buf + used, len - used, name);
}

/* The non-hidden columns of table name, into cols (n of them). */
static int columns(sqlite3 *db, const char *name, char (*cols)[VTAB_NAME], int max, int *n,
                   char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT name FROM pragma_table_xinfo(%Q) WHERE "
	                                     "hidden = 0",
	                                     name),
	                     &st, err);
	*n = 0;
	while (!rc && sqlite3_step(st) == SQLITE_ROW && *n < max)
		copy_name(cols[(*n)++], VTAB_NAME, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc;
}

static int find_col(char (*cols)[VTAB_NAME], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcasecmp(cols[i], name))
			return i;
	return -1;
}

/* A plain table's key: on a text-key target its one primary-key column, not
 * a rowid alias, into key; else the rowid, and its alias (an INTEGER PRIMARY
 * KEY column, "" when none) into alias. */
static int plain_key(sqlite3 *db, const char *table, const reader *r, char *key, char *alias,
                     char *err)
{
	sqlite3_stmt *st = NULL;
	char pk[VTAB_NAME] = "";
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT name, upper(type) = 'INTEGER' FROM "
	                                     "pragma_table_info(%Q) WHERE pk > 0",
	                                     table),
	                     &st, err);
	int n = 0, integer = 0;
	while (!rc && sqlite3_step(st) == SQLITE_ROW && n++ == 0) {
		copy_name(pk, sizeof pk, (const char *)sqlite3_column_text(st, 0));
		integer = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	copy_name(key, VTAB_NAME, r->t->pk_text ? pk : "rowid");
	copy_name(alias, VTAB_NAME, !r->t->pk_text && n == 1 && integer ? pk : "");
	if (!rc && r->t->pk_text && (n != 1 || integer))
		rc = err_set(err, ERR_INPUT,
		             "table %s has a text primary key: %s has %s, not one text primary "
		             "key column to take the keys from",
		             r->t->name, r->s->label,
		             n == 0    ? "no primary key"
		             : integer ? "an integer one"
		                       : "a composite one");
	return rc;
}

/* The plain table's vector column when none was named: the target's column
 * name, else the only column besides the key (and its alias) and the auxiliary
 * ones. */
static int pick_vector(const reader *r, char (*cols)[VTAB_NAME], int n, const char *key,
                       const char *alias, char *column, char *err)
{
	int found = find_col(cols, n, r->t->column), left = 0;
	char names[400] = "";
	for (int i = 0; found < 0 && i < n; i++) {
		int aux = 0;
		for (int a = 0; a < r->t->naux; a++)
			aux |= !strcasecmp(cols[i], r->t->aux[a]);
		if (aux || !strcasecmp(cols[i], key) || !strcasecmp(cols[i], alias))
			continue;
		list_add(names, sizeof names, cols[i]);
		if (++left == 1)
			copy_name(column, VTAB_NAME, cols[i]);
	}
	if (found >= 0)
		copy_name(column, VTAB_NAME, cols[found]);
	else if (left != 1)
		return err_set(err, ERR_INPUT,
		               "%s: cannot tell which column holds the vectors (%s): name it, "
		               "TABLE.COLUMN",
		               r->s->label, left ? names : "no column left");
	return 0;
}

/* Prepares r->pos and r->vecs when src is a flat vec0 column on a layout
 * known (else leaves them NULL: the vectors come through vec0's scan). */
static int open_chunks(reader *r, const vtab *src)
{
	char why[200], name[VTAB_NAME + 32];
	int rc = src->is_ivf ? 0 : load_base_known(r->db, src, why, sizeof why, r->err);
	snprintf(name, sizeof name, "%s_vector_chunks%02d", src->name, src->vec_index);
	char *want =
	    sqlite3_mprintf("CREATE TABLE \"%w\"(rowid PRIMARY KEY,vectors BLOB NOT NULL)", name);
	if (rc == 1)
		rc = want ? bulk_same_sql(r->db, name, want, why, sizeof why, r->err)
		          : err_set(r->err, ERR_NOMEM, "out of memory");
	sqlite3_free(want);
	if (rc == 1)
		rc = sql_prepare(r->db,
		                 sqlite3_mprintf("SELECT rowid, id, chunk_id, chunk_offset FROM "
		                                 "\"%w_rowids\" ORDER BY chunk_id, chunk_offset",
		                                 src->name),
		                 &r->pos, r->err);
	if (rc == 0 && r->pos)
		rc = sql_prepare(
		    r->db, sqlite3_mprintf("SELECT vectors FROM \"%w\" WHERE rowid = ?1", name),
		    &r->vecs, r->err);
	r->chunk = -1;
	return rc < 0 ? rc : 0;
}

/* Reads table (column: "" for the default) of db, whose file label is where. */
static int read_table(sqlite3 *db, const char *table, const char *column, const char *where,
                      const vtab *t, src_rows *s, prog_t *prog, char *err)
{
	reader r = {.db = db, .t = t, .s = s, .err = err};
	char cols[VTAB_MAX_VEC + VTAB_MAX_AUX + 64][VTAB_NAME], key[VTAB_NAME] = "rowid",
	                                                        alias[VTAB_NAME] = "";
	int ncols = 0, aux[VTAB_MAX_AUX];
	vtab src;
	snprintf(s->label, sizeof s->label, "table %s%s%s", table, where ? " of " : "",
	         where ? where : "");
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT sql FROM sqlite_master WHERE name = %Q "
	                                     "COLLATE NOCASE",
	                                     table),
	                     &st, err);
	int pr = 1;
	if (!rc && sqlite3_step(st) == SQLITE_ROW)
		pr = vtab_parse(table, (const char *)sqlite3_column_text(st, 0),
		                column[0] ? column : NULL, 0, &src, err);
	sqlite3_finalize(st);
	if (rc < 0 || pr < 0)
		return rc < 0 ? rc : pr;
	s->kind = pr == 0 ? SRC_VEC0 : SRC_TABLE;
	if (s->kind == SRC_VEC0) {
		if (strcmp(src.elem, "float") != 0 || src.d != t->d)
			return err_set(
			    err, ERR_INPUT,
			    "%s: column %s holds %zu-dimensional %s vectors, table %s.%s "
			    "takes %zu float ones",
			    s->label, src.column, src.d, src.elem, t->name, t->column, t->d);
		snprintf(s->column, sizeof s->column, "%s", src.column);
		if (src.pk[0]) /* declared "without rowid": its key is the rowid */
			snprintf(key, sizeof key, "%s", src.pk);
		if (!t->pk_text && src.pk_text)
			return err_set(err, ERR_INPUT,
			               "table %s has integer keys: %s gives text keys", t->name,
			               s->label);
		if (t->pk_text && !src.pk_text)
			return err_set(err, ERR_INPUT,
			               "table %s has a text primary key: %s gives integer keys",
			               t->name, s->label);
	}
	if ((rc = columns(db, table, cols, (int)(sizeof cols / sizeof *cols), &ncols, err)) < 0)
		return rc;
	if (s->kind == SRC_TABLE && (rc = plain_key(db, table, &r, key, alias, err)) < 0)
		return rc;
	if (s->kind == SRC_TABLE && column[0])
		copy_name(s->column, sizeof s->column, column);
	else if (s->kind == SRC_TABLE &&
	         (rc = pick_vector(&r, cols, ncols, key, alias, s->column, err)) < 0)
		return rc;
	if (find_col(cols, ncols, s->column) < 0)
		return err_set(err, ERR_INPUT, "%s has no column %s", s->label, s->column);
	s->text = t->pk_text ? calloc(1, sizeof *s->text) : NULL;
	s->naux = t->naux;
	if (s->kind == SRC_VEC0 && (rc = open_chunks(&r, &src)) < 0)
		return rc;
	if (s->kind == SRC_VEC0 && src.is_ivf && strcmp(src.quantizer, "none") != 0 &&
	    (rc = sql_prepare(db, vtab_vector_sql(&src), &r.copy, err)) < 0)
		return rc;
	sqlite3_str *q = sqlite3_str_new(NULL);
	/* rowid unquoted: "rowid" would be a string wherever no column has that name;
	 * no vector column when the chunks give it */
	sqlite3_str_appendf(q, strcmp(key, "rowid") ? "SELECT \"%w\", " : "SELECT %s, ", key);
	if (r.pos || r.copy)
		sqlite3_str_appendall(q, "NULL");
	else
		sqlite3_str_appendf(q, "\"%w\"", s->column);
	for (int a = 0, next = 2; a < t->naux; a++) {
		aux[a] = find_col(cols, ncols, t->aux[a]) >= 0 ? next++ : -1;
		if (aux[a] >= 0)
			sqlite3_str_appendf(q, ", \"%w\"", t->aux[a]);
		else
			list_add(s->aux_missing, sizeof s->aux_missing, t->aux[a]);
	}
	sqlite3_str_appendf(q, " FROM \"%w\"", table);
	return read_rows(&r, sqlite3_str_finish(q), aux, prog);
}

/* The train rows of an HDF5 file: row i gets id i. */
static int read_hdf5(const char *path, const vtab *t, src_rows *s, char *err)
{
	h5_dataset ds;
	int rc = h5_read(path, 0, &ds, err);
	if (rc < 0)
		return rc;
	if (ds.d != t->d)
		rc = err_set(err, ERR_INPUT, "--load %s: %zu dimensions, column %s.%s has %zu",
		             path, ds.d, t->name, t->column, t->d);
	s->kind = SRC_HDF5;
	snprintf(s->label, sizeof s->label, "%s", path);
	for (int a = 0; a < t->naux; a++)
		list_add(s->aux_missing, sizeof s->aux_missing, t->aux[a]);
	s->x = ds.train;
	s->rows.n = ds.n;
	ds.train = NULL;
	h5_free(&ds);
	return rc;
}

/* Reads FILE:TABLE[.COLUMN] through a read-only connection of its own. */
static int read_other(const char *spec, const char *colon, const vtab *t, vec0_ext *ext,
                      src_rows *s, prog_t *prog, char *err)
{
	char file[4096], table[VTAB_NAME], column[VTAB_NAME];
	sqlite3 *db = NULL;
	snprintf(file, sizeof file, "%.*s", (int)(colon - spec), spec);
	if (!is_file(file))
		return err_set(err, ERR_INPUT, "--load %s: no file %s", spec, file);
	int rc = vec0_open(file, SQLITE_OPEN_READONLY, 5000, ext, &db, err);
	if (!rc)
		rc = split_table(db, colon + 1, spec, file, table, column, err);
	if (!rc)
		rc = read_table(db, table, column, file, t, s, prog, err);
	sqlite3_close(db);
	return rc;
}

int src_read(const char *spec, sqlite3 *db, const vtab *t, vec0_ext *ext, src_rows *s, prog_t *prog,
             char *err)
{
	char table[VTAB_NAME], column[VTAB_NAME];
	const char *colon = strrchr(spec, ':'), *dot = strrchr(spec, '.');
	const char *dbfile = sqlite3_db_filename(db, "main");
	int rc = 0;
	memset(s, 0, sizeof *s);
	if (is_file(spec)) {
		if ((rc = has_table(db, spec, err)) != 0)
			return rc < 0
			           ? rc
			           : err_set(err, ERR_INPUT,
			                     "--load %s names both a file and a table of %s: write "
			                     "./%s for the file, %s:%s for the table",
			                     spec, dbfile, spec, dbfile, spec);
		if (is_sqlite(spec))
			return err_set(err, ERR_INPUT,
			               "--load %s is an SQLite database: name a table in it, "
			               "%s:TABLE[.COLUMN]",
			               spec, spec);
		rc = read_hdf5(spec, t, s, err);
	} else if (dot && (!strcmp(dot, ".hdf5") || !strcmp(dot, ".h5"))) {
		rc = read_hdf5(spec, t, s, err); /* names the missing file */
	} else if (colon) {
		rc = read_other(spec, colon, t, ext, s, prog, err);
	} else {
		rc = split_table(db, spec, spec, dbfile, table, column, err);
		if (!rc && !strcasecmp(table, t->name))
			rc = err_set(err, ERR_INPUT, "--load %s is the table being loaded", spec);
		if (!rc)
			rc = read_table(db, table, column, NULL, t, s, prog, err);
	}
	s->rows.x = s->x;
	s->rows.ids = s->ids;
	s->rows.text = s->text;
	s->rows.aux = s->aux;
	if (!rc && !s->rows.n)
		rc = err_set(err, ERR_INPUT, "%s has no rows to load", s->label);
	return rc < 0 ? rc : load_check_rows(t, &s->rows, s->label, err);
}

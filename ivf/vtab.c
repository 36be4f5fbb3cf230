/*
 * vtab.c - vec0 tables in a database (see vtab.h).
 *
 * The schema comes from the table's CREATE statement in sqlite_master
 * (vtab_parse). Every identifier that goes into SQL is quoted with %w. Rows are
 * always addressed through the table's key column (declared primary key or
 * rowid), never by shadow-table internals.
 */
#include "vtab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "err.h"
#include "intr.h"
#include "rng.h"
#include "sql.h"

/* ---- finding a table ------------------------------------------------------ */

int vtab_find(sqlite3 *db, const char *table, const char *column, int require_ivf, vtab *t,
              char *err)
{
	sqlite3_stmt *st = NULL;
	vtab cand;
	char names[256] = "", first_err[ERR_LEN] = "";
	int rc, matches = 0, seen = 0, nvec0 = 0;
	rc = sqlite3_prepare_v2(db,
	                        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND "
	                        "(?1 IS NULL OR name = ?1 COLLATE NOCASE) ORDER BY name",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = err_set(err, ERR_FAIL, "cannot read the schema: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		seen++;
		int pr = vtab_parse(name, (const char *)sqlite3_column_text(st, 1), column,
		                    require_ivf, &cand, first_err);
		nvec0 += pr <= 0; /* 1: not a vec0 table */
		if (pr)
			continue;
		if (matches++ == 0)
			*t = cand;
		size_t used = strlen(names);
		snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", name);
	}
	if (rc != SQLITE_DONE) {
		rc = err_set(err, ERR_FAIL, "cannot read the schema: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
	const char *file = sqlite3_db_filename(db, "main");
	if (!file || !*file)
		file = "the database";
	if (table && !seen)
		rc = err_set(err, ERR_INPUT, "no table %s in %s", table, file);
	else if ((table || (column && nvec0 == 1)) && !matches && first_err[0])
		rc = err_set(err, ERR_INPUT, "%s", first_err);
	else if (column && !matches && nvec0)
		rc = err_set(err, ERR_INPUT, "no vec0 table in %s has a vector column %s%s", file,
		             column, require_ivf ? " indexed by ivf(...)" : "");
	else if (table && !matches)
		rc = err_set(err, ERR_INPUT, "table %s is not a vec0 virtual table", table);
	else if (!matches)
		rc = err_set(err, ERR_INPUT, "no vec0 table%s in %s",
		             require_ivf ? " with an IVF column" : "", file);
	else if (matches > 1)
		rc = err_set(err, ERR_INPUT, "%d vec0 tables%s (%s): name one (--table)", matches,
		             require_ivf ? " with an IVF column" : "", names);
out:
	sqlite3_finalize(st);
	return rc;
}

/* ---- rows ---------------------------------------------------------------- */

const char *vtab_key(const vtab *t)
{
	return t->pk[0] ? t->pk : "rowid";
}

char *vtab_ivf_shadow(const vtab *t, const char *what)
{
	return sqlite3_mprintf("\"%w_ivf_%s%02d\"", t->name, what, t->vec_index);
}

char *vtab_vector_sql(const vtab *t)
{
	if (!t->is_ivf || !strcmp(t->quantizer, "none"))
		return sqlite3_mprintf("SELECT \"%w\" FROM \"%w\" WHERE \"%w\" = ?1", t->column,
		                       t->name, vtab_key(t));
	if (!t->pk_text)
		return sqlite3_mprintf("SELECT vector FROM \"%w_ivf_vectors%02d\" WHERE rowid = ?1",
		                       t->name, t->vec_index);
	return sqlite3_mprintf("SELECT v.vector FROM \"%w_ivf_vectors%02d\" v JOIN \"%w_rowids\" "
	                       "r ON r.rowid = v.rowid WHERE r.id = ?1",
	                       t->name, t->vec_index, t->name);
}

int vtab_count(sqlite3 *db, const vtab *t, int64_t *n, char *err)
{
	int rc = sql_scalar(db, sqlite3_mprintf("SELECT count(*) FROM \"%w\"", t->name), n, err);
	if (rc < 0) {
		char why[ERR_LEN];
		snprintf(why, sizeof why, "%s", err);
		err_set(err, rc, "cannot count the rows of %s: %s", t->name, why);
	}
	return rc;
}

void vtab_ids_free(vtab_ids *ids)
{
	if (!ids)
		return;
	if (ids->text)
		for (size_t i = 0; i < ids->n; i++)
			free(ids->text[i]);
	free(ids->text);
	free(ids->num);
	memset(ids, 0, sizeof *ids);
}

/* Appends the current row's key; grows the arrays geometrically. */
static int ids_push(vtab_ids *ids, size_t *cap, sqlite3_stmt *st, int text)
{
	if (ids->n == *cap) {
		size_t c = *cap ? 2 * *cap : 4096;
		void *p = text ? realloc(ids->text, c * sizeof *ids->text)
		               : realloc(ids->num, c * sizeof *ids->num);
		if (!p)
			return ERR_NOMEM;
		if (text)
			ids->text = p;
		else
			ids->num = p;
		*cap = c;
	}
	if (!text) {
		ids->num[ids->n++] = sqlite3_column_int64(st, 0);
		return 0;
	}
	const char *s = (const char *)sqlite3_column_text(st, 0);
	if (!(ids->text[ids->n] = strdup(s ? s : "")))
		return ERR_NOMEM;
	ids->n++;
	return 0;
}

int vtab_ids_read(sqlite3 *db, const vtab *t, vtab_ids *ids, char *err)
{
	sqlite3_stmt *st = NULL;
	vtab_ids got = {0};
	size_t cap = 0;
	int rc = sql_prepare(db, sqlite3_mprintf("SELECT \"%w\" FROM \"%w\"", vtab_key(t), t->name),
	                     &st, err);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (ids_push(&got, &cap, st, t->pk_text) < 0) {
			rc = err_set(err, ERR_NOMEM, "out of memory reading the keys of %s",
			             t->name);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = err_set(err, ERR_FAIL, "cannot read the keys of %s: %s", t->name,
		             sqlite3_errmsg(db));
		goto out;
	}
	*ids = got;
	memset(&got, 0, sizeof got);
	rc = 0;
out:
	vtab_ids_free(&got);
	sqlite3_finalize(st);
	return rc;
}

int vtab_ids_bind(sqlite3_stmt *st, int i, const vtab_ids *ids, size_t j)
{
	return ids->text ? sqlite3_bind_text(st, i, ids->text[j], -1, SQLITE_STATIC)
	                 : sqlite3_bind_int64(st, i, ids->num[j]);
}

int vtab_ids_match(const vtab_ids *ids, size_t j, sqlite3_stmt *st, int col)
{
	if (ids->text) {
		const char *s = (const char *)sqlite3_column_text(st, col);
		return s && strcmp(s, ids->text[j]) == 0;
	}
	return sqlite3_column_type(st, col) == SQLITE_INTEGER &&
	       sqlite3_column_int64(st, col) == ids->num[j];
}

void vtab_ids_label(const vtab *t, const vtab_ids *ids, size_t j, char *buf, size_t len)
{
	if (ids->text)
		snprintf(buf, len, "%s '%s'", vtab_key(t), ids->text[j]);
	else
		snprintf(buf, len, "%s %lld", vtab_key(t), (long long)ids->num[j]);
}

void vtab_release(sqlite3 *db, const vtab *t)
{
	char *prefix = sqlite3_mprintf("\"%w_", t->name);
	if (!prefix)
		return;
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
		if (sqlite3_stmt_busy(st) && sqlite3_stmt_readonly(st) &&
		    strstr(sqlite3_sql(st), prefix))
			sqlite3_reset(st);
	sqlite3_free(prefix);
}

/* ERR_INPUT naming the row and dimension j of the NaN/Inf in v. */
static int nonfinite_err(const vtab *t, const float *v, size_t j, const char *row, char *err)
{
	return err_set(err, ERR_INPUT, "table %s, %s: %s.%s[%zu] is %g", t->name, row, t->name,
	               t->column, j, (double)v[j]);
}

int vtab_sample(sqlite3 *db, const vtab *t, size_t m, uint64_t seed, float **x, size_t *got,
                prog_t *prog, char *err)
{
	vtab_ids ids = {0};
	uint64_t *pick = NULL;
	float *out = NULL;
	sqlite3_stmt *st = NULL;
	char row[VTAB_NAME + 48];
	int rc;
	if (strcmp(t->elem, "float") != 0)
		return err_set(err, ERR_INPUT,
		               "column %s.%s holds %s vectors; only float32 ones "
		               "can be sampled",
		               t->name, t->column, t->elem);
	if ((rc = vtab_ids_read(db, t, &ids, err)) < 0)
		return rc;
	if (m > ids.n)
		m = ids.n;
	pick = malloc((m ? m : 1) * sizeof *pick);
	out = malloc((m ? m : 1) * t->d * sizeof *out);
	if (!pick || !out) {
		rc = err_set(err, ERR_NOMEM, "out of memory for a sample of %zu x %zu floats", m,
		             t->d);
		goto out;
	}
	rng_t r;
	rng_seed(&r, seed);
	rng_sample(&r, ids.n, m, pick);
	rc = sql_prepare(db, vtab_vector_sql(t), &st, err);
	if (rc < 0)
		goto out;
	prog_begin(prog, "sample", m);
	for (size_t i = 0; i < m; i++) {
		vtab_ids_bind(st, 1, &ids, pick[i]);
		int s = sqlite3_step(st);
		if (s != SQLITE_ROW ||
		    (size_t)sqlite3_column_bytes(st, 0) != t->d * sizeof(float)) {
			vtab_ids_label(t, &ids, pick[i], row, sizeof row);
			rc =
			    err_set(err, ERR_FAIL,
			            "table %s, %s: cannot read its %zu-float vector: %s", t->name,
			            row, t->d, s == SQLITE_ROW ? "wrong size" : sqlite3_errmsg(db));
			goto out;
		}
		memcpy(out + i * t->d, sqlite3_column_blob(st, 0), t->d * sizeof(float));
		sqlite3_reset(st);
		size_t bad = dist_first_nonfinite(out + i * t->d, 1, t->d);
		if (bad < t->d) {
			vtab_ids_label(t, &ids, pick[i], row, sizeof row);
			rc = nonfinite_err(t, out + i * t->d, bad, row, err);
			goto out;
		}
		if ((i & 1023) == 0 && intr_pending()) {
			rc = err_set(err, ERR_INTR, "interrupted while sampling %s", t->name);
			goto out;
		}
		prog_update(prog, i + 1);
	}
	prog_end(prog);
	*x = out;
	*got = m;
	out = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	vtab_release(db, t);
	free(out);
	free(pick);
	vtab_ids_free(&ids);
	return rc;
}

/* ---- creating, inserting, querying ---------------------------------------- */

int vtab_create_sql(const vtab_spec *spec, char *sql, size_t len, char *err)
{
	char ivf[160] = "", chunk[32] = "";
	int quant = spec->quantizer[0] && strcmp(spec->quantizer, "none") != 0;
	if (!spec->name[0] || spec->d < 1)
		return err_set(err, ERR_INPUT, "table spec needs a name and d >= 1");
	if (spec->type_ivf) {
		int n = snprintf(ivf, sizeof ivf, " indexed by ivf(nlist=%d, nprobe=%d",
		                 spec->nlist, spec->nprobe);
		if (quant)
			n += snprintf(ivf + n, sizeof ivf - n, ", quantizer=%s", spec->quantizer);
		if (spec->oversample > 0)
			n += snprintf(ivf + n, sizeof ivf - n, ", oversample=%d", spec->oversample);
		snprintf(ivf + n, sizeof ivf - n, ")");
	}
	if (spec->chunk_size > 0)
		snprintf(chunk, sizeof chunk, ", chunk_size=%d", spec->chunk_size);
	char *s = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\" USING vec0(id integer primary key, "
	                          "emb float[%lld] distance_metric=%s%s%s%s%s)",
	                          spec->name, (long long)spec->d, vtab_metric_name(spec->metric),
	                          ivf, spec->label_col[0] ? ", " : "", spec->label_col, chunk);
	if (!s)
		return err_set(err, ERR_NOMEM, "out of memory");
	int rc = 0;
	if (strlen(s) >= len)
		rc = err_set(err, ERR_INPUT, "CREATE statement for %s longer than %zu bytes",
		             spec->name, len);
	else
		memcpy(sql, s, strlen(s) + 1);
	sqlite3_free(s);
	return rc;
}

int vtab_create(sqlite3 *db, const vtab_spec *spec, vtab *t, char *err)
{
	char sql[1024];
	char *msg = NULL;
	int rc = vtab_create_sql(spec, sql, sizeof sql, err);
	if (rc < 0)
		return rc;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		rc = err_set(err, ERR_FAIL, "cannot create table %s: %s", spec->name,
		             msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return rc;
	}
	return vtab_find(db, spec->name, "emb", 0, t, err);
}

/* Runs BEGIN/COMMIT around insert batches only when the caller has no
 * transaction of its own. */
static int maybe_exec(sqlite3 *db, int own, const char *sql, char *err)
{
	if (own && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return err_set(err, ERR_FAIL, "%s: %s", sql, sqlite3_errmsg(db));
	return 0;
}

int vtab_insert(sqlite3 *db, const vtab *t, const float *x, size_t n, int64_t first_id,
                size_t batch, prog_t *prog, char *err)
{
	return vtab_insert_labeled(db, t, x, NULL, NULL, n, first_id, batch, prog, err);
}

int vtab_insert_labeled(sqlite3 *db, const vtab *t, const float *x, const int32_t *labels,
                        const char *col, size_t n, int64_t first_id, size_t batch, prog_t *prog,
                        char *err)
{
	sqlite3_stmt *st = NULL;
	int own = sqlite3_get_autocommit(db), in_txn = 0;
	char row[VTAB_NAME + 48];
	int rc = sql_prepare(
	    db,
	    labels
	        ? sqlite3_mprintf("INSERT INTO \"%w\"(\"%w\", \"%w\", \"%w\") VALUES (?1, ?2, ?3)",
	                          t->name, vtab_key(t), t->column, col)
	        : sqlite3_mprintf("INSERT INTO \"%w\"(\"%w\", \"%w\") VALUES (?1, ?2)", t->name,
	                          vtab_key(t), t->column),
	    &st, err);
	if (rc < 0)
		return rc;
	if (batch < 1)
		batch = VTAB_BATCH;
	prog_begin(prog, "insert", n);
	for (size_t i = 0; i < n; i++) {
		const float *v = x + i * t->d;
		if (!in_txn && (rc = maybe_exec(db, own, "BEGIN", err)) < 0)
			goto out;
		in_txn = 1;
		int64_t id = first_id + (int64_t)i;
		size_t bad = dist_first_nonfinite(v, 1, t->d);
		if (bad < t->d) {
			snprintf(row, sizeof row, "%s %lld", vtab_key(t), (long long)id);
			rc = nonfinite_err(t, v, bad, row, err);
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_blob(st, 2, v, (int)(t->d * sizeof(float)), SQLITE_STATIC);
		if (labels)
			sqlite3_bind_int(st, 3, labels[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(row, sizeof row, "%s %lld", vtab_key(t), (long long)id);
			rc = err_set(err, ERR_FAIL, "insert into %s, %s: %s", t->name, row,
			             sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(st);
		if ((i + 1) % batch == 0 || i + 1 == n) {
			if ((rc = maybe_exec(db, own, "COMMIT", err)) < 0)
				goto out;
			in_txn = 0;
			prog_update(prog, i + 1);
			if (intr_pending() && i + 1 < n) {
				rc = err_set(err, ERR_INTR, "interrupted after %zu rows into %s",
				             i + 1, t->name);
				goto out;
			}
		}
	}
	prog_end(prog);
	rc = 0;
out:
	sqlite3_finalize(st);
	if (in_txn && own)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int vtab_query_prepare(sqlite3 *db, const vtab *t, size_t k, vtab_query *q, char *err)
{
	memset(q, 0, sizeof *q);
	if (t->pk_text)
		return err_set(err, ERR_INPUT,
		               "table %s has a text primary key; KNN ids are integers", t->name);
	int rc =
	    sql_prepare(db,
	                sqlite3_mprintf("SELECT \"%w\", distance FROM \"%w\" WHERE \"%w\" MATCH ?1 "
	                                "AND k = ?2",
	                                vtab_key(t), t->name, t->column),
	                &q->stmt, err);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(q->stmt, 2, (sqlite3_int64)k);
	q->d = t->d;
	q->k = k;
	return 0;
}

int vtab_query_run(vtab_query *q, const float *v, int64_t *ids, float *dists, size_t *got,
                   char *err)
{
	size_t n = 0;
	int rc;
	sqlite3_bind_blob(q->stmt, 1, v, (int)(q->d * sizeof(float)), SQLITE_STATIC);
	while ((rc = sqlite3_step(q->stmt)) == SQLITE_ROW && n < q->k) {
		ids[n] = sqlite3_column_int64(q->stmt, 0);
		dists[n] = (float)sqlite3_column_double(q->stmt, 1);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = err_set(err, ERR_FAIL, "KNN query failed: %s",
		             sqlite3_errmsg(sqlite3_db_handle(q->stmt)));
		sqlite3_reset(q->stmt);
		return rc;
	}
	sqlite3_reset(q->stmt);
	*got = n;
	return 0;
}

void vtab_query_finalize(vtab_query *q)
{
	if (!q)
		return;
	sqlite3_finalize(q->stmt);
	q->stmt = NULL;
}

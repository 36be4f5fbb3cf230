/*
 * filter.c - the filtered workload's data, queries and scoring (see filter.h).
 *
 * The post-filtering queries keep vec0 from seeing the label constraint: vec0
 * refuses a WHERE on an auxiliary column in a KNN query, and SQLite would push
 * `label = ?` from the outer query into the virtual table, so the outer query
 * compares `+label` (an expression, never pushed down).
 */
#include "filter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "sql.h"
#include "stats.h"

const char *const flt_mode_names[FLT_NMODES + 1] = {"metadata", "partition", "aux", "join", NULL};
NAMES_DEFINE(flt_mode, flt_mode)

int flt_mode_post(flt_mode m)
{
	return m == FLT_AUX || m == FLT_JOIN;
}

const char *flt_mode_column(flt_mode m)
{
	static const char *const cols[FLT_NMODES] = {FLT_COLUMN " integer",
	                                             FLT_COLUMN " integer partition key",
	                                             "+" FLT_COLUMN " integer", ""};
	return cols[m];
}

/* The class of a matching fraction: the nearest decade 10^-c, c in 0..9. */
static unsigned char flt_class_of(size_t matches, size_t n)
{
	if (!matches)
		return FLT_NCLASS - 1;
	long c = -lround(log10((double)matches / (double)n));
	return (unsigned char)(c < 0 ? 0 : c > FLT_NCLASS - 2 ? FLT_NCLASS - 2 : c);
}

const char *flt_class_name(size_t c)
{
	static const char *const names[FLT_NCLASS] = {
	    "100%",    "10%",      "1%",        "0.1%",       "0.01%", "0.001%",
	    "0.0001%", "0.00001%", "0.000001%", "0.0000001%", "none"};
	return c < FLT_NCLASS ? names[c] : "?";
}

/* The stored filtered ground truth must be this filter's, deep enough, and pass
 * vecdata info's checks. */
static int flt_check_gt(const flt_run *f, const char *path, const h5_dataset *ds, char *err)
{
	const fgt_data *g = &f->gt;
	if (!g->neighbors || strcmp(g->gt_filter, g->name) != 0)
		return err_set(err, ERR_INPUT,
		               "%s has no filtered ground truth for filter %s%s%s%s: make it with "
		               "`vecdata groundtruth %s --filter %s`",
		               path, g->name, g->neighbors ? " (it holds filter " : "",
		               g->neighbors ? g->gt_filter : "", g->neighbors ? ")" : "", path,
		               g->name);
	if (f->k > g->k)
		return err_set(err, ERR_INPUT,
		               "%s: k = %zu but the filtered ground truth holds %zu neighbours",
		               path, f->k, g->k);
	gt_metric m;
	gt_report rep;
	char why[ERR_LEN];
	int rc = gt_metric_parse(ds->distance, &m, why);
	if (!rc)
		rc = fgt_check(ds->train, ds->n, ds->test, ds->nq, ds->d, m, g->labels, g->qfilter,
		               g->neighbors, g->distances, g->k, GT_DEFAULT_SPOT, &rep, why);
	if (!rc && (rc = gt_report_verdict(&rep, ds->nq, why)) < 0)
		rc = ERR_INPUT;
	if (rc)
		return err_set(err, rc, "%s: filtered: %s (see `vecdata info %s`)", path, why,
		               path);
	return ERR_OK;
}

int flt_open(flt_run *f, const char *path, const char *name, const h5_dataset *ds, size_t nq,
             size_t k, char *err)
{
	memset(f, 0, sizeof *f);
	f->nq = nq;
	f->k = k;
	int rc = fgt_read(path, name, ds->n, ds->nq, &f->gt, err);
	if (!rc)
		rc = flt_check_gt(f, path, ds, err);
	if (rc) {
		flt_close(f);
		return rc;
	}
	f->matches = malloc(ds->nq * sizeof *f->matches);
	f->cls = malloc(nq ? nq : 1);
	if (!f->matches || !f->cls) {
		flt_close(f);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	fgt_matches(f->gt.labels, ds->n, f->gt.qfilter, ds->nq, f->matches);
	for (size_t q = 0; q < nq; q++) {
		f->cls[q] = flt_class_of(f->matches[q], ds->n);
		f->class_nq[f->cls[q]]++;
		f->class_sel[f->cls[q]] += (double)f->matches[q] / (double)ds->n;
	}
	for (size_t c = 0; c < FLT_NCLASS; c++)
		f->class_sel[c] = f->class_nq[c] ? f->class_sel[c] / (double)f->class_nq[c] : 0;
	return ERR_OK;
}

void flt_close(flt_run *f)
{
	if (!f)
		return;
	fgt_free(&f->gt);
	free(f->matches);
	free(f->cls);
	memset(f, 0, sizeof *f);
}

size_t flt_truth(const flt_run *f, size_t q, const int32_t **ids)
{
	*ids = f->gt.neighbors + q * f->gt.k;
	return f->matches[q] < f->k ? f->matches[q] : f->k;
}

/* sqlite3_exec of sql (from sqlite3_mprintf, freed here; NULL: out of memory). */
static int flt_exec(sqlite3 *db, char *sql, char *err)
{
	int rc = ERR_OK;
	if (!sql)
		return err_set(err, ERR_NOMEM, "out of memory");
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = err_set(err, ERR_FAIL, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_free(sql);
	return rc;
}

int flt_mode_supported(sqlite3 *db, flt_mode m, int ivf, char *why, size_t len)
{
	char *sql = sqlite3_mprintf(
	    "CREATE VIRTUAL TABLE temp.flt_probe USING vec0(id integer primary key, emb "
	    "float[2]%s%s%s); DROP TABLE temp.flt_probe",
	    ivf ? " indexed by ivf(nlist=1, nprobe=1)" : "", *flt_mode_column(m) ? ", " : "",
	    flt_mode_column(m));
	char *msg = NULL;
	int ok = sql && sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
	if (!ok)
		snprintf(why, len, "vec0 refuses filter_column = %s on %s tables: %s",
		         flt_mode_name(m), ivf ? "IVF" : "flat", msg ? msg : "out of memory");
	sqlite3_free(msg);
	sqlite3_free(sql);
	return ok;
}

int flt_load_join(sqlite3 *db, const vtab *t, const int32_t *labels, size_t n, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = flt_exec(db,
	                  sqlite3_mprintf("BEGIN; CREATE TABLE \"%w_labels\"(id INTEGER PRIMARY "
	                                  "KEY, " FLT_COLUMN " INTEGER NOT NULL)",
	                                  t->name),
	                  err);
	if (!rc)
		rc = sql_prepare(
		    db, sqlite3_mprintf("INSERT INTO \"%w_labels\" VALUES (?1, ?2)", t->name), &st,
		    err);
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
		sqlite3_bind_int(st, 2, labels[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = err_set(err, ERR_FAIL, "insert into %s_labels: %s", t->name,
			             sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (!rc)
		return flt_exec(db, sqlite3_mprintf("COMMIT"), err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int flt_query_prepare(sqlite3 *db, const vtab *t, flt_mode m, size_t k, flt_query *q, char *err)
{
	char *sql;
	const char *key = vtab_key(t);
	memset(q, 0, sizeof *q);
	if (m == FLT_AUX)
		sql = sqlite3_mprintf("SELECT \"%w\", distance FROM (SELECT \"%w\", distance, "
		                      "\"%w\" FROM \"%w\" WHERE \"%w\" MATCH ?1 AND k = ?2) WHERE "
		                      "+\"%w\" = ?3 ORDER BY distance LIMIT ?4",
		                      key, key, FLT_COLUMN, t->name, t->column, FLT_COLUMN);
	else if (m == FLT_JOIN)
		sql = sqlite3_mprintf("SELECT v.\"%w\", v.distance FROM (SELECT \"%w\", distance "
		                      "FROM \"%w\" WHERE \"%w\" MATCH ?1 AND k = ?2) v JOIN "
		                      "\"%w_labels\" l ON l.id = v.\"%w\" WHERE l." FLT_COLUMN
		                      " = ?3 ORDER BY v.distance LIMIT ?4",
		                      key, key, t->name, t->column, t->name, key);
	else
		sql = sqlite3_mprintf("SELECT \"%w\", distance FROM \"%w\" WHERE \"%w\" MATCH ?1 "
		                      "AND k = ?2 AND \"%w\" = ?3",
		                      key, t->name, t->column, FLT_COLUMN);
	int rc = sql_prepare(db, sql, &q->q.stmt, err);
	if (rc)
		return rc;
	if (!(q->dists = malloc(k * sizeof *q->dists))) {
		flt_query_finalize(q);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	q->q.d = t->d;
	q->q.k = k;
	q->post = flt_mode_post(m);
	sqlite3_bind_int64(q->q.stmt, 2, (sqlite3_int64)k);
	if (q->post)
		sqlite3_bind_int64(q->q.stmt, 4, (sqlite3_int64)k);
	return ERR_OK;
}

int flt_query_run(flt_query *q, const float *v, int32_t label, int oversample, int64_t *ids,
                  size_t *got, char *err)
{
	if (q->post)
		sqlite3_bind_int64(q->q.stmt, 2, (sqlite3_int64)(q->q.k * (size_t)oversample));
	sqlite3_bind_int(q->q.stmt, 3, label);
	return vtab_query_run(&q->q, v, ids, q->dists, got, err);
}

void flt_query_finalize(flt_query *q)
{
	vtab_query_finalize(&q->q);
	free(q->dists);
	q->dists = NULL;
}

double flt_recall(const flt_run *f, size_t q, const int64_t *ids, size_t got, int *under_k)
{
	const int32_t *truth;
	size_t m = flt_truth(f, q, &truth);
	*under_k = got < m;
	if (!m)
		return got ? 0 : 1;
	return stats_recall_ids(ids, got, truth, m);
}

void flt_score(const flt_run *f, const double *recall_q, const unsigned char *under_q,
               const double *lat_s, flt_point *out)
{
	memset(out, 0, sizeof *out);
	for (size_t q = 0; q < f->nq; q++) {
		flt_class_pt *c = &out->c[f->cls[q]];
		c->nq++;
		c->under_k += under_q[q];
		c->recall += recall_q[q];
		c->lat_s += lat_s[q];
		out->under_k += under_q[q];
	}
	for (size_t c = 0; c < FLT_NCLASS; c++)
		if (out->c[c].nq)
			out->c[c].recall /= (double)out->c[c].nq;
}

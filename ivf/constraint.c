/*
 * constraint.c - probing a vec0 table's handling of KNN constraints (see
 * constraint.h).
 */
#include "constraint.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "sql.h"

#define VCON_K 40  /* the unconstrained answer the probes are drawn from */
#define VCON_KQ 10 /* k of the constrained queries */
#define VCON_A 30  /* rows of the IN list: outside the constrained top 10 */
#define VCON_B 35
#define VCON_THR 5 /* distance threshold: the 6th row's */

/* Runs t's KNN for q with k rows and an extra WHERE term (may be ""), binding
 * x to ?3 when extra uses it; ids/dists get *got rows. */
static int vcon_knn(sqlite3 *db, const vtab *t, const float *q, int k, const char *extra, double x,
                    int64_t *ids, double *dists, int *got, char *err)
{
	sqlite3_stmt *st;
	int rc = sql_prepare(db,
	                     sqlite3_mprintf("SELECT \"%w\", distance FROM \"%w\" WHERE \"%w\" "
	                                     "MATCH ?1 AND k = ?2%s",
	                                     vtab_key(t), t->name, t->column, extra),
	                     &st, err);
	if (rc)
		return rc;
	sqlite3_bind_blob(st, 1, q, (int)(t->d * sizeof(float)), SQLITE_STATIC);
	sqlite3_bind_int(st, 2, k);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_double(st, 3, x);
	int n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < VCON_K) {
		ids[n] = sqlite3_column_int64(st, 0);
		dists[n++] = sqlite3_column_double(st, 1);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		rc = err_set(err, ERR_FAIL, "KNN probe on %s: %s", t->name, sqlite3_errmsg(db));
	else
		rc = ERR_OK;
	sqlite3_finalize(st);
	vtab_release(db, t);
	*got = n;
	return rc;
}

int vcon_probe(sqlite3 *db, const vtab *t, const float *q, vcon_result *res, char *err)
{
	int64_t ids[VCON_K], cid[VCON_K];
	double d[VCON_K], cd[VCON_K];
	int n, m;
	char extra[96];
	memset(res, 0, sizeof *res);
	int rc = vcon_knn(db, t, q, VCON_K, "", 0, ids, d, &n, err);
	if (rc)
		return rc;
	if (n < VCON_K)
		return err_set(err, ERR_INPUT,
		               "%s: the constraint probe needs %d rows in a KNN answer, got %d",
		               t->name, VCON_K, n);
	int64_t a = ids[VCON_A], b = ids[VCON_B];
	snprintf(extra, sizeof extra, " AND \"%s\" IN (%lld, %lld)", vtab_key(t), (long long)a,
	         (long long)b);
	if ((rc = vcon_knn(db, t, q, VCON_KQ, extra, 0, cid, cd, &m, err)))
		return rc;
	res->key_in = m == 2 && ((cid[0] == a && cid[1] == b) || (cid[0] == b && cid[1] == a));
	double thr = d[VCON_THR];
	if ((rc = vcon_knn(db, t, q, VCON_KQ, " AND distance > ?3", thr, cid, cd, &m, err)))
		return rc;
	res->distance_gt = m > 0;
	for (int i = 0; i < m; i++)
		res->distance_gt &= cd[i] > thr;
	return ERR_OK;
}

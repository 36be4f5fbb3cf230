/*
 * check.c - the audit of a vec0 IVF index (see check.h).
 *
 * One pass over the cells in cell order collects every live slot as (rowid,
 * position = cell * 64 + slot, hash) and feeds their vectors, a batch at a time,
 * to km_assign for the nearest-centroid check. Everything else is merges over
 * sorted arrays: live slots by rowid against the rowid map, the table's rowids
 * and the expected hashes; map rows by position to find two rows on one slot;
 * live slots by position (their scan order) to say what a wrong map row points at.
 */
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "intr.h"
#include "kmeans.h"
#include "quant.h"
#include "sql.h"

#define CHECK_VALIDITY (CHECK_CELL / 8)
#define CHECK_NEAR_BATCH 8192 /* rows per nearest-centroid GEMM (25 MiB at 784 dims) */
#define CHECK_TIE_REL 1e-5    /* a row this close to two centroids may sit in either */

static const char *const kind_text[CHECK_NKINDS] = {
    [CHECK_TRAINED] = "the trained flag is not 1",
    [CHECK_CENTROIDS] = "centroids that are not ids 0..k-1 of the stored vector size",
    [CHECK_CELL_CENTROID] = "cells of a centroid that does not exist",
    [CHECK_CELL_BLOBS] = "cells whose blobs are not full size",
    [CHECK_COUNT] = "cells whose n_vectors differs from their live slots",
    [CHECK_UNASSIGNED] = "rows in unassigned cells (centroid -1)",
    [CHECK_DUP_ROW] = "rows live in more than one slot",
    [CHECK_NO_MAP] = "live slots without a rowid-map row",
    [CHECK_MAP_MISMATCH] = "rowid-map rows that do not point at their row's slot",
    [CHECK_SAME_SLOT] = "rowid-map rows on the same slot as another row",
    [CHECK_NOT_IN_INDEX] = "table rows missing from the index",
    [CHECK_NOT_IN_TABLE] = "index rows that are not in the table",
    [CHECK_VECTOR] = "rows whose vector bytes differ from the source",
    [CHECK_MISPLACED] = "rows not in their nearest centroid's cell",
    [CHECK_FULL] = "rows without a float32 copy of their size in _ivf_vectors",
    [CHECK_QUANT] = "cell vectors that are not their _ivf_vectors copy quantized",
    [CHECK_FULL_EXTRA] = "_ivf_vectors copies of rows that are not in the index",
};

/* ---- hashes -------------------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* Word at a time: the verification hashes every row of the table under the
 * write lock, so it must run at memory speed. */
static uint64_t row_hash(int64_t rowid, const void *vec, size_t len)
{
	const unsigned char *p = vec;
	uint64_t h = mix64((uint64_t)rowid ^ 0x9e3779b97f4a7c15ULL), w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h = (h << 31) | (h >> 33);
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return mix64(h ^ len);
}

int check_rows_add(check_rows *r, int64_t rowid, const void *vec, size_t len, char *err)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 4096;
		check_row *v = realloc(r->v, cap * sizeof *v);
		if (!v)
			return err_set(err, ERR_NOMEM, "out of memory for %zu row hashes", cap);
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].rowid = rowid;
	r->v[r->n].centroid = -1;
	r->v[r->n++].hash = row_hash(rowid, vec, len);
	return 0;
}

void check_rows_free(check_rows *r)
{
	if (!r)
		return;
	free(r->v);
	memset(r, 0, sizeof *r);
}

/* ---- the audit's state ------------------------------------------------------------ */

typedef struct slot {
	int64_t rowid;
	int64_t pos; /* cell * CHECK_CELL + slot */
	uint64_t hash;
	int64_t centroid; /* of its cell */
} slot;

typedef struct audit {
	sqlite3 *db;
	const vtab *t;
	check_report *r;
	size_t d, vs; /* dimensions, bytes per stored vector */
	size_t k;
	quant_kind q;
	float *c;           /* k x d centroids for the nearest check (unit norm for cosine) */
	unsigned char *cq;  /* quantized: k x vs centroids as stored */
	sqlite3_stmt *full; /* quantized: a row's float32 copy by rowid */
	float *fx;          /* quantized: that copy */
	unsigned char *fq;  /* quantized: that copy quantized */
	slot *live;         /* every live slot */
	size_t nlive, cap;
	/* the nearest-centroid batch */
	float *x;
	unsigned char *xq; /* quantized: the batch's cell vectors */
	int64_t *xid;
	int32_t *xc, *near;
	float *dist;
	size_t m;
	char *err;
} audit;

static void note(check_report *r, check_kind kind, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Counts n problems of a kind; the first few are named by fmt. */
static void note(check_report *r, check_kind kind, int64_t n, const char *fmt, ...)
{
	check_problem *p = &r->p[kind];
	if (p->nex < CHECK_EXAMPLES) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->ex[p->nex++], sizeof p->ex[0], fmt, ap);
		va_end(ap);
	}
	p->count += n;
	r->problems += n;
}

/* ---- centroids and the trained flag --------------------------------------------- */

static int read_trained(audit *a)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(a->db,
	                     sqlite3_mprintf("SELECT value FROM \"%w_info\" WHERE key = "
	                                     "'ivf_trained_%d'",
	                                     a->t->name, a->t->vec_index),
	                     &st, a->err);
	if (rc < 0)
		return rc;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW && sqlite3_column_int(st, 0) != 1)
		note(a->r, CHECK_TRAINED, 1, "ivf_trained_%d = %s", a->t->vec_index,
		     sqlite3_column_text(st, 0));
	else if (s == SQLITE_DONE)
		note(a->r, CHECK_TRAINED, 1, "no ivf_trained_%d key", a->t->vec_index);
	else if (s != SQLITE_ROW)
		rc = err_set(a->err, ERR_FAIL, "cannot read %s_info: %s", a->t->name,
		             sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	return rc;
}

static int read_centroids(audit *a)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(a->db,
	                     sqlite3_mprintf("SELECT centroid_id, centroid FROM %z ORDER BY "
	                                     "centroid_id",
	                                     vtab_ivf_shadow(a->t, "centroids")),
	                     &st, a->err);
	size_t cap = 0;
	int s;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		size_t bytes = (size_t)sqlite3_column_bytes(st, 1);
		if (id != (int64_t)a->k || bytes != a->vs)
			note(a->r, CHECK_CENTROIDS, 1, "centroid %lld (#%zu): %zu bytes",
			     (long long)id, a->k, bytes);
		if (a->k == cap) {
			cap = cap ? 2 * cap : 256;
			float *c = realloc(a->c, cap * a->d * sizeof *c);
			if (c)
				a->c = c;
			unsigned char *cq = c ? realloc(a->cq, cap * a->vs) : NULL;
			if (!cq)
				return err_set(a->err, ERR_NOMEM, "out of memory for centroids");
			a->cq = cq;
		}
		memset(a->c + a->k * a->d, 0, a->d * sizeof(float));
		memset(a->cq + a->k * a->vs, 0, a->vs);
		if (bytes == a->vs && a->q == QUANT_NONE)
			memcpy(a->c + a->k * a->d, sqlite3_column_blob(st, 1), bytes);
		else if (bytes == a->vs)
			memcpy(a->cq + a->k * a->vs, sqlite3_column_blob(st, 1), bytes);
		a->k++;
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(a->err, ERR_FAIL, "cannot read the centroids of %s: %s", a->t->name,
		             sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	a->r->centroids = (int64_t)a->k;
	if (rc || !a->k || a->t->metric != VTAB_COSINE || a->q != QUANT_NONE)
		return rc;
	float *unit = km_normalised(a->c, a->k, a->d);
	if (!unit)
		return err_set(a->err, ERR_NOMEM, "out of memory for centroids");
	free(a->c);
	a->c = unit;
	return 0;
}

/* ---- nearest centroids ---------------------------------------------------------------- */

/* The batch's rows against every centroid; a row counts as misplaced only when
 * its own centroid is farther than the nearest by more than round-off. */
static int nearest_flush(audit *a)
{
	int rc = !a->m ? 0
	         : a->q == QUANT_NONE
	             ? km_assign(a->x, a->m, a->d, a->c, a->k, a->near, a->dist, a->err)
	             : quant_nearest(a->q, a->xq, a->m, a->cq, a->k, a->d, a->near, a->err);
	for (size_t i = 0; i < a->m && !rc; i++) {
		if (a->near[i] == a->xc[i])
			continue;
		if (a->q != QUANT_NONE) { /* vec0's choice, reproduced exactly: no tolerance */
			note(a->r, CHECK_MISPLACED, 1,
			     "rowid %lld (cell of centroid %d, vec0 chooses %d)",
			     (long long)a->xid[i], a->xc[i], a->near[i]);
			continue;
		}
		int32_t one;
		float own;
		rc = km_assign(a->x + i * a->d, 1, a->d, a->c + (size_t)a->xc[i] * a->d, 1, &one,
		               &own, a->err);
		if (!rc && own > a->dist[i] + CHECK_TIE_REL * (a->dist[i] + 1e-30f))
			note(a->r, CHECK_MISPLACED, 1,
			     "rowid %lld (cell of centroid %d, nearest %d)", (long long)a->xid[i],
			     a->xc[i], a->near[i]);
	}
	a->r->nearest_checked += (int64_t)a->m;
	a->m = 0;
	return rc;
}

static int nearest_add(audit *a, int64_t rowid, int32_t cid, const void *vec)
{
	if (a->q == QUANT_NONE)
		memcpy(a->x + a->m * a->d, vec, a->d * sizeof(float));
	else
		memcpy(a->xq + a->m * a->vs, vec, a->vs);
	a->xid[a->m] = rowid;
	a->xc[a->m++] = cid;
	return a->m == CHECK_NEAR_BATCH ? nearest_flush(a) : 0;
}

/* ---- cells ------------------------------------------------------------------------ */

static int centroid_exists(const audit *a, int64_t cid)
{
	return cid >= 0 && cid < (int64_t)a->k;
}

/* hv, hlen: the bytes the row's hash is of (its float32 vector). */
static int live_add(audit *a, int64_t rowid, int64_t pos, int64_t cid, const void *hv, size_t hlen)
{
	if (a->nlive == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 4096;
		slot *v = realloc(a->live, cap * sizeof *v);
		if (!v)
			return err_set(a->err, ERR_NOMEM, "out of memory for %zu slots", cap);
		a->live = v;
		a->cap = cap;
	}
	a->live[a->nlive].rowid = rowid;
	a->live[a->nlive].pos = pos;
	a->live[a->nlive].centroid = cid;
	a->live[a->nlive++].hash = row_hash(rowid, hv, hlen);
	return 0;
}

/* Quantized: the float32 copy of rowid into a->fx, checked against its cell
 * vector v; 1 when there is one of the right size. */
static int full_copy(audit *a, int64_t rowid, const unsigned char *v)
{
	size_t fs = a->d * sizeof(float);
	sqlite3_bind_int64(a->full, 1, rowid);
	int s = sqlite3_step(a->full), found = 0;
	if (s == SQLITE_ROW && (size_t)sqlite3_column_bytes(a->full, 0) == fs) {
		memcpy(a->fx, sqlite3_column_blob(a->full, 0), fs);
		found = 1;
	}
	sqlite3_reset(a->full);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return err_set(a->err, ERR_FAIL, "cannot read the _ivf_vectors copies of %s: %s",
		               a->t->name, sqlite3_errmsg(a->db));
	if (!found) {
		note(a->r, CHECK_FULL, 1, "rowid %lld", (long long)rowid);
		return 0;
	}
	quant_encode(a->q, a->fx, 1, a->d, a->fq);
	if (memcmp(a->fq, v, a->vs) != 0)
		note(a->r, CHECK_QUANT, 1, "rowid %lld", (long long)rowid);
	return 1;
}

/* One cell row of the scan: (rowid, centroid_id, n_vectors, validity, rowids, vectors). */
static int audit_cell(audit *a, sqlite3_stmt *st, int nearest)
{
	int64_t cell = sqlite3_column_int64(st, 0), cid = sqlite3_column_int64(st, 1);
	int64_t n = sqlite3_column_int64(st, 2);
	const unsigned char *val = sqlite3_column_blob(st, 3);
	const unsigned char *rids = sqlite3_column_blob(st, 4);
	const unsigned char *vecs = sqlite3_column_blob(st, 5);
	size_t nval = (size_t)sqlite3_column_bytes(st, 3),
	       nrid = (size_t)sqlite3_column_bytes(st, 4),
	       nvec = (size_t)sqlite3_column_bytes(st, 5);
	a->r->cells++;
	if (nval != CHECK_VALIDITY || nrid != CHECK_CELL * 8 || nvec != CHECK_CELL * a->vs) {
		note(a->r, CHECK_CELL_BLOBS, 1, "cell %lld: %zu/%zu/%zu bytes", (long long)cell,
		     nval, nrid, nvec);
		return 0;
	}
	if (cid != -1 && !centroid_exists(a, cid))
		note(a->r, CHECK_CELL_CENTROID, 1, "cell %lld of centroid %lld", (long long)cell,
		     (long long)cid);
	int64_t nlive = 0, dense = 1;
	for (int s = 0; s < CHECK_CELL; s++) {
		if (!(val[s / 8] >> (s % 8) & 1)) {
			dense = dense && s >= n;
			continue;
		}
		int64_t rowid;
		memcpy(&rowid, rids + (size_t)s * 8, 8);
		const unsigned char *v = vecs + (size_t)s * a->vs;
		dense = dense && s < n;
		nlive++;
		int full = a->q != QUANT_NONE ? full_copy(a, rowid, v) : 0;
		if (full < 0)
			return full;
		int rc = full ? live_add(a, rowid, cell * CHECK_CELL + s, cid, a->fx,
		                         a->d * sizeof(float))
		              : live_add(a, rowid, cell * CHECK_CELL + s, cid, v, a->vs);
		if (!rc && cid == -1)
			note(a->r, CHECK_UNASSIGNED, 1, "rowid %lld", (long long)rowid);
		if (!rc && nearest && centroid_exists(a, cid))
			rc = nearest_add(a, rowid, (int32_t)cid, v);
		if (rc)
			return rc;
	}
	a->r->live += nlive;
	if (nlive != n)
		note(a->r, CHECK_COUNT, 1, "cell %lld: n_vectors %lld, %lld live", (long long)cell,
		     (long long)n, (long long)nlive);
	a->r->holes += !dense && nlive == n;
	return 0;
}

static int scan_cells(audit *a, int assigned, prog_t *prog)
{
	sqlite3_stmt *st = NULL;
	/* quantized cells are compared by int8 l2 or hamming, whatever the metric */
	int nearest = !assigned && (a->t->metric != VTAB_L1 || a->q != QUANT_NONE) && a->k;
	a->r->nearest_skipped = nearest || assigned ? NULL
	                        : !a->k             ? "no centroids"
	                                            : "l1 tables are assigned by l1 distance";
	size_t b = CHECK_NEAR_BATCH;
	a->x = malloc(b * a->d * sizeof *a->x);
	a->xid = malloc(b * sizeof *a->xid);
	a->xc = malloc(b * sizeof *a->xc);
	a->near = malloc(b * sizeof *a->near);
	a->dist = malloc(b * sizeof *a->dist);
	a->xq = malloc(b * a->vs);
	if (!a->x || !a->xid || !a->xc || !a->near || !a->dist || !a->xq)
		return err_set(a->err, ERR_NOMEM, "out of memory for a batch of %zu rows", b);
	int rc = 0;
	if (a->q != QUANT_NONE) {
		a->fx = malloc(a->d * sizeof *a->fx);
		a->fq = malloc(a->vs);
		if (!a->fx || !a->fq)
			return err_set(a->err, ERR_NOMEM, "out of memory");
		rc = sql_prepare(a->db,
		                 sqlite3_mprintf("SELECT vector FROM %z WHERE rowid = ?1",
		                                 vtab_ivf_shadow(a->t, "vectors")),
		                 &a->full, a->err);
	}
	if (!rc)
		rc = sql_prepare(a->db,
		                 sqlite3_mprintf("SELECT rowid, centroid_id, n_vectors, validity, "
		                                 "rowids, vectors FROM %z ORDER BY rowid",
		                                 vtab_ivf_shadow(a->t, "cells")),
		                 &st, a->err);
	int s = SQLITE_DONE;
	prog_begin(prog, "check cells", 0);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		rc = audit_cell(a, st, nearest);
		prog_update(prog, (uint64_t)a->r->cells);
		if (!rc && intr_pending())
			rc = err_set(a->err, ERR_INTR, "interrupted while checking %s", a->t->name);
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(a->err, ERR_FAIL, "cannot read the cells of %s: %s", a->t->name,
		             sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	if (!rc)
		rc = nearest_flush(a);
	prog_end(prog);
	return rc;
}

/* ---- merges ---------------------------------------------------------------------- */

static int by_rowid(const void *x, const void *y)
{
	int64_t a = ((const slot *)x)->rowid, b = ((const slot *)y)->rowid;
	return a < b ? -1 : a > b;
}

static int by_pos(const void *x, const void *y)
{
	int64_t a = ((const slot *)x)->pos, b = ((const slot *)y)->pos;
	return a < b ? -1 : a > b;
}

static int row_by_rowid(const void *x, const void *y)
{
	int64_t a = ((const check_row *)x)->rowid, b = ((const check_row *)y)->rowid;
	return a < b ? -1 : a > b;
}

/* What position pos of the cells holds, for a message: live slots are sorted by
 * position (bypos, n of them). */
static void describe_pos(const slot *bypos, size_t n, int64_t pos, char *buf, size_t len)
{
	slot key = {.pos = pos};
	const slot *s = bsearch(&key, bypos, n, sizeof *bypos, by_pos);
	if (s)
		snprintf(buf, len, "holding rowid %lld", (long long)s->rowid);
	else
		snprintf(buf, len, "not live");
}

/* Reads the rowid map (rowid order) against the live slots sorted by rowid;
 * fills map (rowid, pos) for the shared-slot check. */
static int merge_map(audit *a, const slot *bypos, slot **map, size_t *nmap)
{
	sqlite3_stmt *st = NULL;
	size_t cap = a->nlive + 1, j = 0;
	*map = malloc(cap * sizeof **map);
	*nmap = 0;
	if (!*map)
		return err_set(a->err, ERR_NOMEM, "out of memory for the rowid map");
	int rc = sql_prepare(a->db,
	                     sqlite3_mprintf("SELECT rowid, cell_id, slot FROM %z ORDER BY rowid",
	                                     vtab_ivf_shadow(a->t, "rowid_map")),
	                     &st, a->err);
	int s = SQLITE_DONE;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rowid = sqlite3_column_int64(st, 0), cell = sqlite3_column_int64(st, 1),
		        sl = sqlite3_column_int64(st, 2);
		int64_t pos = sl >= 0 && sl < CHECK_CELL ? cell * CHECK_CELL + sl : -1;
		a->r->mapped++;
		for (; j < a->nlive && a->live[j].rowid < rowid; j++)
			note(a->r, CHECK_NO_MAP, 1, "rowid %lld (cell %lld slot %lld)",
			     (long long)a->live[j].rowid, (long long)(a->live[j].pos / CHECK_CELL),
			     (long long)(a->live[j].pos % CHECK_CELL));
		int found = 0;
		for (; j < a->nlive && a->live[j].rowid == rowid; j++)
			found |= a->live[j].pos == pos;
		if (!found) {
			char what[48];
			describe_pos(bypos, a->nlive, pos, what, sizeof what);
			note(a->r, CHECK_MAP_MISMATCH, 1, "rowid %lld -> cell %lld slot %lld, %s",
			     (long long)rowid, (long long)cell, (long long)sl, what);
		}
		if (*nmap == cap) {
			slot *m = realloc(*map, (cap *= 2) * sizeof *m);
			if (!m) {
				rc = err_set(a->err, ERR_NOMEM, "out of memory for the rowid map");
				break;
			}
			*map = m;
		}
		(*map)[(*nmap)++] = (slot){.rowid = rowid, .pos = pos};
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(a->err, ERR_FAIL, "cannot read the rowid map of %s: %s", a->t->name,
		             sqlite3_errmsg(a->db));
	for (; !rc && j < a->nlive; j++)
		note(a->r, CHECK_NO_MAP, 1, "rowid %lld (cell %lld slot %lld)",
		     (long long)a->live[j].rowid, (long long)(a->live[j].pos / CHECK_CELL),
		     (long long)(a->live[j].pos % CHECK_CELL));
	sqlite3_finalize(st);
	return rc;
}

/* Two map rows on one slot: sqlite-vec's insert into a cell with a hole. */
static void same_slots(audit *a, slot *map, size_t n)
{
	qsort(map, n, sizeof *map, by_pos);
	for (size_t i = 1; i < n; i++)
		if (map[i].pos >= 0 && map[i].pos == map[i - 1].pos)
			note(a->r, CHECK_SAME_SLOT, 1,
			     "rowids %lld and %lld -> cell %lld slot %lld",
			     (long long)map[i - 1].rowid, (long long)map[i].rowid,
			     (long long)(map[i].pos / CHECK_CELL),
			     (long long)(map[i].pos % CHECK_CELL));
}

/* The table's rows (its _rowids table) against the live slots by rowid. */
static int merge_table(audit *a)
{
	sqlite3_stmt *st = NULL;
	size_t j = 0;
	int rc = sql_prepare(
	    a->db, sqlite3_mprintf("SELECT rowid FROM \"%w_rowids\" ORDER BY rowid", a->t->name),
	    &st, a->err);
	int s = SQLITE_DONE;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rowid = sqlite3_column_int64(st, 0);
		a->r->rows++;
		for (; j < a->nlive && a->live[j].rowid < rowid; j++)
			if (!j || a->live[j - 1].rowid != a->live[j].rowid)
				note(a->r, CHECK_NOT_IN_TABLE, 1, "rowid %lld",
				     (long long)a->live[j].rowid);
		if (j < a->nlive && a->live[j].rowid == rowid) {
			size_t j0 = j;
			while (j < a->nlive && a->live[j].rowid == rowid)
				j++;
			if (j - j0 > 1)
				note(a->r, CHECK_DUP_ROW, 1, "rowid %lld in %zu slots",
				     (long long)rowid, j - j0);
		} else {
			note(a->r, CHECK_NOT_IN_INDEX, 1, "rowid %lld", (long long)rowid);
		}
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(a->err, ERR_FAIL, "cannot read %s_rowids: %s", a->t->name,
		             sqlite3_errmsg(a->db));
	for (; !rc && j < a->nlive; j++)
		if (!j || a->live[j - 1].rowid != a->live[j].rowid)
			note(a->r, CHECK_NOT_IN_TABLE, 1, "rowid %lld",
			     (long long)a->live[j].rowid);
	sqlite3_finalize(st);
	return rc;
}

/* Quantized: every _ivf_vectors row (rowid order) against the live slots
 * sorted by rowid; a copy of no live row is left over from a lost row. */
static int merge_full(audit *a)
{
	sqlite3_stmt *st = NULL;
	size_t j = 0;
	int rc = sql_prepare(a->db,
	                     sqlite3_mprintf("SELECT rowid FROM %z ORDER BY rowid",
	                                     vtab_ivf_shadow(a->t, "vectors")),
	                     &st, a->err);
	int s = SQLITE_DONE;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t rowid = sqlite3_column_int64(st, 0);
		while (j < a->nlive && a->live[j].rowid < rowid)
			j++;
		if (j == a->nlive || a->live[j].rowid != rowid)
			note(a->r, CHECK_FULL_EXTRA, 1, "rowid %lld", (long long)rowid);
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(a->err, ERR_FAIL, "cannot read the _ivf_vectors copies of %s: %s",
		             a->t->name, sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	return rc;
}

/* The hashes as written against the hashes as read from the source. */
static void merge_expect(audit *a, check_rows *e)
{
	size_t j = 0;
	if (e->n)
		qsort(e->v, e->n, sizeof *e->v, row_by_rowid);
	for (size_t i = 0; i < e->n; i++) {
		for (; j < a->nlive && a->live[j].rowid < e->v[i].rowid; j++)
			note(a->r, CHECK_VECTOR, 1, "rowid %lld was not in the source",
			     (long long)a->live[j].rowid);
		if (j < a->nlive && a->live[j].rowid == e->v[i].rowid) {
			if (a->live[j].hash != e->v[i].hash)
				note(a->r, CHECK_VECTOR, 1, "rowid %lld", (long long)e->v[i].rowid);
			if (e->v[i].centroid >= 0 && a->live[j].centroid != e->v[i].centroid)
				note(a->r, CHECK_MISPLACED, 1,
				     "rowid %lld (cell of centroid %lld, assigned %lld)",
				     (long long)e->v[i].rowid, (long long)a->live[j].centroid,
				     (long long)e->v[i].centroid);
			a->r->nearest_checked += e->v[i].centroid >= 0;
			j++;
		} else {
			note(a->r, CHECK_VECTOR, 1, "rowid %lld not written",
			     (long long)e->v[i].rowid);
		}
	}
	for (; j < a->nlive; j++)
		note(a->r, CHECK_VECTOR, 1, "rowid %lld was not in the source",
		     (long long)a->live[j].rowid);
}

int check_index(sqlite3 *db, const vtab *t, check_rows *expect, check_report *r, prog_t *prog,
                char *err)
{
	audit a = {.db = db,
	           .t = t,
	           .r = r,
	           .d = t->d,
	           .q = quant_of(t),
	           .vs = quant_size(quant_of(t), t->d),
	           .err = err};
	slot *bypos = NULL, *map = NULL;
	size_t nmap = 0;
	memset(r, 0, sizeof *r);
	int rc = read_trained(&a);
	if (!rc)
		rc = read_centroids(&a);
	int assigned = expect && expect->n;
	for (size_t i = 0; assigned && i < expect->n; i++)
		assigned = expect->v[i].centroid >= 0;
	if (!rc)
		rc = scan_cells(&a, assigned, prog);
	if (!rc && !(bypos = malloc((a.nlive + 1) * sizeof *bypos)))
		rc = err_set(err, ERR_NOMEM, "out of memory for %zu slots", a.nlive);
	if (!rc) {
		/* cells were read in rowid order, slots in order: sorted by position */
		if (a.nlive) { /* an empty index has no slot array at all */
			memcpy(bypos, a.live, a.nlive * sizeof *bypos);
			qsort(a.live, a.nlive, sizeof *a.live, by_rowid);
		}
		rc = merge_map(&a, bypos, &map, &nmap);
	}
	if (!rc) {
		same_slots(&a, map, nmap);
		rc = merge_table(&a);
	}
	if (!rc && a.q != QUANT_NONE)
		rc = merge_full(&a);
	if (!rc && expect)
		merge_expect(&a, expect);
	free(map);
	free(bypos);
	free(a.live);
	free(a.c);
	free(a.cq);
	free(a.fx);
	free(a.fq);
	sqlite3_finalize(a.full);
	free(a.xq);
	free(a.x);
	free(a.xid);
	free(a.xc);
	free(a.near);
	free(a.dist);
	return rc;
}

void check_line(const check_report *r, int i, char *buf, size_t len)
{
	const check_problem *p = &r->p[i];
	int n = snprintf(buf, len, "%s: %lld", kind_text[i], (long long)p->count);
	if (i == CHECK_MISPLACED && r->nearest_checked)
		n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " of %lld (%.2f%%)",
		              (long long)r->nearest_checked,
		              100.0 * (double)p->count / (double)r->nearest_checked);
	for (int e = 0; e < p->nex && (size_t)n < len; e++)
		n += snprintf(buf + n, len - n, "%s%s", e ? "; " : " (first: ", p->ex[e]);
	if (p->nex && (size_t)n < len)
		snprintf(buf + n, len - n, ")");
}

int check_verdict(const check_report *r, const vtab *t, char *err)
{
	for (int i = 0; i < CHECK_NKINDS; i++) {
		if (!r->p[i].count)
			continue;
		char line[ERR_LEN - 96];
		check_line(r, i, line, sizeof line);
		return err_set(err, ERR_FAIL, "verification failed on %s: %s", t->name, line);
	}
	return 0;
}

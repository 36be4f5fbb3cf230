/*
 * cells.c - an IVF table's live rows as arrays (see cells.h).
 *
 * Cell layout (DESIGN.md, "vec0 IVF storage"): 64 slots, validity bit i =
 * byte[i/8] >> (i%8), rowids 64 little-endian int64, vectors 64 x d float32.
 */
#include "cells.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "sql.h"

/* A float IVF table: the only kind whose cells and centroids are float32. */
static int float_ivf(const vtab *t, char *err)
{
	if (!t->is_ivf || strcmp(t->quantizer, "none") != 0)
		return err_set(err, ERR_INPUT, "table %s is not an IVF table with float cells",
		               t->name);
	return 0;
}

/* Room for at least one more cell's rows. */
static int grow(cells_rows *r, size_t *cap, char *err)
{
	if (r->n + CHECK_CELL <= *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : 4096;
	int64_t *id = realloc(r->rowid, c * sizeof *id);
	if (id)
		r->rowid = id;
	int64_t *ce = id ? realloc(r->centroid, c * sizeof *ce) : NULL;
	if (ce)
		r->centroid = ce;
	float *x = ce ? realloc(r->x, c * r->d * sizeof *x) : NULL;
	if (!x)
		return err_set(err, ERR_NOMEM, "out of memory for %zu rows", c);
	r->x = x;
	*cap = c;
	return 0;
}

int cells_read(sqlite3 *db, const vtab *t, cells_rows *rows, char *err)
{
	cells_rows r = {.d = t->d};
	sqlite3_stmt *st = NULL;
	size_t cap = 0, vs = t->d * sizeof(float);
	int rc = float_ivf(t, err), s = SQLITE_DONE;
	if (rc == 0)
		rc = sql_prepare(db,
		                 sqlite3_mprintf("SELECT centroid_id, validity, rowids, vectors "
		                                 "FROM %z ORDER BY rowid",
		                                 vtab_ivf_shadow(t, "cells")),
		                 &st, err);
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *val = sqlite3_column_blob(st, 1);
		const unsigned char *ids = sqlite3_column_blob(st, 2);
		const unsigned char *vec = sqlite3_column_blob(st, 3);
		if (sqlite3_column_bytes(st, 1) != CHECK_CELL / 8 ||
		    sqlite3_column_bytes(st, 2) != CHECK_CELL * 8 ||
		    (size_t)sqlite3_column_bytes(st, 3) != CHECK_CELL * vs) {
			rc = err_set(err, ERR_INPUT,
			             "table %s: a cell whose blobs are not full size "
			             "(see `ivftrain --check`)",
			             t->name);
			break;
		}
		if ((rc = grow(&r, &cap, err)) < 0)
			break;
		for (int i = 0; i < CHECK_CELL; i++) {
			if (!(val[i / 8] >> (i % 8) & 1))
				continue;
			memcpy(&r.rowid[r.n], ids + (size_t)i * 8, 8);
			r.centroid[r.n] = sqlite3_column_int64(st, 0);
			memcpy(r.x + r.n * r.d, vec + (size_t)i * vs, vs);
			r.n++;
		}
	}
	if (!rc && s != SQLITE_DONE)
		rc = err_set(err, ERR_FAIL, "cannot read the cells of %s: %s", t->name,
		             sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (rc)
		cells_free(&r);
	else
		*rows = r;
	return rc;
}

void cells_free(cells_rows *rows)
{
	if (!rows)
		return;
	free(rows->rowid);
	free(rows->centroid);
	free(rows->x);
	memset(rows, 0, sizeof *rows);
}

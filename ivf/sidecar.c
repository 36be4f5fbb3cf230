/*
 * sidecar.c - a vec0 IVF table exported as a faiss IndexIVFFlat (see sidecar.h).
 */
#include "sidecar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

#ifdef IVFKIT_HAVE_FAISS
#include "bulk.h"
#include "cells.h"
#include "faiss_peer.h"
#include "timing.h"

int sidecar_export_faiss(sqlite3 *db, const vtab *t, const char *path, sidecar_stats *s, char *err)
{
	float *cent = NULL;
	size_t k = 0;
	cells_rows rows = {0};
	fp_index *f = NULL;
	char tmp[4096];
	struct stat st;
	double t0 = tm_now();
	if (t->metric == VTAB_L1)
		return err_set(err, ERR_INPUT, "table %s is l1: faiss IVF serves l2 and cosine",
		               t->name);
	if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return err_set(err, ERR_INPUT, "%s: path too long", path);
	int rc = bulk_read_centroids(db, t, &cent, &k, err);
	if (rc == 0)
		rc = cells_read(db, t, &rows, err);
	s->read_s = tm_now() - t0;
	t0 = tm_now();
	if (rc == 0)
		rc = fp_new_ivf(cent, k, t->d, t->metric == VTAB_COSINE, &f, err);
	for (size_t i = 0; rc == 0 && i < rows.n; i++)
		if (rows.centroid[i] < 0 || (size_t)rows.centroid[i] >= k)
			rc = err_set(err, ERR_INPUT,
			             "table %s: rowid %lld sits in an unassigned cell (train it "
			             "first)",
			             t->name, (long long)rows.rowid[i]);
	if (rc == 0)
		rc = fp_add(f, rows.x, rows.n, rows.rowid, rows.centroid, err);
	if (rc == 0)
		rc = fp_write(f, tmp, err);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = err_set(err, ERR_FAIL, "%s: %s", path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	else if (stat(path, &st) == 0) {
		s->bytes = (int64_t)st.st_size;
		s->rows = (int64_t)rows.n;
		s->nlist = (int64_t)k;
	}
	s->write_s = tm_now() - t0;
	fp_free(f);
	cells_free(&rows);
	free(cent);
	return rc;
}
#else
int sidecar_export_faiss(sqlite3 *db, const vtab *t, const char *path, sidecar_stats *s, char *err)
{
	return err_set(err, ERR_INPUT,
	               "%s: built without faiss: install libfaiss-dev (/usr/include/faiss) "
	               "and rebuild",
	               path);
}
#endif

/*
 * sidecar.h - a faiss sidecar of a vec0 IVF table: an IndexIVFFlat holding the
 * table's own centroids and each row in the list of the cell it sits in (no
 * reassignment), its ids the table's rowids, so faiss answers as vec0 does.
 *
 * Written to a temporary file beside FILE and renamed over it only when
 * complete: FILE is either the old one or the whole new index. Needs the
 * library built with libfaiss-dev (IVFKIT_HAVE_FAISS); else ERR_INPUT saying so.
 * cosine tables become inner-product indexes over unit vectors (faiss_peer.h).
 */
#ifndef IVFKIT_SIDECAR_H
#define IVFKIT_SIDECAR_H

#include <sqlite3.h>
#include <stdint.h>

#include "vtab.h"

typedef struct sidecar_stats {
	int64_t rows, nlist, bytes; /* bytes: the file written */
	double read_s, write_s;
} sidecar_stats;

/* Exports t (a float IVF table, l2 or cosine) of db to path. */
int sidecar_export_faiss(sqlite3 *db, const vtab *t, const char *path, sidecar_stats *s, char *err);

#endif

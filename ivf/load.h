/*
 * load.h - filling an empty vec0 IVF table without vec0's per-row insert: the
 * base tables every vec0 row needs, written directly.
 *
 * vec0 keeps a row in its _rowids table (rowid, id, chunk_id, chunk_offset), in
 * a _chunks row (chunk_size validity bits and rowids) and, when the table has
 * auxiliary (+name) columns, in _auxiliary (rowid, value00, ...); IVF columns
 * have no vector chunks. load_base writes these exactly as vec0's own inserts of
 * the same rows, in the same order, into the empty table leave them: id NULL on
 * an integer key (the key is the rowid), the text key in id and rowids from
 * AUTOINCREMENT on a text primary key, chunk ids from AUTOINCREMENT, full-size
 * zero-padded blobs, the last chunk partly filled, each auxiliary value as given
 * (vec0 refuses a value of another type than the column's, and so does
 * load_check_rows). The cells are bulk_load's (bulk.h). Only a layout load_ready
 * has recognized is written: an integer or text key, one vector column,
 * auxiliary columns and nothing else, the base tables' exact schemas, and
 * bulk_layout's. Every write runs inside the caller's transaction; the first
 * failure is returned and the caller rolls back.
 * Public API: load_rows, load_ready, load_base_known, load_check_rows,
 * load_rowids, load_base, load_check_base.
 */
#ifndef IVFKIT_LOAD_H
#define IVFKIT_LOAD_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "vtab.h"

/* Rows to load, in the order vec0 would insert them: n x d floats and each
 * row's key. An integer-key table takes ids (unique, any order; ascending is
 * the fast case) or, when ids is NULL, first_id, first_id+1, ...; a text-key
 * table takes text and numbers the rows as its AUTOINCREMENT would. aux (NULL:
 * every value NULL) holds n x t->naux values, row by row (a NULL pointer is an
 * SQL NULL). */
typedef struct load_rows {
	const float *x;
	size_t n;
	int64_t first_id;
	const int64_t *ids;
	char *const *text;
	sqlite3_value *const *aux;
} load_rows;

/* 0 when t can be loaded into, ERR_INPUT with one line naming the table and
 * what stands in the way (its layout, its columns, rows it already holds). */
int load_ready(sqlite3 *db, const vtab *t, char *err);

/* 1 when t's _rowids and _chunks have the schemas vec0 gives them (the
 * tested releases), 0 if not (why says which), negative on error. A source
 * reader trusts a vec0 table's chunks only then. */
int load_base_known(sqlite3 *db, const vtab *t, char *why, size_t len, char *err);

/* ERR_INPUT naming the table and the row when r does not fit t: keys of the
 * wrong kind, a key given twice, an auxiliary value vec0 would refuse. label
 * names the rows' source in messages. */
int load_check_rows(const vtab *t, const load_rows *r, const char *label, char *err);

/* Each row's rowid in t: ids, first_id.. or, on a text key, the rowids vec0's
 * AUTOINCREMENT hands out next. *rowid is allocated (caller frees). */
int load_rowids(sqlite3 *db, const vtab *t, const load_rows *r, int64_t **rowid, char *err);

/* Writes the _rowids, _chunks and _auxiliary rows of r, with the rowids from
 * load_rowids. */
int load_base(sqlite3 *db, const vtab *t, const load_rows *r, const int64_t *rowid, char *err);

/* Verifies the base tables hold exactly r's rows: one _rowids row each with its
 * key, in a live chunk slot that names it and that the _rowids row points at,
 * and its auxiliary values, byte for byte. */
int load_check_base(sqlite3 *db, const vtab *t, const load_rows *r, const int64_t *rowid,
                    char *err);

#endif

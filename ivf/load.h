/*
 * load.h - filling an empty vec0 IVF table without vec0's per-row insert: the
 * base tables every vec0 row needs, written directly.
 *
 * vec0 keeps a row in its _rowids table (rowid, id, chunk_id, chunk_offset) and
 * in a _chunks row (chunk_size validity bits and rowids); IVF columns have no
 * vector chunks. load_base writes both exactly as vec0's own inserts of rows
 * first_id, first_id+1, ... into the empty table leave them (id NULL on an
 * integer key, chunk ids from AUTOINCREMENT, full-size zero-padded blobs, the
 * last chunk partly filled); the cells are bulk_load's (bulk.h). Only a layout
 * load_layout has recognized is written: an integer key, one vector column and
 * no other user column, the base tables' exact schemas, and bulk_layout's.
 * Every write runs inside the caller's transaction; the first failure is
 * returned and the caller rolls back.
 */
#ifndef IVFKIT_LOAD_H
#define IVFKIT_LOAD_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "vtab.h"

/* 0 when t can be loaded into, ERR_INPUT with one line naming the table and
 * what stands in the way (its layout, its columns, rows it already holds). */
int load_ready(sqlite3 *db, const vtab *t, char *err);

/* Writes the _rowids and _chunks rows of n rows with rowids first_id.. . */
int load_base(sqlite3 *db, const vtab *t, size_t n, int64_t first_id, char *err);

/* Verifies the base tables hold exactly n rows, rowids first_id.., each in a
 * live chunk slot that names it and that its _rowids row points at. */
int load_check_base(sqlite3 *db, const vtab *t, size_t n, int64_t first_id, char *err);

#endif

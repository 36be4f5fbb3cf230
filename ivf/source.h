/*
 * source.h - the rows of a load, read from what `ivftrain --load SOURCE` names:
 * an ann-benchmarks HDF5 file's train rows, another vec0 table (flat or IVF), or
 * a plain SQLite table, in the target's database or in another file.
 *
 * SOURCE is one of
 *   DATA.hdf5                  the train rows, row i with id i;
 *   TABLE[.COLUMN]             a table of the target's database;
 *   FILE:TABLE[.COLUMN]        a table of another SQLite file, read through a
 *                              read-only connection of its own.
 * An existing file is a file (an SQLite file without ":TABLE" is refused, and a
 * name that is both a file and a table of the database is refused as ambiguous);
 * TABLE.COLUMN is split at the last dot unless the whole name is a table.
 * Rows come in the source's scan order with the source's keys: a table's rowids
 * (a vec0 table's integer keys), or its text keys when the target has a text
 * primary key (a vec0 table's text key, a plain table's single-column primary
 * key). The vector is a vec0 table's column, or a plain table's COLUMN (default:
 * the column named as the target's vector column, else the only column that is
 * neither the key nor an auxiliary one) holding float32 BLOBs of d x 4 bytes or
 * JSON text as vec0 reads it (vec_f32). The target's auxiliary columns take the
 * source's columns of the same names; those the source lacks stay NULL (named in
 * src_rows.aux_missing). Every value is checked before anything is written: a
 * wrong dimension, a NULL, short or unparsable vector, NaN or Inf, a key given
 * twice, an auxiliary value vec0 would refuse: ERR_INPUT, one line naming the
 * source and the row.
 * Public API: src_rows, src_read, src_free.
 */
#ifndef IVFKIT_SOURCE_H
#define IVFKIT_SOURCE_H

#include <sqlite3.h>
#include <stdint.h>

#include "load.h"
#include "progress.h"
#include "vec0.h"
#include "vtab.h"

typedef enum { SRC_HDF5 = 0, SRC_VEC0 = 1, SRC_TABLE = 2 } src_kind;

typedef struct src_rows {
	load_rows rows; /* for ivf_load: points into what this struct owns */
	src_kind kind;
	char label[600];        /* "DATA.hdf5", "table docs", "table docs of other.db" */
	char column[VTAB_NAME]; /* the vector column read (tables) */
	char aux_missing[400];  /* the target's auxiliary columns the source lacks */
	float *x;               /* n x d */
	int64_t *ids;           /* n integer keys (tables), or NULL */
	char **text;            /* n text keys, or NULL */
	sqlite3_value **aux;    /* n x t->naux values, or NULL */
	int naux;
} src_rows;

/* Reads every row spec names for target table t of database db (ext: the vec0
 * build db runs, loaded again for another file), as the header says. s is
 * filled on success and must be src_free'd whatever the result. */
int src_read(const char *spec, sqlite3 *db, const vtab *t, vec0_ext *ext, src_rows *s, prog_t *prog,
             char *err);
void src_free(src_rows *s);

/* The kind's name for reports: "hdf5", "vec0 table", "table". */
const char *src_kind_name(src_kind k);

#endif

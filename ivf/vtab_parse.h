/*
 * vtab_parse.h - a vec0 table's schema as declared: struct vtab and its limits,
 * read from the table's CREATE statement by vtab_parse.
 *
 * Owns the text-to-struct step only: no database, no extension, so it can be
 * tested (and fuzzed, tests/fuzz/fuzz_vtab.c) on statement text alone. Finding
 * the table in a database and every row operation are vtab.h's.
 * Public API: vtab_parse, vtab_metric_name, vtab_metric_parse.
 */
#ifndef IVFKIT_VTAB_PARSE_H
#define IVFKIT_VTAB_PARSE_H

#include <stddef.h>

#define VTAB_NAME 128
#define VTAB_MAX_AUX 16
#define VTAB_MAX_VEC 16      /* vector columns a vec0 table may have */
#define VTAB_MAX_DIM 8192    /* sqlite-vec's SQLITE_VEC_VEC0_MAX_DIMENSIONS */
#define VTAB_CHUNK_SIZE 1024 /* sqlite-vec's default chunk_size */
#define VTAB_IVF_NLIST 128   /* sqlite-vec's defaults for ivf(): nlist, */
#define VTAB_IVF_NPROBE 10   /* nprobe (capped at nlist) */

typedef enum { VTAB_L2 = 0, VTAB_COSINE = 1, VTAB_L1 = 2 } vtab_metric;

/* Each vtab_metric as vec0's distance_metric= spells it, indexed by value,
 * NULL-terminated (names.h). */
extern const char *const vtab_metric_names[];
const char *vtab_metric_name(vtab_metric m);
/* 0 with *out set when s names a metric; -1 (out untouched) otherwise. */
int vtab_metric_parse(const char *s, vtab_metric *out);

typedef struct vtab {
	char name[VTAB_NAME];   /* table */
	char column[VTAB_NAME]; /* the vector column */
	char pk[VTAB_NAME];     /* declared primary key column, "" for rowid */
	int pk_text;            /* primary key is text */
	size_t d;               /* dimensions */
	vtab_metric metric;
	int is_ivf;         /* column indexed by ivf(...) */
	int nlist, nprobe;  /* IVF parameters as declared (defaults 128, 10) */
	char quantizer[16]; /* "none", "int8", "binary" */
	int oversample;
	int naux; /* auxiliary (+name) columns, kept on a move */
	char aux[VTAB_MAX_AUX][VTAB_NAME];
	/* each auxiliary column's type as vec0 reads it: SQLite's type codes (1
	 * integer, 2 float, 3 text, 4 blob), 0 when vec0 would not know it */
	int aux_type[VTAB_MAX_AUX];
	int chunk_size; /* rows per _chunks row, as declared (default 1024) */
	char elem[8];   /* element type of the column: "float", "int8", "bit" */
	int vec_index;  /* the column's position among the vector columns:
	                   shadow tables are <name>_ivf_*<NN> */
	int nvec;       /* every vector column, kept on a move: int8/bit ones
	                   need their SQL type function when inserted again */
	char vec[VTAB_MAX_VEC][VTAB_NAME];
	char vec_elem[VTAB_MAX_VEC][8];
} vtab;

/* The schema of table name from its CREATE statement sql (as sqlite_master holds
 * it; NULL allowed), the column chosen as vtab_find chooses: 0 with t filled, 1
 * when sql declares no vec0 table (err untouched), ERR_INPUT naming the table
 * when the column choice fails. Pure text work: no database, no extension. */
int vtab_parse(const char *name, const char *sql, const char *column, int require_ivf, vtab *t,
               char *err);

#endif

/*
 * vtab.h - vec0 tables in a database: finding a table and reading its schema
 * (vtab_parse.h does the text), table creation from a spec, row keys, batched
 * inserts, KNN queries, sampling.
 * Public API: vtab_find, vtab_vector_sql, vtab_count, vtab_key, vtab_ivf_shadow,
 * vtab_ids_*, vtab_create_sql, vtab_create, vtab_insert, vtab_query_*,
 * vtab_release, vtab_sample.
 */
#ifndef IVFKIT_VTAB_H
#define IVFKIT_VTAB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "progress.h"
#include "vtab_parse.h"

/* Rows per transaction of vtab_insert, and per statement batch of a move
 * (ivf_write_opts.batch): big enough that the commit costs little per row,
 * small enough that a batch's statements stay in the cache. */
#define VTAB_BATCH 1000

/* What to create (vecbench). type_ivf 0 = flat. */
typedef struct vtab_spec {
	char name[VTAB_NAME];
	size_t d;
	vtab_metric metric;
	int type_ivf;
	int nlist, nprobe;
	char quantizer[16]; /* "" or "none" = full float vectors */
	int oversample;     /* 0 = default */
	int chunk_size;     /* 0 = default */
	char label_col[64]; /* "" or one more column definition, e.g. "label integer
	                     * partition key" (a filtered benchmark's label) */
} vtab_spec;

/* Reads the schema of `table` (NULL: the only vec0 table having an IVF column,
 * or when require_ivf is 0 the only vec0 table) and of `column` (NULL: the only
 * vector column, preferring the IVF one). ERR_INPUT naming the table when it is
 * missing, not vec0, has no IVF column (require_ivf), or the choice is ambiguous. */
int vtab_find(sqlite3 *db, const char *table, const char *column, int require_ivf, vtab *t,
              char *err);

/* SELECT of one row's float32 vector by its key (?1), from sqlite3_mprintf
 * (NULL when out of memory). Quantized IVF columns: from the row's _ivf_vectors
 * copy, since vec0's point read returns the quantized bytes padded with
 * unrelated memory (sqlite-vec up to v0.1.10-alpha.3). */
char *vtab_vector_sql(const vtab *t);

/* Rows in the table. */
int vtab_count(sqlite3 *db, const vtab *t, int64_t *n, char *err);

/* The column naming a row: the declared primary key, or "rowid". */
const char *vtab_key(const vtab *t);

/* Shadow table <name>_ivf_<what><NN> of t's vector column, quoted for SQL (from
 * sqlite3_mprintf: NULL when out of memory, the caller sqlite3_frees it). */
char *vtab_ivf_shadow(const vtab *t, const char *what);

/* Every row's key, in table scan order: integers (rowid or integer primary key)
 * or strings (text primary key). Owned by the struct; vtab_ids_free releases it. */
typedef struct vtab_ids {
	size_t n;
	int64_t *num; /* n integer keys, or NULL */
	char **text;  /* n text keys, or NULL */
} vtab_ids;
int vtab_ids_read(sqlite3 *db, const vtab *t, vtab_ids *ids, char *err);
/* Binds key j to parameter i of st. */
int vtab_ids_bind(sqlite3_stmt *st, int i, const vtab_ids *ids, size_t j);
/* Nonzero when column col of st's current row is key j. */
int vtab_ids_match(const vtab_ids *ids, size_t j, sqlite3_stmt *st, int col);
/* Key j for messages: "id 42" or "id 'abc'" (rowid tables: "rowid 42"). */
void vtab_ids_label(const vtab *t, const vtab_ids *ids, size_t j, char *buf, size_t len);
void vtab_ids_free(vtab_ids *ids);

/* Builds the CREATE VIRTUAL TABLE statement for spec into sql. */
int vtab_create_sql(const vtab_spec *spec, char *sql, size_t len, char *err);
/* Creates the table and fills t as vtab_find would. */
int vtab_create(sqlite3 *db, const vtab_spec *spec, vtab *t, char *err);

/* Inserts n vectors x (n * d) with ids first_id .. first_id+n-1, float32 blobs
 * through one prepared statement, in transactions of `batch` rows (0:
 * VTAB_BATCH). */
int vtab_insert(sqlite3 *db, const vtab *t, const float *x, size_t n, int64_t first_id,
                size_t batch, prog_t *prog, char *err);
/* vtab_insert with an integer per row (labels, n) into column col as well. */
int vtab_insert_labeled(sqlite3 *db, const vtab *t, const float *x, const int32_t *labels,
                        const char *col, size_t n, int64_t first_id, size_t batch, prog_t *prog,
                        char *err);

/* A prepared KNN query: `WHERE col MATCH ? AND k = ?`. */
typedef struct vtab_query {
	sqlite3_stmt *stmt;
	size_t d, k;
} vtab_query;
int vtab_query_prepare(sqlite3 *db, const vtab *t, size_t k, vtab_query *q, char *err);
/* Runs one query; fills ids/dists (size k) in result order, *got = rows returned. */
int vtab_query_run(vtab_query *q, const float *v, int64_t *ids, float *dists, size_t *got,
                   char *err);
void vtab_query_finalize(vtab_query *q);

/* Resets the statements sqlite-vec caches for this table and leaves stepped
 * (its IVF rowid-map lookup after a point query or delete): until reset they
 * keep a read transaction open, which blocks other writers' commits and VACUUM.
 * vtab_sample and ivf_write_centroids call it before returning. */
void vtab_release(sqlite3 *db, const vtab *t);

/* Uniform sample of m rows (seeded, without replacement, without reading the
 * whole table when m << rows): *x is m * d, allocated (caller frees); fewer rows
 * than m returns all of them with *got set. Rejects NaN/Inf (ERR_INPUT naming the
 * row). Reads every key (8 bytes a row), picks m of them with rng_sample and
 * fetches those rows by key, so only m vectors are read. */
int vtab_sample(sqlite3 *db, const vtab *t, size_t m, uint64_t seed, float **x, size_t *got,
                prog_t *prog, char *err);

#endif

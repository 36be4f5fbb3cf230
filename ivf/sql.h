/*
 * sql.h - SQLite helpers that know nothing of vec0: preparing a statement built
 * by sqlite3_mprintf and reading a one-row integer query, with one-line errors.
 * Public API: sql_prepare, sql_scalar.
 */
#ifndef IVFKIT_SQL_H
#define IVFKIT_SQL_H

#include <sqlite3.h>
#include <stdint.h>

/* Prepares sql (built by sqlite3_mprintf and freed here; NULL means that ran out
 * of memory) into *st: ERR_FAIL or ERR_NOMEM naming the statement otherwise. */
int sql_prepare(sqlite3 *db, char *sql, sqlite3_stmt **st, char *err);
/* The integer in the first column of a one-row query, sql as for sql_prepare. */
int sql_scalar(sqlite3 *db, char *sql, int64_t *out, char *err);

#endif

/*
 * sql.c - SQLite helpers that know nothing of vec0 (see sql.h).
 */
#include "sql.h"

#include <stdio.h>

#include "err.h"

int sql_prepare(sqlite3 *db, char *sql, sqlite3_stmt **st, char *err)
{
	int rc = sql ? sqlite3_prepare_v2(db, sql, -1, st, NULL) : SQLITE_NOMEM;
	int code = rc == SQLITE_OK ? 0 : rc == SQLITE_NOMEM ? ERR_NOMEM : ERR_FAIL;
	if (code)
		err_set(err, code, "cannot prepare %s: %s", sql ? sql : "a statement",
		        sqlite3_errmsg(db));
	sqlite3_free(sql);
	return code;
}

int sql_scalar(sqlite3 *db, char *sql, int64_t *out, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sql_prepare(db, sql, &st, err);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		rc = err_set(err, ERR_FAIL, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

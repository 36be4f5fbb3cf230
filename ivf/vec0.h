/*
 * vec0.h - finding, loading and probing the sqlite-vec extension.
 *
 * Search order: an explicit path (--vec0 / config), then $VEC0_PATH, then
 * /usr/local/lib/vec0.so, then the newest IVF build scripts/install-deps put in
 * /usr/local/lib/sqlite-vec/<tag>/vec0.so, then the npm copy (flat only) that it
 * puts in <repo>/.deps/npm (found relative to the running executable). The first load
 * probes vec_version() and whether `indexed by ivf(...)` is accepted (an
 * in-memory table), so every tool can say which build it runs and what it can do.
 * One vec0 build per process: SQLite loads extensions RTLD_GLOBAL and two builds
 * would resolve each other's symbols, so vec0_open refuses a second, different path.
 */
#ifndef IVFKIT_VEC0_H
#define IVFKIT_VEC0_H

#include <cJSON.h>
#include <sqlite3.h>
#include <stddef.h>

/* The search after an explicit path, for --help texts. */
#define VEC0_SEARCH_HELP                                                                           \
	"$VEC0_PATH, /usr/local/lib/vec0.so, the newest /usr/local/lib/sqlite-vec/<tag>/vec0.so, " \
	"the npm copy"

typedef struct vec0_ext {
	char path[4096];  /* resolved file that is loaded */
	char source[64];  /* how it was found: "--vec0", "VEC0_PATH", "/usr/local/lib",
	                     "/usr/local/lib/sqlite-vec", "npm" */
	char version[64]; /* vec_version(), filled by the first vec0_open */
	int has_ivf;      /* IVF index accepted, filled by the first vec0_open */
	int probed;       /* version/has_ivf are valid */
} vec0_ext;

/* Resolves which file to load (explicit may be NULL); ERR_INPUT naming every
 * place looked at when none exists. */
int vec0_find(const char *explicit_path, vec0_ext *ext, char *err);

/* Opens dbpath with SQLite flags (SQLITE_OPEN_READWRITE etc.), sets a busy
 * timeout of busy_ms, loads the extension and probes it on first use. On error
 * *db is NULL and nothing was created. */
int vec0_open(const char *dbpath, int flags, int busy_ms, vec0_ext *ext, sqlite3 **db, char *err);
/* vec0_open for a bulk write (read-write, no create): through gathervfs, which
 * turns a write transaction's many small writes into few large ones and reads
 * sequential pages ahead. Tools that measure vec0 as users run it open with
 * vec0_open. */
int vec0_open_writer(const char *dbpath, int busy_ms, vec0_ext *ext, sqlite3 **db, char *err);

/* "vec0 v0.1.10-alpha.3 from /usr/local/lib/vec0.so (VEC0_PATH), IVF: yes" */
void vec0_describe(const vec0_ext *ext, char *buf, size_t len);

/* ext as every report records it: {"path", "source", "version", "ivf"}, added to
 * parent under "vec0" (ivftrain --json, vecbench's results.json). */
void vec0_json(cJSON *parent, const vec0_ext *ext);

#endif

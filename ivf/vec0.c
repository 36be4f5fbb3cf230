/*
 * vec0.c - finding, loading and probing the sqlite-vec extension (see vec0.h).
 *
 * The first successful load records the file in a process-wide slot: SQLite
 * dlopens extensions RTLD_GLOBAL, so a second, different vec0 build in the same
 * process would bind to the first one's symbols. Probing (version, IVF support)
 * runs once per process on a private in-memory database, never on the caller's
 * file, so probing cannot change a database.
 */
#define _GNU_SOURCE
#include "vec0.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "gathervfs.h"

#define VEC0_ENTRY "sqlite3_vec_init"
#define VEC0_NPM_REL ".deps/npm/node_modules/sqlite-vec-linux-x64/vec0.so"
#define VEC0_NPM_DEPTH 4 /* bin/, build/<kind>/bin/, build/<kind>/tests/ sit this deep */
#define VEC0_BUILDS_DIR "/usr/local/lib/sqlite-vec" /* <tag>/vec0.so, from scripts/install-deps */

/* The one build loaded into this process, with its probe results. */
static struct {
	char path[PATH_MAX];
	char version[64];
	int has_ivf;
} vec0_loaded;

/* Fills ext from an existing file; ERR_INPUT naming where it came from otherwise. */
static int vec0_take(const char *path, const char *source, vec0_ext *ext, char *err)
{
	char real[PATH_MAX];
	struct stat st;
	if (stat(path, &st) != 0 || !realpath(path, real))
		return err_set(err, ERR_INPUT, "vec0 extension %s (%s): %s", path, source,
		               strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, ERR_INPUT, "vec0 extension %s (%s): not a regular file", path,
		               source);
	memset(ext, 0, sizeof *ext);
	snprintf(ext->path, sizeof ext->path, "%s", real);
	snprintf(ext->source, sizeof ext->source, "%s", source);
	return 0;
}

/* The npm copy in <repo>/.deps, looked for in the folders above the executable,
 * since binaries live in bin/ and build/<kind>/{bin,tests}/. */
static int vec0_find_npm(char *found, size_t len)
{
	char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (n <= 0)
		return 0;
	dir[n] = '\0';
	for (int up = 0; up < VEC0_NPM_DEPTH; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
		if (snprintf(found, len, "%s/%s", dir, VEC0_NPM_REL) < (int)len &&
		    access(found, R_OK) == 0)
			return 1;
	}
	return 0;
}

/* The newest of the IVF builds scripts/install-deps put under VEC0_BUILDS_DIR/<tag>/: it moves a
 * build there only once vec_version() is the tag and an IVF table can be created. */
static int vec0_find_built(char *found, size_t len)
{
	DIR *dir = opendir(VEC0_BUILDS_DIR);
	char best[NAME_MAX + 1] = "";
	if (!dir)
		return 0;
	for (struct dirent *e; (e = readdir(dir));) {
		char so[PATH_MAX];
		if (e->d_name[0] == '.' || (best[0] && strverscmp(e->d_name, best) <= 0))
			continue;
		if (snprintf(so, sizeof so, VEC0_BUILDS_DIR "/%s/vec0.so", e->d_name) <
		        (int)sizeof so &&
		    access(so, R_OK) == 0)
			snprintf(best, sizeof best, "%s", e->d_name);
	}
	closedir(dir);
	return best[0] && snprintf(found, len, VEC0_BUILDS_DIR "/%s/vec0.so", best) < (int)len;
}

int vec0_find(const char *explicit_path, vec0_ext *ext, char *err)
{
	if (explicit_path && *explicit_path)
		return vec0_take(explicit_path, "--vec0", ext, err);
	const char *env = getenv("VEC0_PATH");
	if (env && *env)
		return vec0_take(env, "VEC0_PATH", ext, err);
	if (access("/usr/local/lib/vec0.so", R_OK) == 0)
		return vec0_take("/usr/local/lib/vec0.so", "/usr/local/lib", ext, err);
	char found[PATH_MAX];
	if (vec0_find_built(found, sizeof found))
		return vec0_take(found, VEC0_BUILDS_DIR, ext, err);
	if (vec0_find_npm(found, sizeof found))
		return vec0_take(found, "npm", ext, err);
	return err_set(err, ERR_INPUT,
	               "no vec0 extension found (looked at --vec0, $VEC0_PATH, "
	               "/usr/local/lib/vec0.so, " VEC0_BUILDS_DIR "/*/vec0.so and " VEC0_NPM_REL
	               " above the program); pass --vec0 PATH or run scripts/install-deps");
}

/* Loads ext->path into db (load_extension enabled for the C API only, and only
 * for this call). */
static int vec0_load(sqlite3 *db, const vec0_ext *ext, char *err)
{
	char *msg = NULL;
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
	int rc = sqlite3_load_extension(db, ext->path, VEC0_ENTRY, &msg);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	if (rc != SQLITE_OK)
		rc = err_set(err, ERR_INPUT, "cannot load vec0 extension %s (%s): %s", ext->path,
		             ext->source, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* Loads the build into a private in-memory database and asks it for its version
 * and whether it accepts an IVF column; records it as this process's build. */
static int vec0_probe(const vec0_ext *ext, char *err)
{
	sqlite3 *mem = NULL;
	sqlite3_stmt *st = NULL;
	int rc = ERR_FAIL;
	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err_set(err, ERR_NOMEM, "cannot open an in-memory database to probe vec0");
		goto out;
	}
	if ((rc = vec0_load(mem, ext, err)) < 0)
		goto out;
	if (sqlite3_prepare_v2(mem, "SELECT vec_version()", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = err_set(err, ERR_INPUT,
		             "%s (%s) loads but has no vec_version(): not sqlite-vec", ext->path,
		             ext->source);
		goto out;
	}
	snprintf(vec0_loaded.version, sizeof vec0_loaded.version, "%s",
	         (const char *)sqlite3_column_text(st, 0));
	/* builds without SQLITE_VEC_EXPERIMENTAL_IVF_ENABLE reject the column definition */
	vec0_loaded.has_ivf = sqlite3_exec(mem,
	                                   "CREATE VIRTUAL TABLE ivfkit_probe USING vec0("
	                                   "v float[8] indexed by ivf(nlist=2))",
	                                   NULL, NULL, NULL) == SQLITE_OK;
	snprintf(vec0_loaded.path, sizeof vec0_loaded.path, "%s", ext->path);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(mem);
	return rc;
}

/* Opens the file and makes sure it is an SQLite database we can read: a missing
 * file is reported as such instead of being created (unless flags say so). */
static int vec0_open_db(const char *dbpath, int flags, const char *vfs, int busy_ms, sqlite3 **out,
                        char *err)
{
	struct stat st;
	sqlite3 *db = NULL;
	if (!(flags & SQLITE_OPEN_CREATE) && strcmp(dbpath, ":memory:") != 0 &&
	    stat(dbpath, &st) != 0)
		return err_set(err, ERR_INPUT, "database %s: %s", dbpath, strerror(errno));
	int rc = sqlite3_open_v2(dbpath, &db, flags, vfs);
	if (rc != SQLITE_OK) {
		rc = err_set(err, ERR_INPUT, "cannot open database %s: %s", dbpath,
		             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db, busy_ms);
	/* the header is only read on first use; read the schema now to fail early */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	if (rc == SQLITE_NOTADB) {
		rc = err_set(err, ERR_INPUT, "%s is not an SQLite database", dbpath);
		goto fail;
	}
	if (rc != SQLITE_OK) {
		rc = err_set(err, rc == SQLITE_BUSY ? ERR_FAIL : ERR_INPUT,
		             "cannot read database %s: %s", dbpath, sqlite3_errmsg(db));
		goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return rc;
}

static int vec0_open_vfs(const char *dbpath, int flags, const char *vfs, int busy_ms, vec0_ext *ext,
                         sqlite3 **db, char *err)
{
	sqlite3 *h = NULL;
	int rc;
	*db = NULL;
	if (!ext->path[0] && (rc = vec0_find(NULL, ext, err)) < 0)
		return rc;
	if (vec0_loaded.path[0] && strcmp(vec0_loaded.path, ext->path) != 0)
		return err_set(err, ERR_INPUT,
		               "vec0 %s is already loaded in this process; %s is a different build "
		               "(run each build in its own process)",
		               vec0_loaded.path, ext->path);
	if (!vec0_loaded.path[0] && (rc = vec0_probe(ext, err)) < 0)
		return rc;
	snprintf(ext->version, sizeof ext->version, "%s", vec0_loaded.version);
	ext->has_ivf = vec0_loaded.has_ivf;
	ext->probed = 1;
	if ((rc = vec0_open_db(dbpath, flags, vfs, busy_ms, &h, err)) < 0)
		return rc;
	if ((rc = vec0_load(h, ext, err)) < 0) {
		sqlite3_close(h);
		return rc;
	}
	*db = h;
	return 0;
}

int vec0_open(const char *dbpath, int flags, int busy_ms, vec0_ext *ext, sqlite3 **db, char *err)
{
	return vec0_open_vfs(dbpath, flags, NULL, busy_ms, ext, db, err);
}

int vec0_open_writer(const char *dbpath, int busy_ms, vec0_ext *ext, sqlite3 **db, char *err)
{
	return vec0_open_vfs(dbpath, SQLITE_OPEN_READWRITE, gathervfs_name(), busy_ms, ext, db,
	                     err);
}

void vec0_describe(const vec0_ext *ext, char *buf, size_t len)
{
	snprintf(buf, len, "vec0 %s from %s (%s), IVF: %s",
	         ext->probed ? ext->version : "(not loaded)", ext->path, ext->source,
	         !ext->probed   ? "unknown"
	         : ext->has_ivf ? "yes"
	                        : "no");
}

void vec0_json(cJSON *parent, const vec0_ext *ext)
{
	cJSON *v = cJSON_AddObjectToObject(parent, "vec0");
	cJSON_AddStringToObject(v, "path", ext->path);
	cJSON_AddStringToObject(v, "source", ext->source);
	cJSON_AddStringToObject(v, "version", ext->version);
	cJSON_AddBoolToObject(v, "ivf", ext->has_ivf);
}

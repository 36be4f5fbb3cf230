/*
 * test_vec0.c - the vec0 layer against a real sqlite-vec build: loading and
 * probing, schema read back, create/insert/query, sampling, IVF command syntax and
 * the one-transaction centroid write, checked through the shadow tables and KNN
 * self-queries. @per-vec0: the runner runs this once per build found, with
 * VEC0_PATH set; tests that need IVF skip with a reason on builds without it.
 */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "bulk.h"
#include "check.h"
#include "constraint.h"
#include "err.h"
#include "intr.h"
#include "ivf.h"
#include "rng.h"
#include "timing.h"
#include "vec0.h"
#include "vtab.h"

#define D 16    /* dimensions of the test data */
#define NBLOB 8 /* clusters in it */
#define NROWS 1500

static vec0_ext ext;
static char *dir;

/* sqlite-vec leaks the SQL string it builds for every row inserted into a table
 * with auxiliary columns (alpha.1 .. alpha.3) and a little at load (0.1.9). Its
 * memory comes from the system libsqlite3, which has no frame pointers, so the
 * sanitizer's fast unwinder stops there and cannot tell it from SQLite's own:
 * leaks of memory allocated inside libsqlite3 are suppressed. Everything this
 * code mallocs itself stays checked. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsqlite3.so\n";
}

/* ---- helpers ------------------------------------------------------------------ */

static sqlite3 *open_db(const char *name)
{
	sqlite3 *db = NULL;
	char err[ERR_LEN] = "";
	int rc = vec0_open(tu_path(dir, name), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 2000,
	                   &ext, &db, err);
	if (rc != 0)
		fail_msg("vec0_open: %s", err);
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The whole file, to prove a failed write left it byte-identical. */
static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(*n ? *n : 1);
	assert_int_equal(fread(buf, 1, *n, f), *n);
	fclose(f);
	return buf;
}

static void assert_same_file(const char *path, const char *before, size_t n)
{
	size_t m;
	char *now = slurp(path, &m);
	assert_int_equal(m, n);
	assert_memory_equal(now, before, n);
	free(now);
}

/* NROWS rows around NBLOB well separated centres; centres written to c. */
static float *blobs(uint64_t seed, float *c)
{
	rng_t r;
	rng_seed(&r, seed);
	for (int i = 0; i < NBLOB * D; i++)
		c[i] = (float)(rng_normal(&r) * 10);
	float *x = malloc(sizeof(float) * NROWS * D);
	for (int i = 0; i < NROWS; i++)
		for (int j = 0; j < D; j++)
			x[i * D + j] = c[(i % NBLOB) * D + j] + (float)rng_normal(&r) * 0.5f;
	return x;
}

static int nearest(const float *v, const float *c, int k)
{
	int best = 0;
	double bd = INFINITY;
	for (int i = 0; i < k; i++) {
		double s = 0;
		for (int j = 0; j < D; j++)
			s += ((double)v[j] - c[i * D + j]) * ((double)v[j] - c[i * D + j]);
		if (s < bd)
			bd = s, best = i;
	}
	return best;
}

#define REQUIRE_IVF()                                                                              \
	do {                                                                                       \
		if (!ext.has_ivf)                                                                  \
			SKIP_BECAUSE("vec0 %s (%s) has no IVF support", ext.version, ext.path);    \
	} while (0)

/* An IVF table "t" (nlist NBLOB) filled with the blobs, ids 1..NROWS. */
static sqlite3 *ivf_table(const char *name, const char *extra_cols, const float *x)
{
	sqlite3 *db = open_db(name);
	char sql[512];
	snprintf(sql, sizeof sql,
	         "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, "
	         "emb float[%d] indexed by ivf(nlist=%d, nprobe=3)%s)",
	         D, NBLOB, extra_cols);
	exec(db, sql);
	vtab t;
	char err[ERR_LEN];
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(vtab_insert(db, &t, x, NROWS, 1, 500, NULL, err), 0);
	return db;
}

/* Trains table "t" with the k centroids c and the default options. */
static void train_table(sqlite3 *db, const float *c, size_t k)
{
	char err[ERR_LEN];
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c, k, &o, &s, NULL, err) != 0)
		fail_msg("%s", err);
}

/* Every row sits in the cell of its nearest centroid (shadow tables) and is
 * found by a KNN self-query at nprobe 1 (through the table, fresh connection). */
static void assert_assigned(const char *name, const float *x, const float *c, int k)
{
	sqlite3 *db = open_db(name);
	assert_int_equal(scalar(db, "SELECT count(*) FROM t_ivf_centroids00"), k);
	assert_int_equal(scalar(db, "SELECT count(*) FROM t_ivf_cells00 WHERE centroid_id = -1"),
	                 0);
	assert_int_equal(scalar(db, "SELECT count(*) FROM t_ivf_rowid_map00"), NROWS);
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT centroid FROM t_ivf_centroids00 ORDER BY centroid_id",
	                       -1, &st, NULL),
	    SQLITE_OK);
	for (int i = 0; i < k; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_bytes(st, 0), D * 4);
		assert_memory_equal(sqlite3_column_blob(st, 0), c + i * D, D * 4);
	}
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT m.rowid, c.centroid_id FROM t_ivf_rowid_map00 m "
	                       "JOIN t_ivf_cells00 c ON c.rowid = m.cell_id",
	                       -1, &st, NULL),
	    SQLITE_OK);
	int rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		assert_in_range(id, 1, NROWS);
		assert_int_equal(sqlite3_column_int(st, 1), nearest(x + (id - 1) * D, c, k));
		rows++;
	}
	assert_int_equal(rows, NROWS);
	sqlite3_finalize(st);

	vtab t;
	char err[ERR_LEN];
	vtab_query q;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(ivf_command(db, &t, "nprobe=1", err), 0);
	assert_int_equal(vtab_query_prepare(db, &t, 1, &q, err), 0);
	for (int i = 0; i < NROWS; i += 7) {
		int64_t id;
		float dist;
		size_t got;
		assert_int_equal(vtab_query_run(&q, x + i * D, &id, &dist, &got, err), 0);
		assert_int_equal(got, 1);
		assert_int_equal(id, i + 1);
	}
	vtab_query_finalize(&q);
	sqlite3_close(db);
}

/* A new database holding table t USING vec0(cols); cols takes D and NBLOB
 * through two %d, in that order. */
static sqlite3 *create_t(const char *name, const char *cols)
{
	char fmt[256], sql[512];
	sqlite3 *db = open_db(name);
	snprintf(fmt, sizeof fmt, "CREATE VIRTUAL TABLE t USING vec0(%s)", cols);
	snprintf(sql, sizeof sql, fmt, D, NBLOB);
	exec(db, sql);
	return db;
}

/* ivf_table(name) of blobs(seed) (rows to *x, centres to c) written with the
 * default options: a bulk-written index, its database left open. */
static sqlite3 *bulk_table(const char *name, uint64_t seed, float *c, float **x)
{
	char err[ERR_LEN];
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	*x = blobs(seed, c);
	sqlite3 *db = ivf_table(name, "", *x);
	ivf_write_defaults(&o);
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_int_equal(s.assigned, IVF_ASSIGN_BULK);
	return db;
}

/* check_index finds no problem in table "t" of db. */
static void assert_clean(sqlite3 *db)
{
	vtab t;
	check_report r;
	char err[ERR_LEN], line[512];
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (check_index(db, &t, NULL, &r, NULL, err))
		fail_msg("check_index: %s", err);
	for (int i = 0; i < CHECK_NKINDS; i++)
		if (r.p[i].count) {
			check_line(&r, i, line, sizeof line);
			print_message("  check: %s\n", line);
		}
	assert_int_equal(r.problems, 0);
	assert_int_equal(r.rows, r.live);
	assert_int_equal(r.rows, r.mapped);
}

/* The k = 10 results (ids and distances) of every row of x queried at nprobe. */
static void knn_all(sqlite3 *db, const float *x, int nprobe, int64_t *ids, float *dists)
{
	vtab t;
	vtab_query q;
	char err[ERR_LEN], cmd[32];
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	snprintf(cmd, sizeof cmd, "nprobe=%d", nprobe);
	assert_int_equal(ivf_command(db, &t, cmd, err), 0);
	assert_int_equal(vtab_query_prepare(db, &t, 10, &q, err), 0);
	for (int i = 0; i < NROWS; i++) {
		size_t got;
		assert_int_equal(
		    vtab_query_run(&q, x + i * D, ids + i * 10, dists + i * 10, &got, err), 0);
		assert_int_equal(got, 10);
	}
	vtab_query_finalize(&q);
}

/* ---- loading and probing ---------------------------------------------------- */

static void test_vec0__loads_and_probes(void **state)
{
	char err[ERR_LEN], desc[5000];
	sqlite3 *db = open_db("probe.db");
	assert_true(ext.probed);
	assert_true(ext.version[0] == 'v');
	vec0_describe(&ext, desc, sizeof desc);
	assert_non_null(strstr(desc, ext.version));
	assert_non_null(strstr(desc, ext.has_ivf ? "IVF: yes" : "IVF: no"));
	/* the probe agrees with what the build does on a real database */
	int ok = sqlite3_exec(db, "CREATE VIRTUAL TABLE p USING vec0(v float[8] indexed by ivf())",
	                      NULL, NULL, NULL) == SQLITE_OK;
	assert_int_equal(ok, ext.has_ivf);
	sqlite3_close(db);
	(void)err;
}

static void test_vec0__missing_database_not_created(void **state)
{
	sqlite3 *db = (sqlite3 *)1;
	char err[ERR_LEN];
	const char *p = tu_path(dir, "missing.db");
	assert_int_equal(vec0_open(p, SQLITE_OPEN_READWRITE, 100, &ext, &db, err), ERR_INPUT);
	assert_null(db);
	assert_non_null(strstr(err, "missing.db"));
	struct stat st;
	assert_int_not_equal(stat(p, &st), 0);
}

static void test_vec0__not_sqlite_refused(void **state)
{
	sqlite3 *db = NULL;
	char err[ERR_LEN];
	const char *p = tu_path(dir, "notsqlite.db");
	FILE *f = fopen(p, "w");
	for (int i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	assert_int_equal(vec0_open(p, SQLITE_OPEN_READWRITE, 100, &ext, &db, err), ERR_INPUT);
	assert_non_null(strstr(err, "not an SQLite database"));
}

static void test_vec0__second_build_refused(void **state)
{
	/* a copy of the loaded build is a different file: one build per process */
	char cmd[9000], err[ERR_LEN];
	const char *copy = tu_path(dir, "other-vec0.so");
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", ext.path, copy);
	assert_int_equal(system(cmd), 0);
	vec0_ext other;
	sqlite3 *db = NULL;
	assert_int_equal(vec0_find(copy, &other, err), 0);
	assert_string_equal(other.source, "--vec0");
	assert_int_equal(vec0_open(":memory:", SQLITE_OPEN_READWRITE, 100, &other, &db, err),
	                 ERR_INPUT);
	assert_null(db);
	assert_non_null(strstr(err, "already loaded"));
	assert_int_equal(vec0_find(tu_path(dir, "nope.so"), &other, err), ERR_INPUT);
	assert_non_null(strstr(err, "nope.so"));
}

/* ---- schema ---------------------------------------------------------------------- */

static const struct {
	const char *create; /* table "s" */
	int ivf;            /* needs an IVF build */
	const char *column, *pk;
	int pk_text;
	size_t d;
	vtab_metric metric;
	int is_ivf, nlist, nprobe;
	const char *quantizer;
	int naux;
} schemas[] = {
    {"CREATE VIRTUAL TABLE s USING vec0(embedding float[4])", 0, "embedding", "", 0, 4, VTAB_L2, 0,
     0, 0, "", 0},
    {"create virtual table s using vec0(id integer primary key, v float[768] "
     "distance_metric=cosine, +title text, +n integer)",
     0, "v", "id", 0, 768, VTAB_COSINE, 0, 0, 0, "", 2},
    {"CREATE VIRTUAL TABLE s USING vec0(doc text primary key, e f32[3] distance_metric=L1)", 0, "e",
     "doc", 1, 3, VTAB_L1, 0, 0, 0, "", 0},
    {"CREATE VIRTUAL TABLE s USING vec0(id integer primary key, emb float[32] "
     "distance_metric=cosine indexed by ivf(nlist=64, nprobe=4))",
     1, "emb", "id", 0, 32, VTAB_COSINE, 1, 64, 4, "none", 0},
    {"CREATE VIRTUAL TABLE s USING vec0(emb float[16] indexed by ivf())", 1, "emb", "", 0, 16,
     VTAB_L2, 1, 128, 10, "none", 0},
    {"CREATE VIRTUAL TABLE s USING vec0(emb float[16] indexed by ivf(nlist=4))", 1, "emb", "", 0,
     16, VTAB_L2, 1, 4, 4, "none", 0},
    {"CREATE VIRTUAL TABLE s USING vec0(id integer primary key, emb float[16] indexed by "
     "ivf(nlist=8, quantizer=int8, oversample=4))",
     1, "emb", "id", 0, 16, VTAB_L2, 1, 8, 8, "int8", 0},
};

static void test_vtab__schema_read_back(void **state)
{
	char err[ERR_LEN];
	for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
		if (schemas[i].ivf && !ext.has_ivf)
			continue;
		char name[32];
		snprintf(name, sizeof name, "schema%zu.db", i);
		sqlite3 *db = open_db(name);
		exec(db, schemas[i].create);
		vtab t;
		assert_int_equal(vtab_find(db, NULL, NULL, 0, &t, err), 0);
		assert_string_equal(t.name, "s");
		assert_string_equal(t.column, schemas[i].column);
		assert_string_equal(t.pk, schemas[i].pk);
		assert_int_equal(t.pk_text, schemas[i].pk_text);
		assert_int_equal(t.d, schemas[i].d);
		assert_int_equal(t.metric, schemas[i].metric);
		assert_int_equal(t.is_ivf, schemas[i].is_ivf);
		if (t.is_ivf) {
			assert_int_equal(t.nlist, schemas[i].nlist);
			assert_int_equal(t.nprobe, schemas[i].nprobe);
			assert_string_equal(t.quantizer, schemas[i].quantizer);
		}
		assert_int_equal(t.naux, schemas[i].naux);
		sqlite3_close(db);
	}
}

static void test_vtab__find_errors_name_the_table(void **state)
{
	char err[ERR_LEN];
	vtab t;
	sqlite3 *db = open_db("find.db");
	assert_int_equal(vtab_find(db, NULL, NULL, 0, &t, err), ERR_INPUT);
	assert_non_null(strstr(err, "no vec0 table"));
	exec(db, "CREATE TABLE plain(a, b)");
	exec(db, "CREATE VIRTUAL TABLE flat USING vec0(a float[4], b float[4])");
	assert_int_equal(vtab_find(db, "nosuch", NULL, 0, &t, err), ERR_INPUT);
	assert_non_null(strstr(err, "no table nosuch"));
	assert_int_equal(vtab_find(db, "plain", NULL, 0, &t, err), ERR_INPUT);
	assert_non_null(strstr(err, "plain is not a vec0"));
	assert_int_equal(vtab_find(db, "flat", NULL, 1, &t, err), ERR_INPUT);
	assert_non_null(strstr(err, "flat has no vector column indexed by ivf"));
	assert_int_equal(vtab_find(db, "flat", NULL, 0, &t, err), ERR_INPUT);
	assert_non_null(strstr(err, "2 vector columns"));
	assert_int_equal(vtab_find(db, "FLAT", "b", 0, &t, err), 0);
	assert_string_equal(t.column, "b");
	assert_int_equal(t.vec_index, 1);
	assert_int_equal(vtab_find(db, "flat", "c", 0, &t, err), ERR_INPUT);
	/* a --column no table has is named, with or without a table */
	assert_int_equal(vtab_find(db, NULL, "nosuch", 0, &t, err), ERR_INPUT);
	assert_non_null(strstr(err, "table flat has no vector column nosuch"));
	if (ext.has_ivf) {
		assert_int_equal(vtab_find(db, NULL, NULL, 1, &t, err), ERR_INPUT);
		assert_non_null(strstr(err, "no vec0 table with an IVF column"));
		exec(db, "CREATE VIRTUAL TABLE i1 USING vec0(e float[4] indexed by ivf(nlist=2))");
		assert_int_equal(vtab_find(db, NULL, NULL, 1, &t, err), 0);
		assert_string_equal(t.name, "i1");
		exec(db,
		     "CREATE VIRTUAL TABLE \"i 2\" USING vec0(e float[4] indexed by ivf(nlist=2))");
		assert_int_equal(vtab_find(db, NULL, NULL, 1, &t, err), ERR_INPUT);
		assert_non_null(strstr(err, "i 2, i1"));
		assert_int_equal(vtab_find(db, "i 2", NULL, 1, &t, err), 0);
		assert_string_equal(t.name, "i 2");
		assert_int_equal(vtab_find(db, NULL, "nosuch", 1, &t, err), ERR_INPUT);
		assert_non_null(strstr(err, "has a vector column nosuch indexed by ivf"));
	}
	sqlite3_close(db);
}

/* ---- rows -------------------------------------------------------------------------- */

static void test_vtab__create_insert_query_round_trip(void **state)
{
	char err[ERR_LEN];
	sqlite3 *db = open_db("round.db");
	vtab_spec spec = {.name = "r t", .d = D, .metric = VTAB_L2};
	vtab t;
	assert_int_equal(vtab_create(db, &spec, &t, err), 0);
	assert_string_equal(t.name, "r t");
	assert_string_equal(t.pk, "id");
	float c[NBLOB * D];
	float *x = blobs(5, c);
	assert_int_equal(vtab_insert(db, &t, x, 300, 10, 64, NULL, err), 0);
	int64_t n = 0;
	assert_int_equal(vtab_count(db, &t, &n, err), 0);
	assert_int_equal(n, 300);
	vtab_query q;
	int64_t ids[5];
	float dists[5];
	size_t got;
	assert_int_equal(vtab_query_prepare(db, &t, 5, &q, err), 0);
	for (int i = 0; i < 300; i += 17) {
		assert_int_equal(vtab_query_run(&q, x + i * D, ids, dists, &got, err), 0);
		assert_int_equal(got, 5);
		assert_int_equal(ids[0], i + 10);
		assert_float_equal(dists[0], 0, 1e-6);
		assert_true(dists[1] >= dists[0]);
	}
	vtab_query_finalize(&q);
	/* a NaN is refused with the row named, and nothing of that batch is kept */
	x[3 * D + 2] = NAN;
	assert_int_equal(vtab_insert(db, &t, x, 5, 1000, 10, NULL, err), ERR_INPUT);
	assert_non_null(strstr(err, "id 1003"));
	assert_int_equal(vtab_count(db, &t, &n, err), 0);
	assert_int_equal(n, 300);
	if (ext.has_ivf) {
		vtab_spec is = {.name = "iv", .d = D, .type_ivf = 1, .nlist = 16, .nprobe = 2};
		assert_int_equal(vtab_create(db, &is, &t, err), 0);
		assert_true(t.is_ivf);
		assert_int_equal(t.nlist, 16);
		assert_int_equal(t.nprobe, 2);
	}
	free(x);
	sqlite3_close(db);
}

static void test_vtab__sample_seeded_distinct_uniform(void **state)
{
	enum { N = 120, M = 30, TRIALS = 300 };
	char err[ERR_LEN];
	sqlite3 *db = open_db("sample.db");
	exec(db, "CREATE VIRTUAL TABLE s USING vec0(doc text primary key, v float[2])");
	vtab t;
	assert_int_equal(vtab_find(db, "s", NULL, 0, &t, err), 0);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT INTO s(doc, v) VALUES (?1, ?2)", -1, &st, NULL);
	for (int i = 0; i < N; i++) {
		char key[16];
		float v[2] = {(float)i, -1};
		snprintf(key, sizeof key, "k%d", i);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, v, sizeof v, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	int hits[N] = {0};
	float *a = NULL, *b = NULL;
	size_t got;
	assert_int_equal(vtab_sample(db, &t, M, 7, &a, &got, NULL, err), 0);
	assert_int_equal(got, M);
	assert_int_equal(vtab_sample(db, &t, M, 7, &b, &got, NULL, err), 0);
	assert_memory_equal(a, b, sizeof(float) * 2 * M);
	free(b);
	assert_int_equal(vtab_sample(db, &t, M, 8, &b, &got, NULL, err), 0);
	assert_true(memcmp(a, b, sizeof(float) * 2 * M) != 0);
	free(a), free(b);
	for (int s = 0; s < TRIALS; s++) {
		assert_int_equal(vtab_sample(db, &t, M, 100 + s, &a, &got, NULL, err), 0);
		int seen[N] = {0};
		for (int i = 0; i < M; i++) {
			int v = (int)a[2 * i];
			assert_in_range(v, 0, N - 1);
			assert_int_equal(seen[v]++, 0); /* without replacement */
			hits[v]++;
		}
		free(a);
	}
	/* each row expected TRIALS*M/N = 75 times; sd ~7.5, allow 5 sd */
	for (int i = 0; i < N; i++)
		assert_in_range(hits[i], 38, 112);
	/* more than there is: all rows */
	assert_int_equal(vtab_sample(db, &t, 1000, 1, &a, &got, NULL, err), 0);
	assert_int_equal(got, N);
	free(a);
	sqlite3_close(db);
}

static void test_vtab__sample_rejects_nan_naming_the_row(void **state)
{
	char err[ERR_LEN];
	sqlite3 *db = open_db("nan.db");
	exec(db, "CREATE VIRTUAL TABLE s USING vec0(id integer primary key, v float[3])");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT INTO s(id, v) VALUES (?1, ?2)", -1, &st, NULL);
	for (int i = 1; i <= 20; i++) {
		float v[3] = {1, (float)i, 0};
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_blob(st, 2, v, sizeof v, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	/* newer builds refuse non-finite inserts, older ones stored them: put an Inf
	 * straight into row 13's slot of the vector chunk, as an older build would */
	int64_t chunk = scalar(db, "SELECT chunk_id FROM s_rowids WHERE rowid = 13");
	int64_t off = scalar(db, "SELECT chunk_offset FROM s_rowids WHERE rowid = 13");
	sqlite3_blob *b = NULL;
	float inf = INFINITY;
	assert_int_equal(
	    sqlite3_blob_open(db, "main", "s_vector_chunks00", "vectors", chunk, 1, &b), SQLITE_OK);
	assert_int_equal(sqlite3_blob_write(b, &inf, 4, (int)(off * 3 + 2) * 4), SQLITE_OK);
	sqlite3_blob_close(b);
	vtab t;
	float *x = NULL;
	size_t got = 0;
	assert_int_equal(vtab_find(db, "s", NULL, 0, &t, err), 0);
	assert_int_equal(vtab_sample(db, &t, 20, 1, &x, &got, NULL, err), ERR_INPUT);
	assert_null(x);
	assert_non_null(strstr(err, "id 13"));
	assert_non_null(strstr(err, "inf"));
	sqlite3_close(db);
}

/* ---- IVF commands and the write ---------------------------------------------------- */

static void test_ivf__command_syntax_detected(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	sqlite3 *db = open_db("syntax.db");
	exec(db, "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, e float[4] "
	         "indexed by ivf(nlist=2))");
	vtab t;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	/* alpha.1 reads commands from the id column, later builds from a hidden column */
	int alpha1 = strcmp(ext.version, "v0.1.10-alpha.1") == 0;
	ivf_cmd_syntax syn = IVF_CMD_UNKNOWN;
	assert_int_equal(ivf_syntax(db, &t, &syn, err), 0);
	assert_int_equal(syn, alpha1 ? IVF_CMD_ID : IVF_CMD_HIDDEN);
	assert_int_equal(ivf_command(db, &t, "nprobe=2", err), 0);
	float c[4] = {1, 2, 3, 4};
	assert_int_equal(ivf_set_centroid(db, &t, 0, c, err), 0);
	int64_t nc, un;
	assert_int_equal(ivf_state(db, &t, &nc, &un, err), 0);
	assert_int_equal(nc, 1);
	assert_int_equal(scalar(db, "SELECT count(*) FROM t"), 0); /* no row came from it */
	assert_int_equal(ivf_command(db, &t, "no-such-command", err), ERR_FAIL);
	assert_non_null(strstr(err, "no-such-command"));
	sqlite3_close(db);
}

static void test_ivf__write_reinsert_assigns_every_row(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(1, c);
	sqlite3 *db = ivf_table("reinsert.db", "", x);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	o.assign = IVF_ASSIGN_REINSERT;
	o.batch = 128;
	assert_int_equal(vtab_find(db, NULL, NULL, 1, &t, err), 0);
	int rc = ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err);
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(s.assigned, IVF_ASSIGN_REINSERT);
	ivf_cmd_syntax syn = IVF_CMD_UNKNOWN;
	assert_int_equal(ivf_syntax(db, &t, &syn, err), 0);
	assert_int_equal(s.syntax, syn);
	assert_int_equal(s.rows, NROWS);
	assert_int_equal(s.rows_moved, NROWS);
	assert_int_equal(s.ncentroids, NBLOB);
	assert_int_equal(s.unassigned, 0);
	assert_int_equal(s.verify_checked, 200);
	assert_int_equal(s.verify_failed, 0);
	assert_false(s.was_trained);
	assert_true(s.lock_s >= s.assign_s);
	assert_true(s.imbalance >= 1.0 && s.imbalance < 1.1);
	assert_true(s.file_bytes > 0 && s.page_size > 0);
	assert_true(s.free_pages > 0); /* the move leaves free pages behind */
	if (ivf_vacuum(db, &s, err))
		fail_msg("%s", err);
	assert_int_equal(s.free_pages, 0);
	sqlite3_close(db);
	assert_assigned("reinsert.db", x, c, NBLOB);
	free(x);
}

static void test_ivf__write_bulk_assigns_every_row(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(12, c);
	sqlite3 *db = ivf_table("bulk.db", "", x);
	int64_t before = scalar(db, "PRAGMA page_count");
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	assert_int_equal(o.assign, IVF_ASSIGN_BULK);
	o.bulk_batch = 100; /* many batches: source cells deleted as the write goes */
	assert_int_equal(vtab_find(db, NULL, NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_int_equal(s.assigned, IVF_ASSIGN_BULK);
	assert_string_equal(s.fallback, "");
	assert_int_equal(s.rows_moved, NROWS);
	assert_int_equal(s.unassigned, 0);
	assert_int_equal(s.verify_failed, 0);
	assert_true(s.check_s > 0);
	/* every row's centroid came from the plan made before the lock */
	assert_int_equal(s.planned_rows, NROWS);
	/* the new cells reuse the pages of the ones they replace */
	print_message("  pages %lld -> %lld, %lld free\n", (long long)before,
	              (long long)(s.file_bytes / s.page_size), (long long)s.free_pages);
	assert_true(s.file_bytes / s.page_size <= before * 105 / 100);
	/* NROWS / NBLOB rows per centroid: dense cells, one partial cell each */
	assert_int_equal(scalar(db, "SELECT count(*) FROM t_ivf_cells00"),
	                 NBLOB * ((NROWS / NBLOB + 63) / 64));
	assert_int_equal(scalar(db, "SELECT count(*) FROM t_ivf_rowid_map00 m JOIN t_ivf_cells00 c "
	                            "ON c.rowid = m.cell_id WHERE m.slot >= c.n_vectors"),
	                 0);
	sqlite3_close(db);
	assert_assigned("bulk.db", x, c, NBLOB);
	db = open_db("bulk.db");
	assert_clean(db);
	sqlite3_close(db);
	free(x);
}

/* A plan whose rows no longer match the table is used only up to the first
 * difference: a row deleted after the plan was made. */
static void test_bulk__stale_plan_is_left_at_the_first_difference(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(14, c);
	sqlite3 *db = ivf_table("stale.db", "", x);
	vtab t;
	bulk_plan p;
	bulk_stats bs;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (bulk_plan_make(db, &t, c, NBLOB, 100, NROWS, &p, NULL, err))
		fail_msg("%s", err);
	assert_int_equal(p.n, NROWS);
	exec(db, "DELETE FROM t WHERE id = 1000");
	exec(db, "BEGIN IMMEDIATE");
	for (int i = 0; i < NBLOB; i++)
		assert_int_equal(ivf_set_centroid(db, &t, i, c + i * D, err), 0);
	if (bulk_assign(db, &t, c, NBLOB, 100, NROWS - 1, NULL, &p, &bs, NULL, err))
		fail_msg("%s", err);
	exec(db, "COMMIT");
	assert_int_equal(bs.rows, NROWS - 1);
	assert_true(p.used > 0 && p.used < 1000);
	bulk_plan_free(&p);
	assert_clean(db);
	sqlite3_close(db);
	free(x);
}

/* Commits another connection makes after the plan and before the write lock. */
typedef struct late_writer {
	sqlite3 *db;
	int rc;
} late_writer;

static void *commit_later(void *arg)
{
	late_writer *w = arg;
	struct timespec ts = {0, 300 * 1000 * 1000};
	nanosleep(&ts, NULL);
	w->rc = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

/* Another connection's commit between the plan and BEGIN IMMEDIATE (it holds
 * the write lock while the plan is made): the plan is dropped, the rows are
 * assigned under the lock, and the index is right. This connection inserted
 * its rows through vec0, which leaves a statement open (a read lock) that
 * would keep the other writer from committing while the write waits. */
static void test_ivf__write_drops_a_plan_another_writer_outdated(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(15, c);
	sqlite3 *db = ivf_table("late.db", "", x);
	exec(db, "CREATE TABLE notes(v)");
	late_writer w = {NULL, -1};
	assert_int_equal(sqlite3_open(tu_path(dir, "late.db"), &w.db), SQLITE_OK);
	sqlite3_busy_timeout(w.db, 5000);
	assert_int_equal(
	    sqlite3_exec(w.db, "BEGIN IMMEDIATE; INSERT INTO notes VALUES (1)", NULL, NULL, NULL),
	    SQLITE_OK);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, commit_later, &w), 0);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	int rc = ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err);
	pthread_join(th, NULL);
	sqlite3_close(w.db);
	if (rc)
		fail_msg("%s (the other writer's COMMIT: %d)", err, w.rc);
	assert_int_equal(w.rc, SQLITE_OK);
	assert_true(s.wait_s > 0.1); /* it did wait for the other writer */
	assert_int_equal(s.assigned, IVF_ASSIGN_BULK);
	assert_int_equal(s.planned_rows, 0);
	assert_int_equal(s.rows_moved, NROWS);
	assert_int_equal(scalar(db, "SELECT count(*) FROM notes"), 1);
	sqlite3_close(db);
	assert_assigned("late.db", x, c, NBLOB);
	db = open_db("late.db");
	assert_clean(db);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__bulk_and_reinsert_give_the_same_knn(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(13, c);
	static const ivf_assign how[2] = {IVF_ASSIGN_BULK, IVF_ASSIGN_REINSERT};
	static const int nprobe[3] = {1, 3, NBLOB};
	int64_t *ids[2][3];
	float *dists[2][3];
	for (int a = 0; a < 2; a++) {
		char name[32];
		snprintf(name, sizeof name, "same%d.db", a);
		sqlite3 *db = ivf_table(name, "", x);
		vtab t;
		ivf_write_opts o;
		ivf_write_stats s;
		ivf_write_defaults(&o);
		o.assign = how[a];
		assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
		if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
			fail_msg("%s", err);
		assert_int_equal(s.assigned, how[a]);
		sqlite3_close(db);
		db = open_db(name);
		for (int p = 0; p < 3; p++) {
			ids[a][p] = malloc(NROWS * 10 * sizeof(int64_t));
			dists[a][p] = malloc(NROWS * 10 * sizeof(float));
			knn_all(db, x, nprobe[p], ids[a][p], dists[a][p]);
		}
		sqlite3_close(db);
	}
	for (int p = 0; p < 3; p++) {
		assert_memory_equal(ids[0][p], ids[1][p], NROWS * 10 * sizeof(int64_t));
		assert_memory_equal(dists[0][p], dists[1][p], NROWS * 10 * sizeof(float));
		for (int a = 0; a < 2; a++) {
			free(ids[a][p]);
			free(dists[a][p]);
		}
	}
	free(x);
}

/* vec0's own operations on a bulk-written table, each followed by the audit. */
static void test_ivf__vec0_keeps_working_on_a_bulk_index(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D], *x;
	sqlite3 *db = bulk_table("ops.db", 14, c, &x);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	sqlite3_close(db);
	db = open_db("ops.db");
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	/* insert: into the cell of its nearest centroid, found at nprobe 1 */
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "INSERT INTO t(id, emb) VALUES (?1, ?2)", -1, &st, NULL),
	    SQLITE_OK);
	for (int i = 0; i < 3; i++) {
		sqlite3_bind_int(st, 1, NROWS + 1 + i);
		sqlite3_bind_blob(st, 2, c + i * D, D * 4, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_clean(db);
	/* point read: the bytes written */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT emb FROM t WHERE id = 77", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), D * 4);
	assert_memory_equal(sqlite3_column_blob(st, 0), x + 76 * D, D * 4);
	sqlite3_finalize(st);
	vtab_release(db, &t);
	/* delete: gone from the index and from KNN */
	exec(db, "DELETE FROM t WHERE id IN (5, 6, 7)");
	assert_int_equal(scalar(db, "SELECT count(*) FROM t"), NROWS);
	assert_clean(db);
	vtab_release(db, &t);
	exec(db, "VACUUM");
	assert_clean(db);
	/* clear-centroids leaves every row unassigned; compute-centroids trains again */
	assert_int_equal(ivf_command(db, &t, "clear-centroids", err), 0);
	assert_int_equal(scalar(db, "SELECT coalesce(sum(n_vectors), 0) FROM t_ivf_cells00 WHERE "
	                            "centroid_id = -1"),
	                 NROWS);
	assert_int_equal(ivf_command(db, &t, "compute-centroids", err), 0);
	assert_clean(db);
	vtab_release(db, &t);
	sqlite3_close(db);
	/* and ivfkit's bulk write over vec0's own index */
	db = open_db("ops.db");
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_true(s.was_trained);
	assert_clean(db);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__bulk_keeps_sparse_rowids(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(16, c);
	sqlite3 *db = create_t("sparse.db", "emb float[%d] indexed by ivf(nlist=%d)");
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "INSERT INTO t(rowid, emb) VALUES (?1, ?2)", -1, &st, NULL),
	    SQLITE_OK);
	for (int64_t i = 0; i < 500; i++) {
		/* gaps, and rowids above 2^32 */
		sqlite3_bind_int64(st, 1, 3 + i * 7919 + (i % 3 ? 0 : (int64_t)1 << 40));
		sqlite3_bind_blob(st, 2, x + i * D, D * 4, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	o.verify_samples = 500; /* every row finds itself */
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_int_equal(s.assigned, IVF_ASSIGN_BULK);
	assert_int_equal(s.verify_checked, 500);
	assert_int_equal(s.verify_failed, 0);
	assert_int_equal(
	    scalar(db, "SELECT count(*) FROM t_ivf_rowid_map00 WHERE rowid > 4294967296"), 167);
	assert_clean(db);
	sqlite3_close(db);
	free(x);
}

/* The pre-commit audit with a writer's hashes and centroids: a changed vector
 * byte and a row outside its assigned centroid's cell are each reported. */
static void test_check__catches_changed_vectors_and_misplaced_rows(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D], *x;
	sqlite3 *db = bulk_table("audit.db", 17, c, &x);
	vtab t;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	/* what a writer would have read: each row's vector and centroid */
	check_rows e = {0};
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT m.rowid, c.centroid_id FROM t_ivf_rowid_map00 m "
	                       "JOIN t_ivf_cells00 c ON c.rowid = m.cell_id",
	                       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		assert_int_equal(check_rows_add(&e, id, x + (id - 1) * D, D * 4, err), 0);
		e.v[e.n - 1].centroid = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	assert_int_equal(e.n, NROWS);
	check_report r;
	assert_int_equal(check_index(db, &t, &e, &r, NULL, err), 0);
	assert_int_equal(r.problems, 0);
	assert_int_equal(r.nearest_checked, NROWS);
	e.v[5].centroid = (e.v[5].centroid + 1) % NBLOB;
	e.v[9].hash ^= 1;
	assert_int_equal(check_index(db, &t, &e, &r, NULL, err), 0);
	assert_int_equal(r.p[CHECK_MISPLACED].count, 1);
	assert_int_equal(r.p[CHECK_VECTOR].count, 1);
	assert_int_equal(r.problems, 2);
	assert_int_equal(check_verdict(&r, &t, err), ERR_FAIL);
	print_message("  %s\n", err);
	e.v[5].centroid = (e.v[5].centroid + NBLOB - 1) % NBLOB;
	e.v[9].hash ^= 1;
	/* one byte of one stored vector changed behind vec0's back */
	exec(db, "UPDATE t_ivf_cells00 SET vectors = zeroblob(4) || substr(vectors, 5) "
	         "WHERE rowid = (SELECT min(rowid) FROM t_ivf_cells00)");
	assert_int_equal(check_index(db, &t, &e, &r, NULL, err), 0);
	assert_int_equal(r.p[CHECK_VECTOR].count, 1);
	assert_int_equal(r.problems, 1);
	check_rows_free(&e);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__bulk_falls_back_on_l1_tables(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(15, c);
	sqlite3 *db = create_t("l1.db", "id integer primary key, emb float[%d] "
	                                "distance_metric=l1 indexed by ivf(nlist=%d)");
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(vtab_insert(db, &t, x, 300, 1, 500, NULL, err), 0);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_int_equal(s.assigned, IVF_ASSIGN_REINSERT);
	assert_non_null(strstr(s.fallback, "l1"));
	assert_int_equal(s.rows_moved, 300);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__aux_columns_survive_the_move(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	sqlite3 *db = open_db("aux.db");
	if (sqlite3_exec(db,
	                 "CREATE VIRTUAL TABLE probe USING vec0(e float[4] indexed by ivf(), "
	                 "+a text)",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		SKIP_BECAUSE("vec0 %s allows no auxiliary columns with IVF", ext.version);
	}
	sqlite3_close(db);
	float *x = blobs(2, c);
	db = open_db("aux.db");
	char sql[256];
	snprintf(sql, sizeof sql,
	         "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, "
	         "emb float[%d] indexed by ivf(nlist=%d), +label text, +score float, +bytes blob)",
	         D, NBLOB);
	exec(db, sql);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db,
	                   "INSERT INTO t(id, emb, label, score, bytes) VALUES (?1, ?2, "
	                   "'row ' || ?1, ?1 * 0.5, CASE WHEN ?1 % 5 THEN randomblob(?1 % 7) END)",
	                   -1, &st, NULL);
	for (int i = 1; i <= NROWS; i++) {
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_blob(st, 2, x + (i - 1) * D, D * 4, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec(db, "CREATE TABLE before AS SELECT id, label, score, bytes FROM t");
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(t.naux, 3);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	sqlite3_close(db);
	db = open_db("aux.db");
	assert_int_equal(scalar(db,
	                        "SELECT count(*) FROM before b JOIN t USING (id) WHERE "
	                        "t.label IS b.label AND t.score IS b.score AND t.bytes IS b.bytes"),
	                 NROWS);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__text_keys_move(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(3, c);
	sqlite3 *db = open_db("text.db");
	char sql[256];
	snprintf(sql, sizeof sql,
	         "CREATE VIRTUAL TABLE t USING vec0(doc text primary key, "
	         "emb float[%d] indexed by ivf(nlist=%d))",
	         D, NBLOB);
	exec(db, sql);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT INTO t(doc, emb) VALUES (printf('doc-%d', ?1), ?2)", -1, &st,
	                   NULL);
	for (int i = 0; i < 400; i++) {
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_blob(st, 2, x + i * D, D * 4, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_int_equal(s.rows_moved, 400);
	assert_int_equal(s.verify_failed, 0);
	sqlite3_close(db);
	db = open_db("text.db");
	assert_int_equal(scalar(db, "SELECT count(*) FROM t WHERE doc LIKE 'doc-%'"), 400);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__native_assign_caught_and_rolled_back(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(4, c);
	sqlite3 *db = ivf_table("native.db", "", x);
	sqlite3_close(db);
	size_t n;
	char *before = slurp(tu_path(dir, "native.db"), &n);
	db = open_db("native.db");
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	o.assign = IVF_ASSIGN_NATIVE;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	int rc = ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err);
	sqlite3_close(db);
	if (rc == 0) {
		/* a release with assign-vectors fixed: then it must really be right */
		print_message("  note: assign-vectors of %s passed verification\n", ext.version);
		assert_assigned("native.db", x, c, NBLOB);
	} else {
		assert_int_equal(rc, ERR_FAIL);
		print_message("  %s\n", err);
		assert_non_null(strstr(err, "verification failed"));
		assert_non_null(strstr(err, "rolled back"));
		assert_true(s.verify_failed > s.verify_checked / 2);
		assert_same_file(tu_path(dir, "native.db"), before, n);
	}
	free(before);
	free(x);
}

static void test_ivf__retrain_trained_table(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(6, c);
	sqlite3 *db = ivf_table("retrain.db", "", x);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	train_table(db, c, NBLOB);
	sqlite3_close(db);
	/* fewer, different centroids: the first half of the centres, shifted */
	float c2[NBLOB / 2 * D];
	for (int i = 0; i < NBLOB / 2 * D; i++)
		c2[i] = c[i] + 0.25f;
	db = open_db("retrain.db");
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	if (ivf_write_centroids(db, &t, c2, NBLOB / 2, &o, &s, NULL, err))
		fail_msg("%s", err);
	assert_true(s.was_trained);
	assert_int_equal(s.ncentroids, NBLOB / 2);
	sqlite3_close(db);
	assert_assigned("retrain.db", x, c2, NBLOB / 2);
	free(x);
}

static void test_ivf__assign_none_leaves_rows_unassigned(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(7, c);
	sqlite3 *db = ivf_table("none.db", "", x);
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	o.assign = IVF_ASSIGN_NONE;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err), 0);
	assert_int_equal(s.ncentroids, NBLOB);
	assert_int_equal(s.unassigned, NROWS);
	assert_int_equal(s.rows_moved, 0);
	sqlite3_close(db);
	free(x);
}

static void test_ivf__disk_full_rolled_back(void **state)
{
	REQUIRE_IVF();
	/* room for 0 .. a few hundred more pages: the write runs out at different
	 * points (set-centroid, the move, assign-vectors); each run either commits a
	 * correct index or leaves the file byte-identical */
	static const int extra[] = {0, 3, 8, 40, 150, 400, 5000};
	int failed[2] = {0, 0};
	for (size_t e = 0; e < 2 * sizeof extra / sizeof extra[0]; e++) {
		/* reinsert first, then bulk, which reuses the pages it frees: with
		 * twice the centroids its cells need more pages than the old ones */
		int bulk = e >= sizeof extra / sizeof extra[0];
		int more = extra[e % (sizeof extra / sizeof extra[0])],
		    k = bulk ? 2 * NBLOB : NBLOB;
		char err[ERR_LEN], sql[64], name[32];
		float c[2 * NBLOB * D];
		float *x = blobs(8, c);
		for (int i = 0; i < NBLOB * D; i++)
			c[NBLOB * D + i] = c[i] + 0.3f;
		snprintf(name, sizeof name, "full%zu.db", e);
		sqlite3 *db = ivf_table(name, "", x);
		sqlite3_close(db);
		size_t n;
		char *before = slurp(tu_path(dir, name), &n);
		db = open_db(name);
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
		         (long long)scalar(db, "PRAGMA page_count") + more);
		exec(db, sql);
		vtab t;
		ivf_write_opts o;
		ivf_write_stats s;
		ivf_write_defaults(&o);
		o.assign = bulk ? IVF_ASSIGN_BULK : IVF_ASSIGN_REINSERT;
		assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
		int rc = ivf_write_centroids(db, &t, c, (size_t)k, &o, &s, NULL, err);
		sqlite3_close(db);
		if (rc == 0) {
			assert_assigned(name, x, c, k);
		} else {
			print_message("  %s +%d pages: %s\n", bulk ? "bulk" : "reinsert", more,
			              err);
			assert_int_equal(rc, ERR_FAIL);
			assert_non_null(strstr(err, "rolled back, the database is unchanged"));
			assert_same_file(tu_path(dir, name), before, n);
			failed[bulk]++;
		}
		free(before);
		free(x);
	}
	assert_true(failed[0] >= 3);
	assert_true(failed[1] >= 2);
}

/* Labels go in with the rows, in each kind of label column a filtered benchmark
 * uses, and a KNN constrained on the label returns only that label's rows. */
static void test_vtab__labeled_insert_per_column_kind(void **state)
{
	static const char *const cols[] = {"label integer", "label integer partition key",
	                                   "+label integer"};
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(12, c);
	int32_t lab[300];
	for (int i = 0; i < 300; i++)
		lab[i] = i % 3;
	sqlite3 *db = open_db("labeled.db");
	for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) {
		vtab_spec spec = {.d = D, .metric = VTAB_L2};
		snprintf(spec.name, sizeof spec.name, "l%zu", k);
		snprintf(spec.label_col, sizeof spec.label_col, "%s", cols[k]);
		vtab t;
		assert_int_equal(vtab_create(db, &spec, &t, err), 0);
		assert_int_equal(
		    vtab_insert_labeled(db, &t, x, lab, "label", 300, 0, 64, NULL, err), 0);
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM l%zu WHERE label = 2", k);
		assert_int_equal(scalar(db, sql), 100);
		if (k == 2)
			continue; /* vec0 refuses constraints on auxiliary columns in a KNN */
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql,
		         "SELECT id FROM l%zu WHERE emb MATCH ?1 AND k = 10 AND label = 1", k);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_blob(st, 1, x, D * sizeof(float), SQLITE_STATIC);
		int n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			assert_int_equal(sqlite3_column_int64(st, 0) % 3, 1);
			n++;
		}
		assert_int_equal(n, 10);
		sqlite3_finalize(st);
	}
	free(x);
	sqlite3_close(db);
}

/* A flat table honours `id IN` and `distance >` in a KNN query. */
static void test_constraint__flat_honours_both(void **state)
{
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(13, c);
	sqlite3 *db = open_db("cons-flat.db");
	vtab_spec spec = {.name = "f", .d = D, .metric = VTAB_L2};
	vtab t;
	vcon_result res;
	assert_int_equal(vtab_create(db, &spec, &t, err), 0);
	assert_int_equal(vtab_insert(db, &t, x, 300, 1, 100, NULL, err), 0);
	assert_int_equal(vcon_probe(db, &t, x, &res, err), 0);
	assert_true(res.key_in);
	assert_true(res.distance_gt);
	/* too few rows for the probe: refused, not guessed */
	vtab_spec small = {.name = "s", .d = D, .metric = VTAB_L2};
	assert_int_equal(vtab_create(db, &small, &t, err), 0);
	assert_int_equal(vtab_insert(db, &t, x, 20, 1, 100, NULL, err), 0);
	assert_int_equal(vcon_probe(db, &t, x, &res, err), ERR_INPUT);
	assert_non_null(strstr(err, "needs 40 rows"));
	free(x);
	sqlite3_close(db);
}

/* Every IVF build so far answers as if the constraints were absent (DESIGN.md):
 * the probe must say so, on a trained table probed at full nprobe. */
static void test_constraint__ivf_ignores_both(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(14, c);
	sqlite3 *db = ivf_table("cons-ivf.db", "", x);
	train_table(db, c, NBLOB);
	vtab t;
	vcon_result res;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(ivf_command(db, &t, "nprobe=8", err), 0);
	assert_int_equal(vcon_probe(db, &t, x, &res, err), 0);
	print_message("  vec0 %s IVF: id IN %s, distance > %s\n", ext.version,
	              res.key_in ? "honoured" : "ignored",
	              res.distance_gt ? "honoured" : "ignored");
	assert_false(res.key_in);
	assert_false(res.distance_gt);
	free(x);
	sqlite3_close(db);
}

static void test_ivf__locked_by_another_writer(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(9, c);
	sqlite3 *db = ivf_table("locked.db", "", x);
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open(tu_path(dir, "locked.db"), &other), SQLITE_OK);
	exec(other, "BEGIN IMMEDIATE");
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	o.busy_ms = 200;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err), ERR_FAIL);
	assert_non_null(strstr(err, "another writer"));
	exec(other, "ROLLBACK");
	sqlite3_close(other);
	assert_int_equal(scalar(db, "SELECT count(*) FROM t_ivf_centroids00"), 0);
	sqlite3_close(db);
	free(x);
}

static void test_vtab__sample_holds_no_read_lock(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	float c[NBLOB * D];
	float *x = blobs(10, c);
	sqlite3 *db = ivf_table("nolock.db", "", x);
	vtab t;
	float *s = NULL;
	size_t got;
	assert_int_equal(vtab_find(db, "t", NULL, 1, &t, err), 0);
	assert_int_equal(vtab_sample(db, &t, 50, 1, &s, &got, NULL, err), 0);
	/* training follows a sample: another writer must be able to commit meanwhile */
	sqlite3 *other = NULL;
	assert_int_equal(sqlite3_open(tu_path(dir, "nolock.db"), &other), SQLITE_OK);
	exec(other, "CREATE TABLE notes(a); INSERT INTO notes VALUES (1)");
	sqlite3_close(other);
	sqlite3_close(db);
	free(s);
	free(x);
}

/* SQLite's progress handler as a Ctrl-C that comes while the write runs. */
static int ctrl_c_later(void *calls)
{
	if (--*(int *)calls == 0)
		raise(SIGINT);
	return 0;
}

/* In a child (the Ctrl-C flag is process-wide and stays set): a write with
 * Ctrl-C pressed before it (calls 0) or part-way (after calls x 100 VM steps)
 * must end in ERR_INTR with the message saying so; exit status 0 when it did. */
static int interrupted_write(const float *c, int calls, ivf_assign assign)
{
	char err[ERR_LEN];
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	o.assign = assign;
	o.batch = 100;
	o.bulk_batch = 100;
	sqlite3 *db = open_db("intr.db");
	/* libgomp's thread pool does not survive fork: this child runs on one thread */
	omp_set_num_threads(1);
	intr_install();
	if (calls)
		sqlite3_progress_handler(db, 100, ctrl_c_later, &calls);
	else
		raise(SIGINT);
	int bad = vtab_find(db, "t", NULL, 1, &t, err) ||
	          ivf_write_centroids(db, &t, c, NBLOB, &o, &s, NULL, err) != ERR_INTR ||
	          !strstr(err, calls ? "rolled back, the database is unchanged"
	                             : "interrupted before writing");
	if (bad)
		fprintf(stderr, "interrupted write (%d): %s\n", calls, err);
	sqlite3_close(db);
	return bad;
}

static void test_ivf__interrupted_write_rolled_back(void **state)
{
	REQUIRE_IVF();
	float c[NBLOB * D];
	float *x = blobs(11, c);
	sqlite3 *db = ivf_table("intr.db", "", x);
	sqlite3_close(db);
	size_t n;
	char *before = slurp(tu_path(dir, "intr.db"), &n);
	/* before the write, part-way through a reinsert and a bulk write (which
	 * runs far fewer VM steps) */
	static const int when[] = {0, 2000, 200};
	static const ivf_assign how[] = {IVF_ASSIGN_BULK, IVF_ASSIGN_REINSERT, IVF_ASSIGN_BULK};
	for (size_t i = 0; i < sizeof when / sizeof when[0]; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(interrupted_write(c, when[i], how[i]));
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_same_file(tu_path(dir, "intr.db"), before, n);
	}
	free(before);
	free(x);
}

/* A quantized table takes its centroids quantized, through the bulk write
 * only: a reinsert would read rows back through vec0's point read, which gives
 * the quantized bytes. */
static void test_ivf__quantized_centroids_stored_quantized(void **state)
{
	REQUIRE_IVF();
	char err[ERR_LEN];
	sqlite3 *db = open_db("quant.db");
	exec(db, "CREATE VIRTUAL TABLE q USING vec0(e float[8] indexed by ivf(nlist=2, "
	         "quantizer=binary))");
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	float c[16] = {1,  -1, 1, 0, 0, 0, 0, 2, /* bits 0, 2, 7: 0x85 */
	               -1, 1,  0, 0, 0, 0, 0, 0 /* bit 1: 0x02 */};
	assert_int_equal(vtab_find(db, "q", NULL, 1, &t, err), 0);
	o.assign = IVF_ASSIGN_REINSERT;
	assert_int_equal(ivf_write_centroids(db, &t, c, 2, &o, &s, NULL, err), ERR_INPUT);
	assert_non_null(strstr(err, "quantizer=binary"));
	assert_int_equal(scalar(db, "SELECT count(*) FROM q_ivf_centroids00"), 0);
	o.assign = IVF_ASSIGN_BULK;
	assert_int_equal(ivf_write_centroids(db, &t, c, 2, &o, &s, NULL, err), 0);
	assert_int_equal(scalar(db, "SELECT sum(length(centroid)) FROM q_ivf_centroids00"), 2);
	assert_int_equal(scalar(db, "SELECT unicode(centroid) FROM q_ivf_centroids00 WHERE "
	                            "centroid_id = 0"),
	                 0x85);
	/* vec0's own insert now compares with them: the row goes to centroid 1 */
	float v[8] = {-1, 1, 0, 0, 0, 0, 0, 0};
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "INSERT INTO q(rowid, e) VALUES (1, ?1)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, v, sizeof v, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(scalar(db, "SELECT c.centroid_id FROM q_ivf_rowid_map00 m JOIN "
	                            "q_ivf_cells00 c ON c.rowid = m.cell_id WHERE m.rowid = 1"),
	                 1);
	sqlite3_close(db);
}

/* ---- kill -9 at random points of a write ------------------------------------- */

#define CRASH_POINTS 20 /* kills per write path and journal mode */

/* retrain and VACUUM run the default assignment (bulk) */
typedef enum {
	CR_BULK,
	CR_REINSERT,
	CR_NATIVE,
	CR_NONE,
	CR_RETRAIN,
	CR_VACUUM,
	CR_PATHS
} crash_path;
static const char *const crash_names[CR_PATHS] = {"bulk", "reinsert", "native",
                                                  "none", "retrain",  "vacuum"};

/* FNV-1a over every row of every ordinary table (rowid and each value with its
 * type): the same logical content, old or new index, gives the same hash. */
static uint64_t content_hash(sqlite3 *db)
{
	uint64_t h = 1469598103934665603ull;
	sqlite3_stmt *tabs = NULL, *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT name FROM sqlite_master WHERE type = 'table' "
	                                    "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
	                                    -1, &tabs, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		char *sql = sqlite3_mprintf("SELECT rowid, * FROM \"%w\" ORDER BY rowid",
		                            (const char *)sqlite3_column_text(tabs, 0));
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		sqlite3_free(sql);
		while (sqlite3_step(st) == SQLITE_ROW)
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				int type = sqlite3_column_type(st, c);
				const unsigned char *b = sqlite3_column_blob(st, c);
				int n = sqlite3_column_bytes(st, c);
				h = (h ^ (uint64_t)type) * 1099511628211ull;
				for (int i = 0; i < n; i++)
					h = (h ^ b[i]) * 1099511628211ull;
			}
		sqlite3_finalize(st);
	}
	sqlite3_finalize(tabs);
	return h;
}

static void copy_file(const char *from, const char *to)
{
	size_t n;
	char *buf = slurp(from, &n);
	FILE *f = fopen(to, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

/* The database as a crash left it: integrity_check ok, every row with its
 * vector (read through vec0), and its content hash. */
static uint64_t crashed_state(const char *name, const float *x)
{
	sqlite3 *db = open_db(name);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, emb FROM t ORDER BY id", -1, &st, NULL),
	                 SQLITE_OK);
	int64_t rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		assert_int_equal(id, rows + 1);
		assert_int_equal(sqlite3_column_bytes(st, 1), D * 4);
		assert_memory_equal(sqlite3_column_blob(st, 1), x + (id - 1) * D, D * 4);
		rows++;
	}
	assert_int_equal(rows, NROWS);
	sqlite3_finalize(st);
	uint64_t h = content_hash(db);
	sqlite3_close(db);
	return h;
}

/* In a child: the write of path p on name (and VACUUM), after one byte on fd
 * says it begins. Exit status 0 when it committed. */
static int crash_child(const char *name, crash_path p, const float *c, int fd)
{
	char err[ERR_LEN];
	vtab t;
	ivf_write_opts o;
	ivf_write_stats s;
	ivf_write_defaults(&o);
	if (p == CR_REINSERT || p == CR_NATIVE || p == CR_NONE)
		o.assign = p == CR_NATIVE ? IVF_ASSIGN_NATIVE
		           : p == CR_NONE ? IVF_ASSIGN_NONE
		                          : IVF_ASSIGN_REINSERT;
	o.batch = 100;
	size_t k = p == CR_RETRAIN ? NBLOB / 2 : NBLOB;
	/* a forked child cannot use the OpenMP threads the parent started */
	omp_set_num_threads(1);
	sqlite3 *db = open_db(name);
	if (vtab_find(db, "t", NULL, 1, &t, err) != 0 || write(fd, "", 1) != 1)
		return 2;
	int rc = ivf_write_centroids(db, &t, c, k, &o, &s, NULL, err);
	if (rc == 0 && p == CR_VACUUM)
		rc = ivf_vacuum(db, &s, err);
	sqlite3_close(db);
	return rc == 0 ? 0 : 1;
}

/* Runs crash_child in a process of its own, killed with SIGKILL delay_s after
 * the write began (never, when delay_s < 0); returns its wait status and the
 * seconds it ran from the start of the write. */
static int crash_run(const char *name, crash_path p, const float *c, double delay_s, double *ran_s)
{
	int fds[2];
	char b;
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(crash_child(name, p, c, fds[1]));
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &b, 1), 1);
	double t0 = tm_now();
	if (delay_s >= 0) {
		usleep((useconds_t)(delay_s * 1e6));
		kill(pid, SIGKILL);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*ran_s = tm_now() - t0;
	close(fds[0]);
	return status;
}

/* A fresh copy of base as name, without a journal or WAL of an earlier run. */
static void crash_copy(const char *base, const char *name)
{
	char p[4200];
	copy_file(tu_path(dir, base), tu_path(dir, name));
	for (const char *const *sfx = (const char *const[]){"-journal", "-wal", "-shm", NULL}; *sfx;
	     sfx++) {
		snprintf(p, sizeof p, "%s%s", tu_path(dir, name), *sfx);
		unlink(p);
	}
}

/* kill -9 at CRASH_POINTS points spread over the write of path p in journal
 * mode jm: each time integrity_check ok, every row and vector as before, and
 * the content of the old index or of the new one, never a mix. */
static void crash_path_test(crash_path p, const char *jm)
{
	float c[NBLOB * D], c2[NBLOB / 2 * D];
	float *x = blobs(20, c);
	char base[64], sql[64];
	for (int i = 0; i < NBLOB / 2 * D; i++)
		c2[i] = c[i] + 0.25f;
	snprintf(base, sizeof base, "crash-%s-%s.db", crash_names[p], jm);
	sqlite3 *db = ivf_table(base, "", x);
	sqlite3_close(db); /* vec0 leaves a statement of the insert stepped */
	db = open_db(base);
	snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", jm);
	exec(db, sql);
	if (p == CR_RETRAIN)
		train_table(db, c, NBLOB);
	sqlite3_close(db);
	const float *cw = p == CR_RETRAIN ? c2 : c;
	uint64_t old = crashed_state(base, x), fresh, vacuumed = 0;
	/* the reference: the whole write, then its content (before VACUUM too);
	 * its time is the shortest of 3 runs, so that the kills fall inside it
	 * on a busy machine */
	double full_s = INFINITY, ran;
	crash_copy(base, "crash-ref.db");
	int status = crash_run("crash-ref.db", p == CR_VACUUM ? CR_BULK : p, cw, -1, &ran);
	assert_true(WIFEXITED(status));
	fresh = crashed_state("crash-ref.db", x);
	for (int i = 0; i < 3; i++) {
		crash_copy(base, "crash-ref.db");
		status = crash_run("crash-ref.db", p, cw, -1, &ran);
		assert_true(WIFEXITED(status));
		full_s = ran < full_s ? ran : full_s;
	}
	if (p == CR_VACUUM) {
		assert_int_equal(status, 0);
		vacuumed = crashed_state("crash-ref.db", x);
	}
	/* CRASH_POINTS kills that land inside the write: the k-th at a random time
	 * in the k-th of CRASH_POINTS spans of its time; a run that ended before
	 * its kill counts as one more check, and the span is tried again */
	int killed = 0, runs = 0, as_old = 0, as_new = 0;
	rng_t r;
	rng_seed(&r, 77 + (uint64_t)p);
	while (killed < CRASH_POINTS) {
		if (++runs > 4 * CRASH_POINTS)
			fail_msg("%s, %s journal: only %d of %d runs killed inside the write",
			         crash_names[p], jm, killed, runs - 1);
		double at = full_s * (killed + rng_uniform(&r)) / CRASH_POINTS;
		crash_copy(base, "crash-kill.db");
		status = crash_run("crash-kill.db", p, cw, at, &ran);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else if (ran < full_s)
			full_s = ran; /* the write is shorter than measured: aim earlier */
		uint64_t h = crashed_state("crash-kill.db", x);
		if (h == old)
			as_old++;
		else if (h == fresh || (p == CR_VACUUM && h == vacuumed))
			as_new++;
		else
			fail_msg("%s, %s journal, killed after %.3f s: neither the old nor the new "
			         "index",
			         crash_names[p], jm, at);
	}
	print_message("  %s, %s: write %.3f s; %d runs, %d killed in it, %d old index, %d new\n",
	              crash_names[p], jm, full_s, runs, killed, as_old, as_new);
	free(x);
}

/* The files live on a tmpfs when there is one: a kill -9 leaves what the
 * process wrote in the page cache either way, and fsync on a disk would make
 * the 200 writes take minutes. */
static void test_ivf__kill_9_leaves_old_or_new_index(void **state)
{
	REQUIRE_IVF();
	char shm[] = "/dev/shm/ivfkit-crash.XXXXXX", *disk = dir;
	if (mkdtemp(shm))
		dir = shm;
	for (int p = 0; p < CR_PATHS; p++) {
		crash_path_test((crash_path)p, "delete");
		crash_path_test((crash_path)p, "wal");
	}
	if (dir == shm) {
		char cmd[64];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", shm);
		assert_int_equal(system(cmd), 0);
	}
	dir = disk;
}

static int setup(void **state)
{
	char err[ERR_LEN];
	if (vec0_find(NULL, &ext, err) != 0) {
		print_error("%s\n", err);
		return -1;
	}
	dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	tu_rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vec0__loads_and_probes),
	    cmocka_unit_test(test_vec0__missing_database_not_created),
	    cmocka_unit_test(test_vec0__not_sqlite_refused),
	    cmocka_unit_test(test_vec0__second_build_refused),
	    cmocka_unit_test(test_vtab__schema_read_back),
	    cmocka_unit_test(test_vtab__find_errors_name_the_table),
	    cmocka_unit_test(test_vtab__create_insert_query_round_trip),
	    cmocka_unit_test(test_vtab__labeled_insert_per_column_kind),
	    cmocka_unit_test(test_constraint__flat_honours_both),
	    cmocka_unit_test(test_constraint__ivf_ignores_both),
	    cmocka_unit_test(test_vtab__sample_seeded_distinct_uniform),
	    cmocka_unit_test(test_vtab__sample_rejects_nan_naming_the_row),
	    cmocka_unit_test(test_ivf__command_syntax_detected),
	    cmocka_unit_test(test_ivf__write_reinsert_assigns_every_row),
	    cmocka_unit_test(test_ivf__write_bulk_assigns_every_row),
	    cmocka_unit_test(test_bulk__stale_plan_is_left_at_the_first_difference),
	    cmocka_unit_test(test_ivf__write_drops_a_plan_another_writer_outdated),
	    cmocka_unit_test(test_ivf__bulk_and_reinsert_give_the_same_knn),
	    cmocka_unit_test(test_ivf__vec0_keeps_working_on_a_bulk_index),
	    cmocka_unit_test(test_ivf__bulk_keeps_sparse_rowids),
	    cmocka_unit_test(test_check__catches_changed_vectors_and_misplaced_rows),
	    cmocka_unit_test(test_ivf__bulk_falls_back_on_l1_tables),
	    cmocka_unit_test(test_ivf__aux_columns_survive_the_move),
	    cmocka_unit_test(test_ivf__text_keys_move),
	    cmocka_unit_test(test_ivf__native_assign_caught_and_rolled_back),
	    cmocka_unit_test(test_ivf__retrain_trained_table),
	    cmocka_unit_test(test_ivf__assign_none_leaves_rows_unassigned),
	    cmocka_unit_test(test_ivf__disk_full_rolled_back),
	    cmocka_unit_test(test_ivf__locked_by_another_writer),
	    cmocka_unit_test(test_vtab__sample_holds_no_read_lock),
	    cmocka_unit_test(test_ivf__interrupted_write_rolled_back),
	    cmocka_unit_test(test_ivf__quantized_centroids_stored_quantized),
	    cmocka_unit_test(test_ivf__kill_9_leaves_old_or_new_index),
	};
	return cmocka_run_group_tests_name("vec0", tests, setup, teardown);
}

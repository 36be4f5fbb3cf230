/*
 * bench.c - build phase and query phase of vecbench (see bench.h).
 *
 * Build, per section, into its own database file:
 *   flat                          create, insert
 *   ivf, centroids-first          k-means on a seeded sample, create, set
 *                                 centroids on the empty table, insert (rows are
 *                                 assigned as they arrive)
 *   ivf, insert-then-train        create, insert untrained, k-means, then
 *                                 ivftrain's one-transaction write with the
 *                                 configured assign (reinsert | native)
 *   ivf, bulk                     k-means on a seeded sample, create, then
 *                                 ivftrain --load's one-transaction write: base
 *                                 tables and assigned cells, no per-row insert
 *   ivf, trainer = builtin        create, insert untrained, compute-centroids
 * Query, on a fresh connection: per nprobe a warm-up pass, then each query timed
 * alone; recall scored afterwards, outside the timed region.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "bulk.h"
#include "err.h"
#include "groundtruth.h"
#include "intr.h"
#include "ivf.h"
#include "kmeans.h"
#include "peer.h"
#include "progress.h"
#include "sql.h"
#include "timing.h"
#include "workdir.h"

#define BENCH_TABLE "vecbench"
#define BENCH_WORKDIR "vecbench." /* work folder name prefix under $TMPDIR */
#define BENCH_OPEN_NEW (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)

void bench_dataset_name(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".hdf5") == 0)
		n -= 5;
	snprintf(buf, len, "%.*s", (int)n, b);
}

/* The metric a table must have for the dataset's ground truth to apply. */
static vtab_metric dataset_metric(const bench_run *r)
{
	return r->angular ? VTAB_COSINE : VTAB_L2;
}

/* The metric section x's index uses: its own, else the dataset's. */
static vtab_metric section_metric(const bench_run *r, const cfg_index *x)
{
	return x->metric_set ? x->metric : dataset_metric(r);
}

/* "file:line" of a config value, or "command line" for one given there (line 0). */
static const char *where(const cfg *c, int line, char *buf, size_t len)
{
	if (line)
		snprintf(buf, len, "%s:%d", c->file, line);
	else
		snprintf(buf, len, "command line");
	return buf;
}

/* Checks the config against the dataset, with the config line in each message. */
static int check_against_dataset(const bench_run *r, char *err)
{
	const cfg *c = r->c;
	const h5_dataset *ds = &r->ds;
	char at[CFG_PATH + 16];
	if (!ds->neighbors || ds->kgt == 0)
		return err_set(
		    err, ERR_INPUT,
		    "%s has no ground truth (neighbors): make it with `vecdata groundtruth "
		    "%s`",
		    c->dataset, c->dataset);
	if (c->k > ds->kgt)
		return err_set(err, ERR_INPUT,
		               "%s: k = %zu but %s has ground truth for %zu "
		               "neighbours",
		               where(c, c->k_line, at, sizeof at), c->k, c->dataset, ds->kgt);
	if (c->queries > ds->nq)
		return err_set(err, ERR_INPUT, "%s: queries = %zu but %s has %zu test rows",
		               where(c, c->queries_line, at, sizeof at), c->queries, c->dataset,
		               ds->nq);
	for (size_t i = 0; i < c->nidx; i++) {
		const cfg_index *x = &c->idx[i];
		if (x->metric_set && x->metric != dataset_metric(r))
			return err_set(
			    err, ERR_INPUT,
			    "%s:%d: [%s] distance_metric = %s, but the ground truth of %s "
			    "is %s",
			    c->file, x->metric_line, x->name, vtab_metric_name(x->metric),
			    c->dataset, ds->distance);
		if (x->type_ivf && (size_t)x->nlist > ds->n)
			return err_set(err, ERR_INPUT,
			               "%s:%d: [%s] nlist = %d exceeds the %zu train "
			               "rows of %s",
			               c->file, x->nlist_line, x->name, x->nlist, ds->n,
			               c->dataset);
		if (x->ntrain > ds->n)
			return err_set(err, ERR_INPUT,
			               "%s:%d: [%s] ntrain = %zu exceeds the %zu "
			               "train rows of %s",
			               c->file, x->ntrain_line, x->name, x->ntrain, ds->n,
			               c->dataset);
	}
	return 0;
}

/* The checks `vecdata info` runs on the stored ground truth (ids, order, spot
 * queries by brute force): recall against a wrong ground truth measures nothing,
 * and the flat section's exactness check would only catch some of it. */
static int check_groundtruth(const bench_run *r, char *err)
{
	const h5_dataset *ds = &r->ds;
	gt_metric m;
	gt_report rep;
	char why[ERR_LEN];
	int rc = gt_metric_parse(ds->distance, &m, why);
	if (rc == 0)
		rc = gt_check(ds->train, ds->n, ds->test, ds->nq, ds->d, m, ds->neighbors,
		              ds->distances, ds->kgt, GT_DEFAULT_SPOT, &rep, why);
	if (rc == 0 && (rc = gt_report_verdict(&rep, ds->nq, why)) < 0)
		rc = ERR_INPUT; /* the dataset is the input: exit 2, nothing built */
	if (rc < 0)
		return err_set(err, rc,
		               "%s: %s (see `vecdata info %s`; `vecdata groundtruth` "
		               "recomputes it)",
		               r->c->dataset, why, r->c->dataset);
	return 0;
}

/* kth[q]: the largest true distance among query q's first k ground-truth
 * neighbours (filtered: its min(k, matches)), in the units stats_distance uses,
 * so tie recall compares like with like whatever unit the file's distances are
 * in. */
static int compute_kth(bench_run *r, char *err)
{
	const h5_dataset *ds = &r->ds;
	r->kth = malloc(r->nq * sizeof *r->kth);
	if (!r->kth)
		return err_set(err, ERR_NOMEM, "out of memory");
	for (size_t q = 0; q < r->nq; q++) {
		double m = 0;
		const int32_t *truth = ds->neighbors + q * ds->kgt;
		size_t kk = r->filtered ? flt_truth(&r->flt, q, &truth) : r->k;
		for (size_t j = 0; j < kk; j++) {
			size_t id = (size_t)truth[j];
			double dist = stats_distance(ds->test + q * ds->d, ds->train + id * ds->d,
			                             ds->d, r->angular);
			m = dist > m ? dist : m;
		}
		r->kth[q] = m;
	}
	return 0;
}

/* Database files go to [run] db_dir, or a fresh work folder under $TMPDIR (else
 * /var/tmp, which is on disk where /tmp may be memory); the folders earlier runs
 * left there when they were killed go first (r->note says so). */
static int make_db_dir(bench_run *r, char *err)
{
	const cfg *c = r->c;
	if (c->db_dir[0]) {
		if (mkdir(c->db_dir, 0777) != 0 && errno != EEXIST)
			return err_set(err, ERR_INPUT, "db_dir %s: %s", c->db_dir, strerror(errno));
		snprintf(r->db_dir, sizeof r->db_dir, "%s", c->db_dir);
		return 0;
	}
	const char *base = getenv("TMPDIR");
	base = base && *base ? base : "/var/tmp";
	wd_sweep(base, BENCH_WORKDIR, r->note, sizeof r->note);
	int rc = wd_make(base, BENCH_WORKDIR, r->db_dir, sizeof r->db_dir, err);
	r->db_dir_made = rc == 0;
	return rc;
}

/* A database file and the files SQLite keeps beside it: a failed write on a
 * full disk left flat.sqlite-journal behind. */
static void remove_db(const char *path)
{
	static const char *const sfx[] = {"", "-journal", "-wal", "-shm"};
	char p[CFG_PATH + 16];
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/* ---- build ---------------------------------------------------------------- */

/* The section's build options: build_defaults with the config's nlist, ntrain,
 * niter, seed and threads, and the assign its order means. */
static void section_opts(const bench_run *r, bench_section *s)
{
	const cfg_index *x = s->cx;
	build_opts *o = &s->opts;
	build_defaults(o);
	o->nlist = (size_t)x->nlist;
	o->ntrain = x->ntrain;
	o->km.niter = x->niter;
	o->km.seed = r->c->seed;
	o->km.nthreads = r->c->threads;
	o->write.assign = x->order == CFG_ORDER_BULK              ? IVF_ASSIGN_BULK
	                  : x->order == CFG_ORDER_CENTROIDS_FIRST ? IVF_ASSIGN_NONE
	                                                          : x->assign;
	/* native assign misplaces rows on every release so far: verification would
	 * roll it back, and showing that damage is the point of the section */
	if (o->write.assign == IVF_ASSIGN_NATIVE)
		o->write.verify_samples = 0;
}

/* ivftrain's pipeline on the dataset's train rows: the training-size rule, the
 * seeded sample, k-means; *cent gets the nlist x d centroids (caller frees). */
static int train(bench_run *r, bench_section *s, float **cent, char *err)
{
	const h5_dataset *ds = &r->ds;
	const float *x = NULL;
	float *owned = NULL;
	km_result res = {0};
	prog_t pg = PROG_INIT;
	double t0 = tm_now();
	int rc = build_size(&s->opts, -1, (int64_t)ds->n, r->c->dataset, &s->sizes, err);
	if (rc == 0)
		rc = build_sample_matrix(ds->train, ds->n, ds->d, &s->sizes, &s->opts, &x, &owned,
		                         err);
	if (rc == 0)
		rc = build_train(x, s->sizes.ntrain, ds->d, &s->sizes, s->metric, &s->opts, &res,
		                 &pg, err);
	if (rc == 0) {
		s->build.train_s = tm_now() - t0;
		s->build.ntrain = s->sizes.ntrain;
		s->build.km_niter = res.niter;
		s->build.km_inertia = res.inertia;
		s->build.km_imbalance = res.imbalance;
		*cent = res.centroids;
		res.centroids = NULL;
	}
	km_result_free(&res);
	free(owned);
	return rc;
}

/* ivftrain's write path (with rows: its --load); the phases it reports go to
 * the section's build. */
static int write_centroids(bench_section *s, sqlite3 *db, vtab *t, const float *cent,
                           const ivf_rows *rows, char *err)
{
	ivf_write_stats ws;
	prog_t pg = PROG_INIT;
	double t0 = tm_now();
	int rc = build_write(db, t, cent, (size_t)s->cx->nlist, rows, &s->opts, &ws, &pg, err);
	if (rc < 0)
		return rc;
	double wall = tm_now() - t0;
	/* a load's row write (base tables and cells) is its insert phase */
	*(rows ? &s->build.insert_s : &s->build.assign_s) = ws.assign_s;
	s->build.verify_s = ws.verify_s + ws.integrity_s;
	s->build.centroids_s = wall - ws.assign_s - s->build.verify_s;
	s->build.lock_s = ws.lock_s;
	s->build.verify_samples = s->opts.write.verify_samples;
	return 0;
}

/* Every train row with id = its index; in a filtered run with its label too
 * (in the table, or in the join mode's side table). */
static int insert_all(bench_run *r, bench_section *s, sqlite3 *db, vtab *t, char *err)
{
	prog_t pg = PROG_INIT;
	double t0 = tm_now();
	int in_table = r->filtered && s->cx->filter_mode != FLT_JOIN;
	int rc = vtab_insert_labeled(db, t, r->ds.train, in_table ? r->flt.gt.labels : NULL,
	                             FLT_COLUMN, r->ds.n, 0, r->c->batch, &pg, err);
	if (rc == 0 && r->filtered && !in_table)
		rc = flt_load_join(db, t, r->flt.gt.labels, r->ds.n, err);
	s->build.insert_s = tm_now() - t0;
	return rc;
}

/* The labels as a load's values of t's one auxiliary column (the filter's aux
 * mode): *vals gets n values (caller frees each, then the array). */
static int label_values(sqlite3 *db, const vtab *t, const int32_t *labels, size_t n,
                        sqlite3_value ***vals, char *err)
{
	if (t->naux != 1)
		return err_set(err, ERR_FAIL, "table %s: %d auxiliary columns, not the label alone",
		               t->name, t->naux);
	sqlite3_stmt *st = NULL;
	sqlite3_value **v = calloc(n ? n : 1, sizeof *v);
	int rc = v ? sql_prepare(db, sqlite3_mprintf("SELECT ?1"), &st, err)
	           : err_set(err, ERR_NOMEM, "out of memory for %zu labels", n);
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_bind_int(st, 1, labels[i]);
		if (sqlite3_step(st) == SQLITE_ROW)
			v[i] = sqlite3_value_dup(sqlite3_column_value(st, 0));
		if (!v[i])
			rc = err_set(err, ERR_NOMEM, "out of memory for %zu labels", n);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	*vals = v;
	return rc;
}

/* ivftrain --load's write of every train row (id = its index, as insert_all);
 * in a filtered run with its label, as an auxiliary value or in the join
 * mode's side table. */
static int load_all(bench_run *r, bench_section *s, sqlite3 *db, vtab *t, const float *cent,
                    char *err)
{
	ivf_rows rows = {.x = r->ds.train, .n = r->ds.n, .first_id = 0};
	sqlite3_value **aux = NULL;
	int in_table = r->filtered && s->cx->filter_mode != FLT_JOIN;
	int rc = in_table ? label_values(db, t, r->flt.gt.labels, r->ds.n, &aux, err) : 0;
	rows.aux = aux;
	if (rc == 0)
		rc = write_centroids(s, db, t, cent, &rows, err);
	for (size_t i = 0; aux && i < r->ds.n; i++)
		sqlite3_value_free(aux[i]);
	free(aux);
	if (rc == 0 && r->filtered && !in_table) {
		double t0 = tm_now();
		rc = flt_load_join(db, t, r->flt.gt.labels, r->ds.n, err);
		s->build.insert_s += tm_now() - t0;
	}
	return rc;
}

/* The build steps of an IVF section after table creation, in its order. */
static int build_ivf(bench_run *r, bench_section *s, sqlite3 *db, vtab *t, float *cent, char *err)
{
	const cfg_index *x = s->cx;
	int rc;
	if (x->order == CFG_ORDER_BULK)
		return load_all(r, s, db, t, cent, err);
	if (x->order == CFG_ORDER_CENTROIDS_FIRST) {
		if ((rc = write_centroids(s, db, t, cent, NULL, err)) < 0)
			return rc;
		return insert_all(r, s, db, t, err);
	}
	if ((rc = insert_all(r, s, db, t, err)) < 0)
		return rc;
	if (x->trainer == CFG_TRAINER_BUILTIN) {
		double t0 = tm_now();
		rc = ivf_command(db, t, "compute-centroids", err);
		s->build.train_s = tm_now() - t0;
		return rc;
	}
	float *c = NULL;
	if ((rc = train(r, s, &c, err)) == 0)
		rc = write_centroids(s, db, t, c, NULL, err);
	free(c);
	return rc;
}

/* Rows, centroids, unassigned rows and free space as the table reports them. */
static int table_state(bench_section *s, sqlite3 *db, const vtab *t, char *err)
{
	int64_t pages = 0, page_size = 0;
	int rc = vtab_count(db, t, &s->build.rows, err);
	if (rc == 0 && t->is_ivf)
		rc = ivf_state(db, t, &s->build.ncentroids, &s->build.unassigned, err);
	if (rc == 0 &&
	    (rc = sql_scalar(db, sqlite3_mprintf("PRAGMA freelist_count"), &pages, err)) == 0 &&
	    (rc = sql_scalar(db, sqlite3_mprintf("PRAGMA page_size"), &page_size, err)) == 0)
		s->build.free_bytes = pages * page_size;
	return rc;
}

static int file_size(const char *path, int64_t *bytes, char *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return err_set(err, ERR_FAIL, "%s: %s", path, strerror(errno));
	*bytes = (int64_t)st.st_size;
	return 0;
}

/* Builds the section's table in a new database file. */
static int build(bench_run *r, bench_section *s, char *err)
{
	const cfg_index *x = s->cx;
	sqlite3 *db = NULL;
	float *cent = NULL;
	vtab t;
	int rc = vec0_open(s->db_path, BENCH_OPEN_NEW, IVF_BUSY_MS, &r->ext, &db, err);
	if (rc < 0)
		return rc;
	s->db_made = 1;
	if (x->page_size) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA page_size = %d", x->page_size);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = err_set(err, ERR_FAIL, "%s: %s", sql, sqlite3_errmsg(db));
			goto out;
		}
	}
	vtab_spec spec = {
	    .d = r->ds.d,
	    .metric = s->metric,
	    .type_ivf = x->type_ivf,
	    .nlist = x->nlist,
	    .nprobe = x->type_ivf ? x->nprobe[0] : 0,
	    .oversample = x->oversample,
	    .chunk_size = x->chunk_size,
	};
	snprintf(spec.name, sizeof spec.name, "%s", BENCH_TABLE);
	snprintf(spec.quantizer, sizeof spec.quantizer, "%s", x->quantizer);
	if (r->filtered)
		snprintf(spec.label_col, sizeof spec.label_col, "%s",
		         flt_mode_column((flt_mode)x->filter_mode));
	double t0 = tm_now();
	if (x->type_ivf && x->order != CFG_ORDER_INSERT_THEN_TRAIN &&
	    (rc = train(r, s, &cent, err)) < 0)
		goto out;
	if ((rc = vtab_create(db, &spec, &t, err)) < 0)
		goto out;
	rc = x->type_ivf ? build_ivf(r, s, db, &t, cent, err) : insert_all(r, s, db, &t, err);
	if (rc < 0)
		goto out;
	s->build.total_s = tm_now() - t0;
	snprintf(s->table, sizeof s->table, "%s", t.name);
	rc = table_state(s, db, &t, err);
out:
	free(cent);
	sqlite3_close(db);
	if (rc == 0)
		rc = file_size(s->db_path, &s->build.file_bytes, err);
	return rc;
}

/* `db = PATH` naming an existing file: measure its vec0 table (the only one in
 * the file) as it is, after checking that it holds this dataset the way the
 * section describes. */
static int reuse(bench_run *r, bench_section *s, char *err)
{
	const cfg *c = r->c;
	const cfg_index *x = s->cx;
	sqlite3 *db = NULL;
	vtab t;
	int rc = vec0_open(s->db_path, SQLITE_OPEN_READWRITE, IVF_BUSY_MS, &r->ext, &db, err);
	if (rc < 0)
		return rc;
	if ((rc = vtab_find(db, NULL, NULL, 0, &t, err)) < 0)
		goto out;
	const char *what = NULL;
	char have[96] = "", want[96] = "";
	if (t.d != r->ds.d) {
		what = "dimension";
		snprintf(have, sizeof have, "%zu", t.d);
		snprintf(want, sizeof want, "%zu", r->ds.d);
	} else if (t.metric != s->metric) {
		what = "distance_metric";
		snprintf(have, sizeof have, "%s", vtab_metric_name(t.metric));
		snprintf(want, sizeof want, "%s", vtab_metric_name(s->metric));
	} else if (t.is_ivf != x->type_ivf) {
		what = "type";
		snprintf(have, sizeof have, "%s", t.is_ivf ? "ivf" : "flat");
		snprintf(want, sizeof want, "%s", x->type_ivf ? "ivf" : "flat");
	} else if (x->type_ivf && (t.nlist != x->nlist || strcmp(t.quantizer, x->quantizer))) {
		what = "nlist/quantizer";
		snprintf(have, sizeof have, "%d/%s", t.nlist, t.quantizer);
		snprintf(want, sizeof want, "%d/%s", x->nlist, x->quantizer);
	}
	if (what) {
		rc = err_set(err, ERR_INPUT,
		             "%s:%d: [%s] db %s: table %s has %s %s, the section and "
		             "dataset need %s",
		             c->file, x->line, x->name, s->db_path, t.name, what, have, want);
		goto out;
	}
	if ((rc = table_state(s, db, &t, err)) < 0)
		goto out;
	if ((size_t)s->build.rows != r->ds.n || (t.is_ivf && s->build.ncentroids == 0)) {
		rc = err_set(err, ERR_INPUT,
		             "%s:%d: [%s] db %s: table %s has %lld rows and %lld "
		             "centroids; the dataset has %zu train rows%s",
		             c->file, x->line, x->name, s->db_path, t.name,
		             (long long)s->build.rows, (long long)s->build.ncentroids, r->ds.n,
		             t.is_ivf ? " and an IVF table needs centroids" : "");
		goto out;
	}
	snprintf(s->table, sizeof s->table, "%s", t.name);
	s->build.reused = 1;
out:
	sqlite3_close(db);
	if (rc == 0)
		rc = file_size(s->db_path, &s->build.file_bytes, err);
	return rc;
}

/* ---- query ---------------------------------------------------------------- */

/* Scores one pass: recall by id and with ties, per query then averaged. In a
 * filtered run recall is out of each query's min(k, matches) (filter.h), a row
 * of another label is never a tie, and the figures are also kept per
 * selectivity class. */
static int score(const bench_run *r, bench_point *pt, const int64_t *ids, const size_t *got,
                 char *err)
{
	const h5_dataset *ds = &r->ds;
	double dist[r->k], sum = 0, sum_ties = 0;
	double *rq = r->filtered ? malloc(r->nq * sizeof *rq) : NULL;
	unsigned char *under = r->filtered ? malloc(r->nq) : NULL;
	if (r->filtered && (!rq || !under)) {
		free(rq);
		free(under);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pt->inexact = 0;
	for (size_t q = 0; q < r->nq; q++) {
		const int64_t *g = ids + q * r->k;
		const int32_t *lab = r->filtered ? r->flt.gt.labels : NULL;
		for (size_t j = 0; j < got[q]; j++)
			dist[j] = g[j] >= 0 && (size_t)g[j] < ds->n &&
			                  (!lab || lab[g[j]] == r->flt.gt.qfilter[q])
			              ? stats_distance(ds->test + q * ds->d,
			                               ds->train + (size_t)g[j] * ds->d, ds->d,
			                               r->angular)
			              : INFINITY;
		double t;
		if (r->filtered) {
			int u;
			const int32_t *truth;
			size_t m = flt_truth(&r->flt, q, &truth);
			rq[q] = flt_recall(&r->flt, q, g, got[q], &u);
			under[q] = (unsigned char)u;
			sum += rq[q];
			t = m ? stats_recall_ties(dist, got[q], r->kth[q], m, STATS_TIE_EPS)
			      : rq[q];
		} else {
			sum += stats_recall_ids(g, got[q], ds->neighbors + q * ds->kgt, r->k);
			t = stats_recall_ties(dist, got[q], r->kth[q], r->k, STATS_TIE_EPS);
		}
		sum_ties += t;
		pt->inexact += t < 1;
	}
	pt->recall = sum / (double)r->nq;
	pt->recall_ties = sum_ties / (double)r->nq;
	if (r->filtered)
		flt_score(&r->flt, rq, under, pt->lat_s, &pt->flt);
	free(rq);
	free(under);
	return 0;
}

bench_overhead bench_overhead_verdict(double harness_s, double floor_s)
{
	if (harness_s < floor_s * (1 - BENCH_OVERHEAD_MAX))
		return BENCH_OVERHEAD_INVALID;
	return harness_s <= floor_s * (1 + BENCH_OVERHEAD_MAX) ? BENCH_OVERHEAD_MET
	                                                       : BENCH_OVERHEAD_EXCEEDED;
}

const char *bench_overhead_name(bench_overhead v)
{
	static const char *const names[] = {"met", "exceeded", "invalid"};
	return names[v];
}

/* The harness-overhead floor: the harness's own prepared statement q run over
 * the same queries with nothing else (bind, step to the end, reset; no clock,
 * copy or check per query), each pass timed as a whole; s->loop_mean_s is the
 * fastest pass, so noise can only make the floor look slower, never faster. */
static int floor_loop(const bench_run *r, bench_section *s, vtab_query *q, char *err)
{
	sqlite3_stmt *st = q->stmt;
	int rc = SQLITE_DONE;
	s->loop_mean_s = 0;
	for (int pass = 0; pass < BENCH_FLOOR_PASSES && rc == SQLITE_DONE; pass++) {
		double t0 = tm_now();
		for (size_t i = 0; i < r->nq && rc == SQLITE_DONE; i++) {
			sqlite3_bind_blob(st, 1, r->ds.test + i * r->ds.d,
			                  (int)(r->ds.d * sizeof(float)), SQLITE_STATIC);
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				;
			sqlite3_reset(st);
		}
		double mean = (tm_now() - t0) / (double)r->nq;
		s->loop_pass_s[pass] = mean;
		if (!s->loop_mean_s || mean < s->loop_mean_s)
			s->loop_mean_s = mean;
	}
	if (rc != SQLITE_DONE) {
		s->loop_mean_s = 0;
		return err_set(err, ERR_FAIL, "harness-overhead floor loop: %s",
		               sqlite3_errmsg(sqlite3_db_handle(st)));
	}
	return 0;
}

/* How a pass reaches an engine: set the swept value, run one query. vec0's
 * sections and the peers' (peer.h) go through the same timing and scoring. */
typedef struct engine_q {
	int (*set)(void *ctx, int value, char *err);
	int (*one)(void *ctx, const float *v, size_t k, int64_t *ids, size_t *got, char *err);
	void *ctx;
	size_t *qi; /* where the pass writes the index of the query it runs, or NULL */
	int *over;  /* where the sweep writes the point's oversample, or NULL */
} engine_q;

/* Warm-up passes, then the timed pass of one swept value into pt. */
static int query_pass(const bench_run *r, const bench_section *s, const engine_q *e,
                      bench_point *pt, int64_t *ids, size_t *got, char *err)
{
	char label[CFG_NAME + 64];
	prog_t pg = PROG_INIT;
	int passes = r->c->warmup + 1, rc = 0;
	snprintf(label, sizeof label, "%s query", s->cx->name);
	if (pt->nprobe)
		snprintf(label + strlen(label), sizeof label - strlen(label), " %s=%d",
		         cfg_sweep_name(s->cx->type), pt->nprobe);
	if (pt->oversample)
		snprintf(label + strlen(label), sizeof label - strlen(label), " oversample=%d",
		         pt->oversample);
	pt->lat_s = malloc(r->nq * sizeof *pt->lat_s);
	if (!pt->lat_s)
		return err_set(err, ERR_NOMEM, "out of memory");
	prog_begin(&pg, label, (uint64_t)(passes * r->nq));
	for (int pass = 0; pass < passes; pass++) {
		for (size_t i = 0; i < r->nq; i++) {
			const float *v = r->ds.test + i * r->ds.d;
			if (e->qi)
				*e->qi = i;
			double t0 = tm_now();
			rc = e->one(e->ctx, v, r->k, ids + i * r->k, &got[i], err);
			pt->lat_s[i] = tm_now() - t0;
			if (rc < 0)
				return rc;
			if (intr_pending())
				return err_set(err, ERR_INTR, "interrupted while querying [%s]",
				               s->cx->name);
			prog_update(&pg, pass * r->nq + i + 1);
		}
	}
	prog_end(&pg);
	return stats_latency(pt->lat_s, r->nq, &pt->lat, err);
}

/* Every point of the section: per swept value (one point when the type sweeps
 * nothing; times each over-fetch factor when post-filtering) set it, time the
 * queries, score them. */
static int sweep(const bench_run *r, bench_section *s, const engine_q *e, char *err)
{
	const cfg_index *x = s->cx;
	int64_t *ids = malloc(r->nq * r->k * sizeof *ids);
	size_t *got = malloc(r->nq * sizeof *got);
	int nover = e->over ? x->npost_over : 1;
	int rc = 0, npts = (cfg_sweep_name(x->type) ? x->nnprobe : 1) * nover;
	if (!ids || !got)
		rc = err_set(err, ERR_NOMEM, "out of memory");
	for (int p = 0; p < npts && rc == 0; p++) {
		bench_point *pt = &s->pts[p];
		pt->nprobe = cfg_sweep_name(x->type) ? x->nprobe[p / nover] : 0;
		pt->oversample = e->over ? x->post_over[p % nover] : 0;
		if (e->over)
			*e->over = pt->oversample;
		if (pt->nprobe && (rc = e->set(e->ctx, pt->nprobe, err)) < 0)
			break;
		s->npts = p + 1;
		if ((rc = query_pass(r, s, e, pt, ids, got, err)) == 0)
			rc = score(r, pt, ids, got, err);
	}
	free(ids);
	free(got);
	return rc;
}

/* vec0's side of engine_q: the connection, its table and prepared query. */
typedef struct vec0_q {
	sqlite3 *db;
	vtab t;
	vtab_query q;
	float *dists; /* k, vtab_query_run's distances (unused here) */
	const bench_run *r;
	flt_query fq;   /* filtered run: the query with its label */
	size_t qi;      /* filtered run: the query being run */
	int oversample; /* post-filtering: the point's over-fetch factor */
} vec0_q;

static int vec0_set(void *ctx, int nprobe, char *err)
{
	vec0_q *v = ctx;
	char cmd[32];
	snprintf(cmd, sizeof cmd, "nprobe=%d", nprobe);
	return ivf_command(v->db, &v->t, cmd, err);
}

static int vec0_one(void *ctx, const float *q, size_t k, int64_t *ids, size_t *got, char *err)
{
	vec0_q *v = ctx;
	return vtab_query_run(&v->q, q, ids, v->dists, got, err);
}

static int vec0_one_filtered(void *ctx, const float *q, size_t k, int64_t *ids, size_t *got,
                             char *err)
{
	vec0_q *v = ctx;
	return flt_query_run(&v->fq, q, v->r->flt.gt.qfilter[v->qi], v->oversample, ids, got, err);
}

/* Whether the table honours `key IN` and `distance >` (constraint.h), probed
 * with the first query; a table too small for the probe is left unprobed. */
static int probe_constraints(const bench_run *r, bench_section *s, vec0_q *v, char *err)
{
	int rc = vcon_probe(v->db, &v->t, r->ds.test, &s->cons, err);
	s->probed = rc == 0;
	return rc == ERR_INPUT ? 0 : rc;
}

static int query(bench_run *r, bench_section *s, char *err)
{
	vec0_q v = {.dists = malloc(r->k * sizeof *v.dists), .r = r};
	flt_mode fm = (flt_mode)s->cx->filter_mode;
	engine_q e = {vec0_set, r->filtered ? vec0_one_filtered : vec0_one, &v,
	              r->filtered ? &v.qi : NULL,
	              r->filtered && flt_mode_post(fm) ? &v.oversample : NULL};
	int rc;
	if (!v.dists) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = vec0_open(s->db_path, SQLITE_OPEN_READWRITE, IVF_BUSY_MS, &r->ext, &v.db, err)) <
	        0 ||
	    (rc = vtab_find(v.db, s->table, NULL, 0, &v.t, err)) < 0 ||
	    (rc = r->filtered ? flt_query_prepare(v.db, &v.t, fm, r->k, &v.fq, err)
	                      : vtab_query_prepare(v.db, &v.t, r->k, &v.q, err)) < 0 ||
	    (rc = sweep(r, s, &e, err)) < 0 || (rc = probe_constraints(r, s, &v, err)) < 0)
		goto out;
	if (s->cx->type == CFG_TYPE_FLAT) {
		s->exact_pass = s->pts[0].inexact == 0;
		if (r->c->overhead_check && !r->filtered)
			rc = floor_loop(r, s, &v.q, err);
	}
out:
	vtab_query_finalize(&v.q);
	flt_query_finalize(&v.fq);
	sqlite3_close(v.db);
	free(v.dists);
	return rc;
}

/* ---- peers ---------------------------------------------------------------- */

static peer_input peer_input_of(const bench_run *r, const cfg_index *x)
{
	peer_input in = {
	    .c = r->c,
	    .cx = x,
	    .x = r->ds.train,
	    .n = r->ds.n,
	    .d = r->ds.d,
	    .k = r->k,
	    .metric = section_metric(r, x),
	    .workdir = r->db_dir,
	    .labels = r->filtered ? r->flt.gt.labels : NULL,
	};
	return in;
}

/* A peer's side of engine_q in a filtered run: its handle, and the query being
 * run for its filter value, as vec0_q has them. */
typedef struct peer_q {
	const peer_ops *ops;
	void *h;
	const bench_run *r;
	size_t qi;
} peer_q;

static int peer_set(void *ctx, int value, char *err)
{
	peer_q *p = ctx;
	return p->ops->set_sweep(p->h, value, err);
}

static int peer_one_filtered(void *ctx, const float *q, size_t k, int64_t *ids, size_t *got,
                             char *err)
{
	peer_q *p = ctx;
	return p->ops->query_filtered(p->h, q, p->r->flt.gt.qfilter[p->qi], k, ids, got, err);
}

/* The centroids of the vec0 section a peer names with `centroids =`, read from
 * the table that section built (so exactly what it trained, whatever its
 * trainer); *cent stays NULL when that section has no table, and why says so. */
static int peer_centroids(bench_run *r, const bench_section *s, float **cent, size_t *k, char *why,
                          size_t len, char *err)
{
	const bench_section *src = NULL;
	for (size_t i = 0; i < r->nsec; i++)
		if (strcmp(r->sec[i].cx->name, s->cx->centroids) == 0)
			src = &r->sec[i];
	if (!src || src->status != BENCH_OK) {
		snprintf(why, len, "centroids = %s: that section has no table (%.300s)",
		         s->cx->centroids, src && src->reason[0] ? src->reason : "not built");
		return 0;
	}
	sqlite3 *db = NULL;
	vtab t;
	int rc = vec0_open(src->db_path, SQLITE_OPEN_READONLY, IVF_BUSY_MS, &r->ext, &db, err);
	if (rc == 0 && (rc = vtab_find(db, src->table, NULL, 0, &t, err)) == 0)
		rc = bulk_read_centroids(db, &t, cent, k, err);
	sqlite3_close(db);
	return rc;
}

/* A peer section: build through its engine, then the same sweep as vec0's. */
static int peer_run(bench_run *r, bench_section *s, const peer_ops *ops, char *err)
{
	peer_input in = peer_input_of(r, s->cx);
	float *cent = NULL;
	void *h = NULL;
	int rc = 0;
	if (s->cx->centroids[0]) {
		rc = peer_centroids(r, s, &cent, &in.ncent, s->reason, sizeof s->reason, err);
		if (rc == 0 && !cent) {
			s->status = BENCH_SKIPPED;
			return 0;
		}
		in.cent = cent;
	}
	if (rc == 0 && ops->start)
		rc = ops->start(&in, &h, err);
	double t0 = tm_now();
	if (rc == 0)
		rc = ops->build(&in, &h, &s->build, err);
	s->build.total_s = tm_now() - t0;
	s->build.rows = (int64_t)r->ds.n;
	if (rc == 0)
		rc = ops->size(h, &s->build.file_bytes, err);
	if (rc == 0) {
		peer_q pq = {ops, h, r, 0};
		engine_q e = r->filtered
		                 ? (engine_q){peer_set, peer_one_filtered, &pq, &pq.qi, NULL}
		                 : (engine_q){ops->set_sweep, ops->query, h, NULL, NULL};
		rc = sweep(r, s, &e, err);
	}
	ops->close(h);
	free(cent);
	return rc;
}

/* ---- sections ------------------------------------------------------------- */

/* Where section x's database goes, checked before any work: a file the config
 * names with `db =` is validated and measured as it is; any other must not exist
 * yet, so a run never measures a stale file by accident. */
static int prepare_section(bench_run *r, bench_section *s, const cfg_index *x, char *err)
{
	struct stat st;
	s->cx = x;
	s->metric = section_metric(r, x);
	if (x->peer)
		return 0; /* its engine keeps its own storage */
	if (x->db[0])
		snprintf(s->db_path, sizeof s->db_path, "%s", x->db);
	else if (snprintf(s->db_path, sizeof s->db_path, "%s/%s.sqlite", r->db_dir, x->name) >=
	         (int)sizeof s->db_path)
		return err_set(err, ERR_INPUT, "database path for [%s] too long", x->name);
	if (stat(s->db_path, &st) != 0) {
		/* a file to be built at a path the config names: its folder must exist */
		char dir[CFG_PATH];
		snprintf(dir, sizeof dir, "%s", s->db_path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		if (slash && slash != dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
			return err_set(err, ERR_INPUT, "[%s] db %s: folder %s does not exist",
			               x->name, s->db_path, dir);
		return 0;
	}
	if (x->type_ivf && !r->ext.has_ivf)
		return 0;
	if (!x->db[0])
		return err_set(err, ERR_INPUT,
		               "%s already exists: remove it, or name it in [%s] "
		               "db = to measure it as it is",
		               s->db_path, x->name);
	return reuse(r, s, err);
}

/* A run whose every section would be skipped (IVF without an IVF vec0, peers
 * that cannot run here) measures nothing: refused before
 * any work, so that it cannot end "complete" with no figure in it. */
static int check_measurable(const bench_run *r, char *err)
{
	char why[ERR_LEN];
	for (size_t i = 0; i < r->c->nidx; i++) {
		const cfg_index *x = &r->c->idx[i];
		const peer_ops *ops = peer_find(x->type);
		peer_input in = peer_input_of(r, x);
		if (ops ? ops->available(&in, why, sizeof why) : !x->type_ivf || r->ext.has_ivf)
			return 0;
	}
	return err_set(err, ERR_INPUT,
	               "%s: every index section is IVF and vec0 %s (%.300s) has no IVF index: "
	               "nothing would be measured (load an IVF build with --vec0, or add a "
	               "flat section; no peer section can run here)",
	               r->c->file, r->ext.version, r->ext.path);
}

int bench_open(bench_run *r, const cfg *c, char *err)
{
	memset(r, 0, sizeof *r);
	r->c = c;
	r->started = time(NULL);
	r->t0 = tm_now();
	bench_dataset_name(c->dataset, r->dataset_name, sizeof r->dataset_name);
	int rc = h5_read(c->dataset, 0, &r->ds, err);
	if (rc < 0)
		return rc;
	r->angular = strcmp(r->ds.distance, "angular") == 0;
	for (size_t i = 0; i < r->ds.n * r->ds.d; i++)
		r->max_abs = fmax(r->max_abs, fabs((double)r->ds.train[i]));
	r->k = c->k;
	r->nq = c->queries ? c->queries : r->ds.nq;
	if ((rc = check_against_dataset(r, err)) < 0 || (rc = check_groundtruth(r, err)) < 0)
		goto fail;
	if (c->filter[0]) {
		if ((rc = flt_open(&r->flt, c->dataset, c->filter, &r->ds, r->nq, r->k, err)) < 0)
			goto fail;
		r->filtered = 1;
	}
	if ((rc = compute_kth(r, err)) < 0)
		goto fail;
	if ((rc = vec0_find(c->vec0[0] ? c->vec0 : NULL, &r->ext, err)) < 0)
		goto fail;
	sqlite3 *probe = NULL;
	if ((rc = vec0_open(":memory:", BENCH_OPEN_NEW, IVF_BUSY_MS, &r->ext, &probe, err)) < 0)
		goto fail;
	sqlite3_close(probe);
	if ((rc = check_measurable(r, err)) < 0 || (rc = make_db_dir(r, err)) < 0)
		goto fail;
	r->nsec = c->nidx;
	for (size_t i = 0; i < c->nidx; i++)
		if ((rc = prepare_section(r, &r->sec[i], &c->idx[i], err)) < 0)
			goto fail;
	return 0;
fail:
	bench_close(r);
	return rc;
}

/* Whether this vec0 build takes the section's label column (filter.h); when it
 * does not, the section is skipped with vec0's refusal. */
static int filter_supported(bench_run *r, bench_section *s, char *err)
{
	sqlite3 *db = NULL;
	int ok = vec0_open(":memory:", BENCH_OPEN_NEW, IVF_BUSY_MS, &r->ext, &db, err) == 0 &&
	         flt_mode_supported(db, (flt_mode)s->cx->filter_mode, s->cx->type_ivf, s->reason,
	                            sizeof s->reason);
	sqlite3_close(db);
	if (!ok)
		s->status = BENCH_SKIPPED;
	return ok;
}

int bench_section_run(bench_run *r, size_t i, char *err)
{
	bench_section *s = &r->sec[i];
	const cfg_index *x = s->cx;
	const peer_ops *ops = peer_find(x->type);
	if (ops) {
		peer_input in = peer_input_of(r, s->cx);
		if (!ops->available(&in, s->reason, sizeof s->reason)) {
			s->status = BENCH_SKIPPED;
			return 0;
		}
	}
	if (x->type_ivf && !r->ext.has_ivf) {
		s->status = BENCH_SKIPPED;
		snprintf(s->reason, sizeof s->reason,
		         "vec0 %s (%.300s) has no IVF index: `indexed by ivf(...)` is rejected",
		         r->ext.version, r->ext.path);
		return 0;
	}
	if (r->filtered && !ops && !filter_supported(r, s, err))
		return 0;
	int rc;
	if (x->type_ivf)
		section_opts(r, s);
	if (ops)
		rc = peer_run(r, s, ops, err);
	else if ((rc = s->build.reused ? 0 : build(r, s, err)) == 0)
		rc = query(r, s, err);
	if (rc < 0) {
		s->status = BENCH_FAILED;
		snprintf(s->reason, sizeof s->reason, "%s", err);
		return rc;
	}
	if (s->status != BENCH_SKIPPED)
		s->status = BENCH_OK;
	return 0;
}

void bench_close(bench_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsec; i++) {
		bench_section *s = &r->sec[i];
		for (int p = 0; p < s->npts; p++)
			free(s->pts[p].lat_s);
		/* a half-built file is never left to be "reused"; a finished one in the
		 * run's own folder goes unless kept, one the config named stays */
		if (s->db_made && (s->status != BENCH_OK || (!s->cx->db[0] && !r->c->keep_db)))
			remove_db(s->db_path);
	}
	if (r->db_dir_made)
		(r->c->keep_db ? wd_keep : wd_remove)(r->db_dir);
	free(r->kth);
	flt_close(&r->flt);
	h5_free(&r->ds);
	memset(r, 0, sizeof *r);
}

/*
 * report.c - vecbench's output files (see report.h).
 *
 * results.json is the record: everything else (csv, md, plot) is derived from
 * the same bench_run and can be regenerated from it. Units: build phases in
 * seconds (*_s), query latencies in milliseconds (*_ms), sizes in bytes.
 * Allocation failures inside cJSON are caught through its hooks, so a tree with a
 * silently missing member is never written.
 */
#define _GNU_SOURCE
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "err.h"
#include "filter_report.h"
#include "machine.h"
#include "plot.h"
#include "timing.h"

#define MIB (1024.0 * 1024.0)

static const char *const status_names[] = {"pending", "ok", "skipped", "failed"};

/* ---- files ------------------------------------------------------------------ */

/* mkdir -p; ERR_INPUT naming the part that could not be made. */
static int mkdirs(const char *path, char *err)
{
	char buf[CFG_PATH];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char was = *p;
		*p = 0;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return err_set(err, ERR_INPUT, "cannot create results folder %s: %s", buf,
			               strerror(errno));
		if (!was)
			return 0;
		*p = was;
	}
}

/* dir/name = data, through a temporary file and rename. */
static int write_file(const char *dir, const char *name, const char *data, size_t len, char *err)
{
	char path[CFG_PATH + 64], tmp[CFG_PATH + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return err_set(err, ERR_FAIL, "%s: %s", tmp, strerror(errno));
	int bad = fwrite(data, 1, len, f) != len;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return err_set(err, ERR_FAIL, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

int rep_prepare(const bench_run *r, char *dir, size_t len, char *err)
{
	const cfg *c = r->c;
	char name[CFG_NAME];
	if (c->name[0]) {
		snprintf(name, sizeof name, "%s", c->name);
	} else {
		struct tm tm;
		gmtime_r(&r->started, &tm);
		strftime(name, sizeof name, "%Y%m%d-%H%M%SZ", &tm);
	}
	if (snprintf(dir, len, "%s/%s/%s", c->results, r->dataset_name, name) >= (int)len)
		return err_set(err, ERR_INPUT, "results folder path too long");
	int rc = mkdirs(dir, err);
	if (rc < 0)
		return rc;
	DIR *d = opendir(dir);
	if (!d)
		return err_set(err, ERR_INPUT, "results folder %s: %s", dir, strerror(errno));
	struct dirent *e;
	int used = 0;
	while ((e = readdir(d)))
		used |= strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	if (used)
		return err_set(err, ERR_INPUT,
		               "results folder %s already holds files: choose "
		               "another --name or remove it",
		               dir);
	/* the message names the file; not being able to write it is bad input */
	return write_file(dir, REP_MARKER, "running\n", 8, err) < 0 ? ERR_INPUT : 0;
}

/* ---- results.json ----------------------------------------------------------- */

static int json_oom;

static void *json_malloc(size_t n)
{
	void *p = malloc(n);
	json_oom |= !p;
	return p;
}

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *config_json(const cfg *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "file", c->file);
	cJSON *ds = cJSON_AddObjectToObject(o, "dataset");
	cJSON_AddStringToObject(ds, "path", c->dataset);
	cJSON_AddNumberToObject(ds, "queries", (double)c->queries);
	cJSON_AddNumberToObject(ds, "k", (double)c->k);
	if (c->filter[0])
		cJSON_AddStringToObject(ds, "filter", c->filter);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "vec0"), "path", c->vec0);
	cJSON *run = cJSON_AddObjectToObject(o, "run");
	cJSON_AddStringToObject(run, "name", c->name);
	cJSON_AddStringToObject(run, "results", c->results);
	cJSON_AddStringToObject(run, "db_dir", c->db_dir);
	cJSON_AddBoolToObject(run, "keep_db", c->keep_db);
	cJSON_AddNumberToObject(run, "seed", (double)c->seed);
	cJSON_AddNumberToObject(run, "threads", c->threads);
	cJSON_AddNumberToObject(run, "warmup", c->warmup);
	cJSON_AddNumberToObject(run, "batch", (double)c->batch);
	cJSON_AddBoolToObject(run, "overhead_check", c->overhead_check);
	cJSON *g = cJSON_AddObjectToObject(o, "gate");
	cJSON *mins = cJSON_AddArrayToObject(g, "min_recall");
	for (size_t i = 0; i < c->gate.nmin; i++) {
		char spec[GATE_POINT + 32];
		snprintf(spec, sizeof spec, "%s=%g", c->gate.min[i].point, c->gate.min[i].recall);
		cJSON_AddItemToArray(mins, cJSON_CreateString(spec));
	}
	if (c->gate.max_recall_drop >= 0)
		cJSON_AddNumberToObject(g, "max_recall_drop", c->gate.max_recall_drop);
	if (c->gate.max_latency_ratio >= 0)
		cJSON_AddNumberToObject(g, "max_latency_ratio", c->gate.max_latency_ratio);
	return o;
}

/* The section's effective parameters (what was built, defaults included). */
static cJSON *params_json(const bench_run *r, const bench_section *s)
{
	const cfg_index *x = s->cx;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "distance_metric", vtab_metric_name(s->metric));
	frep_params_json(o, r, s);
	if (!x->peer) {
		cJSON_AddNumberToObject(o, "chunk_size", x->chunk_size);
		cJSON_AddNumberToObject(o, "page_size", x->page_size);
	}
	if (x->peer && cfg_sweep_name(x->type))
		cJSON_AddItemToObject(o, cfg_sweep_name(x->type),
		                      cJSON_CreateIntArray(x->nprobe, x->nnprobe));
	if (x->peer && x->nlist)
		cJSON_AddNumberToObject(o, x->type == CFG_TYPE_PGV_IVFFLAT ? "lists" : "nlist",
		                        x->nlist);
	if (x->type == CFG_TYPE_PGV_HNSW) {
		cJSON_AddNumberToObject(o, "m", x->m);
		cJSON_AddNumberToObject(o, "ef_construction", x->ef_construction);
	}
	if (x->type == CFG_TYPE_PGV_IVFFLAT || x->type == CFG_TYPE_PGV_HNSW)
		cJSON_AddStringToObject(o, "storage", x->halfvec ? "halfvec" : "vector");
	if ((x->type == CFG_TYPE_PGV_IVFFLAT || x->type == CFG_TYPE_PGV_HNSW) && r->filtered) {
		cJSON_AddStringToObject(o, "iterative_scan", cfg_iter_name(x->iterative_scan));
		cJSON_AddStringToObject(o, "filter_plan", x->planner ? "planner" : "index");
		if (x->iterative_scan == CFG_ITER_OFF) {
			/* no scan for the limits to bound */
		} else if (x->type == CFG_TYPE_PGV_IVFFLAT) {
			cJSON_AddNumberToObject(o, "max_probes", x->max_probes);
		} else {
			cJSON_AddNumberToObject(o, "max_scan_tuples", x->max_scan_tuples);
			cJSON_AddNumberToObject(o, "scan_mem_multiplier", x->scan_mem_multiplier);
		}
	}
	if (x->peer)
		return o;
	cJSON_AddStringToObject(o, "db", x->db);
	if (!x->type_ivf)
		return o;
	cJSON_AddNumberToObject(o, "nlist", x->nlist);
	cJSON_AddItemToObject(o, "nprobe", cJSON_CreateIntArray(x->nprobe, x->nnprobe));
	cJSON_AddStringToObject(o, "trainer", cfg_trainer_name(x->trainer));
	cJSON_AddStringToObject(o, "order", cfg_order_name(x->order));
	cJSON_AddStringToObject(o, "quantizer", x->quantizer);
	cJSON_AddNumberToObject(o, "oversample", x->oversample);
	/* ivftrain's pipeline: the options it built with, as ivftrain --json has them */
	if (x->trainer == CFG_TRAINER_IVFTRAIN)
		build_params_json(o, &s->opts, &s->sizes, s->metric == VTAB_COSINE);
	return o;
}

static cJSON *build_json(const bench_section *s)
{
	const bench_build *b = &s->build;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "reused", b->reused);
	cJSON_AddNumberToObject(o, "train_s", b->train_s);
	cJSON_AddNumberToObject(o, "centroids_s", b->centroids_s);
	cJSON_AddNumberToObject(o, "insert_s", b->insert_s);
	cJSON_AddNumberToObject(o, "assign_s", b->assign_s);
	cJSON_AddNumberToObject(o, "verify_s", b->verify_s);
	cJSON_AddNumberToObject(o, "lock_s", b->lock_s);
	cJSON_AddNumberToObject(o, "index_s", b->index_s);
	cJSON_AddNumberToObject(o, "total_s", b->total_s);
	cJSON_AddNumberToObject(o, "verify_samples", b->verify_samples);
	cJSON_AddNumberToObject(o, "rows", (double)b->rows);
	cJSON_AddNumberToObject(o, "file_bytes", (double)b->file_bytes);
	cJSON_AddNumberToObject(o, "free_bytes", (double)b->free_bytes);
	if (b->engine[0])
		cJSON_AddStringToObject(o, "engine", b->engine);
	if (b->plan[0])
		cJSON_AddStringToObject(o, "plan", b->plan);
	if (s->cx->type_ivf || b->ncentroids) {
		cJSON_AddNumberToObject(o, "centroids", (double)b->ncentroids);
		cJSON_AddNumberToObject(o, "unassigned", (double)b->unassigned);
	}
	if (b->km_niter) {
		cJSON *km = cJSON_AddObjectToObject(o, "kmeans");
		cJSON_AddNumberToObject(km, "ntrain", (double)b->ntrain);
		cJSON_AddNumberToObject(km, "iterations", b->km_niter);
		cJSON_AddNumberToObject(km, "inertia", b->km_inertia);
		cJSON_AddNumberToObject(km, "imbalance", b->km_imbalance);
	}
	return o;
}

static cJSON *point_json(const bench_point *p)
{
	cJSON *o = cJSON_CreateObject();
	if (p->nprobe)
		cJSON_AddNumberToObject(o, "nprobe", p->nprobe);
	else
		cJSON_AddNullToObject(o, "nprobe");
	if (p->oversample)
		cJSON_AddNumberToObject(o, "filter_oversample", p->oversample);
	cJSON_AddNumberToObject(o, "queries", (double)p->lat.n);
	cJSON_AddNumberToObject(o, "mean_ms", p->lat.mean * 1e3);
	cJSON_AddNumberToObject(o, "p50_ms", p->lat.p50 * 1e3);
	cJSON_AddNumberToObject(o, "p95_ms", p->lat.p95 * 1e3);
	cJSON_AddNumberToObject(o, "p99_ms", p->lat.p99 * 1e3);
	cJSON_AddNumberToObject(o, "min_ms", p->lat.min * 1e3);
	cJSON_AddNumberToObject(o, "max_ms", p->lat.max * 1e3);
	cJSON_AddNumberToObject(o, "qps", p->lat.qps);
	cJSON_AddNumberToObject(o, "recall", p->recall);
	cJSON_AddNumberToObject(o, "recall_ties", p->recall_ties);
	cJSON_AddNumberToObject(o, "inexact_queries", (double)p->inexact);
	cJSON *lat = cJSON_AddArrayToObject(o, "latency_ms");
	for (size_t i = 0; i < p->lat.n; i++)
		cJSON_AddItemToArray(lat, cJSON_CreateNumber(p->lat_s[i] * 1e3));
	return o;
}

static cJSON *section_json(const bench_run *r, const bench_section *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", s->cx->name);
	cJSON_AddStringToObject(o, "type", cfg_type_name(s->cx->type));
	if (cfg_sweep_name(s->cx->type))
		cJSON_AddStringToObject(o, "sweep", cfg_sweep_name(s->cx->type));
	cJSON_AddStringToObject(o, "status", status_names[s->status]);
	if (s->reason[0])
		cJSON_AddStringToObject(o, "reason", s->reason);
	cJSON_AddItemToObject(o, "params", params_json(r, s));
	if (s->status == BENCH_SKIPPED || s->status == BENCH_PENDING)
		return o;
	if (s->cx->db[0] || r->c->keep_db)
		cJSON_AddStringToObject(o, "db_path", s->db_path);
	cJSON_AddItemToObject(o, "build", build_json(s));
	cJSON *pts = cJSON_AddArrayToObject(o, "points");
	for (int i = 0; i < s->npts; i++) {
		if (!s->pts[i].lat.n)
			continue;
		cJSON *pj = point_json(&s->pts[i]);
		if (r->filtered)
			cJSON_AddItemToObject(pj, "filtered", frep_point_json(r, &s->pts[i]));
		cJSON_AddItemToArray(pts, pj);
	}
	if (s->probed)
		cJSON_AddItemToObject(o, "constraints", frep_constraints_json(s));
	if (s->cx->type != CFG_TYPE_FLAT || s->status != BENCH_OK)
		return o;
	cJSON *ex = cJSON_AddObjectToObject(o, "exact");
	cJSON_AddBoolToObject(ex, "pass", s->exact_pass);
	cJSON_AddNumberToObject(ex, "recall_ties", s->pts[0].recall_ties);
	cJSON_AddNumberToObject(ex, "inexact_queries", (double)s->pts[0].inexact);
	if (s->loop_mean_s > 0) {
		cJSON *ov = cJSON_AddObjectToObject(o, "overhead");
		double h = s->pts[0].lat.mean;
		cJSON_AddNumberToObject(ov, "harness_mean_ms", h * 1e3);
		cJSON_AddNumberToObject(ov, "loop_mean_ms", s->loop_mean_s * 1e3);
		cJSON *passes = cJSON_AddArrayToObject(ov, "loop_pass_ms");
		for (int i = 0; i < BENCH_FLOOR_PASSES; i++)
			cJSON_AddItemToArray(passes, cJSON_CreateNumber(s->loop_pass_s[i] * 1e3));
		cJSON_AddNumberToObject(ov, "ratio", h / s->loop_mean_s);
		bench_overhead v = bench_overhead_verdict(h, s->loop_mean_s);
		cJSON_AddStringToObject(ov, "verdict", bench_overhead_name(v));
		cJSON_AddBoolToObject(ov, "within_target", v == BENCH_OVERHEAD_MET);
		cJSON_AddNumberToObject(ov, "target", BENCH_OVERHEAD_MAX);
	}
	return o;
}

static char *results_json(const bench_run *r, const machine *m, const char *status,
                          const char *error, const char *plot, const char *plot_note)
{
	char t[32];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "format", GATE_FORMAT);
	cJSON_AddStringToObject(o, "status", status);
	if (error)
		cJSON_AddStringToObject(o, "error", error);
	iso_time(r->started, t, sizeof t);
	cJSON_AddStringToObject(o, "started", t);
	iso_time(time(NULL), t, sizeof t);
	cJSON_AddStringToObject(o, "written", t);
	cJSON_AddNumberToObject(o, "elapsed_s", tm_now() - r->t0);
	cJSON_AddItemToObject(o, "config", config_json(r->c));
	cJSON *ds = cJSON_AddObjectToObject(o, "dataset");
	cJSON_AddStringToObject(ds, "name", r->dataset_name);
	cJSON_AddStringToObject(ds, "path", r->c->dataset);
	cJSON_AddStringToObject(ds, "distance", r->ds.distance);
	cJSON_AddNumberToObject(ds, "train_rows", (double)r->ds.n);
	cJSON_AddNumberToObject(ds, "dimension", (double)r->ds.d);
	cJSON_AddNumberToObject(ds, "test_rows", (double)r->ds.nq);
	cJSON_AddNumberToObject(ds, "queries", (double)r->nq);
	cJSON_AddNumberToObject(ds, "k", (double)r->k);
	cJSON_AddNumberToObject(ds, "ground_truth_k", (double)r->ds.kgt);
	cJSON_AddNumberToObject(ds, "max_abs_value", r->max_abs);
	vec0_json(o, &r->ext);
	cJSON_AddStringToObject(o, "sqlite_version", sqlite3_libversion());
	machine_json(o, m);
	cJSON *pl = cJSON_AddObjectToObject(o, "plot");
	if (plot)
		cJSON_AddStringToObject(pl, "file", plot);
	if (plot_note)
		cJSON_AddStringToObject(pl, "note", plot_note);
	cJSON *secs = cJSON_AddArrayToObject(o, "sections");
	for (size_t i = 0; i < r->nsec; i++)
		cJSON_AddItemToArray(secs, section_json(r, &r->sec[i]));
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	return text;
}

/* ---- results.csv -------------------------------------------------------------- */

static void write_csv(FILE *f, const bench_run *r)
{
	fprintf(f, "section,type,status,nlist,nprobe,quantizer,trainer,order,assign,ntrain,"
	           "train_s,centroids_s,insert_s,assign_s,verify_s,build_s,file_bytes,queries,"
	           "mean_ms,p50_ms,p95_ms,p99_ms,qps,recall,recall_ties\n");
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		const cfg_index *x = s->cx;
		const bench_build *b = &s->build;
		for (int p = 0; p < (s->npts ? s->npts : 1); p++) {
			const bench_point *pt = s->npts ? &s->pts[p] : NULL;
			fprintf(f, "%s,%s,%s,", x->name, cfg_type_name(x->type),
			        status_names[s->status]);
			if (x->type_ivf)
				fprintf(f, "%d,%d,%s,%s,%s,%s,%zu,", x->nlist, pt ? pt->nprobe : 0,
				        x->quantizer, cfg_trainer_name(x->trainer),
				        cfg_order_name(x->order),
				        x->order == CFG_ORDER_INSERT_THEN_TRAIN &&
				                x->trainer == CFG_TRAINER_IVFTRAIN
				            ? ivf_assign_name(x->assign)
				            : "",
				        b->ntrain);
			else if (pt && pt->nprobe)
				fprintf(f, "%d,%d,,,,,,", x->nlist, pt->nprobe);
			else
				fprintf(f, ",,,,,,,");
			fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%lld,", b->train_s,
			        b->centroids_s, b->insert_s, b->assign_s, b->verify_s, b->total_s,
			        (long long)b->file_bytes);
			if (pt && pt->lat.n)
				fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f,%.6f,%.6f\n", pt->lat.n,
				        pt->lat.mean * 1e3, pt->lat.p50 * 1e3, pt->lat.p95 * 1e3,
				        pt->lat.p99 * 1e3, pt->lat.qps, pt->recall,
				        pt->recall_ties);
			else
				fprintf(f, ",,,,,,,\n");
		}
	}
}

/* ---- results.md --------------------------------------------------------------- */

/* The flat section every ratio is taken against: the first one measured. */
static const bench_section *flat_baseline(const bench_run *r)
{
	for (size_t i = 0; i < r->nsec; i++)
		if (r->sec[i].cx->type == CFG_TYPE_FLAT && r->sec[i].status == BENCH_OK)
			return &r->sec[i];
	return NULL;
}

/* "3.1x slower" / "2.0x faster" for a cost relative to the baseline's. */
static void ratio(char *buf, size_t len, double v, double base)
{
	if (!(base > 0) || !(v > 0))
		buf[0] = 0;
	else if (v >= base)
		snprintf(buf, len, " (%.1fx slower)", v / base);
	else
		snprintf(buf, len, " (%.1fx faster)", base / v);
}

static void point_label(char *buf, size_t len, const bench_section *s, const bench_point *p)
{
	int n;
	if (p && p->nprobe)
		n = snprintf(buf, len, "%s %s=%d", s->cx->name, cfg_sweep_name(s->cx->type),
		             p->nprobe);
	else
		n = snprintf(buf, len, "%s", s->cx->name);
	if (p && p->oversample && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " oversample=%d", p->oversample);
}

/* The pull request's table: configuration | insert (s) | size | query (ms) | recall@k. */
void rep_headline(FILE *f, const bench_run *r)
{
	const bench_section *fl = flat_baseline(r);
	fprintf(f, "| configuration | insert (s) | size | query (ms) | recall@%zu |\n", r->k);
	fprintf(f, "|---|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		char label[CFG_NAME + 64], rb[48], rq[48];
		if (s->status != BENCH_OK) {
			point_label(label, sizeof label, s, NULL);
			fprintf(f, "| %s | %s%s%s | | | |\n", label, status_names[s->status],
			        s->reason[0] ? ": " : "", s->reason);
			continue;
		}
		for (int p = 0; p < s->npts; p++) {
			const bench_point *pt = &s->pts[p];
			point_label(label, sizeof label, s, pt);
			ratio(rb, sizeof rb, s->build.total_s,
			      fl && fl != s ? fl->build.total_s : 0);
			ratio(rq, sizeof rq, pt->lat.mean, fl && fl != s ? fl->pts[0].lat.mean : 0);
			if (s->build.reused)
				fprintf(f, "| %s | (existing table) ", label);
			else
				fprintf(f, "| %s | %.2f%s ", label, s->build.total_s, rb);
			fprintf(f, "| %.1f MiB | %.3f%s | %.3f |\n",
			        (double)s->build.file_bytes / MIB, pt->lat.mean * 1e3, rq,
			        pt->recall);
		}
	}
}

static void md_build_table(FILE *f, const bench_run *r)
{
	fprintf(f, "| section | type | trainer | order | assign | ntrain | train (s) | "
	           "centroids (s) | insert (s) | assign (s) | verify (s) | index (s) | total (s) | "
	           "size | free | rows | centroids | unassigned |\n");
	fprintf(f,
	        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	        "---:|\n");
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		const cfg_index *x = s->cx;
		const bench_build *b = &s->build;
		if (s->status != BENCH_OK)
			continue;
		int itt = x->type_ivf && x->order == CFG_ORDER_INSERT_THEN_TRAIN;
		fprintf(f, "| %s | %s", x->name, cfg_type_name(x->type));
		if (x->type == CFG_TYPE_PGV_IVFFLAT)
			fprintf(f, " lists=%d", x->nlist);
		else if (x->type == CFG_TYPE_PGV_HNSW)
			fprintf(f, " m=%d ef_construction=%d", x->m, x->ef_construction);
		else if (x->nlist)
			fprintf(f, " nlist=%d%s%s", x->nlist,
			        strcmp(x->quantizer, "none") ? " " : "",
			        strcmp(x->quantizer, "none") ? x->quantizer : "");
		if (x->halfvec)
			fprintf(f, " halfvec");
		fprintf(f, " | %s | %s | %s | ", x->type_ivf ? cfg_trainer_name(x->trainer) : "",
		        x->type_ivf ? cfg_order_name(x->order) : "",
		        itt && x->trainer == CFG_TRAINER_IVFTRAIN ? ivf_assign_name(x->assign)
		                                                  : "");
		if (b->ntrain)
			fprintf(f, "%zu", b->ntrain);
		fprintf(f,
		        " | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f MiB | %.1f MiB | "
		        "%lld |",
		        b->train_s, b->centroids_s, b->insert_s, b->assign_s, b->verify_s,
		        b->index_s, b->total_s, (double)b->file_bytes / MIB,
		        (double)b->free_bytes / MIB, (long long)b->rows);
		if (x->type_ivf)
			fprintf(f, " %lld | %lld |\n", (long long)b->ncentroids,
			        (long long)b->unassigned);
		else
			fprintf(f, " | |\n");
	}
}

static void md_query_table(FILE *f, const bench_run *r)
{
	fprintf(f,
	        "| configuration | mean (ms) | p50 (ms) | p95 (ms) | p99 (ms) | QPS | "
	        "recall@%zu | recall@%zu (ties) |\n",
	        r->k, r->k);
	fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		for (int p = 0; p < s->npts; p++) {
			const bench_point *pt = &s->pts[p];
			char label[CFG_NAME + 64];
			if (!pt->lat.n)
				continue;
			point_label(label, sizeof label, s, pt);
			fprintf(f, "| %s | %.3f | %.3f | %.3f | %.3f | %.1f | %.4f | %.4f |\n",
			        label, pt->lat.mean * 1e3, pt->lat.p50 * 1e3, pt->lat.p95 * 1e3,
			        pt->lat.p99 * 1e3, pt->lat.qps, pt->recall, pt->recall_ties);
		}
	}
}

/* Per engine and recall target, its fastest point reaching the target, over
 * every section of that engine: what each system costs at a given recall. */
static void md_engines(FILE *f, const bench_run *r)
{
	static const double targets[] = {0.90, 0.95, 0.99};
	fprintf(f,
	        "| engine | recall@%zu >= | fastest configuration | mean (ms) | recall@%zu | "
	        "build (s) | size |\n|---|---:|---|---:|---:|---:|---:|\n",
	        r->k, r->k);
	for (size_t i = 0; i < r->nsec; i++) {
		const char *eng = cfg_engine_name(r->sec[i].cx->type);
		size_t first = 0;
		while (strcmp(cfg_engine_name(r->sec[first].cx->type), eng) != 0)
			first++;
		if (first != i)
			continue; /* the engine's rows came with its first section */
		for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
			const bench_section *bs = NULL;
			const bench_point *bp = NULL;
			for (size_t j = i; j < r->nsec; j++) {
				const bench_section *s = &r->sec[j];
				if (s->status != BENCH_OK ||
				    strcmp(cfg_engine_name(s->cx->type), eng))
					continue;
				for (int p = 0; p < s->npts; p++)
					if (s->pts[p].recall >= targets[t] &&
					    (!bp || s->pts[p].lat.mean < bp->lat.mean)) {
						bs = s;
						bp = &s->pts[p];
					}
			}
			char label[CFG_NAME + 64];
			if (!bp) {
				fprintf(f, "| %s | %.2f | not reached | | | | |\n", eng,
				        targets[t]);
				continue;
			}
			point_label(label, sizeof label, bs, bp);
			fprintf(f, "| %s | %.2f | %s | %.3f | %.4f | %.2f | %.1f MiB |\n", eng,
			        targets[t], label, bp->lat.mean * 1e3, bp->recall,
			        bs->build.total_s, (double)bs->build.file_bytes / MIB);
		}
	}
}

/* The flat exactness checks, the harness overhead and what some sections mean. */
static void md_checks(FILE *f, const bench_run *r)
{
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		const cfg_index *x = s->cx;
		if (s->status != BENCH_OK)
			continue;
		if (x->type == CFG_TYPE_FLAT) {
			fprintf(f,
			        "- **%s exact**: %s: recall@%zu with ties %.4f, %zu of %zu "
			        "queries below 1.\n",
			        x->name, s->exact_pass ? "pass" : "FAIL", r->k,
			        s->pts[0].recall_ties, s->pts[0].inexact, r->nq);
			if (s->loop_mean_s > 0) {
				double h = s->pts[0].lat.mean, l = s->loop_mean_s;
				bench_overhead v = bench_overhead_verdict(h, l);
				fprintf(
				    f,
				    "- **harness overhead** (%s): vecbench's mean %.3f ms vs the "
				    "floor's %.3f ms (the same prepared statement alone, fastest "
				    "of "
				    "%d passes), %+.2f%% (target within ±%.0f%%: %s).\n",
				    x->name, h * 1e3, l * 1e3, BENCH_FLOOR_PASSES,
				    100 * (h / l - 1), 100 * BENCH_OVERHEAD_MAX,
				    v == BENCH_OVERHEAD_MET ? "met"
				    : v == BENCH_OVERHEAD_EXCEEDED
				        ? "NOT met"
				        : "INVALID, the floor was slower than the harness: noise, "
				          "the check proves nothing");
			}
		} else if (!x->type_ivf) {
			if (s->build.engine[0])
				fprintf(f, "- %s: %s.\n", x->name, s->build.engine);
			if (s->build.plan[0])
				fprintf(f, "- %s plan: %s.\n", x->name, s->build.plan);
			if (x->centroids[0])
				fprintf(
				    f,
				    "- %s: on the centroids [%s]'s table holds: its build adds the "
				    "rows to them, the training is [%s]'s.\n",
				    x->name, x->centroids, x->centroids);
		} else if (x->trainer == CFG_TRAINER_BUILTIN) {
			fprintf(f,
			        "- %s: train is sqlite-vec's compute-centroids, which also "
			        "assigns every row (single-threaded, inside the write "
			        "transaction).\n",
			        x->name);
		} else if (x->order == CFG_ORDER_BULK) {
			fprintf(
			    f,
			    "- %s: order = bulk writes the base tables and the assigned cells "
			    "directly in one verified transaction (ivftrain --load): its insert "
			    "is that write, with no per-row vec0 insert.\n",
			    x->name);
		} else if (x->order == CFG_ORDER_INSERT_THEN_TRAIN &&
		           x->assign == IVF_ASSIGN_NATIVE) {
			fprintf(f,
			        "- %s: assign = native uses sqlite-vec's assign-vectors, which "
			        "misplaces rows in releases so far: its low recall is that bug, "
			        "shown on purpose.\n",
			        x->name);
		}
		if (x->type_ivf && strcmp(x->quantizer, "int8") == 0 && r->max_abs > 1)
			fprintf(f,
			        "- %s: vec0's int8 quantizer clamps each value to [-1, 1] before "
			        "scaling by 127; this dataset's values reach %g, so the quantized "
			        "cells keep little more than their sign.\n",
			        x->name, r->max_abs);
		if (s->build.reused)
			fprintf(f, "- %s: measured the existing table in %s; nothing was built.\n",
			        x->name, s->db_path);
	}
}

static void write_md(FILE *f, const bench_run *r, const machine *m, const char *status,
                     const char *error, const char *plot, const char *plot_note)
{
	char started[32], vdesc[512];
	iso_time(r->started, started, sizeof started);
	vec0_describe(&r->ext, vdesc, sizeof vdesc);
	fprintf(f, "# vecbench: %s\n\n", r->dataset_name);
	if (strcmp(status, "complete") != 0)
		fprintf(f,
		        "**INCOMPLETE (%s)%s%s**: these results are partial; do not use "
		        "them as a complete run.\n\n",
		        status, error ? ": " : "", error ? error : "");
	fprintf(f,
	        "%zu train vectors x %zu dimensions (%s), %zu queries, k = %zu. %s; "
	        "SQLite %s. Machine: %s, %ld cores, %.1f GiB, %s. Started %s.\n\n",
	        r->ds.n, r->ds.d, r->ds.distance, r->nq, r->k, vdesc, sqlite3_libversion(), m->cpu,
	        m->cores, m->mem_bytes / (MIB * 1024), m->os, started);
	rep_headline(f, r);
	fprintf(f, "\ninsert (s): every build phase (train + centroids + insert + assign + "
	           "verify); query (ms): mean latency of one query, each timed alone after a "
	           "warm-up pass; ratios vs the flat baseline.\n\n## Build phases\n\n");
	md_build_table(f, r);
	fprintf(f, "\nsize: the database file as built; free: pages left by rows moved from "
	           "unassigned cells, given back only by VACUUM; verify: ivftrain's self-queries "
	           "before COMMIT and integrity check after; index: a peer's index build after "
	           "its load (pgvector: insert is the binary COPY, index CREATE INDEX); a "
	           "peer's size is its index as it serializes it (faiss::write_index), or its "
	           "table with rows and index (pgvector: pg_total_relation_size).\n\n## Per "
	           "engine\n\n");
	md_engines(f, r);
	fprintf(f,
	        "\nThe fastest point of each engine (over all its sections) whose "
	        "recall@%zu reaches the target; latencies are one query at a time on one "
	        "thread for every engine.\n\n## Query latency\n\n",
	        r->k);
	md_query_table(f, r);
	if (r->filtered)
		frep_md(f, r);
	fprintf(f, "\n## Checks and notes\n\n");
	md_checks(f, r);
	frep_constraints_md(f, r);
	if (plot)
		fprintf(f, "\n![recall vs latency](%s)\n", plot);
	else if (plot_note)
		fprintf(f, "\nNo plot: %s\n", plot_note);
}

/* ---- plot --------------------------------------------------------------------- */

/* recall-latency.dat/.gp, then gnuplot in dir (plot.h: plot_run says what plot and
 * note get). */
static int draw_plot(const bench_run *r, const char *dir, const char **plot, char *note, size_t len,
                     char *err)
{
	char *dat = NULL, *gp = NULL;
	size_t dl = 0, gl = 0;
	int rc = 0, blocks = plot_render(r, &dat, &dl, &gp, &gl);
	*plot = NULL;
	if (blocks < 0)
		rc = err_set(err, ERR_NOMEM, "out of memory");
	else if (blocks == 0)
		snprintf(note, len, "no section was measured");
	else if ((rc = write_file(dir, PLOT_NAME ".dat", dat, dl, err)) == 0 &&
	         (rc = write_file(dir, PLOT_NAME ".gp", gp, gl, err)) == 0)
		plot_run(dir, plot, note, len);
	free(dat);
	free(gp);
	return rc;
}

/* ---- all files ---------------------------------------------------------------- */

/* Writes a rendered buffer to dir/name; NULL means rendering ran out of memory. */
static int write_rendered(const char *dir, const char *name, char *buf, size_t len, char *err)
{
	if (!buf)
		return err_set(err, ERR_NOMEM, "out of memory writing %s", name);
	return write_file(dir, name, buf, len, err);
}

int rep_write(const bench_run *r, const char *dir, const char *status, const char *error, char *err)
{
	int complete = strcmp(status, "complete") == 0, rc = 0;
	const char *plot = NULL;
	char note[256] = "drawn when the run completes";
	machine m;
	machine_read(&m);
	if (complete && (rc = draw_plot(r, dir, &plot, note, sizeof note, err)) < 0)
		return rc;

	cJSON_Hooks hooks = {json_malloc, free};
	cJSON_InitHooks(&hooks);
	json_oom = 0;
	char *json = results_json(r, &m, status, error, plot, plot ? NULL : note);
	if (json && json_oom) {
		cJSON_free(json);
		json = NULL;
	}
	char *csv = NULL, *md = NULL;
	size_t cl = 0, ml = 0;
	FILE *fc = open_memstream(&csv, &cl);
	if (fc) {
		write_csv(fc, r);
		fclose(fc);
	}
	FILE *fm = open_memstream(&md, &ml);
	if (fm) {
		write_md(fm, r, &m, status, error, plot, plot ? NULL : note);
		fclose(fm);
	}
	/* the marker goes last on success and first otherwise, so no moment shows
	 * a finished-looking folder with partial files */
	if (!complete) {
		char mark[ERR_LEN + 32];
		int n = snprintf(mark, sizeof mark, "%s%s%s\n", status, error ? ": " : "",
		                 error ? error : "");
		rc = write_file(dir, REP_MARKER, mark,
		                (size_t)n < sizeof mark ? (size_t)n : sizeof mark - 1, err);
	}
	if (rc == 0)
		rc = write_rendered(dir, "results.json", json, json ? strlen(json) : 0, err);
	if (rc == 0)
		rc = write_rendered(dir, "results.csv", csv, cl, err);
	if (rc == 0)
		rc = write_rendered(dir, "results.md", md, ml, err);
	if (rc == 0 && complete) {
		char path[CFG_PATH + 32];
		snprintf(path, sizeof path, "%s/" REP_MARKER, dir);
		if (unlink(path) != 0 && errno != ENOENT)
			rc = err_set(err, ERR_FAIL, "cannot remove %s: %s", path, strerror(errno));
	}
	cJSON_free(json);
	free(csv);
	free(md);
	return rc;
}

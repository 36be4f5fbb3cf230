/*
 * vecbench.c - the `vecbench` CLI: `run` measures the indexes a config.ini
 * describes and writes a results folder; `gate` turns results into pass/fail.
 *
 * A thin main over eval/ (config, bench, report, gate): options come from one
 * table that also prints --help; precedence is defaults < config < command line.
 * Exit status: 0 ok, 1 failure or regression (including a flat baseline that is
 * not exact), 2 bad usage or input, 130 interrupted.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "gate.h"
#include "intr.h"
#include "report.h"

/* sqlite-vec leaks the SQL string it builds for every row inserted into a table
 * with auxiliary columns (a filtered run's aux sections, see test_vec0.c), from
 * inside the system libsqlite3: an ASan build of vecbench suppresses leaks
 * allocated there, and only there. Unused outside LeakSanitizer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsqlite3.so\n";
}

#define VB_PROG "vecbench"
#define VB_DEFAULT_CONFIG "configs/fashion-mnist.ini"
#define VB_HELP_COL 31 /* --help: where the options' help text starts */

enum {
	OPT_NAME = 256,
	OPT_RESULTS,
	OPT_VEC0,
	OPT_DATASET,
	OPT_QUERIES,
	OPT_KEEP_DB,
	OPT_BASELINE,
	OPT_MIN_RECALL,
	OPT_MAX_DROP,
	OPT_MAX_RATIO,
	OPT_CONFIG,
	OPT_HELP
};

/* A macro's value as text: --help shows a default where it is defined. */
#define VB_STR_(x) #x
#define VB_STR(x) VB_STR_(x)

static const cli_opt vb_opts[] = {
    {"name", OPT_NAME, "NAME", "results folder name (default: [run] name, else a UTC time)"},
    {"results", OPT_RESULTS, "DIR", "results root (default: [run] results, else ./results)"},
    {"vec0", OPT_VEC0, "PATH",
     "sqlite-vec build to load (default: [vec0] path, else " VEC0_SEARCH_HELP ")"},
    {"dataset", OPT_DATASET, "FILE", "ann-benchmarks HDF5 file instead of [dataset] path"},
    {"queries", OPT_QUERIES, "N", "test queries to use instead of [dataset] queries"},
    {"keep-db", OPT_KEEP_DB, NULL, "keep the database files (their paths go in results.json)"},
    {"baseline", OPT_BASELINE, "OLD.json", "compare with an earlier results.json"},
    {"min-recall", OPT_MIN_RECALL, "SECTION[@NPROBE]=R",
     "fail when recall@k is below R (repeatable; SECTION alone: an IVF section's largest "
     "nprobe)"},
    {"max-recall-drop", OPT_MAX_DROP, "X",
     "with --baseline: largest recall drop allowed per "
     "point (default " VB_STR(GATE_DEFAULT_DROP) ")"},
    {"max-latency-ratio", OPT_MAX_RATIO, "X",
     "with --baseline: largest mean latency ratio "
     "allowed per point (default: not checked)"},
    {"config", OPT_CONFIG, "CONFIG", "take thresholds from its [gate] section first"},
    {"help", OPT_HELP, NULL, "show this help"},
};
#define VB_NOPTS (sizeof vb_opts / sizeof *vb_opts)

typedef struct vb_args {
	const char *pos; /* the positional argument, NULL when none */
	const char *name, *results, *vec0, *dataset, *baseline, *config;
	size_t queries; /* 0: not given */
	int keep_db;
	const char *mins[GATE_MAX_MIN]; /* --min-recall specs, applied after the config's */
	size_t nmins;
	double drop, ratio; /* --max-recall-drop, --max-latency-ratio */
	int drop_set, ratio_set;
} vb_args;

typedef struct vb_cmd {
	const char *name;
	const char *args;
	int pos_required; /* the positional argument must be given */
	const char *summary;
	int opts[12]; /* option ids the command takes, 0-terminated */
	int (*run)(const vb_args *a, char *err);
} vb_cmd;

static int vb_run(const vb_args *a, char *err);
static int vb_gate(const vb_args *a, char *err);

static const vb_cmd vb_cmds[] = {
    {"run",
     "[CONFIG]",
     0,
     "build the configured indexes, measure them, write results/ "
     "(CONFIG default " VB_DEFAULT_CONFIG ")",
     {OPT_NAME, OPT_RESULTS, OPT_VEC0, OPT_DATASET, OPT_QUERIES, OPT_KEEP_DB, OPT_HELP, 0},
     vb_run},
    {"gate",
     "RESULTS.json",
     1,
     "check results against thresholds and a baseline (exit 1 on "
     "a regression)",
     {OPT_BASELINE, OPT_MIN_RECALL, OPT_MAX_DROP, OPT_MAX_RATIO, OPT_CONFIG, OPT_HELP, 0},
     vb_gate},
};
#define VB_NCMDS (sizeof vb_cmds / sizeof *vb_cmds)

static void vb_usage(FILE *f, const vb_cmd *cmd)
{
	if (!cmd) {
		fprintf(f, "usage: " VB_PROG " COMMAND [options]\n\ncommands:\n");
		for (size_t i = 0; i < VB_NCMDS; i++)
			fprintf(f, "  %-6s %s\n", vb_cmds[i].name, vb_cmds[i].summary);
		fprintf(f, "\n" VB_PROG " COMMAND --help shows its options. Exit status: 0 ok, 1 "
		           "failure or regression, 2 bad usage or input, 130 interrupted.\n");
		return;
	}
	fprintf(f, "usage: " VB_PROG " %s [options] %s\n%s\n\noptions:\n", cmd->name, cmd->args,
	        cmd->summary);
	cli_help(f, vb_opts, VB_NOPTS, cmd->opts, VB_HELP_COL);
}

/* Parses argv (after the command name) for cmd into a; 1 when --help was shown. */
static int vb_parse(const vb_cmd *cmd, int argc, char **argv, vb_args *a, char *err)
{
	struct option lo[VB_NOPTS + 1];
	cli_longopts(vb_opts, VB_NOPTS, cmd->opts, lo);
	memset(a, 0, sizeof *a);
	gate_opts scratch; /* --min-recall specs are checked here, applied by the command */
	gate_defaults(&scratch);
	opterr = 0;
	optind = 1;
	int c, rc = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
		case OPT_HELP:
			vb_usage(stdout, cmd);
			return 1;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_RESULTS:
			a->results = optarg;
			break;
		case OPT_VEC0:
			a->vec0 = optarg;
			break;
		case OPT_DATASET:
			a->dataset = optarg;
			break;
		case OPT_KEEP_DB:
			a->keep_db = 1;
			break;
		case OPT_BASELINE:
			a->baseline = optarg;
			break;
		case OPT_CONFIG:
			a->config = optarg;
			break;
		case OPT_QUERIES:
			rc = cli_parse_size("queries", optarg, 1, SIZE_MAX, &a->queries, err);
			break;
		case OPT_MIN_RECALL:
			if (a->nmins == GATE_MAX_MIN)
				rc = err_set(err, ERR_INPUT, "more than %d --min-recall",
				             GATE_MAX_MIN);
			else if ((rc = gate_add_min(&scratch, optarg, err)) == 0)
				a->mins[a->nmins++] = optarg;
			break;
		case OPT_MAX_DROP:
			rc = cli_parse_double("max-recall-drop", optarg, 0, 1, &a->drop, err);
			a->drop_set = 1;
			break;
		case OPT_MAX_RATIO:
			rc = cli_parse_double("max-latency-ratio", optarg, 1e-9, 1e9, &a->ratio,
			                      err);
			a->ratio_set = 1;
			break;
		case ':':
			rc = err_set(err, ERR_INPUT, "%s needs a value", argv[optind - 1]);
			break;
		default:
			rc =
			    err_set(err, ERR_INPUT, "unknown option %s (see " VB_PROG " %s --help)",
			            argv[optind - 1], cmd->name);
		}
	}
	if (rc)
		return rc;
	int npos = argc - optind;
	if (npos > 1 || (npos == 0 && cmd->pos_required))
		return err_set(err, ERR_INPUT, "%s takes %s (see " VB_PROG " %s --help)", cmd->name,
		               cmd->args, cmd->name);
	a->pos = npos ? argv[optind] : NULL;
	return 0;
}

/* ---- run ------------------------------------------------------------------ */

/* Command-line values over the config's. */
static int vb_override(const vb_args *a, cfg *c, char *err)
{
	if (a->name) {
		if (!cfg_valid_name(a->name))
			return err_set(err, ERR_INPUT,
			               "--name: use up to %d letters, digits, '-', "
			               "'_', '.'",
			               CFG_NAME - 1);
		snprintf(c->name, sizeof c->name, "%s", a->name);
	}
	if (a->results)
		snprintf(c->results, sizeof c->results, "%s", a->results);
	if (a->vec0)
		snprintf(c->vec0, sizeof c->vec0, "%s", a->vec0);
	if (a->dataset)
		snprintf(c->dataset, sizeof c->dataset, "%s", a->dataset);
	if (a->queries) {
		c->queries = a->queries;
		c->queries_line = 0;
	}
	c->keep_db |= a->keep_db;
	return 0;
}

/* One line per section as it finishes, for logs. */
static void vb_section_line(const bench_run *r, const bench_section *s)
{
	const bench_build *b = &s->build;
	if (s->status == BENCH_SKIPPED) {
		printf("[%s] skipped: %s\n", s->cx->name, s->reason);
		return;
	}
	if (s->status != BENCH_OK)
		return;
	printf("[%s] %s %.2f s, %.1f MiB", s->cx->name, b->reused ? "existing table," : "built in",
	       b->total_s, (double)b->file_bytes / (1024.0 * 1024.0));
	for (int p = 0; p < s->npts; p++) {
		const bench_point *pt = &s->pts[p];
		printf("%s", p ? ";" : ":");
		if (pt->nprobe)
			printf(" %s=%d", cfg_sweep_name(s->cx->type), pt->nprobe);
		printf(" %.3f ms recall@%zu %.4f", pt->lat.mean * 1e3, r->k, pt->recall);
	}
	printf("\n");
	fflush(stdout);
}

/* Runs every section, writing the results folder after each; returns the first
 * failure's code (the folder then says why it is incomplete). */
static int vb_measure(bench_run *r, const char *dir, char *err)
{
	int rc;
	for (size_t i = 0; i < r->nsec; i++) {
		rc = bench_section_run(r, i, err);
		if (rc < 0) {
			char why[ERR_LEN];
			snprintf(why, sizeof why, "%s", err);
			rep_write(r, dir, rc == ERR_INTR ? "interrupted" : "failed", why, err);
			snprintf(err, ERR_LEN, "%.300s (results in %.180s are incomplete)", why,
			         dir);
			return rc;
		}
		vb_section_line(r, &r->sec[i]);
		if ((rc = rep_write(r, dir, "running", NULL, err)) < 0)
			return rc;
	}
	return rep_write(r, dir, "complete", NULL, err);
}

/* A flat baseline that is not exact is a loud failure, not a footnote. */
static int vb_check_exact(const bench_run *r, char *err)
{
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		if (s->status == BENCH_OK && s->cx->type == CFG_TYPE_FLAT && !s->exact_pass)
			return err_set(err, ERR_FAIL,
			               "flat baseline [%s] is not exact: recall@%zu "
			               "with ties %.4f, %zu of %zu queries below 1",
			               s->cx->name, r->k, s->pts[0].recall_ties, s->pts[0].inexact,
			               r->nq);
	}
	return 0;
}

static int vb_run(const vb_args *a, char *err)
{
	cfg *c = malloc(sizeof *c);
	bench_run *r = malloc(sizeof *r);
	char dir[CFG_PATH + 512], desc[512];
	int rc = 0;
	if (!c || !r) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	cfg_defaults(c);
	if ((rc = cfg_load(a->pos ? a->pos : VB_DEFAULT_CONFIG, c, err)) < 0 ||
	    (rc = vb_override(a, c, err)) < 0)
		goto out;
	intr_install();
	if ((rc = bench_open(r, c, err)) < 0)
		goto out;
	if (r->note[0])
		fprintf(stderr, VB_PROG ": note: %s\n", r->note);
	if ((rc = rep_prepare(r, dir, sizeof dir, err)) == 0) {
		vec0_describe(&r->ext, desc, sizeof desc);
		printf("%s\n%s: %zu train x %zu, %zu queries, k = %zu\nresults: %s\n", desc,
		       r->dataset_name, r->ds.n, r->ds.d, r->nq, r->k, dir);
		fflush(stdout);
		rc = vb_measure(r, dir, err);
	}
	if (rc == 0) {
		printf("\n");
		rep_headline(stdout, r);
		printf("\nreport: %s/results.md\n", dir);
		rc = vb_check_exact(r, err);
	}
	bench_close(r);
out:
	free(r);
	free(c);
	return rc;
}

/* ---- gate ----------------------------------------------------------------- */

static int vb_gate(const vb_args *a, char *err)
{
	gate_opts o;
	gate_defaults(&o);
	if (a->config) {
		cfg *c = malloc(sizeof *c);
		if (!c)
			return err_set(err, ERR_NOMEM, "out of memory");
		cfg_defaults(c);
		int rc = cfg_load(a->config, c, err);
		o = c->gate;
		free(c);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < a->nmins; i++) {
		int rc = gate_add_min(&o, a->mins[i], err);
		if (rc < 0)
			return rc;
	}
	if (a->drop_set)
		o.max_recall_drop = a->drop;
	if (a->ratio_set)
		o.max_latency_ratio = a->ratio;
	if (!a->baseline && o.nmin == 0)
		return err_set(err, ERR_INPUT,
		               "nothing to gate: give --baseline, --min-recall or "
		               "--config with a [gate] section");
	gate_result res;
	int rc = gate_run(a->pos, a->baseline, &o, &res, err);
	if (rc < 0)
		return rc;
	static const char *const tag[] = {"PASS", "FAIL", "note"};
	for (size_t i = 0; i < res.n; i++)
		printf("%s  %s\n", tag[res.checks[i].verdict], res.checks[i].text);
	printf("gate: %zu checks, %zu failed\n", res.n, res.failed);
	rc = res.failed ? err_set(err, ERR_FAIL, "%zu of %zu checks failed", res.failed, res.n) : 0;
	gate_result_free(&res);
	return rc;
}

int main(int argc, char **argv)
{
	char err[ERR_LEN] = "";
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vb_usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < VB_NCMDS; i++) {
		if (strcmp(argv[1], vb_cmds[i].name) != 0)
			continue;
		vb_args a;
		int rc = vb_parse(&vb_cmds[i], argc - 1, argv + 1, &a, err);
		if (rc == 1)
			return 0;
		if (rc == 0)
			rc = vb_cmds[i].run(&a, err);
		return err_report(VB_PROG, rc, err);
	}
	err_set(err, ERR_INPUT, "unknown command '%s' (commands: run, gate)", argv[1]);
	return err_report(VB_PROG, ERR_INPUT, err);
}

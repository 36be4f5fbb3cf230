/*
 * ivftrain.c - the `ivftrain` CLI: train IVF centroids for a vec0 table offline,
 * then write them and assign every row in one short, verified transaction.
 *
 *   ivftrain [options] DB.sqlite
 *   ivftrain --from DATA.hdf5 --dry-run [options]     k-means alone, no database
 *   ivftrain --check DB.sqlite                        audit the index, read-only
 *   ivftrain --repack DB.sqlite                       rewrite the cells, no training
 *   ivftrain --export-faiss FILE DB.sqlite            the index as a faiss sidecar
 *   ivftrain --load SOURCE [options] DB.sqlite        fill an empty table: train on
 *                                                     a sample of the rows, write all
 *                                                     (SOURCE: DATA.hdf5, TABLE[.COLUMN]
 *                                                     or FILE:TABLE[.COLUMN]; source.h)
 *
 * A thin main over ivf/ (vec0, tables, the write) and train/kmeans: options come
 * from one table that also prints --help. Everything that can be checked is
 * checked before any work; sampling and training hold no lock, so Ctrl-C there
 * leaves the database untouched; ivf_write_centroids is the only writer and
 * either commits a verified index or rolls back. Exit status: 0 ok, 1 failure
 * (the database unchanged), 2 bad usage or input, 3 the new index is committed
 * but a step after COMMIT failed (a check, --vacuum), 130 interrupted.
 */
#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "build.h"
#include "bulk.h"
#include "check.h"
#include "cli.h"
#include "err.h"
#include "h5ds.h"
#include "intr.h"
#include "ivf.h"
#include "kmeans.h"
#include "load.h"
#include "names.h"
#include "progress.h"
#include "sidecar.h"
#include "source.h"
#include "timing.h"
#include "vec0.h"
#include "vtab.h"

#define PROG "ivftrain"
#define IVFTRAIN_VERSION "0.1.0"
#define CENTROIDS_DATASET "centroids"
#define HELP_COL 31 /* --help: where the options' help text starts */

#define EXIT_WRITTEN 3 /* exit status: committed, then a step after COMMIT failed */

enum {
	OPT_NLIST = 256,
	OPT_NTRAIN,
	OPT_NITER,
	OPT_TOL,
	OPT_SEED,
	OPT_THREADS,
	OPT_INIT,
	OPT_TABLE,
	OPT_COLUMN,
	OPT_VEC0,
	OPT_ASSIGN,
	OPT_VERIFY,
	OPT_BATCH,
	OPT_BUSY,
	OPT_CACHE,
	OPT_VACUUM,
	OPT_DRY_RUN,
	OPT_SAVE,
	OPT_LOAD,
	OPT_FROM,
	OPT_FILL,
	OPT_JSON,
	OPT_CHECK,
	OPT_REPACK,
	OPT_EXPORT,
	OPT_HELP,
	OPT_VERSION
};

static const cli_opt docs[] = {
    {"nlist", OPT_NLIST, "N", "centroids, 1.." CLI_STR(IVF_MAX_NLIST)},
    {"ntrain", OPT_NTRAIN, "N", "rows sampled for training"},
    {"niter", OPT_NITER, "N", "k-means iterations at most"},
    {"tol", OPT_TOL, "X", "stop when inertia improves by less than X; 0: never"},
    {"seed", OPT_SEED, "N", "seed for sampling, initialisation and verification"},
    {"threads", OPT_THREADS, "N", "training threads (default: all cores, or OMP_NUM_THREADS)"},
    {"init", OPT_INIT, "NAME", "centroid initialisation"}, /* NAME: --help lists them */
    {"table", OPT_TABLE, "NAME", "vec0 table (default: the only one with an IVF column)"},
    {"column", OPT_COLUMN, "NAME", "vector column (default: the IVF one)"},
    {"vec0", OPT_VEC0, "PATH", "sqlite-vec build to load (default: " VEC0_SEARCH_HELP ")"},
    {"assign", OPT_ASSIGN, "NAME",
     "how rows reach their cells: bulk (cells written directly, on a layout it knows; else "
     "reinsert), reinsert (through vec0's insert, correct on every release), native "
     "(sqlite-vec's assign-vectors, wrong up to v0.1.10-alpha.3), none (centroids only)"},
    {"verify", OPT_VERIFY, "N", "rows self-queried at nprobe 1 before COMMIT; 0: off"},
    {"batch", OPT_BATCH, "N", "rows moved per batch"},
    {"busy-timeout", OPT_BUSY, "MS", "wait this long for another writer"},
    {"cache-mib", OPT_CACHE, "N",
     "SQLite page cache while writing (default: twice the file, at most a quarter of RAM; "
     "a bulk write at most 256 MiB)"},
    {"vacuum", OPT_VACUUM, NULL, "VACUUM afterwards: give the pages the move freed back"},
    {"dry-run", OPT_DRY_RUN, NULL, "sample and train, report, write nothing to the database"},
    {"save-centroids", OPT_SAVE, "FILE",
     "also write the centroids to FILE (HDF5, dataset 'centroids')"},
    {"load-centroids", OPT_LOAD, "FILE", "write these centroids instead of training"},
    {"from", OPT_FROM, "DATA.hdf5", "train on a dataset's train rows instead of the table's"},
    {"load", OPT_FILL, "SOURCE",
     "fill the empty table with SOURCE's rows, trained on a sample of them, without vec0's "
     "per-row insert (cells written as --assign bulk; no other --assign). SOURCE: "
     "DATA.hdf5 (its train rows, row i gets id i), TABLE[.COLUMN] (a vec0 or plain table of "
     "DB.sqlite) or FILE:TABLE[.COLUMN] (one of another SQLite file); table rows keep their "
     "rowids (text keys on a text primary key), auxiliary columns take the source's "
     "columns of the same names, a plain table's vectors are float32 BLOBs or JSON text"},
    {"json", OPT_JSON, NULL, "print the summary as JSON on stdout"},
    {"check", OPT_CHECK, NULL,
     "audit the IVF index read-only against every invariant; exit 0 clean, 1 problems "
     "found (listed)"},
    {"repack", OPT_REPACK, NULL,
     "rewrite every cell densely with the table's current centroids, no training (closes "
     "the holes deletes leave)"},
    {"export-faiss", OPT_EXPORT, "FILE",
     "read-only: write the table's IVF index (its centroids, each row in its cell's list) "
     "as a faiss IndexIVFFlat to FILE, for faiss.read_index; no training"},
    {"help", OPT_HELP, NULL, "show this help"},
    {"version", OPT_VERSION, NULL, "show versions"},
};
#define NDOCS (sizeof docs / sizeof *docs)

typedef struct opts {
	const char *db, *table, *column, *vec0, *from, *save, *load;
	const char *export_faiss; /* --export-faiss FILE */
	const char *fill;         /* --load SOURCE: the rows are also what is trained on */
	build_opts b;             /* the pipeline's options: build_defaults, then ours */
	int assign_given;         /* --assign on the command line, not the default */
	int vacuum, dry_run, json, check, repack;
} opts;

/* Everything one run found, measured and owns. */
typedef struct run {
	vec0_ext ext;
	sqlite3 *db;
	vtab t;
	int64_t rows;   /* rows in the table */
	h5_dataset ds;  /* --from */
	src_rows src;   /* --load */
	double read_s;  /* --load: reading SOURCE's rows */
	const float *x; /* ntrain x d training sample: xown, or the dataset's rows */
	float *xown;
	build_sizes sz; /* nlist and ntrain as build_size decided */
	size_t d, nlist;
	int spherical;
	const char *source; /* "table", "hdf5" or "centroids" */
	float *loaded;      /* --load-centroids, k x d */
	km_result km;
	ivf_write_stats ws;
	double sample_s, train_s, t0;
	int wrote;
} run;

/* The "(default ...)" of option id, from the defaults struct (so each default
 * is spelled once, in build_defaults), into buf; 0 when it has none to add. */
static int default_text(int id, const build_opts *b, char *buf, size_t len)
{
	switch (id) {
	case OPT_NLIST:
		return snprintf(buf, len, "the table's declared nlist; %d with --from alone",
		                BUILD_NLIST);
	case OPT_NTRAIN:
		return snprintf(buf, len, "min(rows, %d x nlist)", BUILD_NTRAIN_PER_CENTROID);
	case OPT_NITER:
		return snprintf(buf, len, "%d", b->km.niter);
	case OPT_TOL:
		return snprintf(buf, len, "%g", b->km.tol);
	case OPT_SEED:
		return snprintf(buf, len, "%llu", (unsigned long long)b->km.seed);
	case OPT_INIT:
		return snprintf(buf, len, "%s", km_init_name(b->km.init));
	case OPT_ASSIGN:
		return snprintf(buf, len, "%s", ivf_assign_name(b->write.assign));
	case OPT_VERIFY:
		return snprintf(buf, len, "%d", b->write.verify_samples);
	case OPT_BATCH:
		return snprintf(buf, len, "%zu", b->write.batch);
	case OPT_BUSY:
		return snprintf(buf, len, "%d", b->write.busy_ms);
	}
	return 0;
}

/* docs as --help shows them: each default appended from build_defaults, the
 * choices of an enum option from its name table. */
static void help_docs(cli_opt *d, char (*help)[400], char (*arg)[80])
{
	build_opts b;
	char dflt[128];
	build_defaults(&b);
	for (size_t i = 0; i < NDOCS; i++) {
		d[i] = docs[i];
		const char *const *names = d[i].id == OPT_INIT     ? km_init_names
		                           : d[i].id == OPT_ASSIGN ? ivf_assign_names
		                                                   : NULL;
		if (names)
			d[i].arg = names_join(names, ~0u, "|", arg[i], sizeof arg[i]);
		if (default_text(d[i].id, &b, dflt, sizeof dflt) > 0) {
			snprintf(help[i], sizeof help[i], "%s (default: %s)", d[i].help, dflt);
			d[i].help = help[i];
		}
	}
}

static void usage(FILE *f)
{
	cli_opt d[NDOCS];
	char help[NDOCS][400], arg[NDOCS][80];
	help_docs(d, help, arg);
	fprintf(f, "usage: " PROG " [options] DB.sqlite\n"
	           "       " PROG " --from DATA.hdf5 --dry-run [options]\n"
	           "       " PROG " --check | --repack [options] DB.sqlite\n"
	           "       " PROG " --load DATA.hdf5|TABLE[.COLUMN]|FILE:TABLE[.COLUMN] [options] "
	           "DB.sqlite\n"
	           "Trains IVF centroids for a vec0 table with multithreaded k-means, then writes "
	           "them and\nassigns every row in one verified transaction.\n\noptions:\n");
	cli_help(f, d, NDOCS, NULL, HELP_COL);
	fprintf(f, "\nExit status: 0 ok, 1 failure (the database unchanged), 2 bad usage or "
	           "input, 3 the new\nindex is committed but a step after COMMIT failed (a "
	           "check, --vacuum), 130 interrupted.\n");
}

static void version(void)
{
	printf(PROG " (ivfkit) " IVFTRAIN_VERSION ", SQLite %s, HDF5 %s\n", sqlite3_libversion(),
	       h5_version());
}

/* An int option in [min, max] into *out (untouched on error). */
static int parse_int(const char *name, const char *v, long min, long max, int *out, char *err)
{
	long l;
	int rc = cli_parse_long(name, v, min, max, &l, err);
	if (rc == 0)
		*out = (int)l;
	return rc;
}

static int parse_opt(int id, const char *v, opts *o, char *err)
{
	build_opts *b = &o->b;
	size_t seed;
	char list[128];
	switch (id) {
	case OPT_NLIST:
		return cli_parse_size("nlist", v, 1, IVF_MAX_NLIST, &b->nlist, err);
	case OPT_NTRAIN:
		return cli_parse_size("ntrain", v, 1, (size_t)1 << 40, &b->ntrain, err);
	case OPT_NITER:
		return parse_int("niter", v, 1, 100000, &b->km.niter, err);
	case OPT_THREADS:
		return parse_int("threads", v, 0, 4096, &b->km.nthreads, err);
	case OPT_VERIFY:
		return parse_int("verify", v, 0, 1000000, &b->write.verify_samples, err);
	case OPT_BATCH:
		return cli_parse_size("batch", v, 1, 1000000, &b->write.batch, err);
	case OPT_BUSY:
		return parse_int("busy-timeout", v, 0, 86400000, &b->write.busy_ms, err);
	case OPT_CACHE:
		return parse_int("cache-mib", v, 1, 1 << 20, &b->write.cache_mib, err);
	case OPT_TOL:
		/* half-open, which cli_parse_double does not express: its message is ours */
		if (cli_parse_double("tol", v, 0, 1, &b->km.tol, NULL) || b->km.tol == 1)
			return err_set(err, ERR_INPUT, "--tol: '%s' is not a number in [0, 1)", v);
		return 0;
	case OPT_SEED:
		if (cli_parse_size("seed", v, 0, SIZE_MAX, &seed, err))
			return ERR_INPUT;
		b->km.seed = seed;
		return 0;
	case OPT_INIT:
		if (km_init_parse(v, &b->km.init))
			return err_set(err, ERR_INPUT, "--init: '%s' is not one of %s", v,
			               names_join(km_init_names, ~0u, ", ", list, sizeof list));
		return 0;
	case OPT_ASSIGN:
		o->assign_given = 1;
		if (ivf_assign_parse(v, &b->write.assign))
			return err_set(err, ERR_INPUT, "--assign: '%s' is not one of %s", v,
			               names_join(ivf_assign_names, ~0u, ", ", list, sizeof list));
		return 0;
	case OPT_TABLE:
		o->table = v;
		return 0;
	case OPT_COLUMN:
		o->column = v;
		return 0;
	case OPT_VEC0:
		o->vec0 = v;
		return 0;
	case OPT_SAVE:
		o->save = v;
		return 0;
	case OPT_LOAD:
		o->load = v;
		return 0;
	case OPT_FROM:
		o->from = v;
		return 0;
	case OPT_FILL:
		o->fill = v;
		return 0;
	case OPT_VACUUM:
		o->vacuum = 1;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = 1;
		return 0;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_CHECK:
		o->check = 1;
		return 0;
	case OPT_REPACK:
		o->repack = 1;
		return 0;
	case OPT_EXPORT:
		o->export_faiss = v;
		return 0;
	}
	return err_set(err, ERR_INPUT, "unhandled option");
}

/* Fills o from argv; 1 when --help or --version was answered. */
static int parse_args(int argc, char **argv, opts *o, char *err)
{
	struct option lo[NDOCS + 1];
	memset(o, 0, sizeof *o);
	build_defaults(&o->b);
	cli_longopts(docs, NDOCS, NULL, lo);
	opterr = 0;
	int id, rc = 0;
	while (!rc && (id = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (id == 'h' || id == OPT_HELP) {
			usage(stdout);
			return 1;
		}
		if (id == OPT_VERSION) {
			version();
			return 1;
		}
		if (id == ':')
			return err_set(err, ERR_INPUT, "%s needs a value", argv[optind - 1]);
		if (id == '?')
			return err_set(err, ERR_INPUT, "unknown option %s (see " PROG " --help)",
			               argv[optind - 1]);
		rc = parse_opt(id, optarg, o, err);
	}
	if (rc)
		return rc;
	if (argc - optind > 1)
		return err_set(err, ERR_INPUT, "one database at most, got '%s' and '%s'",
		               argv[optind], argv[optind + 1]);
	o->db = optind < argc ? argv[optind] : NULL;
	if (!o->db && !(o->from && o->dry_run))
		return err_set(err, ERR_INPUT,
		               "missing DB.sqlite (only --from DATA.hdf5 --dry-run "
		               "runs without one; see " PROG " --help)");
	if (o->fill && (o->from || o->dry_run || o->check || o->repack || o->vacuum))
		return err_set(err, ERR_INPUT,
		               "--load takes its training rows from SOURCE and writes: no "
		               "--from, --dry-run, --check, --repack or --vacuum with it");
	/* a load has no cells to move: every row is written straight into its cell */
	if (o->fill && o->assign_given && o->b.write.assign != IVF_ASSIGN_BULK)
		return err_set(err, ERR_INPUT,
		               "--load writes every row straight into its cell (--assign bulk): "
		               "--assign %s has no meaning with it",
		               ivf_assign_name(o->b.write.assign));
	if (o->from && o->load)
		return err_set(err, ERR_INPUT, "--from and --load-centroids exclude each other");
	if (o->load && o->b.ntrain)
		return err_set(err, ERR_INPUT, "--ntrain has no use with --load-centroids");
	if (o->check && o->repack)
		return err_set(err, ERR_INPUT, "--check and --repack exclude each other");
	if (o->export_faiss && (o->check || o->repack || o->fill))
		return err_set(err, ERR_INPUT,
		               "--export-faiss reads the index as it is: no --check, --repack or "
		               "--load with it");
	if (o->export_faiss && (o->vacuum || o->dry_run))
		return err_set(err, ERR_INPUT,
		               "--export-faiss writes no database: no --vacuum "
		               "or --dry-run with it");
	if ((o->check || o->repack || o->export_faiss) &&
	    (o->from || o->load || o->save || o->dry_run || o->b.nlist || o->b.ntrain))
		return err_set(err, ERR_INPUT,
		               "--%s takes no training option (--from, --load-centroids, "
		               "--save-centroids, --dry-run, --nlist, --ntrain)",
		               o->check    ? "check"
		               : o->repack ? "repack"
		                           : "export-faiss");
	return 0;
}

/* ---- steps ------------------------------------------------------------------ */

/* Opens the database, loads vec0 and finds the table; checks everything the
 * write will need before any work is done. */
static int open_table(const opts *o, run *r, char *err)
{
	int rc = vec0_find(o->vec0, &r->ext, err);
	int ro = o->dry_run || o->check || o->export_faiss;
	if (!rc)
		rc = ro ? vec0_open(o->db, SQLITE_OPEN_READONLY, o->b.write.busy_ms, &r->ext,
		                    &r->db, err)
		        : vec0_open_writer(o->db, o->b.write.busy_ms, &r->ext, &r->db, err);
	if (rc)
		return rc;
	if (!r->ext.has_ivf)
		return err_set(err, ERR_INPUT,
		               "vec0 %s (%s) has no IVF support; load a build made "
		               "with SQLITE_VEC_EXPERIMENTAL_IVF_ENABLE=1 (--vec0 PATH)",
		               r->ext.version, r->ext.path);
	if ((rc = vtab_find(r->db, o->table, o->column, 1, &r->t, err)) < 0)
		return rc;
	if (strcmp(r->t.elem, "float") != 0)
		return err_set(err, ERR_INPUT,
		               "column %s.%s holds %s vectors; ivftrain trains "
		               "float32 columns",
		               r->t.name, r->t.column, r->t.elem);
	if ((rc = vtab_count(r->db, &r->t, &r->rows, err)) < 0)
		return rc;
	if (!ro && (rc = ivf_check_writable(r->db, err)) < 0)
		return rc;
	if (o->fill && (rc = load_ready(r->db, &r->t, err)) < 0)
		return rc;
	if (r->rows == 0 && !o->check && !o->fill && !o->export_faiss)
		return err_set(err, ERR_INPUT, "table %s is empty: nothing to train on or assign",
		               r->t.name);
	r->d = r->t.d;
	r->spherical = r->t.metric == VTAB_COSINE;
	return 0;
}

/* --from's train rows, checked against the column. */
static int read_dataset(const opts *o, run *r, char *err)
{
	int rc = h5_read(o->from, 0, &r->ds, err);
	if (rc < 0)
		return rc;
	if (r->db && r->ds.d != r->d)
		return err_set(err, ERR_INPUT, "--from %s: %zu dimensions, column %s.%s has %zu",
		               o->from, r->ds.d, r->t.name, r->t.column, r->d);
	if (!r->db) {
		r->d = r->ds.d;
		r->spherical = !strcmp(r->ds.distance, "angular");
	}
	return 0;
}

/* The training-size rule (build_size) against the avail rows of what; its
 * warning goes to stderr now and into --json's warnings. */
static int size_training(const opts *o, run *r, int64_t avail, const char *what, char *err)
{
	int rc = build_size(&o->b, r->db ? r->t.nlist : -1, avail, what, &r->sz, err);
	if (rc == 0 && r->sz.warn[0])
		fprintf(stderr, PROG ": warning: --%s\n", r->sz.warn);
	r->nlist = r->sz.nlist;
	return rc;
}

/* The training sample, from --load's rows, --from or the table. */
static int sample(const opts *o, run *r, prog_t *pg, char *err)
{
	double t0 = tm_now();
	int rc;
	if (o->fill) {
		r->source = src_kind_name(r->src.kind);
		if ((rc = size_training(o, r, r->rows, r->src.label, err)) < 0)
			return rc;
		rc = build_sample_matrix(r->src.x, r->src.rows.n, r->d, &r->sz, &o->b, &r->x,
		                         &r->xown, err);
	} else if (o->from) {
		if (!r->ds.train && (rc = read_dataset(o, r, err)) < 0)
			return rc;
		r->source = "hdf5";
		if ((rc = size_training(o, r, (int64_t)r->ds.n, o->from, err)) < 0)
			return rc;
		rc = build_sample_matrix(r->ds.train, r->ds.n, r->d, &r->sz, &o->b, &r->x, &r->xown,
		                         err);
	} else {
		char what[VTAB_NAME + 8];
		snprintf(what, sizeof what, "table %s", r->t.name);
		r->source = "table";
		if ((rc = size_training(o, r, r->rows, what, err)) < 0)
			return rc;
		size_t got = 0;
		rc = build_sample_table(r->db, &r->t, &r->sz, &o->b, &r->xown, &got, pg, err);
		r->x = r->xown;
		r->sz.ntrain = got;
	}
	r->sample_s = tm_now() - t0;
	if (rc == ERR_INTR)
		return err_set(err, ERR_INTR,
		               "interrupted while sampling; the database is unchanged");
	return rc;
}

static int train(const opts *o, run *r, prog_t *pg, char *err)
{
	double t0 = tm_now();
	int rc = build_train(r->x, r->sz.ntrain, r->d, &r->sz, r->spherical ? VTAB_COSINE : VTAB_L2,
	                     &o->b, &r->km, pg, err);
	r->train_s = tm_now() - t0;
	if (rc == ERR_INTR)
		return err_set(err, ERR_INTR, "interrupted during training; %s",
		               r->db ? "the database is unchanged" : "nothing written");
	return rc;
}

/* --load-centroids: a k x d matrix that must fit the column. */
static int load_centroids(const opts *o, run *r, char *err)
{
	char distance[32] = "";
	size_t k = 0, d = 0;
	int rc = h5_read_matrix(o->load, CENTROIDS_DATASET, &r->loaded, &k, &d, distance,
	                        sizeof distance, err);
	if (rc < 0)
		return rc;
	r->source = "centroids";
	rc = build_centroids(&o->b, k, d, distance, &r->t, r->rows, o->load, &r->sz, err);
	if (rc == 0 && r->sz.warn[0])
		fprintf(stderr, PROG ": warning: %s\n", r->sz.warn);
	r->nlist = r->sz.nlist;
	return rc;
}

static const float *centroids(const run *r)
{
	return r->loaded ? r->loaded : r->km.centroids;
}

static int write_index(const opts *o, run *r, prog_t *pg, char *err)
{
	int rc = build_write(r->db, &r->t, centroids(r), r->nlist, o->fill ? &r->src.rows : NULL,
	                     &o->b, &r->ws, pg, err);
	if (r->ws.fallback[0] && r->ws.assigned == IVF_ASSIGN_REINSERT)
		fprintf(stderr, PROG ": note: no bulk write: %s; rows moved by reinsert\n",
		        r->ws.fallback);
	r->wrote = r->ws.committed;
	if (rc == 0 && o->vacuum)
		rc = ivf_vacuum(r->db, &r->ws, err);
	if (rc < 0 && r->wrote) {
		char why[ERR_LEN];
		snprintf(why, sizeof why, "%s", err);
		err_set(err, rc,
		        "the new index is committed (%zu centroids, %lld rows moved into %s), "
		        "but then: %s",
		        r->nlist, (long long)r->ws.rows_moved, r->t.name, why);
	}
	return rc;
}

/* --check: the audit's figures and one line per kind of problem, on stdout. */
static void print_check(const opts *o, const run *r, const check_report *c)
{
	char line[1024];
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "database", o->db);
		cJSON_AddStringToObject(j, "table", r->t.name);
		cJSON_AddStringToObject(j, "vec0", r->ext.version);
		cJSON_AddNumberToObject(j, "rows", (double)c->rows);
		cJSON_AddNumberToObject(j, "live", (double)c->live);
		cJSON_AddNumberToObject(j, "mapped", (double)c->mapped);
		cJSON_AddNumberToObject(j, "cells", (double)c->cells);
		cJSON_AddNumberToObject(j, "centroids", (double)c->centroids);
		cJSON_AddNumberToObject(j, "holes", (double)c->holes);
		cJSON_AddNumberToObject(j, "nearest_checked", (double)c->nearest_checked);
		cJSON_AddNumberToObject(j, "misplaced", (double)c->p[CHECK_MISPLACED].count);
		cJSON_AddNumberToObject(j, "problems", (double)c->problems);
		cJSON *a = cJSON_AddArrayToObject(j, "found");
		for (int i = 0; i < CHECK_NKINDS; i++)
			if (c->p[i].count) {
				check_line(c, i, line, sizeof line);
				cJSON_AddItemToArray(a, cJSON_CreateString(line));
			}
		char *txt = cJSON_PrintUnformatted(j);
		if (txt)
			puts(txt);
		free(txt);
		cJSON_Delete(j);
		return;
	}
	printf("%-9s %s.%s in %s (vec0 %s)\n", "table", r->t.name, r->t.column, o->db,
	       r->ext.version);
	printf("%-9s %lld rows, %lld centroids, %lld cells, %lld live slots, %lld rowid-map rows\n",
	       "index", (long long)c->rows, (long long)c->centroids, (long long)c->cells,
	       (long long)c->live, (long long)c->mapped);
	if (c->nearest_skipped)
		printf("%-9s not checked: %s\n", "nearest", c->nearest_skipped);
	else
		printf("%-9s %lld of %lld rows not in their nearest centroid's cell (%.2f%%)\n",
		       "nearest", (long long)c->p[CHECK_MISPLACED].count,
		       (long long)c->nearest_checked,
		       c->nearest_checked ? 100.0 * (double)c->p[CHECK_MISPLACED].count /
		                                (double)c->nearest_checked
		                          : 0.0);
	if (c->holes)
		printf("%-9s %lld cells have holes left by deletes: sqlite-vec's next insert into "
		       "one overwrites a live row (" PROG " --repack closes them)\n",
		       "holes", (long long)c->holes);
	for (int i = 0; i < CHECK_NKINDS; i++)
		if (c->p[i].count) {
			check_line(c, i, line, sizeof line);
			printf("%-9s %s\n", "problem", line);
		}
	printf("%-9s %s\n", "verdict", c->problems ? "problems found" : "clean");
}

/* --check: read-only; problems found make the exit status 1. */
static int check_table(const opts *o, run *r, prog_t *pg, char *err)
{
	check_report c;
	int rc = check_index(r->db, &r->t, NULL, &c, pg, err);
	if (rc < 0)
		return rc;
	print_check(o, r, &c);
	if (c.problems)
		return err_set(err, ERR_FAIL, "%lld problems found in the IVF index of %s (%s)",
		               (long long)c.problems, r->t.name, o->db);
	return 0;
}

/* --export-faiss: read-only; the sidecar replaces FILE only once complete. */
static int export_table(const opts *o, run *r, char *err)
{
	sidecar_stats s = {0};
	int rc = sidecar_export_faiss(r->db, &r->t, o->export_faiss, &s, err);
	if (rc < 0)
		return rc;
	if (o->json)
		printf("{\"export_faiss\": {\"path\": \"%s\", \"rows\": %lld, \"nlist\": "
		       "%lld, \"bytes\": %lld, \"read_s\": %.6f, \"write_s\": %.6f}}\n",
		       o->export_faiss, (long long)s.rows, (long long)s.nlist, (long long)s.bytes,
		       s.read_s, s.write_s);
	else
		printf("exported %s: %lld rows in %lld lists to %s (%.1f MiB; read %.2f s, "
		       "faiss %.2f s)\n",
		       r->t.name, (long long)s.rows, (long long)s.nlist, o->export_faiss,
		       (double)s.bytes / (1024.0 * 1024.0), s.read_s, s.write_s);
	return 0;
}

static int run_all(const opts *o, run *r, char *err)
{
	prog_t pg = PROG_INIT;
	int rc = 0;
	if (o->db && (rc = open_table(o, r, err)) < 0)
		return rc;
	if (o->check)
		return check_table(o, r, &pg, err);
	if (o->export_faiss)
		return export_table(o, r, err);
	if (o->repack) {
		if ((rc = bulk_read_centroids(r->db, &r->t, &r->loaded, &r->nlist, err)) < 0)
			return rc;
		r->source = "table centroids";
		return write_index(o, r, &pg, err);
	}
	/* a bad output path should not cost a training run */
	if (o->save && (rc = h5_check_output(o->save, err)) < 0)
		return rc;
	if (o->fill) {
		double t0 = tm_now();
		if ((rc = src_read(o->fill, r->db, &r->t, &r->ext, &r->src, &pg, err)) < 0)
			return rc;
		r->rows = (int64_t)r->src.rows.n;
		r->read_s = tm_now() - t0;
	}
	if (o->load) {
		if ((rc = load_centroids(o, r, err)) < 0)
			return rc;
	} else {
		if ((rc = sample(o, r, &pg, err)) < 0 || (rc = train(o, r, &pg, err)) < 0)
			return rc;
		/* the sample is done with: the write needs the memory more */
		free(r->xown);
		r->xown = NULL;
		r->x = NULL;
		if (!o->fill) {
			free(r->ds.train);
			r->ds.train = NULL;
		}
	}
	if (o->save &&
	    (rc = h5_write_matrix(o->save, CENTROIDS_DATASET, centroids(r), r->nlist, r->d,
	                          r->spherical ? "angular" : "euclidean", err)) < 0)
		return rc;
	if (o->dry_run)
		return 0;
	return write_index(o, r, &pg, err);
}

/* ---- reports ---------------------------------------------------------------- */

static const char *metric_name(const run *r)
{
	if (!r->db)
		return r->spherical ? "angular" : "euclidean";
	return vtab_metric_name(r->t.metric);
}

/* Peak resident memory of this program in KiB: VmHWM belongs to the address
 * space, so it starts afresh at exec (getrusage's maxrss carries over what the
 * parent had when it forked us). */
static long peak_rss_kib(void)
{
	long kib = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	struct rusage ru;
	if (!kib && getrusage(RUSAGE_SELF, &ru) == 0)
		kib = ru.ru_maxrss;
	return kib;
}

/* The degenerate-index warning (see km_imbalance_limit) into buf: about the
 * written index when there is one, else about the sample's clustering; "" when
 * the imbalance is within the limit or nothing measured it. */
static void degenerate_warning(const run *r, char *buf, size_t len)
{
	double imb = r->wrote ? r->ws.imbalance : r->km.imbalance;
	double lim = km_imbalance_limit(r->nlist);
	buf[0] = 0;
	if (imb > lim)
		snprintf(buf, len,
		         "degenerate %s: imbalance %.3f > %.3f for %zu %s, most rows in a few of "
		         "them (a query scans about %.1fx the rows of a balanced index at the "
		         "same nprobe)",
		         r->wrote ? "index" : "clustering", imb, lim, r->nlist,
		         r->wrote ? "cells" : "clusters", imb);
}

static void print_text(const opts *o, const run *r)
{
	const ivf_write_stats *w = &r->ws;
	char desc[5000], warn[512];
	if (r->db) {
		vec0_describe(&r->ext, desc, sizeof desc);
		printf("%-9s %s\n", "vec0", desc);
		printf("%-9s %s.%s in %s: %zu dims, %s, %lld rows, declared nlist %d nprobe %d\n",
		       "table", r->t.name, r->t.column, o->db, r->d, metric_name(r),
		       (long long)r->rows, r->t.nlist, r->t.nprobe);
	}
	if (o->fill)
		printf("%-9s %zu rows of %s (%s)   %.2f s\n", "read", r->src.rows.n, r->src.label,
		       src_kind_name(r->src.kind), r->read_s);
	if (o->repack) {
		printf("%-9s %zu centroids of the table, no training\n", "repack", r->nlist);
	} else if (r->loaded) {
		printf("%-9s %zu centroids from %s\n", "load", r->nlist, o->load);
	} else {
		printf("%-9s %zu of %lld rows of %s   %.2f s\n", "sample", r->sz.ntrain,
		       o->from ? (long long)r->ds.n : (long long)r->rows,
		       o->fill   ? r->src.label
		       : o->from ? o->from
		                 : r->t.name,
		       r->sample_s);
		printf("%-9s k %zu, %s init%s, %d iterations   %.2f s (init %.2f s)\n", "train",
		       r->nlist, km_init_name(o->b.km.init), r->spherical ? ", spherical" : "",
		       r->km.niter, r->train_s, r->km.init_s);
		printf("%-9s inertia %.6g, imbalance %.3f\n", "", r->km.inertia, r->km.imbalance);
	}
	if (o->save)
		printf("%-9s centroids written to %s\n", "save", o->save);
	if (o->dry_run) {
		printf("%-9s dry run: the database was not written\n", "write");
	} else if (r->wrote) {
		printf("%-9s %s%zu centroids (%s syntax)   %.2f s\n", "write",
		       w->was_trained ? "cleared old centroids, set " : "set ", r->nlist,
		       ivf_syntax_name(r->ws.syntax), w->clear_s + w->set_s);
		if (o->fill)
			printf("%-9s %lld rows of %s into %s_rowids and %s_chunks%s   %.2f s\n",
			       "load", (long long)r->rows, r->src.label, r->t.name, r->t.name,
			       r->t.naux ? " and _auxiliary" : "", w->base_s);
		if (o->fill && r->src.aux_missing[0])
			printf("%-9s %s has no column %s: left NULL\n", "", r->src.label,
			       r->src.aux_missing);
		if (w->assigned == IVF_ASSIGN_BULK && w->planned_rows)
			printf("%-9s %lld rows' nearest centroids before the lock   %.2f s\n",
			       "plan", (long long)w->planned_rows, w->plan_s);
		if (w->assigned == IVF_ASSIGN_BULK)
			printf("%-9s bulk: %lld rows written to dense cells   %.2f s (read %.2f, "
			       "nearest %.2f, write %.2f)\n",
			       "assign", (long long)w->rows_moved, w->assign_s, w->bulk_read_s,
			       w->bulk_nearest_s, w->bulk_write_s);
		else
			printf("%-9s %s: %lld rows moved   %.2f s (read %.2f, delete %.2f, insert "
			       "%.2f, assign-vectors %.2f)\n",
			       "assign", ivf_assign_name(w->assigned), (long long)w->rows_moved,
			       w->assign_s, w->read_s, w->delete_s, w->insert_s, w->drop_s);
		printf("%-9s %d/%d sampled rows found themselves at nprobe 1%s   %.2f s\n",
		       "verify", w->verify_checked - w->verify_failed, w->verify_checked,
		       w->assigned == IVF_ASSIGN_BULK ? "; every invariant and row vector checked"
		                                      : "",
		       w->verify_s);
		printf("%-9s write lock held %.2f s (waited %.2f s, commit %.2f s, page cache %.0f "
		       "MiB)\n",
		       "lock", w->lock_s, w->wait_s, w->commit_s, (double)w->cache_kib / 1024);
		printf("%-9s %lld centroids, %lld unassigned rows, imbalance %.3f, integrity ok "
		       "(%.2f s)\n",
		       "index", (long long)w->ncentroids, (long long)w->unassigned, w->imbalance,
		       w->integrity_s);
		printf("%-9s %.1f MiB, %lld free pages (%.1f MiB)%s\n", "file",
		       (double)w->file_bytes / 1048576.0, (long long)w->free_pages,
		       (double)(w->free_pages * w->page_size) / 1048576.0,
		       o->vacuum       ? ", after VACUUM"
		       : w->free_pages ? "; --vacuum reclaims them"
		                       : "");
	}
	degenerate_warning(r, warn, sizeof warn);
	if (warn[0])
		printf("%-9s %s\n", "warning", warn);
	printf("%-9s %.2f s, peak RSS %.1f MiB\n", "total", tm_now() - r->t0,
	       (double)peak_rss_kib() / 1024.0);
}

/* Prints j on one line of stdout and frees it. */
static void json_print(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	if (s)
		puts(s);
	free(s);
	cJSON_Delete(j);
}

static void print_json(const opts *o, const run *r)
{
	const ivf_write_stats *w = &r->ws;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "ivftrain", IVFTRAIN_VERSION);
	cJSON_AddStringToObject(j, "sqlite", sqlite3_libversion());
	if (r->db) {
		vec0_json(j, &r->ext);
		cJSON_AddStringToObject(j, "database", o->db);
		cJSON_AddStringToObject(j, "table", r->t.name);
		cJSON_AddStringToObject(j, "column", r->t.column);
		cJSON_AddStringToObject(j, "syntax", ivf_syntax_name(r->ws.syntax));
	} else {
		cJSON_AddNullToObject(j, "database");
	}
	cJSON_AddStringToObject(j, "metric", metric_name(r));
	cJSON_AddNumberToObject(j, "d", (double)r->d);
	cJSON_AddNumberToObject(j, "rows", r->db ? (double)r->rows : (double)r->ds.n);
	cJSON_AddStringToObject(j, "source", r->source ? r->source : "");
	if (o->from)
		cJSON_AddStringToObject(j, "from", o->from);
	if (o->fill) {
		cJSON_AddStringToObject(j, "load", o->fill);
		cJSON_AddStringToObject(j, "load_source", src_kind_name(r->src.kind));
		cJSON_AddNumberToObject(j, "load_read_s", r->read_s);
	}
	cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
	cJSON *p = cJSON_AddObjectToObject(j, "params");
	cJSON_AddNumberToObject(p, "nlist", (double)r->nlist);
	build_params_json(p, &o->b, &r->sz, r->spherical);
	if (r->wrote)
		cJSON_AddStringToObject(j, "assigned", ivf_assign_name(w->assigned));
	if (r->wrote && w->fallback[0])
		cJSON_AddStringToObject(j, "bulk_fallback", w->fallback);
	cJSON_AddNumberToObject(j, "sample_s", r->sample_s);
	cJSON_AddNumberToObject(j, "train_s", r->train_s);
	if (!r->loaded) {
		cJSON *k = cJSON_AddObjectToObject(j, "kmeans");
		cJSON_AddNumberToObject(k, "iterations", r->km.niter);
		cJSON_AddNumberToObject(k, "inertia", r->km.inertia);
		cJSON_AddNumberToObject(k, "imbalance", r->km.imbalance);
		cJSON_AddNumberToObject(k, "init_s", r->km.init_s);
		cJSON *in = cJSON_AddArrayToObject(k, "inertia_per_iter");
		cJSON *ts = cJSON_AddArrayToObject(k, "iter_s");
		for (int i = 0; i < r->km.niter; i++) {
			cJSON_AddItemToArray(in, cJSON_CreateNumber(r->km.iters[i].inertia));
			cJSON_AddItemToArray(ts, cJSON_CreateNumber(r->km.iters[i].time_s));
		}
	}
	if (r->wrote) {
		cJSON_AddNumberToObject(j, "write_s", w->clear_s + w->set_s);
		cJSON_AddNumberToObject(j, "clear_s", w->clear_s);
		cJSON_AddNumberToObject(j, "set_s", w->set_s);
		cJSON_AddNumberToObject(j, "assign_s", w->assign_s);
		cJSON *m = cJSON_AddObjectToObject(j, "move");
		cJSON_AddNumberToObject(m, "read_s", w->read_s);
		cJSON_AddNumberToObject(m, "delete_s", w->delete_s);
		cJSON_AddNumberToObject(m, "insert_s", w->insert_s);
		cJSON_AddNumberToObject(m, "assign_vectors_s", w->drop_s);
		cJSON *b = cJSON_AddObjectToObject(j, "bulk");
		cJSON_AddNumberToObject(b, "plan_s", w->plan_s);
		cJSON_AddNumberToObject(b, "planned_rows", (double)w->planned_rows);
		cJSON_AddNumberToObject(b, "read_s", w->bulk_read_s);
		cJSON_AddNumberToObject(b, "nearest_s", w->bulk_nearest_s);
		cJSON_AddNumberToObject(b, "write_s", w->bulk_write_s);
		cJSON_AddNumberToObject(j, "check_s", w->check_s);
		cJSON_AddNumberToObject(j, "base_s", w->base_s);
		cJSON_AddNumberToObject(j, "verify_s", w->verify_s);
		cJSON_AddNumberToObject(j, "commit_s", w->commit_s);
		cJSON_AddNumberToObject(j, "lock_s", w->lock_s);
		cJSON_AddNumberToObject(j, "cache_kib", (double)w->cache_kib);
		cJSON_AddNumberToObject(j, "wait_s", w->wait_s);
		cJSON_AddNumberToObject(j, "integrity_s", w->integrity_s);
		cJSON_AddNumberToObject(j, "vacuum_s", w->vacuum_s);
		cJSON *x = cJSON_AddObjectToObject(j, "index");
		cJSON_AddNumberToObject(x, "centroids", (double)w->ncentroids);
		cJSON_AddNumberToObject(x, "unassigned", (double)w->unassigned);
		cJSON_AddNumberToObject(x, "rows_moved", (double)w->rows_moved);
		cJSON_AddNumberToObject(x, "imbalance", w->imbalance);
		cJSON_AddNumberToObject(x, "verify_checked", w->verify_checked);
		cJSON_AddNumberToObject(x, "verify_failed", w->verify_failed);
		cJSON_AddBoolToObject(x, "was_trained", w->was_trained);
		cJSON_AddNumberToObject(j, "file_bytes", (double)w->file_bytes);
		cJSON_AddNumberToObject(j, "free_pages", (double)w->free_pages);
		cJSON_AddNumberToObject(j, "page_size", (double)w->page_size);
	}
	char warn[512];
	degenerate_warning(r, warn, sizeof warn);
	cJSON *wa = cJSON_AddArrayToObject(j, "warnings");
	if (r->sz.warn[0])
		cJSON_AddItemToArray(wa, cJSON_CreateString(r->sz.warn));
	if (warn[0])
		cJSON_AddItemToArray(wa, cJSON_CreateString(warn));
	cJSON_AddNumberToObject(j, "total_s", tm_now() - r->t0);
	cJSON_AddNumberToObject(j, "peak_rss_kib", (double)peak_rss_kib());
	json_print(j);
}

/* --json anywhere on the command line (also before an option that failed to
 * parse, which stops parse_args before it sees --json). */
static int wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return 1;
	return 0;
}

/* With --json a failure is answered in JSON on stdout too, so a caller that
 * parses stdout never gets nothing; the one-line error still goes to stderr. */
static void print_json_error(int rc, const char *err)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "ivftrain", IVFTRAIN_VERSION);
	cJSON_AddStringToObject(j, "error", err && *err ? err : "unknown error");
	cJSON_AddNumberToObject(j, "exit_status", err_exit_status(rc));
	json_print(j);
}

int main(int argc, char **argv)
{
	opts o;
	run r;
	char err[ERR_LEN] = "";
	memset(&r, 0, sizeof r);
	r.t0 = tm_now();
	int rc = parse_args(argc, argv, &o, err);
	if (rc == 1)
		return 0;
	if (rc == 0) {
		intr_install();
		rc = run_all(&o, &r, err);
	}
	if (rc == 0 && !o.check && !o.export_faiss)
		(o.json ? print_json : print_text)(&o, &r);
	else if (rc < 0 && wants_json(argc, argv))
		print_json_error(rc, err);
	km_result_free(&r.km);
	h5_free(&r.ds);
	src_free(&r.src);
	free(r.xown);
	free(r.loaded);
	sqlite3_close(r.db);
	int status = err_report(PROG, rc, err);
	return rc < 0 && r.wrote ? EXIT_WRITTEN : status;
}

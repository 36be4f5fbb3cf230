/*
 * vecdata.c - the `vecdata` CLI: build, import, cut down, re-ground-truth and
 * check ann-benchmarks HDF5 datasets.
 *
 * A thin main over datasets/ (h5ds, idx, vecs, groundtruth): each subcommand
 * parses its options from a table that also prints its --help, checks the output
 * path before any long work, and leaves every file alone on failure (the
 * libraries write through a temporary file). Exit status: 0 ok, 1 failure or
 * failed check, 2 bad usage or input, 130 interrupted.
 */
#include <cblas.h>
#include <getopt.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dsio.h"
#include "err.h"
#include "filtergt.h"
#include "groundtruth.h"
#include "h5ds.h"
#include "idx.h"
#include "intr.h"
#include "progress.h"
#include "rng.h"
#include "synth.h"
#include "timing.h"
#include "vecs.h"

#define VD_PROG "vecdata"
#define VD_DEFAULT_K 100 /* ann-benchmarks' ground-truth depth */
#define VD_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define VD_MAX_ROWS ((long)INT32_MAX)
#define VD_HELP_COL 19 /* --help: where the options' help text starts */
/* tags: three selectivities a decade apart, big-ann-benchmarks' filtered range */
#define VD_DEFAULT_SEL_TEXT "0.1,0.01,0.001"
static const double vd_default_sel[] = {0.1, 0.01, 0.001};

/* Every option of every subcommand, parsed into one place. */
typedef struct vd_args {
	const char *pos[3]; /* positional arguments */
	int npos;
	const char *dir; /* fashion-mnist: IDX folder */
	gt_metric metric;
	int metric_set;   /* --metric given; else the file's, or euclidean */
	const char *gt;   /* import: ivecs file or "compute" */
	long k;           /* 0: default */
	long train, test; /* row counts; 0: all */
	int random;       /* subset: random train rows */
	long seed;
	int seed_set;             /* --seed was given */
	long spot;                /* info: spot-checked queries */
	int json;                 /* groundtruth: JSON summary on stdout */
	long dim, clusters;       /* synth: 0 = default */
	double spread;            /* synth: < 0 = default */
	const char *filter;       /* groundtruth: filtered ground truth for this filter */
	double sel[FGT_MAX_TAGS]; /* tags: selectivities */
	size_t nsel;              /* 0 = VD_DEFAULT_SEL */
} vd_args;

enum {
	OPT_DIR = 256,
	OPT_K,
	OPT_METRIC,
	OPT_GT,
	OPT_TRAIN,
	OPT_TEST,
	OPT_RANDOM,
	OPT_SEED,
	OPT_THREADS,
	OPT_SPOT,
	OPT_JSON,
	OPT_DIM,
	OPT_CLUSTERS,
	OPT_SPREAD,
	OPT_FILTER,
	OPT_SELECTIVITY,
	OPT_HELP
};

static const cli_opt vd_opts[] = {
    {"dir", OPT_DIR, "DIR", "folder of the IDX .gz files (default " VD_FMNIST_DIR ")"},
    {"metric", OPT_METRIC, "M", "euclidean | angular"},
    {"gt", OPT_GT, "FILE", "ground truth: an .ivecs file, or 'compute' (default)"},
    {"k", OPT_K, "K", "ground-truth depth (default 100, at most the train rows)"},
    {"train", OPT_TRAIN, "N", "train rows to keep (synth: to make)"},
    {"test", OPT_TEST, "Q", "test rows to keep, the first Q (synth: to make)"},
    {"dim", OPT_DIM, "D", "synth: dimension"},
    {"clusters", OPT_CLUSTERS, "C", "synth: mixture components"},
    {"spread", OPT_SPREAD, "X", "synth: noise norm over centre norm"},
    {"random", OPT_RANDOM, NULL, "subset: N train rows uniformly at random (default the first N)"},
    {"seed", OPT_SEED, "S", "subset --random, tags, synth: seed (default " CLI_STR(RNG_DEFAULT_SEED) ")"},
    {"spot", OPT_SPOT, "N", "info: queries to recompute by brute force (default 10)"},
    {"filter", OPT_FILTER, "NAME",
     "groundtruth: top-k among train rows whose train_NAME equals the query's test_NAME"},
    {"selectivity", OPT_SELECTIVITY, "S,..",
     "tags: fraction of train rows a tag (default " VD_DEFAULT_SEL_TEXT ")"},
    {"json", OPT_JSON, NULL, "print a JSON summary (timings) on stdout"},
    {"threads", OPT_THREADS, "T", "threads (default: all cores, or OMP_NUM_THREADS)"},
    {"help", OPT_HELP, NULL, "show this help"},
};
#define VD_NOPTS (sizeof vd_opts / sizeof *vd_opts)

typedef struct vd_cmd {
	const char *name;
	const char *args; /* positional arguments, for usage */
	int npos;
	const char *summary;
	int opts[12]; /* option ids this command takes, --help last, 0-terminated */
	int (*run)(const vd_args *a, char *err);
} vd_cmd;

/* ---- shared pieces of the subcommands --------------------------------------- */

/* k: given, else 100, capped at the train rows only when not given. */
static int vd_pick_k(const vd_args *a, const char *path, size_t n, size_t fallback, size_t *k,
                     char *err)
{
	if (!a->k) {
		*k = fallback < n ? fallback : n;
		return ERR_OK;
	}
	if ((size_t)a->k > n)
		return err_set(err, ERR_INPUT,
		               "%s: k = %ld is larger than the train set (%zu rows)", path, a->k,
		               n);
	*k = (size_t)a->k;
	return ERR_OK;
}

/* The output checks before any long work: writable (h5_check_output), and none
 * of the n inputs (NULL entries skipped) is the output file. */
static int vd_check_output(const char *out, const char *const *inputs, size_t n, char *err)
{
	int rc = h5_check_output(out, err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = dsio_check_not_input(out, inputs[i], err);
	return rc;
}

/* Allocates ds's ground truth arrays for k and computes them, showing a progress
 * bar; errors are prefixed with path. */
static int vd_groundtruth(h5_dataset *ds, const char *path, gt_metric m, size_t k, gt_stats *st,
                          char *err)
{
	char why[ERR_LEN];
	prog_t bar = PROG_INIT;
	free(ds->neighbors);
	free(ds->distances);
	ds->kgt = k;
	ds->neighbors = malloc(ds->nq * k * sizeof *ds->neighbors);
	ds->distances = malloc(ds->nq * k * sizeof *ds->distances);
	if (!ds->neighbors || !ds->distances)
		return err_set(err, ERR_NOMEM, "out of memory for %zu x %zu neighbors", ds->nq, k);
	snprintf(ds->distance, sizeof ds->distance, "%s", gt_metric_name(m));
	int rc = gt_compute(ds->train, ds->n, ds->test, ds->nq, ds->d, k, m, ds->neighbors,
	                    ds->distances, st, &bar, why);
	return rc ? err_set(err, rc, "%s: %s", path, why) : ERR_OK;
}

static void vd_summary(const char *path, const h5_dataset *ds, const gt_stats *st)
{
	printf("%s: %zu train, %zu test, %zu-d, %s, top-%zu ground truth%s", path, ds->n, ds->nq,
	       ds->d, ds->distance, ds->kgt, ds->train_labels ? ", labels" : "");
	if (st)
		printf(" (kNN %.2f s, %d threads)", st->total_s, omp_get_max_threads());
	printf("\n");
}

/* Shrinks an allocation to its first bytes (keeping it if realloc fails). */
static void *vd_shrink(void *x, size_t bytes)
{
	void *p = realloc(x, bytes);
	return p ? p : x;
}

/* A new file's end: exact top-k (--k, else 100) ground truth for ds, written to out, summed
 * up. src names the input in a bad-k message. */
static int vd_write_with_gt(const vd_args *a, h5_dataset *ds, const char *src, const char *out,
                            gt_metric m, char *err)
{
	size_t k = 0;
	gt_stats st;
	int rc = vd_pick_k(a, src, ds->n, VD_DEFAULT_K, &k, err);
	if (!rc)
		rc = vd_groundtruth(ds, out, m, k, &st, err);
	if (!rc)
		rc = h5_write(out, ds, err);
	if (!rc)
		vd_summary(out, ds, &st);
	return rc;
}

/* ---- subcommands -------------------------------------------------------------- */

/* Reads one IDX image file and its label file; their counts must agree. */
static int vd_read_split(const char *dir, const char *split, size_t keep, float **x, size_t *n,
                         size_t *d, int32_t **y, char *err)
{
	char ip[4096], lp[4096];
	size_t nl;
	snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, split);
	snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, split);
	int rc = idx_read_images(ip, x, n, d, err);
	if (rc)
		return rc;
	if ((rc = idx_read_labels(lp, y, &nl, err)))
		return rc;
	if (nl != *n)
		return err_set(err, ERR_INPUT, "%s: %zu labels for the %zu images of %s", lp, nl,
		               *n, ip);
	if (keep > *n)
		return err_set(err, ERR_INPUT, "%s: %zu rows asked, the file has %zu", ip, keep,
		               *n);
	if (keep) {
		*x = vd_shrink(*x, keep * *d * sizeof **x);
		*y = vd_shrink(*y, keep * sizeof **y);
		*n = keep;
	}
	return ERR_OK;
}

static int vd_fashion_mnist(const vd_args *a, char *err)
{
	const char *out = a->pos[0], *dir = a->dir ? a->dir : VD_FMNIST_DIR;
	h5_dataset ds = {0};
	size_t dq;
	int rc = h5_check_output(out, err);
	if (!rc)
		rc = vd_read_split(dir, "train", (size_t)a->train, &ds.train, &ds.n, &ds.d,
		                   &ds.train_labels, err);
	if (!rc)
		rc = vd_read_split(dir, "t10k", (size_t)a->test, &ds.test, &ds.nq, &dq,
		                   &ds.test_labels, err);
	if (!rc && dq != ds.d)
		rc = err_set(err, ERR_INPUT, "%s: test images have %zu pixels, train images %zu",
		             dir, dq, ds.d);
	if (!rc)
		rc = vd_write_with_gt(a, &ds, dir, out, GT_EUCLIDEAN, err);
	h5_free(&ds);
	return rc;
}

static void vd_json(const h5_dataset *ds, const gt_stats *st, double read_s, double write_s)
{
	printf("{\"n\": %zu, \"nq\": %zu, \"d\": %zu, \"k\": %zu, "
	       "\"metric\": \"%s\", \"threads\": %d, \"read_s\": %.4f, \"prep_s\": %.4f, "
	       "\"knn_gemm_s\": %.4f, \"exact_s\": %.4f, \"knn_s\": %.4f, \"write_s\": %.4f, "
	       "\"candidates\": %zu, \"redone\": %zu, \"hdf5\": \"%s\", \"blas\": \"%s\"}\n",
	       ds->n, ds->nq, ds->d, ds->kgt, ds->distance, omp_get_max_threads(), read_s,
	       st->prep_s, st->knn_s, st->exact_s, st->total_s, write_s, st->candidates, st->redone,
	       h5_version(), openblas_get_config());
}

/* groundtruth --filter NAME: the filtered ground truth beside the unfiltered one. */
static int vd_filtered_groundtruth(const vd_args *a, h5_dataset *ds, gt_metric m, size_t k,
                                   char *err)
{
	const char *path = a->pos[0];
	fgt_data f;
	size_t nshort = 0;
	prog_t bar = PROG_INIT;
	char why[ERR_LEN];
	int rc = fgt_read(path, a->filter, ds->n, ds->nq, &f, err);
	if (rc)
		return rc;
	int32_t *nb = malloc(ds->nq * k * sizeof *nb);
	float *dist = malloc(ds->nq * k * sizeof *dist);
	double t0 = tm_now();
	if (!nb || !dist)
		rc = err_set(err, ERR_NOMEM, "out of memory for %zu x %zu neighbors", ds->nq, k);
	else if ((rc = fgt_compute(ds->train, ds->n, ds->test, ds->nq, ds->d, k, m, f.labels,
	                           f.qfilter, nb, dist, &nshort, &bar, why)))
		err_set(err, rc, "%s: %s", path, why);
	double s = tm_now() - t0;
	if (!rc)
		rc = fgt_write(path, a->filter, nb, dist, ds->nq, k, err);
	if (!rc)
		printf("%s: filtered top-%zu ground truth for filter %s (train_%s = test_%s): "
		       "%zu of %zu queries match fewer than %zu rows (padded with id -1) (kNN %.2f "
		       "s, %d threads)\n",
		       path, k, a->filter, a->filter, a->filter, nshort, ds->nq, k, s,
		       omp_get_max_threads());
	free(nb);
	free(dist);
	fgt_free(&f);
	return rc;
}

static int vd_cmd_groundtruth(const vd_args *a, char *err)
{
	const char *path = a->pos[0];
	h5_dataset ds;
	gt_metric m;
	gt_stats st;
	size_t k = 0;
	double t0 = tm_now();
	/* the old ground truth is replaced, so bad ids in it must not stop us */
	int rc = h5_read(path, H5_LAX_GT, &ds, err);
	if (rc)
		return rc;
	double read_s = tm_now() - t0;
	m = a->metric;
	if (!a->metric_set)
		rc = gt_metric_parse(ds.distance, &m, err);
	if (!rc)
		rc = h5_check_output(path, err);
	if (!rc)
		rc = vd_pick_k(a, path, ds.n, VD_DEFAULT_K, &k, err);
	if (!rc && a->filter) {
		rc = vd_filtered_groundtruth(a, &ds, m, k, err);
		h5_free(&ds);
		return rc;
	}
	if (!rc)
		rc = vd_groundtruth(&ds, path, m, k, &st, err);
	double t1 = tm_now();
	if (!rc)
		rc = h5_write_groundtruth(path, &ds, err);
	if (!rc && a->json)
		vd_json(&ds, &st, read_s, tm_now() - t1);
	else if (!rc)
		vd_summary(path, &ds, &st);
	h5_free(&ds);
	return rc;
}

/* import --gt FILE: ids from ivecs (the first k columns), distances recomputed. */
static int vd_import_gt(const vd_args *a, h5_dataset *ds, gt_metric m, char *err)
{
	int32_t *ids;
	size_t rows, cols, k = 0;
	char why[ERR_LEN];
	int rc = vecs_read_int(a->gt, &ids, &rows, &cols, err);
	if (rc)
		return rc;
	if (rows != ds->nq)
		rc = err_set(err, ERR_INPUT, "%s: %zu rows for %zu queries", a->gt, rows, ds->nq);
	else if (a->k && (size_t)a->k > cols)
		rc = err_set(err, ERR_INPUT, "%s: k = %ld but the file holds %zu neighbors a query",
		             a->gt, a->k, cols);
	if (!rc)
		rc = vd_pick_k(a, a->gt, ds->n, cols < VD_DEFAULT_K ? cols : VD_DEFAULT_K, &k, err);
	if (!rc) {
		ds->kgt = k;
		ds->neighbors = malloc(rows * k * sizeof *ds->neighbors);
		ds->distances = malloc(rows * k * sizeof *ds->distances);
		if (!ds->neighbors || !ds->distances)
			rc = err_set(err, ERR_NOMEM, "out of memory for %zu x %zu neighbors", rows,
			             k);
	}
	for (size_t i = 0; !rc && i < rows; i++)
		memcpy(ds->neighbors + i * k, ids + i * cols, k * sizeof *ids);
	if (!rc && (rc = gt_distances_of(ds->train, ds->n, ds->test, ds->nq, ds->d, m,
	                                 ds->neighbors, k, ds->distances, why)))
		err_set(err, rc, "%s: %s", a->gt, why);
	snprintf(ds->distance, sizeof ds->distance, "%s", gt_metric_name(m));
	free(ids);
	return rc;
}

static int vd_import(const vd_args *a, char *err)
{
	const char *base = a->pos[0], *query = a->pos[1], *out = a->pos[2];
	h5_dataset ds = {0};
	gt_metric m = a->metric_set ? a->metric : GT_EUCLIDEAN;
	gt_stats st, *stp = NULL;
	size_t dq, k = 0;
	int rc = vd_check_output(out, (const char *[]){base, query, a->gt}, 3, err);
	if (!rc)
		rc = vecs_read_float(base, &ds.train, &ds.n, &ds.d, err);
	if (!rc && ds.n > VD_MAX_ROWS)
		rc = err_set(err, ERR_INPUT, "%s: %zu rows do not fit int32 neighbor ids", base,
		             ds.n);
	if (!rc)
		rc = vecs_read_float(query, &ds.test, &ds.nq, &dq, err);
	if (!rc && dq != ds.d)
		rc =
		    err_set(err, ERR_INPUT, "%s: dimension %zu, %s has %zu", query, dq, base, ds.d);
	if (!rc && a->gt && strcmp(a->gt, "compute")) {
		rc = vd_import_gt(a, &ds, m, err);
	} else if (!rc) {
		rc = vd_pick_k(a, base, ds.n, VD_DEFAULT_K, &k, err);
		if (!rc)
			rc = vd_groundtruth(&ds, out, m, k, &st, err);
		stp = &st;
	}
	if (!rc)
		rc = h5_write(out, &ds, err);
	if (!rc)
		vd_summary(out, &ds, stp);
	h5_free(&ds);
	return rc;
}

/* Copies the rows listed in rows[0..m) of a row-major matrix (row_bytes each). */
static void *vd_gather(const void *x, size_t row_bytes, const uint64_t *rows, size_t m)
{
	char *out = malloc(m * row_bytes);
	for (size_t i = 0; out && i < m; i++)
		memcpy(out + i * row_bytes, (const char *)x + rows[i] * row_bytes, row_bytes);
	return out;
}

static int vd_subset(const vd_args *a, char *err)
{
	const char *in = a->pos[0], *out = a->pos[1];
	h5_dataset src, dst = {0};
	gt_stats st;
	size_t k = 0, ntr = (size_t)a->train, nte = (size_t)a->test;
	uint64_t *rows = NULL;
	int rc = vd_check_output(out, &in, 1, err);
	if (rc)
		return rc;
	if ((rc = h5_read(in, H5_LAX_GT, &src, err)))
		return rc;
	if (ntr > src.n || nte > src.nq) {
		rc = err_set(err, ERR_INPUT,
		             "%s: %zu train / %zu test rows asked, the file has %zu / %zu", in, ntr,
		             nte, src.n, src.nq);
		goto out;
	}
	rows = malloc((ntr > nte ? ntr : nte) * sizeof *rows);
	if (!rows) {
		rc = err_set(err, ERR_NOMEM, "out of memory for %zu row ids", ntr);
		goto out;
	}
	if (a->random) {
		rng_t r;
		rng_seed(&r, (uint64_t)a->seed);
		rng_sample(&r, src.n, ntr, rows);
	} else {
		for (size_t i = 0; i < ntr; i++)
			rows[i] = i;
	}
	dst = (h5_dataset){.d = src.d, .n = ntr, .nq = nte};
	memcpy(dst.distance, src.distance, sizeof dst.distance);
	dst.train = vd_gather(src.train, src.d * sizeof(float), rows, ntr);
	if (src.train_labels)
		dst.train_labels = vd_gather(src.train_labels, sizeof(int32_t), rows, ntr);
	for (size_t i = 0; i < nte; i++)
		rows[i] = i;
	dst.test = vd_gather(src.test, src.d * sizeof(float), rows, nte);
	if (src.test_labels)
		dst.test_labels = vd_gather(src.test_labels, sizeof(int32_t), rows, nte);
	if (!dst.train || !dst.test || (src.train_labels && !dst.train_labels) ||
	    (src.test_labels && !dst.test_labels)) {
		rc = err_set(err, ERR_NOMEM, "out of memory for the subset");
		goto out;
	}
	gt_metric m;
	rc = gt_metric_parse(src.distance, &m, err);
	if (!rc)
		rc = vd_pick_k(a, in, ntr, src.kgt ? src.kgt : VD_DEFAULT_K, &k, err);
	if (!rc)
		rc = vd_groundtruth(&dst, out, m, k, &st, err);
	if (!rc)
		rc = h5_write(out, &dst, err);
	if (!rc)
		vd_summary(out, &dst, &st);
out:
	free(rows);
	h5_free(&src);
	h5_free(&dst);
	return rc;
}

/* vecdata info: the filtered ground truth, when the file has one, by
 * fgt_check. */
static int vd_info_filtered(const char *path, const h5_dataset *ds, gt_metric m, size_t spot,
                            char *err)
{
	fgt_data f;
	gt_report rep;
	int rc = fgt_read(path, NULL, ds->n, ds->nq, &f, err);
	if (rc || !f.k) {
		if (!rc)
			printf("filtered gt none\n");
		return rc;
	}
	size_t *cnt = malloc(ds->nq * sizeof *cnt), nshort = 0;
	if (!cnt) {
		fgt_free(&f);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	fgt_matches(f.labels, f.n, f.qfilter, f.nq, cnt);
	for (size_t q = 0; q < f.nq; q++)
		nshort += cnt[q] < f.k;
	free(cnt);
	printf("filtered gt top-%zu, filter %s (%zu of %zu queries match fewer than %zu rows)\n",
	       f.k, f.name, nshort, f.nq, f.k);
	rc = fgt_check(ds->train, ds->n, ds->test, ds->nq, ds->d, m, f.labels, f.qfilter,
	               f.neighbors, f.distances, f.k, spot, &rep, err);
	if (!rc) {
		printf(
		    "check fids  %s (%zu of %zu rows with a wrong id, label, count or padding)\n",
		    rep.bad_ids ? "FAIL" : "ok", rep.bad_ids, ds->nq);
		printf("check forder %s (%zu of %zu rows with distances not ascending)\n",
		       rep.not_ascending ? "FAIL" : "ok", rep.not_ascending, ds->nq);
		printf("check fexact %s (%zu of %zu spot-checked queries agree with brute force)\n",
		       rep.spot_agree < rep.spot_checked ? "FAIL" : "ok", rep.spot_agree,
		       rep.spot_checked);
		char why[ERR_LEN];
		if ((rc = gt_report_verdict(&rep, ds->nq, why)))
			err_set(err, rc, "%s: filtered: %s", path, why);
	}
	fgt_free(&f);
	return rc;
}

/* tags: a synthetic tag column (filtergt.h) of chosen selectivities. */
static int vd_tags(const vd_args *a, char *err)
{
	const char *path = a->pos[0];
	h5_dataset ds;
	const double *sel = a->nsel ? a->sel : vd_default_sel;
	size_t nsel = a->nsel ? a->nsel : sizeof vd_default_sel / sizeof *vd_default_sel;
	int rc = h5_read(path, H5_LAX_GT | H5_NO_TRAIN, &ds, err);
	if (rc)
		return rc;
	int32_t *tr = malloc(ds.n * sizeof *tr), *te = malloc(ds.nq * sizeof *te);
	char why[ERR_LEN];
	if (!tr || !te)
		rc = err_set(err, ERR_NOMEM, "out of memory for %zu tags", ds.n);
	else if ((rc = fgt_tags(ds.n, ds.nq, sel, nsel, (uint64_t)a->seed, tr, te, why)))
		err_set(err, rc, "%s: --selectivity: %s", path, why);
	if (!rc)
		rc = h5_check_output(path, err);
	h5_array arr[2] = {{"train_tags", 0, tr, ds.n, 0, NULL, NULL},
	                   {"test_tags", 0, te, ds.nq, 0, NULL, NULL}};
	if (!rc)
		rc = h5_put_arrays(path, arr, 2, err);
	if (!rc) {
		printf("%s: train_tags / test_tags, %zu tags:", path, nsel);
		for (size_t t = 0; t < nsel; t++)
			printf(" %zu = %g", t + 1, sel[t]);
		printf(" (seed %ld); queries cycle through them\n", a->seed);
	}
	free(tr);
	free(te);
	h5_free(&ds);
	return rc;
}

static int vd_info(const vd_args *a, char *err)
{
	const char *path = a->pos[0];
	h5_dataset ds;
	gt_metric m;
	gt_report rep;
	int rc = h5_read(path, H5_LAX_GT, &ds, err);
	if (rc)
		return rc;
	printf("file        %s\n", path);
	printf("metric      %s\n", ds.distance);
	printf("dimension   %zu\n", ds.d);
	printf("train       %zu x %zu\n", ds.n, ds.d);
	printf("test        %zu x %zu\n", ds.nq, ds.d);
	printf("labels      %s\n", ds.train_labels && ds.test_labels ? "train, test"
	                           : ds.train_labels                 ? "train"
	                           : ds.test_labels                  ? "test"
	                                                             : "none");
	if (!ds.kgt) {
		printf("ground truth none\n");
		h5_free(&ds);
		return ERR_OK;
	}
	printf("ground truth top-%zu\n", ds.kgt);
	size_t spot = a->spot ? (size_t)a->spot : GT_DEFAULT_SPOT;
	rc = gt_metric_parse(ds.distance, &m, err);
	if (!rc)
		rc = gt_check(ds.train, ds.n, ds.test, ds.nq, ds.d, m, ds.neighbors, ds.distances,
		              ds.kgt, spot, &rep, err);
	if (!rc) {
		printf("check ids   %s (%zu of %zu rows with an id out of range or repeated)\n",
		       rep.bad_ids ? "FAIL" : "ok", rep.bad_ids, ds.nq);
		printf("check order %s (%zu of %zu rows with distances not ascending)\n",
		       rep.not_ascending ? "FAIL" : "ok", rep.not_ascending, ds.nq);
		printf("check exact %s (%zu of %zu spot-checked queries agree with brute force)\n",
		       rep.spot_agree < rep.spot_checked ? "FAIL" : "ok", rep.spot_agree,
		       rep.spot_checked);
		char why[ERR_LEN];
		if ((rc = gt_report_verdict(&rep, ds.nq, why)))
			err_set(err, rc, "%s: %s", path, why);
	}
	if (!rc)
		rc = vd_info_filtered(path, &ds, m, spot, err);
	h5_free(&ds);
	return rc;
}

/* synth: the seeded mixture of synth.h, with exact ground truth. */
static int vd_synth(const vd_args *a, char *err)
{
	const char *out = a->pos[0];
	synth_params p;
	h5_dataset ds = {0};
	synth_defaults(&p);
	if (a->train)
		p.n = (size_t)a->train;
	if (a->test)
		p.nq = (size_t)a->test;
	if (a->dim)
		p.d = (size_t)a->dim;
	if (a->clusters)
		p.clusters = (size_t)a->clusters;
	if (a->spread >= 0)
		p.spread = a->spread;
	if (a->metric_set)
		p.metric = a->metric;
	if (a->seed_set)
		p.seed = (uint64_t)a->seed;
	int rc = h5_check_output(out, err);
	if (!rc)
		rc = synth_make(&p, &ds, err);
	if (!rc)
		rc = vd_write_with_gt(a, &ds, out, out, p.metric, err);
	h5_free(&ds);
	return rc;
}

static const vd_cmd vd_cmds[] = {
    {"fashion-mnist",
     "OUT.hdf5",
     1,
     "Fashion-MNIST from Debian's IDX files: 60,000 train, 10,000 test, 784-d, euclidean,\n"
     "top-100 ground truth, train_labels/test_labels",
     {OPT_DIR, OPT_K, OPT_TRAIN, OPT_TEST, OPT_THREADS, OPT_HELP},
     vd_fashion_mnist},
    {"groundtruth",
     "IN.hdf5",
     1,
     "recompute exact neighbors/distances in place (atomically); --metric defaults to the\n"
     "file's `distance` attribute and also updates it. --filter NAME writes instead\n"
     "filtered_neighbors/filtered_distances: per query the top-k among train rows with\n"
     "train_NAME = its test_NAME; fewer matches than k pad with id -1, distance +inf",
     {OPT_METRIC, OPT_K, OPT_FILTER, OPT_JSON, OPT_THREADS, OPT_HELP},
     vd_cmd_groundtruth},
    {"tags",
     "IN.hdf5",
     1,
     "add a synthetic filter column in place (atomically): train_tags gives tag t to exactly\n"
     "round(S_t x n) random train rows (disjoint; the rest 0), test_tags gives query q tag\n"
     "1 + q mod T; then `groundtruth --filter tags`",
     {OPT_SELECTIVITY, OPT_SEED, OPT_HELP},
     vd_tags},
    {"import",
     "BASE.{fvecs,bvecs} QUERY.{fvecs,bvecs} OUT.hdf5",
     3,
     "TEXMEX vectors (optionally .gz) to HDF5; ground truth computed, or from --gt ivecs",
     {OPT_METRIC, OPT_GT, OPT_K, OPT_THREADS, OPT_HELP},
     vd_import},
    {"subset",
     "IN.hdf5 OUT.hdf5",
     2,
     "the first (or --random) N train rows and first Q test rows, labels carried along,\n"
     "ground truth recomputed",
     {OPT_TRAIN, OPT_TEST, OPT_RANDOM, OPT_SEED, OPT_K, OPT_THREADS, OPT_HELP},
     vd_subset},
    {"info",
     "FILE.hdf5",
     1,
     "shapes, metric, k; checks ids in range, distances ascending and a brute-force spot\n"
     "check of the ground truth (exit 1 if a check fails)",
     {OPT_SPOT, OPT_THREADS, OPT_HELP},
     vd_info},
    {"synth",
     "OUT.hdf5",
     1,
     "seeded clustered data (synth.h): --clusters centres on the unit sphere plus Gaussian\n"
     "noise, angular rows normalised; labels are the cluster ids; exact ground truth.\n"
     "Defaults: 1,000,000 train, 1,000 test, 384-d, 4096 clusters, spread 1.0, angular,\n"
     "seed " CLI_STR(RNG_DEFAULT_SEED) " (the scale benchmark's data)",
     {OPT_TRAIN, OPT_TEST, OPT_DIM, OPT_CLUSTERS, OPT_SPREAD, OPT_METRIC, OPT_SEED, OPT_K,
      OPT_THREADS, OPT_HELP},
     vd_synth},
};
#define VD_NCMDS (sizeof vd_cmds / sizeof *vd_cmds)

/* ---- option parsing ------------------------------------------------------------ */

static void vd_help(FILE *to)
{
	fprintf(to, "usage: " VD_PROG " COMMAND ARGS [options]   (" VD_PROG " COMMAND --help)\n\n");
	for (size_t c = 0; c < VD_NCMDS; c++)
		fprintf(to, "  %s %s\n", vd_cmds[c].name, vd_cmds[c].args);
}

static void vd_cmd_help(const vd_cmd *c)
{
	printf("usage: " VD_PROG " %s %s [options]\n\n%s\n\noptions:\n", c->name, c->args,
	       c->summary);
	cli_help(stdout, vd_opts, VD_NOPTS, c->opts, VD_HELP_COL);
}

/* A whole number in [lo, hi] for option name, in vecdata's own wording of the
 * message (its CLI tests pin "--k 12x: expected a whole number"). */
static int vd_number(const char *name, const char *s, long lo, long hi, long *out, char *err)
{
	if (cli_parse_long(name, s, lo, hi, out, NULL))
		return err_set(err, ERR_INPUT, "--%s %s: expected a whole number in [%ld, %ld]",
		               name, s, lo, hi);
	return ERR_OK;
}

/* --selectivity S,S,..: each in (0, 1]. */
static int vd_selectivities(const char *v, vd_args *a, char *err)
{
	char buf[256], *rest = buf, *tok;
	snprintf(buf, sizeof buf, "%s", v);
	a->nsel = 0;
	while ((tok = strsep(&rest, ","))) {
		if (a->nsel == FGT_MAX_TAGS)
			return err_set(err, ERR_INPUT, "--selectivity %s: at most %d values", v,
			               FGT_MAX_TAGS);
		if (cli_parse_double("selectivity", tok, 1e-9, 1, &a->sel[a->nsel], NULL))
			return err_set(err, ERR_INPUT,
			               "--selectivity %s: '%s' is not a fraction in (0, 1]", v,
			               tok);
		a->nsel++;
	}
	return ERR_OK;
}

static int vd_set(vd_args *a, int id, const char *v, char *err)
{
	const char *name = cli_find(vd_opts, VD_NOPTS, id)->name;
	long t;
	int rc = ERR_OK;
	switch (id) {
	case OPT_DIR:
		a->dir = v;
		break;
	case OPT_METRIC:
		if (gt_metric_parse(v, &a->metric, NULL))
			rc = err_set(err, ERR_INPUT, "--metric %s: expected euclidean or angular",
			             v);
		a->metric_set = 1;
		break;
	case OPT_GT:
		a->gt = v;
		break;
	case OPT_K:
		rc = vd_number(name, v, 1, VD_MAX_ROWS, &a->k, err);
		break;
	case OPT_TRAIN:
		rc = vd_number(name, v, 1, VD_MAX_ROWS, &a->train, err);
		break;
	case OPT_TEST:
		rc = vd_number(name, v, 1, VD_MAX_ROWS, &a->test, err);
		break;
	case OPT_RANDOM:
		a->random = 1;
		break;
	case OPT_SEED:
		rc = vd_number(name, v, 0, LONG_MAX, &a->seed, err);
		a->seed_set = 1;
		break;
	case OPT_SPOT:
		rc = vd_number(name, v, 1, 1000000, &a->spot, err);
		break;
	case OPT_JSON:
		a->json = 1;
		break;
	case OPT_FILTER:
		if (!fgt_valid_name(v))
			rc = err_set(err, ERR_INPUT, "--filter %s: use letters, digits, '_', '-'",
			             v);
		a->filter = v;
		break;
	case OPT_SELECTIVITY:
		rc = vd_selectivities(v, a, err);
		break;
	case OPT_DIM:
		rc = vd_number(name, v, 1, 65536, &a->dim, err);
		break;
	case OPT_CLUSTERS:
		rc = vd_number(name, v, 1, VD_MAX_ROWS, &a->clusters, err);
		break;
	case OPT_SPREAD:
		if (cli_parse_double(name, v, 0, 1e6, &a->spread, NULL))
			rc = err_set(err, ERR_INPUT, "--spread %s: expected a number in [0, 1e6]",
			             v);
		break;
	case OPT_THREADS:
		if (!(rc = vd_number(name, v, 1, 1024, &t, err)))
			omp_set_num_threads((int)t);
		break;
	}
	return rc;
}

/* Parses argv (from the subcommand's name on) into a; 1 when --help was shown. */
static int vd_parse(const vd_cmd *c, int argc, char **argv, vd_args *a, char *err)
{
	struct option lo[VD_NOPTS + 1];
	cli_longopts(vd_opts, VD_NOPTS, c->opts, lo);
	opterr = 0;
	int id;
	while ((id = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (id == OPT_HELP) {
			vd_cmd_help(c);
			return 1;
		}
		if (id == '?' || id == ':')
			return err_set(err, ERR_INPUT,
			               "%s: unknown option or missing value: %s (see " VD_PROG
			               " %s --help)",
			               c->name, argv[optind - 1], c->name);
		int rc = vd_set(a, id, optarg, err);
		if (rc)
			return rc;
	}
	for (; optind < argc; optind++) {
		if (a->npos == c->npos)
			return err_set(err, ERR_INPUT,
			               "%s: unexpected argument '%s' (see " VD_PROG " %s --help)",
			               c->name, argv[optind], c->name);
		a->pos[a->npos++] = argv[optind];
	}
	if (a->npos < c->npos)
		return err_set(err, ERR_INPUT, "%s: expected %s (see " VD_PROG " %s --help)",
		               c->name, c->args, c->name);
	return ERR_OK;
}

/* Option combinations a table cannot express. */
static int vd_validate(const vd_cmd *c, const vd_args *a, char *err)
{
	if (c->run == vd_subset && (!a->train || !a->test))
		return err_set(err, ERR_INPUT, "subset: --train N and --test Q are required");
	if (c->run == vd_subset && a->seed_set && !a->random)
		return err_set(err, ERR_INPUT, "subset: --seed goes with --random");
	return ERR_OK;
}

int main(int argc, char **argv)
{
	char err[ERR_LEN] = "";
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		vd_help(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const vd_cmd *c = NULL;
	for (size_t i = 0; i < VD_NCMDS; i++)
		if (!strcmp(argv[1], vd_cmds[i].name))
			c = &vd_cmds[i];
	if (!c)
		return err_report(VD_PROG,
		                  err_set(err, ERR_INPUT,
		                          "unknown command '%s' (see " VD_PROG " --help)", argv[1]),
		                  err);
	vd_args a = {.seed = RNG_DEFAULT_SEED, .spread = -1};
	int rc = vd_parse(c, argc - 1, argv + 1, &a, err);
	if (rc == 1)
		return 0;
	if (!rc)
		rc = vd_validate(c, &a, err);
	if (!rc) {
		intr_install();
		rc = c->run(&a, err);
	}
	return err_report(VD_PROG, rc, err);
}

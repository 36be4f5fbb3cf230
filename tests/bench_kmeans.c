/*
 * bench_kmeans.c - benchmark driver for the k-means library, run by
 * scripts/bench-kmeans (not a unit test: the test runner only runs test_*).
 *
 * Loads a matrix (Fashion-MNIST IDX images or an fvecs file), trains with
 * km_train, optionally times one n x d x k sgemm (the floor of one assignment
 * step) and writes a JSON summary to stdout: timings, per-iteration stats, final
 * inertia and imbalance, peak RSS while loading and while training (the peak
 * is reset in between, and read before the floor's big output matrix exists)
 * and the BLAS in use. Centroids can be saved as fvecs so that the
 * script scores every method's centroids the same way.
 */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "err.h"
#include "idx.h"
#include "kmeans.h"
#include "timing.h"
#include "vecs.h"

char *openblas_get_config(void);

static const char usage[] =
    "usage: bench_kmeans --data FILE [--k K] [--niter N] [--threads T] [--seed S]\n"
    "                    [--init kmeans++|random] [--tol X] [--spherical]\n"
    "                    [--save-centroids FILE.fvecs] [--sgemm-reps R]\n"
    "  FILE: *.fvecs[.gz] or an IDX image file (*-idx3-ubyte[.gz])\n";

/* Parses a whole decimal number in [lo, hi] or fails the run. */
static long num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr,
		        "bench_kmeans: error: --%s wants an integer in [%ld, %ld], got '%s'\n", opt,
		        lo, hi, s);
		exit(2);
	}
	return v;
}

static int load(const char *path, float **x, size_t *n, size_t *d, char *err)
{
	vecs_kind kind;
	if (vecs_kind_of(path, &kind, err) == 0)
		return vecs_read_float(path, x, n, d, err);
	return idx_read_images(path, x, n, d, err);
}

static int save_fvecs(const char *path, const float *c, size_t k, size_t d)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int32_t dim = (int32_t)d;
	size_t j = 0;
	while (j < k && fwrite(&dim, sizeof dim, 1, f) == 1 &&
	       fwrite(c + j * d, sizeof *c, d, f) == d)
		j++;
	return (fclose(f) == 0 && j == k) ? 0 : -1;
}

/* A "VmHWM:" / "VmRSS:" figure of /proc/self/status in KiB, or -1. */
static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t len = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, len))
			v = strtol(line + len, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* Resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0), so the peak read
 * after training is training's, not the loader's transient copy. */
static int reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return -1;
	int ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Best of reps runs of one n x d x k sgemm with the library's threading. */
static double sgemm_floor(const float *x, size_t n, size_t d, const float *c, size_t k, int reps)
{
	float *out = malloc(n * k * sizeof *out);
	if (!out)
		return -1;
	double best = -1;
	for (int r = 0; r < reps; r++) {
		double t0 = tm_now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)d, -2.0f,
		            x, (int)d, c, (int)d, 0.0f, out, (int)k);
		double t = tm_now() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	free(out);
	return best;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, 0, 'D'},
	                                     {"k", required_argument, 0, 'k'},
	                                     {"niter", required_argument, 0, 'n'},
	                                     {"threads", required_argument, 0, 't'},
	                                     {"seed", required_argument, 0, 's'},
	                                     {"init", required_argument, 0, 'i'},
	                                     {"tol", required_argument, 0, 'T'},
	                                     {"spherical", no_argument, 0, 'S'},
	                                     {"save-centroids", required_argument, 0, 'o'},
	                                     {"sgemm-reps", required_argument, 0, 'r'},
	                                     {"help", no_argument, 0, 'h'},
	                                     {0, 0, 0, 0}};
	km_params p;
	km_defaults(&p);
	const char *data = NULL, *save = NULL;
	int reps = 0, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			data = optarg;
			break;
		case 'k':
			p.k = (size_t)num("k", optarg, 1, 1 << 20);
			break;
		case 'n':
			p.niter = (int)num("niter", optarg, 0, 100000);
			break;
		case 't':
			p.nthreads = (int)num("threads", optarg, 0, 1024);
			break;
		case 's':
			p.seed = (uint64_t)num("seed", optarg, 0, LONG_MAX);
			break;
		case 'r':
			reps = (int)num("sgemm-reps", optarg, 0, 100);
			break;
		case 'S':
			p.spherical = 1;
			break;
		case 'o':
			save = optarg;
			break;
		case 'i':
			if (!strcmp(optarg, "kmeans++"))
				p.init = KM_INIT_KMEANSPP;
			else if (!strcmp(optarg, "random"))
				p.init = KM_INIT_RANDOM;
			else
				return fprintf(stderr,
				               "bench_kmeans: error: --init kmeans++|random\n"),
				       2;
			break;
		case 'T': {
			char *end;
			p.tol = strtod(optarg, &end);
			if (end == optarg || *end || !(p.tol >= 0))
				return fprintf(stderr, "bench_kmeans: error: --tol wants x >= 0\n"),
				       2;
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!data || optind != argc)
		return fputs(usage, stderr), 2;

	char err[ERR_LEN];
	float *x;
	size_t n, d;
	double t0 = tm_now();
	int rc = load(data, &x, &n, &d, err);
	if (rc)
		return err_report("bench_kmeans", rc, err);
	double load_s = tm_now() - t0;

	km_result res;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru); /* the loader's peak, before the reset */
	long rss0 = reset_peak_rss() ? -1 : status_kib("VmRSS:");
	rc = km_train(x, n, d, &p, &res, NULL, err);
	if (rc)
		return err_report("bench_kmeans", rc, err);
	long train_peak = rss0 < 0 ? -1 : status_kib("VmHWM:");
	if (save && save_fvecs(save, res.centroids, res.k, d))
		return fprintf(stderr, "bench_kmeans: error: %s: cannot write\n", save), 1;
	if (p.nthreads > 0)
		omp_set_num_threads(p.nthreads); /* the floor runs with the same threads */
	double floor1 = reps ? sgemm_floor(x, n, d, res.centroids, res.k, reps) : -1;

	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "data", data);
	cJSON_AddNumberToObject(o, "n", (double)n);
	cJSON_AddNumberToObject(o, "d", (double)d);
	cJSON_AddNumberToObject(o, "k", (double)p.k);
	cJSON_AddNumberToObject(o, "niter_max", p.niter);
	cJSON_AddNumberToObject(o, "niter", res.niter);
	cJSON_AddNumberToObject(o, "tol", p.tol);
	cJSON_AddNumberToObject(o, "seed", (double)p.seed);
	cJSON_AddStringToObject(o, "init", p.init == KM_INIT_RANDOM ? "random" : "kmeans++");
	cJSON_AddBoolToObject(o, "spherical", p.spherical);
	cJSON_AddNumberToObject(o, "threads", p.nthreads ? p.nthreads : omp_get_max_threads());
	cJSON_AddNumberToObject(o, "load_s", load_s);
	cJSON_AddNumberToObject(o, "init_s", res.init_s);
	cJSON_AddNumberToObject(o, "train_s", res.train_s);
	cJSON_AddNumberToObject(o, "inertia", res.inertia);
	cJSON_AddNumberToObject(o, "imbalance", res.imbalance);
	cJSON *its = cJSON_AddArrayToObject(o, "iters");
	for (int i = 0; i < res.niter; i++) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddNumberToObject(it, "inertia", res.iters[i].inertia);
		cJSON_AddNumberToObject(it, "imbalance", res.iters[i].imbalance);
		cJSON_AddNumberToObject(it, "nsplit", res.iters[i].nsplit);
		cJSON_AddNumberToObject(it, "time_s", res.iters[i].time_s);
		cJSON_AddItemToArray(its, it);
	}
	if (floor1 >= 0)
		cJSON_AddNumberToObject(o, "sgemm_s", floor1);
	cJSON_AddNumberToObject(o, "load_peak_rss_kib", (double)ru.ru_maxrss);
	if (train_peak >= 0) {
		cJSON_AddNumberToObject(o, "rss_before_train_kib", (double)rss0);
		cJSON_AddNumberToObject(o, "train_peak_rss_kib", (double)train_peak);
	}
	cJSON_AddNumberToObject(o, "data_kib", (double)(n * d * sizeof(float)) / 1024.0);
	cJSON_AddStringToObject(o, "blas", openblas_get_config());
	char *s = cJSON_Print(o);
	puts(s);
	free(s);
	cJSON_Delete(o);
	km_result_free(&res);
	free(x);
	return 0;
}

/*
 * bench.h - vecbench's measurements: build each configured index into its own
 * database file, time every build phase, then time queries and score recall.
 *
 * A bench_run owns the dataset (read once), the per-section results and the
 * temporary folder of database files; bench_close frees and removes them. Table
 * rows carry the dataset's 0-based train row index as their id, so returned ids
 * compare directly with the HDF5 `neighbors`. Recall is scored from true
 * distances computed here from the vectors, never from vec0's distance column
 * (whose unit depends on the metric and the build). A filtered run (filter.h)
 * gives each query its filter value and scores against the filtered ground
 * truth. Every vec0 section also records whether its table honours `key IN`
 * and `distance >` constraints (constraint.h). One vec0 build per process:
 * every connection loads the extension found by bench_open.
 */
#ifndef IVFKIT_BENCH_H
#define IVFKIT_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "build.h"
#include "config.h"
#include "constraint.h"
#include "err.h"
#include "filter.h"
#include "h5ds.h"
#include "stats.h"
#include "vec0.h"
#include "vtab.h"

/* Harness overhead target: the measured mean query latency within this fraction
 * of the floor's, a minimal C loop over the same queries (the same prepared
 * statement: bind, step, reset, no clock or copy per query; the fastest of
 * BENCH_FLOOR_PASSES passes). The check is two-sided: a harness faster than the
 * floor by more than the target means the floor is not one (noise, or another
 * statement), and then the check proves nothing: "invalid", not "met". */
#define BENCH_OVERHEAD_MAX 0.02
#define BENCH_FLOOR_PASSES 3

typedef enum {
	BENCH_OVERHEAD_MET = 0, /* within the target on both sides */
	BENCH_OVERHEAD_EXCEEDED,
	BENCH_OVERHEAD_INVALID /* the floor was slower than the harness: no floor */
} bench_overhead;

/* The verdict on a harness mean latency against the floor's (both > 0). */
bench_overhead bench_overhead_verdict(double harness_s, double floor_s);
const char *bench_overhead_name(bench_overhead v);

typedef enum { BENCH_PENDING = 0, BENCH_OK, BENCH_SKIPPED, BENCH_FAILED } bench_status;

typedef struct bench_point {
	int nprobe;     /* 0 for a flat section */
	int oversample; /* post-filtering: k x oversample rows fetched; 0 otherwise */
	double *lat_s;  /* stats.n per-query latencies in query order, owned */
	stats_lat lat;
	double recall;      /* recall@k by id, mean over queries */
	double recall_ties; /* ann-benchmarks' recall (distance ties count) */
	size_t inexact;     /* queries whose recall with ties is below 1 */
	flt_point flt;      /* filtered run: under-k and per-selectivity figures */
} bench_point;

typedef struct bench_build {
	int reused;         /* the section's db held the table already: not built here */
	size_t ntrain;      /* rows k-means trained on (ivftrain) */
	double train_s;     /* k-means (ivftrain) or compute-centroids (builtin, assigns too) */
	double centroids_s; /* set-centroid x nlist */
	double insert_s;
	double assign_s; /* moving untrained rows to their cells (insert-then-train) */
	double verify_s; /* ivftrain's checks: self-queries before COMMIT, integrity after */
	double lock_s;   /* write lock held by the centroid write */
	double index_s;  /* a peer's index build after its load (CREATE INDEX) */
	double total_s;  /* table creation to a queryable index */
	int verify_samples;
	int km_niter;
	double km_inertia, km_imbalance;
	int64_t rows, file_bytes, ncentroids, unassigned;
	int64_t free_bytes;     /* free pages left in the file (moved rows), until a VACUUM */
	char engine[ERR_LEN];   /* a peer's version and settings, for the report; or "" */
	char plan[2 * ERR_LEN]; /* a peer's query plan as it ran (a filtered run: and the
	                         planner's choice for a rare filter value); or "" */
} bench_build;

typedef struct bench_section {
	const cfg_index *cx;
	bench_status status;
	char reason[ERR_LEN]; /* why skipped or failed */
	char db_path[CFG_PATH];
	char table[VTAB_NAME]; /* the vec0 table measured */
	int db_made;           /* created by this run (removed at the end unless kept) */
	vtab_metric metric;    /* of the table */
	bench_build build;
	build_opts opts;   /* ivf: the pipeline's options (ivftrain's, from the config) */
	build_sizes sizes; /* ivf: what its training-size rule decided; zero when not
	                      trained here */
	bench_point pts[CFG_MAX_NPROBE];
	int npts;
	int exact_pass;     /* flat: every query's recall with ties is 1 */
	double loop_mean_s; /* flat: the floor's mean latency (fastest pass); 0 = not run */
	double loop_pass_s[BENCH_FLOOR_PASSES]; /* each floor pass's mean latency */
	int probed;                             /* vec0: cons holds the constraint probe */
	vcon_result cons;
} bench_section;

typedef struct bench_run {
	const cfg *c;
	h5_dataset ds;
	char dataset_name[256]; /* file name without folder and .hdf5 */
	size_t nq, k;           /* queries used, neighbours scored */
	int angular;            /* dataset distance is angular */
	double max_abs;         /* largest |value| in train: int8 clamps to [-1, 1] */
	double *kth;            /* nq: k-th true distance of each query, owned */
	int filtered;           /* [dataset] filter: flt holds the filter, recall is against it */
	flt_run flt;
	vec0_ext ext;
	char db_dir[CFG_PATH];
	int db_dir_made;    /* a work folder of this run (workdir.h) */
	char note[ERR_LEN]; /* what bench_open cleaned up for the CLI to say, or "" */
	time_t started;
	double t0; /* tm_now() at bench_open */
	bench_section sec[CFG_MAX_INDEX];
	size_t nsec;
} bench_run;

/* The dataset name of path ("fashion-mnist-784-euclidean"). */
void bench_dataset_name(const char *path, char *buf, size_t len);

/* Reads the dataset and checks it against c (ERR_INPUT with the config line:
 * ground truth present, k and queries within it, nlist/ntrain within the train
 * rows, distance_metric matching) and its ground truth by `vecdata info`'s checks
 * (gt_check: ids, order, brute-force spot queries), finds and probes vec0 (a run
 * whose every section would be skipped is ERR_INPUT), prepares the database
 * folder, and checks every section's database before any work: a `db =` file
 * that exists must hold this dataset as the section describes (dimension,
 * metric, type, nlist, quantizer, rows, trained) and is measured as it is; any
 * other must not exist yet. c must outlive r. On error r holds nothing to free. */
int bench_open(bench_run *r, const cfg *c, char *err);

/* Builds and measures section i. An IVF section on a vec0 without IVF ends
 * BENCH_SKIPPED with the reason and returns 0. On failure the section is
 * BENCH_FAILED with the message in its reason and in err, and the code is
 * returned (ERR_INTR after Ctrl-C). */
int bench_section_run(bench_run *r, size_t i, char *err);

/* Frees what r owns; removes the database files (with their journals) and the
 * work folder the run made unless [run] keep_db. Called on every exit path of a
 * run, interrupted and failed ones included; what kill -9 leaves, the next
 * bench_open removes. NULL-safe. */
void bench_close(bench_run *r);

#endif

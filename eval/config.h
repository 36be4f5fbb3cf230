/*
 * config.h - vecbench's config.ini: the dataset, the vec0 build, run settings,
 * gate thresholds and one section per index to build.
 *
 *   [dataset]  path (required), queries (default: every test row), k (default 10),
 *              filter (a filtered run: every query with its filter value, filter.h)
 *   [vec0]     path (default: found as every ivfkit tool finds it, see vec0.h)
 *   [pgvector] dsn (an existing server), or for the server vecbench starts:
 *              bin, shared_buffers, maintenance_work_mem (pg.h's defaults)
 *   [run]      name, results, db_dir, keep_db, seed, threads, warmup, batch,
 *              overhead_check
 *   [gate]     min_recall = SECTION[@NPROBE]=RECALL (repeatable),
 *              max_recall_drop, max_latency_ratio
 *   [NAME]     type = flat | ivf (vec0) or a peer engine's type (peer.h), and
 *              for ivf: nlist, nprobe (a list), ntrain, niter, trainer, order,
 *              assign, quantizer, oversample; flat and ivf: chunk_size,
 *              page_size, db; faiss-ivf: centroids = SECTION (an earlier ivf
 *              section), nprobe; pgvector-ivfflat: lists, probes (a list);
 *              pgvector-hnsw: m, ef_construction, ef_search (a list); both:
 *              storage = vector | halfvec; any type: distance_metric; flat and ivf in a
 *              filtered run: filter_column (metadata | partition | aux | join;
 *              ivf: aux or join), filter_oversample (a list, aux and join);
 *              a peer in a filtered run: an engine that filters (peer.h), and
 *              neither filter key; pgvector there: iterative_scan (off |
 *              relaxed_order | strict_order, hnsw only), with it hnsw:
 *              max_scan_tuples, scan_mem_multiplier; ivfflat: max_probes;
 *              filter_plan = index | planner. Each
 *              key names the types it applies to; any other type refuses it with
 *              its line.
 *
 * Parsed with libinih. Every problem is ERR_INPUT with "file:line: message":
 * unknown sections or keys, bad values, keys given twice, keys that do not apply
 * to the section's type or trainer, a quantizer with centroids set from outside
 * (vec0 cannot compare float32 centroids with quantized cells). Relative paths in the file are
 * taken from the file's own folder, so a config runs the same from any working directory. The
 * struct is plain data: copy it, no free.
 */
#ifndef IVFKIT_CONFIG_H
#define IVFKIT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gate.h"
#include "ivf.h"
#include "pg.h"
#include "vtab.h"

#define CFG_PATH 4096
#define CFG_NAME 64 /* section names are also file names and gate points */
#define CFG_MAX_INDEX 32
#define CFG_MAX_NPROBE 32

/* Section types: vec0's own, then the peer engines (peer.h), which vecbench
 * builds and queries through one set of operations. */
typedef enum {
	CFG_TYPE_FLAT = 0,
	CFG_TYPE_IVF,
	CFG_TYPE_PEER, /* the first peer engine's type: every type from here on is one */
	CFG_TYPE_FAISS_FLAT = CFG_TYPE_PEER, /* IndexFlatL2 / IndexFlatIP */
	CFG_TYPE_FAISS_IVF,                  /* IndexIVFFlat on a vec0 section's centroids */
	CFG_TYPE_PGV_IVFFLAT,                /* pgvector's ivfflat index */
	CFG_TYPE_PGV_HNSW,                   /* pgvector's hnsw index */
	CFG_TYPE_NTYPES
} cfg_type;

typedef enum { CFG_TRAINER_IVFTRAIN = 0, CFG_TRAINER_BUILTIN = 1 } cfg_trainer;
/* pgvector's iterative index scans (0.8), named as its settings name them. */
typedef enum { CFG_ITER_OFF = 0, CFG_ITER_RELAXED, CFG_ITER_STRICT } cfg_iter;
typedef enum {
	CFG_ORDER_CENTROIDS_FIRST = 0,
	CFG_ORDER_INSERT_THEN_TRAIN = 1,
	CFG_ORDER_BULK = 2, /* ivftrain --load: no per-row vec0 insert */
} cfg_order;

typedef struct cfg_index {
	char name[CFG_NAME];
	int line; /* line of the [NAME] header */
	cfg_type type;
	int type_ivf;               /* type == CFG_TYPE_IVF */
	int peer;                   /* a peer engine's type (peer.h) */
	int nlist, nlist_line;      /* ivf: centroids */
	int nprobe[CFG_MAX_NPROBE]; /* the sweep (cfg_sweep_name), in the order given */
	int nnprobe;
	size_t ntrain; /* ivf + ivftrain: sample size; 0 = every train row */
	int ntrain_line;
	int niter; /* ivf + ivftrain: k-means iterations (default build_defaults') */
	cfg_trainer trainer;
	cfg_order order;
	ivf_assign assign;  /* insert-then-train + ivftrain: reinsert | native */
	char quantizer[16]; /* ivf: "none", "int8", "binary" */
	int oversample;     /* ivf with a quantizer: 0 = vec0's default */
	int metric_set;     /* distance_metric given; else the dataset's */
	vtab_metric metric;
	int metric_line;
	int chunk_size;           /* 0 = vec0's default */
	int page_size;            /* 0 = SQLite's default */
	char db[CFG_PATH];        /* "" = a fresh file in the run's db_dir */
	char centroids[CFG_NAME]; /* faiss-ivf: the ivf section whose centroids it uses */
	int m, ef_construction;   /* pgvector-hnsw (pgvector's defaults 16, 64) */
	int halfvec;              /* pgvector: storage = halfvec (else vector) */
	/* pgvector in a filtered run: its iterative index scans */
	int iterative_scan;         /* cfg_iter: relaxed_order unless given */
	int max_scan_tuples;        /* hnsw (pgvector's default 20000) */
	double scan_mem_multiplier; /* hnsw, x work_mem (pgvector's default 1) */
	int max_probes;             /* ivfflat (pgvector's default: every list) */
	int planner;                /* filter_plan = planner: PostgreSQL plans each query (else the
	                               vector index's scan, always) */
	/* filtered runs ([dataset] filter), filter.h */
	int filter_mode;               /* flt_mode: metadata (flat), aux (ivf) */
	int filter_mode_line;          /* 0 = the default */
	int post_over[CFG_MAX_NPROBE]; /* post-filter over-fetch factors swept */
	int npost_over;                /* 1 (factor 1) unless filter_oversample */
} cfg_index;

typedef struct cfg {
	char file[CFG_PATH]; /* the config file as given */
	/* [dataset] */
	char dataset[CFG_PATH];
	size_t queries; /* 0 = every test row */
	int queries_line;
	size_t k;
	int k_line;
	char filter[CFG_NAME]; /* "" = unfiltered; else the filter's name (filtergt.h) */
	int filter_line;
	/* [vec0] */
	char vec0[CFG_PATH]; /* "" = vec0_find's search order */
	/* [pgvector] */
	pg_opts pg;
	/* [run] */
	char name[CFG_NAME];    /* "" = a UTC timestamp */
	char results[CFG_PATH]; /* results root (default "results" in the working folder) */
	char db_dir[CFG_PATH];  /* "" = a fresh folder under $TMPDIR or /var/tmp */
	int keep_db;
	uint64_t seed;      /* sampling and k-means (default build_defaults') */
	int threads;        /* k-means threads; 0 = every core */
	int warmup;         /* untimed passes over the queries before timing (default 1) */
	size_t batch;       /* rows per insert transaction (default VTAB_BATCH) */
	int overhead_check; /* time a minimal C query loop on flat sections (default on) */
	/* [gate] */
	gate_opts gate;
	/* index sections, in file order */
	cfg_index idx[CFG_MAX_INDEX];
	size_t nidx;
} cfg;

/* Fills c with the defaults (no dataset, no sections). */
void cfg_defaults(cfg *c);

/* Parses path into c (which cfg_defaults filled) and validates it. On error c is
 * left as it was and err says "path:line: what". */
int cfg_load(const char *path, cfg *c, char *err);

/* Nonzero when s can name a section or a run: 1 to CFG_NAME - 1 letters, digits,
 * '-', '_', '.' (it becomes a file name and a gate point). */
int cfg_valid_name(const char *s);

/* The index section named name, or NULL. */
const cfg_index *cfg_find(const cfg *c, const char *name);

/* The parameter type t sweeps over one build ("nprobe" for ivf), whose values
 * name its points SECTION@VALUE; NULL when it has none (flat). */
const char *cfg_sweep_name(cfg_type t);

/* Names of enum values, for reports (metrics: vtab_metric_name, assign:
 * ivf_assign_name). */
const char *cfg_type_name(cfg_type t);
/* The engine a type measures ("vec0", "faiss"): the report's per-engine rows. */
const char *cfg_engine_name(cfg_type t);
const char *cfg_trainer_name(cfg_trainer t);
const char *cfg_order_name(cfg_order o);
const char *cfg_iter_name(cfg_iter m);

#endif

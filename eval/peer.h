/*
 * peer.h - the engines vecbench measures beside vec0 (faiss, pgvector, ...):
 * one set of operations per section type from CFG_TYPE_PEER on.
 *
 * bench.c drives every peer alike: it asks whether the engine can run here
 * (else the section is skipped with the reason), starts it (untimed), times
 * build as the section's
 * build, records size, then per swept value (cfg_sweep_name) sets it and times
 * each query alone after the warm-up passes, exactly as it times vec0, and scores
 * the returned ids (0-based train row indexes, as vec0's ids) itself. In a
 * filtered run (filter.h) the engine builds with each row's label and every
 * query goes through query_filtered with its filter value, timed and scored as
 * vec0's filtered queries are; a filtered run accepts only engines that have
 * it (config.h). An engine
 * owns its handle: close frees it and everything the engine made (files,
 * servers), on every exit path; close(NULL) does nothing. Operations return 0
 * or a negative ERR_* code with err filled (ERR_LEN), like every library here.
 */
#ifndef IVFKIT_PEER_H
#define IVFKIT_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "config.h"
#include "vtab.h"

/* What an engine builds from: the dataset's train rows and, for a section with
 * `centroids = SECTION`, the k x d centroids that vec0 section's table holds. */
typedef struct peer_input {
	const cfg *c;        /* the run's config (engine sections such as [pgvector]) */
	const cfg_index *cx; /* the section */
	const float *x;      /* n x d train rows; row i has id i */
	size_t n, d;
	size_t k;           /* neighbours each query asks for */
	vtab_metric metric; /* l2 or cosine (the dataset's) */
	const float *cent;  /* ncent x d, or NULL */
	size_t ncent;
	const char *workdir;   /* the run's work folder, for files the engine needs */
	const int32_t *labels; /* n: each train row's filter value in a filtered run, else NULL */
} peer_input;

typedef struct peer_ops {
	cfg_type type;
	/* 1 when the engine can run here, else 0 with why (one line). */
	int (*available)(const peer_input *in, char *why, size_t len);
	/* Optional (NULL: none): brings the engine up untimed before build (a
	 * server to start), its handle in *h, which close frees even on failure. */
	int (*start)(const peer_input *in, void **h, char *err);
	/* Builds the index into *h (start's handle, if any); may fill build phases
	 * (insert_s, index_s, ...) and engine of b; bench.c times the whole call as
	 * b->total_s. */
	int (*build)(const peer_input *in, void **h, bench_build *b, char *err);
	/* Sets the swept parameter (types with a cfg_sweep_name), before a pass. */
	int (*set_sweep)(void *h, int value, char *err);
	/* The k nearest ids of q into ids, *got of them (<= k), nearest first. */
	int (*query)(void *h, const float *q, size_t k, int64_t *ids, size_t *got, char *err);
	/* The k nearest rows whose label equals label, as query gives them (fewer
	 * when fewer match or the engine's search finds fewer); NULL when the
	 * engine cannot filter. Work that depends only on the labels belongs in
	 * build, not here: this call is what is timed. */
	int (*query_filtered)(void *h, const float *q, int32_t label, size_t k, int64_t *ids,
	                      size_t *got, char *err);
	/* The index's size in bytes (serialized, or on disk). */
	int (*size)(void *h, int64_t *bytes, char *err);
	void (*close)(void *h);
} peer_ops;

/* The operations of peer type t, or NULL when t is not a peer type. */
const peer_ops *peer_find(cfg_type t);

#endif

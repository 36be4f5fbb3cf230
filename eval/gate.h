/*
 * gate.h - pass/fail checks over vecbench results for CI: minimum recall per
 * section, and recall drop / latency ratio against a baseline results file.
 *
 * A check names a point: "SECTION" (a flat section, or an IVF section at its
 * largest nprobe) or "SECTION@NPROBE". A gated point that is missing or whose
 * section was skipped or failed is a failing check, never a pass: a gate cannot
 * be passed by not measuring, and a gate that compared nothing fails. Results that
 * are not a complete run (status, or the folder's GATE_MARKER file), hold a
 * section twice or a figure out of range (recall outside [0, 1]) are bad input, and
 * so is a baseline of another dataset (name, train rows, dimension, metric, k,
 * queries).
 * Every flat section's exactness check recorded in the results is checked too.
 * Recall here is recall@k by id (what the tables show).
 */
#ifndef IVFKIT_GATE_H
#define IVFKIT_GATE_H

#include <stddef.h>

#define GATE_FORMAT "ivfkit-vecbench/1" /* results.json "format" this gate reads */
#define GATE_MARKER "incomplete"        /* file beside results.json while a run is unfinished */
#define GATE_POINT 96                   /* "SECTION" or "SECTION@NPROBE" with its terminator */
#define GATE_MAX_MIN 64                 /* --min-recall thresholds in one gate */
#define GATE_DEFAULT_DROP 0.005 /* max recall drop when a baseline is given and none is set */

typedef struct gate_min {
	char point[GATE_POINT]; /* section name, optionally "@nprobe" */
	double recall;          /* in [0, 1] */
} gate_min;

typedef struct gate_opts {
	gate_min min[GATE_MAX_MIN];
	size_t nmin;
	double max_recall_drop;   /* baseline recall - recall, per point; < 0 = off */
	double max_latency_ratio; /* mean latency / baseline's, per point; < 0 = off */
} gate_opts;

typedef enum { GATE_PASS = 0, GATE_FAIL = 1, GATE_NOTE = 2 } gate_verdict;

typedef struct gate_check {
	char text[384]; /* "min recall ivf@8: 0.9910 >= 0.9500" */
	gate_verdict verdict;
} gate_check;

typedef struct gate_result {
	gate_check *checks; /* n entries, owned */
	size_t n, cap;
	size_t failed; /* checks with GATE_FAIL */
} gate_result;

/* Thresholds off, no minimums; max_recall_drop -1 means "GATE_DEFAULT_DROP when a
 * baseline is given". */
void gate_defaults(gate_opts *o);

/* Parses "SECTION[@NPROBE]=RECALL" and adds it to o, replacing a threshold on the
 * same point (a later source overrides an earlier one). ERR_INPUT on a bad spec. */
int gate_add_min(gate_opts *o, const char *spec, char *err);

/* Loads results (and baseline, may be NULL), runs every check into res.
 * Returns 0 when the checks ran (res->failed says whether they passed), ERR_INPUT
 * for unreadable, malformed or incomplete files, or a baseline of another
 * dataset; ERR_NOMEM. On error res is left empty. */
int gate_run(const char *results, const char *baseline, const gate_opts *o, gate_result *res,
             char *err);

/* Frees what res owns and zeroes it; NULL-safe. */
void gate_result_free(gate_result *res);

#endif

/*
 * filter_report.h - the parts of vecbench's report that belong to filtered runs
 * (filter.h) and to the constraint probe (constraint.h): their JSON members,
 * their results.md sections and the per-selectivity plot. report.c calls these;
 * they write nothing by themselves. Public API: frep_*.
 */
#ifndef IVFKIT_FILTER_REPORT_H
#define IVFKIT_FILTER_REPORT_H

#include <stdio.h>

#include <cJSON.h>

#include "bench.h"

/* Recall target of the filtered summary (big-ann-benchmarks' filtered track
 * reports throughput at a recall target). */
#define FREP_TARGET 0.95

/* A point's filtered figures: under-k count and rate, and per selectivity class
 * its queries, recall, mean latency, QPS and under-k. */
cJSON *frep_point_json(const bench_run *r, const bench_point *p);
/* A probed section's constraint results ({"key_in": bool, "distance_gt": bool}). */
cJSON *frep_constraints_json(const bench_section *s);
/* The section's filter parameters into o: how it filters ("filtering"), and
 * for vec0 filter_column and filter_oversample. */
void frep_params_json(cJSON *o, const bench_run *r, const bench_section *s);

/* results.md: the filtered run's sections (classes, per-class table, fastest
 * setting per way of filtering at FREP_TARGET with its under-k rate, partition
 * key vs IVF post-filtering, and a peer where it is the fastest of all). Peers
 * filter with their engine's own filter (peer.h) and appear like vec0's ways. */
void frep_md(FILE *f, const bench_run *r);
/* results.md: one line per probed vec0 section saying whether it honours
 * `key IN` and `distance >`. */
void frep_constraints_md(FILE *f, const bench_run *r);

/* The filtered plot (recall vs mean latency per section, one panel per
 * selectivity class) as data into fd and a gnuplot script into fg, both named
 * from stem; returns the number of panels. */
int frep_plot_render(const bench_run *r, FILE *fd, FILE *fg, const char *stem);

#endif

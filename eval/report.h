/*
 * report.h - vecbench's output folder: results.json (every figure, the config,
 * versions, machine), results.csv, results.md (the sqlite-vec IVF pull request's
 * table, ratios vs flat) and a recall-vs-latency plot (plot.h draws it; the
 * machine comes from machine.h).
 *
 * A run's folder is <results>/<dataset>/<name or UTC timestamp>/. While a run is
 * not complete the folder holds a file `incomplete` saying why (running,
 * interrupted, failed) and results.json / results.md say so too: partial
 * results are never presented as complete. Every file is written to a temporary
 * name and renamed, so a reader never sees half a file.
 */
#ifndef IVFKIT_REPORT_H
#define IVFKIT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "bench.h"

#define REP_MARKER GATE_MARKER

/* Makes the run's folder (parents too) into dir and marks it incomplete.
 * ERR_INPUT when it cannot be made or written, or already holds files. */
int rep_prepare(const bench_run *r, char *dir, size_t len, char *err);

/* Writes every file for r as it stands. status is "running", "complete",
 * "interrupted" or "failed"; error says why (NULL when none). "complete" draws
 * the plot and then removes the marker; any other status rewrites the marker. */
int rep_write(const bench_run *r, const char *dir, const char *status, const char *error,
              char *err);

/* The headline table of results.md (one row per section and nprobe, ratios vs
 * flat), as markdown, to f. */
void rep_headline(FILE *f, const bench_run *r);

#endif

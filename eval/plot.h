/*
 * plot.h - vecbench's recall-vs-latency plot: its data and gnuplot script, and
 * running gnuplot on them.
 *
 * The data (PLOT_NAME.dat, one block per measured section; a filtered run:
 * one panel per selectivity class, filter_report.h) and the script
 * (PLOT_NAME.gp) are rendered into memory for the caller to write (report.c
 * writes every file of a run the same way); plot_run then draws PLOT_NAME.png
 * in that folder. A missing gnuplot is a note, not an error: the script stays
 * for whoever has one. Public API: plot_render, plot_run.
 */
#ifndef IVFKIT_PLOT_H
#define IVFKIT_PLOT_H

#include <stddef.h>

#include "bench.h"

#define PLOT_NAME "recall-latency"

/* The data into *dat (*dl bytes) and the script into *gp (*gl bytes), both
 * malloc'd (caller frees, also on failure); returns the number of blocks, or -1
 * when out of memory. */
int plot_render(const bench_run *r, char **dat, size_t *dl, char **gp, size_t *gl);

/* Runs gnuplot on PLOT_NAME.gp in dir. *plot is the image's name, or NULL with
 * note saying why there is none. */
void plot_run(const char *dir, const char **plot, char *note, size_t len);

#endif

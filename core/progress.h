/*
 * progress.h - a one-line progress bar on stderr, shown only when stderr is a terminal.
 *
 * In pipes and CI logs it prints nothing, so long jobs stay quiet there. A NULL
 * prog_t * is accepted everywhere and does nothing, so libraries can take one
 * optionally. Redraws are rate-limited; calling prog_update in a hot loop is cheap.
 * Not thread-safe: update from one thread.
 */
#ifndef IVFKIT_PROGRESS_H
#define IVFKIT_PROGRESS_H

#include <stdint.h>

typedef struct prog {
	const char *label; /* phase name shown before the bar */
	uint64_t total;    /* work units to do; 0 = unknown (shows a count) */
	uint64_t done;     /* work units done so far */
	double t0;         /* tm_now() at prog_begin */
	double last_draw;  /* tm_now() of the last redraw */
	int active;        /* drawing: stderr is a TTY and not disabled */
} prog_t;

/* A bar not yet begun: prog_t pg = PROG_INIT. Until prog_begin it draws nothing,
 * so a library may take it and end early without drawing. */
#define PROG_INIT {.label = NULL, .active = 0}

/* Starts a bar; draws nothing unless stderr is a TTY and IVFKIT_NO_PROGRESS is unset. */
void prog_begin(prog_t *p, const char *label, uint64_t total);
/* Sets the count of units done (absolute, not an increment). */
void prog_update(prog_t *p, uint64_t done);
/* Draws the final state and ends the line. */
void prog_end(prog_t *p);

#endif

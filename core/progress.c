/*
 * progress.c - TTY-only progress bar (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "timing.h"

#define PROG_REDRAW_SEC 0.1 /* ten redraws a second is smooth and costs nothing */
#define PROG_WIDTH 30

static void prog_draw(prog_t *p, int final)
{
	double el = tm_now() - p->t0;
	if (p->total) {
		double f = (double)p->done / (double)p->total;
		int fill = (int)(f * PROG_WIDTH + 0.5);
		double eta = f > 0 ? el / f - el : 0;
		fprintf(stderr, "\r%-18s [%.*s%*s] %5.1f%%  %6.1fs", p->label, fill,
			"##############################", PROG_WIDTH - fill, "", 100 * f, el);
		if (!final && f > 0)
			fprintf(stderr, "  eta %5.1fs", eta);
		else
			fprintf(stderr, "           ");
	} else {
		fprintf(stderr, "\r%-18s %llu  %6.1fs", p->label,
			(unsigned long long)p->done, el);
	}
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

void prog_begin(prog_t *p, const char *label, uint64_t total)
{
	if (!p)
		return;
	p->label = label;
	p->total = total;
	p->done = 0;
	p->t0 = tm_now();
	p->last_draw = 0;
	p->active = isatty(STDERR_FILENO) && !getenv("IVFKIT_NO_PROGRESS");
}

void prog_update(prog_t *p, uint64_t done)
{
	if (!p || !p->active)
		return;
	p->done = done;
	double now = tm_now();
	if (now - p->last_draw < PROG_REDRAW_SEC)
		return;
	p->last_draw = now;
	prog_draw(p, 0);
}

void prog_end(prog_t *p)
{
	if (!p || !p->active)
		return;
	if (p->total)
		p->done = p->total;
	prog_draw(p, 1);
	p->active = 0;
}

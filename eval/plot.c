/*
 * plot.c - the recall-vs-latency plot (see plot.h).
 */
#define _GNU_SOURCE
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "filter_report.h"

extern char **environ;

/* The data (one block per measured section) into fd and the script into fg;
 * returns the number of blocks. */
static int render(const bench_run *r, FILE *fd, FILE *fg)
{
	int blocks = 0;
	fprintf(fg,
	        "# Draws " PLOT_NAME ".png from " PLOT_NAME ".dat: cd here, then gnuplot " PLOT_NAME
	        ".gp\nset terminal pngcairo size 1000,650 noenhanced\n"
	        "set output '" PLOT_NAME ".png'\nset title 'recall@%zu vs mean query "
	        "latency, %zu queries'\nset xlabel 'recall@%zu'\nset ylabel 'mean query "
	        "latency (ms)'\nset logscale y\nset grid\nset key outside right\n"
	        "set xrange [*:1.02]\nplot ",
	        r->k, r->nq, r->k);
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		if (s->status != BENCH_OK)
			continue;
		fprintf(fd, "# %s: recall mean_ms nprobe\n", s->cx->name);
		for (int p = 0; p < s->npts; p++)
			fprintf(fd, "%.6f %.6f %d\n", s->pts[p].recall, s->pts[p].lat.mean * 1e3,
			        s->pts[p].nprobe);
		fprintf(fd, "\n\n");
		/* explicit line types: the label plots would otherwise use up colours */
		fprintf(fg,
		        "%s'" PLOT_NAME ".dat' index %d using 1:2 with linespoints lt %d pt %d "
		        "title '%s'",
		        blocks ? ", \\\n     " : "", blocks, blocks + 1, blocks + 1, s->cx->name);
		if (cfg_sweep_name(s->cx->type))
			fprintf(fg,
			        ", \\\n     '' index %d using 1:2:3 with labels offset 0,0.8 "
			        "tc lt %d notitle",
			        blocks, blocks + 1);
		blocks++;
	}
	fputc('\n', fg);
	return blocks;
}

int plot_render(const bench_run *r, char **dat, size_t *dl, char **gp, size_t *gl)
{
	*dat = *gp = NULL;
	FILE *fd = open_memstream(dat, dl), *fg = open_memstream(gp, gl);
	int blocks = !fd || !fg    ? -1
	             : r->filtered ? frep_plot_render(r, fd, fg, PLOT_NAME)
	                           : render(r, fd, fg);
	if (fd)
		fclose(fd);
	if (fg)
		fclose(fg);
	return blocks < 0 || !*dat || !*gp ? -1 : blocks;
}

void plot_run(const char *dir, const char **plot, char *note, size_t len)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {"gnuplot", PLOT_NAME ".gp", NULL};
	pid_t pid;
	int st = 0, e = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e == 0 && waitpid(pid, &st, 0) < 0)
		e = errno;
	*plot = NULL;
	if (e == ENOENT)
		snprintf(note, len,
		         "gnuplot not found (Debian: apt install gnuplot-nox); "
		         "run `gnuplot " PLOT_NAME ".gp` in this folder to draw it");
	else if (e)
		snprintf(note, len, "could not run gnuplot: %s", strerror(e));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		snprintf(note, len, "gnuplot failed on " PLOT_NAME ".gp (status %d)", st);
	else
		*plot = PLOT_NAME ".png";
}

/*
 * cli.c - option tables, --help and number parsing for the CLIs (see cli.h).
 */
#include "cli.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

const cli_opt *cli_find(const cli_opt *opts, size_t n, int id)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].id == id)
			return &opts[i];
	return NULL;
}

/* The i-th option of the selection (ids 0-terminated, or all n when NULL), or
 * NULL past its end. */
static const cli_opt *cli_nth(const cli_opt *opts, size_t n, const int *ids, size_t i)
{
	if (!ids)
		return i < n ? &opts[i] : NULL;
	if (!ids[i])
		return NULL;
	const cli_opt *o = cli_find(opts, n, ids[i]);
	assert(o); /* a command lists an id its table lacks */
	return o;
}

void cli_longopts(const cli_opt *opts, size_t n, const int *ids, struct option *lo)
{
	const cli_opt *o;
	size_t i = 0;
	for (; (o = cli_nth(opts, n, ids, i)); i++) {
		assert(i < n); /* lo has room for n + 1 */
		lo[i] =
		    (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->id};
	}
	lo[i] = (struct option){0};
}

/* Prints text from column indent (the cursor is there), wrapped at CLI_HELP_WIDTH
 * on spaces, and ends the line. */
static void cli_wrap(FILE *f, const char *text, int indent)
{
	int col = indent;
	while (*text) {
		int w = (int)strcspn(text, " ");
		if (col > indent && col + 1 + w > CLI_HELP_WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", w, text);
		col += w;
		text += w;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

void cli_help(FILE *f, const cli_opt *opts, size_t n, const int *ids, int col)
{
	const cli_opt *o;
	for (size_t i = 0; (o = cli_nth(opts, n, ids, i)); i++) {
		char left[128];
		snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
		/* two spaces before, at least one after */
		if ((int)strlen(left) < col - 3)
			fprintf(f, "  %-*s ", col - 3, left);
		else
			fprintf(f, "  %s\n%*s", left, col, "");
		cli_wrap(f, o->help, col);
	}
}

int cli_parse_long(const char *opt, const char *text, long min, long max, long *out, char *err)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		if (max == LONG_MAX)
			return err_set(err, ERR_INPUT, "--%s: '%s' is not an integer >= %ld", opt,
			               text, min);
		return err_set(err, ERR_INPUT, "--%s: '%s' is not an integer in [%ld, %ld]", opt,
		               text, min, max);
	}
	*out = v;
	return ERR_OK;
}

int cli_parse_size(const char *opt, const char *text, size_t min, size_t max, size_t *out,
                   char *err)
{
	const char *p = text;
	char *end;
	while (isspace((unsigned char)*p)) /* strtoull skips it too, then takes a '-' */
		p++;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (*p == '-' || errno || end == p || *end || v < min || v > max) {
		if (max == SIZE_MAX)
			return err_set(err, ERR_INPUT, "--%s: '%s' is not an integer >= %zu", opt,
			               text, min);
		return err_set(err, ERR_INPUT, "--%s: '%s' is not an integer in [%zu, %zu]", opt,
		               text, min, max);
	}
	*out = (size_t)v;
	return ERR_OK;
}

int cli_parse_double(const char *opt, const char *text, double min, double max, double *out,
                     char *err)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= min && v <= max))
		return err_set(err, ERR_INPUT, "--%s: '%s' is not a number in [%g, %g]", opt, text,
		               min, max);
	*out = v;
	return ERR_OK;
}

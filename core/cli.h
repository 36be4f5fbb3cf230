/*
 * cli.h - the option table every CLI parses from: getopt_long's entries, the
 * --help lines and range-checked numbers, all from one cli_opt array.
 *
 * A CLI declares its options once as a cli_opt array; a subcommand may take a
 * subset, named by a 0-terminated list of ids (NULL: all of them). Numbers go
 * through strtol/strtoull/strtod with the whole text consumed and a range check;
 * a bad value returns ERR_INPUT with one line naming the option, and leaves the
 * output untouched. cli_help is the one function here that writes, and only to
 * the stream it is given.
 */
#ifndef IVFKIT_CLI_H
#define IVFKIT_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#define CLI_HELP_WIDTH 100 /* --help lines wrap here, as the tree's code does */
/* A numeric default macro as --help text, so the number is spelled only where it is defined. */
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x

typedef struct cli_opt {
	const char *name; /* long option, without the leading "--" */
	int id;           /* what getopt_long returns for it */
	const char *arg;  /* value name shown in --help, NULL for a flag */
	const char *help; /* one line of prose; cli_help wraps it */
} cli_opt;

/* The entry of opts (n of them) with this id, or NULL. */
const cli_opt *cli_find(const cli_opt *opts, size_t n, int id);

/* Fills lo with getopt_long's entries for the options listed in ids (0-terminated,
 * each an id of opts) or for all n of opts when ids is NULL, then the all-zero
 * entry that ends the array; lo has room for n + 1. */
void cli_longopts(const cli_opt *opts, size_t n, const int *ids, struct option *lo);

/* Prints "  --name ARG  help" for the same selection as cli_longopts: the help
 * starts at column col and wraps at CLI_HELP_WIDTH on spaces; a "--name ARG" too
 * wide for its column gets a line of its own. */
void cli_help(FILE *f, const cli_opt *opts, size_t n, const int *ids, int col);

/* An integer in [min, max] from the value text of option opt (named without
 * "--"). ERR_INPUT "--opt: 'text' is not an integer in [min, max]" (or ">= min"
 * when max is LONG_MAX) otherwise. */
int cli_parse_long(const char *opt, const char *text, long min, long max, long *out, char *err);

/* cli_parse_long for size_t; a leading minus sign is refused, not wrapped around
 * as strtoull would. ">= min" in the message when max is SIZE_MAX. */
int cli_parse_size(const char *opt, const char *text, size_t min, size_t max, size_t *out,
                   char *err);

/* A finite number in [min, max]; ERR_INPUT "--opt: 'text' is not a number in
 * [min, max]" otherwise (NaN fails every comparison, so it is refused too). */
int cli_parse_double(const char *opt, const char *text, double min, double max, double *out,
                     char *err);

#endif

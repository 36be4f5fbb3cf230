/*
 * names.h - an enum's names as one table: lookup both ways and the list for a
 * message or --help.
 *
 * Each enum's owner keeps one NULL-terminated table of its names, indexed by
 * value, and builds its `*_name` / `*_parse` on these, so a name is spelled
 * once and every list of the choices (--help, errors, config keys) is made from
 * the same table. Public API: names_find, names_join, NAMES_DEFINE.
 */
#ifndef IVFKIT_NAMES_H
#define IVFKIT_NAMES_H

#include <stddef.h>

/* The index of s in names (NULL-terminated), or -1. */
int names_find(const char *const *names, const char *s);

/* The names whose bit is set in mask (bit i: names[i]; ~0u: all of them),
 * joined by sep into buf (as many whole names as fit); returns buf. */
char *names_join(const char *const *names, unsigned mask, const char *sep, char *buf, size_t len);

/* Defines pre_name(type) and pre_parse(s, type *out) (0, or -1 with out
 * untouched when s names no value) over the table pre_names, in the owner's .c. */
#define NAMES_DEFINE(pre, type)                                                                    \
	const char *pre##_name(type v)                                                             \
	{                                                                                          \
		return pre##_names[v];                                                             \
	}                                                                                          \
	int pre##_parse(const char *s, type *out)                                                  \
	{                                                                                          \
		int i = names_find(pre##_names, s);                                                \
		if (i < 0)                                                                         \
			return -1;                                                                 \
		*out = (type)i;                                                                    \
		return 0;                                                                          \
	}

#endif

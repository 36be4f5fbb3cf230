/*
 * names.c - an enum's names as one table (see names.h).
 */
#include "names.h"

#include <stdio.h>
#include <string.h>

int names_find(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

char *names_join(const char *const *names, unsigned mask, const char *sep, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (unsigned i = 0; names[i] && i < 32; i++) {
		if (!(mask & (1u << i)))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? sep : "", names[i]);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = 0; /* whole names only */
			break;
		}
		used += (size_t)n;
	}
	return buf;
}

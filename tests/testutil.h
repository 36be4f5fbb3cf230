/*
 * testutil.h - what every unit test includes: cmocka, plus helpers to skip with a
 * one-line reason and to make scratch files under a per-test temporary folder.
 */
#ifndef IVFKIT_TESTUTIL_H
#define IVFKIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Skips the current test, printing why on one line. */
#define SKIP_BECAUSE(...)                          \
	do {                                       \
		print_message("  SKIP: ");         \
		print_message(__VA_ARGS__);        \
		print_message("\n");               \
		skip();                            \
	} while (0)

/* A fresh temporary folder for one test; tu_rmdir removes it and what it holds. */
static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *p = malloc(4096);
	snprintf(p, 4096, "%s/ivfkit-test.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(p)) {
		free(p);
		fail_msg("mkdtemp failed");
	}
	return p;
}

static inline void tu_rmdir(char *p)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
	if (system(cmd) != 0)
		print_message("warning: could not remove %s\n", p);
	free(p);
}

/* path = dir + "/" + name in a static buffer rotating over 4 slots. */
static inline const char *tu_path(const char *dir, const char *name)
{
	static char buf[4][4096];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name);
	return buf[slot];
}

#endif

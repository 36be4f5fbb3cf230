/*
 * fuzz.h - what every libFuzzer target includes: the entry point's prototype and
 * a scratch file for readers that take a path.
 *
 * The readers under test open files by name (zlib, HDF5, stdio), so each input
 * is written to a file in a per-process temporary folder, removed at exit. The
 * message buffer every library fills is checked to be one terminated line, so a
 * reader that fails without saying why, or says it over several lines, is a
 * finding too.
 */
#ifndef IVFKIT_FUZZ_H
#define IVFKIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[4096];

static void fz_rmdir(void)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
	if (fz_dir[0] && system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* Writes data to fz_dir/name (the folder is made on first use) and returns the
 * path, in a static buffer. Aborts on I/O errors: they are the harness's, not
 * the reader's. */
static inline const char *fz_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[4200];
	if (!fz_dir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(fz_dir, sizeof fz_dir, "%s/ivfkit-fuzz.XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(fz_dir))
			abort();
		atexit(fz_rmdir);
	}
	snprintf(path, sizeof path, "%s/%s", fz_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	return path;
}

/* A failed call must have said why, on one line. */
static inline void fz_check_err(int rc, const char *err)
{
	if (rc < 0 && (!err[0] || strchr(err, '\n') || strlen(err) >= ERR_LEN))
		abort();
}

#endif

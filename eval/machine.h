/*
 * machine.h - the machine a benchmark ran on, as its results record it: CPU
 * model, online cores, memory, kernel.
 *
 * Read from /proc/cpuinfo, sysconf and uname; what cannot be read stays
 * "unknown" or 0, never an error, since results without it are still results.
 * Public API: machine_read, machine_json.
 */
#ifndef IVFKIT_MACHINE_H
#define IVFKIT_MACHINE_H

#include <cJSON.h>

typedef struct machine {
	char cpu[256];    /* model name, "unknown" when not found */
	long cores;       /* online */
	double mem_bytes; /* physical memory */
	char os[256];     /* "Linux 6.1.0-... x86_64" */
} machine;

void machine_read(machine *m);

/* m added to parent as "machine": {"cpu", "cores", "memory_bytes", "os"}. */
void machine_json(cJSON *parent, const machine *m);

#endif

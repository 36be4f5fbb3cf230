/*
 * machine.c - the machine a benchmark ran on (see machine.h).
 */
#include "machine.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

void machine_read(machine *m)
{
	memset(m, 0, sizeof *m);
	snprintf(m->cpu, sizeof m->cpu, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = 0;
			snprintf(m->cpu, sizeof m->cpu, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
	m->cores = sysconf(_SC_NPROCESSORS_ONLN);
	m->mem_bytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(m->os, sizeof m->os, "%s %s %s", u.sysname, u.release, u.machine);
}

void machine_json(cJSON *parent, const machine *m)
{
	cJSON *mj = cJSON_AddObjectToObject(parent, "machine");
	cJSON_AddStringToObject(mj, "cpu", m->cpu);
	cJSON_AddNumberToObject(mj, "cores", (double)m->cores);
	cJSON_AddNumberToObject(mj, "memory_bytes", m->mem_bytes);
	cJSON_AddStringToObject(mj, "os", m->os);
}

/*
 * workdir.c - owned temporary work folders and the sweep of dead runs' folders
 * (see workdir.h).
 *
 * Liveness: the owner is alive while kill(pid, 0) finds the pid and
 * /proc/PID/stat gives the recorded start time (field 22, clock ticks since
 * boot); a pid the kernel gave to another process since counts as gone.
 */
#define _GNU_SOURCE
#include "workdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

#define WD_PATH 4096

/* Start time of process pid, or 0 when it cannot be read. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* the command name, field 2, may hold spaces and parentheses */
	const char *p = strrchr(buf, ')');
	unsigned long long start = 0;
	/* fields 3 (state) to 21, then 22: starttime */
	if (!p || sscanf(p + 1,
	                 " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
	                 "%*s %*s %*s %llu",
	                 &start) != 1)
		return 0;
	return start;
}

/* This process's pid namespace: pids recorded in another one (a container
 * sharing the folder) say nothing here, so their folders are never judged. */
static unsigned long long pid_ns(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Nonzero while the process recorded as (pid, start) runs. */
static int owner_alive(pid_t pid, unsigned long long start)
{
	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return 0;
	unsigned long long now = start ? proc_start(pid) : 0;
	return !now || now == start; /* unreadable: assume it is the owner */
}

/* Removes everything in path (a server's cluster folder too), then path, never
 * crossing into another filesystem mounted inside (dev: path's); the bytes of
 * the files removed. */
static long long clear_tree(const char *path, dev_t dev)
{
	DIR *d = opendir(path);
	long long bytes = 0;
	struct dirent *e;
	char file[WD_PATH + 256];
	struct stat st;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		if (lstat(file, &st) != 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode))
			bytes += clear_tree(file, dev);
		else if (unlink(file) == 0)
			bytes += (long long)st.st_size;
	}
	if (d)
		closedir(d);
	rmdir(path);
	return bytes;
}

static long long clear_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ? clear_tree(path, st.st_dev) : 0;
}

int wd_make(const char *base, const char *prefix, char *path, size_t len, char *err)
{
	if (snprintf(path, len, "%s/%sXXXXXX", base, prefix) >= (int)len)
		return err_set(err, ERR_INPUT, "work folder path under %s too long", base);
	if (!mkdtemp(path))
		return err_set(err, ERR_INPUT, "cannot make a work folder %s: %s", path,
		               strerror(errno));
	char file[WD_PATH + 16];
	snprintf(file, sizeof file, "%s/" WD_OWNER, path);
	FILE *f = fopen(file, "w");
	int bad =
	    !f || fprintf(f, "%d %llu %llu\n", (int)getpid(), proc_start(getpid()), pid_ns()) < 0;
	if (f)
		bad |= fclose(f) != 0;
	if (bad) {
		int e = errno;
		clear_dir(path);
		return err_set(err, ERR_INPUT, "cannot write %s: %s", file, strerror(e));
	}
	return 0;
}

void wd_remove(const char *path)
{
	if (path && *path)
		clear_dir(path);
}

void wd_keep(const char *path)
{
	char file[WD_PATH + 16];
	snprintf(file, sizeof file, "%s/" WD_OWNER, path);
	unlink(file);
}

void wd_sweep(const char *base, const char *prefix, char *note, size_t len)
{
	DIR *d = opendir(base);
	struct dirent *e;
	size_t plen = strlen(prefix), used = 0;
	int removed = 0;
	long long bytes = 0;
	char list[1024] = "";
	while (d && (e = readdir(d))) {
		char dir[WD_PATH], file[WD_PATH + 16];
		int pid = 0;
		unsigned long long start = 0, ns = 0;
		if (strncmp(e->d_name, prefix, plen) != 0 ||
		    snprintf(dir, sizeof dir, "%s/%s", base, e->d_name) >= (int)sizeof dir)
			continue;
		snprintf(file, sizeof file, "%s/" WD_OWNER, dir);
		FILE *f = fopen(file, "r");
		if (!f)
			continue;
		int got = fscanf(f, "%d %llu %llu", &pid, &start, &ns);
		fclose(f);
		if (got != 3 || ns != pid_ns() || owner_alive(pid, start))
			continue;
		bytes += clear_dir(dir);
		removed++;
		if (used < sizeof list)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s (pid %d)",
			                         removed > 1 ? ", " : "", dir, pid);
	}
	if (d)
		closedir(d);
	note[0] = 0;
	if (removed)
		snprintf(note, len, "removed %d work folder%s of runs that died (%.1f MiB): %s",
		         removed, removed > 1 ? "s" : "", (double)bytes / (1024.0 * 1024.0), list);
}

/*
 * workdir.h - a run's temporary work folder, owned by the process that made it,
 * and the sweep that removes the folders of runs that died without cleaning up.
 *
 * A folder base/PREFIXxxxxxx made by wd_make holds an owner record (WD_OWNER:
 * the pid and the kernel's start time of the process, so a reused pid is not
 * mistaken for the owner, and its pid namespace, so a container sharing the
 * folder never has its live runs' folders taken). A run removes its folder with wd_remove on every
 * exit path it can catch; after kill -9, a power cut or a crash the next run's wd_sweep removes it
 * once its owner is gone. A folder without an owner record (kept with wd_keep, or being made right
 * now) is never touched. Everything in a work folder belongs to its run: removal takes every file
 * in it.
 */
#ifndef IVFKIT_WORKDIR_H
#define IVFKIT_WORKDIR_H

#include <stddef.h>

#define WD_OWNER ".owner" /* "PID STARTTIME PIDNS\n" of the owning process */

/* Makes base/prefixXXXXXX (mkdtemp) into path (len bytes) and records this
 * process as its owner. ERR_INPUT naming the folder when it cannot be made or
 * written; nothing is left behind then. */
int wd_make(const char *base, const char *prefix, char *path, size_t len, char *err);

/* Removes everything in the folder path (subfolders too, such as a server's
 * cluster, but never another filesystem mounted inside), then the folder;
 * NULL-safe, and quiet about what cannot be removed. */
void wd_remove(const char *path);

/* Drops the owner record: the folder and its files stay, and no sweep will take
 * them (a run asked to keep its databases). */
void wd_keep(const char *path);

/* Removes the folders base/prefix* whose owner is gone. note (len bytes) gets one
 * line saying what was removed and how much, or "" when nothing was. Never
 * fails: a folder it cannot read or remove is left as it is. */
void wd_sweep(const char *base, const char *prefix, char *note, size_t len);

#endif

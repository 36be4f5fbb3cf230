/*
 * gathervfs.h - an SQLite VFS that gathers a write transaction's small writes
 * (journal records, COMMIT's pages) into few large ones and reads sequential
 * pages ahead, keeping SQLite's atomicity: see gathervfs.c for the rules it
 * keeps.
 */
#ifndef IVFKIT_GATHERVFS_H
#define IVFKIT_GATHERVFS_H

#include <sqlite3.h>

/* The VFS's name for sqlite3_open_v2, registered (not as the default) on the
 * first call; NULL when the default VFS cannot carry it, and the caller opens
 * with the default. */
const char *gathervfs_name(void);

#endif

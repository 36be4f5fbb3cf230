/*
 * gathervfs.c - an SQLite VFS over the default one that gathers a write
 * transaction's small writes into few large ones, and reads a database file
 * ahead where SQLite reads it page after page.
 *
 * A rollback journal takes three write() calls per page it keeps (page number,
 * page, checksum) and COMMIT one per page it writes to the database: a bulk
 * write of 190 MB makes 190,000 system calls, which on a virtual machine cost
 * as much as the disk. Here each file gathers writes that continue one another
 * in a buffer of its own and writes it in one call. Nothing SQLite relies on
 * for atomicity moves:
 *  - a buffer is written out before its file is synced, truncated, sized,
 *    unlocked, closed, mapped (xFetch, shared memory) or read where the buffer
 *    covers, so every sync and every lock change sees the bytes SQLite wrote;
 *  - before any write to a database file every journal's buffer is written
 *    out, so no database page reaches the file before the journal record that
 *    undoes it, whatever PRAGMA synchronous says;
 *  - before a journal is deleted, truncated or its header rewritten (the ends
 *    of a transaction in the delete, truncate and persist journal modes) the
 *    buffer of its database file is written out, so no transaction is taken for
 *    committed before its pages are in the file, again whatever PRAGMA
 *    synchronous says;
 *  - a database file gathers writes only under an EXCLUSIVE lock and never once
 *    it maps WAL shared memory (in WAL mode a checkpoint writes under a shared
 *    lock while others read).
 * A process killed with writes still gathered loses only bytes nothing on disk
 * depends on yet: journal records whose pages are not in the file, and
 * database pages whose journal still exists to restore them. A failed
 * write-out (disk full) is returned by the call that made it (see gv_flush).
 *
 * Reads: SQLite reads a cell's overflow pages one system call each. A read
 * that starts where the last one ended reads the 64 KiB around it into a
 * window the next reads are served from. The window is valid only while the
 * file is locked (in rollback mode no other process writes a file it holds
 * locked): it is dropped when the lock goes, on truncation and for good with
 * WAL shared memory, and every write through this VFS updates it.
 *
 * Public API: gathervfs_name (registers the VFS once; pass the name to
 * sqlite3_open_v2).
 */
#include "gathervfs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The most the default (unix) VFS writes in one call: it keeps 17 bits of a
 * write's length. 31 journal records or 32 pages of 4 KiB. */
#define GV_BUF_BYTES 0x1ffffu
/* A sequential read of a database file reads this much at once: a cell's
 * overflow pages follow one another, and SQLite reads them one 4 KiB page per
 * call. */
#define GV_RA_BYTES (64u << 10)

typedef struct gv_file {
	sqlite3_file base;     /* methods of this VFS; must be first */
	sqlite3_file *real;    /* the default VFS's file, allocated behind this one */
	int journal;           /* a rollback journal (else a database or other file) */
	int main_db;           /* a main or attached database file */
	int lock;              /* the lock held, SQLITE_LOCK_* (database files) */
	int shm;               /* maps WAL shared memory: never gathers */
	const char *name;      /* SQLite's, valid until xClose; NULL for temporary files */
	int failed;            /* a journal's write-out failed with this: its bytes stay */
	unsigned char *ra;     /* a database file's read-ahead window, GV_RA_BYTES */
	sqlite3_int64 ra_off;  /* its file offset */
	size_t ra_len;         /* its valid bytes; 0: none */
	sqlite3_int64 ra_next; /* where the last read ended: a read there is sequential */
	unsigned char *buf;    /* gathered bytes, GV_BUF_BYTES, allocated on first use */
	size_t len;            /* bytes gathered */
	sqlite3_int64 off;     /* file offset of buf[0] */
	struct gv_file *next;  /* every open file, for the write-outs across files */
} gv_file;

static sqlite3_vfs gv_vfs;
static sqlite3_vfs *gv_real_vfs;
static pthread_mutex_t gv_files_mu = PTHREAD_MUTEX_INITIALIZER;
static gv_file *gv_files;

/* Writes out f's gathered bytes. On failure (a full disk) the error is
 * returned, and SQLite then ends the transaction: a database file drops the
 * bytes (the rollback restores every page they held from the journal, or
 * truncates it away), a journal keeps them and tries no more, so the rollback
 * reads back from memory the records SQLite was told were written. Every call that
 * writes out returns the error to SQLite but xClose and xUnlock: SQLite reaches
 * those with bytes still gathered only after a failed transaction, whose
 * journal restores every page whatever the file holds. */
static int gv_flush(gv_file *f)
{
	if (!f->len)
		return SQLITE_OK;
	if (f->failed)
		return f->failed;
	int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
	if (rc == SQLITE_OK || !f->journal)
		f->len = 0;
	else
		f->failed = rc;
	return rc;
}

/* Whether journal is db's rollback journal: SQLite names it db + "-journal". */
static int gv_journal_of(const char *journal, const char *db)
{
	size_t n = strlen(db);
	return journal && db && strncmp(journal, db, n) == 0 &&
	       strcmp(journal + n, "-journal") == 0;
}

/* Writes out the gathered bytes of every open journal (journal == NULL) or of
 * the database files whose journal is the file named journal. */
static int gv_flush_all(const char *journal)
{
	int rc = SQLITE_OK;
	pthread_mutex_lock(&gv_files_mu);
	for (gv_file *g = gv_files; g && rc == SQLITE_OK; g = g->next)
		if (journal ? g->main_db && gv_journal_of(journal, g->name) : g->journal)
			rc = gv_flush(g);
	pthread_mutex_unlock(&gv_files_mu);
	return rc;
}
static int gv_gathers(const gv_file *f)
{
	return f->journal || (f->main_db && f->lock == SQLITE_LOCK_EXCLUSIVE && !f->shm);
}

static int gv_close(sqlite3_file *pf)
{
	gv_file *f = (gv_file *)pf;
	int rc = gv_flush(f);
	pthread_mutex_lock(&gv_files_mu);
	for (gv_file **p = &gv_files; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	pthread_mutex_unlock(&gv_files_mu);
	int rc2 = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
	free(f->buf);
	free(f->ra);
	f->buf = NULL;
	f->ra = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

/* Copies the part of src (src_len bytes at file offset src_off) that falls in
 * dst (dst_len bytes at dst_off) into dst. */
static void gv_overlay(void *dst, sqlite3_int64 dst_off, size_t dst_len, const void *src,
                       sqlite3_int64 src_off, size_t src_len)
{
	sqlite3_int64 lo = dst_off > src_off ? dst_off : src_off;
	sqlite3_int64 dst_end = dst_off + (sqlite3_int64)dst_len;
	sqlite3_int64 src_end = src_off + (sqlite3_int64)src_len;
	sqlite3_int64 hi = dst_end < src_end ? dst_end : src_end;
	if (lo < hi)
		memcpy((char *)dst + (lo - dst_off), (const char *)src + (lo - src_off),
		       (size_t)(hi - lo));
}

/* Copies into out what the read-ahead window holds of [off, off + amt); whether
 * it held all of it. */
static int gv_ra_hit(const gv_file *f, void *out, int amt, sqlite3_int64 off)
{
	if (!f->ra_len || off < f->ra_off || off + amt > f->ra_off + (sqlite3_int64)f->ra_len)
		return 0;
	memcpy(out, f->ra + (off - f->ra_off), (size_t)amt);
	return 1;
}

/* Reads the window holding off. Only under a lock (no other process writes the
 * file then, and every write of this one passes gv_write), never with WAL
 * shared memory (a checkpoint writes the file while others read), never at
 * the end of the file (a short read). */
static int gv_ra_fill(gv_file *f, sqlite3_int64 off)
{
	f->ra_len = 0;
	if (!f->ra && !(f->ra = malloc(GV_RA_BYTES)))
		return SQLITE_OK;
	sqlite3_int64 start = off - off % GV_RA_BYTES;
	if (f->len && start < f->off + (sqlite3_int64)f->len &&
	    start + (sqlite3_int64)GV_RA_BYTES > f->off) {
		int rc = gv_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	int rc = f->real->pMethods->xRead(f->real, f->ra, (int)GV_RA_BYTES, start);
	if (rc == SQLITE_OK) {
		f->ra_off = start;
		f->ra_len = GV_RA_BYTES;
	}
	return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_OK : rc;
}

static int gv_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off)
{
	gv_file *f = (gv_file *)pf;
	sqlite3_int64 end = f->off + (sqlite3_int64)f->len;
	int sequential = off == f->ra_next;
	f->ra_next = off + amt;
	if (!f->len || off >= end || off + amt <= f->off) {
		if (gv_ra_hit(f, out, amt, off))
			return SQLITE_OK;
		if (sequential && f->main_db && f->lock >= SQLITE_LOCK_SHARED && !f->shm &&
		    (size_t)amt <= GV_RA_BYTES) {
			int rc = gv_ra_fill(f, off);
			if (rc != SQLITE_OK)
				return rc;
			if (gv_ra_hit(f, out, amt, off))
				return SQLITE_OK;
		}
		return f->real->pMethods->xRead(f->real, out, amt, off);
	}
	if (off >= f->off && off + amt <= end) {
		memcpy(out, f->buf + (off - f->off), (size_t)amt);
		return SQLITE_OK;
	}
	if (!f->failed) {
		int rc = gv_flush(f);
		return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
	}
	/* the file's bytes, then the ones a failed write-out kept over them */
	int rc = f->real->pMethods->xRead(f->real, out, amt, off);
	gv_overlay(out, off, (size_t)amt, f->buf, f->off, f->len);
	return rc == SQLITE_IOERR_SHORT_READ && off + amt <= end ? SQLITE_OK : rc;
}

static int gv_write(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 off)
{
	gv_file *f = (gv_file *)pf;
	int rc;
	if (f->main_db && (rc = gv_flush_all(NULL)) != SQLITE_OK)
		return rc;
	/* the window keeps what SQLite wrote, as the file will */
	gv_overlay(f->ra, f->ra_off, f->ra_len, data, off, (size_t)amt);
	/* a journal's header is rewritten where a transaction ends (persist mode) */
	if (f->journal && off == 0 && (rc = gv_flush_all(f->name)) != SQLITE_OK)
		return rc;
	if (!gv_gathers(f) || (size_t)amt > GV_BUF_BYTES) {
		if ((rc = gv_flush(f)) != SQLITE_OK)
			return rc;
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	}
	if (f->len &&
	    (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > GV_BUF_BYTES))
		if ((rc = gv_flush(f)) != SQLITE_OK)
			return rc;
	if (!f->buf && !(f->buf = malloc(GV_BUF_BYTES)))
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	if (!f->len)
		f->off = off;
	memcpy(f->buf + f->len, data, (size_t)amt);
	f->len += (size_t)amt;
	return SQLITE_OK;
}

static int gv_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	gv_file *f = (gv_file *)pf;
	f->ra_len = 0;
	if (size <= f->off)
		f->len = 0, f->failed = 0;
	else if (size < f->off + (sqlite3_int64)f->len)
		f->len = (size_t)(size - f->off);
	int rc = gv_flush(f);
	/* truncating a journal ends a transaction (truncate mode) */
	if (rc == SQLITE_OK && f->journal)
		rc = gv_flush_all(f->name);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int gv_sync(sqlite3_file *pf, int flags)
{
	gv_file *f = (gv_file *)pf;
	int rc = gv_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int gv_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	gv_file *f = (gv_file *)pf;
	int rc = gv_flush(f);
	if (rc != SQLITE_OK && !f->len)
		return rc;
	/* a journal that could not write out still has its bytes */
	if ((rc = f->real->pMethods->xFileSize(f->real, size)) == SQLITE_OK && f->len &&
	    *size < f->off + (sqlite3_int64)f->len)
		*size = f->off + (sqlite3_int64)f->len;
	return rc;
}

static int gv_lock(sqlite3_file *pf, int level)
{
	gv_file *f = (gv_file *)pf;
	int rc = f->real->pMethods->xLock(f->real, level);
	if (rc == SQLITE_OK)
		f->lock = level;
	return rc;
}

static int gv_unlock(sqlite3_file *pf, int level)
{
	gv_file *f = (gv_file *)pf;
	int rc = gv_flush(f);
	if (rc != SQLITE_OK)
		return rc;
	rc = f->real->pMethods->xUnlock(f->real, level);
	if (rc == SQLITE_OK)
		f->lock = level;
	if (level == SQLITE_LOCK_NONE)
		f->ra_len = 0; /* others may write the file from now on */
	return rc;
}

static int gv_check_reserved(sqlite3_file *pf, int *out)
{
	gv_file *f = (gv_file *)pf;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int gv_file_control(sqlite3_file *pf, int op, void *arg)
{
	gv_file *f = (gv_file *)pf;
	/* no write-out: SQLite ignores the result of some (SQLITE_FCNTL_SIZE_HINT),
	 * and none reads or writes what is gathered */
	int rc = f->real->pMethods->xFileControl(f->real, op, arg);
	/* the default VFS names itself; the name of this one shows it is stacked */
	if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK)
		*(char **)arg = sqlite3_mprintf("%s/%z", gv_vfs.zName, *(char **)arg);
	return rc;
}

static int gv_sector_size(sqlite3_file *pf)
{
	gv_file *f = (gv_file *)pf;
	return f->real->pMethods->xSectorSize(f->real);
}

static int gv_device_characteristics(sqlite3_file *pf)
{
	gv_file *f = (gv_file *)pf;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int gv_shm_map(sqlite3_file *pf, int region, int size, int extend, void volatile **pp)
{
	gv_file *f = (gv_file *)pf;
	int rc = gv_flush(f);
	f->shm = 1;
	f->ra_len = 0;
	return rc != SQLITE_OK ? rc : f->real->pMethods->xShmMap(f->real, region, size, extend, pp);
}

static int gv_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	gv_file *f = (gv_file *)pf;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void gv_shm_barrier(sqlite3_file *pf)
{
	gv_file *f = (gv_file *)pf;
	f->real->pMethods->xShmBarrier(f->real);
}

static int gv_shm_unmap(sqlite3_file *pf, int delete_flag)
{
	gv_file *f = (gv_file *)pf;
	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int gv_fetch(sqlite3_file *pf, sqlite3_int64 off, int amt, void **pp)
{
	gv_file *f = (gv_file *)pf;
	int rc = gv_flush(f);
	*pp = NULL;
	if (rc != SQLITE_OK || f->real->pMethods->iVersion < 3)
		return rc;
	return f->real->pMethods->xFetch(f->real, off, amt, pp);
}

static int gv_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
	gv_file *f = (gv_file *)pf;
	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods gv_methods = {
    3,
    gv_close,
    gv_read,
    gv_write,
    gv_truncate,
    gv_sync,
    gv_file_size,
    gv_lock,
    gv_unlock,
    gv_check_reserved,
    gv_file_control,
    gv_sector_size,
    gv_device_characteristics,
    gv_shm_map,
    gv_shm_lock,
    gv_shm_barrier,
    gv_shm_unmap,
    gv_fetch,
    gv_unfetch,
};

static int gv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
	(void)vfs;
	gv_file *f = (gv_file *)pf;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	int rc = gv_real_vfs->xOpen(gv_real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		/* SQLite calls xClose only when pMethods is set; leave it NULL */
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	f->name = name;
	f->journal = (flags & SQLITE_OPEN_MAIN_JOURNAL) != 0;
	f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
	pf->pMethods = &gv_methods;
	pthread_mutex_lock(&gv_files_mu);
	f->next = gv_files;
	gv_files = f;
	pthread_mutex_unlock(&gv_files_mu);
	return SQLITE_OK;
}

/* Deleting a journal ends a transaction (delete mode, the default): its
 * database's pages are written out first. */
static int gv_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	int rc = gv_flush_all(name);
	if (rc != SQLITE_OK)
		return rc;
	return gv_real_vfs->xDelete(gv_real_vfs, name, sync_dir);
}

static pthread_once_t gv_once = PTHREAD_ONCE_INIT;
static int gv_registered;

static void gv_register(void)
{
	gv_real_vfs = sqlite3_vfs_find(NULL);
	if (!gv_real_vfs)
		return;
	/* every call but opening and deleting a file is the default VFS's own, its
	 * pAppData included, so its functions work when handed this struct */
	gv_vfs = *gv_real_vfs;
	gv_vfs.pNext = NULL;
	gv_vfs.szOsFile = (int)sizeof(gv_file) + gv_real_vfs->szOsFile;
	gv_vfs.zName = "ivfkit-gather";
	gv_vfs.xOpen = gv_open;
	gv_vfs.xDelete = gv_delete;
	gv_registered = sqlite3_vfs_register(&gv_vfs, 0) == SQLITE_OK;
}

const char *gathervfs_name(void)
{
	pthread_once(&gv_once, gv_register);
	return gv_registered ? gv_vfs.zName : NULL;
}

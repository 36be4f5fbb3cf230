/*
 * ivf.h - IVF commands on a vec0 table and the one-transaction centroid write.
 *
 * Commands go through the syntax the loaded build understands (ivf_syntax:
 * detected for each ivf_command, once for a whole write). ivf_write_centroids is
 * the only writer: it holds the write lock for as short as it can and either
 * commits a verified index or rolls back to the database as it was.
 *
 * NOTES ON THE DESIGN OF THE WRITE
 *
 * The write (ivf_write_centroids, ivf_load) changes sqlite-vec's shadow tables
 * partly through vec0 and partly directly (bulk.h, load.h), so what vec0 would
 * keep by itself is kept here. Each rule below is numbered once; the function
 * named after it keeps it, and check_index (check.h) audits it. DESIGN.md,
 * "vec0 IVF storage", has the layout these rules are about.
 *
 * The index, as committed:
 *
 *   (1) The trained flag (T_info ivf_trained_<col>) is '1'. set_centroids sets
 *       it through vec0's own set-centroid, never by a direct write.
 *   (2) The centroids are exactly 0..k-1, each blob of the quantized size.
 *       set_centroids: set-centroid:i for i < k (after bulk_drop_centroids or
 *       clear-centroids removed any old ones), then bulk_store_centroids
 *       rewrites each blob at its quantized size (vec0 stores float32 only).
 *   (3) Every cell's centroid exists and no cell is unassigned (centroid -1).
 *       bulk: flush writes cells only for centroids < k and write_batch deletes
 *       each source cell it consumed; reinsert: vec0's insert picks an existing
 *       centroid and assign-vectors drops the emptied -1 cells. verify refuses
 *       COMMIT on any unassigned row (unless assign is none).
 *   (4) A cell's slots are dense from 0 and n_vectors = popcount(validity);
 *       rowids[slot] is the row's rowid and its validity bit is set. flush
 *       writes each cell whole (64 slots, blobs full size, zero-padded: vec0's
 *       later inserts write into them at fixed offsets).
 *   (5) Exactly one rowid-map row per live row, naming its (cell, slot), and no
 *       two rows in one (cell, slot). flush (a write) and write_map (a load,
 *       in rowid order) insert one map row per placed row; verify counts the
 *       cells' vectors and the map rows against the table's rows.
 *   (6) One T_rowids row per row and T_chunks rows of the table's chunk_size
 *       whose validity and rowids mark the row. vec0's inserts keep this; a
 *       load writes them itself (load_base) and checks them (load_check_base).
 *   (7) On a quantized column, one _ivf_vectors row (the float32 copy) per row:
 *       write_batch writes each placed row's copy (read back by read_full from
 *       the old one, or the loaded row itself).
 *   (8) The rows' other columns (auxiliary, other vectors) are kept: the bulk
 *       writer touches only the IVF shadow tables; a reinsert copies every
 *       declared column (mover_prepare) and compares each row read back
 *       (check_batch).
 *
 * The transaction:
 *
 *   (9) Direct writes only on a recognized layout: every shadow schema as
 *       sqlite-vec writes it and vec_version() in the tested list (bulk_layout;
 *       load_ready for a load). Anything else falls back to reinsert, with the
 *       reason in ivf_write_stats.fallback.
 *  (10) All of it is one BEGIN IMMEDIATE .. COMMIT (write_txn). Only that COMMIT
 *       commits: a commit hook turns any other into a rollback (refuse_commit,
 *       commit), and every statement checks the transaction is still open
 *       (txn_step), since SQLite may end it inside sqlite-vec's statements.
 *  (11) Nothing commits unverified: (2)-(8) over the whole index with every
 *       row's vector hash against its source (audit, check_index) after a bulk
 *       write or load, and the self-queries at nprobe 1 (self_queries); all in
 *       verify, before COMMIT.
 *  (12) Other connections see the new index: bump_schema renews the schema
 *       cookie inside the transaction, so they reconnect the table and drop
 *       vec0's per-connection "untrained" cache.
 *  (13) A failure leaves the database as it was: roll_back (the journal played
 *       back, "disk full" said first when the disk ran out, out_of_disk). A plan
 *       made before the lock (plan_rows) is used only while PRAGMA data_version
 *       shows no other commit since, and only up to the first row that differs.
 *  (14) Waiting is bounded: busy_wait spends one budget of busy_ms over the
 *       lock, cache spills and COMMIT together.
 */
#ifndef IVFKIT_IVF_H
#define IVFKIT_IVF_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "load.h"
#include "progress.h"
#include "vtab.h"

#define IVF_MAX_NLIST 65536 /* sqlite-vec's VEC0_IVF_MAX_NLIST */
/* How long to wait for another writer: ivf_write_opts.busy_ms, and every
 * connection vecbench opens. */
#define IVF_BUSY_MS 5000

/* How IVF commands are spelled by the loaded build: v0.1.10-alpha.2 and later use
 * a hidden column named after the table, alpha.1 puts the command in the id. */
typedef enum { IVF_CMD_UNKNOWN = 0, IVF_CMD_HIDDEN = 1, IVF_CMD_ID = 2 } ivf_cmd_syntax;

typedef enum {
	IVF_ASSIGN_REINSERT = 0, /* delete + insert each row (correct on every release) */
	IVF_ASSIGN_NATIVE = 1,   /* sqlite-vec's assign-vectors (misassigns up to alpha.3) */
	IVF_ASSIGN_NONE = 2,     /* set centroids only */
	IVF_ASSIGN_BULK = 3,     /* cells written directly (bulk.h), else reinsert */
} ivf_assign;

/* Each ivf_assign's name, indexed by value, NULL-terminated (names.h): the
 * spelling of ivftrain --assign, vecbench's assign = and every report. */
extern const char *const ivf_assign_names[];
const char *ivf_assign_name(ivf_assign a);
/* 0 with *out set when s names an ivf_assign; -1 (out untouched) otherwise. */
int ivf_assign_parse(const char *s, ivf_assign *out);

typedef struct ivf_write_opts {
	ivf_assign assign;
	size_t batch;       /* rows moved per statement batch (default VTAB_BATCH) */
	size_t bulk_batch;  /* rows read and assigned per step of a bulk write (default
	                       8192: one GEMM of 8192 x d x k, 25 MiB at 784 dims) */
	int verify_samples; /* self-queries at nprobe 1 before COMMIT (default 200; 0 = off) */
	uint64_t seed;      /* which rows are verified */
	int busy_ms;        /* wait for another writer this long (default IVF_BUSY_MS) */
	int cache_mib;      /* page cache while writing: 0 = auto (twice the file, at most
	                       a quarter of RAM), < 0 = the connection's own */
} ivf_write_opts;

typedef struct ivf_write_stats {
	double wait_s; /* waiting for other connections (the write lock, readers
	                  at a cache spill or COMMIT): opts.busy_ms at most, in all */
	double lock_s; /* write lock held: BEGIN IMMEDIATE .. COMMIT/ROLLBACK */
	double clear_s, set_s, assign_s, verify_s, commit_s;
	int64_t rows_moved;
	int verify_checked, verify_failed;
	int was_trained;                /* centroids existed and were cleared */
	int64_t ncentroids, unassigned; /* after commit, from the shadow tables */
	int64_t file_bytes, free_pages, page_size;
	int64_t rows;     /* rows in the table */
	double imbalance; /* of the committed index: sum(cell size^2) * k / rows^2 */
	double read_s, delete_s, insert_s; /* the reinsert move's three steps */
	double drop_s;       /* assign-vectors (after a reinsert: dropping emptied cells) */
	double integrity_s;  /* PRAGMA integrity_check after commit */
	double vacuum_s;     /* ivf_vacuum, when run */
	int64_t cache_kib;   /* page cache the write ran with */
	ivf_assign assigned; /* how rows were moved: bulk falls back to reinsert ... */
	char fallback[160];  /* ... for the reason given here */
	double bulk_read_s, bulk_nearest_s, bulk_write_s; /* the bulk write's three steps */
	double plan_s;        /* the rows' nearest centroids worked out before the lock */
	int64_t planned_rows; /* rows whose centroid the write took from that plan */
	double check_s;       /* the audit of the whole index before COMMIT (bulk) */
	int committed;        /* COMMIT succeeded: the new index is in the file, even
	                         when a check after it or ivf_vacuum fails */
	double base_s;        /* a load: writing the _rowids and _chunks rows */
	/* how the write spelled its commands (ivf_syntax, once), for reports */
	ivf_cmd_syntax syntax;
} ivf_write_stats;

void ivf_write_defaults(ivf_write_opts *o);

/* The syntax the loaded build takes IVF commands in on t, from the table's
 * declared columns: *s is IVF_CMD_HIDDEN or IVF_CMD_ID. */
int ivf_syntax(sqlite3 *db, const vtab *t, ivf_cmd_syntax *s, char *err);
/* Runs a command string ("clear-centroids", "assign-vectors", "nprobe=8",
 * "compute-centroids") on the table, in the syntax ivf_syntax finds. */
int ivf_command(sqlite3 *db, const vtab *t, const char *cmd, char *err);
/* set-centroid:i with a float32 blob of t->d floats. */
int ivf_set_centroid(sqlite3 *db, const vtab *t, int i, const float *c, char *err);
/* Number of centroids and of rows in unassigned cells, from the shadow tables. */
int ivf_state(sqlite3 *db, const vtab *t, int64_t *ncentroids, int64_t *unassigned, char *err);

/* One transaction: BEGIN IMMEDIATE, clear-centroids when trained (a bulk write
 * only drops the centroids), set-centroid x k, assign as opts->assign says (a
 * reinsert reads each moved row back and compares it), verify (each sampled row
 * finds itself at nprobe 1, distance 0 counts; after a bulk write also
 * check_index over the whole index, every row's vector hash compared to its
 * source's), a new schema cookie (other connections then reconnect the table
 * and drop vec0's cached "untrained"), COMMIT; on any failure ROLLBACK and the
 * message says why ("disk full" first when the disk ran out). opts->busy_ms
 * bounds all waiting for other connections in the write together. Only this
 * COMMIT can commit: a commit hook refuses any other for the duration (and is
 * cleared after), and every statement checks that the transaction is still
 * open. Then integrity_check and the post-commit state into stats;
 * stats->committed tells a failure there from one before COMMIT.
 * Tables with quantizer=int8/binary: the centroids are stored quantized after
 * set-centroid (bulk_store_centroids) and rows move only by the bulk write
 * (bulk.h); reinsert and native are refused (ERR_INPUT), and so is a layout the
 * bulk write does not know: vec0's point read of a quantized column does not
 * give the row's float32 vector back.
 * A rollback restores every page in use byte for byte (after an I/O error too:
 * the journal is played back before returning); pages on SQLite's freelist may
 * be left holding other unused bytes, since SQLite does not journal a free page
 * it reuses. A file without free pages is byte-identical.
 * After a rollback reopen the database before using the table on this
 * connection: sqlite-vec caches "trained" per connection and does not reset it
 * on ROLLBACK. */
int ivf_write_centroids(sqlite3 *db, const vtab *t, const float *c, size_t k,
                        const ivf_write_opts *opts, ivf_write_stats *stats, prog_t *prog,
                        char *err);

/* ERR_INPUT naming the database when this connection cannot write it: a
 * read-only file or file system, or a folder where the journal cannot be
 * created. Probes with a write that is rolled back before it reaches the file;
 * when another writer holds the lock it cannot tell and returns 0. For a check
 * before the slow work that precedes a write. */
int ivf_check_writable(sqlite3 *db, char *err);
/* Rows to load, with their keys and auxiliary values (load.h). */
typedef load_rows ivf_rows;

/* Fills an empty table with rows in the same one transaction, without vec0's
 * per-row insert (load.h, bulk.h): set-centroid x k, the base tables and the
 * assigned cells written directly, then verified before COMMIT (the base
 * tables with every key and auxiliary value, check_index over the whole index
 * with every row's hash against its source row's, the self-queries). ERR_INPUT
 * (one line naming the table) when load_ready refuses the table or
 * load_check_rows the rows. What ivf_write_centroids says about rollback
 * holds here too. */
int ivf_load(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
             const ivf_write_opts *opts, ivf_write_stats *stats, prog_t *prog, char *err);

/* VACUUM (gives the free pages left by a move back to the file system) and
 * refreshes stats' file size and free pages. */
int ivf_vacuum(sqlite3 *db, ivf_write_stats *stats, char *err);

/* "hidden column" / "id column" / "unknown", for reports. */
const char *ivf_syntax_name(ivf_cmd_syntax s);

#endif

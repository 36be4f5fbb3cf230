/*
 * test_gathervfs.c - gathervfs against real SQLite files: a write transaction
 * through it reads back, through it and through the default VFS; a reader
 * through it sees what another connection commits; a ROLLBACK after the cache
 * spilled pages into the file restores them; and kill -9 right after 24 of a
 * transaction's writes, from its first to COMMIT's last, with PRAGMA
 * synchronous FULL and OFF, leaves the database intact and wholly old.
 * The write is many 4 KiB-page blobs under a small page cache, so journal
 * records, spills and COMMIT's pages all go through the gathering.
 */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "gathervfs.h"

#define NROWS 2500 /* rows of the large write: its pages spill from a 512 KiB cache */
#define NSMALL 8   /* rows of the small one: its journal fits one gathered write... */
#define NAPPEND 48 /* ...and the rows it adds take more: COMMIT writes pages out first */
#define BLOB 6000  /* two pages of 4 KiB a row: overflow chains, as vec0's cells */
#define NKILL 24   /* kill points of the large write */

static int nrows = NROWS; /* rows of the table the test writes */
static int nappend;       /* rows generation 1 adds to it, ids from APPEND_ID */
#define APPEND_ID 1000000

static char *dir;

/* Row id's blob in generation gen: bytes of a simple mixing of the two. */
static void fill(unsigned char *b, int id, int gen)
{
	uint32_t x = (uint32_t)id * 2654435761u ^ (uint32_t)gen * 40503u;
	for (int i = 0; i < BLOB; i++) {
		x = x * 1664525u + 1013904223u;
		b[i] = (unsigned char)(x >> 24);
	}
}

static sqlite3 *open_db(const char *path, const char *vfs)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) !=
	    SQLITE_OK)
		fail_msg("open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* Row i's id in generation gen: gen 1 moves the even rows to i + NROWS. */
static int row_id(int i, int gen)
{
	return gen == 1 && i % 2 == 0 ? i + nrows : i;
}

/* Writes generation gen (0: the table; 1: odd rows rewritten, even rows
 * deleted and inserted again under a new id, so pages are freed and reused, as
 * in the bulk write, and nappend rows added). */
static void write_gen(sqlite3 *db, int gen)
{
	unsigned char b[BLOB];
	sqlite3_stmt *up = NULL, *del = NULL, *ins = NULL;
	if (gen == 0)
		exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE t SET b = ?2 WHERE id = ?1", -1, &up, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "DELETE FROM t WHERE id = ?1", -1, &del, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, ?2)", -1, &ins, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < nrows; i++) {
		int moved = gen == 1 && i % 2 == 0;
		if (moved) {
			sqlite3_bind_int(del, 1, i);
			assert_int_equal(sqlite3_step(del), SQLITE_DONE);
			sqlite3_reset(del);
		}
		sqlite3_stmt *st = gen == 0 || moved ? ins : up;
		fill(b, row_id(i, gen), gen);
		sqlite3_bind_int(st, 1, row_id(i, gen));
		sqlite3_bind_blob(st, 2, b, BLOB, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	for (int j = 0; gen == 1 && j < nappend; j++) {
		fill(b, APPEND_ID + j, gen);
		sqlite3_bind_int(ins, 1, APPEND_ID + j);
		sqlite3_bind_blob(ins, 2, b, BLOB, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(up);
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
}

/* Whether the table is generation gen exactly: nrows rows, each with its id and
 * bytes, and generation 1's nappend more. */
static int is_gen(sqlite3 *db, int gen)
{
	sqlite3_stmt *st = NULL;
	unsigned char want[BLOB];
	int n = 0;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT b FROM t WHERE id = ?1", -1, &st, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < nrows; i++, n++) {
		sqlite3_bind_int(st, 1, row_id(i, gen));
		fill(want, row_id(i, gen), gen);
		int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == BLOB &&
		         !memcmp(want, sqlite3_column_blob(st, 0), BLOB);
		sqlite3_reset(st);
		if (!ok)
			break;
	}
	sqlite3_finalize(st);
	sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL);
	int count = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	return n == nrows && count == nrows + (gen == 1 ? nappend : 0);
}

/* The generation the file holds through the default VFS (a hot journal is
 * played back first), after integrity_check passes; -1 for any other content. */
static int read_gen(const char *path)
{
	sqlite3 *db = open_db(path, NULL);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	int gen = is_gen(db, 0) ? 0 : is_gen(db, 1) ? 1 : -1;
	sqlite3_close(db);
	return gen;
}

/* A new database in the test folder holding generation 0; its path (tu_path's
 * buffer). */
static const char *new_gen0(const char *name)
{
	const char *p = tu_path(dir, name);
	sqlite3 *db = open_db(p, NULL);
	write_gen(db, 0);
	sqlite3_close(db);
	return p;
}

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return gathervfs_name() ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmdir(dir);
	return 0;
}

/* A write transaction begun on path through gathervfs, with a page cache of
 * cache_kib KiB (small enough that pages spill into the file before COMMIT)
 * and PRAGMA synchronous = sync. */
static sqlite3 *begin_gathered(const char *path, int cache_kib, const char *sync)
{
	char sql[64];
	sqlite3 *db = open_db(path, gathervfs_name());
	snprintf(sql, sizeof sql, "PRAGMA synchronous = %s", sync);
	exec(db, sql);
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", cache_kib);
	exec(db, sql);
	exec(db, "BEGIN IMMEDIATE");
	return db;
}

/* gen 0 through the default VFS; the next through gathervfs with a 1 MiB cache,
 * so journal records, spills and COMMIT's pages are all gathered. */
static void test_commit_reads_back(void **state)
{
	(void)state;
	const char *p = new_gen0("commit.db");
	sqlite3 *db = begin_gathered(p, 1024, "FULL");
	write_gen(db, 1);
	assert_true(is_gen(db, 1)); /* read back through the windows the writes passed */
	exec(db, "COMMIT");
	assert_true(is_gen(db, 1));
	sqlite3_close(db);
	assert_int_equal(read_gen(p), 1);
}

/* A connection through gathervfs reads ahead; what another connection commits
 * between its transactions must show in its next one. */
static void test_reads_see_other_commits(void **state)
{
	(void)state;
	const char *p = new_gen0("readers.db");
	sqlite3 *reader = open_db(p, gathervfs_name());
	exec(reader, "PRAGMA cache_size = -256"); /* pages come from the file, not the cache */
	assert_true(is_gen(reader, 0));
	sqlite3 *writer = open_db(p, NULL);
	exec(writer, "BEGIN IMMEDIATE");
	write_gen(writer, 1);
	exec(writer, "COMMIT");
	sqlite3_close(writer);
	assert_true(is_gen(reader, 1));
	sqlite3_close(reader);
}

/* A ROLLBACK reads the journal back over pages the cache already spilled into
 * the file: the journal must hold their records, and the read must see the
 * gathered ones. */
static void test_rollback_after_spill_restores(void **state)
{
	(void)state;
	const char *p = new_gen0("rollback.db");
	sqlite3 *db = begin_gathered(p, 256, "FULL");
	write_gen(db, 1);
	exec(db, "ROLLBACK");
	sqlite3_close(db);
	assert_int_equal(read_gen(p), 0);
}

/* The child's pwrite system calls, through SQLite's own hook for them in the
 * unix VFS (the layer below gathervfs): SIGKILL right after the kill_after-th
 * (0: never). */
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
static pwrite_fn real_pwrite, real_pwrite64;
static long writes, kill_after;

static void count_write(void)
{
	if (++writes == kill_after)
		kill(getpid(), SIGKILL);
}

static ssize_t counting_pwrite(int fd, const void *b, size_t n, off_t off)
{
	ssize_t r = real_pwrite(fd, b, n, off);
	count_write();
	return r;
}

static ssize_t counting_pwrite64(int fd, const void *b, size_t n, off_t off)
{
	ssize_t r = real_pwrite64(fd, b, n, off);
	count_write();
	return r;
}

static void hook_pwrite(void)
{
	sqlite3_vfs *u = sqlite3_vfs_find("unix");
	assert_non_null(u);
	real_pwrite = (pwrite_fn)u->xGetSystemCall(u, "pwrite");
	real_pwrite64 = (pwrite_fn)u->xGetSystemCall(u, "pwrite64");
	if (real_pwrite)
		u->xSetSystemCall(u, "pwrite", (sqlite3_syscall_ptr)counting_pwrite);
	if (real_pwrite64)
		u->xSetSystemCall(u, "pwrite64", (sqlite3_syscall_ptr)counting_pwrite64);
	assert_true(real_pwrite || real_pwrite64);
}

/* One child writes gen 1 over gen 0 through gathervfs and commits, killed
 * right after its write number after (0: left to finish). Its number of
 * writes when it finished, or -1 when it was killed. */
static long run_child(const char *path, const char *sync, long after)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		hook_pwrite();
		kill_after = after;
		sqlite3 *db = begin_gathered(path, 512, sync);
		write_gen(db, 1);
		exec(db, "COMMIT");
		sqlite3_close(db);
		_exit(write(fds[1], &writes, sizeof writes) == sizeof writes ? 0 : 1);
	}
	close(fds[1]);
	long n = -1;
	if (read(fds[0], &n, sizeof n) != sizeof n)
		n = -1;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		return -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return n;
}

/* Kills at up to NKILL writes spread from the first to the last (COMMIT's), on
 * a table of rows rows to which the write adds append: each leaves the old
 * table, since the journal still exists at every one. */
static void kill_points(const char *sync, int rows, int append)
{
	nrows = rows;
	nappend = append;
	char orig[4096], p[4096], cmd[3 * 4096 + 64];
	snprintf(p, sizeof p, "orig-%s-%d.db", sync, rows);
	snprintf(orig, sizeof orig, "%s", new_gen0(p));
	snprintf(p, sizeof p, "%s/kill-%s-%d.db", dir, sync, rows);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && rm -f '%s-journal'", orig, p, p);
	assert_int_equal(system(cmd), 0);
	long total = run_child(p, sync, 0);
	assert_true(total > 1);
	assert_int_equal(read_gen(p), 1);
	long npoints = total < NKILL ? total : NKILL;
	for (long i = 0; i < npoints; i++) {
		assert_int_equal(system(cmd), 0);
		long after = 1 + (total - 1) * i / (npoints - 1);
		assert_int_equal(run_child(p, sync, after), -1);
		if (read_gen(p) != 0)
			fail_msg("synchronous=%s, killed after write %ld of %ld: the table is not "
			         "the old one",
			         sync, after, total);
	}
	print_message("  synchronous=%s, %d rows (+%d): %ld kills at writes 1 .. %ld of %ld, each "
	              "left the old table\n",
	              sync, rows, append, npoints, total, total);
	nappend = 0;
}

static void test_kill_9_full(void **state)
{
	(void)state;
	kill_points("FULL", NROWS, 0);
	kill_points("FULL", NSMALL, NAPPEND);
}

/* With synchronous OFF SQLite syncs nothing, so only the order of the writes
 * keeps a killed process safe: every journal record before its page. The
 * small write's records are all still gathered when COMMIT's first pages go
 * out (the added rows' pages fill the database's buffer). */
static void test_kill_9_sync_off(void **state)
{
	(void)state;
	kill_points("OFF", NROWS, 0);
	kill_points("OFF", NSMALL, NAPPEND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit_reads_back),
	    cmocka_unit_test(test_reads_see_other_commits),
	    cmocka_unit_test(test_rollback_after_spill_restores),
	    cmocka_unit_test(test_kill_9_full),
	    cmocka_unit_test(test_kill_9_sync_off),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

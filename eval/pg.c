/*
 * pg.c - a throwaway PostgreSQL server and interruptible libpq calls (see pg.h).
 *
 * Programs are started by fork + execv (no shell): initdb and postgres write to
 * the cluster's log, whose last error line is what a failure reports. The server
 * is the postmaster itself, not pg_ctl, so that its pid is ours to wait for
 * and to signal.
 */
#define _GNU_SOURCE
#include "pg.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "err.h"
#include "intr.h"
#include "workdir.h"

#define PG_USER "ivfkit"    /* the cluster's superuser (trust auth on its socket) */
#define PG_PORT "5432"      /* names the socket file; nothing listens on TCP */
#define PG_START_WAIT_S 120 /* startup on a loaded machine: crash recovery never runs */
#define PG_STOP_WAIT_S 10   /* then SIGKILL */

void pg_defaults(pg_opts *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->bin, sizeof o->bin, "/usr/lib/postgresql/15/bin");
	snprintf(o->shared_buffers, sizeof o->shared_buffers, "1GB");
	snprintf(o->maintenance_work_mem, sizeof o->maintenance_work_mem, "1GB");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The account the server runs as when we are root (PostgreSQL refuses root). */
static const struct passwd *run_as(void)
{
	if (geteuid() != 0)
		return NULL;
	const struct passwd *pw = getpwnam("postgres");
	return pw ? pw : getpwnam("nobody");
}

/* Starts argv[0] in its own session with stdout/stderr on out (stdin empty), as
 * pw when given, killed by deathsig when this process dies. 0 on failure. */
static pid_t spawn(char *const argv[], int out, const struct passwd *pw, int deathsig)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid < 0 ? 0 : pid;
	/* the child: only async-signal-safe calls until execv */
	int in = open("/dev/null", O_RDONLY);
	if (setsid() < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (pw && (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)))
		_exit(126);
	/* after setuid, which clears it; and the parent may be gone already */
	if (prctl(PR_SET_PDEATHSIG, deathsig) || getppid() != parent)
		_exit(126);
	execv(argv[0], argv);
	static const char msg[] = "cannot execute the program\n";
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(127);
	_exit(127);
}

/* Waits for pid; Ctrl-C kills it. Its exit status, or ERR_INTR. */
static int wait_child(pid_t pid, char *err)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return err_set(err, ERR_FAIL, "waitpid: %s", strerror(errno));
		if (intr_pending()) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return err_set(err, ERR_INTR, "interrupted while starting PostgreSQL");
		}
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The log's last line that says what went wrong (FATAL, ERROR, error), else
 * its last line: what a failure reports. */
static void log_reason(const char *log, char *buf, size_t len)
{
	FILE *f = fopen(log, "r");
	char line[1024];
	snprintf(buf, len, "no log");
	if (!f)
		return;
	int best = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0])
			continue;
		int hit = strstr(line, "FATAL") || strstr(line, "ERROR") || strstr(line, "error") ||
		          strstr(line, "cannot");
		if (hit || !best) {
			snprintf(buf, len, "%.*s", (int)(len > 1 ? len - 1 : 0), line);
			best |= hit;
		}
	}
	fclose(f);
}

/* pg_config --sharedir of bin into buf; 0 on success. */
static int sharedir(const char *bin, char *buf, size_t len)
{
	char prog[PG_PATH + 16];
	int fd[2];
	snprintf(prog, sizeof prog, "%s/pg_config", bin);
	if (access(prog, X_OK) != 0 || pipe(fd) != 0)
		return -1;
	char *argv[] = {prog, "--sharedir", NULL};
	pid_t pid = spawn(argv, fd[1], NULL, SIGKILL);
	close(fd[1]);
	size_t n = 0;
	ssize_t got;
	while (n + 1 < len &&
	       ((got = read(fd[0], buf + n, len - 1 - n)) > 0 || (got < 0 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	close(fd[0]);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	char e[ERR_LEN];
	return pid && wait_child(pid, e) == 0 && buf[0] ? 0 : -1;
}

int pg_can_start(const pg_opts *o, char *why, size_t len)
{
	static const char *const progs[] = {"initdb", "postgres"};
	char path[PG_PATH + 64], share[PG_PATH];
	for (size_t i = 0; i < sizeof progs / sizeof *progs; i++) {
		snprintf(path, sizeof path, "%s/%s", o->bin, progs[i]);
		if (access(path, X_OK) != 0) {
			snprintf(why, len,
			         "no PostgreSQL server at %.300s (install postgresql-15, or set "
			         "[pgvector] bin or dsn)",
			         path);
			return 0;
		}
	}
	if (geteuid() == 0 && !run_as()) {
		snprintf(why, len,
		         "PostgreSQL refuses root and there is no postgres or nobody "
		         "user to run it as");
		return 0;
	}
	if (sharedir(o->bin, share, sizeof share) != 0) {
		snprintf(why, len,
		         "%.300s/pg_config --sharedir failed: cannot tell where pgvector "
		         "would be",
		         o->bin);
		return 0;
	}
	snprintf(path, sizeof path, "%s/extension/vector.control", share);
	if (access(path, R_OK) != 0) {
		snprintf(why, len,
		         "pgvector is not installed into %.300s (no %.300s; scripts/install-deps "
		         "--bench builds it)",
		         o->bin, path);
		return 0;
	}
	return 1;
}

/* v as a conninfo value: quoted, with ' and \ escaped. */
static void conn_value(char *buf, size_t len, const char *v)
{
	size_t n = 0;
	if (len < 3)
		return;
	buf[n++] = '\'';
	for (; *v && n + 3 < len; v++) {
		if (*v == '\'' || *v == '\\')
			buf[n++] = '\\';
		buf[n++] = *v;
	}
	buf[n++] = '\'';
	buf[n] = 0;
}

/* initdb into s->dir/data, logging to log. */
static int initdb(const pg_opts *o, const pg_server *s, int log, const char *logpath, char *err)
{
	char prog[PG_PATH + 16], data[PG_PATH + 16], why[512];
	snprintf(prog, sizeof prog, "%s/initdb", o->bin);
	snprintf(data, sizeof data, "%s/data", s->dir);
	char *argv[] = {prog,    "-D", data,   "-U",         PG_USER,     "-A",
	                "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
	                NULL};
	pid_t pid = spawn(argv, log, run_as(), SIGKILL);
	if (!pid)
		return err_set(err, ERR_FAIL, "fork: %s", strerror(errno));
	int rc = wait_child(pid, err);
	if (rc < 0)
		return rc;
	if (rc != 0) {
		log_reason(logpath, why, sizeof why);
		return err_set(err, ERR_FAIL, "initdb failed (status %d): %s", rc, why);
	}
	return 0;
}

/* Starts the postmaster and waits until it accepts connections. */
static int postmaster(const pg_opts *o, pg_server *s, int log, const char *logpath, char *err)
{
	char prog[PG_PATH + 16], data[PG_PATH + 16], sb[64], mwm[64], why[512];
	snprintf(prog, sizeof prog, "%s/postgres", o->bin);
	snprintf(data, sizeof data, "%s/data", s->dir);
	snprintf(sb, sizeof sb, "shared_buffers=%s", o->shared_buffers);
	snprintf(mwm, sizeof mwm, "maintenance_work_mem=%s", o->maintenance_work_mem);
	char *argv[] = {prog, "-D", data, "-k", s->dir, "-p", PG_PORT, "-c", "listen_addresses=",
	                "-c", sb,   "-c", mwm,  NULL};
	/* SIGQUIT: immediate shutdown, which takes the backends down too */
	s->pid = spawn(argv, log, run_as(), SIGQUIT);
	if (!s->pid)
		return err_set(err, ERR_FAIL, "fork: %s", strerror(errno));
	for (int waited = 0; waited < PG_START_WAIT_S * 20; waited++) {
		int st;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			log_reason(logpath, why, sizeof why);
			return err_set(err, ERR_FAIL, "PostgreSQL exited at startup: %s", why);
		}
		if (PQping(s->conninfo) == PQPING_OK)
			return 0;
		if (intr_pending())
			return err_set(err, ERR_INTR, "interrupted while starting PostgreSQL");
		sleep_ms(50);
	}
	return err_set(err, ERR_FAIL, "PostgreSQL did not accept connections within %d s (log %s)",
	               PG_START_WAIT_S, logpath);
}

int pg_start(const pg_opts *o, const char *base, pg_server *s, char *err)
{
	char logpath[PG_PATH + 16], q[PG_PATH + 8];
	const struct passwd *pw = run_as();
	struct stat st;
	memset(s, 0, sizeof *s);
	if (snprintf(s->dir, sizeof s->dir, "%s/pgXXXXXX", base) >= (int)sizeof s->dir ||
	    !mkdtemp(s->dir)) {
		int e = errno;
		s->dir[0] = 0;
		return err_set(err, ERR_FAIL, "cannot make a cluster folder in %s: %s", base,
		               strerror(e));
	}
	/* the socket's path must fit sockaddr_un (107 bytes) */
	if (strlen(s->dir) + sizeof "/.s.PGSQL." PG_PORT > 107) {
		pg_stop(s);
		return err_set(err, ERR_FAIL,
		               "the work folder %s is too long a path for PostgreSQL's socket "
		               "(set [run] db_dir or TMPDIR to a shorter one)",
		               base);
	}
	/* the server's user must reach its folder through the run's (mkdtemp: 0700) */
	if (pw && (chown(s->dir, pw->pw_uid, pw->pw_gid) != 0 ||
	           (stat(base, &st) == 0 && chmod(base, (st.st_mode & 07777) | 0111) != 0))) {
		int e = errno;
		pg_stop(s);
		return err_set(err, ERR_FAIL, "cannot hand %s to user %s: %s", base, pw->pw_name,
		               strerror(e));
	}
	conn_value(q, sizeof q, s->dir);
	snprintf(s->conninfo, sizeof s->conninfo,
	         "host=%s port=" PG_PORT " user=" PG_USER " dbname=postgres", q);
	snprintf(logpath, sizeof logpath, "%s/log", s->dir);
	int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log < 0) {
		int e = errno;
		pg_stop(s);
		return err_set(err, ERR_FAIL, "cannot write %s: %s", logpath, strerror(e));
	}
	int rc = initdb(o, s, log, logpath, err);
	if (rc == 0)
		rc = postmaster(o, s, log, logpath, err);
	close(log);
	if (rc < 0)
		pg_stop(s);
	return rc;
}

void pg_stop(pg_server *s)
{
	if (s->pid > 0) {
		int st;
		kill(s->pid, SIGQUIT);
		int waited = 0;
		while (waitpid(s->pid, &st, WNOHANG) == 0) {
			if (waited++ == PG_STOP_WAIT_S * 50)
				kill(s->pid, SIGKILL);
			sleep_ms(20);
		}
	}
	wd_remove(s->dir);
	memset(s, 0, sizeof *s);
}

/* libpq's message as one line: newlines and tabs become single spaces. */
static void one_line(char *dst, size_t len, const char *msg)
{
	size_t n = 0;
	int space = 1;
	for (; *msg && n + 1 < len; msg++) {
		int ws = *msg == '\n' || *msg == '\t' || *msg == '\r' || *msg == ' ';
		if (ws && space)
			continue;
		dst[n++] = ws ? ' ' : *msg;
		space = ws;
	}
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
}

int pg_fail(PGconn *c, const char *what, char *err)
{
	char msg[ERR_LEN];
	one_line(msg, sizeof msg, c ? PQerrorMessage(c) : "out of memory");
	if (c && PQstatus(c) == CONNECTION_BAD)
		return err_set(err, ERR_FAIL, "%s: the PostgreSQL server is gone: %s", what, msg);
	return err_set(err, ERR_FAIL, "%s: %s", what, msg);
}

/* Notices (and the FATAL a dying server sends) would go to stderr: errors
 * reach the user as one line through pg_fail instead. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int pg_connect(const char *conninfo, PGconn **conn, char *err)
{
	char msg[ERR_LEN];
	PGconn *c = PQconnectdb(conninfo);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		one_line(msg, sizeof msg, c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return err_set(err, ERR_FAIL, "cannot connect to PostgreSQL: %s", msg);
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	*conn = c;
	return 0;
}

/* Cancels c's running command (Ctrl-C arrived). */
static void cancel(PGconn *c)
{
	char e[256];
	PGcancel *k = PQgetCancel(c);
	if (k)
		PQcancel(k, e, sizeof e);
	PQfreeCancel(k);
}

int pg_exec(PGconn *c, const char *what, const char *sql, char *err)
{
	if (!PQsendQuery(c, sql))
		return pg_fail(c, what, err);
	int intr = 0;
	struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
	while (PQconsumeInput(c) && PQisBusy(c)) {
		if (!intr && intr_pending()) {
			cancel(c);
			intr = 1;
		}
		poll(&p, 1, 100);
	}
	int rc = 0;
	PGresult *res;
	while ((res = PQgetResult(c))) {
		ExecStatusType t = PQresultStatus(res);
		if (rc == 0 && t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
			rc = intr ? err_set(err, ERR_INTR, "interrupted during %s", what)
			          : pg_fail(c, what, err);
		PQclear(res);
	}
	if (rc == 0 && PQstatus(c) == CONNECTION_BAD)
		rc = pg_fail(c, what, err);
	if (rc == 0 && intr)
		rc = err_set(err, ERR_INTR, "interrupted during %s", what);
	return rc;
}

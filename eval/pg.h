/*
 * pg.h - PostgreSQL for vecbench's pgvector peer: a throwaway server of the
 * run's own, or an existing one by its connection string, and libpq calls that
 * Ctrl-C can stop.
 *
 * A pg_server is a cluster that pg_start makes in a fresh folder under the run's
 * work folder (initdb, then postgres listening on a unix socket in that folder
 * only: listen_addresses = '', no TCP) and that pg_stop shuts down and removes,
 * on every exit path the caller can catch. Run as root, both programs run as
 * the `postgres` user (else `nobody`), since PostgreSQL refuses root; they are
 * in a session of their own (a terminal's Ctrl-C reaches vecbench, which stops
 * them) and die with vecbench (parent-death signal), so even kill -9 leaves no
 * server behind, only a folder the next run's work-folder sweep removes.
 * Errors are one line: libpq's multi-line messages are joined.
 */
#ifndef IVFKIT_PG_H
#define IVFKIT_PG_H

#include <stddef.h>
#include <sys/types.h>

#define PG_PATH 4096 /* = CFG_PATH: config.c parses paths into these */
#define PG_SETTING 16

struct pg_conn; /* libpq's PGconn */

/* [pgvector] in vecbench's config; pg_defaults fills the policy. */
typedef struct pg_opts {
	char dsn[PG_PATH];                     /* an existing server; "" = start one */
	char bin[PG_PATH];                     /* initdb, postgres and pg_config */
	char shared_buffers[PG_SETTING];       /* the started server's */
	char maintenance_work_mem[PG_SETTING]; /* set in the session: index builds */
} pg_opts;

typedef struct pg_server {
	pid_t pid;         /* the postmaster; 0 = not running */
	char dir[PG_PATH]; /* the cluster's folder: data/, socket, log */
	char conninfo[PG_PATH + 64];
} pg_server;

/* Defaults: Debian's PostgreSQL 15 binaries, shared_buffers and
 * maintenance_work_mem 1GB (Fashion-MNIST's HNSW graph, ~0.5 GB, builds in
 * memory and its pages stay cached while it is queried). */
void pg_defaults(pg_opts *o);

/* 1 when pg_start can run here: the binaries, pgvector installed into them, a
 * user to run them as; else 0 with why (one line). */
int pg_can_start(const pg_opts *o, char *why, size_t len);

/* Makes and starts a cluster under base (a folder the run owns); s->conninfo
 * then reaches it. On failure (ERR_FAIL with initdb's or the server's last log
 * line, ERR_INTR after Ctrl-C) nothing is left: no process, no folder. */
int pg_start(const pg_opts *o, const char *base, pg_server *s, char *err);

/* Stops the server (immediate shutdown: nothing in it is kept) and removes its
 * folder. Safe on a server that died or never started; s is zeroed. */
void pg_stop(pg_server *s);

/* A connection to conninfo (ERR_FAIL with libpq's reason). */
int pg_connect(const char *conninfo, struct pg_conn **conn, char *err);

/* Runs sql (one or more commands, no results wanted); Ctrl-C cancels it on the
 * server and returns ERR_INTR. what names it in the error. */
int pg_exec(struct pg_conn *c, const char *what, const char *sql, char *err);

/* ERR_FAIL with "what: libpq's message" as one line, saying so when the
 * server is gone. */
int pg_fail(struct pg_conn *c, const char *what, char *err);

#endif

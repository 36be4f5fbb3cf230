/*
 * peer_pgvector.c - pgvector as a peer engine (peer.h): pgvector-ivfflat and
 * pgvector-hnsw on a table (id bigint, emb vector(d) | halfvec(d)) in the
 * PostgreSQL server vecbench starts for the section (pg.h) or in the one
 * [pgvector] dsn names.
 *
 * start (untimed) brings the server up and creates the empty table; build is the
 * load by binary COPY (insert_s) and CREATE INDEX (index_s). Queries are one
 * prepared statement, `ORDER BY emb <op> $1 LIMIT k` with the vector as a binary
 * parameter and the ids back in binary, planned once (a generic plan) and checked
 * to scan the vector index (an index scan ordered by distance, which only it
 * provides): the plan is recorded. The session runs every query on one thread
 * (no parallel workers, no JIT), as every engine here is queried. halfvec values
 * are rounded here (to nearest even); one beyond half's range is refused, not
 * sent as infinity. On a dsn server the table is dropped at close; a table of
 * that name already there is refused, never replaced.
 *
 * A filtered run adds what a pgvector user filtering by a column would have: a
 * `label integer` column loaded by the same COPY, a b-tree on it and ANALYZE
 * (both in index_s), and the query `WHERE label = $2` through the vector index
 * with pgvector's iterative scan as the section sets it (relaxed order re-sorted
 * in a materialized CTE, as pgvector's README does it). The planner may prefer
 * the b-tree (a small table, a rare value): the prepared query is then planned
 * with enable_sort = off, so that what is measured is pgvector's search, and the
 * recorded plan says so, with what the planner makes of a literal query at the
 * rarest label. A section with filter_plan = planner measures that instead: each
 * query planned for its own label and vector, whatever PostgreSQL picks.
 */
#include "peer.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "err.h"
#include "intr.h"
#include "pg.h"
#include "timing.h"

#define PGV_COPY_BUF (1 << 20) /* bytes per PQputCopyData */
#define PGV_HALF_MAX 65504.0f

typedef struct pgv {
	pg_server srv; /* the server started for this section; pid 0 with dsn */
	PGconn *conn;
	const cfg_index *cx;
	const char *op; /* <->, <=>, <+> */
	size_t d, k;
	Oid type;       /* vector's or halfvec's oid (an extension's: looked up) */
	char table[96]; /* quoted identifier */
	int made;       /* the table is ours to drop */
	char *param;    /* one vector in binary: 4 + d x 4 (or 2) bytes */
	int plen;
	int filtered; /* a label column: the query takes the filter value as $2 */
	char engine[ERR_LEN];
} pgv;

static int available(const peer_input *in, char *why, size_t len)
{
	if (in->metric == VTAB_L1 && in->cx->type == CFG_TYPE_PGV_IVFFLAT) {
		snprintf(why, len, "pgvector's ivfflat has no l1 operator class");
		return 0;
	}
	return in->c->pg.dsn[0] ? 1 : pg_can_start(&in->c->pg, why, len);
}

/* f as IEEE half, rounded to nearest even (values here are finite). */
static uint16_t half_of(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7fffff;
	int exp = (int)((x >> 23) & 0xff) - 127 + 15;
	if (exp >= 31)
		return (uint16_t)(sign | 0x7c00);
	if (exp <= 0) { /* a subnormal half, or zero */
		if (exp < -10)
			return (uint16_t)sign;
		mant |= 0x800000;
		int shift = 14 - exp;
		uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1),
		         mid = 1u << (shift - 1);
		return (uint16_t)(sign | (h + (rem > mid || (rem == mid && (h & 1)))));
	}
	uint32_t h = ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fff;
	/* a carry out of the mantissa rightly moves to the next exponent */
	return (uint16_t)(sign | (h + (rem > 0x1000 || (rem == 0x1000 && (h & 1)))));
}

/* v (d floats) in pgvector's binary form (int16 dim, int16 0, big-endian
 * values) at out; the bytes written, or 0 when a value does not fit halfvec. */
static size_t put_vector(unsigned char *out, const float *v, size_t d, int halfvec)
{
	uint16_t h16 = htons((uint16_t)d), zero = 0;
	memcpy(out, &h16, 2);
	memcpy(out + 2, &zero, 2);
	unsigned char *o = out + 4;
	for (size_t j = 0; j < d; j++) {
		if (halfvec) {
			if (!(v[j] >= -PGV_HALF_MAX && v[j] <= PGV_HALF_MAX))
				return 0;
			uint16_t h = htons(half_of(v[j]));
			memcpy(o, &h, 2);
			o += 2;
		} else {
			uint32_t u;
			memcpy(&u, &v[j], 4);
			u = htonl(u);
			memcpy(o, &u, 4);
			o += 4;
		}
	}
	return (size_t)(o - out);
}

/* pg_fail / pg_exec with the section named. */
static int fail(pgv *p, const char *what, char *err)
{
	char w[CFG_NAME + 128];
	snprintf(w, sizeof w, "[%s] %.100s", p->cx->name, what);
	return pg_fail(p->conn, w, err);
}

static int exec(pgv *p, const char *what, const char *sql, char *err)
{
	char w[CFG_NAME + 128];
	snprintf(w, sizeof w, "[%s] %.100s", p->cx->name, what);
	return pg_exec(p->conn, w, sql, err);
}

static int not_half(const pgv *p, const char *what, size_t i, char *err)
{
	return err_set(err, ERR_INPUT, "[%s] %s %zu holds a value beyond halfvec's range (%g)",
	               p->cx->name, what, i, PGV_HALF_MAX);
}

/* The first value of the single-row result of sql into buf. */
static int scalar(pgv *p, const char *what, const char *sql, char *buf, size_t len, char *err)
{
	PGresult *res = PQexec(p->conn, sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		rc = fail(p, what, err);
	else
		snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* What the report says of the engine: versions, where it ran, its settings. */
static int describe(pgv *p, const peer_input *in, char *err)
{
	char v[5][64];
	static const char *const q[] = {
	    "SHOW server_version",
	    "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
	    "SHOW shared_buffers",
	    "SHOW maintenance_work_mem",
	    "SHOW max_parallel_maintenance_workers",
	};
	for (size_t i = 0; i < 5; i++) {
		int rc = scalar(p, "reading the server's settings", q[i], v[i], sizeof v[i], err);
		if (rc < 0)
			return rc;
	}
	snprintf(p->engine, sizeof p->engine,
	         "PostgreSQL %s, pgvector %s, %s; shared_buffers %s, maintenance_work_mem %s, "
	         "max_parallel_maintenance_workers %s; storage %s",
	         v[0], v[1],
	         in->c->pg.dsn[0] ? "the server at [pgvector] dsn"
	                          : "a server of its own (initdb in the work folder, unix socket)",
	         v[2], v[3], v[4], in->cx->halfvec ? "halfvec" : "vector");
	return 0;
}

static int start(const peer_input *in, void **h, char *err)
{
	pgv *p = calloc(1, sizeof *p);
	if (!p)
		return err_set(err, ERR_NOMEM, "out of memory");
	*h = p;
	p->cx = in->cx;
	p->d = in->d;
	p->k = in->k;
	p->op = in->metric == VTAB_COSINE ? "<=>" : in->metric == VTAB_L1 ? "<+>" : "<->";
	p->plen = (int)(4 + in->d * (in->cx->halfvec ? 2 : 4));
	snprintf(p->table, sizeof p->table, "\"vecbench_%s\"", in->cx->name);
	if (!(p->param = malloc((size_t)p->plen)))
		return err_set(err, ERR_NOMEM, "out of memory");
	const char *storage = in->cx->halfvec ? "halfvec" : "vector";
	char sql[512], oid[32];
	int rc = in->c->pg.dsn[0] ? 0 : pg_start(&in->c->pg, in->workdir, &p->srv, err);
	if (rc == 0)
		rc = pg_connect(in->c->pg.dsn[0] ? in->c->pg.dsn : p->srv.conninfo, &p->conn, err);
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof sql,
	         "SET maintenance_work_mem = '%s'; SET max_parallel_workers_per_gather = 0; "
	         "SET jit = off; SET plan_cache_mode = force_generic_plan; "
	         "CREATE EXTENSION IF NOT EXISTS vector",
	         in->c->pg.maintenance_work_mem);
	if ((rc = exec(p, "setting up the session", sql, err)) < 0)
		return rc;
	snprintf(sql, sizeof sql, "SELECT '%s'::regtype::oid", storage);
	if ((rc = scalar(p, "looking up pgvector's type", sql, oid, sizeof oid, err)) < 0)
		return rc;
	p->type = (Oid)strtoul(oid, NULL, 10);
	p->filtered = in->labels != NULL;
	snprintf(sql, sizeof sql, "CREATE TABLE %s (id bigint, %semb %s(%zu))", p->table,
	         p->filtered ? "label integer, " : "", storage, in->d);
	if ((rc = exec(p, "creating the table", sql, err)) < 0)
		return rc;
	p->made = 1;
	return describe(p, in, err);
}

/* The train rows by binary COPY: id (int8), the label (int4) in a filtered run,
 * and the vector; row i with id i. */
static int load(pgv *p, const peer_input *in, char *err)
{
	char sql[256];
	snprintf(sql, sizeof sql, "COPY %s (id, %semb) FROM STDIN (FORMAT binary)", p->table,
	         p->filtered ? "label, " : "");
	PGresult *res = PQexec(p->conn, sql);
	int ok = PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	if (!ok)
		return fail(p, "COPY", err);
	/* header: signature, flags, no extension */
	static const unsigned char head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	size_t lab = p->filtered ? 4 + 4 : 0;
	size_t row = 2 + 4 + 8 + lab + 4 + (size_t)p->plen, used = sizeof head;
	unsigned char *buf = malloc(PGV_COPY_BUF + row);
	const char *abort_msg = NULL;
	int rc = 0;
	if (!buf) {
		abort_msg = "out of memory";
		rc = err_set(err, ERR_NOMEM, "out of memory");
	} else {
		memcpy(buf, head, sizeof head);
	}
	for (size_t i = 0; i < in->n && !abort_msg; i++) {
		unsigned char *o = buf + used;
		uint16_t nf = htons(p->filtered ? 3 : 2);
		uint32_t l8 = htonl(8), l4 = htonl(4), lv = htonl((uint32_t)p->plen);
		uint32_t id[2] = {htonl((uint32_t)((uint64_t)i >> 32)), htonl((uint32_t)i)};
		memcpy(o, &nf, 2);
		memcpy(o + 2, &l8, 4);
		memcpy(o + 6, id, 8);
		if (p->filtered) {
			uint32_t l = htonl((uint32_t)in->labels[i]);
			memcpy(o + 14, &l4, 4);
			memcpy(o + 18, &l, 4);
		}
		memcpy(o + 14 + lab, &lv, 4);
		if (!put_vector(o + 18 + lab, in->x + i * in->d, in->d, in->cx->halfvec)) {
			abort_msg = "a value beyond halfvec's range";
			rc = not_half(p, "train row", i, err);
			break;
		}
		used += row;
		if (used >= PGV_COPY_BUF || i + 1 == in->n) {
			if (i + 1 == in->n) {
				uint16_t end = htons(0xffff);
				memcpy(buf + used, &end, 2);
				used += 2;
			}
			if (PQputCopyData(p->conn, (const char *)buf, (int)used) != 1) {
				rc = fail(p, "COPY", err);
				break;
			}
			used = 0;
		}
		if (intr_pending()) {
			abort_msg = "interrupted";
			rc = err_set(err, ERR_INTR, "interrupted while loading [%s]", p->cx->name);
		}
	}
	free(buf);
	if (PQputCopyEnd(p->conn, abort_msg) != 1 && rc == 0)
		rc = fail(p, "COPY", err);
	while ((res = PQgetResult(p->conn))) {
		if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = fail(p, "COPY", err);
		PQclear(res);
	}
	return rc;
}

/* What a plan does, from EXPLAIN (COSTS OFF): its nodes joined by " > " into
 * nodes, whether it scans the vector index (ordered by distance: only it can)
 * and whether the b-tree on label finds the rows. */
typedef struct plan_info {
	char nodes[ERR_LEN / 2];
	int ann, btree;
} plan_info;

static void plan_read(const PGresult *res, plan_info *pi)
{
	size_t n = 0;
	memset(pi, 0, sizeof *pi);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *l = PQgetvalue(res, i, 0), *arrow = strstr(l, "->  ");
		pi->ann |= strstr(l, "Order By: (emb ") != NULL;
		pi->btree |= strstr(l, "Cond: (label = ") != NULL;
		while (*l == ' ')
			l++;
		/* a node's detail line, but a CTE's name heads its subplan */
		if (i && !arrow && strncmp(l, "CTE ", 4) != 0)
			continue;
		l = arrow ? arrow + 4 : l;
		if (n < sizeof pi->nodes)
			n += (size_t)snprintf(pi->nodes + n, sizeof pi->nodes - n, "%s%s",
			                      n ? " > " : "", l);
	}
}

/* EXPLAIN of the prepared query for vector v (and label, in a filtered run). */
static int explain(pgv *p, const float *v, int32_t label, plan_info *pi, char *err)
{
	size_t cap = 64 + p->d * 18;
	char *sql = malloc(cap);
	if (!sql)
		return err_set(err, ERR_NOMEM, "out of memory");
	size_t n = (size_t)snprintf(sql, cap, "EXPLAIN (COSTS OFF) EXECUTE q('[");
	for (size_t j = 0; j < p->d; j++)
		n += (size_t)snprintf(sql + n, cap - n, "%s%.9g", j ? "," : "", v[j]);
	if (p->filtered)
		snprintf(sql + n, cap - n, "]', %d)", (int)label);
	else
		snprintf(sql + n, cap - n, "]')");
	PGresult *res = PQexec(p->conn, sql);
	free(sql);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = fail(p, "EXPLAIN of the query", err);
	else
		plan_read(res, pi);
	PQclear(res);
	return rc;
}

static int cmp_label(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* The least frequent of the n labels (the smallest value on a tie), and its
 * count: the filter value a planner is likeliest to serve from the b-tree. */
static int rarest_label(const int32_t *labels, size_t n, int32_t *label, size_t *count, char *err)
{
	int32_t *s = malloc(n * sizeof *s);
	if (!s)
		return err_set(err, ERR_NOMEM, "out of memory");
	memcpy(s, labels, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_label);
	*count = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && s[j] == s[i]; j++)
			;
		if (!*count || j - i < *count) {
			*count = j - i;
			*label = s[i];
		}
	}
	free(s);
	return 0;
}

/* The filtered query: the k nearest rows of label $2. Under relaxed order the
 * index may return them slightly out of order: pgvector's README re-sorts them
 * in a materialized CTE (`+ 0` keeps PostgreSQL 17 from dropping the sort). */
static void query_sql(const pgv *p, char *sql, size_t len)
{
	if (!p->filtered)
		snprintf(sql, len, "SELECT id FROM %s ORDER BY emb %s $1 LIMIT %zu", p->table,
		         p->op, p->k);
	else if (p->cx->iterative_scan == CFG_ITER_RELAXED)
		snprintf(sql, len,
		         "WITH r AS MATERIALIZED (SELECT id, emb %s $1 AS distance FROM %s WHERE "
		         "label = $2 ORDER BY distance LIMIT %zu) SELECT id FROM r ORDER BY "
		         "distance + 0",
		         p->op, p->table, p->k);
	else
		snprintf(sql, len,
		         "SELECT id FROM %s WHERE label = $2 ORDER BY emb %s $1 LIMIT %zu",
		         p->table, p->op, p->k);
}

/* Prepares the query as "q" (query_sql's), its vector (and label) binary. */
static int prepare(pgv *p, char *err)
{
	char sql[512];
	Oid types[2] = {p->type, 23 /* int4 */};
	query_sql(p, sql, sizeof sql);
	PGresult *res = PQprepare(p->conn, "q", sql, p->filtered ? 2 : 1, types);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok ? 0 : fail(p, "preparing the query", err);
}

/* How a plan finds the rows, for the report. */
static const char *plan_way(const plan_info *pi)
{
	return pi->ann     ? "through the vector index"
	       : pi->btree ? "through the b-tree on label, then a sort: exact"
	                   : "as a sort of the matching rows: exact";
}

/* With filter_plan = index (the default) the generic plan the queries run must
 * scan the vector index: a plan that sorts the table, or the rows the b-tree
 * finds, would measure something else (an exact search, not pgvector's). In a
 * filtered run the planner may prefer the b-tree (a small table, a rare value):
 * then the session plans with enable_sort = off, which leaves the vector
 * index's ordered scan as the one plan without a sort of the rows, and says so.
 * With filter_plan = planner every query is planned for its own label and
 * vector (custom plans), as a literal query is: whatever PostgreSQL picks.
 * b->plan records the plan that runs and, in a filtered run, the custom plan
 * for the rarest label. */
static int check_plan(pgv *p, const peer_input *in, bench_build *b, char *err)
{
	int32_t rare = 0;
	size_t nrare = 0;
	plan_info gen, lit, own = {.ann = 1};
	int rc = 0, n = 0;
	if (p->filtered && ((rc = rarest_label(in->labels, in->n, &rare, &nrare, err)) < 0 ||
	                    (rc = exec(p, "planning a literal query",
	                               "SET plan_cache_mode = force_custom_plan", err)) < 0 ||
	                    (rc = explain(p, in->x, rare, &lit, err)) < 0))
		return rc;
	if (p->filtered && p->cx->planner) {
		snprintf(
		    b->plan, sizeof b->plan,
		    "each query planned by PostgreSQL for its own label (custom plans); at the "
		    "rarest label (%zu rows, %.2g%%) %s (%.200s)",
		    nrare, 100.0 * (double)nrare / (double)in->n, plan_way(&lit), lit.nodes);
		return 0;
	}
	if (p->filtered)
		rc = exec(p, "planning a literal query", "SET plan_cache_mode = force_generic_plan",
		          err);
	if (rc == 0)
		rc = explain(p, in->x, rare, &gen, err);
	if (rc == 0 && p->filtered && !gen.ann) {
		own = gen;
		if ((rc = exec(p, "steering the plan", "DEALLOCATE q; SET enable_sort = off",
		               err)) == 0 &&
		    (rc = prepare(p, err)) == 0)
			rc = explain(p, in->x, rare, &gen, err);
	}
	if (rc < 0)
		return rc;
	if (!gen.ann)
		return err_set(err, ERR_FAIL,
		               "[%s]: PostgreSQL's plan for the query does not scan the %s "
		               "index (%.200s)",
		               p->cx->name, p->cx->type == CFG_TYPE_PGV_HNSW ? "hnsw" : "ivfflat",
		               gen.nodes);
	n = snprintf(b->plan, sizeof b->plan, "%.200s", gen.nodes);
	if (!own.ann)
		n += snprintf(b->plan + n, sizeof b->plan - (size_t)n,
		              ", with enable_sort = off: the planner's own choice was %.200s",
		              own.nodes);
	if (p->filtered)
		snprintf(b->plan + n, sizeof b->plan - (size_t)n,
		         "; a literal query for the rarest label (%zu rows, %.2g%%) is planned "
		         "%s (%.200s)",
		         nrare, 100.0 * (double)nrare / (double)in->n, plan_way(&lit), lit.nodes);
	return 0;
}

/* The section's iterative scan settings, "name = value" each (pgvector's
 * names), into set[]; their count. The limits only bound a scan that is on. */
static int scan_settings(const cfg_index *x, char set[][64])
{
	const char *am = x->type == CFG_TYPE_PGV_IVFFLAT ? "ivfflat" : "hnsw";
	snprintf(set[0], 64, "%s.iterative_scan = %s", am,
	         cfg_iter_name((cfg_iter)x->iterative_scan));
	if (x->iterative_scan == CFG_ITER_OFF)
		return 1;
	if (x->type == CFG_TYPE_PGV_IVFFLAT) {
		snprintf(set[1], 64, "ivfflat.max_probes = %d", x->max_probes);
		return 2;
	}
	snprintf(set[1], 64, "hnsw.max_scan_tuples = %d", x->max_scan_tuples);
	snprintf(set[2], 64, "hnsw.scan_mem_multiplier = %g", x->scan_mem_multiplier);
	return 3;
}

/* A filtered run's b-tree on label, statistics for the planner, and the
 * section's iterative scan settings on the session, which engine then names. */
static int filter_setup(pgv *p, char *err)
{
	char set[3][64], sql[512];
	int nset = scan_settings(p->cx, set);
	size_t n = (size_t)snprintf(sql, sizeof sql, "CREATE INDEX ON %s (label); ANALYZE %s",
	                            p->table, p->table);
	size_t e = strlen(p->engine);
	e += (size_t)snprintf(p->engine + e, sizeof p->engine - e,
	                      "; WHERE label = $2 with a b-tree on label");
	for (int i = 0; i < nset; i++) {
		n += (size_t)snprintf(sql + n, sizeof sql - n, "; SET %s", set[i]);
		if (e < sizeof p->engine)
			e += (size_t)snprintf(p->engine + e, sizeof p->engine - e, ", %s", set[i]);
	}
	return exec(p, "indexing the label", sql, err);
}

static int build(const peer_input *in, void **h, bench_build *b, char *err)
{
	pgv *p = *h;
	const cfg_index *x = in->cx;
	const char *storage = x->halfvec ? "halfvec" : "vector";
	const char *ops = in->metric == VTAB_COSINE ? "cosine"
	                  : in->metric == VTAB_L1   ? "l1"
	                                            : "l2";
	char sql[512];
	double t0 = tm_now();
	int rc = load(p, in, err);
	b->insert_s = tm_now() - t0;
	if (rc < 0)
		return rc;
	if (x->type == CFG_TYPE_PGV_IVFFLAT)
		snprintf(sql, sizeof sql,
		         "CREATE INDEX ON %s USING ivfflat (emb %s_%s_ops) WITH (lists = %d)",
		         p->table, storage, ops, x->nlist);
	else
		snprintf(sql, sizeof sql,
		         "CREATE INDEX ON %s USING hnsw (emb %s_%s_ops) WITH (m = %d, "
		         "ef_construction = %d)",
		         p->table, storage, ops, x->m, x->ef_construction);
	t0 = tm_now();
	rc = exec(p, "CREATE INDEX", sql, err);
	if (rc == 0 && p->filtered)
		rc = filter_setup(p, err);
	b->index_s = tm_now() - t0;
	if (rc < 0)
		return rc;
	if ((rc = prepare(p, err)) < 0)
		return rc;
	if (x->type == CFG_TYPE_PGV_IVFFLAT)
		b->ncentroids = x->nlist;
	snprintf(b->engine, sizeof b->engine, "%s", p->engine);
	return check_plan(p, in, b, err);
}

static int set_sweep(void *h, int value, char *err)
{
	pgv *p = h;
	char sql[64];
	snprintf(sql, sizeof sql, "SET %s = %d",
	         p->cx->type == CFG_TYPE_PGV_IVFFLAT ? "ivfflat.probes" : "hnsw.ef_search", value);
	return exec(p, "setting the sweep", sql, err);
}

/* Runs the prepared query for q (and the filter value, when label is not NULL:
 * int4 in network order). */
static int run(pgv *p, const float *q, const uint32_t *label, size_t k, int64_t *ids, size_t *got,
               char *err)
{
	if (!put_vector((unsigned char *)p->param, q, p->d, p->cx->halfvec))
		return not_half(p, "a query", 0, err);
	const char *vals[2] = {p->param, (const char *)label};
	int lens[2] = {p->plen, 4}, fmts[2] = {1, 1};
	PGresult *res = PQexecPrepared(p->conn, "q", label ? 2 : 1, vals, lens, fmts, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return fail(p, "query", err);
	}
	size_t n = (size_t)PQntuples(res);
	*got = n < k ? n : k;
	for (size_t i = 0; i < *got; i++) {
		uint32_t w[2];
		memcpy(w, PQgetvalue(res, (int)i, 0), 8);
		ids[i] = (int64_t)(((uint64_t)ntohl(w[0]) << 32) | ntohl(w[1]));
	}
	PQclear(res);
	return 0;
}

static int query(void *h, const float *q, size_t k, int64_t *ids, size_t *got, char *err)
{
	return run(h, q, NULL, k, ids, got, err);
}

static int query_filtered(void *h, const float *q, int32_t label, size_t k, int64_t *ids,
                          size_t *got, char *err)
{
	uint32_t l = htonl((uint32_t)label);
	return run(h, q, &l, k, ids, got, err);
}

static int size(void *h, int64_t *bytes, char *err)
{
	pgv *p = h;
	char sql[160], v[32];
	snprintf(sql, sizeof sql, "SELECT pg_total_relation_size('%s')", p->table);
	int rc = scalar(p, "pg_total_relation_size", sql, v, sizeof v, err);
	if (rc == 0)
		*bytes = strtoll(v, NULL, 10);
	return rc;
}

static void close_index(void *h)
{
	pgv *p = h;
	if (!p)
		return;
	if (p->made && !p->srv.pid && PQstatus(p->conn) == CONNECTION_OK) {
		char sql[128];
		snprintf(sql, sizeof sql, "DROP TABLE %s", p->table);
		PQclear(PQexec(p->conn, sql));
	}
	PQfinish(p->conn);
	pg_stop(&p->srv);
	free(p->param);
	free(p);
}

/* Both index types: what differs between them follows from the section's type. */
#define PGV_OPS(t)                                                                                 \
	{                                                                                          \
		.type = (t), .available = available, .start = start, .build = build,               \
		.set_sweep = set_sweep, .query = query, .query_filtered = query_filtered,          \
		.size = size, .close = close_index,                                                \
	}
const peer_ops peer_pgvector_ivfflat = PGV_OPS(CFG_TYPE_PGV_IVFFLAT);
const peer_ops peer_pgvector_hnsw = PGV_OPS(CFG_TYPE_PGV_HNSW);

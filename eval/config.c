/*
 * config.c - config.ini for vecbench (see config.h).
 *
 * libinih does the INI syntax; a table of keys says, per section kind, what each
 * key holds, how to parse it and when it applies. The reader that feeds inih
 * counts lines (the Debian build's handler gets no line numbers), registers
 * section headers as it sees them (so empty and repeated sections are caught) and
 * rejects what inih would silently misread: indented lines (continuations) and
 * lines longer than its buffer.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "build.h"
#include "cli.h"
#include "err.h"
#include "filter.h"
#include "names.h"
#include "peer.h"

/* inih's line buffer (INI_MAX_LINE in the Debian build): longer lines would be
 * split and misparsed, so the reader refuses them. */
#define CFG_LINE_MAX 200

typedef enum { S_DATASET, S_VEC0, S_RUN, S_GATE, S_PGVECTOR, S_INDEX, S_NKINDS } sec_kind;

typedef enum {
	V_PATH,       /* char[CFG_PATH]; relative to the config file's folder */
	V_STRING,     /* char[CFG_PATH], as given */
	V_MEM,        /* char[PG_SETTING]: a PostgreSQL memory size such as 512MB */
	V_NAME,       /* char[CFG_NAME]; letters, digits, '-', '_', '.' */
	V_SIZE,       /* size_t in [min, max] */
	V_INT,        /* int in [min, max] */
	V_U64,        /* uint64_t */
	V_BOOL,       /* int 0/1 */
	V_DOUBLE,     /* double in [min, max] */
	V_ENUM,       /* int: index into names */
	V_ENUMSTR,    /* char[16]: one of names */
	V_NPROBE,     /* the nprobe list */
	V_MINRECALL,  /* gate threshold, repeatable */
	V_OVERSAMPLE, /* the filter_oversample list */
} val_kind;

/* The section types an index key applies to (0: every type). */
#define T(t) (1u << (t))
#define T_VEC0 (T(CFG_TYPE_FLAT) | T(CFG_TYPE_IVF))
#define T_IVF T(CFG_TYPE_IVF)
#define T_PGV (T(CFG_TYPE_PGV_IVFFLAT) | T(CFG_TYPE_PGV_HNSW))

/* When an index key applies within its types (checked once the whole section is
 * read). */
enum {
	A_ANY = 0,
	A_IVFTRAIN = 1 << 1, /* trainer = ivftrain */
	A_ITT = 1 << 2,      /* order = insert-then-train */
	A_QUANT = 1 << 3,    /* quantizer other than none */
	A_POW2 = 1 << 4,     /* value must be a power of two (page_size) */
	A_MULT8 = 1 << 5,    /* value must be a multiple of 8 (chunk_size) */
};

typedef struct key_def {
	sec_kind sec;
	const char *name;
	val_kind kind;
	size_t off;               /* offset in cfg (fixed sections) or cfg_index */
	double min, max;          /* numeric range */
	const char *const *names; /* V_ENUM / V_ENUMSTR values, NULL-terminated */
	unsigned rules;           /* A_* */
	unsigned types;           /* T(type) mask; 0 = every type */
} key_def;

static const char *const type_names[CFG_TYPE_NTYPES + 1] = {
    [CFG_TYPE_FLAT] = "flat",
    [CFG_TYPE_IVF] = "ivf",
    [CFG_TYPE_FAISS_FLAT] = "faiss-flat",
    [CFG_TYPE_FAISS_IVF] = "faiss-ivf",
    [CFG_TYPE_PGV_IVFFLAT] = "pgvector-ivfflat",
    [CFG_TYPE_PGV_HNSW] = "pgvector-hnsw",
};
/* The system a type measures: report rows compare engines, not types. */
static const char *const engine_names[CFG_TYPE_NTYPES] = {
    [CFG_TYPE_FLAT] = "vec0",
    [CFG_TYPE_IVF] = "vec0",
    [CFG_TYPE_FAISS_FLAT] = "faiss",
    [CFG_TYPE_FAISS_IVF] = "faiss",
    [CFG_TYPE_PGV_IVFFLAT] = "pgvector",
    [CFG_TYPE_PGV_HNSW] = "pgvector",
};
static const char *const sweep_names[CFG_TYPE_NTYPES] = {
    [CFG_TYPE_IVF] = "nprobe",
    [CFG_TYPE_FAISS_IVF] = "nprobe",
    [CFG_TYPE_PGV_IVFFLAT] = "probes",
    [CFG_TYPE_PGV_HNSW] = "ef_search",
};
static const char *const trainer_names[] = {
    [CFG_TRAINER_IVFTRAIN] = "ivftrain",
    [CFG_TRAINER_BUILTIN] = "builtin",
    NULL,
};
static const char *const order_names[] = {
    [CFG_ORDER_CENTROIDS_FIRST] = "centroids-first",
    [CFG_ORDER_INSERT_THEN_TRAIN] = "insert-then-train",
    [CFG_ORDER_BULK] = "bulk",
    NULL,
};
static const char *const quant_names[] = {"none", "int8", "binary", NULL};
static const char *const storage_names[] = {"vector", "halfvec", NULL};
static const char *const plan_names[] = {"index", "planner", NULL};
static const char *const iter_names[] = {
    [CFG_ITER_OFF] = "off",
    [CFG_ITER_RELAXED] = "relaxed_order",
    [CFG_ITER_STRICT] = "strict_order",
    NULL,
};
/* assign = after insert-then-train: moving rows vec0's way (reinsert) or
 * sqlite-vec's (native) is what such a section measures */
#define ASSIGN_CHOICES (1u << IVF_ASSIGN_REINSERT | 1u << IVF_ASSIGN_NATIVE)

/* The enum keys' setters: each stores into its own enum type. */
static void set_type(void *dst, int v)
{
	*(cfg_type *)dst = (cfg_type)v;
}

static void set_trainer(void *dst, int v)
{
	*(cfg_trainer *)dst = (cfg_trainer)v;
}

static void set_order(void *dst, int v)
{
	*(cfg_order *)dst = (cfg_order)v;
}

static void set_assign(void *dst, int v)
{
	*(ivf_assign *)dst = (ivf_assign)v;
}

static void set_metric(void *dst, int v)
{
	*(vtab_metric *)dst = (vtab_metric)v;
}

/* storage: cfg_index.halfvec, 1 for halfvec; iterative_scan: a cfg_iter;
 * filter_plan: cfg_index.planner, 1 for planner */
static void set_int(void *dst, int v)
{
	*(int *)dst = v;
}

/* The V_ENUM keys' name tables (their owners'), each with the setter of its
 * enum type and the names a key allows (bit i: names[i]; 0: all). */
static const struct enum_key {
	const char *const *names;
	void (*set)(void *dst, int v);
	unsigned choices;
} enum_keys[] = {
    {type_names, set_type, 0},          {trainer_names, set_trainer, 0},
    {order_names, set_order, 0},        {ivf_assign_names, set_assign, ASSIGN_CHOICES},
    {vtab_metric_names, set_metric, 0}, {storage_names, set_int, 0},
    {flt_mode_names, set_int, 0},       {iter_names, set_int, 0},
    {plan_names, set_int, 0},
};

/* The enum_keys entry of names; quant_names (V_ENUMSTR) has none. */
static const struct enum_key *enum_key_of(const char *const *names)
{
	for (size_t i = 0; i < sizeof enum_keys / sizeof *enum_keys; i++)
		if (enum_keys[i].names == names)
			return &enum_keys[i];
	return NULL;
}

#define C(f) offsetof(cfg, f)
#define I(f) offsetof(cfg_index, f)
/* vec0's own limits: nlist and nprobe up to IVF_MAX_NLIST */
static const key_def keys[] = {
    {S_DATASET, "path", V_PATH, C(dataset), 0, 0, NULL, 0, 0},
    {S_DATASET, "queries", V_SIZE, C(queries), 1, 1e9, NULL, 0, 0},
    {S_DATASET, "k", V_SIZE, C(k), 1, 10000, NULL, 0, 0},
    {S_DATASET, "filter", V_NAME, C(filter), 0, 0, NULL, 0, 0},
    {S_VEC0, "path", V_PATH, C(vec0), 0, 0, NULL, 0, 0},
    {S_PGVECTOR, "dsn", V_STRING, C(pg.dsn), 0, 0, NULL, 0, 0},
    {S_PGVECTOR, "bin", V_PATH, C(pg.bin), 0, 0, NULL, 0, 0},
    {S_PGVECTOR, "shared_buffers", V_MEM, C(pg.shared_buffers), 0, 0, NULL, 0, 0},
    {S_PGVECTOR, "maintenance_work_mem", V_MEM, C(pg.maintenance_work_mem), 0, 0, NULL, 0, 0},
    {S_RUN, "name", V_NAME, C(name), 0, 0, NULL, 0, 0},
    {S_RUN, "results", V_PATH, C(results), 0, 0, NULL, 0, 0},
    {S_RUN, "db_dir", V_PATH, C(db_dir), 0, 0, NULL, 0, 0},
    {S_RUN, "keep_db", V_BOOL, C(keep_db), 0, 1, NULL, 0, 0},
    {S_RUN, "seed", V_U64, C(seed), 0, 0, NULL, 0, 0},
    {S_RUN, "threads", V_INT, C(threads), 0, 4096, NULL, 0, 0},
    {S_RUN, "warmup", V_INT, C(warmup), 0, 100, NULL, 0, 0},
    {S_RUN, "batch", V_SIZE, C(batch), 1, 1e7, NULL, 0, 0},
    {S_RUN, "overhead_check", V_BOOL, C(overhead_check), 0, 1, NULL, 0, 0},
    {S_GATE, "min_recall", V_MINRECALL, C(gate), 0, 0, NULL, 0, 0},
    {S_GATE, "max_recall_drop", V_DOUBLE, C(gate.max_recall_drop), 0, 1, NULL, 0, 0},
    {S_GATE, "max_latency_ratio", V_DOUBLE, C(gate.max_latency_ratio), 1e-9, 1e9, NULL, 0, 0},
    {S_INDEX, "type", V_ENUM, I(type), 0, 0, type_names, A_ANY, 0},
    {S_INDEX, "nlist", V_INT, I(nlist), 1, IVF_MAX_NLIST, NULL, A_ANY, T_IVF},
    {S_INDEX, "nprobe", V_NPROBE, I(nprobe), 1, IVF_MAX_NLIST, NULL, A_ANY, T_IVF | T(CFG_TYPE_FAISS_IVF)},
    {S_INDEX, "ntrain", V_SIZE, I(ntrain), 1, 1e12, NULL, A_IVFTRAIN, T_IVF},
    {S_INDEX, "niter", V_INT, I(niter), 1, 10000, NULL, A_IVFTRAIN, T_IVF},
    {S_INDEX, "trainer", V_ENUM, I(trainer), 0, 0, trainer_names, A_ANY, T_IVF},
    {S_INDEX, "order", V_ENUM, I(order), 0, 0, order_names, A_ANY, T_IVF},
    {S_INDEX, "assign", V_ENUM, I(assign), 0, 0, ivf_assign_names, A_IVFTRAIN | A_ITT, T_IVF},
    {S_INDEX, "quantizer", V_ENUMSTR, I(quantizer), 0, 0, quant_names, A_ANY, T_IVF},
    {S_INDEX, "oversample", V_INT, I(oversample), 1, 1e6, NULL, A_QUANT, T_IVF},
    {S_INDEX, "distance_metric", V_ENUM, I(metric), 0, 0, vtab_metric_names, A_ANY, 0},
    {S_INDEX, "chunk_size", V_INT, I(chunk_size), 8, 1 << 20, NULL, A_MULT8, T_VEC0},
    {S_INDEX, "page_size", V_INT, I(page_size), 512, 65536, NULL, A_POW2, T_VEC0},
    {S_INDEX, "db", V_PATH, I(db), 0, 0, NULL, A_ANY, T_VEC0},
    {S_INDEX, "centroids", V_NAME, I(centroids), 0, 0, NULL, A_ANY, T(CFG_TYPE_FAISS_IVF)},
    /* pgvector's own limits (ivfflat lists 32768, hnsw m 100, ef 1000) */
    {S_INDEX, "lists", V_INT, I(nlist), 1, 32768, NULL, A_ANY, T(CFG_TYPE_PGV_IVFFLAT)},
    {S_INDEX, "probes", V_NPROBE, I(nprobe), 1, 32768, NULL, A_ANY, T(CFG_TYPE_PGV_IVFFLAT)},
    {S_INDEX, "m", V_INT, I(m), 2, 100, NULL, A_ANY, T(CFG_TYPE_PGV_HNSW)},
    {S_INDEX, "ef_construction", V_INT, I(ef_construction), 4, 1000, NULL, A_ANY,
     T(CFG_TYPE_PGV_HNSW)},
    {S_INDEX, "ef_search", V_NPROBE, I(nprobe), 1, 1000, NULL, A_ANY, T(CFG_TYPE_PGV_HNSW)},
    {S_INDEX, "storage", V_ENUM, I(halfvec), 0, 0, storage_names, A_ANY, T_PGV},
    {S_INDEX, "iterative_scan", V_ENUM, I(iterative_scan), 0, 0, iter_names, A_ANY, T_PGV},
    {S_INDEX, "filter_plan", V_ENUM, I(planner), 0, 0, plan_names, A_ANY, T_PGV},
    {S_INDEX, "max_scan_tuples", V_INT, I(max_scan_tuples), 1, INT_MAX, NULL, A_ANY,
     T(CFG_TYPE_PGV_HNSW)},
    {S_INDEX, "scan_mem_multiplier", V_DOUBLE, I(scan_mem_multiplier), 1, 1000, NULL, A_ANY,
     T(CFG_TYPE_PGV_HNSW)},
    {S_INDEX, "max_probes", V_INT, I(max_probes), 1, 32768, NULL, A_ANY, T(CFG_TYPE_PGV_IVFFLAT)},
    {S_INDEX, "filter_column", V_ENUM, I(filter_mode), 0, 0, flt_mode_names, A_ANY, T_VEC0},
    {S_INDEX, "filter_oversample", V_OVERSAMPLE, I(post_over), 1, 100000, NULL, A_ANY, T_VEC0},
};
#undef C
#undef I
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const fixed_names[] = {"dataset", "vec0", "run", "gate", "pgvector"};

typedef struct parse {
	cfg *c;
	const char *file;
	char dir[CFG_PATH]; /* folder of file, for relative paths */
	FILE *f;
	int line;                       /* lines read so far = line of the handler call */
	int err_line;                   /* line of the first error (0: none) */
	char err[ERR_LEN];              /* its message, without the file:line prefix */
	int fixed_line[S_INDEX];        /* header line of each fixed section, 0 = absent */
	int seen_fixed[S_INDEX][NKEYS]; /* line of each key of the fixed sections */
	int seen_idx[CFG_MAX_INDEX][NKEYS];
	int min_line[GATE_MAX_MIN]; /* line of each gate minimum */
} parse;

/* Records the first error with its line (later ones are dropped); returns -1 so
 * that `return perr(...)` reads naturally. */
static int perr(parse *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parse *p, int line, const char *fmt, ...)
{
	if (p->err_line)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	/* 0 means "no error": an empty file's errors are reported on its line 1 */
	p->err_line = line > 0 ? line : 1;
	return -1;
}

int cfg_valid_name(const char *s)
{
	if (!*s || strlen(s) >= CFG_NAME)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return 0;
	return 1;
}

static int index_of(const cfg *c, const char *name)
{
	for (size_t i = 0; i < c->nidx; i++)
		if (strcmp(c->idx[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void index_defaults(cfg_index *x, const char *name, int line)
{
	build_opts b;
	build_defaults(&b);
	memset(x, 0, sizeof *x);
	snprintf(x->name, sizeof x->name, "%.*s", CFG_NAME - 1, name);
	x->line = x->nlist_line = x->ntrain_line = x->metric_line = line;
	x->type = (cfg_type)-1; /* required */
	x->niter = b.km.niter;
	x->trainer = CFG_TRAINER_IVFTRAIN;
	x->order = CFG_ORDER_CENTROIDS_FIRST;
	x->assign = IVF_ASSIGN_REINSERT;
	snprintf(x->quantizer, sizeof x->quantizer, "none");
	/* pgvector's own defaults, so a section states only what it changes */
	x->m = 16;
	x->ef_construction = 64;
	x->iterative_scan = -1; /* relaxed_order in a filtered run, else off */
	x->max_scan_tuples = 20000;
	x->scan_mem_multiplier = 1;
	x->max_probes = 32768;
	x->filter_mode = -1; /* the type's default, once the section is read */
	x->post_over[0] = 1;
	x->npost_over = 1;
}

/* A section header seen by the reader: fixed sections are noted, index sections
 * created, repeats refused. */
static int section_open(parse *p, const char *name, int line)
{
	for (int k = 0; k < S_INDEX; k++) {
		if (strcmp(name, fixed_names[k]) == 0) {
			if (p->fixed_line[k])
				return perr(p, line, "section [%s] given twice (first on line %d)",
				            name, p->fixed_line[k]);
			p->fixed_line[k] = line;
			return 0;
		}
	}
	if (!cfg_valid_name(name))
		return perr(p, line,
		            "section name [%s]: use up to %d letters, digits, '-', '_', '.'", name,
		            CFG_NAME - 1);
	int i = index_of(p->c, name);
	if (i >= 0)
		return perr(p, line, "section [%s] given twice (first on line %d)", name,
		            p->c->idx[i].line);
	if (p->c->nidx == CFG_MAX_INDEX)
		return perr(p, line, "more than %d index sections", CFG_MAX_INDEX);
	index_defaults(&p->c->idx[p->c->nidx++], name, line);
	return 0;
}

/* fgets for inih that counts lines, registers headers and refuses what inih
 * would misread. */
static char *reader(char *str, int num, void *stream)
{
	parse *p = stream;
	if (!fgets(str, num, p->f))
		return NULL;
	p->line++;
	size_t len = strlen(str);
	if (len && str[len - 1] != '\n' && !feof(p->f)) {
		int ch;
		while ((ch = fgetc(p->f)) != EOF && ch != '\n')
			;
		perr(p, p->line, "line longer than %d characters", CFG_LINE_MAX - 3);
		str[0] = 0;
		return str;
	}
	const char *s = str;
	while (*s == ' ' || *s == '\t')
		s++;
	int blank = !*s || *s == '\n' || *s == '\r' || *s == ';' || *s == '#';
	if (s != str && !blank) {
		perr(p, p->line, "indented line: start keys and sections in the first column");
		str[0] = 0;
	} else if (*s == '[') {
		const char *e = strchr(s, ']');
		if (e) {
			char name[CFG_LINE_MAX];
			snprintf(name, sizeof name, "%.*s", (int)(e - s - 1), s + 1);
			section_open(p, name, p->line);
		}
	}
	return str;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no",
	                                                                         "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(v, t[i]) == 0 || strcmp(v, f[i]) == 0) {
			*out = strcmp(v, t[i]) == 0;
			return 0;
		}
	}
	return -1;
}

/* "1, 2,4" into x->nprobe (the sweep of any type, under its key k); ascending order not required,
 * repeats refused. */
static int parse_list(parse *p, const key_def *k, const char *v, int *vals, int *nvals)
{
	char buf[CFG_LINE_MAX], *rest = buf, *tok;
	snprintf(buf, sizeof buf, "%s", v);
	int n = 0;
	/* strsep, not strtok: "1,,2" has an empty item to refuse */
	while ((tok = strsep(&rest, ","))) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		char *e = tok + strlen(tok);
		while (e > tok && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		long np;
		if (cli_parse_long(k->name, tok, (long)k->min, (long)k->max, &np, NULL))
			return perr(p, p->line, "%s: \"%s\" is not an integer in [%.0f, %.0f]",
			            k->name, tok, k->min, k->max);
		if (n == CFG_MAX_NPROBE)
			return perr(p, p->line, "%s: more than %d values", k->name, CFG_MAX_NPROBE);
		for (int j = 0; j < n; j++)
			if (vals[j] == np)
				return perr(p, p->line, "%s: %ld listed twice", k->name, np);
		vals[n++] = (int)np;
	}
	*nvals = n;
	return 0;
}

/* Parses value v of key k into the struct at base. */
static int set_value(parse *p, const key_def *k, const char *v, char *base)
{
	void *dst = base + k->off;
	long ll;
	switch (k->kind) {
	case V_PATH: {
		int n;
		if (!*v)
			return perr(p, p->line, "%s: empty path", k->name);
		if (v[0] == '/' || !p->dir[0])
			n = snprintf(dst, CFG_PATH, "%s", v);
		else
			n = snprintf(dst, CFG_PATH, "%s/%s", p->dir, v);
		return n >= CFG_PATH ? perr(p, p->line, "%s: path too long", k->name) : 0;
	}
	case V_STRING:
		if (!*v)
			return perr(p, p->line, "%s: empty", k->name);
		snprintf(dst, CFG_PATH, "%s", v);
		return 0;
	case V_MEM: {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (end == v || !isdigit((unsigned char)*v) || errno || n == 0 ||
		    (strcmp(end, "kB") && strcmp(end, "MB") && strcmp(end, "GB") &&
		     strcmp(end, "TB")) ||
		    strlen(v) >= PG_SETTING)
			return perr(p, p->line,
			            "%s: \"%s\" is not a size such as 512MB (kB, MB, GB, TB)",
			            k->name, v);
		snprintf(dst, PG_SETTING, "%s", v);
		return 0;
	}
	case V_NAME:
		if (!cfg_valid_name(v))
			return perr(p, p->line, "%s: use up to %d letters, digits, '-', '_', '.'",
			            k->name, CFG_NAME - 1);
		snprintf(dst, CFG_NAME, "%s", v);
		return 0;
	case V_SIZE:
	case V_INT:
		if (cli_parse_long(k->name, v, (long)k->min, (long)k->max, &ll, NULL))
			return perr(p, p->line, "%s: \"%s\" is not an integer in [%.0f, %.0f]",
			            k->name, v, k->min, k->max);
		if ((k->rules & A_POW2) && (ll & (ll - 1)))
			return perr(p, p->line, "%s: %ld is not a power of two", k->name, ll);
		if ((k->rules & A_MULT8) && ll % 8)
			return perr(p, p->line, "%s: %ld is not a multiple of 8", k->name, ll);
		if (k->kind == V_SIZE)
			*(size_t *)dst = (size_t)ll;
		else
			*(int *)dst = (int)ll;
		return 0;
	case V_U64: {
		size_t u;
		if (cli_parse_size(k->name, v, 0, SIZE_MAX, &u, NULL))
			return perr(p, p->line, "%s: \"%s\" is not an unsigned integer", k->name,
			            v);
		*(uint64_t *)dst = u;
		return 0;
	}
	case V_BOOL:
		if (parse_bool(v, dst))
			return perr(p, p->line, "%s: \"%s\" is not true or false", k->name, v);
		return 0;
	case V_DOUBLE: {
		double d;
		if (cli_parse_double(k->name, v, k->min, k->max, &d, NULL))
			return perr(p, p->line, "%s: \"%s\" is not a number in [%g, %g]", k->name,
			            v, k->min, k->max);
		*(double *)dst = d;
		return 0;
	}
	case V_ENUM:
	case V_ENUMSTR: {
		const struct enum_key *ek = enum_key_of(k->names);
		unsigned choices = ek && ek->choices ? ek->choices : ~0u;
		int i = names_find(k->names, v);
		if (i >= 0 && (choices & (1u << i))) {
			if (k->kind == V_ENUM)
				ek->set(dst, i);
			else
				snprintf(dst, 16, "%s", v);
			return 0;
		}
		char list[128];
		return perr(p, p->line, "%s: \"%s\" is not one of %s", k->name, v,
		            names_join(k->names, choices, " | ", list, sizeof list));
	}
	case V_NPROBE:
		return parse_list(p, k, v, ((cfg_index *)base)->nprobe,
		                  &((cfg_index *)base)->nnprobe);
	case V_OVERSAMPLE:
		return parse_list(p, k, v, ((cfg_index *)base)->post_over,
		                  &((cfg_index *)base)->npost_over);
	case V_MINRECALL: {
		char e[ERR_LEN];
		gate_opts *g = dst;
		if (gate_add_min(g, v, e))
			return perr(p, p->line, "%s", e);
		size_t len = (size_t)(strrchr(v, '=') - v);
		for (size_t i = 0; i < g->nmin; i++)
			if (strlen(g->min[i].point) == len && strncmp(g->min[i].point, v, len) == 0)
				p->min_line[i] = p->line;
		return 0;
	}
	}
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	parse *p = user;
	sec_kind sk = S_INDEX;
	for (int k = 0; k < S_INDEX; k++)
		if (strcmp(section, fixed_names[k]) == 0)
			sk = (sec_kind)k;
	int xi = sk == S_INDEX ? index_of(p->c, section) : -1;
	if (!*section) {
		perr(p, p->line, "key %s before any [section]", name);
		return 1;
	}
	if (sk == S_INDEX && xi < 0)
		return 1; /* the header was refused; its error is recorded */
	size_t ki;
	for (ki = 0; ki < NKEYS; ki++)
		if (keys[ki].sec == sk && strcmp(keys[ki].name, name) == 0)
			break;
	if (ki == NKEYS) {
		perr(p, p->line, "unknown key \"%s\" in [%s]", name, section);
		return 1;
	}
	int *seen = sk == S_INDEX ? &p->seen_idx[xi][ki] : &p->seen_fixed[sk][ki];
	if (*seen && keys[ki].kind != V_MINRECALL) {
		perr(p, p->line, "%s given twice in [%s] (first on line %d)", name, section, *seen);
		return 1;
	}
	*seen = p->line;
	set_value(p, &keys[ki], value, sk == S_INDEX ? (char *)&p->c->idx[xi] : (char *)p->c);
	return 1;
}

static int key_index(sec_kind sk, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sec == sk && strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Why key k does not apply to section x ("type = flat") in buf, or NULL when
 * it does. */
static const char *not_applicable(const cfg_index *x, const key_def *k, char *buf, size_t len)
{
	unsigned rules = k->rules;
	if (k->types && !(k->types & T(x->type)))
		snprintf(buf, len, "type = %s", type_names[x->type]);
	else if ((rules & A_IVFTRAIN) && x->trainer != CFG_TRAINER_IVFTRAIN)
		snprintf(buf, len, "trainer = %s", trainer_names[x->trainer]);
	else if ((rules & A_ITT) && x->order != CFG_ORDER_INSERT_THEN_TRAIN)
		snprintf(buf, len, "order = %s", order_names[x->order]);
	else if ((rules & A_QUANT) && strcmp(x->quantizer, "none") == 0)
		snprintf(buf, len, "quantizer = none");
	else
		return NULL;
	return buf;
}

/* centroids = SECTION of section xi: an earlier ivf section whose table's
 * float32 centroids are the ones to use; its nlist becomes this section's. */
static int check_centroids(parse *p, size_t xi)
{
	cfg_index *x = &p->c->idx[xi];
	int line = p->seen_idx[xi][key_index(S_INDEX, "centroids")];
	if (!line)
		return perr(p, x->line, "[%s] has type = %s but no centroids = SECTION", x->name,
		            type_names[x->type]);
	int ci = index_of(p->c, x->centroids);
	if (ci < 0 || (size_t)ci >= xi)
		return perr(p, line, "centroids: no section [%s] before [%s]", x->centroids,
		            x->name);
	const cfg_index *src = &p->c->idx[ci];
	if (!src->type_ivf || strcmp(src->quantizer, "none") != 0)
		return perr(p, line,
		            "centroids: [%s] is not an ivf section with quantizer = none (its "
		            "centroids must be float32)",
		            x->centroids);
	x->nlist = src->nlist;
	x->nlist_line = line;
	return 0;
}

/* A pgvector section's filtered-run keys: a filtered run's only (without a
 * filter every row matches and the first pass already has k rows);
 * iterative_scan relaxed_order unless given, strict_order on hnsw only
 * (pgvector's ivfflat has none), the limits only with a scan to limit. */
static int check_iterative(parse *p, size_t xi)
{
	cfg_index *x = &p->c->idx[xi];
	const int *seen = p->seen_idx[xi];
	/* the limits from [PGV_LIMITS] on */
	static const char *const keys_f[] = {"iterative_scan", "filter_plan", "max_scan_tuples",
	                                     "scan_mem_multiplier", "max_probes"};
	enum { PGV_LIMITS = 2, PGV_NKEYS = sizeof keys_f / sizeof *keys_f };
	int l_any = 0, l_limit = 0;
	const char *any = NULL, *limit = NULL;
	for (size_t i = PGV_NKEYS; i-- > 0;) {
		int l = seen[key_index(S_INDEX, keys_f[i])];
		if (l && i >= PGV_LIMITS)
			l_limit = l, limit = keys_f[i];
		if (l)
			l_any = l, any = keys_f[i];
	}
	int l_iter = seen[key_index(S_INDEX, "iterative_scan")];
	if (!p->c->filter[0]) {
		if (l_any)
			return perr(p, l_any,
			            "%s applies to a filtered run only ([dataset] filter = NAME)",
			            any);
		x->iterative_scan = CFG_ITER_OFF;
		return 0;
	}
	if (!l_iter)
		x->iterative_scan = CFG_ITER_RELAXED;
	if (x->type == CFG_TYPE_PGV_IVFFLAT && x->iterative_scan == CFG_ITER_STRICT)
		return perr(p, l_iter,
		            "iterative_scan = strict_order: pgvector's ivfflat scans off or "
		            "relaxed_order only");
	if (l_limit && x->iterative_scan == CFG_ITER_OFF)
		return perr(p, l_limit, "%s applies with iterative_scan on, not off (line %d)",
		            limit, l_iter);
	return 0;
}

/* A pgvector section: pgvector's defaults for what it leaves out (lists 100,
 * probes 1, ef_search 40) and its rules (probes <= lists, ef_construction >=
 * 2 m), refused here rather than by the server mid-run. */
static int check_pgvector(parse *p, size_t xi)
{
	cfg_index *x = &p->c->idx[xi];
	const int *seen = p->seen_idx[xi];
	int ivf = x->type == CFG_TYPE_PGV_IVFFLAT;
	if (check_iterative(p, xi) < 0)
		return -1;
	int l_sweep = seen[key_index(S_INDEX, ivf ? "probes" : "ef_search")];
	if (!l_sweep) {
		x->nprobe[0] = ivf ? 1 : 40;
		x->nnprobe = 1;
	}
	if (ivf) {
		if (!seen[key_index(S_INDEX, "lists")])
			x->nlist = 100;
		else
			x->nlist_line = seen[key_index(S_INDEX, "lists")];
		for (int j = 0; j < x->nnprobe; j++)
			if (x->nprobe[j] > x->nlist)
				return perr(p, l_sweep, "probes %d exceeds lists %d", x->nprobe[j],
				            x->nlist);
	} else if (x->ef_construction < 2 * x->m) {
		int l = seen[key_index(S_INDEX, "ef_construction")];
		return perr(p, l ? l : seen[key_index(S_INDEX, "m")],
		            "ef_construction %d is less than 2 x m = %d (pgvector's rule)",
		            x->ef_construction, 2 * x->m);
	}
	return 0;
}

/* A peer section of a filtered run: its engine filters its own way (peer.h's
 * query_filtered), so vec0's label-column keys (on lines l_mode, l_over; 0:
 * absent) mean nothing to it, and an engine that cannot filter has nothing to
 * measure. */
static int check_filter_peer(parse *p, const cfg_index *x, int l_mode, int l_over)
{
	if (l_mode || l_over)
		return perr(p, l_mode ? l_mode : l_over,
		            "%s does not apply to [%s] (type = %s): it says how a vec0 table "
		            "holds the label; %s filters with its own search",
		            l_mode ? "filter_column" : "filter_oversample", x->name,
		            type_names[x->type], engine_names[x->type]);
	if (!peer_find(x->type)->query_filtered)
		return perr(p, x->line,
		            "[%s] type = %s: this engine cannot run filtered queries; a filtered "
		            "run measures vec0 sections and peers that filter",
		            x->name, type_names[x->type]);
	return 0;
}

/* A filtered run's section: how its table holds the label (filter.h), checked
 * against what vec0 and the other keys allow; the default is metadata on flat,
 * aux on ivf. Outside a filtered run the filter keys are refused. */
static int check_filter(parse *p, size_t xi)
{
	cfg_index *x = &p->c->idx[xi];
	const int *seen = p->seen_idx[xi];
	int l_mode = seen[key_index(S_INDEX, "filter_column")];
	int l_over = seen[key_index(S_INDEX, "filter_oversample")];
	if (!p->c->filter[0]) {
		if (l_mode || l_over)
			return perr(p, l_mode ? l_mode : l_over,
			            "%s applies to a filtered run only ([dataset] filter = NAME)",
			            l_mode ? "filter_column" : "filter_oversample");
		return 0;
	}
	if (x->peer)
		return check_filter_peer(p, x, l_mode, l_over);
	if (x->filter_mode < 0)
		x->filter_mode = x->type_ivf ? FLT_AUX : FLT_METADATA;
	x->filter_mode_line = l_mode;
	if (x->type_ivf && !flt_mode_post(x->filter_mode))
		return perr(p, l_mode,
		            "filter_column = %s: vec0 IVF tables reject metadata columns and "
		            "partition keys; use aux or join (post-filtering)",
		            flt_mode_name((flt_mode)x->filter_mode));
	if (l_over && !flt_mode_post(x->filter_mode))
		return perr(p, l_over,
		            "filter_oversample applies to filter_column = aux or join, not %s",
		            flt_mode_name((flt_mode)x->filter_mode));
	if (x->db[0])
		return perr(
		    p, seen[key_index(S_INDEX, "db")],
		    "db = in a filtered run: the table must be built with its label column");
	for (int j = 0; j < x->npost_over; j++)
		if ((size_t)x->post_over[j] * p->c->k > FLT_MAX_FETCH)
			return perr(p, l_over,
			            "filter_oversample %d: k x %d = %zu rows, more than vec0's KNN "
			            "limit of %d",
			            x->post_over[j], x->post_over[j],
			            (size_t)x->post_over[j] * p->c->k, FLT_MAX_FETCH);
	int npts = (x->type_ivf ? (x->nnprobe ? x->nnprobe : 1) : 1) * x->npost_over;
	if (npts > CFG_MAX_NPROBE)
		return perr(p, l_over, "nprobe x filter_oversample gives %d points, more than %d",
		            npts, CFG_MAX_NPROBE);
	return 0;
}

/* Cross-key checks of one index section once it is fully read. */
static int check_index(parse *p, size_t xi)
{
	cfg_index *x = &p->c->idx[xi];
	const int *seen = p->seen_idx[xi];
	if ((int)x->type < 0)
		return perr(p, x->line, "[%s] has no type (flat or ivf)", x->name);
	x->type_ivf = x->type == CFG_TYPE_IVF;
	x->peer = x->type >= CFG_TYPE_PEER;
	if (check_filter(p, xi) < 0)
		return -1;
	int l_order = seen[key_index(S_INDEX, "order")];
	/* builtin compute-centroids trains on rows already in the table */
	if (x->type_ivf && x->trainer == CFG_TRAINER_BUILTIN) {
		if (l_order && x->order != CFG_ORDER_INSERT_THEN_TRAIN)
			return perr(p, l_order,
			            "order = %s needs trainer = %s: the builtin "
			            "trainer runs on rows already inserted",
			            cfg_order_name(x->order), trainer_names[CFG_TRAINER_IVFTRAIN]);
		x->order = CFG_ORDER_INSERT_THEN_TRAIN;
	}
	/* ivftrain stores quantized centroids, but only its bulk write can move
	 * quantized rows (vec0's point read of them gives the quantized bytes) */
	int l_quant = seen[key_index(S_INDEX, "quantizer")];
	if (x->type_ivf && strcmp(x->quantizer, "none") != 0 &&
	    x->trainer == CFG_TRAINER_IVFTRAIN && x->order == CFG_ORDER_INSERT_THEN_TRAIN)
		return perr(
		    p, l_order ? l_order : l_quant,
		    "quantizer = %s with trainer = %s needs order = %s or %s: the %s and %s "
		    "assignments cannot move quantized rows",
		    x->quantizer, trainer_names[CFG_TRAINER_IVFTRAIN],
		    order_names[CFG_ORDER_CENTROIDS_FIRST], order_names[CFG_ORDER_BULK],
		    ivf_assign_name(IVF_ASSIGN_REINSERT), ivf_assign_name(IVF_ASSIGN_NATIVE));
	for (size_t ki = 0; ki < NKEYS; ki++) {
		const char *why;
		char buf[64];
		if (keys[ki].sec != S_INDEX || !seen[ki])
			continue;
		if ((why = not_applicable(x, &keys[ki], buf, sizeof buf)))
			return perr(p, seen[ki], "%s does not apply to [%s] (%s)", keys[ki].name,
			            x->name, why);
	}
	x->metric_set = seen[key_index(S_INDEX, "distance_metric")] != 0;
	if (x->metric_set)
		x->metric_line = seen[key_index(S_INDEX, "distance_metric")];
	if (seen[key_index(S_INDEX, "ntrain")])
		x->ntrain_line = seen[key_index(S_INDEX, "ntrain")];
	if (x->type == CFG_TYPE_PGV_IVFFLAT || x->type == CFG_TYPE_PGV_HNSW)
		return check_pgvector(p, xi);
	int l_nlist = seen[key_index(S_INDEX, "nlist")];
	int l_nprobe = seen[key_index(S_INDEX, "nprobe")];
	if (x->type == CFG_TYPE_FAISS_IVF) {
		if (check_centroids(p, xi) < 0)
			return -1;
	} else if (!x->type_ivf) {
		return 0;
	} else if (!l_nlist) {
		return perr(p, x->line, "[%s] has type = ivf but no nlist", x->name);
	} else {
		x->nlist_line = l_nlist;
	}
	if (!l_nprobe) {
		/* vec0's own default, capped as vec0 caps it */
		x->nprobe[0] = x->nlist < VTAB_IVF_NPROBE ? x->nlist : VTAB_IVF_NPROBE;
		x->nnprobe = 1;
	}
	for (int j = 0; j < x->nnprobe; j++)
		if (x->nprobe[j] > x->nlist)
			return perr(p, l_nprobe, "nprobe %d exceeds nlist %d", x->nprobe[j],
			            x->nlist);
	if (x->ntrain && x->ntrain < (size_t)x->nlist)
		return perr(p, x->ntrain_line, "ntrain %zu is less than nlist %d", x->ntrain,
		            x->nlist);
	return 0;
}

static int check_all(parse *p)
{
	cfg *c = p->c;
	if (!p->seen_fixed[S_DATASET][key_index(S_DATASET, "path")])
		return perr(p, p->fixed_line[S_DATASET] ? p->fixed_line[S_DATASET] : p->line,
		            "[dataset] path is required");
	if (c->nidx == 0)
		return perr(p, p->line, "no index sections: add one such as [flat] type = flat");
	/* lines for checks against the dataset; a default is reported at [dataset] */
	int lk = p->seen_fixed[S_DATASET][key_index(S_DATASET, "k")];
	int lq = p->seen_fixed[S_DATASET][key_index(S_DATASET, "queries")];
	c->k_line = lk ? lk : p->fixed_line[S_DATASET];
	c->queries_line = lq ? lq : p->fixed_line[S_DATASET];
	for (size_t i = 0; i < c->nidx; i++)
		if (check_index(p, i))
			return -1;
	/* with dsn the server is someone else's: its memory is set there */
	int l_dsn = p->seen_fixed[S_PGVECTOR][key_index(S_PGVECTOR, "dsn")];
	int l_sb = p->seen_fixed[S_PGVECTOR][key_index(S_PGVECTOR, "shared_buffers")];
	int l_bin = p->seen_fixed[S_PGVECTOR][key_index(S_PGVECTOR, "bin")];
	if (l_dsn && (l_sb || l_bin))
		return perr(p, l_sb ? l_sb : l_bin,
		            "%s applies to the server vecbench starts, not to dsn = (line %d)",
		            l_sb ? "shared_buffers" : "bin", l_dsn);
	for (size_t i = 0; i < c->gate.nmin; i++) {
		char sec[GATE_POINT];
		snprintf(sec, sizeof sec, "%s", c->gate.min[i].point);
		char *at = strchr(sec, '@');
		if (at)
			*at = 0;
		const cfg_index *x = cfg_find(c, sec);
		if (!x)
			return perr(p, p->min_line[i], "min_recall: no section [%s] in this file",
			            sec);
		if (at && !cfg_sweep_name(x->type))
			return perr(p, p->min_line[i],
			            "min_recall: [%s] is %s, it has no swept parameter", sec,
			            type_names[x->type]);
	}
	return 0;
}

void cfg_defaults(cfg *c)
{
	build_opts b;
	build_defaults(&b);
	memset(c, 0, sizeof *c);
	c->k = 10;
	snprintf(c->results, sizeof c->results, "results");
	c->seed = b.km.seed;
	c->warmup = 1;
	c->batch = VTAB_BATCH;
	c->overhead_check = 1;
	gate_defaults(&c->gate);
	pg_defaults(&c->pg);
}

int cfg_load(const char *path, cfg *c, char *err)
{
	parse *p = calloc(1, sizeof *p);
	cfg *tmp = malloc(sizeof *tmp);
	int rc = 0;
	if (!p || !tmp) {
		rc = err_set(err, ERR_NOMEM, "out of memory reading %s", path);
		goto done;
	}
	*tmp = *c;
	p->c = tmp;
	p->file = path;
	snprintf(tmp->file, sizeof tmp->file, "%s", path);
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(p->dir, sizeof p->dir, "%.*s", (int)(slash - path + (slash == path)),
		         path);
	p->f = fopen(path, "r");
	if (!p->f) {
		rc = err_set(err, ERR_INPUT, "%s: %s", path, strerror(errno));
		goto done;
	}
	int syn = ini_parse_stream(reader, p, handler, p);
	if (syn > 0 && (!p->err_line || syn < p->err_line)) {
		p->err_line = 0;
		perr(p, syn, "expected \"key = value\", \"[section]\" or a comment");
	}
	if (!p->err_line && syn < 0)
		perr(p, p->line, "out of memory parsing");
	if (!p->err_line)
		check_all(p);
	if (p->err_line)
		rc = err_set(err, ERR_INPUT, "%s:%d: %s", path, p->err_line, p->err);
	else
		*c = *tmp;
done:
	if (p && p->f)
		fclose(p->f);
	free(p);
	free(tmp);
	return rc;
}

const cfg_index *cfg_find(const cfg *c, const char *name)
{
	int i = index_of(c, name);
	return i < 0 ? NULL : &c->idx[i];
}

const char *cfg_sweep_name(cfg_type t)
{
	return sweep_names[t];
}

const char *cfg_engine_name(cfg_type t)
{
	return engine_names[t];
}

const char *cfg_type_name(cfg_type t)
{
	return type_names[t];
}

const char *cfg_trainer_name(cfg_trainer t)
{
	return trainer_names[t];
}

const char *cfg_order_name(cfg_order o)
{
	return order_names[o];
}

const char *cfg_iter_name(cfg_iter m)
{
	return iter_names[m];
}

/*
 * vtab_parse.c - a vec0 table's schema from its CREATE statement (see
 * vtab_parse.h).
 *
 * The statement is parsed with the same token rules as vec0's own constructor
 * (identifiers, numbers and the punctuation [ ] ( ) = + ,), so a table reads
 * back exactly as declared without touching any shadow table.
 */
#include "vtab_parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "ivf.h"
#include "names.h"

#define VTAB_MAX_TOKENS 64 /* far more than the longest vec0 column definition */

/* ---- schema parsing ---------------------------------------------------- */

typedef struct tok {
	const char *s;
	size_t n;
	char kind; /* 'a' identifier, '0' number, else the punctuation character */
} tok;

/* One vector column as declared. */
typedef struct vcol {
	char name[VTAB_NAME];
	char elem[8];
	size_t d;
	vtab_metric metric;
	int is_ivf, nlist, nprobe, oversample;
	char quantizer[16];
} vcol;

/* What one CREATE statement declares. */
typedef struct decl {
	char pk[VTAB_NAME];
	int pk_text;
	int nvec, naux;
	vcol vec[VTAB_MAX_VEC];
	char aux[VTAB_MAX_AUX][VTAB_NAME];
	int aux_type[VTAB_MAX_AUX];
	int chunk_size; /* as declared, VTAB_CHUNK_SIZE when not */
} decl;

static int tok_is(const tok *t, const char *word)
{
	return t->kind == 'a' && strlen(word) == t->n && strncasecmp(t->s, word, t->n) == 0;
}

const char *const vtab_metric_names[] = {
    [VTAB_L2] = "l2",
    [VTAB_COSINE] = "cosine",
    [VTAB_L1] = "l1",
    NULL,
};

NAMES_DEFINE(vtab_metric, vtab_metric)

/* The metric token t names, as vec0 reads it: case-insensitive, else l2. */
static vtab_metric tok_metric(const tok *t)
{
	for (int i = 0; vtab_metric_names[i]; i++)
		if (tok_is(t, vtab_metric_names[i]))
			return (vtab_metric)i;
	return VTAB_L2;
}

static void tok_copy(const tok *t, char *dst, size_t len)
{
	snprintf(dst, len, "%.*s", (int)t->n, t->s);
}

/* Splits [p, end) into tokens; returns how many (at most max). */
static size_t lex(const char *p, const char *end, tok *out, size_t max)
{
	size_t n = 0;
	while (p < end && n < max) {
		const char *s = p;
		char kind;
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (isalpha((unsigned char)*p)) {
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			kind = 'a';
		} else if (isdigit((unsigned char)*p)) {
			while (p < end && isdigit((unsigned char)*p))
				p++;
			kind = '0';
		} else {
			kind = *p++;
		}
		out[n++] = (tok){s, (size_t)(p - s), kind};
	}
	return n;
}

/* The number token t if it is one of at most max, else -1. */
static long tok_num(const tok *t, long max)
{
	long v = 0;
	if (t->kind != '0')
		return -1;
	for (size_t j = 0; j < t->n; j++)
		if ((v = 10 * v + (t->s[j] - '0')) > max)
			return -1;
	return v;
}

/* ivf(key=value, ...) starting at tok[i] == '('; returns the index after ')'.
 * A value vec0's constructor would refuse leaves a field out of range, which
 * parse_vector rejects. */
static size_t parse_ivf(const tok *tk, size_t n, size_t i, vcol *c)
{
	int nprobe_set = 0;
	c->is_ivf = 1;
	c->nlist = VTAB_IVF_NLIST;
	c->nprobe = VTAB_IVF_NPROBE;
	c->oversample = 1;
	snprintf(c->quantizer, sizeof c->quantizer, "none");
	for (i++; i + 2 < n && tk[i].kind == 'a' && tk[i + 1].kind == '='; i += 3) {
		const tok *v = &tk[i + 2];
		if (tok_is(&tk[i], "nlist"))
			c->nlist = (int)tok_num(v, IVF_MAX_NLIST);
		else if (tok_is(&tk[i], "nprobe"))
			c->nprobe = (int)tok_num(v, IVF_MAX_NLIST), nprobe_set = 1;
		else if (tok_is(&tk[i], "oversample"))
			c->oversample = (int)tok_num(v, INT_MAX);
		else if (tok_is(&tk[i], "quantizer"))
			tok_copy(v, c->quantizer, sizeof c->quantizer);
		if (i + 3 < n && tk[i + 3].kind == ',')
			i++;
	}
	/* vec0 lowers an implicit nprobe to nlist */
	if (!nprobe_set && c->nlist > 0 && c->nprobe > c->nlist)
		c->nprobe = c->nlist;
	return i + 1;
}

/* `name type[D] [distance_metric=m] [indexed by kind(...)]`: 1 when the tokens
 * declare a vector column (filled into c), 0 otherwise. The statement comes
 * from a database file, which anyone may have written: a dimension or IVF
 * parameter vec0 could not have created is no vector column (callers size
 * buffers by them). */
static int parse_vector(const tok *tk, size_t n, vcol *c)
{
	if (n < 5 || tk[0].kind != 'a' || tk[1].kind != 'a' || tk[2].kind != '[' ||
	    tk[3].kind != '0' || tk[4].kind != ']')
		return 0;
	memset(c, 0, sizeof *c);
	tok_copy(&tk[0], c->name, sizeof c->name);
	/* vec0 matches the element type by prefix: float32, f32, int8, i8, bit */
	if (!strncasecmp(tk[1].s, "float", 5) || !strncasecmp(tk[1].s, "f32", 3))
		snprintf(c->elem, sizeof c->elem, "float");
	else if (!strncasecmp(tk[1].s, "int8", 4) || !strncasecmp(tk[1].s, "i8", 2))
		snprintf(c->elem, sizeof c->elem, "int8");
	else if (!strncasecmp(tk[1].s, "bit", 3))
		snprintf(c->elem, sizeof c->elem, "bit");
	else
		return 0;
	long d = tok_num(&tk[3], VTAB_MAX_DIM);
	if (d < 1)
		return 0;
	c->d = (size_t)d;
	snprintf(c->quantizer, sizeof c->quantizer, "none");
	size_t i = 5;
	while (i < n) {
		if (tok_is(&tk[i], "distance_metric") && i + 2 < n) {
			c->metric = tok_metric(&tk[i + 2]);
			i += 3;
		} else if (tok_is(&tk[i], "indexed") && i + 3 < n && tk[i + 3].kind == '(') {
			if (tok_is(&tk[i + 2], "ivf")) {
				i = parse_ivf(tk, n, i + 3, c);
				continue;
			}
			/* flat(), rescore(...), diskann(...): nothing ivfkit needs */
			for (i += 3; i < n && tk[i].kind != ')'; i++)
				;
			i++;
		} else {
			i++;
		}
	}
	return !c->is_ivf || (c->nlist >= 0 && c->nprobe >= 1 && c->oversample >= 1);
}

/* An auxiliary column's type as sqlite-vec reads it: the word may be any prefix
 * of text, int/integer, float/double or blob (it compares the word's length
 * only); SQLite's type codes, 0 for none of them. */
static int aux_type(const tok *t)
{
	static const struct {
		const char *word;
		int type;
	} types[] = {{"text", 3},  {"int", 1},    {"integer", 1},
	             {"float", 2}, {"double", 2}, {"blob", 4}};
	for (size_t i = 0; t->kind == 'a' && i < sizeof types / sizeof *types; i++)
		if (t->n <= strlen(types[i].word) && strncasecmp(t->s, types[i].word, t->n) == 0)
			return types[i].type;
	return 0;
}

/* One constructor argument, classified in vec0's order: vector column,
 * partition key, primary key, auxiliary column, metadata column, table option. */
static void parse_arg(const char *p, const char *end, decl *dc)
{
	tok tk[VTAB_MAX_TOKENS];
	size_t n = lex(p, end, tk, VTAB_MAX_TOKENS);
	if (n == 0)
		return;
	if (dc->nvec < VTAB_MAX_VEC && parse_vector(tk, n, &dc->vec[dc->nvec])) {
		dc->nvec++;
	} else if (n >= 4 && tk[0].kind == 'a' && tok_is(&tk[2], "primary")) {
		tok_copy(&tk[0], dc->pk, sizeof dc->pk);
		dc->pk_text = tok_is(&tk[1], "text");
	} else if (n >= 2 && tk[0].kind == '+' && dc->naux < VTAB_MAX_AUX) {
		dc->aux_type[dc->naux] = n >= 3 ? aux_type(&tk[2]) : 0;
		tok_copy(&tk[1], dc->aux[dc->naux++], VTAB_NAME);
	} else if (n == 3 && tok_is(&tk[0], "chunk_size") && tk[1].kind == '=' &&
	           tk[2].kind == '0') {
		dc->chunk_size = (int)strtol(tk[2].s, NULL, 10);
	}
	/* partition keys and metadata columns change nothing here: every user
	 * column is copied on a move through the table's own schema */
}

/* Finds `USING module(` outside quoted names; returns a pointer just past '('
 * when the module is vec0, NULL otherwise. */
static const char *vec0_args(const char *sql)
{
	const char *p = sql;
	while (*p) {
		if (*p == '"' || *p == '\'' || *p == '`' || *p == '[') {
			char close = *p == '[' ? ']' : *p;
			for (p++; *p && *p != close; p++)
				;
			if (*p)
				p++;
			continue;
		}
		if (!strncasecmp(p, "using", 5) && (p == sql || isspace((unsigned char)p[-1])) &&
		    isspace((unsigned char)p[5])) {
			p += 5;
			while (isspace((unsigned char)*p))
				p++;
			if (strncasecmp(p, "vec0", 4) != 0)
				return NULL;
			p += 4;
			while (isspace((unsigned char)*p))
				p++;
			return *p == '(' ? p + 1 : NULL;
		}
		p++;
	}
	return NULL;
}

/* Parses a CREATE statement; 1 when it declares a vec0 table, 0 otherwise. */
static int parse_create(const char *sql, decl *dc)
{
	memset(dc, 0, sizeof *dc);
	dc->chunk_size = VTAB_CHUNK_SIZE;
	const char *p = sql ? vec0_args(sql) : NULL;
	const char *end = p ? strrchr(p, ')') : NULL;
	if (!end)
		return 0;
	/* split at commas outside parentheses: ivf(nlist=.., nprobe=..) has its own */
	int depth = 0;
	const char *arg = p;
	for (const char *q = p; q <= end; q++) {
		if (*q == '(' || *q == '[')
			depth++;
		else if ((*q == ')' || *q == ']') && q < end)
			depth--;
		if (q == end || (*q == ',' && depth == 0)) {
			parse_arg(arg, q, dc);
			arg = q + 1;
		}
	}
	return 1;
}

/* Picks the column from a parsed table into t; ERR_INPUT naming the table. */
static int pick_column(const char *name, const decl *dc, const char *column, int require_ivf,
                       vtab *t, char *err)
{
	int pick = -1, nivf = 0, first_ivf = -1;
	for (int i = 0; i < dc->nvec; i++) {
		if (dc->vec[i].is_ivf && nivf++ == 0)
			first_ivf = i;
		if (column && strcasecmp(dc->vec[i].name, column) == 0)
			pick = i;
	}
	if (column && pick < 0)
		return err_set(err, ERR_INPUT, "table %s has no vector column %s", name, column);
	if (!column) {
		if (nivf > 1)
			return err_set(err, ERR_INPUT,
			               "table %s has %d IVF columns: name one (--column)", name,
			               nivf);
		pick = first_ivf >= 0 ? first_ivf : dc->nvec == 1 ? 0 : -1;
	}
	if (require_ivf && (pick < 0 || !dc->vec[pick].is_ivf))
		return err_set(err, ERR_INPUT,
		               "table %s has no vector column indexed by ivf(...)%s%s", name,
		               column ? ": " : "", column ? column : "");
	if (pick < 0)
		return err_set(err, ERR_INPUT,
		               "table %s has %d vector columns: name one (--column)", name,
		               dc->nvec);
	if (dc->vec[pick].is_ivf && pick != first_ivf)
		return err_set(
		    err, ERR_INPUT,
		    "table %s: sqlite-vec's IVF commands only reach its first IVF column %s", name,
		    dc->vec[first_ivf].name);
	const vcol *c = &dc->vec[pick];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	snprintf(t->column, sizeof t->column, "%s", c->name);
	snprintf(t->pk, sizeof t->pk, "%s", dc->pk);
	t->pk_text = dc->pk_text;
	t->d = c->d;
	t->metric = c->metric;
	t->is_ivf = c->is_ivf;
	t->nlist = c->nlist;
	t->nprobe = c->nprobe;
	snprintf(t->quantizer, sizeof t->quantizer, "%s", c->quantizer);
	t->oversample = c->oversample;
	t->naux = dc->naux;
	t->chunk_size = dc->chunk_size;
	memcpy(t->aux, dc->aux, sizeof t->aux);
	memcpy(t->aux_type, dc->aux_type, sizeof t->aux_type);
	snprintf(t->elem, sizeof t->elem, "%s", c->elem);
	t->vec_index = pick;
	t->nvec = dc->nvec;
	for (int i = 0; i < dc->nvec; i++) {
		snprintf(t->vec[i], VTAB_NAME, "%s", dc->vec[i].name);
		snprintf(t->vec_elem[i], sizeof t->vec_elem[i], "%s", dc->vec[i].elem);
	}
	return 0;
}

int vtab_parse(const char *name, const char *sql, const char *column, int require_ivf, vtab *t,
               char *err)
{
	decl dc;
	if (!parse_create(sql, &dc))
		return 1;
	return pick_column(name, &dc, column, require_ivf, t, err);
}

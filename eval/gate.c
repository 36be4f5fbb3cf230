/*
 * gate.c - CI checks over results.json files (see gate.h).
 *
 * Reads only what the checks need from the files report.c writes: status,
 * dataset {name, k, queries}, sections[] {name, type, status, reason, exact,
 * points[] {nprobe, recall, mean_ms}}. Any of those missing or of the wrong type
 * is bad input naming the file and the field.
 */
#include "gate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli.h"
#include "err.h"
#include "ivf.h"

void gate_defaults(gate_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_recall_drop = -1;
	o->max_latency_ratio = -1;
}

int gate_add_min(gate_opts *o, const char *spec, char *err)
{
	const char *eq = strrchr(spec, '=');
	if (!eq || eq == spec)
		return err_set(err, ERR_INPUT,
		               "min recall \"%s\": expected SECTION[@NPROBE]=RECALL", spec);
	size_t len = (size_t)(eq - spec);
	if (len >= GATE_POINT)
		return err_set(err, ERR_INPUT, "min recall \"%s\": section name too long", spec);
	char *end;
	errno = 0;
	double r = strtod(eq + 1, &end);
	if (errno || end == eq + 1 || *end || !(r >= 0 && r <= 1))
		return err_set(err, ERR_INPUT,
		               "min recall \"%s\": recall must be a number in [0, 1]", spec);
	gate_min m = {.recall = r};
	memcpy(m.point, spec, len);
	m.point[len] = 0;
	const char *at = strchr(m.point, '@');
	long np;
	/* vec0's own nprobe range: a larger one can never have been measured */
	if (at && (at == m.point || cli_parse_long("nprobe", at + 1, 1, IVF_MAX_NLIST, &np, NULL)))
		return err_set(err, ERR_INPUT,
		               "min recall \"%s\": expected SECTION@NPROBE with NPROBE in [1, %d]",
		               spec, IVF_MAX_NLIST);
	for (size_t i = 0; i < o->nmin; i++) {
		if (strcmp(o->min[i].point, m.point) == 0) {
			o->min[i] = m;
			return 0;
		}
	}
	if (o->nmin == GATE_MAX_MIN)
		return err_set(err, ERR_INPUT, "more than %d min recall thresholds", GATE_MAX_MIN);
	o->min[o->nmin++] = m;
	return 0;
}

void gate_result_free(gate_result *res)
{
	if (!res)
		return;
	free(res->checks);
	memset(res, 0, sizeof *res);
}

/* Appends a check; ERR_NOMEM when it cannot grow. */
static int add_check(gate_result *res, gate_verdict v, char *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add_check(gate_result *res, gate_verdict v, char *err, const char *fmt, ...)
{
	if (res->n == res->cap) {
		size_t cap = res->cap ? 2 * res->cap : 16;
		gate_check *c = realloc(res->checks, cap * sizeof *c);
		if (!c)
			return err_set(err, ERR_NOMEM, "out of memory");
		res->checks = c;
		res->cap = cap;
	}
	gate_check *c = &res->checks[res->n++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof c->text, fmt, ap);
	va_end(ap);
	c->verdict = v;
	res->failed += v == GATE_FAIL;
	return 0;
}

/* A number member of obj within [lo, hi]; ERR_INPUT naming file, where and key. */
static int get_ranged(const char *path, const cJSON *obj, const char *where, const char *key,
                      double lo, double hi, char *err)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(x))
		return err_set(err, ERR_INPUT, "%s: %s has no number \"%s\"", path, where, key);
	if (!(x->valuedouble >= lo && x->valuedouble <= hi))
		return err_set(err, ERR_INPUT, "%s: %s has %s %g, outside [%g, %g]", path, where,
		               key, x->valuedouble, lo, hi);
	return 0;
}

/* Two points of a section are the same measurement when their nprobe and, for a
 * filtered run's post-filtering, their filter_oversample agree. */
static int same_point(const cJSON *a, const cJSON *b)
{
	const cJSON *oa = cJSON_GetObjectItemCaseSensitive(a, "filter_oversample");
	const cJSON *ob = cJSON_GetObjectItemCaseSensitive(b, "filter_oversample");
	return cJSON_Compare(cJSON_GetObjectItemCaseSensitive(a, "nprobe"),
	                     cJSON_GetObjectItemCaseSensitive(b, "nprobe"), 1) &&
	       ((!oa && !ob) || (oa && ob && cJSON_Compare(oa, ob, 1)));
}

/* Every figure the checks read, for every section, before any check runs: names
 * unique (a point must not be answered by whichever copy comes first), recalls
 * in [0, 1], latencies finite and not negative, each point (nprobe, and
 * filter_oversample when present) once a section. */
static int check_sections(const char *path, const cJSON *doc, char *err)
{
	const cJSON *s, *t, *secs = cJSON_GetObjectItemCaseSensitive(doc, "sections");
	cJSON_ArrayForEach(s, secs)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "status");
		if (!cJSON_IsString(name) || !cJSON_IsString(st))
			return err_set(err, ERR_INPUT, "%s: a section has no name or status", path);
		for (t = secs->child; t != s; t = t->next) /* earlier names: checked strings */
			if (strcmp(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring,
			           name->valuestring) == 0)
				return err_set(err, ERR_INPUT, "%s: section %s is listed twice",
				               path, name->valuestring);
		if (strcmp(st->valuestring, "ok") != 0)
			continue;
		const cJSON *p, *q, *pts = cJSON_GetObjectItemCaseSensitive(s, "points");
		if (!cJSON_IsArray(pts))
			return err_set(err, ERR_INPUT, "%s: section %s has no points array", path,
			               name->valuestring);
		cJSON_ArrayForEach(p, pts)
		{
			char where[GATE_POINT + 48];
			const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nprobe");
			snprintf(where, sizeof where, "a point of section %s", name->valuestring);
			if (!cJSON_IsNumber(np) && !cJSON_IsNull(np))
				return err_set(err, ERR_INPUT, "%s: %s has no nprobe", path, where);
			for (q = pts->child; q != p; q = q->next)
				if (same_point(q, p))
					return err_set(err, ERR_INPUT,
					               "%s: section %s lists a point twice", path,
					               name->valuestring);
			int rc;
			if ((rc = get_ranged(path, p, where, "recall", 0, 1, err)) ||
			    (rc = get_ranged(path, p, where, "mean_ms", 0, HUGE_VAL, err)))
				return rc;
			if (cJSON_GetObjectItemCaseSensitive(p, "recall_ties") &&
			    (rc = get_ranged(path, p, where, "recall_ties", 0, 1, err)))
				return rc;
		}
	}
	return 0;
}

/* The `incomplete` marker report.c keeps in a run's folder until the run
 * completes: a complete-looking results.json beside one is not a complete run. */
static int check_marker(const char *path, char *err)
{
	char marker[4096 + sizeof GATE_MARKER], why[128] = "";
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path) : 1;
	snprintf(marker, sizeof marker, "%.*s/" GATE_MARKER, dl, slash ? path : ".");
	FILE *f = fopen(marker, "r");
	if (!f)
		return 0;
	if (fgets(why, sizeof why, f))
		why[strcspn(why, "\n")] = 0;
	fclose(f);
	return err_set(err, ERR_INPUT, "%s: its folder holds %s (\"%s\"): the run did not complete",
	               path, marker, why);
}

/* Reads and parses a results file; a complete run of the known format only. */
static int load_results(const char *path, cJSON **out, char *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(err, ERR_INPUT, "%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap + 65536 + 1);
			if (!nb) {
				rc = err_set(err, ERR_NOMEM, "%s: out of memory", path);
				goto done;
			}
			buf = nb;
			cap += 65536;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = err_set(err, ERR_INPUT, "%s: read error", path);
		goto done;
	}
	buf[len] = 0;
	cJSON *doc = cJSON_ParseWithLength(buf, len);
	if (!doc) {
		rc = err_set(err, ERR_INPUT, "%s: not valid JSON", path);
		goto done;
	}
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, GATE_FORMAT) != 0 ||
	    !cJSON_IsString(st) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "sections"))) {
		rc = err_set(err, ERR_INPUT, "%s: not a vecbench results file (format %s)", path,
		             GATE_FORMAT);
	} else if (strcmp(st->valuestring, "complete") != 0) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
		rc = err_set(err, ERR_INPUT, "%s: run is %s%s%s, not complete", path,
		             st->valuestring, cJSON_IsString(e) ? ": " : "",
		             cJSON_IsString(e) ? e->valuestring : "");
	} else {
		rc = check_sections(path, doc, err);
		if (rc == 0)
			rc = check_marker(path, err);
	}
	if (rc)
		cJSON_Delete(doc);
	else
		*out = doc;
done:
	free(buf);
	fclose(f);
	return rc;
}

/* A member of obj that must be a number; ERR_INPUT naming file and field. */
static int get_num(const char *path, const cJSON *obj, const char *where, const char *key,
                   double *v, char *err)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(x))
		return err_set(err, ERR_INPUT, "%s: %s has no number \"%s\"", path, where, key);
	*v = x->valuedouble;
	return 0;
}

static int get_str(const char *path, const cJSON *obj, const char *where, const char *key,
                   const char **v, char *err)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsString(x))
		return err_set(err, ERR_INPUT, "%s: %s has no string \"%s\"", path, where, key);
	*v = x->valuestring;
	return 0;
}

static const cJSON *find_section(const cJSON *doc, const char *name)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(doc, "sections"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return s;
	}
	return NULL;
}

/* The point of sec at nprobe (0: a flat section's only point, or an IVF
 * section's largest nprobe), or NULL when there is none. The points were
 * checked when the file was loaded (check_sections). */
static const cJSON *find_point(const cJSON *sec, long nprobe)
{
	const cJSON *p, *best = NULL;
	double best_np = -1;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(sec, "points"))
	{
		const cJSON *np = cJSON_GetObjectItemCaseSensitive(p, "nprobe");
		double v = cJSON_IsNumber(np) ? np->valuedouble : 0;
		if (nprobe ? v == (double)nprobe : v > best_np) {
			best = p;
			best_np = v;
		}
	}
	return best;
}

/* "name" or "name@nprobe" of a point, for messages. */
static void point_label(const char *sec, const cJSON *pt, char *buf, size_t len)
{
	const cJSON *np = cJSON_GetObjectItemCaseSensitive(pt, "nprobe");
	if (cJSON_IsNumber(np))
		snprintf(buf, len, "%s@%d", sec, np->valueint);
	else
		snprintf(buf, len, "%s", sec);
}

/* Resolves a gated point in doc: *pt set when measured; otherwise a failing check
 * saying why is added and *pt is NULL. */
static int resolve(const char *path, const cJSON *doc, const char *what, const char *section,
                   long nprobe, const char *label, const cJSON **pt, gate_result *res, char *err)
{
	*pt = NULL;
	const cJSON *sec = find_section(doc, section);
	if (!sec)
		return add_check(res, GATE_FAIL, err, "%s %s: section missing from %s", what, label,
		                 path);
	const char *st = "";
	int rc = get_str(path, sec, section, "status", &st, err);
	if (rc)
		return rc;
	if (strcmp(st, "ok") != 0) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(sec, "reason");
		return add_check(res, GATE_FAIL, err, "%s %s: section %s in %s%s%s", what, label,
		                 st, path, cJSON_IsString(r) ? ": " : "",
		                 cJSON_IsString(r) ? r->valuestring : "");
	}
	*pt = find_point(sec, nprobe);
	return *pt ? 0
	           : add_check(res, GATE_FAIL, err, "%s %s: not measured in %s", what, label, path);
}

static int check_min(const char *path, const cJSON *doc, const gate_min *m, gate_result *res,
                     char *err)
{
	char section[GATE_POINT];
	snprintf(section, sizeof section, "%s", m->point);
	char *at = strchr(section, '@');
	long nprobe = 0;
	if (at) {
		*at = 0;
		nprobe = strtol(at + 1, NULL, 10);
	}
	const cJSON *pt;
	int rc = resolve(path, doc, "min recall", section, nprobe, m->point, &pt, res, err);
	if (rc || !pt)
		return rc;
	char label[GATE_POINT + 16];
	point_label(section, pt, label, sizeof label);
	double r = 0;
	if ((rc = get_num(path, pt, label, "recall", &r, err)))
		return rc;
	return add_check(res, r >= m->recall ? GATE_PASS : GATE_FAIL, err,
	                 "min recall %s: %.4f %s %.4f", label, r, r >= m->recall ? ">=" : "<",
	                 m->recall);
}

/* Each flat section's recorded exactness check (recall with ties 1.0). */
static int check_exact(const char *path, const cJSON *doc, gate_result *res, char *err)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(doc, "sections"))
	{
		const char *name = "", *type = "", *st = "";
		int rc;
		if ((rc = get_str(path, s, "a section", "name", &name, err)) ||
		    (rc = get_str(path, s, name, "type", &type, err)) ||
		    (rc = get_str(path, s, name, "status", &st, err)))
			return rc;
		if (strcmp(type, "flat") != 0 || strcmp(st, "ok") != 0)
			continue;
		const cJSON *ex = cJSON_GetObjectItemCaseSensitive(s, "exact");
		const cJSON *pass = cJSON_GetObjectItemCaseSensitive(ex, "pass");
		double rt = 0, bad = 0;
		if (!cJSON_IsBool(pass))
			return err_set(err, ERR_INPUT, "%s: flat section %s has no exact.pass",
			               path, name);
		if ((rc = get_num(path, ex, name, "recall_ties", &rt, err)) ||
		    (rc = get_num(path, ex, name, "inexact_queries", &bad, err)))
			return rc;
		rc = add_check(res, cJSON_IsTrue(pass) ? GATE_PASS : GATE_FAIL, err,
		               "flat exact %s: recall with ties %.4f, %.0f queries below 1", name,
		               rt, bad);
		if (rc)
			return rc;
	}
	return 0;
}

/* Baseline and results must measure the same thing to be compared: the same
 * dataset name alone is not enough (a subset keeps the name, a re-import may
 * change the metric). */
static int same_dataset(const char *rp, const cJSON *r, const char *bp, const cJSON *b, char *err)
{
	static const char *const nums[] = {"train_rows", "dimension", "k", "queries"};
	const cJSON *dr = cJSON_GetObjectItemCaseSensitive(r, "dataset");
	const cJSON *db = cJSON_GetObjectItemCaseSensitive(b, "dataset");
	const char *nr = "", *nb = "", *mr = "", *mb = "";
	int rc;
	if ((rc = get_str(rp, dr, "dataset", "name", &nr, err)) ||
	    (rc = get_str(bp, db, "dataset", "name", &nb, err)) ||
	    (rc = get_str(rp, dr, "dataset", "distance", &mr, err)) ||
	    (rc = get_str(bp, db, "dataset", "distance", &mb, err)))
		return rc;
	if (strcmp(nr, nb) != 0 || strcmp(mr, mb) != 0)
		return err_set(err, ERR_INPUT,
		               "baseline %s measured %s (%s), results %s measured %s (%s): not "
		               "comparable",
		               bp, nb, mb, rp, nr, mr);
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
		double vr = 0, vb = 0;
		if ((rc = get_num(rp, dr, "dataset", nums[i], &vr, err)) ||
		    (rc = get_num(bp, db, "dataset", nums[i], &vb, err)))
			return rc;
		if (vr != vb)
			return err_set(
			    err, ERR_INPUT,
			    "baseline %s measured %s with %s %.0f, results %s with %.0f: "
			    "not comparable",
			    bp, nb, nums[i], vb, rp, vr);
	}
	return 0;
}

/* One baseline point against the same point in the results. */
static int check_vs_baseline(const char *rp, const cJSON *r, const char *bp, const char *section,
                             const cJSON *bpt, double max_drop, double max_ratio, gate_result *res,
                             char *err)
{
	char label[GATE_POINT + 16];
	point_label(section, bpt, label, sizeof label);
	const cJSON *np = cJSON_GetObjectItemCaseSensitive(bpt, "nprobe");
	long nprobe = cJSON_IsNumber(np) ? np->valueint : 0;
	const cJSON *pt;
	int rc = resolve(rp, r, "vs baseline", section, nprobe, label, &pt, res, err);
	if (rc || !pt)
		return rc;
	double br = 0, cr = 0, bl = 0, cl = 0;
	if ((rc = get_num(bp, bpt, label, "recall", &br, err)) ||
	    (rc = get_num(rp, pt, label, "recall", &cr, err)) ||
	    (rc = get_num(bp, bpt, label, "mean_ms", &bl, err)) ||
	    (rc = get_num(rp, pt, label, "mean_ms", &cl, err)))
		return rc;
	if (max_drop >= 0) {
		/* a hair of slack so a drop printed as equal to the limit passes */
		int ok = br - cr <= max_drop + 1e-12;
		rc = add_check(res, ok ? GATE_PASS : GATE_FAIL, err,
		               "recall drop %s: %.4f -> %.4f (drop %.4f %s %.4f)", label, br, cr,
		               br - cr, ok ? "<=" : ">", max_drop);
		if (rc)
			return rc;
	}
	if (max_ratio >= 0) {
		double ratio = bl > 0 ? cl / bl : INFINITY;
		int ok = ratio <= max_ratio;
		rc = add_check(res, ok ? GATE_PASS : GATE_FAIL, err,
		               "latency ratio %s: %.3f ms -> %.3f ms (x%.2f %s x%.2f)", label, bl,
		               cl, ratio, ok ? "<=" : ">", max_ratio);
	}
	return rc;
}

static int check_baseline(const char *rp, const cJSON *r, const char *bp, const cJSON *b,
                          const gate_opts *o, gate_result *res, char *err)
{
	int rc = same_dataset(rp, r, bp, b, err);
	double drop = o->max_recall_drop >= 0 ? o->max_recall_drop : GATE_DEFAULT_DROP;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(b, "sections"))
	{
		if (rc)
			return rc;
		const char *name = "", *st = "";
		if ((rc = get_str(bp, s, "a section", "name", &name, err)) ||
		    (rc = get_str(bp, s, name, "status", &st, err)))
			return rc;
		if (strcmp(st, "ok") != 0) {
			rc = add_check(res, GATE_NOTE, err,
			               "vs baseline %s: %s in the baseline, "
			               "nothing to compare",
			               name, st);
			continue;
		}
		const cJSON *p; /* points checked at load (check_sections) */
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(s, "points"))
		{
			rc = check_vs_baseline(rp, r, bp, name, p, drop, o->max_latency_ratio, res,
			                       err);
			if (rc)
				return rc;
		}
	}
	return rc;
}

static size_t count_notes(const gate_result *res)
{
	size_t n = 0;
	for (size_t i = 0; i < res->n; i++)
		n += res->checks[i].verdict == GATE_NOTE;
	return n;
}

int gate_run(const char *results, const char *baseline, const gate_opts *o, gate_result *res,
             char *err)
{
	cJSON *r = NULL, *b = NULL;
	gate_result out = {0};
	int rc = load_results(results, &r, err);
	if (rc == 0 && baseline)
		rc = load_results(baseline, &b, err);
	if (rc == 0)
		rc = check_exact(results, r, &out, err);
	for (size_t i = 0; rc == 0 && i < o->nmin; i++)
		rc = check_min(results, r, &o->min[i], &out, err);
	if (rc == 0 && b)
		rc = check_baseline(results, r, baseline, b, o, &out, err);
	if (rc == 0 && out.n == count_notes(&out))
		rc = add_check(&out, GATE_FAIL, err,
		               "nothing compared: %s has no measured flat section, no threshold "
		               "applies and no baseline point was measured",
		               results);
	cJSON_Delete(r);
	cJSON_Delete(b);
	if (rc) {
		gate_result_free(&out);
		return rc;
	}
	*res = out;
	return 0;
}

/*
 * filter_report.c - filtered runs and constraint probes in vecbench's report
 * (see filter_report.h). Latencies in milliseconds, rates as fractions in JSON
 * and percentages in markdown, like the rest of the report.
 */
#include "filter_report.h"

#include <string.h>

#define FREP_WAY 64

/* How section s filters: "flat + partition key", "ivf + aux post-filter", a
 * peer's index and its engine's filter ("faiss IVF + ID selector", "pgvector
 * HNSW + WHERE, iterative relaxed"). */
static const char *frep_way(const bench_section *s, char *buf, size_t len)
{
	static const char *const how[FLT_NMODES] = {"metadata", "partition key", "aux post-filter",
	                                            "join post-filter"};
	static const char *const peer_way[CFG_TYPE_NTYPES] = {
	    [CFG_TYPE_FAISS_FLAT] = "faiss flat + ID selector",
	    [CFG_TYPE_FAISS_IVF] = "faiss IVF + ID selector",
	    [CFG_TYPE_PGV_IVFFLAT] = "pgvector IVFFlat + WHERE",
	    [CFG_TYPE_PGV_HNSW] = "pgvector HNSW + WHERE",
	};
	/* pgvector: with or without its iterative scan are different searches */
	static const char *const iter[] = {
	    [CFG_ITER_OFF] = ", no iterative scan",
	    [CFG_ITER_RELAXED] = ", iterative relaxed",
	    [CFG_ITER_STRICT] = ", iterative strict",
	};
	int pgv = s->cx->type == CFG_TYPE_PGV_IVFFLAT || s->cx->type == CFG_TYPE_PGV_HNSW;
	if (s->cx->peer)
		snprintf(buf, len, "%s%s%s", peer_way[s->cx->type],
		         pgv && s->cx->planner ? ", planner's plan" : "",
		         pgv ? iter[s->cx->iterative_scan] : "");
	else
		snprintf(buf, len, "%s + %s", cfg_type_name(s->cx->type), how[s->cx->filter_mode]);
	return buf;
}

static void frep_label(char *buf, size_t len, const bench_section *s, const bench_point *p)
{
	int n = snprintf(buf, len, "%s", s->cx->name);
	if (p->nprobe)
		n += snprintf(buf + n, len - n, " %s=%d", cfg_sweep_name(s->cx->type), p->nprobe);
	if (p->oversample)
		snprintf(buf + n, len - n, " oversample=%d", p->oversample);
}

cJSON *frep_point_json(const bench_run *r, const bench_point *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "under_k", (double)p->flt.under_k);
	cJSON_AddNumberToObject(o, "under_k_rate", (double)p->flt.under_k / (double)r->nq);
	cJSON *cls = cJSON_AddArrayToObject(o, "classes");
	for (size_t c = 0; c < FLT_NCLASS; c++) {
		const flt_class_pt *cp = &p->flt.c[c];
		if (!cp->nq)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "selectivity_class", flt_class_name(c));
		cJSON_AddNumberToObject(e, "selectivity", r->flt.class_sel[c]);
		cJSON_AddNumberToObject(e, "queries", (double)cp->nq);
		cJSON_AddNumberToObject(e, "recall", cp->recall);
		cJSON_AddNumberToObject(e, "mean_ms", cp->lat_s / (double)cp->nq * 1e3);
		cJSON_AddNumberToObject(e, "qps", cp->lat_s > 0 ? (double)cp->nq / cp->lat_s : 0);
		cJSON_AddNumberToObject(e, "under_k", (double)cp->under_k);
		cJSON_AddNumberToObject(e, "under_k_rate", (double)cp->under_k / (double)cp->nq);
		cJSON_AddItemToArray(cls, e);
	}
	return o;
}

cJSON *frep_constraints_json(const bench_section *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "key_in", s->cons.key_in);
	cJSON_AddBoolToObject(o, "distance_gt", s->cons.distance_gt);
	return o;
}

void frep_params_json(cJSON *o, const bench_run *r, const bench_section *s)
{
	char way[FREP_WAY];
	if (!r->filtered)
		return;
	cJSON_AddStringToObject(o, "filtering", frep_way(s, way, sizeof way));
	if (s->cx->peer)
		return;
	cJSON_AddStringToObject(o, "filter_column", flt_mode_name((flt_mode)s->cx->filter_mode));
	if (flt_mode_post((flt_mode)s->cx->filter_mode))
		cJSON_AddItemToObject(o, "filter_oversample",
		                      cJSON_CreateIntArray(s->cx->post_over, s->cx->npost_over));
}

/* The per-class table: one row per point of every measured section. */
static void frep_class_table(FILE *f, const bench_run *r, size_t c)
{
	fprintf(f,
	        "| configuration | filtering | mean (ms) | QPS | recall@%zu | under-k |\n"
	        "|---|---|---:|---:|---:|---:|\n",
	        r->k);
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		char label[CFG_NAME + 64], way[FREP_WAY];
		if (s->status != BENCH_OK)
			continue;
		for (int p = 0; p < s->npts; p++) {
			const flt_class_pt *cp = &s->pts[p].flt.c[c];
			frep_label(label, sizeof label, s, &s->pts[p]);
			fprintf(f, "| %s | %s | %.3f | %.1f | %.4f | %.1f%% |\n", label,
			        frep_way(s, way, sizeof way), cp->lat_s / (double)cp->nq * 1e3,
			        cp->lat_s > 0 ? (double)cp->nq / cp->lat_s : 0, cp->recall,
			        100.0 * (double)cp->under_k / (double)cp->nq);
		}
	}
}

/* The sections frep_best looks at, beyond a way of filtering. */
typedef enum { FREP_ALL = 0, FREP_VEC0, FREP_VEC0_IVF } frep_among;

/* The fastest point in class c, over the sections `among` that filter the way
 * `way` (NULL: any), whose recall reaches the target; *bs gets its section.
 * NULL when none does. */
static const bench_point *frep_best(const bench_run *r, size_t c, const char *way, frep_among among,
                                    const bench_section **bs)
{
	const bench_point *bp = NULL;
	char w[FREP_WAY];
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		if (s->status != BENCH_OK || (way && strcmp(frep_way(s, w, sizeof w), way)) ||
		    (among == FREP_VEC0 && s->cx->peer) ||
		    (among == FREP_VEC0_IVF && !s->cx->type_ivf))
			continue;
		for (int p = 0; p < s->npts; p++) {
			const flt_class_pt *cp = &s->pts[p].flt.c[c];
			if (cp->recall >= FREP_TARGET && (!bp || cp->lat_s < bp->flt.c[c].lat_s)) {
				bp = &s->pts[p];
				*bs = s;
			}
		}
	}
	return bp;
}

/* The best recall any point of an IVF section reaches in class c (to say how far
 * post-filtering stays from the target), into *best with its point. */
static const bench_point *frep_ivf_top(const bench_run *r, size_t c, const bench_section **bs)
{
	const bench_point *bp = NULL;
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		if (s->status != BENCH_OK || !s->cx->type_ivf)
			continue;
		for (int p = 0; p < s->npts; p++)
			if (!bp || s->pts[p].flt.c[c].recall > bp->flt.c[c].recall) {
				bp = &s->pts[p];
				*bs = s;
			}
	}
	return bp;
}

static double frep_mean_ms(const bench_point *p, size_t c)
{
	return p->flt.c[c].lat_s / (double)p->flt.c[c].nq * 1e3;
}

/* Per class and way of filtering: the fastest point reaching the target. */
static void frep_fastest(FILE *f, const bench_run *r)
{
	fprintf(f,
	        "| selectivity | filtering | fastest at recall@%zu >= %.2f | mean (ms) | QPS | "
	        "recall@%zu | under-k |\n|---|---|---|---:|---:|---:|---:|\n",
	        r->k, FREP_TARGET, r->k);
	for (size_t c = 0; c < FLT_NCLASS; c++) {
		if (!r->flt.class_nq[c])
			continue;
		for (size_t i = 0; i < r->nsec; i++) {
			char way[FREP_WAY], w2[FREP_WAY], label[CFG_NAME + 64];
			frep_way(&r->sec[i], way, sizeof way);
			size_t first = 0;
			while (strcmp(frep_way(&r->sec[first], w2, sizeof w2), way))
				first++;
			if (first != i || r->sec[i].status != BENCH_OK)
				continue; /* one row per way, at its first section */
			const bench_section *bs = NULL;
			const bench_point *bp = frep_best(r, c, way, FREP_ALL, &bs);
			if (!bp) {
				fprintf(f, "| %s | %s | not reached | | | | |\n", flt_class_name(c),
				        way);
				continue;
			}
			const flt_class_pt *cp = &bp->flt.c[c];
			frep_label(label, sizeof label, bs, bp);
			fprintf(f, "| %s | %s | %s | %.3f | %.1f | %.4f | %.1f%% |\n",
			        flt_class_name(c), way, label, frep_mean_ms(bp, c),
			        (double)cp->nq / cp->lat_s, cp->recall,
			        100.0 * (double)cp->under_k / (double)cp->nq);
		}
	}
}

/* After frep_answer's vec0 comparison of class c: the fastest point of all at
 * the target when a peer's, against vec0's fastest. */
static void frep_answer_peer(FILE *f, const bench_run *r, size_t c)
{
	const bench_section *as = NULL, *vs = NULL;
	const bench_point *ap = frep_best(r, c, NULL, FREP_ALL, &as);
	char al[CFG_NAME + 64], way[FREP_WAY], vl[CFG_NAME + 64];
	if (!ap || !as->cx->peer)
		return;
	const bench_point *vp = frep_best(r, c, NULL, FREP_VEC0, &vs);
	frep_label(al, sizeof al, as, ap);
	fprintf(f, " Fastest of all at %.2f: %s (%s) %.3f ms", FREP_TARGET, al,
	        frep_way(as, way, sizeof way), frep_mean_ms(ap, c));
	if (vp) {
		frep_label(vl, sizeof vl, vs, vp);
		fprintf(f, ", %.1fx faster than vec0's fastest (%s, %.3f ms).",
		        frep_mean_ms(vp, c) / frep_mean_ms(ap, c), vl, frep_mean_ms(vp, c));
	} else {
		fprintf(f, "; no vec0 section reaches %.2f.", FREP_TARGET);
	}
}

/* The question the filtered benchmark answers: per class, the partition key's
 * fastest point at the target against IVF post-filtering's, then a peer where
 * one is faster than both. */
static void frep_answer(FILE *f, const bench_run *r)
{
	for (size_t c = 0; c < FLT_NCLASS; c++) {
		if (!r->flt.class_nq[c])
			continue;
		const bench_section *ps = NULL, *is = NULL, *ts = NULL;
		const bench_point *pp = frep_best(r, c, "flat + partition key", FREP_VEC0, &ps);
		const bench_point *ip = frep_best(r, c, NULL, FREP_VEC0_IVF, &is);
		char pl[CFG_NAME + 64], il[CFG_NAME + 64];
		fprintf(f, "- **%s** (%zu queries): ", flt_class_name(c), r->flt.class_nq[c]);
		if (pp)
			frep_label(pl, sizeof pl, ps, pp);
		if (ip)
			frep_label(il, sizeof il, is, ip);
		if (pp && ip) {
			double a = frep_mean_ms(pp, c), b = frep_mean_ms(ip, c);
			fprintf(f,
			        "partition key %.3f ms (%s) vs IVF post-filtering %.3f ms (%s, "
			        "under-k %.1f%%): %s %.1fx faster.",
			        a, pl, b, il,
			        100.0 * (double)ip->flt.c[c].under_k / (double)ip->flt.c[c].nq,
			        a <= b ? "the partition key" : "IVF post-filtering",
			        a <= b ? b / a : a / b);
		} else if (pp) {
			const bench_point *tp = frep_ivf_top(r, c, &ts);
			fprintf(f, "partition key %.3f ms (%s); ", frep_mean_ms(pp, c), pl);
			if (tp) {
				frep_label(il, sizeof il, ts, tp);
				fprintf(f,
				        "IVF post-filtering never reaches %.2f (best %.4f at %.3f "
				        "ms, %s, under-k %.1f%%): the partition key wins outright.",
				        FREP_TARGET, tp->flt.c[c].recall, frep_mean_ms(tp, c), il,
				        100.0 * (double)tp->flt.c[c].under_k /
				            (double)tp->flt.c[c].nq);
			} else {
				fprintf(f, "no IVF section was measured.");
			}
		} else if (ip) {
			fprintf(f,
			        "IVF post-filtering %.3f ms (%s); no partition-key section reaches "
			        "%.2f.",
			        frep_mean_ms(ip, c), il, FREP_TARGET);
		} else {
			fprintf(f, "neither a partition key nor IVF post-filtering reaches %.2f.",
			        FREP_TARGET);
		}
		frep_answer_peer(f, r, c);
		fputc('\n', f);
	}
}

void frep_md(FILE *f, const bench_run *r)
{
	fprintf(f,
	        "\n## Filtered queries\n\nFilter `%s`: each query asks for its %zu nearest rows "
	        "among those whose `train_%s` equals its `test_%s`. Recall is against the "
	        "filtered ground truth, out of min(k, matching rows); **under-k**: queries "
	        "that got fewer rows than that (post-filtering whose over-fetch of k x "
	        "oversample rows held too few matches, or an index whose probed part held "
	        "too few). Queries by selectivity (matching "
	        "fraction of the train rows):",
	        r->flt.gt.name, r->k, r->flt.gt.name, r->flt.gt.name);
	for (size_t c = 0; c < FLT_NCLASS; c++)
		if (r->flt.class_nq[c])
			fprintf(f, " %s: %zu queries (mean %.4f%%);", flt_class_name(c),
			        r->flt.class_nq[c], 100 * r->flt.class_sel[c]);
	fprintf(f, "\n\n### Partition key vs IVF post-filtering\n\n");
	frep_answer(f, r);
	fprintf(f, "\n### Fastest setting per way of filtering\n\n");
	frep_fastest(f, r);
	for (size_t c = 0; c < FLT_NCLASS; c++) {
		if (!r->flt.class_nq[c])
			continue;
		fprintf(f, "\n### Selectivity %s\n\n", flt_class_name(c));
		frep_class_table(f, r, c);
	}
}

void frep_constraints_md(FILE *f, const bench_run *r)
{
	for (size_t i = 0; i < r->nsec; i++) {
		const bench_section *s = &r->sec[i];
		if (s->status != BENCH_OK || !s->probed)
			continue;
		fprintf(f, "- **%s constraints**: `id IN (a, b)` %s; `distance > x` %s%s\n",
		        s->cx->name, s->cons.key_in ? "honoured" : "IGNORED (other rows returned)",
		        s->cons.distance_gt ? "honoured" : "IGNORED (nearer rows returned)",
		        s->cons.key_in && s->cons.distance_gt
		            ? "."
		            : ": this table answers as if the constraint were absent; ivfkit "
		              "never relies on it, and neither should a caller.");
	}
}

int frep_plot_render(const bench_run *r, FILE *fd, FILE *fg, const char *stem)
{
	int panels = 0, block = 0, measured = 0;
	for (size_t i = 0; i < r->nsec; i++)
		measured += r->sec[i].status == BENCH_OK;
	for (size_t c = 0; c < FLT_NCLASS; c++)
		panels += r->flt.class_nq[c] > 0;
	if (!measured)
		return 0;
	fprintf(fg,
	        "# Draws %s.png from %s.dat: cd here, then gnuplot %s.gp\n"
	        "set terminal pngcairo size %d,600 noenhanced\nset output '%s.png'\n"
	        "set multiplot layout 1,%d title 'filtered recall@%zu vs mean query latency, "
	        "one panel per selectivity'\nset logscale y\nset grid\nset key bottom right "
	        "font ',8'\nset xrange [0:1.02]\nset xlabel 'recall@%zu'\n"
	        "set ylabel 'mean query latency (ms)'\n",
	        stem, stem, stem, 520 * (panels ? panels : 1), stem, panels ? panels : 1, r->k,
	        r->k);
	for (size_t c = 0; c < FLT_NCLASS; c++) {
		if (!r->flt.class_nq[c])
			continue;
		fprintf(fg, "set title 'selectivity %s (%zu queries)'\nplot ", flt_class_name(c),
		        r->flt.class_nq[c]);
		int first = 1;
		for (size_t i = 0; i < r->nsec; i++) {
			const bench_section *s = &r->sec[i];
			if (s->status != BENCH_OK)
				continue;
			fprintf(fd, "# %s, selectivity %s: recall mean_ms\n", s->cx->name,
			        flt_class_name(c));
			for (int p = 0; p < s->npts; p++)
				fprintf(fd, "%.6f %.6f\n", s->pts[p].flt.c[c].recall,
				        frep_mean_ms(&s->pts[p], c));
			fprintf(fd, "\n\n");
			fprintf(fg,
			        "%s'%s.dat' index %d using 1:2 with points lt %zu pt %zu "
			        "title '%s'",
			        first ? "" : ", \\\n     ", stem, block++, i + 1, i + 1,
			        s->cx->name);
			first = 0;
		}
		fputc('\n', fg);
	}
	fprintf(fg, "unset multiplot\n");
	return panels;
}

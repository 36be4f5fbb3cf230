/*
 * filtergt.c - filtered ground truth by groups of equal filter value (see
 * filtergt.h).
 *
 * Train rows and queries are ordered by (value, row) once; each value a query
 * uses is then two contiguous runs, whose rows are gathered into small matrices
 * for gt_compute (exact, with its proof) or gt_check (brute force). Gathered rows
 * keep their order, so gt_compute's tie rule (lower row first) holds for the
 * original row numbers too.
 */
#include "filtergt.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "h5ds.h"
#include "rng.h"

typedef struct fgt_pair {
	int32_t v;
	uint32_t i;
} fgt_pair;

static int fgt_pair_cmp(const void *pa, const void *pb)
{
	const fgt_pair *a = pa, *b = pb;
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

/* x[0..n) as (value, index) pairs in that order (caller frees). */
static fgt_pair *fgt_sorted(const int32_t *x, size_t n)
{
	fgt_pair *p = malloc((n ? n : 1) * sizeof *p);
	for (size_t i = 0; p && i < n; i++)
		p[i] = (fgt_pair){x[i], (uint32_t)i};
	if (p)
		qsort(p, n, sizeof *p, fgt_pair_cmp);
	return p;
}

/* The run of pairs with value v in p[0..n): *len of them from the returned index. */
static size_t fgt_run(const fgt_pair *p, size_t n, int32_t v, size_t *len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p[mid].v < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t e = lo;
	while (e < n && p[e].v == v)
		e++;
	*len = e - lo;
	return lo;
}

/* Rows p[0..m).i of x (d floats each) into a new matrix. */
static float *fgt_gather(const float *x, size_t d, const fgt_pair *p, size_t m)
{
	float *y = malloc((m ? m : 1) * d * sizeof *y);
	for (size_t j = 0; y && j < m; j++)
		memcpy(y + j * d, x + (size_t)p[j].i * d, d * sizeof *y);
	return y;
}

static void fgt_pad(int32_t *nb, float *dist, size_t from, size_t k)
{
	for (size_t j = from; j < k; j++) {
		nb[j] = FGT_NONE;
		dist[j] = INFINITY;
	}
}

/* One filter value: the nqv queries qp against the nv train rows tp. */
static int fgt_group(const float *train, const float *test, size_t d, size_t k, gt_metric m,
                     const fgt_pair *tp, size_t nv, const fgt_pair *qp, size_t nqv,
                     int32_t *neighbors, float *distances, char *err)
{
	size_t kk = k < nv ? k : nv;
	if (kk == 0) {
		for (size_t i = 0; i < nqv; i++)
			fgt_pad(neighbors + qp[i].i * k, distances + qp[i].i * k, 0, k);
		return ERR_OK;
	}
	float *x = fgt_gather(train, d, tp, nv), *q = fgt_gather(test, d, qp, nqv);
	int32_t *nb = malloc(nqv * kk * sizeof *nb);
	float *ds = malloc(nqv * kk * sizeof *ds);
	int rc =
	    x && q && nb && ds ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory for %zu rows", nv);
	if (!rc)
		rc = gt_compute(x, nv, q, nqv, d, kk, m, nb, ds, NULL, NULL, err);
	for (size_t i = 0; !rc && i < nqv; i++) {
		int32_t *onb = neighbors + qp[i].i * k;
		float *od = distances + qp[i].i * k;
		for (size_t j = 0; j < kk; j++) {
			onb[j] = (int32_t)tp[nb[i * kk + j]].i;
			od[j] = ds[i * kk + j];
		}
		fgt_pad(onb, od, kk, k);
	}
	free(x);
	free(q);
	free(nb);
	free(ds);
	return rc;
}

int fgt_compute(const float *train, size_t n, const float *test, size_t nq, size_t d, size_t k,
                gt_metric m, const int32_t *labels, const int32_t *qfilter, int32_t *neighbors,
                float *distances, size_t *short_q, prog_t *prog, char *err)
{
	if (k == 0 || n > INT32_MAX || nq == 0 || d == 0)
		return err_set(err, ERR_INPUT,
		               "filtered ground truth: k = %zu, %zu train rows, "
		               "%zu queries, dimension %zu",
		               k, n, nq, d);
	fgt_pair *tp = fgt_sorted(labels, n), *qp = fgt_sorted(qfilter, nq);
	int rc = tp && qp ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory for %zu rows", n);
	size_t nshort = 0;
	prog_begin(prog, "filtered ground truth", nq);
	for (size_t s = 0; !rc && s < nq;) {
		size_t e = s, nv;
		while (e < nq && qp[e].v == qp[s].v)
			e++;
		size_t t0 = fgt_run(tp, n, qp[s].v, &nv);
		rc = fgt_group(train, test, d, k, m, tp + t0, nv, qp + s, e - s, neighbors,
		               distances, err);
		nshort += nv < k ? e - s : 0;
		prog_update(prog, e);
		s = e;
	}
	prog_end(prog);
	free(tp);
	free(qp);
	if (!rc && short_q)
		*short_q = nshort;
	return rc;
}

void fgt_matches(const int32_t *labels, size_t n, const int32_t *qfilter, size_t nq, size_t *count)
{
	fgt_pair *tp = fgt_sorted(labels, n);
	for (size_t q = 0; q < nq; q++) {
		if (tp) {
			fgt_run(tp, n, qfilter[q], &count[q]);
			continue;
		}
		count[q] = 0; /* no memory for the index: count by scanning */
		for (size_t i = 0; i < n; i++)
			count[q] += labels[i] == qfilter[q];
	}
	free(tp);
}

/* Row q's structure: min(k, nv) valid ids of the right label, distinct, then
 * padding; distances ascending over the valid part. */
static int fgt_row_ok(const int32_t *nb, const float *dist, size_t k, size_t n, size_t nv,
                      const int32_t *labels, int32_t v, int32_t *scratch)
{
	size_t kk = k < nv ? k : nv;
	for (size_t j = 0; j < k; j++) {
		if (j >= kk) {
			if (nb[j] != FGT_NONE || !isinf(dist[j]))
				return 0;
			continue;
		}
		if (nb[j] < 0 || (size_t)nb[j] >= n || labels[nb[j]] != v || !isfinite(dist[j]) ||
		    (j && dist[j] < dist[j - 1]))
			return 0;
		scratch[j] = nb[j];
	}
	for (size_t j = 0; j < kk; j++)
		for (size_t i = 0; i < j; i++)
			if (scratch[i] == scratch[j])
				return 0;
	return 1;
}

/* Spot query q by gt_check over its value's rows tp[0..nv): ids mapped to
 * positions in that run. */
static int fgt_spot(const float *train, const float *test, size_t d, gt_metric m,
                    const fgt_pair *tp, size_t nv, size_t q, const int32_t *nb, const float *dist,
                    size_t k, int *agree, char *err)
{
	size_t kk = k < nv ? k : nv;
	*agree = 1;
	if (kk == 0)
		return ERR_OK;
	float *x = fgt_gather(train, d, tp, nv);
	int32_t *sub = malloc(kk * sizeof *sub);
	gt_report rep;
	int rc = x && sub ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory for %zu rows", nv);
	for (size_t j = 0; !rc && j < kk; j++) {
		size_t lo = 0, hi = nv; /* the run is in row order */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if ((int64_t)tp[mid].i < (int64_t)nb[j])
				lo = mid + 1;
			else
				hi = mid;
		}
		sub[j] = lo < nv && (int64_t)tp[lo].i == (int64_t)nb[j] ? (int32_t)lo : -1;
	}
	if (!rc)
		rc = gt_check(x, nv, test + q * d, 1, d, m, sub, dist, kk, 1, &rep, err);
	if (!rc)
		*agree = rep.first_bad == SIZE_MAX;
	free(x);
	free(sub);
	return rc;
}

int fgt_check(const float *train, size_t n, const float *test, size_t nq, size_t d, gt_metric m,
              const int32_t *labels, const int32_t *qfilter, const int32_t *neighbors,
              const float *distances, size_t k, size_t spot, gt_report *rep, char *err)
{
	memset(rep, 0, sizeof *rep);
	rep->first_bad = SIZE_MAX;
	fgt_pair *tp = fgt_sorted(labels, n);
	int32_t *scratch = malloc(k * sizeof *scratch);
	int rc = tp && scratch ? ERR_OK : err_set(err, ERR_NOMEM, "out of memory for checks");
	for (size_t q = 0; !rc && q < nq; q++) {
		const int32_t *nb = neighbors + q * k;
		const float *dr = distances + q * k;
		size_t nv;
		fgt_run(tp, n, qfilter[q], &nv);
		int ok = fgt_row_ok(nb, dr, k, n, nv, labels, qfilter[q], scratch);
		int asc = 1;
		for (size_t j = 1; j < k && nb[j] != FGT_NONE; j++)
			asc &= dr[j] >= dr[j - 1];
		rep->bad_ids += !ok;
		rep->not_ascending += !asc;
		if ((!ok || !asc) && rep->first_bad == SIZE_MAX)
			rep->first_bad = q;
	}
	spot = spot < nq ? spot : nq;
	for (size_t s = 0; !rc && s < spot; s++) {
		size_t q = s * nq / spot, nv;
		size_t at = fgt_run(tp, n, qfilter[q], &nv);
		int agree;
		rc = fgt_spot(train, test, d, m, tp + at, nv, q, neighbors + q * k,
		              distances + q * k, k, &agree, err);
		rep->spot_checked++;
		rep->spot_agree += !rc && agree;
		if (!rc && !agree && (rep->first_bad == SIZE_MAX || q < rep->first_bad))
			rep->first_bad = q;
	}
	free(tp);
	free(scratch);
	return rc;
}

int fgt_tags(size_t n, size_t nq, const double *sel, size_t ntag, uint64_t seed,
             int32_t *train_tags, int32_t *test_tags, char *err)
{
	double sum = 0;
	size_t total = 0, cnt[FGT_MAX_TAGS];
	if (ntag == 0 || ntag > FGT_MAX_TAGS)
		return err_set(err, ERR_INPUT, "between 1 and %d selectivities, not %zu",
		               FGT_MAX_TAGS, ntag);
	for (size_t t = 0; t < ntag; t++) {
		if (!(sel[t] > 0 && sel[t] <= 1))
			return err_set(err, ERR_INPUT, "selectivity %g is not in (0, 1]", sel[t]);
		sum += sel[t];
		cnt[t] = (size_t)llround(sel[t] * (double)n);
		cnt[t] = cnt[t] ? cnt[t] : 1;
		total += cnt[t];
	}
	if (sum > 1 + 1e-9 || total > n)
		return err_set(err, ERR_INPUT,
		               "selectivities add up to %g (%zu rows of %zu): tags are disjoint, "
		               "at most 1",
		               sum, total, n);
	uint64_t *rows = malloc((total ? total : 1) * sizeof *rows);
	if (!rows)
		return err_set(err, ERR_NOMEM, "out of memory for %zu rows", total);
	rng_t r;
	rng_seed(&r, seed);
	rng_sample(&r, n, total, rows);
	memset(train_tags, 0, n * sizeof *train_tags);
	for (size_t t = 0, at = 0; t < ntag; at += cnt[t], t++)
		for (size_t j = 0; j < cnt[t]; j++)
			train_tags[rows[at + j]] = (int32_t)t + 1;
	for (size_t q = 0; q < nq; q++)
		test_tags[q] = (int32_t)(1 + q % ntag);
	free(rows);
	return ERR_OK;
}

int fgt_valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= FGT_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* One required label column of exactly rows entries. */
static int fgt_column(const char *path, const char *col, size_t rows, int32_t **x, char *err)
{
	size_t r, c;
	int rc = h5_read_array(path, col, 0, 1, (void **)x, &r, &c, NULL, NULL, 0, err);
	if (!rc && !*x)
		return err_set(err, ERR_INPUT, "%s: no '%s' dataset (`vecdata tags` makes tags)",
		               path, col);
	if (!rc && r != rows) {
		free(*x);
		*x = NULL;
		rc = err_set(err, ERR_INPUT, "%s: '%s' has %zu entries for %zu rows", path, col, r,
		             rows);
	}
	return rc;
}

int fgt_read(const char *path, const char *name, size_t n, size_t nq, fgt_data *f, char *err)
{
	char col[FGT_NAME + 8];
	size_t r, c, r2, c2;
	memset(f, 0, sizeof *f);
	if (!name) {
		int32_t *nb = NULL;
		int rc = h5_read_array(path, "filtered_neighbors", 0, 2, (void **)&nb, &r, &c,
		                       "filter", f->gt_filter, sizeof f->gt_filter, err);
		free(nb);
		if (rc || !nb)
			return rc;
		if (!f->gt_filter[0])
			return err_set(err, ERR_INPUT,
			               "%s: filtered_neighbors has no 'filter' attribute", path);
		char stored[FGT_NAME];
		memcpy(stored, f->gt_filter, sizeof stored);
		return fgt_read(path, stored, n, nq, f, err);
	}
	if (!fgt_valid_name(name))
		return err_set(err, ERR_INPUT, "filter '%s': use letters, digits, '_', '-'", name);
	snprintf(f->name, sizeof f->name, "%s", name);
	f->n = n;
	f->nq = nq;
	snprintf(col, sizeof col, "train_%s", name);
	int rc = fgt_column(path, col, n, &f->labels, err);
	snprintf(col, sizeof col, "test_%s", name);
	if (!rc)
		rc = fgt_column(path, col, nq, &f->qfilter, err);
	if (!rc)
		rc = h5_read_array(path, "filtered_neighbors", 0, 2, (void **)&f->neighbors, &r, &c,
		                   "filter", f->gt_filter, sizeof f->gt_filter, err);
	if (!rc && f->neighbors)
		rc = h5_read_array(path, "filtered_distances", 1, 2, (void **)&f->distances, &r2,
		                   &c2, NULL, NULL, 0, err);
	if (!rc && f->neighbors && (!f->distances || r != nq || r2 != r || c2 != c))
		rc = err_set(err, ERR_INPUT,
		             "%s: filtered_neighbors (%zu x %zu) and filtered_distances must both "
		             "be %zu x k",
		             path, r, c, nq);
	f->k = f->neighbors ? c : 0;
	if (rc)
		fgt_free(f);
	return rc;
}

void fgt_free(fgt_data *f)
{
	if (!f)
		return;
	free(f->labels);
	free(f->qfilter);
	free(f->neighbors);
	free(f->distances);
	memset(f, 0, sizeof *f);
}

int fgt_write(const char *path, const char *name, const int32_t *neighbors, const float *distances,
              size_t nq, size_t k, char *err)
{
	h5_array a[2] = {
	    {"filtered_neighbors", 0, neighbors, nq, k, "filter", name},
	    {"filtered_distances", 1, distances, nq, k, "filter", name},
	};
	return h5_put_arrays(path, a, 2, err);
}

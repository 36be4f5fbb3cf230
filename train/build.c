/*
 * build.c - the training pipeline of an IVF index (see build.h).
 */
#include "build.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

void build_defaults(build_opts *o)
{
	memset(o, 0, sizeof *o);
	km_defaults(&o->km);
	o->km.k = 0; /* build_size decides */
	ivf_write_defaults(&o->write);
	o->write.seed = o->km.seed;
}

int build_size(const build_opts *o, int declared_nlist, int64_t avail, const char *what,
               build_sizes *s, char *err)
{
	size_t nlist;
	if (o->nlist)
		nlist = o->nlist;
	else if (declared_nlist == -1)
		nlist = BUILD_NLIST;
	else if (declared_nlist < 1)
		return err_set(err, ERR_INPUT, "%s declares nlist=%d: give nlist", what,
		               declared_nlist);
	else
		nlist = (size_t)declared_nlist;
	if (nlist > IVF_MAX_NLIST)
		return err_set(err, ERR_INPUT, "nlist %zu > %d", nlist, IVF_MAX_NLIST);
	if ((int64_t)nlist > avail)
		return err_set(err, ERR_INPUT,
		               "nlist %zu > the %lld rows of %s: k-means needs a row per centroid",
		               nlist, (long long)avail, what);
	size_t ntrain = o->ntrain ? o->ntrain : nlist * BUILD_NTRAIN_PER_CENTROID;
	s->warn[0] = 0;
	if ((int64_t)ntrain > avail) {
		if (o->ntrain)
			snprintf(s->warn, sizeof s->warn,
			         "ntrain %zu > the %lld rows of %s: training on all of them",
			         ntrain, (long long)avail, what);
		ntrain = (size_t)avail;
	}
	if (ntrain < nlist)
		return err_set(err, ERR_INPUT,
		               "ntrain %zu < nlist %zu: k-means needs a row per centroid", ntrain,
		               nlist);
	s->nlist = nlist;
	s->ntrain = ntrain;
	return 0;
}

int build_sample_table(sqlite3 *db, const vtab *t, const build_sizes *s, const build_opts *o,
                       float **x, size_t *got, prog_t *prog, char *err)
{
	return vtab_sample(db, t, s->ntrain, o->km.seed, x, got, prog, err);
}

int build_sample_matrix(const float *x, size_t n, size_t d, const build_sizes *s,
                        const build_opts *o, const float **sample, float **owned, char *err)
{
	*owned = NULL;
	if (s->ntrain >= n) { /* rng_sample would pick every row, in order */
		*sample = x;
		return 0;
	}
	if (!(*owned = rng_sample_rows(o->km.seed, x, n, d, s->ntrain)))
		return err_set(err, ERR_NOMEM, "out of memory for a sample of %zu x %zu floats",
		               s->ntrain, d);
	*sample = *owned;
	return 0;
}

int build_train(const float *x, size_t n, size_t d, const build_sizes *s, vtab_metric metric,
                const build_opts *o, km_result *res, prog_t *prog, char *err)
{
	km_params p = o->km;
	p.k = s->nlist;
	p.spherical = metric == VTAB_COSINE;
	return km_train(x, n, d, &p, res, prog, err);
}

int build_centroids(const build_opts *o, size_t k, size_t d, const char *distance, const vtab *t,
                    int64_t rows, const char *what, build_sizes *s, char *err)
{
	const char *want = t->metric == VTAB_COSINE ? "angular" : "euclidean";
	if (d != t->d)
		return err_set(err, ERR_INPUT,
		               "%s: centroids have %zu dimensions, column %s.%s has %zu", what, d,
		               t->name, t->column, t->d);
	if (o->nlist && o->nlist != k)
		return err_set(err, ERR_INPUT, "%s holds %zu centroids, nlist says %zu", what, k,
		               o->nlist);
	if (k < 1 || k > IVF_MAX_NLIST)
		return err_set(err, ERR_INPUT, "%s: %zu centroids, not in [1, %d]", what, k,
		               IVF_MAX_NLIST);
	if ((int64_t)k > rows)
		return err_set(err, ERR_INPUT, "%s: %zu centroids for the %lld rows of %s", what, k,
		               (long long)rows, t->name);
	s->warn[0] = 0;
	if (distance[0] && strcmp(distance, want) != 0)
		snprintf(s->warn, sizeof s->warn,
		         "%s was trained for %s distance, table %s uses %s", what, distance,
		         t->name, vtab_metric_name(t->metric));
	s->nlist = k;
	s->ntrain = 0;
	return 0;
}

int build_write(sqlite3 *db, const vtab *t, const float *c, size_t k, const ivf_rows *rows,
                const build_opts *o, ivf_write_stats *ws, prog_t *prog, char *err)
{
	ivf_write_opts w = o->write;
	w.seed = o->km.seed;
	return rows ? ivf_load(db, t, c, k, rows, &w, ws, prog, err)
	            : ivf_write_centroids(db, t, c, k, &w, ws, prog, err);
}

void build_params_json(cJSON *params, const build_opts *o, const build_sizes *s, int spherical)
{
	cJSON *p = params;
	cJSON_AddNumberToObject(p, "ntrain", (double)s->ntrain);
	cJSON_AddNumberToObject(p, "niter", o->km.niter);
	cJSON_AddNumberToObject(p, "tol", o->km.tol);
	cJSON_AddNumberToObject(p, "seed", (double)o->km.seed);
	cJSON_AddNumberToObject(p, "threads",
	                        o->km.nthreads ? o->km.nthreads : omp_get_max_threads());
	cJSON_AddStringToObject(p, "init", km_init_name(o->km.init));
	cJSON_AddBoolToObject(p, "spherical", spherical);
	cJSON_AddStringToObject(p, "assign", ivf_assign_name(o->write.assign));
	cJSON_AddNumberToObject(p, "verify", o->write.verify_samples);
	cJSON_AddNumberToObject(p, "batch", (double)o->write.batch);
}

/*
 * test_synth.c - the seeded synthetic mixture: the same rows for every thread
 * count, a larger n extending a smaller one, unit rows for angular data, rows
 * near their labelled centre, and the bad parameters refused.
 */
#include "testutil.h"

#include <math.h>
#include <omp.h>

#include "err.h"
#include "synth.h"

static void small(synth_params *p)
{
	synth_defaults(p);
	p->n = 3000;
	p->nq = 50;
	p->d = 24;
	p->clusters = 8;
	p->spread = 0.3;
}

static void test_synth__same_rows_for_every_thread_count(void **state)
{
	synth_params p;
	h5_dataset a, b;
	char err[ERR_LEN];
	small(&p);
	omp_set_num_threads(1);
	assert_int_equal(synth_make(&p, &a, err), 0);
	omp_set_num_threads(2);
	assert_int_equal(synth_make(&p, &b, err), 0);
	assert_memory_equal(a.train, b.train, p.n * p.d * sizeof *a.train);
	assert_memory_equal(a.test, b.test, p.nq * p.d * sizeof *a.test);
	h5_free(&b);
	p.seed++;
	assert_int_equal(synth_make(&p, &b, err), 0);
	assert_memory_not_equal(a.train, b.train, p.d * sizeof *a.train);
	h5_free(&a);
	h5_free(&b);
}

static void test_synth__larger_n_extends_smaller(void **state)
{
	synth_params p;
	h5_dataset a, b;
	char err[ERR_LEN];
	small(&p);
	assert_int_equal(synth_make(&p, &a, err), 0);
	p.n *= 2;
	assert_int_equal(synth_make(&p, &b, err), 0);
	assert_memory_equal(a.train, b.train, a.n * p.d * sizeof *a.train);
	assert_memory_equal(a.train_labels, b.train_labels, a.n * sizeof *a.train_labels);
	assert_memory_equal(a.test, b.test, p.nq * p.d * sizeof *a.test);
	h5_free(&a);
	h5_free(&b);
}

/* Angular rows are unit; each row is nearer its own cluster's mean than any
 * other's at a spread this small, and every cluster is used. */
static void test_synth__rows_unit_and_near_their_centre(void **state)
{
	synth_params p;
	h5_dataset a;
	char err[ERR_LEN];
	small(&p);
	assert_int_equal(synth_make(&p, &a, err), 0);
	assert_string_equal(a.distance, "angular");
	double *mean = calloc(p.clusters * p.d, sizeof *mean);
	size_t *count = calloc(p.clusters, sizeof *count);
	for (size_t i = 0; i < p.n; i++) {
		double s = 0;
		for (size_t j = 0; j < p.d; j++)
			s += (double)a.train[i * p.d + j] * a.train[i * p.d + j];
		assert_true(fabs(s - 1) < 1e-5);
		assert_in_range(a.train_labels[i], 0, (int)p.clusters - 1);
		count[a.train_labels[i]]++;
		for (size_t j = 0; j < p.d; j++)
			mean[a.train_labels[i] * p.d + j] += a.train[i * p.d + j];
	}
	for (size_t k = 0; k < p.clusters; k++)
		assert_true(count[k] > p.n / p.clusters / 2);
	for (size_t i = 0; i < p.n; i++) {
		size_t best = 0;
		double bd = INFINITY;
		for (size_t k = 0; k < p.clusters; k++) {
			double dd = 0;
			for (size_t j = 0; j < p.d; j++) {
				double t = a.train[i * p.d + j] - mean[k * p.d + j] / count[k];
				dd += t * t;
			}
			if (dd < bd)
				bd = dd, best = k;
		}
		assert_int_equal(best, a.train_labels[i]);
	}
	free(mean);
	free(count);
	h5_free(&a);
}

static void test_synth__bad_parameters_refused(void **state)
{
	synth_params p;
	h5_dataset a;
	char err[ERR_LEN];
	small(&p);
	p.clusters = 0;
	assert_int_equal(synth_make(&p, &a, err), ERR_INPUT);
	assert_null(a.train);
	small(&p);
	p.spread = NAN;
	assert_int_equal(synth_make(&p, &a, err), ERR_INPUT);
	assert_non_null(strstr(err, "spread"));
	small(&p);
	p.metric = GT_EUCLIDEAN;
	p.spread = 0;
	assert_int_equal(synth_make(&p, &a, err), 0);
	assert_string_equal(a.distance, "euclidean");
	h5_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_synth__same_rows_for_every_thread_count),
	    cmocka_unit_test(test_synth__larger_n_extends_smaller),
	    cmocka_unit_test(test_synth__rows_unit_and_near_their_centre),
	    cmocka_unit_test(test_synth__bad_parameters_refused),
	};
	return cmocka_run_group_tests_name("synth", tests, NULL, NULL);
}

/*
 * test_faiss_peer.c - filtered search through faiss's ID selectors
 * (faiss_peer.h): on 3,000 random rows with a dense label (10%: a bitmap), a
 * sparse one (5 rows: a hash set) and the rest, faiss flat and IVF at nprobe =
 * nlist return exactly the brute-force top k among the label's rows, in L2 and
 * in cosine; fewer than k when fewer match, none for a label no row has; IVF
 * at nprobe 1 returns only rows of the label.
 */
#include "testutil.h"

#include <math.h>

#include "err.h"
#include "rng.h"

#ifdef IVFKIT_HAVE_FAISS
#include "faiss_peer.h"

#define N 3000
#define D 16
#define NQ 20
#define K 10
#define NLIST 8

static float x[N * D], q[NQ * D];
static int32_t lab[N];

/* Random rows, label 1 on every 10th row, label 2 on rows 7, 607, ..., 2407. */
static void fixture(void)
{
	rng_t r;
	rng_seed(&r, 42);
	for (size_t i = 0; i < N * D; i++)
		x[i] = (float)rng_normal(&r);
	for (size_t i = 0; i < NQ * D; i++)
		q[i] = (float)rng_normal(&r);
	for (size_t i = 0; i < N; i++)
		lab[i] = i % 10 == 0 ? 1 : i % 600 == 7 ? 2 : 0;
}

/* Distance of rows a and b as the index ranks them (L2, or minus the cosine). */
static double dist(const float *a, const float *b, int ip)
{
	double s = 0, na = 0, nb = 0;
	for (size_t j = 0; j < D; j++) {
		s += ip ? (double)a[j] * b[j] : ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
		na += (double)a[j] * a[j];
		nb += (double)b[j] * b[j];
	}
	return ip ? -s / sqrt(na * nb) : s;
}

/* The brute-force top K of query v among rows labelled l into ids; their count. */
static size_t truth(const float *v, int32_t l, int ip, int64_t *ids)
{
	double best[K];
	size_t m = 0;
	for (size_t i = 0; i < N; i++) {
		if (lab[i] != l)
			continue;
		double dd = dist(v, x + i * D, ip);
		size_t j = m < K ? m++ : K;
		while (j > 0 && best[j - 1] > dd) {
			if (j < K) {
				best[j] = best[j - 1];
				ids[j] = ids[j - 1];
			}
			j--;
		}
		if (j < K) {
			best[j] = dd;
			ids[j] = (int64_t)i;
		}
	}
	return m;
}

/* Every query and label through h: exact answers when exact, else only rows
 * of the label and no more than the truth holds. */
static void check(fp_index *h, int ip, int exact)
{
	static const int32_t labels[] = {0, 1, 2, 7};
	char err[ERR_LEN];
	for (size_t qi = 0; qi < NQ; qi++)
		for (size_t li = 0; li < sizeof labels / sizeof *labels; li++) {
			int64_t got_ids[K], want[K];
			size_t got = 99, m = truth(q + qi * D, labels[li], ip, want);
			if (fp_search_label(h, q + qi * D, labels[li], K, got_ids, &got, err))
				fail_msg("%s", err);
			assert_int_equal(m, labels[li] == 2 ? 5 : labels[li] == 7 ? 0 : K);
			if (exact) {
				assert_int_equal(got, m);
				for (size_t j = 0; j < got; j++)
					assert_int_equal(got_ids[j], want[j]);
			}
			assert_true(got <= m);
			for (size_t j = 0; j < got; j++)
				assert_int_equal(lab[got_ids[j]], labels[li]);
		}
}

static void test_faiss_peer__selector_search_is_the_filtered_top_k(void **state)
{
	char err[ERR_LEN];
	fixture();
	for (int ip = 0; ip <= 1; ip++) {
		fp_index *flat = NULL, *ivf = NULL;
		size_t nbitmap = 0, nbatch = 0;
		if (fp_new_flat(D, ip, &flat, err) || fp_add(flat, x, N, NULL, NULL, err) ||
		    fp_set_labels(flat, lab, N, &nbitmap, &nbatch, err))
			fail_msg("%s", err);
		/* labels 0 and 1 hold >= N / FP_DENSE rows, label 2 fewer */
		assert_int_equal(nbitmap, 2);
		assert_int_equal(nbatch, 1);
		check(flat, ip, 1);
		/* the first NLIST rows as centroids: any partition serves */
		if (fp_new_ivf(x, NLIST, D, ip, &ivf, err) || fp_add(ivf, x, N, NULL, NULL, err) ||
		    fp_set_labels(ivf, lab, N, &nbitmap, &nbatch, err))
			fail_msg("%s", err);
		fp_set_nprobe(ivf, NLIST);
		check(ivf, ip, 1);
		fp_set_nprobe(ivf, 1);
		check(ivf, ip, 0);
		fp_free(flat);
		fp_free(ivf);
	}
}
#else
static void test_faiss_peer__selector_search_is_the_filtered_top_k(void **state)
{
	SKIP_BECAUSE("built without faiss (libfaiss-dev)");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_faiss_peer__selector_search_is_the_filtered_top_k),
	};
	return cmocka_run_group_tests_name("faiss_peer", tests, NULL, NULL);
}

/*
 * peer_faiss.c - faiss as a peer engine (peer.h): faiss-flat (IndexFlatL2, or
 * IndexFlatIP on unit vectors for cosine) and faiss-ivf (IndexIVFFlat whose
 * quantizer holds a vec0 ivf section's own centroids, rows assigned by it).
 *
 * Only where the library was built with libfaiss-dev (IVFKIT_HAVE_FAISS);
 * elsewhere both types are skipped with the reason. Size is the serialized
 * index (faiss::write_index); build adds with faiss's own threads, queries run
 * on one (faiss_peer.h).
 */
#include "peer.h"

#include <stdio.h>

#ifdef IVFKIT_HAVE_FAISS
#include "err.h"
#include "faiss_peer.h"

static int available(const peer_input *in, char *why, size_t len)
{
	if (in->metric == VTAB_L1) {
		snprintf(why, len, "faiss indexes here serve l2 and cosine, not l1");
		return 0;
	}
	return 1;
}

static int build(const peer_input *in, void **h, bench_build *b, char *err)
{
	fp_index *f = NULL;
	int ip = in->metric == VTAB_COSINE;
	int rc = in->cx->type == CFG_TYPE_FAISS_IVF
	             ? fp_new_ivf(in->cent, in->ncent, in->d, ip, &f, err)
	             : fp_new_flat(in->d, ip, &f, err);
	if (rc == 0)
		rc = fp_add(f, in->x, in->n, NULL, NULL, err);
	if (rc < 0) {
		fp_free(f);
		return rc;
	}
	b->ncentroids = (int64_t)in->ncent;
	*h = f;
	return 0;
}

static int set_sweep(void *h, int nprobe, char *err)
{
	fp_set_nprobe(h, nprobe);
	return 0;
}

static int query(void *h, const float *q, size_t k, int64_t *ids, size_t *got, char *err)
{
	return fp_search(h, q, k, ids, got, err);
}

static int size(void *h, int64_t *bytes, char *err)
{
	return fp_size(h, bytes, err);
}

static void close_index(void *h)
{
	fp_free(h);
}
#else
static int available(const peer_input *in, char *why, size_t len)
{
	snprintf(why, len,
	         "built without faiss: install libfaiss-dev (/usr/include/faiss) and rebuild");
	return 0;
}
#define build NULL
#define set_sweep NULL
#define query NULL
#define size NULL
#define close_index NULL
#endif

const peer_ops peer_faiss_flat = {
    CFG_TYPE_FAISS_FLAT, available, NULL, build, set_sweep, query, NULL, size, close_index};
const peer_ops peer_faiss_ivf = {
    CFG_TYPE_FAISS_IVF, available, NULL, build, set_sweep, query, NULL, size, close_index};

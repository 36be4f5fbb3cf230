/*
 * peer_faiss.c - faiss as a peer engine (peer.h): faiss-flat (IndexFlatL2, or
 * IndexFlatIP on unit vectors for cosine) and faiss-ivf (IndexIVFFlat whose
 * quantizer holds a vec0 ivf section's own centroids, rows assigned by it).
 *
 * Only where the library was built with libfaiss-dev (IVFKIT_HAVE_FAISS);
 * elsewhere both types are skipped with the reason. Size is the serialized
 * index (faiss::write_index); build adds with faiss's own threads, queries run
 * on one (faiss_peer.h). Both filter: in a filtered run build also prepares
 * an ID selector per label (part of the build time), and a filtered query is
 * faiss's search with the query label's selector, nothing else.
 */
#include "peer.h"

#include <stdio.h>

#include "err.h"

#ifdef IVFKIT_HAVE_FAISS
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
	size_t nbitmap = 0, nbatch = 0;
	if (rc == 0)
		rc = fp_add(f, in->x, in->n, NULL, NULL, err);
	if (rc == 0 && in->labels)
		rc = fp_set_labels(f, in->labels, in->n, &nbitmap, &nbatch, err);
	if (rc < 0) {
		fp_free(f);
		return rc;
	}
	if (in->labels)
		snprintf(b->engine, sizeof b->engine,
		         "filtered search through faiss's ID selectors, one per label made in the "
		         "build: %zu IDSelectorBitmap (labels on >= 1/%d of the rows), %zu "
		         "IDSelectorBatch (rarer labels)",
		         nbitmap, FP_DENSE, nbatch);
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

static int query_filtered(void *h, const float *q, int32_t label, size_t k, int64_t *ids,
                          size_t *got, char *err)
{
	return fp_search_label(h, q, label, k, ids, got, err);
}

static int size(void *h, int64_t *bytes, char *err)
{
	return fp_size(h, bytes, err);
}

static void close_index(void *h)
{
	fp_free(h);
}

/* No start: the index lives in this process. */
#define FAISS_OPS(t)                                                                               \
	{                                                                                          \
		.type = (t), .available = available, .build = build, .set_sweep = set_sweep,       \
		.query = query, .query_filtered = query_filtered, .size = size,                    \
		.close = close_index                                                               \
	}
#else
static int available(const peer_input *in, char *why, size_t len)
{
	snprintf(why, len,
	         "built without faiss: install libfaiss-dev (/usr/include/faiss) and rebuild");
	return 0;
}

/* Never called (available says no), but present so that a filtered run takes
 * the section and skips it with available's reason, as an unfiltered one does. */
static int query_filtered(void *h, const float *q, int32_t label, size_t k, int64_t *ids,
                          size_t *got, char *err)
{
	return err_set(err, ERR_FAIL, "built without faiss");
}
#define FAISS_OPS(t)                                                                               \
	{                                                                                          \
		.type = (t), .available = available, .query_filtered = query_filtered              \
	}
#endif

const peer_ops peer_faiss_flat = FAISS_OPS(CFG_TYPE_FAISS_FLAT);
const peer_ops peer_faiss_ivf = FAISS_OPS(CFG_TYPE_FAISS_IVF);

/*
 * faiss_peer.h - a C face over faiss's C++ API (Debian's libfaiss-dev ships no
 * C API): flat and IVFFlat indexes built, searched one query at a time on one
 * thread (optionally among the rows of one label, through faiss's ID
 * selectors), measured and written as faiss itself serializes them.
 *
 * Compiled only where libfaiss-dev is present (IVFKIT_HAVE_FAISS, set by the
 * Makefile). Ids are int64 and given by the caller (flat: row i is id i).
 * Inner-product indexes (ip = 1) serve cosine: every vector added and every
 * query is unit-normalized here, so callers pass raw vectors for both metrics.
 * Functions return 0 or a negative ERR_* code with err (ERR_LEN) filled; they
 * never throw past this face. An fp_index is owned by the caller: fp_free.
 */
#ifndef IVFKIT_FAISS_PEER_H
#define IVFKIT_FAISS_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_index fp_index;

/* An empty IndexFlatL2 (ip 0) or IndexFlatIP (ip 1) of dimension d. */
int fp_new_flat(size_t d, int ip, fp_index **out, char *err);

/* An empty IndexIVFFlat whose quantizer holds exactly the k x d centroids cent
 * (normalized first when ip), trained without any k-means of faiss's own. */
int fp_new_ivf(const float *cent, size_t k, size_t d, int ip, fp_index **out, char *err);

/* Adds the n x d rows x. ids: NULL for 0.. in order (flat indexes take only
 * that). lists: NULL to let the quantizer assign each row, or each row's list
 * (an IVF index built from an existing assignment keeps it as it is). */
int fp_add(fp_index *h, const float *x, size_t n, const int64_t *ids, const int64_t *lists,
           char *err);

/* Lists an IVF index scans per query (no effect on a flat one). */
void fp_set_nprobe(fp_index *h, int nprobe);

/* The k nearest ids of the one query q into ids, *got of them, nearest first;
 * searched on one OpenMP thread. */
int fp_search(fp_index *h, const float *q, size_t k, int64_t *ids, size_t *got, char *err);

/* Prepares filtered search over the n rows of h (row i has id i and label
 * labels[i]): for every label value, once, the faiss selector of its rows,
 * so that fp_search_label pays for the search alone. A label on at least
 * n / FP_DENSE rows gets an IDSelectorBitmap (n / 8 bytes, one bit test per
 * candidate); a rarer one an IDSelectorBatch (hash set and bloom filter,
 * memory by its rows): at most FP_DENSE bitmaps, so the selectors take O(n)
 * memory however many labels there are. *nbitmap and *nbatch count each kind. */
#define FP_DENSE 256 /* a bitmap beats a hash set of ~32 bytes per row above n / 256 rows */
int fp_set_labels(fp_index *h, const int32_t *labels, size_t n, size_t *nbitmap, size_t *nbatch,
                  char *err);

/* fp_search among the rows whose label is label (fp_set_labels first): faiss's
 * search with that label's selector (and the index's nprobe), or an empty
 * selector when no row has it. */
int fp_search_label(fp_index *h, const float *q, int32_t label, size_t k, int64_t *ids, size_t *got,
                    char *err);

/* The bytes faiss::write_index writes for h. */
int fp_size(fp_index *h, int64_t *bytes, char *err);

/* Writes h to path with faiss::write_index (readable by faiss.read_index). */
int fp_write(fp_index *h, const char *path, char *err);

/* NULL-safe. */
void fp_free(fp_index *h);

#ifdef __cplusplus
}
#endif

#endif

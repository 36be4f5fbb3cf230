/*
 * faiss_peer.cc - the C face over faiss (see faiss_peer.h).
 *
 * Every entry point catches what faiss throws (FaissException, bad_alloc) and
 * turns it into an error code with the message, so C callers never unwind
 * through C++. The quantizer of an IVF index is owned by it (own_fields).
 */
#include "faiss_peer.h"

#include <omp.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <unordered_map>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

extern "C" {
#include "err.h"
}

typedef faiss::Index::idx_t fidx; /* faiss 1.7.3 keeps its id type in Index */

/* The selector of one label's rows; an IDSelectorBitmap points into bits. */
struct fp_label {
	std::vector<uint8_t> bits;
	std::unique_ptr<faiss::IDSelector> sel;
};

struct fp_index {
	std::unique_ptr<faiss::Index> index;
	faiss::IndexIVF *ivf; /* index as an IVF one, or nullptr */
	int ip;               /* normalize vectors and queries */
	std::vector<float> q; /* one normalized query */
	std::vector<float> dist;
	std::vector<fidx> lab;
	std::unordered_map<int32_t, fp_label> labels; /* fp_set_labels */
	std::unique_ptr<faiss::IDSelector> none;      /* no row: a label absent from labels */
};

/* The message of the exception being handled, as an error code. */
static int fail(char *err, const char *what)
{
	try {
		throw;
	} catch (const std::bad_alloc &) {
		return err_set(err, ERR_NOMEM, "faiss %s: out of memory", what);
	} catch (const std::exception &e) {
		return err_set(err, ERR_FAIL, "faiss %s: %s", what, e.what());
	}
}

/* n x d rows of x scaled to unit norm (zero rows stay zero) into out. */
static void normalized(const float *x, size_t n, size_t d, std::vector<float> &out)
{
	out.assign(x, x + n * d);
	for (size_t i = 0; i < n; i++) {
		float *v = out.data() + i * d;
		double s = 0;
		for (size_t j = 0; j < d; j++)
			s += (double)v[j] * v[j];
		float inv = s > 0 ? (float)(1 / std::sqrt(s)) : 0.f;
		for (size_t j = 0; j < d; j++)
			v[j] *= inv;
	}
}

int fp_new_flat(size_t d, int ip, fp_index **out, char *err)
{
	try {
		std::unique_ptr<fp_index> h(new fp_index());
		if (ip)
			h->index.reset(new faiss::IndexFlatIP((fidx)d));
		else
			h->index.reset(new faiss::IndexFlatL2((fidx)d));
		h->ivf = nullptr;
		h->ip = ip;
		*out = h.release();
		return 0;
	} catch (...) {
		return fail(err, "flat index");
	}
}

int fp_new_ivf(const float *cent, size_t k, size_t d, int ip, fp_index **out, char *err)
{
	try {
		std::unique_ptr<fp_index> h(new fp_index());
		faiss::MetricType m = ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2;
		faiss::IndexFlat *qz = ip ? (faiss::IndexFlat *)new faiss::IndexFlatIP((fidx)d)
		                          : new faiss::IndexFlatL2((fidx)d);
		std::unique_ptr<faiss::IndexFlat> qown(qz);
		std::vector<float> c;
		if (ip)
			normalized(cent, k, d, c);
		qz->add((fidx)k, ip ? c.data() : cent);
		faiss::IndexIVFFlat *ivf = new faiss::IndexIVFFlat(qz, d, k, m);
		h->index.reset(ivf);
		ivf->own_fields = true;
		qown.release();
		ivf->is_trained = true; /* the centroids are given: no faiss k-means */
		h->ivf = ivf;
		h->ip = ip;
		*out = h.release();
		return 0;
	} catch (...) {
		return fail(err, "IVFFlat index");
	}
}

int fp_add(fp_index *h, const float *x, size_t n, const int64_t *ids, const int64_t *lists,
           char *err)
{
	try {
		std::vector<float> xn;
		if (h->ip) {
			normalized(x, n, h->index->d, xn);
			x = xn.data();
		}
		const fidx *xids = (const fidx *)ids;
		if (h->ivf && lists)
			h->ivf->add_core((fidx)n, x, xids, (const fidx *)lists);
		else if (xids)
			h->index->add_with_ids((fidx)n, x, xids);
		else
			h->index->add((fidx)n, x);
		return 0;
	} catch (...) {
		return fail(err, "add");
	}
}

void fp_set_nprobe(fp_index *h, int nprobe)
{
	if (h->ivf)
		h->ivf->nprobe = (size_t)nprobe;
}

/* One query through faiss's search with params (nullptr: the index's own
 * settings) on one OpenMP thread. */
static int search(fp_index *h, const float *q, size_t k, const faiss::SearchParameters *params,
                  int64_t *ids, size_t *got, char *err)
{
	int threads = omp_get_max_threads();
	try {
		if (h->ip) {
			normalized(q, 1, h->index->d, h->q);
			q = h->q.data();
		}
		h->dist.resize(k);
		h->lab.resize(k);
		omp_set_num_threads(1);
		h->index->search(1, q, (fidx)k, h->dist.data(), h->lab.data(), params);
		omp_set_num_threads(threads);
		size_t n = 0;
		while (n < k && h->lab[n] >= 0) {
			ids[n] = h->lab[n];
			n++;
		}
		*got = n;
		return 0;
	} catch (...) {
		omp_set_num_threads(threads);
		return fail(err, "search");
	}
}

int fp_search(fp_index *h, const float *q, size_t k, int64_t *ids, size_t *got, char *err)
{
	return search(h, q, k, nullptr, ids, got, err);
}

int fp_set_labels(fp_index *h, const int32_t *labels, size_t n, size_t *nbitmap, size_t *nbatch,
                  char *err)
{
	try {
		std::unordered_map<int32_t, std::vector<fidx>> rows;
		for (size_t i = 0; i < n; i++)
			rows[labels[i]].push_back((fidx)i);
		std::unordered_map<int32_t, fp_label> sels;
		size_t nbits = 0;
		for (auto &r : rows) {
			fp_label &l = sels[r.first];
			if (r.second.size() * FP_DENSE >= n) {
				l.bits.assign((n + 7) / 8, 0);
				for (fidx id : r.second)
					l.bits[(size_t)id / 8] |= (uint8_t)(1u << (id % 8));
				l.sel.reset(
				    new faiss::IDSelectorBitmap(l.bits.size(), l.bits.data()));
				nbits++;
			} else {
				l.sel.reset(
				    new faiss::IDSelectorBatch(r.second.size(), r.second.data()));
			}
		}
		h->none.reset(new faiss::IDSelectorBatch(0, nullptr));
		h->labels.swap(sels);
		*nbitmap = nbits;
		*nbatch = h->labels.size() - nbits;
		return 0;
	} catch (...) {
		return fail(err, "ID selectors");
	}
}

int fp_search_label(fp_index *h, const float *q, int32_t label, size_t k, int64_t *ids, size_t *got,
                    char *err)
{
	auto it = h->labels.find(label);
	faiss::IDSelector *sel = it == h->labels.end() ? h->none.get() : it->second.sel.get();
	if (!h->ivf) {
		faiss::SearchParameters p;
		p.sel = sel;
		return search(h, q, k, &p, ids, got, err);
	}
	faiss::SearchParametersIVF p;
	p.sel = sel;
	p.nprobe = h->ivf->nprobe;
	return search(h, q, k, &p, ids, got, err);
}

int fp_size(fp_index *h, int64_t *bytes, char *err)
{
	try {
		faiss::VectorIOWriter w;
		faiss::write_index(h->index.get(), &w);
		*bytes = (int64_t)w.data.size();
		return 0;
	} catch (...) {
		return fail(err, "write_index");
	}
}

int fp_write(fp_index *h, const char *path, char *err)
{
	try {
		faiss::write_index(h->index.get(), path);
		return 0;
	} catch (...) {
		return fail(err, path);
	}
}

void fp_free(fp_index *h)
{
	delete h;
}

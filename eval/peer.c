/*
 * peer.c - the table of peer engines (see peer.h): each engine's file exports
 * its peer_ops, listed here once.
 */
#include "peer.h"

#include <stddef.h>

extern const peer_ops peer_faiss_flat, peer_faiss_ivf;           /* peer_faiss.c */
extern const peer_ops peer_pgvector_ivfflat, peer_pgvector_hnsw; /* peer_pgvector.c */

static const peer_ops *const engines[] = {
    &peer_faiss_flat,
    &peer_faiss_ivf,
    &peer_pgvector_ivfflat,
    &peer_pgvector_hnsw,
};

const peer_ops *peer_find(cfg_type t)
{
	for (size_t i = 0; i < sizeof engines / sizeof *engines; i++)
		if (engines[i]->type == t)
			return engines[i];
	return NULL;
}

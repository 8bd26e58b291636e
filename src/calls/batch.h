/* SPDX-License-Identifier: MIT */
/*
 * batch.h - a decoded batch of calls (internal). Filled by the decoder (decode.c) or by
 * td_batch_add(); read by the planner and the executor. Read-only once planned.
 */
#ifndef TD_BATCH_H
#define TD_BATCH_H

#include <stdint.h>

#include "load/graph.h"

struct cJSON;

/* 40 bytes: a batch of a million calls holds a million of these (the two 32-bit fields last,
 * so no padding). */
struct td__call {
	const char *id;     /* arena */
	const char *name;   /* tool name as the model wrote it (the graph's string when known) */
	const char *input;  /* compact JSON text of the input (arena); "{}" when absent/invalid */
	const char *error;  /* call-level error (arena), NULL when the call is fine */
	int32_t tool;       /* index into graph->tools, -1 when unknown */
	uint32_t input_len; /* td__batch_add_call refuses longer inputs */
};

struct td_batch {
	const struct td_graph *graph;
	enum td_dialect dialect;
	struct td__call *calls;
	size_t ncalls, cap;
	/* explicit call-level edges, in insertion order: calls[edge_from[e]] depends on
	 * calls[edge_to[e]]. The planner turns them into CSR. */
	uint32_t *edge_from, *edge_to;
	size_t nedges, edge_cap;
	/* call id -> index: open addressing over "index + 1" (0 = free slot), compared through
	 * calls[index].id. 4 bytes a slot where a string map takes 12: at a million calls
	 * (2^21 slots) that is 8 MB instead of 25. */
	uint32_t *id_slot;
	size_t id_cap; /* power of two, or 0 */
	struct td__arena arena;
};

/*
 * Appends a call. input may be NULL ({}); error, when not NULL, is a call-level error found
 * by the caller (e.g. arguments that do not parse) and skips validation. Otherwise the tool
 * is looked up and the input validated against its schema; problems become the call's error.
 * Returns the new index, TD_EBATCH for a duplicate id (*dup set to the first call's index),
 * TD_ETOOBIG for an input of 4 GiB or more, or TD_ENOMEM.
 */
int td__batch_add_call(struct td_batch *b, const char *id, const char *name,
                       const struct cJSON *input, const char *error, uint32_t *dup);
/* The index of the call with this id: 1 and *idx set, or 0. */
int td__batch_find(const struct td_batch *b, const char *id, uint32_t *idx);
/* Adds "call depends on dep" (indices must exist). 0 or TD_ENOMEM. */
int td__batch_add_edge(struct td_batch *b, uint32_t call, uint32_t dep);
/* A new empty batch for graph. */
struct td_batch *td__batch_alloc(const struct td_graph *graph, enum td_dialect dialect);

#endif /* TD_BATCH_H */

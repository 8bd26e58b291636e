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

struct td__call {
	const char *id;    /* arena */
	const char *name;  /* tool name as the model wrote it (arena) */
	int32_t tool;      /* index into graph->tools, -1 when unknown */
	const char *input; /* compact JSON text of the input (arena); "{}" when absent/invalid */
	size_t input_len;
	const char *error; /* call-level error (arena), NULL when the call is fine */
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
	struct td__strmap by_id; /* call id -> index (keys in the arena) */
	struct td__arena arena;
};

/*
 * Appends a call. input may be NULL ({}); error, when not NULL, is a call-level error found
 * by the caller (e.g. arguments that do not parse) and skips validation. Otherwise the tool
 * is looked up and the input validated against its schema; problems become the call's error.
 * Returns the new index, TD_EBATCH for a duplicate id (*dup set to the first call's index),
 * or TD_ENOMEM.
 */
int td__batch_add_call(struct td_batch *b, const char *id, const char *name,
		       const struct cJSON *input, const char *error, uint32_t *dup);
/* Adds "call depends on dep" (indices must exist). 0 or TD_ENOMEM. */
int td__batch_add_edge(struct td_batch *b, uint32_t call, uint32_t dep);
/* A new empty batch for graph. */
struct td_batch *td__batch_alloc(const struct td_graph *graph, enum td_dialect dialect);

#endif /* TD_BATCH_H */

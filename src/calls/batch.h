/* SPDX-License-Identifier: MIT */
/*
 * batch.h - a decoded batch of calls (internal). Filled by the decoder (decode.c) or by
 * td_batch_add(); read by the planner and the executor. Read-only once planned.
 */
#ifndef TD_BATCH_H
#define TD_BATCH_H

#include <stdint.h>
#include <string.h>

#include "load/graph.h"

struct cJSON;

/*
 * 24 bytes: a batch of a million calls holds a million of these. The input and the error are
 * not pointers here: they live in the arena right after the id ("id\0input\0error\0") and
 * are read through td__call_input() and td__call_error(), which saves 16 bytes a call (16 MB
 * at a million calls; most calls have no error and many an empty input).
 */
struct td__call {
	const char *id;   /* arena; the stored input and error follow it there */
	const char *name; /* tool name as the model wrote it (the graph's string when known) */
	int32_t tool;     /* index into graph->tools, -1 when unknown */
	unsigned input_len : 31; /* bytes of the compact JSON input; 2 is "{}", not stored */
	unsigned has_error : 1;  /* a call-level error is stored after the input */
};

/* Longest input a call holds (td__batch_add_call refuses longer ones with TD_ETOOBIG). */
#define TD__CALL_INPUT_MAX 0x7fffffffu

/* A call's strings in one block, "id\0input\0error\0": input NULL when it is "{}" (not
 * stored; input_len bytes otherwise, NUL-terminated), error NULL when there is none. The
 * block takes td__call_bytes(); td__call_pack() fills it and points c at it. */
static inline size_t td__call_bytes(const char *id, const char *input, size_t input_len,
                                    const char *error)
{
	return strlen(id) + 1 + (input ? input_len + 1 : 0) + (error ? strlen(error) + 1 : 0);
}

static inline void td__call_pack(struct td__call *c, char *s, const char *id, const char *input,
                                 size_t input_len, const char *error)
{
	size_t idn = strlen(id) + 1, inn = input ? input_len + 1 : 0;

	memcpy(s, id, idn);
	if (input)
		memcpy(s + idn, input, inn);
	if (error)
		memcpy(s + idn + inn, error, strlen(error) + 1);
	c->id = s;
	c->input_len = input ? (unsigned)input_len : 2;
	c->has_error = error != NULL;
}

/* The input as compact JSON text, NUL-terminated ("{}" when absent or invalid). */
static inline const char *td__call_input(const struct td__call *c)
{
	/* a stored input is an object with a member, so at least 6 bytes: 2 can only be "{}" */
	return c->input_len == 2 ? "{}" : c->id + strlen(c->id) + 1;
}

/* The call-level error, or NULL when the call is fine. */
static inline const char *td__call_error(const struct td__call *c)
{
	const char *after_id;

	if (!c->has_error)
		return NULL;
	after_id = c->id + strlen(c->id) + 1;
	return c->input_len == 2 ? after_id : after_id + c->input_len + 1;
}

/* A call of a conversation's last assistant turn whose result is already in the conversation:
 * it is not in the batch and never runs. */
struct td__answered {
	const char *id, *name; /* arena */
	uint32_t call_at;      /* 0-based index of the message (or item) holding the call */
	uint32_t result_at;    /* ... and of the one holding its result */
};

struct td_batch {
	const struct td_graph *graph;
	enum td_dialect dialect;
	/* where the calls came from, for diagnostics after decoding (a cycle): the input's name
	 * (arena), and for the graph's own calls each call's place (graph->call_pos), else NULL */
	const char *name;
	const struct td__pos *pos;
	size_t npos; /* calls pos covers: calls added by hand afterwards have no place */
	struct td__call *calls;
	size_t ncalls, cap;
	/*
	 * Explicit call-level edges: "calls[v] depends on calls[edge_to[e]]". While edges arrive
	 * grouped by dependent call, in call order (the decoder's order, a builder adding call
	 * after call, or all calls then all edges), they are kept as CSR and cost 4 bytes each:
	 * v's edges are edge_to[edge_off[v] .. edge_off[v + 1]) for v < edge_ncalls, and calls
	 * from edge_ncalls on have none. The first edge out of that order switches the batch to
	 * an edge list: edge_from[] is built (edge_off freed) and the planner groups it.
	 */
	uint32_t *edge_to;
	uint32_t *edge_from; /* NULL while grouped */
	uint32_t *edge_off;  /* [edge_ncalls + 1] while grouped (NULL until the first edge) */
	size_t nedges, edge_cap, edge_ncalls, off_cap;
	/* call id -> index: open addressing over "index + 1" (0 = free slot), compared through
	 * calls[index].id. 4 bytes a slot where a string map takes 12: at a million calls
	 * (2^21 slots) that is 8 MB instead of 25. */
	uint32_t *id_slot;
	size_t id_cap; /* power of two, or 0 */
	/* decoded from a conversation: its length in messages (or items), 0 otherwise; the
	 * index of the message of its last assistant turn; its calls already answered (arena) */
	size_t conv_len, turn_at;
	struct td__answered *answered;
	size_t nanswered;
	struct td__arena arena;
};

/*
 * Appends a call. input may be NULL ({}); error, when not NULL, is a call-level error found
 * by the caller (e.g. arguments that do not parse) and skips validation. Otherwise the tool
 * is looked up and the input validated against its schema; problems become the call's error.
 * Returns the new index, TD_EBATCH for a duplicate id (*dup set to the first call's index),
 * TD_ETOOBIG for an input longer than TD__CALL_INPUT_MAX, or TD_ENOMEM.
 */
int td__batch_add_call(struct td_batch *b, const char *id, const char *name,
                       const struct cJSON *input, const char *error, uint32_t *dup);
/* The index of the call with this id: 1 and *idx set, or 0. */
int td__batch_find(const struct td_batch *b, const char *id, uint32_t *idx);
/* Adds "call depends on dep" (indices must exist). 0 or TD_ENOMEM. */
int td__batch_add_edge(struct td_batch *b, uint32_t call, uint32_t dep);
/*
 * Says that no more edges will follow (the decoder, once every depends_on is resolved): a
 * grouped batch then gets an offset for every call, which the planner uses in place instead
 * of copying. Later edges still work. 0 or TD_ENOMEM.
 */
int td__batch_edges_done(struct td_batch *b);
/* Whether id is a call of the conversation already answered (td__answered). */
bool td__batch_answered(const struct td_batch *b, const char *id);
/* A new empty batch for graph; name (copied, may be NULL) names its input in diagnostics. */
struct td_batch *td__batch_alloc(const struct td_graph *graph, enum td_dialect dialect,
                                 const char *name);

#endif /* TD_BATCH_H */

/* SPDX-License-Identifier: MIT */
/*
 * plan.h - a leveled batch (internal). Pure data built by td_plan_new() in O(calls + edges),
 * read by the scheduler.
 *
 * Nodes 0..ncalls-1 are the calls; nodes ncalls..nnodes-1 are virtual barriers, one per tool
 * that some other tool depends on and that has calls in the batch: the barrier depends on every
 * call of that tool, and every call of a dependent tool depends on the barrier. That keeps
 * tool-level edges linear (1,000 x 1,000 calls cost 2,000 edges).
 */
#ifndef TD_PLAN_H
#define TD_PLAN_H

#include <stdint.h>

#include "calls/batch.h"

struct td_plan {
	const struct td_batch *batch;
	uint32_t ncalls;
	uint32_t nnodes;        /* calls + barriers */
	uint32_t *barrier_tool; /* [nnodes - ncalls]: the tool each barrier stands for */

	/* CSR over nodes: what each node depends on (pred) and what depends on it (succ).
	 * Duplicate edges are removed. */
	uint32_t *pred_off, *pred; /* pred_off[nnodes + 1] */
	/* pred is the batch's edge_to, pred_off its edge_off (see borrow_pred in plan.c): the
	 * batch must not change while the plan lives */
	bool pred_borrowed, pred_off_borrowed;
	uint32_t *succ_off, *succ; /* succ_off[nnodes + 1] */

	/* [nnodes]: level of each call; a barrier's entry is its ready level (1 + the highest
	 * level among its tool's calls) */
	int32_t *level;
	uint32_t nlevels;
	/* levels as runs of call indices, batch order inside each level, calls with a call-level
	 * error left out: level k is order[level_off[k] .. level_off[k + 1]) */
	uint32_t *level_off; /* [nlevels + 1] */
	uint32_t *order;
};

/*
 * A call's direct dependencies as call indices (barriers expanded into their tool's calls),
 * sorted, without duplicates, in *buf (grown as needed; *cap its capacity; the caller frees
 * it with td__free). Returns the count or TD_ENOMEM.
 */
int td__plan_deps(const struct td_plan *p, uint32_t call, uint32_t **buf, size_t *cap);
/* At least the count td__plan_deps() would return, in O(the call's own preds). */
size_t td__plan_deps_bound(const struct td_plan *p, uint32_t call);

/*
 * td_plan_json() lists every call's dependencies in full, so tool-level edges make it
 * quadratic (50,000 calls of a tool that depends on a tool with 50,000 calls list 2.5 billion
 * ids). Beyond this many entries in all it refuses with TD_ETOOBIG instead of eating memory.
 */
#define TD__PLAN_JSON_MAX_DEPS (1u << 24)

#endif /* TD_PLAN_H */

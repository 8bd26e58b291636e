/* SPDX-License-Identifier: MIT */
/*
 * prio.h - the order in which ready calls take free slots (internal): a rank per node, the
 * higher first, ties in batch order. Pure: it reads the plan and the call durations and writes
 * ranks; the scheduler (sched.c) only consumes them.
 *
 *   level     the call's own duration: each level's calls start longest first (LPT), which
 *             wastes the least of the level barrier.
 *   critical  before the run starts, a few priority rules are each played in virtual time on
 *             `slots` identical slots exactly as the scheduler would run them (dataflow
 *             release, highest rank first, ties in batch order), and the one with the shortest
 *             makespan wins (ties: the earlier rule, so b-level unless another rule is strictly
 *             better). Rules: b-level (the longest chain of durations from the call to the end,
 *             HLFET), b-level with longest-first ties, b-level plus t-level (the longest chain
 *             through the call), earliest start (smallest t-level first), b-level with the most
 *             dependents first, then a short randomized search (b-level over durations jittered
 *             by a fixed seed). The work is bounded by TD__PRIO_BUDGET node and edge visits,
 *             whatever the batch; a batch too large for eight plays within it (over 2^17 nodes
 *             and edges), or slots enough for every call at once (every rule then gives the
 *             critical path), gets b-level alone.
 */
#ifndef TD_PRIO_H
#define TD_PRIO_H

#include <stdint.h>

#include "plan/plan.h"

/* Node and edge visits the critical policy may spend evaluating rules, per run. */
#define TD__PRIO_BUDGET (1u << 20)
/* Jittered-duration plays the randomized search makes at most, budget allowing. */
#define TD__PRIO_RANDOM_PLAYS 64u

enum td__prio_rule {
	TD_PRIO_BLEVEL,       /* longest remaining chain (HLFET) */
	TD_PRIO_BLEVEL_LPT,   /* b-level, ties: longest call first */
	TD_PRIO_BTLEVEL,      /* b-level + t-level, ties: b-level */
	TD_PRIO_EARLIEST,     /* smallest t-level first, ties: b-level */
	TD_PRIO_BLEVEL_SUCCS, /* b-level, ties: most direct dependents */
	TD_PRIO_RANDOM,       /* b-level over seeded jittered durations */
};

/* What the critical policy chose, for benchmarks and tests. */
struct td__prio_info {
	enum td__prio_rule rule;
	int64_t makespan_us; /* its makespan in virtual time (-1: nothing was evaluated) */
	int64_t blevel_us;   /* b-level's own (-1: not evaluated) */
	uint32_t evaluated;  /* schedules played */
};

/*
 * rank[nnodes] for policy `level` or `critical` on `slots` slots. cost_us[ncalls] in
 * microseconds; NULL: the tools' declared `estimate`s when the graph has any, else none
 * (level: every rank 0, batch order; critical: 1 per call). info may be NULL. 0 or TD_ENOMEM.
 */
int td__prio_rank(const struct td_plan *p, int critical, const int64_t *cost_us, unsigned slots,
                  int64_t *rank, struct td__prio_info *info);

/* Whether a tool of the plan's graph declares an `estimate`: with no durations from the host,
 * td__prio_rank() then orders calls by the declared ones. */
int td__prio_declares(const struct td_plan *p);

/*
 * The makespan of the list schedule that starts, on `slots` slots, the ready call of highest
 * rank first (ties in batch order), calls with a call-level error taking no time: what the
 * scheduler does in virtual time. start_us[ncalls], when not NULL, gets each call's start.
 * -1 when out of memory.
 */
int64_t td__prio_play(const struct td_plan *p, const int64_t *cost_us, unsigned slots,
                      const int64_t *rank, int64_t *start_us);

#endif /* TD_PRIO_H */

/* SPDX-License-Identifier: MIT */
/*
 * prio.c - ranks for the ready heap (prio.h): longest first inside a level, and for the
 * critical policy the best of a few priority rules, each played in virtual time before the
 * run starts.
 *
 * A play is the scheduler's list schedule without the scheduler: identical slots, a call is
 * released when its predecessors (barriers expanded as nodes that take no time) are done, and
 * at each instant every completion is handled before the free slots take the ready calls of
 * highest key. The keys are two numbers per call (the rule's, then a tie-break), ties in batch
 * order; the winner's keys become one rank per call (its position in that order), so the
 * scheduler, comparing ranks only, starts calls in the order the play did.
 */
#include <stdlib.h>
#include <string.h>

#include "load/graph.h"
#include "run/prio.h"
#include "util/util.h"

/* Their jitter: each duration times 1 +- up to this fraction, cycling through the set. */
static const double JITTER[] = {0.05, 0.1, 0.2, 0.35};

struct ws {
	const struct td_plan *p;
	const int64_t *cost; /* [ncalls] or NULL: 1 each */
	uint32_t slots;
	uint32_t *topo;           /* [nnodes]: a topological order */
	int64_t *blevel, *tlevel; /* [nnodes] */
	int64_t *k1, *k2;         /* [ncalls]: the keys of the rule being played */
	int64_t *best1, *best2;   /* [ncalls]: the best rule's keys */
	int64_t *jit;             /* [ncalls]: jittered durations */
	/* a play's state */
	uint32_t *pending, *stack; /* [nnodes] */
	uint32_t *ready, nready;   /* heap of calls, highest key on top */
	uint32_t *run, nrun;       /* heap of running calls, earliest end on top */
	int64_t *end;              /* [ncalls] */
	uint64_t rng;
};

/* A call's duration in a play: none for barriers and calls with a call-level error (the
 * scheduler ends those at once, without a slot). */
static int64_t dur(const struct ws *w, const int64_t *cost, uint32_t n)
{
	if (n >= w->p->ncalls || w->p->batch->calls[n].has_error)
		return 0;
	if (!cost)
		return 1;
	return cost[n] > 0 ? cost[n] : 0;
}

/* ---- levels of the DAG ---- */

static void topo_order(struct ws *w)
{
	const struct td_plan *p = w->p;
	uint32_t head = 0, tail = 0, n, i;

	for (n = 0; n < p->nnodes; n++) {
		w->pending[n] = p->pred_off[n + 1] - p->pred_off[n];
		if (!w->pending[n])
			w->topo[tail++] = n;
	}
	while (head < tail) {
		n = w->topo[head++];
		for (i = p->succ_off[n]; i < p->succ_off[n + 1]; i++)
			if (!--w->pending[p->succ[i]])
				w->topo[tail++] = p->succ[i];
	}
}

/* b[n] = its duration + the largest b among its successors: the longest chain from n on. */
static void blevels(const struct ws *w, const int64_t *cost, int64_t *b)
{
	const struct td_plan *p = w->p;
	uint32_t k = p->nnodes, i;

	while (k--) {
		uint32_t n = w->topo[k];
		int64_t best = 0;

		for (i = p->succ_off[n]; i < p->succ_off[n + 1]; i++)
			if (b[p->succ[i]] > best)
				best = b[p->succ[i]];
		b[n] = best + dur(w, cost, n);
	}
}

/* t[n] = the longest chain before n starts. */
static void tlevels(const struct ws *w)
{
	const struct td_plan *p = w->p;
	uint32_t k, i;

	for (k = 0; k < p->nnodes; k++) {
		uint32_t n = w->topo[k];
		int64_t best = 0;

		for (i = p->pred_off[n]; i < p->pred_off[n + 1]; i++) {
			uint32_t q = p->pred[i];
			int64_t t = w->tlevel[q] + dur(w, w->cost, q);

			if (t > best)
				best = t;
		}
		w->tlevel[n] = best;
	}
}

/* ---- a play ---- */

/* Whether call a starts before call b: higher keys first, then batch order. */
static int before(const int64_t *k1, const int64_t *k2, uint32_t a, uint32_t b)
{
	if (k1[a] != k1[b])
		return k1[a] > k1[b];
	if (k2 && k2[a] != k2[b])
		return k2[a] > k2[b];
	return a < b;
}

static void ready_push(struct ws *w, const int64_t *k1, const int64_t *k2, uint32_t c)
{
	uint32_t i = w->nready++;

	while (i > 0 && before(k1, k2, c, w->ready[(i - 1) / 2])) {
		w->ready[i] = w->ready[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->ready[i] = c;
}

static uint32_t ready_pop(struct ws *w, const int64_t *k1, const int64_t *k2)
{
	uint32_t top = w->ready[0], last = w->ready[--w->nready], i = 0, n = w->nready;

	for (;;) {
		uint32_t k = 2 * i + 1;

		if (k >= n)
			break;
		if (k + 1 < n && before(k1, k2, w->ready[k + 1], w->ready[k]))
			k++;
		if (!before(k1, k2, w->ready[k], last))
			break;
		w->ready[i] = w->ready[k];
		i = k;
	}
	if (n)
		w->ready[i] = last;
	return top;
}

static void run_push(struct ws *w, uint32_t c)
{
	uint32_t i = w->nrun++;

	while (i > 0 && w->end[c] < w->end[w->run[(i - 1) / 2]]) {
		w->run[i] = w->run[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->run[i] = c;
}

static uint32_t run_pop(struct ws *w)
{
	uint32_t top = w->run[0], last = w->run[--w->nrun], i = 0, n = w->nrun;

	for (;;) {
		uint32_t k = 2 * i + 1;

		if (k >= n)
			break;
		if (k + 1 < n && w->end[w->run[k + 1]] < w->end[w->run[k]])
			k++;
		if (w->end[w->run[k]] >= w->end[last])
			break;
		w->run[i] = w->run[k];
		i = k;
	}
	if (n)
		w->run[i] = last;
	return top;
}

/* Node n is done: successors whose last predecessor it was become ready, and those that take
 * no time (barriers, calls with an error) are done at once, through an explicit stack. */
static void node_done(struct ws *w, const int64_t *k1, const int64_t *k2, uint32_t n)
{
	const struct td_plan *p = w->p;
	uint32_t top = 0, i;

	w->stack[top++] = n;
	while (top) {
		n = w->stack[--top];
		for (i = p->succ_off[n]; i < p->succ_off[n + 1]; i++) {
			uint32_t s = p->succ[i];

			if (--w->pending[s])
				continue;
			if (s >= p->ncalls || p->batch->calls[s].has_error)
				w->stack[top++] = s;
			else
				ready_push(w, k1, k2, s);
		}
	}
}

static int64_t play(struct ws *w, const int64_t *k1, const int64_t *k2, int64_t *start)
{
	const struct td_plan *p = w->p;
	int64_t t = 0;
	uint32_t n;

	w->nready = w->nrun = 0;
	for (n = 0; n < p->nnodes; n++)
		w->pending[n] = p->pred_off[n + 1] - p->pred_off[n];
	for (n = 0; n < p->nnodes; n++) {
		if (w->pending[n])
			continue;
		if (n >= p->ncalls || p->batch->calls[n].has_error)
			node_done(w, k1, k2, n);
		else
			ready_push(w, k1, k2, n);
	}
	for (;;) {
		while (w->nready && w->nrun < w->slots) {
			uint32_t c = ready_pop(w, k1, k2);

			if (start)
				start[c] = t;
			w->end[c] = t + dur(w, w->cost, c);
			run_push(w, c);
		}
		if (!w->nrun)
			break;
		t = w->end[w->run[0]];
		while (w->nrun && w->end[w->run[0]] == t)
			node_done(w, k1, k2, run_pop(w));
	}
	return t;
}

/* ---- the rules ---- */

static uint64_t next_u64(struct ws *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

static double next_unit(struct ws *w) /* in [-1, 1) */
{
	return (double)(next_u64(w) >> 11) / 4503599627370496.0 - 1.0;
}

static void keys_for(struct ws *w, enum td__prio_rule rule, unsigned round)
{
	const struct td_plan *p = w->p;
	uint32_t c;

	if (rule == TD_PRIO_RANDOM) {
		double a = JITTER[round % (sizeof(JITTER) / sizeof(JITTER[0]))];

		for (c = 0; c < p->ncalls; c++)
			w->jit[c] =
			    (int64_t)((double)dur(w, w->cost, c) * (1.0 + a * next_unit(w)));
		/* jittered b-levels into tlevel's place would lose it: k1 holds them per call */
		blevels(w, w->jit, w->blevel);
	}
	for (c = 0; c < p->ncalls; c++) {
		int64_t b = w->blevel[c], t = w->tlevel[c];

		switch (rule) {
		case TD_PRIO_BLEVEL:
		case TD_PRIO_RANDOM:
			w->k1[c] = b;
			w->k2[c] = rule == TD_PRIO_RANDOM ? dur(w, w->cost, c) : 0;
			break;
		case TD_PRIO_BLEVEL_LPT:
			w->k1[c] = b;
			w->k2[c] = dur(w, w->cost, c);
			break;
		case TD_PRIO_BTLEVEL:
			w->k1[c] = b + t;
			w->k2[c] = b;
			break;
		case TD_PRIO_EARLIEST:
			w->k1[c] = -t;
			w->k2[c] = b;
			break;
		case TD_PRIO_BLEVEL_SUCCS:
			w->k1[c] = b;
			w->k2[c] = p->succ_off[c + 1] - p->succ_off[c];
			break;
		}
	}
	if (rule == TD_PRIO_RANDOM)
		blevels(w, w->cost, w->blevel); /* back to the true ones for the next rule */
}

/* The bound no schedule beats: max(critical path, total work / slots, rounded up). */
static int64_t lower_bound(const struct ws *w)
{
	int64_t cp = 0, work = 0;
	uint32_t c;

	for (c = 0; c < w->p->ncalls; c++) {
		if (w->blevel[c] > cp)
			cp = w->blevel[c];
		work += dur(w, w->cost, c);
	}
	work = (work + w->slots - 1) / w->slots;
	return work > cp ? work : cp;
}

/* ---- ranks out ---- */

static int by_keys(const void *a, const void *b, void *ctx)
{
	const struct ws *w = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return before(w->best1, w->best2, x, y) ? -1 : before(w->best1, w->best2, y, x) ? 1 : 0;
}

/* rank[c] = ncalls - c's position in the best keys' order. */
static void rank_from_best(struct ws *w, int64_t *rank)
{
	uint32_t *order = w->stack, n = w->p->ncalls, i;

	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_keys, w);
	for (i = 0; i < n; i++)
		rank[order[i]] = (int64_t)(n - i);
	for (i = n; i < w->p->nnodes; i++)
		rank[i] = 0;
}

static void ws_free(struct ws *w)
{
	td__free(w->topo);
	td__free(w->tlevel);
	td__free(w->k1);
	td__free(w->k2);
	td__free(w->best1);
	td__free(w->best2);
	td__free(w->jit);
	td__free(w->pending);
	td__free(w->stack);
	td__free(w->ready);
	td__free(w->run);
	td__free(w->end);
}

static int ws_init(struct ws *w, const struct td_plan *p, const int64_t *cost, unsigned slots,
                   int64_t *blevel)
{
	size_t nn = p->nnodes ? p->nnodes : 1;

	memset(w, 0, sizeof(*w));
	w->p = p;
	w->cost = cost;
	w->slots = slots ? slots : 1;
	w->blevel = blevel;
	w->rng = 0x9e3779b97f4a7c15ULL; /* fixed: the same batch gets the same plan */
	w->topo = td__malloc(nn * sizeof(*w->topo));
	w->pending = td__malloc(nn * sizeof(*w->pending));
	w->stack = td__malloc(nn * sizeof(*w->stack));
	if (!w->topo || !w->pending || !w->stack)
		return TD_ENOMEM;
	topo_order(w);
	blevels(w, cost, blevel);
	return 0;
}

static int ws_alloc_plays(struct ws *w)
{
	size_t nn = w->p->nnodes ? w->p->nnodes : 1, nc = w->p->ncalls ? w->p->ncalls : 1;

	w->tlevel = td__malloc(nn * sizeof(*w->tlevel));
	w->k1 = td__malloc(nc * sizeof(*w->k1));
	w->k2 = td__malloc(nc * sizeof(*w->k2));
	w->best1 = td__malloc(nc * sizeof(*w->best1));
	w->best2 = td__malloc(nc * sizeof(*w->best2));
	w->jit = td__malloc(nc * sizeof(*w->jit));
	w->ready = td__malloc(nc * sizeof(*w->ready));
	w->run = td__malloc(nc * sizeof(*w->run));
	w->end = td__malloc(nc * sizeof(*w->end));
	if (!w->tlevel || !w->k1 || !w->k2 || !w->best1 || !w->best2 || !w->jit || !w->ready ||
	    !w->run || !w->end)
		return TD_ENOMEM;
	return 0;
}

/* Plays the rules, then jittered b-levels, within the budget; the best keys into best1/2. */
static void search(struct ws *w, struct td__prio_info *info)
{
	const struct td_plan *p = w->p;
	uint64_t per = (uint64_t)p->nnodes + p->succ_off[p->nnodes] + 1, spent = 0;
	int64_t lb = lower_bound(w), best = INT64_MAX;
	unsigned rule, round = 0;

	tlevels(w);
	for (rule = TD_PRIO_BLEVEL; best > lb; rule++) {
		/* a jittered play also computes b-levels twice */
		uint64_t cost = rule == TD_PRIO_RANDOM ? 3 * per : per;
		int64_t span;

		if (spent + cost > TD__PRIO_BUDGET ||
		    (rule == TD_PRIO_RANDOM && round++ >= TD__PRIO_RANDOM_PLAYS))
			break;
		keys_for(w, (enum td__prio_rule)rule, round);
		spent += cost;
		span = play(w, w->k1, w->k2, NULL);
		info->evaluated++;
		if (rule == TD_PRIO_BLEVEL)
			info->blevel_us = span;
		if (span < best) {
			best = span;
			info->rule = (enum td__prio_rule)rule;
			memcpy(w->best1, w->k1, p->ncalls * sizeof(*w->k1));
			memcpy(w->best2, w->k2, p->ncalls * sizeof(*w->k2));
		}
		if (rule == TD_PRIO_RANDOM)
			rule--; /* stays on the search */
	}
	info->makespan_us = best == INT64_MAX ? -1 : best;
}

static int rank_by(const struct td_plan *p, int critical, const int64_t *cost_us, unsigned slots,
                   int64_t *rank, struct td__prio_info *info)
{
	struct td__prio_info own;
	struct ws w;
	uint64_t per = (uint64_t)p->nnodes + p->succ_off[p->nnodes] + 1;
	uint32_t n;
	int err;

	if (!info)
		info = &own;
	memset(info, 0, sizeof(*info));
	info->makespan_us = info->blevel_us = -1;
	if (!critical) {
		for (n = 0; n < p->nnodes; n++)
			rank[n] = cost_us && n < p->ncalls ? cost_us[n] : 0;
		return 0;
	}
	err = ws_init(&w, p, cost_us, slots, rank);
	/* with a slot for every call, every order gives the critical path */
	/* a batch too large for a few plays keeps b-level, what one pass costs */
	if (!err && slots < p->ncalls && per * 8 <= TD__PRIO_BUDGET) {
		err = ws_alloc_plays(&w);
		if (!err) {
			search(&w, info);
			if (info->rule != TD_PRIO_BLEVEL)
				rank_from_best(&w, rank);
		}
	}
	ws_free(&w);
	return err;
}

int64_t td__prio_play(const struct td_plan *p, const int64_t *cost_us, unsigned slots,
                      const int64_t *rank, int64_t *start_us)
{
	struct ws w;
	int64_t *scratch = td__malloc((p->nnodes ? p->nnodes : 1) * sizeof(*scratch)), span = -1;

	if (scratch && ws_init(&w, p, cost_us, slots, scratch) == 0 && ws_alloc_plays(&w) == 0)
		span = play(&w, rank, NULL, start_us);
	else if (!scratch)
		return -1;
	ws_free(&w);
	td__free(scratch);
	return span;
}

/* ---- declared estimates ---- */

int td__prio_declares(const struct td_plan *p)
{
	const struct td_graph *g = p->batch->graph;
	size_t t;

	for (t = 0; t < g->ntools; t++)
		if (g->tools[t].lim.estimate_us > 0)
			return 1;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Each call's declared estimate, a tool without one at the median of the tools that have one
 * (as learned durations treat a tool they do not know); NULL when out of memory. */
static int64_t *declared(const struct td_plan *p)
{
	const struct td_graph *g = p->batch->graph;
	int64_t *cost = td__calloc(p->ncalls ? p->ncalls : 1, sizeof(*cost));
	int64_t *known = td__calloc(g->ntools ? g->ntools : 1, sizeof(*known)), median;
	size_t t, n = 0;
	uint32_t c;

	if (!cost || !known) {
		td__free(cost);
		td__free(known);
		return NULL;
	}
	for (t = 0; t < g->ntools; t++)
		if (g->tools[t].lim.estimate_us > 0)
			known[n++] = g->tools[t].lim.estimate_us;
	qsort(known, n, sizeof(*known), cmp_i64);
	median = n ? known[n / 2] : 0;
	for (c = 0; c < p->ncalls; c++) {
		int32_t tool = p->batch->calls[c].tool;
		int64_t e = tool >= 0 ? g->tools[tool].lim.estimate_us : 0;

		cost[c] = e > 0 ? e : median;
	}
	td__free(known);
	return cost;
}

int td__prio_rank(const struct td_plan *p, int critical, const int64_t *cost_us, unsigned slots,
                  int64_t *rank, struct td__prio_info *info)
{
	int64_t *own = NULL;
	int err;

	if (!cost_us && td__prio_declares(p)) {
		if (!(own = declared(p)))
			return TD_ENOMEM;
		cost_us = own;
	}
	err = rank_by(p, critical, cost_us, slots, rank, info);
	td__free(own);
	return err;
}

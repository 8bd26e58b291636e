/* SPDX-License-Identifier: MIT */
/*
 * plan.c - levels a batch: the call DAG as CSR over calls + tool barriers, Kahn's algorithm
 * frontier by frontier, a stable bucket of calls by level, and a cycle path when Kahn cannot
 * place every call. Pure computation: no I/O, a fixed number of allocations whatever the size
 * (every array is allocated once), sequential passes where the data allows it.
 */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

#define NONE UINT32_MAX
/* Marks a call with a call-level error in the compact per-call tool array. */
#define ERR_BIT 0x80000000u

struct builder {
	struct td_plan *p;
	const struct td_batch *b;
	const struct td_graph *g;
	uint32_t *ctool;   /* [ncalls]: tool index or NONE, | ERR_BIT for call-level errors */
	uint32_t *bar_of;  /* [ntools]: barrier node standing for the tool, or NONE */
	uint32_t *scratch; /* [nnodes]: duplicate marks, then in-degrees */
	size_t nedges;     /* before de-duplication */
};

static uint32_t tool_of(const struct builder *bd, uint32_t c)
{
	uint32_t t = bd->ctool[c] & ~ERR_BIT;

	return t == (NONE & ~ERR_BIT) ? NONE : t;
}

/*
 * One sequential read of the batch's (wide) call records into a compact array, so the passes
 * below touch 4 bytes per call instead of a whole record.
 */
static int read_calls(struct builder *bd)
{
	const struct td__call *calls = bd->b->calls;
	uint32_t c, n = bd->p->ncalls;

	bd->ctool = td__malloc((size_t)n * sizeof(*bd->ctool));
	if (!bd->ctool)
		return TD_ENOMEM;
	for (c = 0; c < n; c++) {
		uint32_t t = calls[c].tool < 0 || (size_t)calls[c].tool >= bd->g->ntools
		                 ? (NONE & ~ERR_BIT)
		                 : (uint32_t)calls[c].tool;
		bd->ctool[c] = t | (calls[c].error ? ERR_BIT : 0);
	}
	return 0;
}

/*
 * A barrier is needed for tool D when D has calls and some tool with calls depends on D; tools
 * without calls impose nothing. Barriers are numbered in tool order after the calls.
 */
static int make_barriers(struct builder *bd)
{
	const struct td_graph *g = bd->g;
	uint32_t *has = td__calloc(g->ntools ? g->ntools : 1, sizeof(*has));
	uint32_t c, t, k, nbar = 0;

	bd->bar_of = td__malloc((g->ntools ? g->ntools : 1) * sizeof(*bd->bar_of));
	if (!has || !bd->bar_of) {
		td__free(has);
		return TD_ENOMEM;
	}
	for (c = 0; c < bd->p->ncalls; c++)
		if ((t = tool_of(bd, c)) != NONE)
			has[t] = 1;
	for (t = 0; t < g->ntools; t++)
		bd->bar_of[t] = NONE;
	for (t = 0; t < g->ntools; t++)
		for (k = 0; has[t] && k < g->tools[t].ndeps; k++)
			if (has[g->tools[t].deps[k]])
				bd->bar_of[g->tools[t].deps[k]] = 0;
	for (t = 0; t < g->ntools; t++)
		if (bd->bar_of[t] == 0)
			nbar++;
	td__free(has);
	bd->p->barrier_tool = td__malloc((nbar ? nbar : 1) * sizeof(uint32_t));
	if (!bd->p->barrier_tool)
		return TD_ENOMEM;
	for (t = 0, k = 0; t < g->ntools; t++)
		if (bd->bar_of[t] == 0) {
			bd->p->barrier_tool[k] = t;
			bd->bar_of[t] = bd->p->ncalls + k++;
		}
	bd->p->nnodes = bd->p->ncalls + nbar;
	return 0;
}

/*
 * Every edge "v depends on u", generated twice in the same order: once to count per v (into
 * off[v + 2]), once to place (at off[v + 1]++). After the placing pass off[] is the CSR offset
 * array, without a cursor array. A barrier's calls come out in batch order.
 */
static void edges(struct builder *bd, uint32_t *off, uint32_t *pred, bool place)
{
	const struct td_batch *b = bd->b;
	const struct td__tool *tools = bd->g->tools;
	uint32_t c, t, k, u, n = bd->p->ncalls;
	size_t e;

#define EDGE(v, u_)                                                                                \
	do {                                                                                       \
		if (place)                                                                         \
			pred[off[(v) + 1]++] = (u_);                                               \
		else                                                                               \
			off[(v) + 2]++;                                                            \
	} while (0)
	for (c = 0; c < n; c++) {
		if ((t = tool_of(bd, c)) == NONE)
			continue;
		for (k = 0; k < tools[t].ndeps; k++)
			if ((u = bd->bar_of[tools[t].deps[k]]) != NONE)
				EDGE(c, u);
		if (bd->bar_of[t] != NONE)
			EDGE(bd->bar_of[t], c);
	}
	for (e = 0; e < b->nedges; e++)
		EDGE(b->edge_from[e], b->edge_to[e]);
#undef EDGE
}

static void prefix_sum(uint32_t *a, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		a[i] += a[i - 1];
}

static int build_pred(struct builder *bd)
{
	struct td_plan *p = bd->p;
	size_t total = 0, v;

	p->pred_off = td__calloc((size_t)p->nnodes + 2, sizeof(uint32_t));
	if (!p->pred_off)
		return TD_ENOMEM;
	edges(bd, p->pred_off, NULL, false);
	for (v = 0; v < p->nnodes; v++)
		total += p->pred_off[v + 2];
	if (total >= UINT32_MAX)
		return TD_ETOOBIG;
	bd->nedges = total;
	prefix_sum(p->pred_off, (size_t)p->nnodes + 2);
	p->pred = td__malloc((total ? total : 1) * sizeof(uint32_t));
	if (!p->pred)
		return TD_ENOMEM;
	edges(bd, p->pred_off, p->pred, true);
	return 0;
}

/*
 * Drops repeated "v depends on u" in place (one mark per node: the last v that listed u) and
 * counts each node's dependents for the succ CSR in the same pass.
 */
static void dedup_pred(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t *mark = bd->scratch, *off = p->pred_off, *cnt = p->succ_off;
	uint32_t v, i, u, start = 0, end, w = 0;

	memset(mark, 0xff, (size_t)p->nnodes * sizeof(*mark));
	for (v = 0; v < p->nnodes; v++) {
		end = off[v + 1];
		off[v] = w;
		for (i = start; i < end; i++) {
			u = p->pred[i];
			if (mark[u] != v) {
				mark[u] = v;
				p->pred[w++] = u;
				cnt[u + 2]++;
			}
		}
		start = end;
	}
	off[p->nnodes] = w;
}

static int build_succ(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t v, i, m;

	p->succ_off = td__calloc((size_t)p->nnodes + 2, sizeof(uint32_t));
	bd->scratch = td__malloc(((size_t)p->nnodes + 1) * sizeof(uint32_t));
	if (!p->succ_off || !bd->scratch)
		return TD_ENOMEM;
	dedup_pred(bd);
	m = p->pred_off[p->nnodes];
	prefix_sum(p->succ_off, (size_t)p->nnodes + 2);
	p->succ = td__malloc((m ? m : 1) * sizeof(uint32_t));
	if (!p->succ)
		return TD_ENOMEM;
	for (v = 0; v < p->nnodes; v++)
		for (i = p->pred_off[v]; i < p->pred_off[v + 1]; i++)
			p->succ[p->succ_off[p->pred[i] + 1]++] = v;
	return 0;
}

/*
 * Kahn's algorithm, one frontier per level, calls only in the queue (order[] doubles as the
 * queue). A barrier adds no level: when its last call is placed in frontier k it is released
 * at once, so its dependents land in frontier k + 1 - exactly 1 + the highest level among
 * the calls they depend on. Returns the number of calls placed (< ncalls: a cycle).
 */
static uint32_t kahn(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t *indeg = bd->scratch, *q = p->order, *so = p->succ_off, *s = p->succ;
	uint32_t v, u, w, i, j, head = 0, tail = 0, end, lvl = 0;

	for (v = 0; v < p->nnodes; v++)
		indeg[v] = p->pred_off[v + 1] - p->pred_off[v];
	for (v = 0; v < p->ncalls; v++)
		if (!indeg[v])
			q[tail++] = v;
	for (; head < tail; lvl++) {
		for (end = tail; head < end; head++) {
			u = q[head];
			p->level[u] = (int32_t)lvl;
			for (i = so[u]; i < so[u + 1]; i++) {
				if (--indeg[v = s[i]])
					continue;
				if (v < p->ncalls) {
					q[tail++] = v;
					continue;
				}
				for (j = so[v]; j < so[v + 1]; j++) /* barrier: release */
					if (!--indeg[w = s[j]])
						q[tail++] = w;
			}
		}
	}
	p->nlevels = lvl;
	return tail;
}

/* order[]: calls by level, batch order inside a level (a stable counting sort), no errors. */
static int bucket_levels(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t c, *off;

	off = p->level_off = td__calloc((size_t)p->nlevels + 2, sizeof(uint32_t));
	if (!off)
		return TD_ENOMEM;
	for (c = 0; c < p->ncalls; c++)
		if (!(bd->ctool[c] & ERR_BIT))
			off[p->level[c] + 2]++;
	prefix_sum(off, (size_t)p->nlevels + 2);
	for (c = 0; c < p->ncalls; c++)
		if (!(bd->ctool[c] & ERR_BIT))
			p->order[off[p->level[c] + 1]++] = c;
	return 0;
}

/* ---- cycles ---- */

static void put_call(struct td__buf *out, const struct td_batch *b, uint32_t c)
{
	td__buf_printf(out, "%s (%s)", b->calls[c].id, b->calls[c].name);
}

/* "dependency cycle: a (t) -> b (u) -> a (t)"; a very long cycle shows its two ends. */
static void cycle_message(const struct td_batch *b, const uint32_t *cyc, size_t n,
                          struct td_diag *diag)
{
	struct td__buf out = {0};
	size_t i;

	td__buf_puts(&out, "dependency cycle: ");
	for (i = 0; i < n; i++) {
		if (n > 64 && i == 48) {
			td__buf_printf(&out, "... (%zu more) -> ", n - 56);
			i = n - 8;
		}
		put_call(&out, b, cyc[i]);
		td__buf_puts(&out, " -> ");
	}
	put_call(&out, b, cyc[0]);
	if (!out.oom)
		td__diag_add(diag, TD_ECYCLE, NULL, 0, 0, "%s", out.data);
	else
		td__diag_add(diag, TD_ECYCLE, NULL, 0, 0, "dependency cycle");
	td__buf_free(&out);
}

/*
 * Every node Kahn left has an unplaced dependency (that is what its non-zero in-degree
 * counts), so walking "some unplaced dependency" from an unplaced call must revisit a node:
 * the walk is the DFS, iterative and without backtracking. The cycle is the walk from the
 * first revisited node on; barriers are dropped and it is rotated to its lowest call index.
 */
static int find_cycle(struct builder *bd, struct td_diag *diag)
{
	const struct td_plan *p = bd->p;
	const uint32_t *indeg = bd->scratch;
	uint32_t *pos = td__malloc((size_t)p->nnodes * sizeof(*pos));
	uint32_t *path = td__malloc((size_t)p->nnodes * sizeof(*path));
	uint32_t v = 0, i, step = 0, n = 0, low = 0;

	if (!pos || !path) {
		td__diag_add(diag, TD_ECYCLE, NULL, 0, 0, "dependency cycle");
		goto out;
	}
	memset(pos, 0xff, (size_t)p->nnodes * sizeof(*pos));
	while (!indeg[v])
		v++;
	while (pos[v] == NONE) {
		pos[v] = step;
		path[step++] = v;
		for (i = p->pred_off[v]; indeg[p->pred[i]] == 0; i++)
			;
		v = p->pred[i];
	}
	for (i = pos[v]; i < step; i++)
		if (path[i] < p->ncalls)
			path[n++] = path[i];
	for (i = 1; i < n; i++)
		if (path[i] < path[low])
			low = i;
	for (i = 0; i < n; i++)
		pos[i] = path[(low + i) % n];
	cycle_message(p->batch, pos, n, diag);
out:
	td__free(pos);
	td__free(path);
	return TD_ECYCLE;
}

/* ---- the plan ---- */

static int alloc_results(struct td_plan *p)
{
	size_t n = p->ncalls ? p->ncalls : 1;

	p->level = td__malloc(n * sizeof(*p->level));
	p->order = td__malloc(n * sizeof(*p->order));
	return p->level && p->order ? 0 : TD_ENOMEM;
}

static int build(struct builder *bd, struct td_diag *diag)
{
	int r;

	if ((r = read_calls(bd)) || (r = make_barriers(bd)) || (r = build_pred(bd)) ||
	    (r = build_succ(bd)) || (r = alloc_results(bd->p)))
		return r;
	if (kahn(bd) < bd->p->ncalls)
		return find_cycle(bd, diag);
	return bucket_levels(bd);
}

int td_plan_new(const struct td_batch *batch, struct td_plan **out, struct td_diag *diag)
{
	struct builder bd = {0};
	struct td_plan *p;
	int r;

	if (out)
		*out = NULL;
	if (!batch || !out)
		return TD_EINVAL;
	if (batch->ncalls >= (ERR_BIT >> 1) - batch->graph->ntools)
		return TD_ETOOBIG;
	p = td__calloc(1, sizeof(*p));
	if (!p)
		return TD_ENOMEM;
	p->batch = batch;
	p->ncalls = (uint32_t)batch->ncalls;
	bd = (struct builder){.p = p, .b = batch, .g = batch->graph};
	r = build(&bd, diag);
	td__free(bd.ctool);
	td__free(bd.bar_of);
	td__free(bd.scratch);
	if (r) {
		if (r == TD_ENOMEM || r == TD_ETOOBIG)
			td__diag_add(diag, r, NULL, 0, 0, "%s while planning %u calls",
			             td_strerror(r), p->ncalls);
		td_plan_free(p);
		return r;
	}
	*out = p;
	return 0;
}

void td_plan_free(struct td_plan *p)
{
	if (!p)
		return;
	td__free(p->barrier_tool);
	td__free(p->pred_off);
	td__free(p->pred);
	td__free(p->succ_off);
	td__free(p->succ);
	td__free(p->level);
	td__free(p->level_off);
	td__free(p->order);
	td__free(p);
}

/* ---- reading a plan ---- */

const struct td_batch *td_plan_batch(const struct td_plan *p)
{
	return p ? p->batch : NULL;
}

size_t td_plan_level_count(const struct td_plan *p)
{
	return p ? p->nlevels : 0;
}

int td_plan_level(const struct td_plan *p, size_t k, const uint32_t **calls)
{
	if (!p || k >= p->nlevels)
		return TD_EINVAL;
	if (calls)
		*calls = p->order + p->level_off[k];
	return (int)(p->level_off[k + 1] - p->level_off[k]);
}

int td_plan_call_level(const struct td_plan *p, size_t call)
{
	if (!p || call >= p->ncalls)
		return TD_EINVAL;
	return p->level[call];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void sort_u32(uint32_t *a, size_t n)
{
	size_t i, j;
	uint32_t x;

	if (n > 16) {
		qsort(a, n, sizeof(*a), cmp_u32);
		return;
	}
	for (i = 1; i < n; i++) {
		for (x = a[i], j = i; j > 0 && a[j - 1] > x; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

static size_t deps_size(const struct td_plan *p, uint32_t call)
{
	size_t n = 0;
	uint32_t i, u;

	for (i = p->pred_off[call]; i < p->pred_off[call + 1]; i++) {
		u = p->pred[i];
		n += u < p->ncalls ? 1 : p->pred_off[u + 1] - p->pred_off[u];
	}
	return n;
}

int td__plan_deps(const struct td_plan *p, uint32_t call, uint32_t **buf, size_t *cap)
{
	size_t need = deps_size(p, call), n = 0, w = 0, k;
	uint32_t i, j, u, *d;

	if (need > *cap) {
		d = td__reallocarray(*buf, need, sizeof(*d));
		if (!d)
			return TD_ENOMEM;
		*buf = d;
		*cap = need;
	}
	d = *buf;
	for (i = p->pred_off[call]; i < p->pred_off[call + 1]; i++) {
		u = p->pred[i];
		if (u < p->ncalls)
			d[n++] = u;
		else
			for (j = p->pred_off[u]; j < p->pred_off[u + 1]; j++)
				d[n++] = p->pred[j];
	}
	sort_u32(d, n);
	for (k = 0; k < n; k++)
		if (!w || d[w - 1] != d[k])
			d[w++] = d[k];
	return (int)w;
}

int td_plan_call_deps(const struct td_plan *p, size_t call, uint32_t *deps, size_t cap)
{
	uint32_t *buf = NULL;
	size_t bcap = 0;
	int n;

	if (!p || call >= p->ncalls || (!deps && cap))
		return TD_EINVAL;
	n = td__plan_deps(p, (uint32_t)call, &buf, &bcap);
	if (n > 0)
		memcpy(deps, buf, ((size_t)n < cap ? (size_t)n : cap) * sizeof(*deps));
	td__free(buf);
	return n;
}

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
/* Dependency lists up to this long are de-duplicated by a scan instead of a mark array. */
#define SHORT_LIST 16

struct builder {
	struct td_plan *p;
	const struct td_batch *b;
	const struct td_graph *g;
	/* [ncalls]: tool index or NONE. Lives in plan->order, which is free until Kahn: every
	 * fresh page costs a fault, and faults dominate leveling a million calls. */
	uint32_t *ctool;
	uint64_t *errs;   /* bit per call: has a call-level error */
	uint32_t *tcount; /* [ntools]: calls per tool */
	uint32_t *bar_of; /* [ntools]: barrier node standing for the tool, or NONE */
	uint32_t *mark;   /* [nnodes]: v + 1 of the last long list holding the node; lazily */
	size_t maxedges;  /* before de-duplication */
	/* explicit edges grouped by dependent call: ex_to[ex_off[v] .. ex_off[v + 1]) for
	 * v < ex_n, none for later calls. The batch's own CSR when it is grouped, else a
	 * grouped copy (ex_own, ex_own_off). */
	const uint32_t *ex_to, *ex_off;
	size_t ex_n;
	uint32_t *ex_own_off, *ex_own;
};

/*
 * Allocates one of the plan's big arrays. Leveling a million calls touches ~45 MB of fresh
 * memory once; with 4 KiB pages the page faults cost more than the algorithm (measured ~15 us
 * each on a virtual machine), so arrays of a few MiB ask for transparent huge pages. A hint:
 * where THP is off it does nothing, and the memory is still td__malloc's.
 */
static void *big_alloc(size_t n, size_t size, bool zero)
{
	size_t bytes = (n ? n : 1) * size;
	void *p = zero ? td__calloc(n ? n : 1, size) : td__malloc(bytes);

	td__huge_pages(p, bytes);
	return p;
}

static uint32_t tool_of(const struct builder *bd, uint32_t c)
{
	return bd->ctool[c];
}

static bool has_error(const struct builder *bd, uint32_t c)
{
	return bd->errs[c / 64] >> (c % 64) & 1;
}

/*
 * One sequential read of the batch's (wide) call records into a compact array, so the passes
 * below touch 4 bytes per call instead of a whole record; counts the calls of each tool.
 */
static int read_calls(struct builder *bd)
{
	const struct td__call *calls = bd->b->calls;
	size_t nt = bd->g->ntools ? bd->g->ntools : 1;
	uint32_t c, t, n = bd->p->ncalls;

	bd->ctool = bd->p->order = big_alloc((size_t)n + 1, sizeof(uint32_t), false);
	bd->errs = td__calloc((size_t)n / 64 + 1, sizeof(*bd->errs));
	bd->tcount = td__calloc(nt, sizeof(*bd->tcount));
	bd->bar_of = td__malloc(nt * sizeof(*bd->bar_of));
	if (!bd->ctool || !bd->errs || !bd->tcount || !bd->bar_of)
		return TD_ENOMEM;
	for (c = 0; c < n; c++) {
		t = calls[c].tool < 0 || (size_t)calls[c].tool >= bd->g->ntools
		        ? NONE
		        : (uint32_t)calls[c].tool;
		if (t != NONE)
			bd->tcount[t]++;
		bd->ctool[c] = t;
		if (calls[c].has_error)
			bd->errs[c / 64] |= 1ull << (c % 64);
	}
	return 0;
}

/*
 * A barrier is needed for tool D when D has calls and some tool with calls depends on D; tools
 * without calls impose nothing. Barriers are numbered in tool order after the calls. Also
 * bounds the edge count: tool-level edges plus barrier edges plus explicit ones.
 */
static int make_barriers(struct builder *bd)
{
	const struct td_graph *g = bd->g;
	const uint32_t *cnt = bd->tcount;
	uint32_t t, k, d, nbar = 0;
	size_t m = bd->b->nedges;

	for (t = 0; t < g->ntools; t++)
		bd->bar_of[t] = NONE;
	for (t = 0; t < g->ntools; t++)
		for (k = 0; cnt[t] && k < g->tools[t].ndeps; k++)
			if (cnt[d = g->tools[t].deps[k]] && bd->bar_of[d] == NONE) {
				bd->bar_of[d] = 0;
				nbar++;
			}
	bd->p->barrier_tool = td__malloc((nbar ? nbar : 1) * sizeof(uint32_t));
	if (!bd->p->barrier_tool)
		return TD_ENOMEM;
	for (t = 0, k = 0; t < g->ntools; t++) {
		if (bd->bar_of[t] == NONE)
			continue;
		bd->p->barrier_tool[k] = t;
		bd->bar_of[t] = bd->p->ncalls + k++;
		m += cnt[t];
	}
	for (t = 0; t < g->ntools; t++)
		for (k = 0; cnt[t] && k < g->tools[t].ndeps; k++)
			if (bd->bar_of[g->tools[t].deps[k]] != NONE)
				m += cnt[t];
	bd->p->nnodes = bd->p->ncalls + nbar;
	bd->maxedges = m;
	return m >= UINT32_MAX ? TD_ETOOBIG : 0;
}

static void prefix_sum(uint32_t *a, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		a[i] += a[i - 1];
}

/* Call v's explicit edges: ex_to[*lo .. *hi). */
static void explicit_edges(const struct builder *bd, uint32_t v, size_t *lo, size_t *hi)
{
	if (v < bd->ex_n) {
		*lo = bd->ex_off[v];
		*hi = bd->ex_off[v + 1];
	} else {
		*lo = *hi = 0;
	}
}

/*
 * Decoded batches and batches built call after call keep their edges grouped by dependent
 * (see struct td_batch) and are read in place; an edge list is grouped here by a counting
 * sort into a temporary copy.
 */
static int group_explicit(struct builder *bd)
{
	const struct td_batch *b = bd->b;
	size_t e;
	uint32_t *off;

	if (!b->edge_from) {
		bd->ex_to = b->edge_to;
		bd->ex_off = b->edge_off;
		bd->ex_n = b->edge_ncalls;
		return 0;
	}
	off = bd->ex_own_off = td__calloc((size_t)bd->p->ncalls + 2, sizeof(*off));
	bd->ex_own = td__malloc((b->nedges ? b->nedges : 1) * sizeof(*bd->ex_own));
	if (!off || !bd->ex_own)
		return TD_ENOMEM;
	for (e = 0; e < b->nedges; e++)
		off[b->edge_from[e] + 2]++;
	prefix_sum(off, (size_t)bd->p->ncalls + 2);
	for (e = 0; e < b->nedges; e++)
		bd->ex_own[off[b->edge_from[e] + 1]++] = b->edge_to[e];
	bd->ex_to = bd->ex_own;
	bd->ex_off = off;
	bd->ex_n = bd->p->ncalls;
	return 0;
}

/*
 * Appends "v depends on u" to v's list pred[first, *w) unless it is there already, and counts
 * it for u's dependents. Short lists are scanned (in cache); a list that grows long moves to
 * marks (v + 1 in mark[u]), stamped for what it holds so far.
 */
static int add_pred(struct builder *bd, uint32_t v, uint32_t first, uint32_t *w, uint32_t u)
{
	uint32_t *pred = bd->p->pred, i;

	if (*w - first < SHORT_LIST) {
		for (i = first; i < *w; i++)
			if (pred[i] == u)
				return 0;
	} else {
		if (!bd->mark && !(bd->mark = td__calloc(bd->p->nnodes, sizeof(*bd->mark))))
			return TD_ENOMEM;
		if (*w - first == SHORT_LIST || bd->mark[pred[first]] != v + 1)
			for (i = first; i < *w; i++)
				bd->mark[pred[i]] = v + 1;
		if (bd->mark[u] == v + 1)
			return 0;
		bd->mark[u] = v + 1;
	}
	pred[(*w)++] = u;
	bd->p->succ_off[u + 2]++;
	return 0;
}

/* One call's list: the barriers of the tools its tool depends on, then its explicit edges. */
static int call_preds(struct builder *bd, uint32_t v, uint32_t *w)
{
	const struct td__tool *tool;
	uint32_t first = *w, t = tool_of(bd, v), k, u;
	size_t e, end;
	int r;

	if (t != NONE) {
		tool = &bd->g->tools[t];
		for (k = 0; k < tool->ndeps; k++)
			if ((u = bd->bar_of[tool->deps[k]]) != NONE) {
				bd->p->pred[(*w)++] = u; /* distinct: depends_on has no repeats */
				bd->p->succ_off[u + 2]++;
			}
	}
	explicit_edges(bd, v, &e, &end);
	for (; e < end; e++)
		if ((r = add_pred(bd, v, first, w, bd->ex_to[e])) < 0)
			return r;
	return 0;
}

/* A barrier's list: every call of its tool, in batch order (distinct by construction). */
static void barrier_preds(struct builder *bd, uint32_t w)
{
	struct td_plan *p = bd->p;
	uint32_t nbar = p->nnodes - p->ncalls, k, c, t;

	for (k = 0; k < nbar; k++) {
		p->pred_off[p->ncalls + k] = w;
		w += bd->tcount[p->barrier_tool[k]];
	}
	p->pred_off[p->nnodes] = w;
	/* pred_off[ncalls + k] is the fill cursor of barrier k until the last line */
	for (c = 0; c < p->ncalls && nbar; c++) {
		if ((t = tool_of(bd, c)) == NONE || bd->bar_of[t] == NONE)
			continue;
		p->pred[p->pred_off[bd->bar_of[t]]++] = c;
		p->succ_off[c + 2]++;
	}
	for (k = nbar; k > 0; k--)
		p->pred_off[p->ncalls + k - 1] =
		    p->pred_off[p->ncalls + k - 1] - bd->tcount[p->barrier_tool[k - 1]];
}

/*
 * A big batch often has explicit edges only (no tool barriers), grouped by call without
 * repeats. Its CSR then already is the pred CSR, and copying it would touch 4 fresh bytes per
 * edge and per call - 18 MB at a million calls, where every page costs a fault. Borrows it
 * when that holds (short lists checked for repeats as add_pred would; a long list or a repeat
 * means a copy is built after all), with a pred_off of its own only when the batch's offsets
 * stop before the last call. Returns 1 when borrowed, with pred_off and the succ counts
 * filled in, 0 when not, or TD_ENOMEM.
 */
static int borrow_pred(struct builder *bd)
{
	struct td_plan *p = bd->p;
	const struct td_batch *b = bd->b;
	const uint32_t *to = b->edge_to;
	size_t e, end, i;
	uint32_t v;

	if (p->nnodes != p->ncalls || b->edge_from || !b->nedges)
		return 0;
	for (v = 0; v < bd->ex_n; v++) {
		explicit_edges(bd, v, &e, &end);
		if (end - e > SHORT_LIST)
			goto copy;
		for (; e < end; e++) {
			for (i = bd->ex_off[v]; i < e; i++)
				if (to[i] == to[e])
					goto copy;
			p->succ_off[to[e] + 2]++;
		}
	}
	p->pred = (uint32_t *)to; /* never written: td_plan_free knows not to free it */
	p->pred_borrowed = true;
	if (bd->ex_n == p->ncalls) {
		p->pred_off = (uint32_t *)bd->ex_off; /* the same */
		p->pred_off_borrowed = true;
		return 1;
	}
	if (!(p->pred_off = big_alloc((size_t)p->nnodes + 1, sizeof(uint32_t), false)))
		return TD_ENOMEM;
	memcpy(p->pred_off, bd->ex_off, (bd->ex_n + 1) * sizeof(uint32_t));
	for (v = (uint32_t)bd->ex_n + 1; v <= p->ncalls; v++)
		p->pred_off[v] = (uint32_t)b->nedges;
	return 1;
copy:
	memset(p->succ_off, 0, ((size_t)p->nnodes + 2) * sizeof(*p->succ_off));
	return 0;
}

/*
 * The pred CSR in one pass over the calls (lists written in node order, duplicates dropped as
 * they come), counting each node's dependents for the succ CSR on the way.
 */
static int build_pred(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t v, w = 0;
	int r;

	p->succ_off = big_alloc((size_t)p->nnodes + 2, sizeof(uint32_t), true);
	if (!p->succ_off || group_explicit(bd) < 0)
		return TD_ENOMEM;
	if ((r = borrow_pred(bd)) != 0)
		return r < 0 ? r : 0;
	p->pred_off = big_alloc((size_t)p->nnodes + 1, sizeof(uint32_t), false);
	p->pred = big_alloc(bd->maxedges, sizeof(uint32_t), false);
	if (!p->pred_off || !p->pred)
		return TD_ENOMEM;
	for (v = 0; v < p->ncalls; v++) {
		p->pred_off[v] = w;
		if ((r = call_preds(bd, v, &w)) < 0)
			return r;
	}
	barrier_preds(bd, w);
	return 0;
}

static int build_succ(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t v, i, m = p->pred_off[p->nnodes];

	prefix_sum(p->succ_off, (size_t)p->nnodes + 2);
	p->succ = big_alloc(m, sizeof(uint32_t), false);
	if (!p->succ)
		return TD_ENOMEM;
	for (v = 0; v < p->nnodes; v++)
		for (i = p->pred_off[v]; i < p->pred_off[v + 1]; i++)
			p->succ[p->succ_off[p->pred[i] + 1]++] = v;
	return 0;
}

/* Placed nodes hold their level; unplaced ones PENDING | (dependencies not yet placed). */
#define PENDING 0x80000000u

/*
 * Kahn's algorithm, one frontier per level, calls only in the queue (order[] doubles as the
 * queue). A barrier adds no level: when its last call is placed in frontier k it is released
 * at once, so its dependents land in frontier k + 1 - exactly 1 + the highest level among
 * the calls they depend on. The in-degrees live in level[] itself (PENDING | count), so the
 * level written when a call is placed lands on a line the decrement just touched.
 * Returns the number of calls placed (< ncalls: a cycle).
 */
static uint32_t kahn(struct builder *bd)
{
	struct td_plan *p = bd->p;
	uint32_t *deg = (uint32_t *)p->level, *q = p->order, *so = p->succ_off, *s = p->succ;
	uint32_t v, u, w, i, j, head = 0, tail = 0, end, lvl = 0;

	for (v = 0; v < p->nnodes; v++)
		deg[v] = PENDING | (p->pred_off[v + 1] - p->pred_off[v]);
	for (v = 0; v < p->ncalls; v++)
		if (deg[v] == PENDING)
			q[tail++] = v;
	for (; head < tail; lvl++) {
		for (end = tail; head < end; head++) {
			u = q[head];
			deg[u] = lvl;
			for (i = so[u]; i < so[u + 1]; i++) {
				if (--deg[v = s[i]] != PENDING)
					continue;
				if (v < p->ncalls) {
					q[tail++] = v;
					continue;
				}
				deg[v] = lvl + 1; /* barrier: its ready level; release it */
				for (j = so[v]; j < so[v + 1]; j++)
					if (--deg[w = s[j]] == PENDING)
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
		if (!has_error(bd, c))
			off[p->level[c] + 2]++;
	prefix_sum(off, (size_t)p->nlevels + 2);
	for (c = 0; c < p->ncalls; c++)
		if (!has_error(bd, c))
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
	bool at;

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
	/* at the first call of the cycle, where that is known (the graph's own calls) */
	at = b->pos && cyc[0] < b->npos;
	td__diag_add(diag, TD_ECYCLE, b->name, at ? b->pos[cyc[0]].line : 0,
	             at ? b->pos[cyc[0]].column : 0, "%s", out.oom ? "dependency cycle" : out.data);
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
	const uint32_t *deg = (const uint32_t *)p->level;
	uint32_t *pos = td__malloc((size_t)p->nnodes * sizeof(*pos));
	uint32_t *path = td__malloc((size_t)p->nnodes * sizeof(*path));
	uint32_t v = 0, i, step = 0, n = 0, low = 0;

	if (!pos || !path) {
		td__diag_add(diag, TD_ECYCLE, NULL, 0, 0, "dependency cycle");
		goto out;
	}
	memset(pos, 0xff, (size_t)p->nnodes * sizeof(*pos));
	while (!(deg[v] & PENDING))
		v++;
	while (pos[v] == NONE) {
		pos[v] = step;
		path[step++] = v;
		for (i = p->pred_off[v]; !(deg[p->pred[i]] & PENDING); i++)
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
	/* one entry per node: the in-degrees of Kahn's algorithm live there first */
	p->level = big_alloc((size_t)p->nnodes + 1, sizeof(*p->level), false);
	return p->level ? 0 : TD_ENOMEM;
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
	if (batch->ncalls >= INT32_MAX - batch->graph->ntools)
		return TD_ETOOBIG;
	p = td__calloc(1, sizeof(*p));
	if (!p)
		return TD_ENOMEM;
	p->batch = batch;
	p->ncalls = (uint32_t)batch->ncalls;
	bd = (struct builder){.p = p, .b = batch, .g = batch->graph};
	r = build(&bd, diag);
	td__free(bd.errs);
	td__free(bd.tcount);
	td__free(bd.bar_of);
	td__free(bd.mark);
	td__free(bd.ex_own_off);
	td__free(bd.ex_own);
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
	if (!p->pred_off_borrowed)
		td__free(p->pred_off);
	if (!p->pred_borrowed)
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

size_t td__plan_deps_bound(const struct td_plan *p, uint32_t call)
{
	return deps_size(p, call);
}

/* ---- the first few of a long dependency list ---- */

/* Whether explicit dependency u is also in one of the call's barrier lists. */
static bool covered(const struct td_plan *p, const uint32_t *bars, size_t nb, uint32_t u)
{
	int32_t t = p->batch->calls[u].tool;
	size_t k;

	for (k = 0; t >= 0 && k < nb; k++)
		if (p->barrier_tool[bars[k] - p->ncalls] == (uint32_t)t)
			return true;
	return false;
}

/* Length and k-th entry of list k of a merge: the barriers' lists, then the explicit one. */
static uint32_t list_len(const struct td_plan *p, const uint32_t *bars, size_t nb, size_t ne,
                         size_t k)
{
	return k < nb ? p->pred_off[bars[k] + 1] - p->pred_off[bars[k]] : (uint32_t)ne;
}

static uint32_t list_at(const struct td_plan *p, const uint32_t *bars, size_t nb,
                        const uint32_t *ex, size_t k, uint32_t i)
{
	return k < nb ? p->pred[p->pred_off[bars[k]] + i] : ex[i];
}

/*
 * The count and the first cap of a call's dependencies without listing them all. Barrier
 * lists are disjoint (a call has one tool) and each is in batch order; an explicit edge
 * repeats one of them exactly when the barrier of its tool is among the call's. So the count
 * needs no list, and the first cap come from merging sorted disjoint lists: printing "after
 * a, b and 499,998 more" for each of a million calls stays linear instead of sorting
 * 500,000 entries a million times.
 */
static int deps_head(const struct td_plan *p, uint32_t call, uint32_t *deps, size_t cap)
{
	uint32_t lo = p->pred_off[call], n = p->pred_off[call + 1] - lo, i, u, best, bv;
	uint32_t *bars = td__malloc(((size_t)n * 3 + 1) * sizeof(*bars)), *ex, *pos;
	size_t nb = 0, ne = 0, total = 0, k, w;

	if (!bars)
		return TD_ENOMEM;
	ex = bars + n;
	pos = ex + n; /* a cursor per list: nb barrier lists and the explicit one */
	for (i = 0; i < n; i++)
		if ((u = p->pred[lo + i]) >= p->ncalls)
			bars[nb++] = u;
	for (i = 0; i < n; i++)
		if ((u = p->pred[lo + i]) < p->ncalls && !covered(p, bars, nb, u))
			ex[ne++] = u;
	sort_u32(ex, ne);
	for (k = 0; k <= nb; k++) {
		pos[k] = 0;
		total += list_len(p, bars, nb, ne, k);
	}
	for (w = 0; w < cap && w < total; w++) {
		for (k = 0, best = 0, bv = UINT32_MAX; k <= nb; k++)
			if (pos[k] < list_len(p, bars, nb, ne, k) &&
			    (u = list_at(p, bars, nb, ex, k, pos[k])) < bv) {
				bv = u;
				best = (uint32_t)k;
			}
		deps[w] = bv;
		pos[best]++;
	}
	td__free(bars);
	return (int)total;
}

int td_plan_call_deps(const struct td_plan *p, size_t call, uint32_t *deps, size_t cap)
{
	uint32_t *buf = NULL;
	size_t bcap = 0;
	int n;

	if (!p || call >= p->ncalls || (!deps && cap))
		return TD_EINVAL;
	if (deps_size(p, (uint32_t)call) > cap)
		return deps_head(p, (uint32_t)call, deps, cap);
	n = td__plan_deps(p, (uint32_t)call, &buf, &bcap);
	if (n > 0 && cap)
		memcpy(deps, buf, ((size_t)n < cap ? (size_t)n : cap) * sizeof(*deps));
	td__free(buf);
	return n;
}

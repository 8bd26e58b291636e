/* SPDX-License-Identifier: MIT */
/*
 * graphviz.c - drawings of a graph or a plan: Graphviz DOT (one rank per level) and Mermaid
 * flowcharts (one subgraph per level) for pasting into Markdown.
 *
 * Nodes are named by index (t3, c17), never by the model's ids, so no id can break the syntax;
 * ids and tool names appear only inside quoted labels, escaped for each language.
 *
 * A tool-level dependency between many calls is drawn through one node ("all fetch_weather"),
 * as the planner holds it (a barrier): 5,000 calls waiting for 5,000 others would otherwise be
 * 25 million edges, which no renderer can lay out. Small ones are drawn call to call.
 */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

/* ---- escaping ---- */

/* Inside a DOT "quoted string": backslash and quote escaped (a bare backslash would start an
 * escape such as \N or \l), line breaks as \n, other control bytes dropped. */
static void dot_text(struct td__buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			td__buf_putc(b, '\\');
			td__buf_putc(b, *s);
		} else if (*s == '\n') {
			td__buf_puts(b, "\\n");
		} else if ((unsigned char)*s >= 0x20) {
			td__buf_putc(b, *s);
		}
	}
}

/* Inside a Mermaid ["quoted label"]: Mermaid reads #NNN; as a character code, so every byte
 * that means something to it or to the HTML it renders goes as one. */
static void mermaid_text(struct td__buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20)
			continue;
		if (strchr("\"#<>&`", ch))
			td__buf_printf(b, "#%u;", ch);
		else
			td__buf_putc(b, (char)ch);
	}
}

static int finish(struct td__buf *b, char **out)
{
	*out = td__buf_take(b);
	return *out ? 0 : TD_ENOMEM;
}

/* ---- tools ---- */

/* Tool levels: 0 without depends_on, else 1 + the highest of the dependencies (the loader
 * refused cycles). lv[] starts at -1; memoised, so O(tools + edges) overall. */
static int tool_level(const struct td_graph *g, size_t t, int *lv, int depth)
{
	size_t i;
	int best = 0;

	if (lv[t] >= 0 || depth > (int)g->ntools) /* depth: defence, never reached */
		return lv[t] < 0 ? 0 : lv[t];
	for (i = 0; i < g->tools[t].ndeps; i++) {
		int d = tool_level(g, g->tools[t].deps[i], lv, depth + 1) + 1;

		if (d > best)
			best = d;
	}
	return lv[t] = best;
}

static void dot_tool_ranks(struct td__buf *b, const struct td_graph *g, const int *lv)
{
	int k, top = -1;
	size_t t;

	for (t = 0; t < g->ntools; t++)
		top = lv[t] > top ? lv[t] : top;
	for (k = 0; k <= top; k++) {
		td__buf_printf(b, "  subgraph level_%d {\n    rank=same;\n", k);
		for (t = 0; t < g->ntools; t++)
			if (lv[t] == k) {
				td__buf_printf(b, "    t%zu [label=\"", t);
				dot_text(b, g->tools[t].name);
				td__buf_puts(b, "\"];\n");
			}
		td__buf_puts(b, "  }\n");
	}
}

int td_graph_dot(const struct td_graph *graph, char **out)
{
	struct td__buf b = {0};
	size_t t, i;
	int *lv;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!graph)
		return TD_EINVAL;
	lv = td__malloc((graph->ntools ? graph->ntools : 1) * sizeof(*lv));
	if (!lv)
		return TD_ENOMEM;
	for (t = 0; t < graph->ntools; t++)
		lv[t] = -1;
	for (t = 0; t < graph->ntools; t++)
		tool_level(graph, t, lv, 0);
	td__buf_puts(&b, "digraph tools {\n  rankdir=LR;\n  node [shape=box];\n");
	dot_tool_ranks(&b, graph, lv);
	for (t = 0; t < graph->ntools; t++)
		for (i = 0; i < graph->tools[t].ndeps; i++)
			td__buf_printf(&b, "  t%u -> t%zu;\n", graph->tools[t].deps[i], t);
	td__buf_puts(&b, "}\n");
	td__free(lv);
	return finish(&b, out);
}

/* ---- calls ---- */

/* Calls grouped by level (call-level errors included, at the level the planner gave them):
 * level k is idx[off[k] .. off[k + 1]), batch order inside. A counting sort, O(calls). */
struct by_level {
	uint32_t nlevels;
	uint32_t *off, *idx;
};

static int by_level_new(const struct td_plan *p, struct by_level *bl)
{
	uint32_t c, k, n = p->nlevels;

	for (c = 0; c < p->ncalls; c++)
		if (p->level[c] >= 0 && (uint32_t)p->level[c] + 1 > n)
			n = (uint32_t)p->level[c] + 1;
	bl->nlevels = n;
	bl->off = td__calloc((size_t)n + 2, sizeof(*bl->off));
	bl->idx = td__calloc(p->ncalls ? p->ncalls : 1, sizeof(*bl->idx));
	if (!bl->off || !bl->idx) {
		td__free(bl->off);
		td__free(bl->idx);
		return TD_ENOMEM;
	}
	for (c = 0; c < p->ncalls; c++)
		bl->off[(p->level[c] < 0 ? 0 : p->level[c]) + 2]++;
	for (k = 0; k < n; k++)
		bl->off[k + 2] += bl->off[k + 1];
	for (c = 0; c < p->ncalls; c++)
		bl->idx[bl->off[(p->level[c] < 0 ? 0 : p->level[c]) + 1]++] = c;
	return 0;
}

static void by_level_free(struct by_level *bl)
{
	td__free(bl->off);
	td__free(bl->idx);
}

static void dot_call(struct td__buf *b, const struct td_batch *batch, uint32_t c)
{
	const struct td__call *call = &batch->calls[c];

	td__buf_printf(b, "    c%u [label=\"", c);
	dot_text(b, call->id);
	td__buf_puts(b, "\\n");
	dot_text(b, call->name);
	if (call->has_error) {
		td__buf_puts(b, "\", style=dashed, color=red, tooltip=\"");
		dot_text(b, td__call_error(call));
	}
	td__buf_puts(b, "\"];\n");
}

static void mermaid_call(struct td__buf *b, const struct td_batch *batch, uint32_t c)
{
	const struct td__call *call = &batch->calls[c];

	td__buf_printf(b, "    c%u[\"", c);
	mermaid_text(b, call->id);
	td__buf_puts(b, "<br/>");
	mermaid_text(b, call->name);
	td__buf_puts(b, call->has_error ? "\"]:::error\n" : "\"]\n");
}

static void put_levels(struct td__buf *b, const struct td_plan *p, const struct by_level *bl,
                       int mermaid)
{
	uint32_t k, i;

	for (k = 0; k < bl->nlevels; k++) {
		if (mermaid)
			td__buf_printf(b, "  subgraph level_%u[\"level %u\"]\n", k, k);
		else
			td__buf_printf(b, "  subgraph level_%u {\n    rank=same;\n", k);
		for (i = bl->off[k]; i < bl->off[k + 1]; i++) {
			if (mermaid)
				mermaid_call(b, p->batch, bl->idx[i]);
			else
				dot_call(b, p->batch, bl->idx[i]);
		}
		td__buf_puts(b, mermaid ? "  end\n" : "  }\n");
	}
}

/* Call pairs above which a barrier is drawn as a node of its own. */
#define BARRIER_EDGES 64

static bool barrier_drawn(const struct td_plan *p, uint32_t v)
{
	uint64_t in = p->pred_off[v + 1] - p->pred_off[v],
	         out = p->succ_off[v + 1] - p->succ_off[v];

	return in * out > BARRIER_EDGES;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The drawn barriers: a node each, and an edge from every call it waits for. */
static void put_barriers(struct td__buf *b, const struct td_plan *p, int mermaid)
{
	const char *tool;
	uint32_t v, i;

	for (v = p->ncalls; v < p->nnodes; v++) {
		if (!barrier_drawn(p, v))
			continue;
		tool = p->batch->graph->tools[p->barrier_tool[v - p->ncalls]].name;
		td__buf_printf(b,
		               mermaid ? "  b%u([\"all %s\"])\n"
		                       : "  b%u [label=\"all %s\", shape=ellipse, style=dashed];\n",
		               v, tool); /* tool names are the graph's: letters, digits, _ and - */
		for (i = p->pred_off[v]; i < p->pred_off[v + 1]; i++)
			td__buf_printf(b, mermaid ? "  c%u --> b%u\n" : "  c%u -> b%u;\n",
			               p->pred[i], v);
	}
}

/* Every call's direct dependencies as edges dep -> call (a drawn barrier as one edge). */
static int put_edges(struct td__buf *b, const struct td_plan *p, int mermaid)
{
	uint32_t *deps = NULL, c, i, j, u;
	size_t cap = 0, n, k;

	put_barriers(b, p, mermaid);
	for (c = 0; c < p->ncalls; c++) {
		if (td__plan_deps_bound(p, c) > cap) {
			uint32_t *d = td__reallocarray(deps, td__plan_deps_bound(p, c), sizeof(*d));

			if (!d) {
				td__free(deps);
				return TD_ENOMEM;
			}
			deps = d;
			cap = td__plan_deps_bound(p, c);
		}
		n = 0;
		for (i = p->pred_off[c]; i < p->pred_off[c + 1]; i++) {
			u = p->pred[i];
			if (u < p->ncalls)
				deps[n++] = u;
			else if (barrier_drawn(p, u))
				td__buf_printf(b, mermaid ? "  b%u --> c%u\n" : "  b%u -> c%u;\n",
				               u, c);
			else
				for (j = p->pred_off[u]; j < p->pred_off[u + 1]; j++)
					deps[n++] = p->pred[j];
		}
		if (n > 1) /* deps is still NULL for a call without any */
			qsort(deps, n, sizeof(*deps), cmp_u32);
		for (k = 0; k < n; k++)
			if (!k || deps[k] != deps[k - 1])
				td__buf_printf(b, mermaid ? "  c%u --> c%u\n" : "  c%u -> c%u;\n",
				               deps[k], c);
	}
	td__free(deps);
	return 0;
}

static int draw_plan(const struct td_plan *plan, int mermaid, char **out)
{
	struct td__buf b = {0};
	struct by_level bl;
	int err;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!plan)
		return TD_EINVAL;
	if (by_level_new(plan, &bl) < 0)
		return TD_ENOMEM;
	td__buf_puts(&b, mermaid ? "flowchart LR\n"
	                         : "digraph calls {\n  rankdir=LR;\n  node [shape=box];\n");
	put_levels(&b, plan, &bl, mermaid);
	by_level_free(&bl);
	err = put_edges(&b, plan, mermaid);
	if (err < 0) {
		td__buf_free(&b);
		return err;
	}
	td__buf_puts(&b, mermaid ? "  classDef error stroke:#c00,stroke-dasharray:4\n" : "}\n");
	return finish(&b, out);
}

int td_plan_dot(const struct td_plan *plan, char **out)
{
	return draw_plan(plan, 0, out);
}

int td_plan_mermaid(const struct td_plan *plan, char **out)
{
	return draw_plan(plan, 1, out);
}

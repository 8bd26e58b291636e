/* SPDX-License-Identifier: MIT */
/*
 * deps.c - tool-level dependencies: `depends_on` names become tool indices (unknown names
 * reported with a suggestion), then a depth-first search reports every cycle it meets as a
 * path, the way Ninja does: "dependency cycle: a -> b -> a".
 */
#include <string.h>

#include "load/loader.h"

#define NODE(L, i)   (&(L)->doc.nodes[(i)])
#define KID(L, n, k) TD__YKID(&(L)->doc, (n), (k))

/* `stamp[d] == t + 1` means tool t already depends on d: duplicates are dropped in O(1). */
static void resolve_tool(struct td__loader *L, uint32_t t, uint32_t *stamp,
                         const char *const *names)
{
	struct td__tool *tool = &L->g->tools[t];
	uint32_t list = L->depends[t], k, d;
	const char *name, *guess;

	tool->deps = td__calloc(NODE(L, list)->len, sizeof(*tool->deps));
	if (!tool->deps) {
		L->oom = true;
		return;
	}
	for (k = 0; k < NODE(L, list)->len; k++) {
		name = NODE(L, KID(L, list, k))->u.str;
		if (!td__strmap_get(&L->g->by_name, name, &d)) {
			guess = td__did_you_mean(name, names, L->g->ntools);
			if (guess)
				td__load_error(
				    L, KID(L, list, k),
				    "tool '%s' depends on unknown tool '%s' (did you mean "
				    "'%s'?)",
				    tool->name, name, guess);
			else
				td__load_error(L, KID(L, list, k),
				               "tool '%s' depends on unknown tool '%s'", tool->name,
				               name);
			continue;
		}
		if (stamp[d] == t + 1)
			continue;
		stamp[d] = t + 1;
		tool->deps[tool->ndeps++] = d;
	}
}

/* The node of the entry in `from`'s depends_on that names tool `to`, for the position. */
static uint32_t dep_entry(const struct td__loader *L, uint32_t from, uint32_t to)
{
	uint32_t list = L->depends[from], k;

	for (k = 0; k < NODE(L, list)->len; k++)
		if (strcmp(NODE(L, KID(L, list, k))->u.str, L->g->tools[to].name) == 0)
			return KID(L, list, k);
	return list;
}

/*
 * path[0..n) is a cycle (path[n-1] depends on path[0]). Start it at the earliest-declared
 * tool so the same cycle always reads the same way, and point at that tool's entry.
 */
static void report_cycle(struct td__loader *L, const uint32_t *path, size_t n)
{
	struct td__buf b = {0};
	size_t start = 0, i, before = L->diag ? L->diag->count : 0;

	for (i = 1; i < n; i++)
		if (path[i] < path[start])
			start = i;
	td__buf_puts(&b, "dependency cycle: ");
	for (i = 0; i <= n; i++) {
		td__buf_puts(&b, L->g->tools[path[(start + i) % n]].name);
		if (i < n)
			td__buf_puts(&b, " -> ");
	}
	if (b.oom) {
		L->oom = true;
	} else {
		uint32_t at = dep_entry(L, path[start], path[(start + 1) % n]);

		td__diag_add(L->diag, TD_ECYCLE, L->file, NODE(L, at)->line, NODE(L, at)->column,
		             "%s", b.data);
		td__ydiag_one_line(L->diag, before);
		L->ncycle++;
	}
	td__buf_free(&b);
}

enum { WHITE = 0, GREY, BLACK };

struct dfs {
	uint8_t *color;
	uint32_t *stack; /* tools on the current path */
	uint32_t *next;  /* per path entry: index of the next dependency to visit */
	uint32_t *pos;   /* per grey tool: its place on the path */
};

/* Iterative, so a 10,000-tool chain cannot overflow the C stack. */
static void dfs_from(struct td__loader *L, struct dfs *s, uint32_t root)
{
	const struct td__tool *tools = L->g->tools;
	size_t depth = 1;
	uint32_t u, d;

	s->stack[0] = root;
	s->next[0] = 0;
	s->pos[root] = 0;
	s->color[root] = GREY;
	while (depth) {
		u = s->stack[depth - 1];
		if (s->next[depth - 1] == tools[u].ndeps) {
			s->color[u] = BLACK;
			depth--;
			continue;
		}
		d = tools[u].deps[s->next[depth - 1]++];
		if (s->color[d] == GREY) {
			report_cycle(L, s->stack + s->pos[d], depth - s->pos[d]);
		} else if (s->color[d] == WHITE) {
			s->color[d] = GREY;
			s->pos[d] = (uint32_t)depth;
			s->stack[depth] = d;
			s->next[depth++] = 0;
		}
	}
}

static void find_cycles(struct td__loader *L)
{
	size_t n = L->g->ntools, t;
	struct dfs s = {
	    .color = td__calloc(n, 1),
	    .stack = td__calloc(n, sizeof(uint32_t)),
	    .next = td__calloc(n, sizeof(uint32_t)),
	    .pos = td__calloc(n, sizeof(uint32_t)),
	};

	if (!s.color || !s.stack || !s.next || !s.pos)
		L->oom = true;
	for (t = 0; t < n && !L->oom; t++)
		if (s.color[t] == WHITE)
			dfs_from(L, &s, (uint32_t)t);
	td__free(s.color);
	td__free(s.stack);
	td__free(s.next);
	td__free(s.pos);
}

void td__load_deps(struct td__loader *L)
{
	size_t n = L->g->ntools, t;
	uint32_t *stamp = td__calloc(n, sizeof(*stamp));
	const char **names = td__calloc(n, sizeof(*names));

	if (!stamp || !names)
		L->oom = true;
	for (t = 0; t < n && names; t++)
		names[t] = L->g->tools[t].name;
	for (t = 0; t < n && !L->oom; t++)
		if (L->depends[t] != TD__YNONE)
			resolve_tool(L, (uint32_t)t, stamp, names);
	td__free(stamp);
	td__free(names);
	if (!L->oom)
		find_cycles(L);
}

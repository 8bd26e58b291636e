/* SPDX-License-Identifier: MIT */
/*
 * loader.h - the state of one graph load, shared by the files of src/load/ (internal):
 *
 *   load.c   reads the file, parses it into a ytree, runs the passes below, frees on failure;
 *   decl*.c  walk the tree: top level, defaults, tools, limits, kinds, calls (decl.h);
 *   servers.c  MCP servers (servers:) and the keys of mcp: tools;
 *   deps.c   resolves depends_on names to tool indices and reports dependency cycles.
 *
 * Every problem goes to diag with its position and bumps nerr, and the passes go on, so one
 * load reports every mistake it can.
 */
#ifndef TD_LOADER_H
#define TD_LOADER_H

#include "load/graph.h"
#include "load/ytree.h"

struct td__loader {
	const char *file; /* name in diagnostics */
	struct td_diag *diag;
	struct td__ydoc doc;
	struct td_graph *g;
	size_t budget; /* nodes JSON conversions may still produce (alias bombs) */
	size_t nerr;   /* TD_EGRAPH problems reported */
	size_t ncycle; /* dependency cycles reported */
	bool oom;
	unsigned flags;             /* TD_LOAD_* */
	uint32_t *depends;          /* per tool: its depends_on list node, or TD__YNONE */
	struct td__jpool schemas;   /* where the tools' input_schema JSON items come from */
	struct td__limits defaults; /* the graph's defaults (imported MCP tools start from them) */
};

/* Reports a TD_EGRAPH problem at node's position (or 1:1 when node is TD__YNONE). */
void td__load_error(struct td__loader *L, uint32_t node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Walks the whole document into L->g (decl.c). */
void td__load_decl(struct td__loader *L);

/* The top-level servers: mapping (servers.c). */
void td__load_servers(struct td__loader *L, uint32_t val);
/* The mcp: tools' schemas and descriptions from the pin file, when there is one (servers.c). */
void td__load_pin(struct td__loader *L);

/* Fills tools[].deps from L->depends and reports unknown tools and cycles (deps.c). */
void td__load_deps(struct td__loader *L);

#endif /* TD_LOADER_H */

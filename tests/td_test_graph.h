/* SPDX-License-Identifier: MIT */
/*
 * td_test_graph.h - graphs built by hand for the decoder, schema and planner suites, so they
 * do not depend on the YAML loader.
 *
 *   struct td_graph *g = tg_new();
 *   int a = tg_tool(g, "fetch_weather", "{\"type\":\"object\",...}" or NULL);
 *   tg_dep(g, b, a);          // tool b depends on tool a
 *   ... tg_free(g);
 */
#ifndef TD_TEST_GRAPH_H
#define TD_TEST_GRAPH_H

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "load/graph.h"

/*
 * The loader (src/load/load.c) defines td__graph_find; until it is merged the library has no
 * definition and the suites would not link. A weak definition here, in the tests only, fills
 * the gap and yields to the loader's strong one once both are in the library.
 */
__attribute__((weak)) int td__graph_find(const struct td_graph *g, const char *name)
{
	uint32_t v;

	return td__strmap_get(&g->by_name, name, &v) ? (int)v : -1;
}

static inline struct td_graph *tg_new(void)
{
	struct td_graph *g = calloc(1, sizeof(*g));

	g->name = strdup("test.yaml");
	g->concurrency = TD_DEFAULT_CONCURRENCY;
	g->tools = calloc(4096, sizeof(*g->tools)); /* room enough for every test */
	return g;
}

static inline int tg_tool(struct td_graph *g, const char *name, const char *schema_json)
{
	struct td__tool *t = &g->tools[g->ntools];

	t->name = strdup(name);
	t->kind = TD_KIND_BUILTIN;
	t->builtin = TD_BUILTIN_ECHO;
	t->schema = schema_json ? cJSON_Parse(schema_json) : NULL;
	td__strmap_put(&g->by_name, t->name, (uint32_t)g->ntools, NULL);
	return (int)g->ntools++;
}

static inline void tg_dep(struct td_graph *g, int tool, int dep)
{
	struct td__tool *t = &g->tools[tool];

	t->deps = realloc(t->deps, (t->ndeps + 1) * sizeof(*t->deps));
	t->deps[t->ndeps++] = (uint32_t)dep;
}

static inline void tg_free(struct td_graph *g)
{
	size_t i;

	for (i = 0; i < g->ntools; i++) {
		free(g->tools[i].name);
		free(g->tools[i].deps);
		cJSON_Delete(g->tools[i].schema);
	}
	td__strmap_free(&g->by_name);
	cJSON_Delete(g->calls);
	free(g->tools);
	free(g->name);
	free(g);
}

#endif /* TD_TEST_GRAPH_H */

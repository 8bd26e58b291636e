/* SPDX-License-Identifier: MIT */
/*
 * td_test_load.h - loading graphs from text in the loader's suites: a graph that must load,
 * one that must fail, and the diagnostics it must give (exact text, position included).
 *
 *   struct td_graph *g = load_ok(yaml);   const struct td__tool *t = tool(g, "a");
 *   expect_one(yaml, TD_EGRAPH, "g.yaml:3:5: ...");
 *   load_bad(yaml, &d); ck_assert_diag(&d, "g.yaml:...");
 */
#ifndef TD_TEST_LOAD_H
#define TD_TEST_LOAD_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "load/graph.h"

static char dump_buf[16384];

/* All items, one per line, for failure messages. */
static inline const char *dump(const struct td_diag *d)
{
	size_t i, off = 0;

	dump_buf[0] = '\0';
	for (i = 0; i < d->count && off < sizeof(dump_buf) - 1; i++) {
		off += (size_t)td_diag_format(&d->items[i], dump_buf + off, sizeof(dump_buf) - off);
		if (off < sizeof(dump_buf) - 1)
			dump_buf[off++] = '\n';
		dump_buf[off < sizeof(dump_buf) ? off : sizeof(dump_buf) - 1] = '\0';
	}
	return dump_buf;
}

static inline bool has_diag(const struct td_diag *d, const char *want)
{
	char buf[1024];
	size_t i;

	for (i = 0; i < d->count; i++) {
		td_diag_format(&d->items[i], buf, sizeof(buf));
		if (strcmp(buf, want) == 0)
			return true;
	}
	return false;
}

#define ck_assert_diag(d, want)                                                                    \
	ck_assert_msg(has_diag((d), (want)), "expected diagnostic:\n  %s\ngot:\n%s", (want),       \
	              dump(d))

static inline struct td_graph *load_ok(const char *yaml)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	int rc = td_graph_load_buffer(yaml, strlen(yaml), "g.yaml", "/tmp", &g, &d);

	ck_assert_msg(rc == 0, "load failed (%s):\n%s", td_errname(rc), dump(&d));
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(d.count, 0);
	td_diag_clear(&d);
	return g;
}

/* Loads text that must fail; returns the code, diagnostics in *d. */
static inline int load_bad(const char *yaml, struct td_diag *d)
{
	struct td_graph *g = (struct td_graph *)d; /* must be reset to NULL */
	int rc = td_graph_load_buffer(yaml, strlen(yaml), "g.yaml", "/tmp", &g, d);

	ck_assert_msg(rc < 0, "load of bad graph succeeded:\n%s", yaml);
	ck_assert_ptr_null(g);
	ck_assert_uint_gt(d->count, 0);
	ck_assert_int_eq(d->code, d->items[0].code);
	return rc;
}

/* One bad graph, one expected diagnostic, one code. */
static inline void expect_one(const char *yaml, int code, const char *want)
{
	struct td_diag d = {0};

	ck_assert_int_eq(load_bad(yaml, &d), code);
	ck_assert_diag(&d, want);
	td_diag_clear(&d);
}

static inline const struct td__tool *tool(const struct td_graph *g, const char *name)
{
	int i = td__graph_find(g, name);

	ck_assert_msg(i >= 0, "no tool %s", name);
	return &g->tools[i];
}

/* A graph with every kind of tool and most keys: loaded whole by the good tests, mutated and
 * loaded under failing allocations by the bad ones. */
static const char weather[] =
    "version: 1\n"
    "concurrency: 4\n"
    "defaults: {timeout: 10s, max_output: 64KiB}\n"
    "tools:\n"
    "  fetch_weather:\n"
    "    description: Current weather for a city\n"
    "    input_schema: {type: object, required: [city], properties: {city: {type: string}}}\n"
    "    run: [./tools/weather, --units, metric, 2]\n"
    "    timeout: 5s\n"
    "    env: {UNITS: metric, PORT: 8080}\n"
    "    inherit_env: true\n"
    "    cwd: work\n"
    "  lookup_pollen:\n"
    "    run: [./tools/pollen]\n"
    "    depends_on: [fetch_weather, fetch_weather]\n"
    "    concurrency: 2\n"
    "    retries: 3\n"
    "    backoff: 250ms\n"
    "    rate: 10/s\n"
    "    on_dependency_failure: run\n"
    "    stdin: envelope\n"
    "    cwd: /srv\n"
    "  fetch_inventory:\n"
    "    http:\n"
    "      url: http://127.0.0.1:8080/inventory\n"
    "      method: get\n"
    "      headers: {X-Key: abc, X-Num: 1}\n"
    "  post_it:\n"
    "    http: {url: \"https://example.com/x\"}\n"
    "  wait: {builtin: sleep}\n"
    "  say: {builtin: echo}\n"
    "  native: {function: my_fn, description: \"C function\"}\n"
    "calls:\n"
    "  - {id: c1, tool: fetch_weather, input: {city: Paris}}\n"
    "  - id: c2\n"
    "    tool: lookup_pollen\n"
    "    input: {city: Paris, days: 2}\n"
    "    depends_on: [c1]\n"
    "  - {id: 3, tool: wait}\n";

#endif /* TD_TEST_LOAD_H */

/* SPDX-License-Identifier: MIT */
/*
 * test_load.c - the YAML graph loader on good input: every field into struct td_graph,
 * defaults, anchors and merges, the graph's own calls, tools JSON in each dialect, and files
 * that are missing, directories, FIFOs, too large or empty. test_load_diag.c has the bad input.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load/graph.h"
#include "td_test_cpu.h"
#include "td_test_load.h"

/* ---- good graphs ---- */

START_TEST(every_field)
{
	struct td_graph *g = load_ok(weather);
	const struct td__tool *t;

	ck_assert_uint_eq(td_graph_concurrency(g), 4);
	ck_assert_uint_eq(td_graph_tool_count(g), 7);
	ck_assert_str_eq(td_graph_tool_name(g, 0), "fetch_weather");
	ck_assert_str_eq(td_graph_tool_name(g, 6), "native");
	ck_assert_ptr_null(td_graph_tool_name(g, 7));
	ck_assert_int_eq(td_graph_tool_find(g, "lookup_pollen"), 1);
	ck_assert_int_eq(td_graph_tool_find(g, "nope"), TD_ENOTFOUND);
	ck_assert_int_eq(td__graph_find(g, "nope"), -1);
	ck_assert_str_eq(g->name, "g.yaml");
	ck_assert_str_eq(g->dir, "/tmp");

	t = tool(g, "fetch_weather");
	ck_assert_str_eq(t->description, "Current weather for a city");
	ck_assert_uint_eq(t->line, 5);
	ck_assert_uint_eq(t->column, 3);
	ck_assert_int_eq(t->kind, TD_KIND_RUN);
	ck_assert_uint_eq(t->argc, 4);
	ck_assert_str_eq(t->argv[0], "./tools/weather");
	ck_assert_str_eq(t->argv[3], "2");
	ck_assert_ptr_null(t->argv[4]);
	ck_assert_int_eq(t->lim.timeout_us, 5000000);
	ck_assert_uint_eq(t->lim.max_output, 65536);
	ck_assert_uint_eq(t->lim.set, TD_LIM_TIMEOUT | TD_LIM_MAX_OUTPUT);
	ck_assert_uint_eq(t->nenv, 2);
	ck_assert_str_eq(t->env[0].key, "UNITS");
	ck_assert_str_eq(t->env[0].value, "metric");
	ck_assert_str_eq(t->env[1].value, "8080");
	ck_assert(t->inherit_env);
	ck_assert_str_eq(t->cwd, "/tmp/work");
	ck_assert_int_eq(t->stdin_mode, TD_STDIN_INPUT);
	ck_assert_uint_eq(t->ndeps, 0);
	ck_assert_ptr_nonnull(t->schema);
	ck_assert_str_eq(cJSON_GetObjectItem(t->schema, "type")->valuestring, "object");
	ck_assert_str_eq(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(t->schema, "required"), 0)->valuestring, "city");

	t = tool(g, "lookup_pollen");
	ck_assert_uint_eq(t->ndeps, 1); /* the repeated name counts once */
	ck_assert_uint_eq(t->deps[0], 0);
	ck_assert_uint_eq(t->lim.concurrency, 2);
	ck_assert_uint_eq(t->lim.retries, 3);
	ck_assert_int_eq(t->lim.backoff_us, 250000);
	ck_assert_uint_eq(t->lim.rate_count, 10);
	ck_assert_int_eq(t->lim.rate_period_us, 1000000);
	ck_assert_int_eq(t->lim.on_dependency_failure, TD_DEPFAIL_RUN);
	ck_assert_int_eq(t->lim.timeout_us, 10000000); /* from defaults */
	ck_assert_int_eq(t->stdin_mode, TD_STDIN_ENVELOPE);
	ck_assert_str_eq(t->cwd, "/srv");
	ck_assert_ptr_null(t->description);
	ck_assert_ptr_null(t->schema);
	ck_assert(!t->inherit_env);

	t = tool(g, "fetch_inventory");
	ck_assert_int_eq(t->kind, TD_KIND_HTTP);
	ck_assert_str_eq(t->http.url, "http://127.0.0.1:8080/inventory");
	ck_assert_str_eq(t->http.method, "GET");
	ck_assert_uint_eq(t->http.nheaders, 2);
	ck_assert_str_eq(t->http.headers[0].key, "X-Key");
	ck_assert_str_eq(t->http.headers[1].value, "1");
	ck_assert_ptr_null(t->cwd);
	ck_assert_str_eq(tool(g, "post_it")->http.method, "POST");
	ck_assert_int_eq(tool(g, "wait")->kind, TD_KIND_BUILTIN);
	ck_assert_int_eq(tool(g, "wait")->builtin, TD_BUILTIN_SLEEP);
	ck_assert_int_eq(tool(g, "say")->builtin, TD_BUILTIN_ECHO);
	ck_assert_int_eq(tool(g, "native")->kind, TD_KIND_FUNCTION);
	ck_assert_str_eq(tool(g, "native")->function, "my_fn");
	ck_assert_str_eq(tool(g, "native")->description, "C function");
	td_graph_free(g);

	g = load_ok("version: 1\ntools: {a: {builtin: echo, description: ''}}\n");
	ck_assert_str_eq(tool(g, "a")->description, "");
	td_graph_free(g);
}
END_TEST

START_TEST(calls_as_tool_use_blocks)
{
	struct td_graph *g = load_ok(weather);
	cJSON *c;
	char *s;

	ck_assert_int_eq(td_graph_has_calls(g), 1);
	ck_assert_uint_eq(g->calls_line, 33);
	ck_assert_int_eq(cJSON_GetArraySize(g->calls), 3);
	s = cJSON_PrintUnformatted(g->calls);
	ck_assert_str_eq(s, "[{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"fetch_weather\","
	                    "\"input\":{\"city\":\"Paris\"}},"
	                    "{\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"lookup_pollen\","
	                    "\"input\":{\"city\":\"Paris\",\"days\":2},\"depends_on\":[\"c1\"]},"
	                    "{\"type\":\"tool_use\",\"id\":\"3\",\"name\":\"wait\",\"input\":{}}]");
	free(s);
	c = cJSON_GetArrayItem(g->calls, 1);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "input"), "days")));
	td_graph_free(g);

	g = load_ok("version: 1\ntools: {a: {builtin: echo}}\n");
	ck_assert_int_eq(td_graph_has_calls(g), 0);
	ck_assert_ptr_null(g->calls);
	td_graph_free(g);
}
END_TEST

/* The graph's own calls are the file's text: what is wrong with one is said where it stands,
 * by the decoder (batch-level), the planner (a cycle) and td_batch_call_position (call-level). */
static void graph_batch(const char *yaml, int want, const char *diag_want)
{
	struct td_graph *g = load_ok(yaml);
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_diag d = {0};
	int r = td_batch_from_graph(g, &b, &d);

	if (r == 0)
		r = td_plan_new(b, &p, &d);
	ck_assert_int_eq(r, want);
	ck_assert_diag(&d, diag_want);
	td_diag_clear(&d);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
}

START_TEST(graph_call_positions)
{
	struct td_graph *g;
	struct td_batch *b = NULL;
	unsigned line = 0, col = 0;

	graph_batch("version: 1\ntools: {e: {builtin: echo}}\ncalls:\n  - {id: a, tool: e}\n"
	            "  - {id: b, tool: e}\n  -   id: a\n      tool: e\n",
	            TD_EBATCH, "g.yaml:6:7: duplicate call id 'a' (calls 1 and 3)");
	graph_batch("version: 1\ntools: {e: {builtin: echo}}\ncalls:\n  - {id: a, tool: e}\n"
	            "  - {id: b, tool: e, depends_on: [zz]}\n",
	            TD_EBATCH, "g.yaml:5:5: call 2 (b): depends_on names unknown call id 'zz'");
	graph_batch(
	    "version: 1\ntools: {e: {builtin: echo}}\ncalls:\n  - {id: a, tool: e}\n"
	    "  - {id: x, tool: e, depends_on: [y]}\n  - {id: y, tool: e, depends_on: [x]}\n",
	    TD_ECYCLE, "g.yaml:5:5: dependency cycle: x (e) -> y (e) -> x (e)");

	g = load_ok("version: 1\ntools: {e: {builtin: echo}}\ncalls:\n  - {id: a, tool: e}\n"
	            "  -\n    id: b\n    tool: f\n");
	ck_assert_int_eq(td_batch_from_graph(g, &b, NULL), 0);
	ck_assert_int_eq(td_batch_call_position(b, 0, &line, &col), 0);
	ck_assert_uint_eq(line, 4);
	ck_assert_uint_eq(col, 5);
	ck_assert_int_eq(td_batch_call_position(b, 1, &line, &col), 0);
	ck_assert_uint_eq(line, 6);
	ck_assert_uint_eq(col, 5);
	ck_assert_str_eq(td_batch_call_error(b, 1), "unknown tool 'f' (did you mean 'e'?)");
	ck_assert_int_eq(td_batch_call_position(b, 2, &line, &col), TD_ENOTFOUND);
	ck_assert_int_eq(td_batch_call_position(NULL, 0, &line, &col), TD_ENOTFOUND);
	/* calls added by hand to the graph's batch have no place in the file, and a cycle among
	 * them is reported without one */
	{
		struct td_plan *p = NULL;
		struct td_diag d = {0};
		char id[32];
		int i;

		for (i = 0; i < 40; i++) {
			snprintf(id, sizeof(id), "h%d", i);
			ck_assert_int_eq(td_batch_add(b, id, "e", NULL), i + 2);
		}
		ck_assert_int_eq(td_batch_call_position(b, 41, &line, &col), TD_ENOTFOUND);
		ck_assert_int_eq(td_batch_depend(b, 40, 41), 0);
		ck_assert_int_eq(td_batch_depend(b, 41, 40), 0);
		ck_assert_int_eq(td_plan_new(b, &p, &d), TD_ECYCLE);
		ck_assert_diag(&d, "g.yaml: dependency cycle: h38 (e) -> h39 (e) -> h38 (e)");
		td_diag_clear(&d);
	}
	td_batch_free(b);
	/* JSON input: no positions, but the cycle names the input */
	{
		static const char cyc[] =
		    "[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"e\",\"input\":{},"
		    "\"depends_on\":[\"x\"]}]";
		struct td_plan *p = NULL;
		struct td_diag d = {0};

		ck_assert_int_eq(
		    td_batch_decode(g, cyc, strlen(cyc), TD_DIALECT_AUTO, "c.json", &b, NULL), 0);
		ck_assert_int_eq(td_batch_call_position(b, 0, &line, &col), TD_ENOTFOUND);
		ck_assert_int_eq(td_plan_new(b, &p, &d), TD_ECYCLE);
		ck_assert_diag(&d, "c.json: dependency cycle: x (e) -> x (e)");
		td_diag_clear(&d);
		td_batch_free(b);
	}
	td_graph_free(g);
}
END_TEST

START_TEST(defaults_merged)
{
	struct td_graph *g;
	const struct td__tool *t;

	g = load_ok("version: 1\ntools: {a: {builtin: echo}}\n");
	t = tool(g, "a");
	ck_assert_uint_eq(td_graph_concurrency(g), TD_DEFAULT_CONCURRENCY);
	ck_assert_int_eq(t->lim.timeout_us, TD_DEFAULT_TIMEOUT_US);
	ck_assert_uint_eq(t->lim.max_output, TD_DEFAULT_MAX_OUTPUT);
	ck_assert_int_eq(t->lim.backoff_us, TD_DEFAULT_BACKOFF_US);
	ck_assert_uint_eq(t->lim.set, 0);
	ck_assert_uint_eq(t->lim.concurrency, 0);
	ck_assert_uint_eq(t->lim.rate_count, 0);
	ck_assert_uint_eq(t->lim.retries, 0);
	ck_assert_int_eq(t->lim.on_dependency_failure, TD_DEPFAIL_SKIP);
	td_graph_free(g);

	/* defaults may come after tools; a tool's own value wins */
	g = load_ok(
	    "version: 1\n"
	    "tools:\n"
	    "  a: {builtin: echo}\n"
	    "  b: {builtin: echo, retries: 0, timeout: 0, rate: 5/m}\n"
	    "defaults: {timeout: 1m, concurrency: 3, rate: 100/m, retries: 2, backoff: 1s,\n"
	    "           max_output: 1.5MiB, on_dependency_failure: run}\n");
	t = tool(g, "a");
	ck_assert_int_eq(t->lim.timeout_us, 60000000);
	ck_assert_uint_eq(t->lim.concurrency, 3);
	ck_assert_uint_eq(t->lim.rate_count, 100);
	ck_assert_int_eq(t->lim.rate_period_us, 60000000);
	ck_assert_uint_eq(t->lim.retries, 2);
	ck_assert_int_eq(t->lim.backoff_us, 1000000);
	ck_assert_uint_eq(t->lim.max_output, 1572864);
	ck_assert_int_eq(t->lim.on_dependency_failure, TD_DEPFAIL_RUN);
	ck_assert_uint_eq(t->lim.set, 0x7f);
	t = tool(g, "b");
	ck_assert_uint_eq(t->lim.retries, 0);
	ck_assert_int_eq(t->lim.timeout_us, 0);
	ck_assert_uint_eq(t->lim.rate_count, 5);
	ck_assert_uint_eq(t->lim.concurrency, 3);
	td_graph_free(g);
}
END_TEST

START_TEST(scalar_types)
{
	struct td_graph *g = load_ok(
	    "version: 1\n"
	    "tools:\n"
	    "  a:\n"
	    "    builtin: echo\n"
	    "    input_schema:\n"
	    "      type: object\n"
	    "      enum: [1, \"1\", true, False, null, ~, '', 1.5, -2, 0x10, 0o17, 1e3, yes, on,"
	    " .inf, 012, !!str 5, 'true', \"null\"]\n"
	    "      x: null\n"
	    "      y: ''\n"
	    "      multi: |\n"
	    "        line one\n"
	    "        line two\n");
	const cJSON *e = cJSON_GetObjectItem(tool(g, "a")->schema, "enum");
	char *s = cJSON_PrintUnformatted(e);

	ck_assert_str_eq(s, "[1,\"1\",true,false,null,null,\"\",1.5,-2,16,15,1000,\"yes\",\"on\","
	                    "\".inf\",12,\"5\",\"true\",\"null\"]");
	free(s);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(tool(g, "a")->schema, "x")));
	ck_assert_str_eq(cJSON_GetObjectItem(tool(g, "a")->schema, "y")->valuestring, "");
	ck_assert_str_eq(cJSON_GetObjectItem(tool(g, "a")->schema, "multi")->valuestring,
	                 "line one\nline two\n");
	td_graph_free(g);
}
END_TEST

/*
 * Schemas are built from a pool, not cJSON's allocator: they must read like cJSON's own trees
 * (sizes, the first child's prev as the last, keys and strings borrowed, numbers with a
 * saturated valueint) and copy into ordinary trees that can be changed and deleted.
 */
START_TEST(pooled_schema_items)
{
	struct td_graph *g = load_ok("version: 1\n"
	                             "x-obj: &obj {type: object, properties: {a: {type: string}}}\n"
	                             "tools:\n"
	                             "  a:\n"
	                             "    builtin: echo\n"
	                             "    input_schema:\n"
	                             "      type: object\n"
	                             "      enum: [1e12, -1e12, 7, x, [1, [2]], {k: v}]\n"
	                             "      nested: *obj\n");
	const cJSON *sch = tool(g, "a")->schema, *e = cJSON_GetObjectItem(sch, "enum"), *it;
	cJSON *ref = cJSON_CreateNumber(1e12), *dup;
	char *s;

	ck_assert_int_eq(cJSON_GetArraySize(e), 6);
	ck_assert_ptr_eq(e->child->prev, cJSON_GetArrayItem(e, 5));
	ck_assert_ptr_eq(cJSON_GetArrayItem(e, 1)->prev, e->child);
	ck_assert_ptr_null(cJSON_GetArrayItem(e, 5)->next);
	ck_assert_int_eq(cJSON_GetArrayItem(e, 0)->valueint, ref->valueint);
	ck_assert_int_eq(cJSON_GetArrayItem(e, 1)->valueint, INT_MIN);
	ck_assert_int_eq(cJSON_GetArrayItem(e, 2)->valueint, 7);
	cJSON_Delete(ref);
	it = cJSON_GetArrayItem(e, 3);
	ck_assert(cJSON_IsString(it) && (it->type & cJSON_IsReference));
	ck_assert(e->type & cJSON_StringIsConst);
	s = cJSON_PrintUnformatted(sch);
	ck_assert_str_eq(s, "{\"type\":\"object\",\"enum\":[1000000000000,-1000000000000,7,\"x\","
	                    "[1,[2]],{\"k\":\"v\"}],\"nested\":{\"type\":\"object\",\"properties\":"
	                    "{\"a\":{\"type\":\"string\"}}}}");
	free(s);
	dup = cJSON_Duplicate(sch, 1);
	ck_assert(cJSON_Compare(dup, sch, 1));
	cJSON_AddItemToArray(cJSON_GetObjectItem(dup, "enum"), cJSON_CreateNull());
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(dup, "enum")), 7);
	ck_assert_int_eq(cJSON_GetArraySize(e), 6);
	cJSON_Delete(dup);
	td_graph_free(g);
}
END_TEST

/*
 * A document of a megabyte or more takes the big-document paths: one block for the scalars'
 * text (huge pages), a kids array rounded up, one pool chunk for every schema, and a file
 * buffer rounded up. Escapes that make a scalar longer than its source (\L: 2 bytes -> 3)
 * overflow the text block and go to the arena instead.
 */
START_TEST(big_document)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	size_t n = 6000, esc = 3u << 20, i, len = 0, cap = 64 + n * 200 + esc * 2 + 64;
	char *y = malloc(cap), path[] = "/tmp/td-big-XXXXXX", *s;
	int fd;

	len += (size_t)snprintf(y + len, cap - len, "version: 1\ntools:\n");
	for (i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(y + len, cap - len,
		                     "  t%zu:\n    builtin: echo\n    input_schema: {type: object, "
		                     "required: [q], properties: {q: {type: string}}}\n",
		                     i);
	len += (size_t)snprintf(y + len, cap - len,
	                        "  long:\n    builtin: echo\n"
	                        "    description: \"");
	for (i = 0; i < esc; i++, len += 2)
		memcpy(y + len, "\\L", 2);
	len += (size_t)snprintf(y + len, cap - len, "\"\n");
	ck_assert_uint_gt(len, 4u << 20);
	ck_assert_int_eq(td_graph_load_buffer(y, len, "big.yaml", "/tmp", &g, &d), 0);
	ck_assert_uint_eq(g->ntools, n + 1);
	ck_assert_uint_eq(strlen(tool(g, "long")->description), esc * 3);
	s = cJSON_PrintUnformatted(tool(g, "t5999")->schema);
	ck_assert_str_eq(s, "{\"type\":\"object\",\"required\":[\"q\"],\"properties\":"
	                    "{\"q\":{\"type\":\"string\"}}}");
	free(s);
	td_graph_free(g);
	g = NULL;
	/* the same from a file: the read buffer is rounded up too */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, y, len), (ssize_t)len);
	close(fd);
	ck_assert_int_eq(td_graph_load_file(path, &g, &d), 0);
	ck_assert_uint_eq(g->ntools, n + 1);
	ck_assert_str_eq(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(tool(g, "t17")->schema, "required"), 0)
	        ->valuestring,
	    "q");
	unlink(path);
	td_graph_free(g);
	free(y);
}
END_TEST

START_TEST(anchors_and_merges)
{
	struct td_graph *g =
	    load_ok("version: 1\n"
	            "x-limits: &fast {timeout: 2s, retries: 1}\n"
	            "x-schema: &city {type: object, properties: {city: {type: string}}}\n"
	            "x-argv: &argv [./tool, --flag]\n"
	            "tools:\n"
	            "  a:\n"
	            "    <<: *fast\n"
	            "    run: *argv\n"
	            "    input_schema: *city\n"
	            "  b:\n"
	            "    <<: [*fast, {concurrency: 7, retries: 9}]\n"
	            "    retries: 4\n"
	            "    builtin: echo\n"
	            "    input_schema: *city\n");
	const struct td__tool *a = tool(g, "a"), *b = tool(g, "b");
	char *s1, *s2;

	ck_assert_int_eq(a->lim.timeout_us, 2000000);
	ck_assert_uint_eq(a->lim.retries, 1);
	ck_assert_uint_eq(a->argc, 2);
	ck_assert_str_eq(a->argv[1], "--flag");
	ck_assert_int_eq(b->lim.timeout_us, 2000000);
	ck_assert_uint_eq(b->lim.retries, 4); /* explicit key beats every merge */
	ck_assert_uint_eq(b->lim.concurrency, 7);
	s1 = cJSON_PrintUnformatted(a->schema);
	s2 = cJSON_PrintUnformatted(b->schema);
	ck_assert_str_eq(s1,
	                 "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
	ck_assert_str_eq(s1, s2);
	free(s1);
	free(s2);
	td_graph_free(g);
}
END_TEST

/* n tools, each depending on the next one declared; the last on t0 when closed. */
static char *chain_yaml(size_t n, bool closed)
{
	size_t cap = n * 64 + 64, off = 0, i;
	char *y = malloc(cap);

	ck_assert_ptr_nonnull(y);
	off += (size_t)snprintf(y + off, cap - off, "version: 1\ntools:\n");
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			off += (size_t)snprintf(y + off, cap - off,
			                        "  t%zu: {builtin: echo, depends_on: [t%zu]}\n", i,
			                        i + 1);
		else if (closed)
			off += (size_t)snprintf(y + off, cap - off,
			                        "  t%zu: {builtin: echo, depends_on: [t0]}\n", i);
		else
			off += (size_t)snprintf(y + off, cap - off, "  t%zu: {builtin: echo}\n", i);
	}
	return y;
}

START_TEST(forward_and_chain_dependencies)
{
	/* 10,000 tools in a chain, each naming one declared further down: no recursion limit */
	char *yaml = chain_yaml(10000, false);
	struct td_diag d = {0};
	struct td_graph *g;
	const char *m;
	int64_t t0 = cpu_us();

	g = load_ok(yaml);
	ck_assert_msg(cpu_us() - t0 < 2000000, "10,000 tools took %lld us of CPU",
	              (long long)(cpu_us() - t0));
	ck_assert_uint_eq(td_graph_tool_count(g), 10000);
	ck_assert_uint_eq(tool(g, "t0")->deps[0], 1);
	ck_assert_uint_eq(tool(g, "t9998")->deps[0], 9999);
	ck_assert_uint_eq(tool(g, "t9999")->ndeps, 0);
	td_graph_free(g);
	free(yaml);

	/* the same chain closed into one 10,000-tool cycle */
	yaml = chain_yaml(10000, true);
	ck_assert_int_eq(load_bad(yaml, &d), TD_ECYCLE);
	ck_assert_uint_eq(d.count, 1);
	m = d.items[0].message;
	ck_assert(strncmp(m, "dependency cycle: t0 -> t1 -> t2 -> ", 36) == 0);
	ck_assert_str_eq(m + strlen(m) - 20, "t9998 -> t9999 -> t0");
	ck_assert_uint_eq(d.items[0].line, 3);
	ck_assert_uint_eq(d.items[0].column, 36);
	td_diag_clear(&d);
	free(yaml);
}
END_TEST

/* ---- tools JSON ---- */

START_TEST(tools_json_dialects)
{
	struct td_graph *g = load_ok(weather);
	cJSON *arr, *e, *fn;
	char *s;

	ck_assert_int_eq(td_graph_tools_json(g, TD_DIALECT_ANTHROPIC, 0, &s), 0);
	arr = cJSON_Parse(s);
	free(s);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 7);
	e = cJSON_GetArrayItem(arr, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "name")->valuestring, "fetch_weather");
	ck_assert_str_eq(cJSON_GetObjectItem(e, "description")->valuestring,
	                 "Current weather for a city");
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "input_schema"), "type")->valuestring,
	    "object");
	e = cJSON_GetArrayItem(arr, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "description")->valuestring, "");
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, "input_schema"));
	ck_assert_str_eq(s, "{\"type\":\"object\",\"properties\":{}}");
	free(s);
	ck_assert_ptr_null(cJSON_GetObjectItem(e, "type"));
	cJSON_Delete(arr);

	ck_assert_int_eq(td_graph_tools_json(g, TD_DIALECT_OPENAI, 1, &s), 0);
	ck_assert_ptr_nonnull(strchr(s, '\n')); /* pretty */
	arr = cJSON_Parse(s);
	free(s);
	e = cJSON_GetArrayItem(arr, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "type")->valuestring, "function");
	fn = cJSON_GetObjectItem(e, "function");
	ck_assert_str_eq(cJSON_GetObjectItem(fn, "name")->valuestring, "fetch_weather");
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(fn, "description"));
	ck_assert_str_eq(
	    cJSON_GetArrayItem(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(fn, "parameters"), "required"), 0)
	        ->valuestring,
	    "city");
	cJSON_Delete(arr);

	ck_assert_int_eq(td_graph_tools_json(g, TD_DIALECT_RESPONSES, 0, &s), 0);
	ck_assert_ptr_null(strchr(s, '\n'));
	arr = cJSON_Parse(s);
	free(s);
	e = cJSON_GetArrayItem(arr, 6);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "type")->valuestring, "function");
	ck_assert_str_eq(cJSON_GetObjectItem(e, "name")->valuestring, "native");
	ck_assert_str_eq(cJSON_GetObjectItem(e, "description")->valuestring, "C function");
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(e, "parameters")));
	ck_assert_ptr_null(cJSON_GetObjectItem(e, "function"));
	cJSON_Delete(arr);

	/* AUTO means Anthropic */
	ck_assert_int_eq(td_graph_tools_json(g, TD_DIALECT_AUTO, 0, &s), 0);
	ck_assert_ptr_nonnull(strstr(s, "\"input_schema\""));
	free(s);
	ck_assert_int_eq(td_graph_tools_json(g, (enum td_dialect)9, 0, &s), TD_EINVAL);
	ck_assert_int_eq(td_graph_tools_json(NULL, TD_DIALECT_AUTO, 0, &s), TD_EINVAL);
	td_graph_free(g);

	g = load_ok("version: 1\ntools: {}\n");
	ck_assert_int_eq(td_graph_tools_json(g, TD_DIALECT_OPENAI, 0, &s), 0);
	ck_assert_str_eq(s, "[]");
	free(s);
	td_graph_free(g);
}
END_TEST

START_TEST(dialect_names)
{
	enum td_dialect d = TD_DIALECT_AUTO;

	ck_assert_str_eq(td_dialect_name(TD_DIALECT_ANTHROPIC), "anthropic");
	ck_assert_str_eq(td_dialect_name(TD_DIALECT_OPENAI), "openai");
	ck_assert_str_eq(td_dialect_name(TD_DIALECT_RESPONSES), "responses");
	ck_assert_str_eq(td_dialect_name(TD_DIALECT_AUTO), "auto");
	ck_assert_str_eq(td_dialect_name((enum td_dialect)42), "unknown");
	ck_assert_int_eq(td_dialect_parse("responses", &d), 0);
	ck_assert_int_eq(d, TD_DIALECT_RESPONSES);
	ck_assert_int_eq(td_dialect_parse("openai", &d), 0);
	ck_assert_int_eq(d, TD_DIALECT_OPENAI);
	ck_assert_int_eq(td_dialect_parse("OpenAI", &d), TD_EINVAL);
	ck_assert_int_eq(td_dialect_parse("", &d), TD_EINVAL);
	ck_assert_int_eq(td_dialect_parse(NULL, &d), TD_EINVAL);
	ck_assert_int_eq(d, TD_DIALECT_OPENAI);
}
END_TEST

/* ---- files ---- */

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
	char tmpl[] = "/tmp/td_load_XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(realpath(tmpl, tmpdir));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void expect_file(const char *path, int code, const char *message)
{
	struct td_diag d = {0};
	struct td_graph *g = (struct td_graph *)&d;

	ck_assert_int_eq(td_graph_load_file(path, &g, &d), code);
	ck_assert_ptr_null(g);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_str_eq(d.items[0].file, path);
	ck_assert_str_eq(d.items[0].message, message);
	ck_assert_uint_eq(d.items[0].line, 0);
	td_diag_clear(&d);
}

START_TEST(file_good)
{
	char path[PATH_MAX + 32], sub[PATH_MAX + 32], cwd[PATH_MAX], want[PATH_MAX * 2];
	struct td_graph *g = NULL;
	struct td_diag d = {0};

	make_tmpdir();
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/sub/g.yaml", tmpdir);
	write_file(path, "version: 1\ntools: {a: {run: [./a], cwd: work}}\n");
	ck_assert_int_eq(td_graph_load_file(path, &g, &d), 0);
	ck_assert_str_eq(g->dir, sub);
	snprintf(want, sizeof(want), "%s/work", sub);
	ck_assert_str_eq(g->tools[0].cwd, want);
	ck_assert_str_eq(g->name, path);
	td_graph_free(g);

	/* a relative path resolves against the current directory */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	ck_assert_int_eq(td_graph_load_file("sub/g.yaml", &g, &d), 0);
	ck_assert_str_eq(g->dir, sub);
	ck_assert_str_eq(g->name, "sub/g.yaml");
	td_graph_free(g);
	ck_assert_int_eq(chdir(sub), 0);
	ck_assert_int_eq(td_graph_load_file("g.yaml", &g, &d), 0);
	ck_assert_str_eq(g->dir, sub);
	td_graph_free(g);
	ck_assert_int_eq(chdir(cwd), 0);

	/* a syntax error names the file */
	write_file(path, "version: 1\ntools: {\n");
	ck_assert_int_eq(td_graph_load_file(path, &g, &d), TD_ESYNTAX);
	ck_assert_str_eq(d.items[0].file, path);
	ck_assert_uint_eq(d.items[0].line, 3);
	td_diag_clear(&d);
}
END_TEST

START_TEST(file_bad)
{
	char path[PATH_MAX + 32];
	int fd;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	expect_file(path, -ENOENT, "cannot open graph file: No such file or directory");
	expect_file(tmpdir, TD_EINVAL, "is a directory, not a graph file");

	snprintf(path, sizeof(path), "%s/fifo.yaml", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	expect_file(path, TD_EINVAL,
	            "not a regular file (a FIFO, device or socket): give a graph file");
	expect_file("/dev/zero", TD_EINVAL,
	            "not a regular file (a FIFO, device or socket): give a graph file");

	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 100 * 1000 * 1000), 0); /* sparse: no disk used */
	close(fd);
	expect_file(path, TD_ETOOBIG, "graph file too large: 100000000 bytes, the limit is 16 MiB");

	snprintf(path, sizeof(path), "%s/empty.yaml", tmpdir);
	write_file(path, "");
	expect_file(path, TD_EGRAPH, "empty graph file: expected 'version: 1' and 'tools:'");

	snprintf(path, sizeof(path), "%s/secret.yaml", tmpdir);
	write_file(path, "version: 1\n");
	ck_assert_int_eq(chmod(path, 0), 0);
	if (geteuid() != 0)
		expect_file(path, -EACCES, "cannot open graph file: Permission denied");
}
END_TEST

static Suite *load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("good");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_field);
	tcase_add_test(tc, calls_as_tool_use_blocks);
	tcase_add_test(tc, graph_call_positions);
	tcase_add_test(tc, defaults_merged);
	tcase_add_test(tc, scalar_types);
	tcase_add_test(tc, pooled_schema_items);
	tcase_add_test(tc, big_document);
	tcase_add_test(tc, anchors_and_merges);
	tcase_add_test(tc, forward_and_chain_dependencies);
	tcase_add_test(tc, tools_json_dialects);
	tcase_add_test(tc, dialect_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, file_good);
	tcase_add_test(tc, file_bad);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(load_suite());
}

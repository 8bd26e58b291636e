/* SPDX-License-Identifier: MIT */
/*
 * test_load.c - the YAML graph loader: every field into struct td_graph, defaults, anchors and
 * merges, bounded alias expansion, every class of diagnostic with its exact message and
 * position, several problems in one pass, cycles, tools JSON in each dialect, and files that
 * are missing, directories, FIFOs, too large or empty.
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

#include "schema/schema.h"
#include "load/graph.h"
#include "td_test_cpu.h"

/* ---- helpers ---- */

static char dump_buf[16384];

/* All items, one per line, for failure messages. */
static const char *dump(const struct td_diag *d)
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

static bool has_diag(const struct td_diag *d, const char *want)
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

static struct td_graph *load_ok(const char *yaml)
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
static int load_bad(const char *yaml, struct td_diag *d)
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
static void expect_one(const char *yaml, int code, const char *want)
{
	struct td_diag d = {0};

	ck_assert_int_eq(load_bad(yaml, &d), code);
	ck_assert_diag(&d, want);
	td_diag_clear(&d);
}

static const struct td__tool *tool(const struct td_graph *g, const char *name)
{
	int i = td__graph_find(g, name);

	ck_assert_msg(i >= 0, "no tool %s", name);
	return &g->tools[i];
}

/* ---- good graphs ---- */

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

/* ---- bounded alias expansion ---- */

static const char laughs[] = "version: 1\n"
                             "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                             "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                             "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                             "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                             "x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                             "x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                             "x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                             "x-h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                             "x-i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
                             "tools:\n"
                             "  bomb:\n"
                             "    builtin: echo\n"
                             "    input_schema: {type: object, default: *i}\n"
                             "calls:\n"
                             "  - {id: c1, tool: bomb, input: {x: *i}}\n";

START_TEST(billion_laughs)
{
	struct td_diag d = {0};
	int64_t t0 = cpu_us();

	ck_assert_int_eq(load_bad(laughs, &d), TD_EGRAPH);
	ck_assert_msg(cpu_us() - t0 < 3000000, "took %lld us of CPU", (long long)(cpu_us() - t0));
	/* reported once, where the expanded value is written; the calls' input stops at once */
	ck_assert_uint_eq(d.count, 1);
	ck_assert_diag(&d, "g.yaml:14:19: alias expansion too large");
	td_diag_clear(&d);

	/* small expansions are fine */
	td_graph_free(
	    load_ok("version: 1\n"
	            "x-a: &a [1, 2, 3]\n"
	            "x-b: &b [*a, *a, *a]\n"
	            "tools: {t: {builtin: echo, input_schema: {type: object, default: *b}}}\n"));
}
END_TEST

START_TEST(alias_depth_and_nesting)
{
	struct td_diag d = {0};
	char *yaml = malloc(700 * 40), *p = yaml;
	int i;

	/* a chain of 600 anchors, each one list deeper: expansion depth, not size */
	p += sprintf(p, "version: 1\nx-0: &a0 [x]\n");
	for (i = 1; i < 600; i++)
		p += sprintf(p, "x-%d: &a%d [*a%d]\n", i, i, i - 1);
	sprintf(p, "tools: {t: {builtin: echo, input_schema: {default: *a599}}}\n");
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_str_eq(d.items[0].message, "alias expansion too large");
	td_diag_clear(&d);

	/* nesting as written */
	p = yaml;
	p += sprintf(p, "version: 1\nx: ");
	for (i = 0; i < 300; i++)
		*p++ = '[';
	for (i = 0; i < 300; i++)
		*p++ = ']';
	strcpy(p, "\n");
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_diag(&d, "g.yaml:2:259: nesting deeper than 256 levels");
	td_diag_clear(&d);
	free(yaml);
}
END_TEST

START_TEST(unknown_alias_no_cascade)
{
	struct td_diag d = {0};

	/* the stand-in null must not add "'input_schema' must be a mapping, got nothing" */
	ck_assert_int_eq(
	    load_bad("version: 1\n"
	             "tools: {a: {builtin: echo, input_schema: *nope, timeout: *nope}}\n",
	             &d),
	    TD_EGRAPH);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_diag(&d, "g.yaml:2:42: unknown alias '*nope' (an alias must follow its complete "
	                   "&nope node)");
	td_diag_clear(&d);
}
END_TEST

START_TEST(merge_explosion)
{
	struct td_diag d = {0};
	size_t cap = 3000 * 64, off = 0;
	char *yaml = malloc(cap);
	int i;

	/* each mapping merges the previous one and adds a key: quadratic pairs, refused */
	off += (size_t)snprintf(yaml + off, cap - off, "version: 1\nx-0: &m0 {k0: 0}\n");
	for (i = 1; i < 3000; i++)
		off += (size_t)snprintf(yaml + off, cap - off, "x-%d: &m%d {<<: *m%d, k%d: 0}\n", i,
		                        i, i - 1, i);
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_str_eq(d.items[0].message, "alias expansion too large");
	td_diag_clear(&d);
	free(yaml);
}
END_TEST

/* ---- diagnostics, one class at a time ---- */

static const struct bad_case {
	const char *yaml;
	int code;
	const char *want;
} bad_cases[] = {
    /* YAML syntax */
    {"version: 1\ntools:\n  a: {run: [x]\n", TD_ESYNTAX,
     "g.yaml:4:1: did not find expected ',' or '}' (while parsing a flow mapping started at "
     "3:6)"},
    {"version: 1\ntools:\n  a: [x\n  b: 1\n", TD_ESYNTAX,
     "g.yaml:4:4: did not find expected ',' or ']' (while parsing a flow sequence started at 3:6)"},
    {"version: 1\n\ttools:\n", TD_ESYNTAX,
     "g.yaml:2:1: found a tab character that violates indentation (while scanning a plain scalar "
     "started at 1:10)"},
    {"version: 1\ntools:\n  a: {run: [x\x01]}\n", TD_ESYNTAX,
     "g.yaml:3:14: control characters are not allowed (byte 0x01)"},
    {"version: 1\ntools:\n  a: {description: \"caf\xc3\xa9 \xff\", builtin: echo}\n", TD_ESYNTAX,
     "g.yaml:3:26: invalid UTF-8 (byte 0xff)"},
    {"version: 1\ntools:\n  a: {description: x\xed\xa0\x80}\n", TD_ESYNTAX,
     "g.yaml:3:21: invalid UTF-8 (byte 0xed)"},
    /* "\0" in a double-quoted scalar would cut every C string made of it */
    {"version: 1\ntools:\n  a: {run: [\"/bin/echo\\0x\"]}\n", TD_EGRAPH,
     "g.yaml:3:13: a NUL character (\\0) in a value: graph files cannot hold NUL"},
    {"version: 1\ntools: {a: {builtin: echo}}\ncalls:\n  - {id: \"c\\0d\", tool: a}\n", TD_EGRAPH,
     "g.yaml:4:10: a NUL character (\\0) in a value: graph files cannot hold NUL"},
    /* document shape */
    {"", TD_EGRAPH, "g.yaml: empty graph file: expected 'version: 1' and 'tools:'"},
    {"# nothing\n\n", TD_EGRAPH, "g.yaml: empty graph file: expected 'version: 1' and 'tools:'"},
    {"---\n", TD_EGRAPH, "g.yaml: empty graph file: expected 'version: 1' and 'tools:'"},
    {"- version: 1\n", TD_EGRAPH,
     "g.yaml:1:1: a graph file must be a mapping with 'version: 1' and 'tools:', got a list"},
    {"hello\n", TD_EGRAPH,
     "g.yaml:1:1: a graph file must be a mapping with 'version: 1' and 'tools:', got a plain "
     "value"},
    {"version: 1\ntools: {}\n---\nversion: 1\n", TD_EGRAPH,
     "g.yaml:3:1: a graph file holds one YAML document; a second one starts here"},
    {"tools: {a: {builtin: echo}}\n", TD_EGRAPH,
     "g.yaml:1:1: missing 'version: 1' at the top of the graph file"},
    {"version: 2\ntools: {}\n", TD_EGRAPH,
     "g.yaml:1:10: unsupported version '2': this tooldag reads version 1"},
    {"version: 1\n", TD_EGRAPH,
     "g.yaml:1:1: missing 'tools': a mapping of tool names to declarations"},
    {"version: 1\ntools: [a, b]\n", TD_EGRAPH,
     "g.yaml:2:8: 'tools' must be a mapping of tool names to declarations, got a list"},
    {"version: 1\ntool: {}\n", TD_EGRAPH,
     "g.yaml:2:1: unknown key 'tool' at the top level (did you mean 'tools'?)"},
    {"version: 1\nconcurrency: 0\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:14: 'concurrency' must be a whole number from 1 to 1000000, got '0'"},
    {"version: 1\nconcurrency: many\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:14: 'concurrency' must be a whole number from 1 to 1000000, got 'many'"},
    /* duplicates */
    {"version: 1\ntools:\n  a: {builtin: echo}\n  a: {builtin: sleep}\n", TD_EGRAPH,
     "g.yaml:4:3: duplicate tool 'a' (first declared at 3:3)"},
    {"version: 1\ntools:\n  a:\n    builtin: echo\n    timeout: 1s\n    timeout: 2s\n", TD_EGRAPH,
     "g.yaml:6:5: duplicate key 'timeout' (first at 5:5)"},
    {"version: 1\nversion: 1\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:1: duplicate key 'version' (first at 1:1)"},
    {"version: 1\ntools:\n  a:\n    builtin: echo\n    input_schema: {type: object, type: "
     "string}\n",
     TD_EGRAPH, "g.yaml:5:34: duplicate key 'type' (first at 5:20)"},
    {"version: 1\ntools: {a: {builtin: echo}}\n? [x]\n: 1\n", TD_EGRAPH,
     "g.yaml:3:3: a mapping key must be a plain value, got a list"},
    {"version: 1\ntools: {a: {builtin: echo, <<: 5}}\n", TD_EGRAPH,
     "g.yaml:2:28: '<<' must merge a mapping or a list of mappings"},
    {"version: 1\ntools: {a: {builtin: echo, input_schema: *nope}}\n", TD_EGRAPH,
     "g.yaml:2:42: unknown alias '*nope' (an alias must follow its complete &nope node)"},
    {"version: 1\ntools: {a: {builtin: echo, input_schema: *nope, timeout: *nope}}\n", TD_EGRAPH,
     "g.yaml:2:58: unknown alias '*nope' (an alias must follow its complete &nope node)"},
    {"version: 1\nx: &self [*self]\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:11: unknown alias '*self' (an alias must follow its complete &self node)"},
    /* tool names and kinds */
    {"version: 1\ntools:\n  \"a\\nb\": {builtin: echo}\n", TD_EGRAPH,
     "g.yaml:3:3: invalid tool name 'a b': use 1 to 64 letters, digits, '_' or '-'"},
    {"version: 1\ntools:\n  a:\n    builtin: echo\n    timeout: |\n      5s\n      10s\n",
     TD_EGRAPH, "g.yaml:5:14: 'timeout' must be a duration like 250ms, 5s or 2m, got '5s...'"},
    {"version: 1\ntools:\n  a: {builtin: echo, timeout: "
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
     "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9}\n",
     TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got "
     "'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
     "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...'"},
    {"version: 1\ntools:\n  bad name: {builtin: echo}\n", TD_EGRAPH,
     "g.yaml:3:3: invalid tool name 'bad name': use 1 to 64 letters, digits, '_' or '-'"},
    {"version: 1\ntools:\n  "
     "a12345678901234567890123456789012345678901234567890123456789012345: {builtin: echo}\n",
     TD_EGRAPH,
     "g.yaml:3:3: invalid tool name "
     "'a12345678901234567890123456789012345678901234567890123456789012345': use 1 to 64 "
     "letters, digits, '_' or '-'"},
    {"version: 1\ntools:\n  a:\n    description: nothing to run\n", TD_EGRAPH,
     "g.yaml:3:3: tool 'a' has no kind: give one of run, http, builtin or function"},
    {"version: 1\ntools:\n  a:\n    run: [x]\n    http: {url: http://h/}\n", TD_EGRAPH,
     "g.yaml:5:5: tool 'a' has two kinds, 'run' and 'http': give exactly one"},
    {"version: 1\ntools:\n  a:\n", TD_EGRAPH,
     "g.yaml:3:5: tool 'a' must be a mapping with a kind (run, http, builtin or function), got "
     "nothing"},
    {"version: 1\ntools:\n  a: echo\n", TD_EGRAPH,
     "g.yaml:3:6: tool 'a' must be a mapping with a kind (run, http, builtin or function), "
     "got 'echo'"},
    {"version: 1\ntools:\n  a: {run: ./tool --flag}\n", TD_EGRAPH,
     "g.yaml:3:12: 'run' must be a non-empty list: the program and its arguments, like "
     "[./tools/weather, --units, metric] (no shell), got './tool --flag'"},
    {"version: 1\ntools:\n  a: {run: []}\n", TD_EGRAPH,
     "g.yaml:3:12: 'run' must be a non-empty list: the program and its arguments, like "
     "[./tools/weather, --units, metric] (no shell), got a list"},
    {"version: 1\ntools:\n  a: {run: [x, {y: 1}]}\n", TD_EGRAPH,
     "g.yaml:3:16: 'run' must be a list of strings, got a mapping"},
    {"version: 1\ntools:\n  a: {builtin: slep}\n", TD_EGRAPH,
     "g.yaml:3:16: 'builtin' must be sleep or echo, got 'slep'"},
    {"version: 1\ntools:\n  a: {function: [f]}\n", TD_EGRAPH,
     "g.yaml:3:17: 'function' must be the name a C function is registered under, got a list"},
    {"version: 1\ntools:\n  a: {http: {method: GET}}\n", TD_EGRAPH,
     "g.yaml:3:7: http of tool 'a' needs a 'url'"},
    {"version: 1\ntools:\n  a: {http: http://x/}\n", TD_EGRAPH,
     "g.yaml:3:13: 'http' must be a mapping like {url: \"http://host/path\", method: POST}, "
     "got 'http://x/'"},
    {"version: 1\ntools:\n  a: {http: {url: ftp://x/}}\n", TD_EGRAPH,
     "g.yaml:3:19: 'url' must be a URL starting with http:// or https://, got 'ftp://x/'"},
    {"version: 1\ntools:\n  a: {http: {url: http://x/, method: FETCH}}\n", TD_EGRAPH,
     "g.yaml:3:38: 'method' must be one of GET, POST, PUT, PATCH, DELETE, got 'FETCH'"},
    {"version: 1\ntools:\n  a: {http: {url: http://x/, header: {}}}\n", TD_EGRAPH,
     "g.yaml:3:30: unknown key 'header' in http of tool 'a' (did you mean 'headers'?)"},
    {"version: 1\ntools:\n  a: {http: {url: http://x/, headers: [a]}}\n", TD_EGRAPH,
     "g.yaml:3:39: 'headers' must be a mapping of header names to values, got a list"},
    /* unknown keys */
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    timout: 5s\n", TD_EGRAPH,
     "g.yaml:5:5: unknown key 'timout' in tool 'x' (did you mean 'timeout'?)"},
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    colour: red\n", TD_EGRAPH,
     "g.yaml:5:5: unknown key 'colour' in tool 'x'"},
    {"version: 1\ndefaults: {retrys: 1}\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:12: unknown key 'retrys' in defaults (did you mean 'retries'?)"},
    {"version: 1\ndefaults: {run: [x]}\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:12: unknown key 'run' in defaults"},
    {"version: 1\ndefaults: 5s\ntools: {}\n", TD_EGRAPH,
     "g.yaml:2:11: 'defaults' must be a mapping of limits, got '5s'"},
    /* values */
    {"version: 1\ntools:\n  x: {builtin: echo, timeout: fast}\n", TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got 'fast'"},
    {"version: 1\ntools:\n  x: {builtin: echo, timeout: -1s}\n", TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got '-1s'"},
    {"version: 1\ntools:\n  x: {builtin: echo, backoff: [1s]}\n", TD_EGRAPH,
     "g.yaml:3:31: 'backoff' must be a duration like 250ms, 5s or 2m, got a list"},
    {"version: 1\ntools:\n  x: {builtin: echo, timeout: 999999999h}\n", TD_EGRAPH,
     "g.yaml:3:31: 'timeout' must be a duration like 250ms, 5s or 2m, got '999999999h'"},
    {"version: 1\ntools:\n  x: {builtin: echo, rate: 10/fortnight}\n", TD_EGRAPH,
     "g.yaml:3:28: 'rate' must be a rate like 10/s, 100/m or 3/250ms, got '10/fortnight'"},
    {"version: 1\ntools:\n  x: {builtin: echo, max_output: 1TB}\n", TD_EGRAPH,
     "g.yaml:3:34: 'max_output' must be a size like 64KiB, 1MiB or 65536 (bytes), got '1TB'"},
    {"version: 1\ntools:\n  x: {builtin: echo, retries: 101}\n", TD_EGRAPH,
     "g.yaml:3:31: 'retries' must be a whole number from 0 to 100, got '101'"},
    {"version: 1\ntools:\n  x: {builtin: echo, concurrency: -1}\n", TD_EGRAPH,
     "g.yaml:3:35: 'concurrency' must be a whole number, 0 for no per-tool limit, got '-1'"},
    {"version: 1\ntools:\n  x: {builtin: echo, on_dependency_failure: ignore}\n", TD_EGRAPH,
     "g.yaml:3:45: 'on_dependency_failure' must be skip or run, got 'ignore'"},
    {"version: 1\ntools:\n  x: {builtin: echo, inherit_env: yes}\n", TD_EGRAPH,
     "g.yaml:3:35: 'inherit_env' must be true or false, got 'yes'"},
    {"version: 1\ntools:\n  x: {builtin: echo, stdin: json}\n", TD_EGRAPH,
     "g.yaml:3:29: 'stdin' must be input or envelope, got 'json'"},
    {"version: 1\ntools:\n  x: {builtin: echo, env: [A=1]}\n", TD_EGRAPH,
     "g.yaml:3:27: 'env' must be a mapping of variable names to values, got a list"},
    {"version: 1\ntools:\n  x: {builtin: echo, env: {A: {b: 1}}}\n", TD_EGRAPH,
     "g.yaml:3:31: 'A' must be a plain value, got a mapping"},
    {"version: 1\ntools:\n  x: {builtin: echo, env: {A=B: 1}}\n", TD_EGRAPH,
     "g.yaml:3:27: invalid environment variable name 'A=B'"},
    {"version: 1\ntools:\n  x: {builtin: echo, cwd: ''}\n", TD_EGRAPH,
     "g.yaml:3:27: 'cwd' must be a directory, got ''"},
    {"version: 1\ntools:\n  x: {builtin: echo, description: {a: 1}}\n", TD_EGRAPH,
     "g.yaml:3:35: 'description' must be a string, got a mapping"},
    {"version: 1\ntools:\n  x: {builtin: echo, input_schema: object}\n", TD_EGRAPH,
     "g.yaml:3:36: 'input_schema' must be a mapping (a JSON Schema), got 'object'"},
    /* a schema's mistake is placed where it is, through its path (keys, odd keys) */
    {"version: 1\ntools:\n  b:\n    builtin: echo\n    input_schema:\n      type: object\n"
     "      properties:\n        n:\n          type: integer\n          minimum: x\n",
     TD_EGRAPH, "g.yaml:10:20: tool 'b': input_schema.properties.n.minimum: must be a number"},
    {"version: 1\ntools:\n  b:\n    builtin: echo\n    input_schema:\n      properties:\n"
     "        \"odd key\": {type: [string,\n                          strng]}\n",
     TD_EGRAPH,
     "g.yaml:7:27: tool 'b': input_schema.properties[\"odd key\"].type: unknown type 'strng' "
     "(did you mean 'string'?)"},
    {"version: 1\ntools: {e: {builtin: echo}}\ncalls: []\n", TD_EGRAPH,
     "g.yaml:3:8: 'calls' is an empty list: give at least one call, or leave 'calls' out and "
     "pass the calls on the command line"},
    /* a value left out: the comma ended the description (the key is where it points) */
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    input_schema:\n      properties:\n"
     "        date: {type: string, description: day, YYYY-MM-DD}\n",
     TD_EGRAPH,
     "g.yaml:7:48: tool 'x': 'YYYY-MM-DD' in input_schema has no value (a comma ends a value "
     "inside {...}: quote text that holds one; write null for null)"},
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    input_schema:\n      type: object\n"
     "      title:\n",
     TD_EGRAPH,
     "g.yaml:7:7: tool 'x': 'title' in input_schema has no value (a comma ends a value "
     "inside {...}: quote text that holds one; write null for null)"},
    {"version: 1\ntools:\n  x:\n    builtin: echo\n    input_schema:\n"
     "      oneOf: [{type: string}, {const: 1, default}]\n",
     TD_EGRAPH,
     "g.yaml:6:42: tool 'x': 'default' in input_schema has no value (a comma ends a value "
     "inside {...}: quote text that holds one; write null for null)"},
    /* dependencies */
    {"version: 1\ntools:\n  fetch_weather: {run: [w]}\n"
     "  lookup_pollen: {run: [p], depends_on: [fetch_wether]}\n",
     TD_EGRAPH,
     "g.yaml:4:42: tool 'lookup_pollen' depends on unknown tool 'fetch_wether' (did you mean "
     "'fetch_weather'?)"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: [zzz]}\n", TD_EGRAPH,
     "g.yaml:3:30: tool 'a' depends on unknown tool 'zzz'"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: b}\n", TD_EGRAPH,
     "g.yaml:3:29: 'depends_on' must be a list of tool names like [fetch_weather], got 'b'"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: [[b]]}\n", TD_EGRAPH,
     "g.yaml:3:30: 'depends_on' must be a list of tool names, got a list"},
    {"version: 1\ntools:\n  fetch_weather: {run: [w], depends_on: [lookup_pollen]}\n"
     "  lookup_pollen: {run: [p], depends_on: [fetch_weather]}\n",
     TD_ECYCLE, "g.yaml:3:42: dependency cycle: fetch_weather -> lookup_pollen -> fetch_weather"},
    {"version: 1\ntools:\n  a: {run: [p], depends_on: [a]}\n", TD_ECYCLE,
     "g.yaml:3:30: dependency cycle: a -> a"},
    /* calls */
    {"version: 1\ntools: {}\ncalls: {id: x}\n", TD_EGRAPH,
     "g.yaml:3:8: 'calls' must be a list of {id, tool, input}, got a mapping"},
    {"version: 1\ntools: {}\ncalls: [x]\n", TD_EGRAPH,
     "g.yaml:3:9: call #1 must be a mapping {id, tool, input}, got 'x'"},
    {"version: 1\ntools: {}\ncalls:\n  - {tool: a}\n", TD_EGRAPH,
     "g.yaml:4:5: call #1 needs an 'id'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1}\n", TD_EGRAPH,
     "g.yaml:4:5: call #1 needs a 'tool'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: [c1], tool: a}\n", TD_EGRAPH,
     "g.yaml:4:10: 'id' of call #1 must be a string, got a list"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, input: 5}\n", TD_EGRAPH,
     "g.yaml:4:30: 'input' of call #1 must be a mapping, got '5'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, depends_on: c0}\n", TD_EGRAPH,
     "g.yaml:4:35: 'depends_on' of call #1 must be a list of call ids, got 'c0'"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, name: a}\n", TD_EGRAPH,
     "g.yaml:4:14: unknown key 'name' in call (did you mean 'tool'? a graph's calls are {id, "
     "tool, input, depends_on})"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, arguments: {}}\n", TD_EGRAPH,
     "g.yaml:4:23: unknown key 'arguments' in call (did you mean 'input'? a graph's calls are "
     "{id, tool, input, depends_on})"},
    {"version: 1\ntools: {}\ncalls:\n  - {type: tool_use, id: c1, tool: a}\n", TD_EGRAPH,
     "g.yaml:4:6: unknown key 'type' in call (a graph's calls are {id, tool, input, "
     "depends_on}, not API blocks)"},
    {"version: 1\ntools: {}\ncalls:\n  - {id: c1, tool: a, inputs: {}}\n", TD_EGRAPH,
     "g.yaml:4:23: unknown key 'inputs' in call (did you mean 'input'?)"},
};

START_TEST(each_diagnostic)
{
	const struct bad_case *c = &bad_cases[_i];

	expect_one(c->yaml, c->code, c->want);
}
END_TEST

/* Schemas are checked by td__schema_check() (src/calls); whatever it says is reported. */
START_TEST(schema_problems)
{
	struct td_diag d = {0};
	cJSON *schema = cJSON_Parse("{\"type\":\"objekt\"}");
	char err[256] = "", want[512];

	if (td__schema_check(schema, err, sizeof(err)) == 0) {
		cJSON_Delete(schema);
		td_graph_free(load_ok("version: 1\ntools: {a: {builtin: echo, input_schema: "
		                      "{type: objekt}}}\n"));
		return; /* the stand-in checker accepts everything */
	}
	cJSON_Delete(schema);
	ck_assert_int_eq(load_bad("version: 1\ntools: {a: {builtin: echo, input_schema: "
	                          "{type: objekt}}}\n",
	                          &d),
	                 TD_EGRAPH);
	/* at the bad value itself, which the checker's path leads to */
	if (strncmp(err, "input_schema", 12) == 0)
		snprintf(want, sizeof(want), "g.yaml:2:49: tool 'a': %s", err);
	else
		snprintf(want, sizeof(want), "g.yaml:2:42: input_schema of tool 'a': %s", err);
	ck_assert_diag(&d, want);
	td_diag_clear(&d);
}
END_TEST

START_TEST(all_in_one_pass)
{
	struct td_diag d = {0};
	static const char yaml[] = "version: 1\n"
	                           "defaults: {timout: 5s}\n"
	                           "tools:\n"
	                           "  fetch_weather:\n"
	                           "    run: [./w]\n"
	                           "    timeout: fast\n"
	                           "    depends_on: [lookup_pollen]\n"
	                           "  lookup_pollen:\n"
	                           "    run: [./p]\n"
	                           "    builtin: echo\n"
	                           "    depends_on: [fetch_wether, fetch_weather]\n"
	                           "  lookup_pollen:\n"
	                           "    run: [./q]\n"
	                           "  idle:\n"
	                           "    retries: lots\n";

	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_diag(&d, "g.yaml:12:3: duplicate tool 'lookup_pollen' (first declared at 8:3)");
	ck_assert_diag(&d,
	               "g.yaml:2:12: unknown key 'timout' in defaults (did you mean 'timeout'?)");
	ck_assert_diag(
	    &d, "g.yaml:6:14: 'timeout' must be a duration like 250ms, 5s or 2m, got 'fast'");
	ck_assert_diag(&d, "g.yaml:10:5: tool 'lookup_pollen' has two kinds, 'run' and 'builtin': "
	                   "give exactly one");
	ck_assert_diag(&d, "g.yaml:15:14: 'retries' must be a whole number from 0 to 100, got "
	                   "'lots'");
	ck_assert_diag(&d, "g.yaml:14:3: tool 'idle' has no kind: give one of run, http, builtin "
	                   "or function");
	ck_assert_diag(&d, "g.yaml:11:18: tool 'lookup_pollen' depends on unknown tool "
	                   "'fetch_wether' (did you mean 'fetch_weather'?)");
	ck_assert_diag(&d, "g.yaml:7:18: dependency cycle: fetch_weather -> lookup_pollen -> "
	                   "fetch_weather");
	ck_assert_uint_eq(d.count, 8);
	ck_assert_int_eq(d.code, TD_EGRAPH);
	td_diag_clear(&d);
}
END_TEST

START_TEST(cycles_normalised)
{
	struct td_diag d = {0};

	/* the search enters at q, but the report starts at the earliest-declared tool, q */
	ck_assert_int_eq(load_bad("version: 1\n"
	                          "tools:\n"
	                          "  p: {builtin: echo, depends_on: [r]}\n"
	                          "  q: {builtin: echo, depends_on: [r]}\n"
	                          "  r: {builtin: echo, depends_on: [q]}\n",
	                          &d),
	                 TD_ECYCLE);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_diag(&d, "g.yaml:4:35: dependency cycle: q -> r -> q");
	td_diag_clear(&d);

	/* two cycles through b: both reported */
	ck_assert_int_eq(load_bad("version: 1\n"
	                          "tools:\n"
	                          "  a: {builtin: echo, depends_on: [b]}\n"
	                          "  b: {builtin: echo, depends_on: [c]}\n"
	                          "  c: {builtin: echo, depends_on: [b, a]}\n",
	                          &d),
	                 TD_ECYCLE);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_diag(&d, "g.yaml:4:35: dependency cycle: b -> c -> b");
	ck_assert_diag(&d, "g.yaml:3:35: dependency cycle: a -> b -> c -> a");
	ck_assert_int_eq(d.items[0].code, TD_ECYCLE);
	td_diag_clear(&d);

	/* a diamond is not a cycle */
	td_graph_free(load_ok("version: 1\n"
	                      "tools:\n"
	                      "  a: {builtin: echo, depends_on: [b, c]}\n"
	                      "  b: {builtin: echo, depends_on: [d]}\n"
	                      "  c: {builtin: echo, depends_on: [d]}\n"
	                      "  d: {builtin: echo}\n"));
}
END_TEST

START_TEST(diag_limit)
{
	struct td_diag d = {.limit = 3};
	char yaml[4096] = "version: 1\ntools:\n";
	int i;

	for (i = 0; i < 10; i++)
		snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "  t%d: {}\n", i);
	ck_assert_int_eq(load_bad(yaml, &d), TD_EGRAPH);
	ck_assert_uint_eq(d.count, 3);
	ck_assert_uint_eq(d.dropped, 7);
	td_diag_clear(&d);
}
END_TEST

START_TEST(null_diag_and_args)
{
	struct td_graph *g = NULL;

	ck_assert_int_eq(td_graph_load_buffer("version: 1\n", 11, NULL, NULL, &g, NULL), TD_EGRAPH);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(td_graph_load_buffer(NULL, 3, NULL, NULL, &g, NULL), TD_EINVAL);
	ck_assert_int_eq(td_graph_load_buffer("x", 1, NULL, NULL, NULL, NULL), TD_EINVAL);
	ck_assert_int_eq(td_graph_load_file(NULL, &g, NULL), TD_EINVAL);
	ck_assert_uint_eq(td_graph_tool_count(NULL), 0);
	ck_assert_ptr_null(td_graph_tool_name(NULL, 0));
	ck_assert_int_eq(td_graph_tool_find(NULL, "a"), TD_ENOTFOUND);
	ck_assert_int_eq(td_graph_has_calls(NULL), 0);
	td_graph_free(NULL);
}
END_TEST

START_TEST(buffer_names_and_dirs)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	char cwd[PATH_MAX];
	static const char text[] = "version: 1\ntools: {a: {builtin: echo, cwd: .}}\nJUNK";

	/* not NUL-terminated: len stops before JUNK */
	ck_assert_int_eq(td_graph_load_buffer(text, strlen(text) - 4, NULL, NULL, &g, &d), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_str_eq(g->dir, cwd);
	ck_assert_str_eq(g->tools[0].cwd, cwd);
	ck_assert_str_eq(g->name, "<buffer>");
	td_graph_free(g);

	ck_assert_int_eq(td_graph_load_buffer("", 0, NULL, NULL, &g, &d), TD_EGRAPH);
	ck_assert_str_eq(d.items[0].file, "<buffer>");
	td_diag_clear(&d);

	ck_assert_int_eq(
	    td_graph_load_buffer(text, strlen(text) - 4, "mine", "/nonexistent/dir", &g, &d), 0);
	ck_assert_str_eq(g->dir, "/nonexistent/dir");
	ck_assert_str_eq(g->tools[0].cwd, "/nonexistent/dir");
	td_graph_free(g);
}
END_TEST

/* Every allocation failure point: clean failure, no leak (the ASan build checks). */
START_TEST(allocation_failures)
{
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	long n, total, fails = 0;
	int rc;

	td__alloc_fail_at(0);
	ck_assert_int_eq(td_graph_load_buffer(weather, strlen(weather), "g.yaml", "/tmp", &g, &d),
	                 0);
	total = td__alloc_fail_at(0);
	td_graph_free(g);
	ck_assert_int_gt(total, 50);
	for (n = 1; n <= total; n++) {
		g = NULL;
		td__alloc_fail_at(n);
		rc = td_graph_load_buffer(weather, strlen(weather), "g.yaml", "/tmp", &g, &d);
		td__alloc_fail_at(0);
		td_diag_clear(&d);
		/* a few failures are absorbed (arrays reserved up front just grow later) */
		ck_assert_msg(rc == 0 || rc == TD_ENOMEM, "n=%ld rc=%s", n, td_errname(rc));
		ck_assert(rc == 0 ? g != NULL : g == NULL);
		fails += rc != 0;
		td_graph_free(g);
	}
	ck_assert_int_gt(fails, total / 2);
}
END_TEST

/* A small deterministic generator, so a failing mutation can be replayed. */
static uint32_t next_rand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Inserts, deletes or overwrites a few bytes of text (cap bytes of room). */
static size_t mutate(char *text, size_t len, size_t cap, uint32_t *rs)
{
	static const char *const tokens[] = {
	    "&a ",           "*a", "<<: ", "[",    "]",  "{",     "}",      ": ", "\n  ", "- ",
	    "depends_on: [", "'",  "\"",   "\xff", "\t", "---\n", "!!str ", "? ", "~",    "\0"};
	size_t pos, k, muts = 1 + next_rand(rs) % 4, m;
	const char *t;

	for (m = 0; m < muts; m++) {
		pos = len ? next_rand(rs) % len : 0;
		switch (next_rand(rs) % 3) {
		case 0:
			if (len)
				text[pos] = (char)next_rand(rs);
			break;
		case 1:
			k = 1 + next_rand(rs) % 8;
			k = k > len - pos ? len - pos : k;
			memmove(text + pos, text + pos + k, len - pos - k);
			len -= k;
			break;
		default:
			t = tokens[next_rand(rs) % TD__ARRAY_SIZE(tokens)];
			k = *t ? strlen(t) : 1;
			if (len + k > cap)
				break;
			memmove(text + pos + k, text + pos, len - pos);
			memcpy(text + pos, t, k);
			len += k;
		}
	}
	return len;
}

/* Damaged graphs never crash, leak or report nothing; every message is one line. */
START_TEST(mutations)
{
	size_t cap = sizeof(weather) + 4096, len, i;
	char *text = malloc(cap), *json;
	uint32_t rs = 0x9e3779b9u;
	struct td_diag d = {0};
	struct td_graph *g;
	int n, rc;

	ck_assert_ptr_nonnull(text);
	for (n = 0; n < 3000; n++) {
		memcpy(text, weather, sizeof(weather) - 1);
		len = mutate(text, sizeof(weather) - 1, cap, &rs);
		g = NULL;
		rc = td_graph_load_buffer(text, len, "m.yaml", "/tmp", &g, &d);
		ck_assert_msg((rc == 0) == (g != NULL), "mutation %d: rc %d", n, rc);
		ck_assert_msg(rc == 0 || d.count > 0, "mutation %d: no diagnostic", n);
		for (i = 0; i < d.count; i++) {
			ck_assert_ptr_null(strchr(d.items[i].message, '\n'));
			ck_assert(d.items[i].line > 0 || d.items[i].column == 0);
		}
		if (g) {
			ck_assert_int_eq(
			    td_graph_tools_json(g, (enum td_dialect)(n % 4), n & 1, &json), 0);
			free(json);
		}
		td_diag_clear(&d);
		td_graph_free(g);
	}
	free(text);
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
	expect_file(tmpdir, -EISDIR, "is a directory, not a graph file");

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

	tc = tcase_create("bad");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, each_diagnostic, 0, (int)TD__ARRAY_SIZE(bad_cases));
	tcase_add_test(tc, all_in_one_pass);
	tcase_add_test(tc, schema_problems);
	tcase_add_test(tc, cycles_normalised);
	tcase_add_test(tc, diag_limit);
	tcase_add_test(tc, null_diag_and_args);
	tcase_add_test(tc, buffer_names_and_dirs);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, billion_laughs);
	tcase_add_test(tc, alias_depth_and_nesting);
	tcase_add_test(tc, merge_explosion);
	tcase_add_test(tc, unknown_alias_no_cascade);
	tcase_add_test(tc, mutations);
	tcase_add_test(tc, allocation_failures);
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

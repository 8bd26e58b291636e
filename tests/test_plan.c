/* SPDX-License-Identifier: MIT */
/*
 * test_plan.c - the leveler: tool-level edges through barriers, explicit edges, batch order
 * within levels, call-level errors, cycle paths, dependency lists, the JSON shape, and a large
 * random DAG against a naive reference.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "plan/plan.h"
#include "td_test_graph.h"
#include "td_test_cpu.h"

static struct td_graph *g;
static struct td_batch *b;
static struct td_plan *p;
static struct td_diag diag;

static void setup(void)
{
	g = tg_new();
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_AUTO, &b), 0);
	p = NULL;
	memset(&diag, 0, sizeof(diag));
}

static void teardown(void)
{
	td_plan_free(p);
	td_batch_free(b);
	tg_free(g);
	td_diag_clear(&diag);
}

static int add(const char *id, const char *tool)
{
	int r = td_batch_add(b, id, tool, NULL);

	ck_assert_int_ge(r, 0);
	return r;
}

static void dep(int call, int on)
{
	ck_assert_int_eq(td_batch_depend(b, (size_t)call, (size_t)on), 0);
}

static void plan_ok(void)
{
	int r = td_plan_new(b, &p, &diag);

	ck_assert_msg(r == 0, "plan failed: %d %s", r, diag.count ? diag.items[0].message : "");
	ck_assert_uint_eq(diag.count, 0);
}

/* Level k as "id id id". */
static const char *level_ids(size_t k)
{
	static char buf[4096];
	const uint32_t *calls;
	size_t n = 0;
	int i, cnt = td_plan_level(p, k, &calls);

	ck_assert_int_ge(cnt, 0);
	buf[0] = '\0';
	for (i = 0; i < cnt; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
		                      td_batch_call_id(b, calls[i]));
	return buf;
}

static const char *deps_ids(size_t call)
{
	static char buf[4096];
	uint32_t deps[64];
	size_t n = 0;
	int i, cnt = td_plan_call_deps(p, call, deps, 64);

	ck_assert_int_ge(cnt, 0);
	buf[0] = '\0';
	for (i = 0; i < cnt; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
		                      td_batch_call_id(b, deps[i]));
	return buf;
}

START_TEST(independent)
{
	tg_tool(g, "flight_a", NULL);
	tg_tool(g, "flight_b", NULL);
	tg_tool(g, "flight_c", NULL);
	add("t1", "flight_a");
	add("t2", "flight_b");
	add("t3", "flight_c");
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 1);
	ck_assert_str_eq(level_ids(0), "t1 t2 t3");
	ck_assert_int_eq(td_plan_call_level(p, 2), 0);
	ck_assert_str_eq(deps_ids(1), "");
	ck_assert_uint_eq(p->nnodes, 3); /* no barriers */
}
END_TEST

/* An id the results could not name is refused, as the decoder refuses it; nothing is added. */
START_TEST(batch_add_empty_id)
{
	tg_tool(g, "flight_a", NULL);
	ck_assert_int_eq(td_batch_add(b, "", "flight_a", NULL), TD_EINVAL);
	ck_assert_int_eq(td_batch_add(b, NULL, "flight_a", NULL), TD_EINVAL);
	ck_assert_uint_eq(td_batch_count(b), 0);
	ck_assert_int_eq(add("t1", "flight_a"), 0);
}
END_TEST

START_TEST(weather_pollen)
{
	int w = tg_tool(g, "fetch_weather", NULL), l = tg_tool(g, "lookup_pollen", NULL);

	tg_dep(g, l, w);
	add("p1", "lookup_pollen");
	add("w1", "fetch_weather");
	add("p2", "lookup_pollen");
	add("w2", "fetch_weather");
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 2);
	ck_assert_str_eq(level_ids(0), "w1 w2");
	ck_assert_str_eq(level_ids(1), "p1 p2");
	ck_assert_int_eq(td_plan_call_level(p, 0), 1);
	ck_assert_int_eq(td_plan_call_level(p, 1), 0);
	ck_assert_str_eq(deps_ids(0), "w1 w2");
	ck_assert_str_eq(deps_ids(2), "w1 w2");
	ck_assert_str_eq(deps_ids(1), "");
	ck_assert_uint_eq(p->nnodes, 5); /* one barrier for fetch_weather */
	ck_assert_uint_eq(p->barrier_tool[0], (uint32_t)w);
	ck_assert_int_eq(p->level[4], 1); /* the barrier's ready level */
	ck_assert_ptr_eq(td_plan_batch(p), b);
}
END_TEST

START_TEST(explicit_edges)
{
	tg_tool(g, "t", NULL);
	add("a", "t");
	add("b", "t");
	add("c", "t");
	add("d", "t");
	dep(2, 0); /* c depends on a */
	dep(3, 2); /* d on c */
	dep(3, 0); /* d on a too: level is 1 + the highest */
	dep(3, 0); /* repeated edge: counted once */
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 3);
	ck_assert_str_eq(level_ids(0), "a b");
	ck_assert_str_eq(level_ids(1), "c");
	ck_assert_str_eq(level_ids(2), "d");
	ck_assert_str_eq(deps_ids(3), "a c");
	ck_assert_uint_eq(p->pred_off[4] - p->pred_off[3], 2);
	ck_assert_uint_eq(p->succ_off[1] - p->succ_off[0], 2); /* a: c and d */
	ck_assert(!p->pred_borrowed);                          /* the repeat is dropped in a copy */
}
END_TEST

/* Explicit edges only, grouped, no repeats: the plan reads the batch's edge list in place. */
START_TEST(borrowed_edges)
{
	char id[32];
	int i;

	tg_tool(g, "t", NULL);
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		add(id, "t");
	}
	dep(2, 0);
	dep(2, 1);
	dep(3, 2);
	plan_ok();
	ck_assert(p->pred_borrowed);
	ck_assert_ptr_eq(p->pred, b->edge_to);
	/* the batch's offsets stop at c3 (c4.. have no edges): the plan completes its own */
	ck_assert(!p->pred_off_borrowed);
	ck_assert_uint_eq(p->pred_off[20], 3);
	ck_assert_uint_eq(td_plan_level_count(p), 3);
	ck_assert_str_eq(deps_ids(2), "c0 c1");
	ck_assert_str_eq(deps_ids(10), "");
	ck_assert_str_eq(level_ids(2), "c3");
	td_plan_free(p);
	p = NULL;
	/* the last call has edges: the offsets cover every call and are read in place too */
	dep(19, 3);
	plan_ok();
	ck_assert(p->pred_borrowed && p->pred_off_borrowed);
	ck_assert_ptr_eq(p->pred_off, b->edge_off);
	ck_assert_int_eq(td_plan_call_level(p, 19), 3);
	ck_assert_str_eq(deps_ids(19), "c3");
	ck_assert_str_eq(deps_ids(18), "");
	td_plan_free(p);
	p = NULL;
	/* a list longer than the scan threshold is copied (and de-duplicated by marks) */
	for (i = 0; i < 17; i++)
		dep(19, i);
	dep(19, 16);
	plan_ok();
	ck_assert(!p->pred_borrowed);
	ck_assert_uint_eq(p->pred_off[20] - p->pred_off[19], 17);
	ck_assert_int_eq(td_plan_call_level(p, 19), 3);
}
END_TEST

/* An edge for an earlier call than the last one with edges turns the CSR into an edge list. */
START_TEST(edges_out_of_order)
{
	tg_tool(g, "t", NULL);
	add("a", "t");
	add("b", "t");
	add("c", "t");
	add("d", "t");
	dep(3, 2); /* d on c */
	ck_assert_ptr_null(b->edge_from);
	dep(1, 0); /* b on a: before d */
	ck_assert_ptr_nonnull(b->edge_from);
	ck_assert_ptr_null(b->edge_off);
	dep(2, 1); /* c on b */
	ck_assert_uint_eq(b->nedges, 3);
	ck_assert_uint_eq(b->edge_from[0], 3);
	ck_assert_uint_eq(b->edge_from[1], 1);
	ck_assert_uint_eq(b->edge_from[2], 2);
	ck_assert_uint_eq(b->edge_to[1], 0);
	plan_ok();
	ck_assert(!p->pred_borrowed && !p->pred_off_borrowed);
	ck_assert_uint_eq(td_plan_level_count(p), 4);
	ck_assert_str_eq(deps_ids(3), "c");
	ck_assert_str_eq(deps_ids(2), "b");
	ck_assert_str_eq(level_ids(3), "d");
}
END_TEST

/*
 * After td__batch_edges_done() every call has an offset; an edge for a call with no later
 * edges keeps the CSR (the coverage shrinks back to it), one before them ungroups it.
 */
START_TEST(edges_after_done)
{
	tg_tool(g, "t", NULL);
	add("a", "t");
	add("b", "t");
	add("c", "t");
	add("d", "t");
	dep(1, 0);
	ck_assert_uint_eq(b->edge_ncalls, 2);
	ck_assert_int_eq(td__batch_edges_done(b), 0);
	ck_assert_uint_eq(b->edge_ncalls, 4);
	ck_assert_uint_eq(b->edge_off[4], 1);
	dep(2, 1); /* c on b: c had no edges, nor d */
	ck_assert_ptr_null(b->edge_from);
	ck_assert_uint_eq(b->edge_ncalls, 3);
	ck_assert_uint_eq(b->edge_off[3], 2);
	plan_ok();
	ck_assert_str_eq(level_ids(0), "a d");
	ck_assert_str_eq(level_ids(2), "c");
	td_plan_free(p);
	p = NULL;
	dep(0, 3); /* a on d: a comes before c, which has edges */
	ck_assert_ptr_nonnull(b->edge_from);
	plan_ok();
	ck_assert_str_eq(level_ids(0), "d");
	ck_assert_str_eq(level_ids(1), "a");
	ck_assert_str_eq(level_ids(3), "c");
}
END_TEST

/* Input and error share the id's arena string: every combination reads back whole. */
START_TEST(call_strings)
{
	static const struct {
		const char *id, *tool, *input, *want_input, *want_error;
	} cases[] = {
	    {"i1", "t", "{\"a\": 1}", "{\"a\":1}", NULL},
	    {"i2", "ghost", "{\"a\":1}", "{\"a\":1}", "unknown tool 'ghost'"},
	    {"i3", "ghost", NULL, "{}", "unknown tool 'ghost'"},
	    {"i4", "t", "[1]", "{}", "input must be a JSON object"},
	    {"i5", "t", "{}", "{}", NULL},
	    {"", "t", "{\"b\":[true]}", "{\"b\":[true]}", NULL},
	};
	size_t i;

	tg_tool(g, "t", NULL);
	for (i = 0; i < TD__ARRAY_SIZE(cases) - 1; i++)
		ck_assert_int_eq(td_batch_add(b, cases[i].id, cases[i].tool, cases[i].input),
		                 (int)i);
	{
		/* an empty id reaches the batch only through the decoder (with its error there) */
		cJSON *in = cJSON_Parse(cases[i].input);
		uint32_t dup;

		ck_assert_int_eq(td__batch_add_call(b, "", "t", in, NULL, &dup), (int)i);
		cJSON_Delete(in);
	}
	for (i = 0; i < TD__ARRAY_SIZE(cases); i++) {
		ck_assert_str_eq(td_batch_call_id(b, i), cases[i].id);
		ck_assert_str_eq(td_batch_call_tool(b, i), cases[i].tool);
		ck_assert_str_eq(td_batch_call_input(b, i), cases[i].want_input);
		ck_assert_uint_eq(b->calls[i].input_len, strlen(cases[i].want_input));
		if (cases[i].want_error)
			ck_assert_str_eq(td_batch_call_error(b, i), cases[i].want_error);
		else
			ck_assert_ptr_null(td_batch_call_error(b, i));
	}
	ck_assert_uint_eq(sizeof(struct td__call), 24);
}
END_TEST

START_TEST(tools_without_calls)
{
	int w = tg_tool(g, "fetch_weather", NULL), l = tg_tool(g, "lookup_pollen", NULL);
	int x = tg_tool(g, "other", NULL);

	tg_dep(g, l, w);
	tg_dep(g, w, x); /* weather's dependency has no calls either */
	add("p1", "lookup_pollen");
	add("p2", "lookup_pollen");
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 1);
	ck_assert_str_eq(level_ids(0), "p1 p2");
	ck_assert_uint_eq(p->nnodes, 2);
	ck_assert_uint_eq(p->pred_off[2], 0);
}
END_TEST

/* 1,000 calls depending on a tool with 1,000 calls: 2,000 edges through a barrier. */
START_TEST(barrier_is_linear)
{
	int a = tg_tool(g, "a", NULL), t = tg_tool(g, "b", NULL), i;
	char id[32];

	tg_dep(g, t, a);
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		add(id, i % 2 ? "b" : "a");
	}
	plan_ok();
	ck_assert_uint_eq(p->nnodes, 2001);
	ck_assert_uint_eq(p->pred_off[p->nnodes], 2000);
	ck_assert_uint_eq(p->succ_off[p->nnodes], 2000);
	ck_assert_uint_eq(td_plan_level_count(p), 2);
	ck_assert_int_eq(td_plan_level(p, 0, NULL), 1000);
	ck_assert_int_eq(td_plan_level(p, 1, NULL), 1000);
	ck_assert_int_eq(td_plan_call_deps(p, 1, NULL, 0), 1000);
}
END_TEST

START_TEST(batch_order_in_levels)
{
	int a = tg_tool(g, "a", NULL), c = tg_tool(g, "c", NULL);

	tg_tool(g, "b", NULL);
	tg_dep(g, c, a);
	add("z", "c");
	add("y", "b");
	add("x", "a");
	add("w", "c");
	add("v", "b");
	add("u", "a");
	plan_ok();
	ck_assert_str_eq(level_ids(0), "y x v u");
	ck_assert_str_eq(level_ids(1), "z w");
}
END_TEST

/* A call with a call-level error is not in the levels, but what depends on it is placed. */
START_TEST(error_calls)
{
	int w = tg_tool(g, "fetch_weather", "{\"type\":\"object\",\"required\":[\"city\"]}");
	int l = tg_tool(g, "lookup_pollen", NULL);

	tg_dep(g, l, w);
	add("bad", "no_such_tool");
	add("p1", "lookup_pollen");
	ck_assert_int_eq(td_batch_add(b, "w1", "fetch_weather", "{}"), 2); /* schema error */
	ck_assert_int_eq(td_batch_add(b, "w2", "fetch_weather", "{\"city\":\"Oslo\"}"), 3);
	add("after", "lookup_pollen");
	dep(4, 0); /* 'after' waits for the unknown-tool call as well */
	ck_assert_str_eq(td_batch_call_error(b, 0), "unknown tool 'no_such_tool'");
	ck_assert_str_eq(td_batch_call_error(b, 2), "input: missing required property 'city'");
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 2);
	ck_assert_str_eq(level_ids(0), "w2");
	ck_assert_str_eq(level_ids(1), "p1 after");
	ck_assert_int_eq(td_plan_call_level(p, 0), 0);
	ck_assert_int_eq(td_plan_call_level(p, 2), 0);
	ck_assert_str_eq(deps_ids(1), "w1 w2"); /* the erroneous w1 still belongs to its tool */
	ck_assert_str_eq(deps_ids(4), "bad w1 w2");
}
END_TEST

/* Only error calls at a level: the level stays (numbers match calls[].level) but is empty. */
START_TEST(error_only_level)
{
	tg_tool(g, "t", NULL);
	add("bad", "nope");
	add("next", "t");
	dep(1, 0);
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 2);
	ck_assert_int_eq(td_plan_level(p, 0, NULL), 0);
	ck_assert_str_eq(level_ids(1), "next");
	ck_assert_int_eq(td_plan_level(p, 2, NULL), TD_EINVAL);
	ck_assert_int_eq(td_plan_call_level(p, 2), TD_EINVAL);
}
END_TEST

static void plan_cycle(const char *want)
{
	ck_assert_int_eq(td_plan_new(b, &p, &diag), TD_ECYCLE);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(diag.count, 1);
	ck_assert_int_eq(diag.code, TD_ECYCLE);
	ck_assert_int_eq(diag.items[0].code, TD_ECYCLE);
	ck_assert_str_eq(diag.items[0].message, want);
}

START_TEST(cycle_two)
{
	tg_tool(g, "a", NULL);
	tg_tool(g, "b", NULL);
	add("toolu_01", "a");
	add("toolu_02", "b");
	dep(0, 1);
	dep(1, 0);
	plan_cycle("dependency cycle: toolu_01 (a) -> toolu_02 (b) -> toolu_01 (a)");
}
END_TEST

START_TEST(cycle_self)
{
	tg_tool(g, "a", NULL);
	add("ok", "a");
	add("me", "a");
	dep(1, 1);
	plan_cycle("dependency cycle: me (a) -> me (a)");
}
END_TEST

/* The walk enters the cycle from a tail; the path is rotated to its lowest call index. */
START_TEST(cycle_long)
{
	tg_tool(g, "t", NULL);
	add("c0", "t");
	add("c1", "t");
	add("c2", "t");
	add("c3", "t");
	add("c4", "t");
	add("c5", "t");
	dep(0, 3); /* tail: c0 -> c3 */
	dep(3, 4);
	dep(4, 5);
	dep(5, 2);
	dep(2, 3);
	plan_cycle("dependency cycle: c2 (t) -> c3 (t) -> c4 (t) -> c5 (t) -> c2 (t)");
}
END_TEST

/* Tool-level and explicit edges together; the barrier node is not shown. */
START_TEST(cycle_mixed)
{
	int w = tg_tool(g, "fetch_weather", NULL), l = tg_tool(g, "lookup_pollen", NULL);

	tg_dep(g, l, w);
	add("p1", "lookup_pollen");
	add("w1", "fetch_weather");
	dep(1, 0); /* w1 explicitly waits for p1, which waits for every fetch_weather call */
	plan_cycle(
	    "dependency cycle: p1 (lookup_pollen) -> w1 (fetch_weather) -> p1 (lookup_pollen)");
}
END_TEST

/* A very long cycle names its two ends and how many calls it skipped. */
START_TEST(cycle_huge)
{
	char id[32];
	int i;

	tg_tool(g, "t", NULL);
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		add(id, "t");
	}
	for (i = 0; i < 100; i++)
		dep(i, (i + 1) % 100);
	ck_assert_int_eq(td_plan_new(b, &p, &diag), TD_ECYCLE);
	ck_assert(strncmp(diag.items[0].message, "dependency cycle: c0 (t) -> c1 (t) -> c2 (t) -> ",
	                  48) == 0);
	ck_assert_ptr_nonnull(
	    strstr(diag.items[0].message, "c47 (t) -> ... (44 more) -> c92 (t) -> "));
	ck_assert_ptr_nonnull(strstr(diag.items[0].message, "-> c99 (t) -> c0 (t)"));
}
END_TEST

START_TEST(call_deps_api)
{
	int w = tg_tool(g, "w", NULL), l = tg_tool(g, "l", NULL);
	uint32_t deps[2] = {99, 99};

	tg_dep(g, l, w);
	add("w1", "w");
	add("w2", "w");
	add("w3", "w");
	add("l1", "l");
	dep(3, 1); /* also implied by the tool edge: listed once */
	plan_ok();
	ck_assert_int_eq(td_plan_call_deps(p, 3, deps, 2), 3); /* full count, 2 written */
	ck_assert_uint_eq(deps[0], 0);
	ck_assert_uint_eq(deps[1], 1);
	ck_assert_int_eq(td_plan_call_deps(p, 3, NULL, 0), 3);
	ck_assert_int_eq(td_plan_call_deps(p, 4, deps, 2), TD_EINVAL);
	ck_assert_int_eq(td_plan_call_deps(NULL, 0, deps, 2), TD_EINVAL);
	ck_assert_int_eq(td_plan_call_deps(p, 0, NULL, 2), TD_EINVAL);
}
END_TEST

/* Lists longer than the scan threshold (16) switch to marks: duplicates still go. */
START_TEST(long_lists)
{
	char id[32], name[32];
	int i, hub, many = tg_tool(g, "many", NULL);

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		tg_dep(g, many, tg_tool(g, name, NULL));
		snprintf(id, sizeof(id), "c%d", i);
		add(id, name);
	}
	hub = add("hub", "many");
	for (i = 0; i < 20; i++) {
		dep(hub, i);
		dep(hub, 19 - i);
	}
	plan_ok();
	/* 20 barriers plus 20 distinct explicit edges */
	ck_assert_uint_eq(p->pred_off[hub + 1] - p->pred_off[hub], 40);
	ck_assert_int_eq(td_plan_call_deps(p, (size_t)hub, NULL, 0), 20);
	ck_assert_int_eq(td_plan_call_level(p, (size_t)hub), 1);
}
END_TEST

START_TEST(empty_and_bad_args)
{
	char *js = NULL;

	ck_assert_int_eq(td_plan_new(NULL, &p, &diag), TD_EINVAL);
	ck_assert_int_eq(td_plan_new(b, NULL, &diag), TD_EINVAL);
	plan_ok();
	ck_assert_uint_eq(td_plan_level_count(p), 0);
	ck_assert_int_eq(td_plan_level(p, 0, NULL), TD_EINVAL);
	ck_assert_int_eq(td_plan_json(p, 0, &js), 0);
	ck_assert_str_eq(js, "{\"levels\":[],\"calls\":[]}");
	free(js);
	ck_assert_int_eq(td_plan_json(p, 1, &js), 0);
	ck_assert_str_eq(js, "{\n  \"levels\": [],\n  \"calls\": []\n}\n");
	free(js);
	ck_assert_int_eq(td_plan_json(NULL, 0, &js), TD_EINVAL);
	ck_assert_uint_eq(td_plan_level_count(NULL), 0);
	ck_assert_ptr_null(td_plan_batch(NULL));
}
END_TEST

static cJSON *strings(const char *const *ids, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(ids[i]));
	return a;
}

START_TEST(json_shape)
{
	int w = tg_tool(g, "fetch_weather", NULL), l = tg_tool(g, "lookup_pollen", NULL);
	char *js = NULL, *pretty = NULL;
	cJSON *got, *got2, *want, *calls, *c;
	static const char *const l0[] = {"w\"1"}, *const l1[] = {"p1"}, *const d1[] = {"w\"1"};
	static const char *const d2[] = {"p1", "x"};

	tg_dep(g, l, w);
	add("w\"1", "fetch_weather");
	add("p1", "lookup_pollen");
	add("x", "zzz");
	tg_tool(g, "later", NULL);
	add("y", "later");
	dep(3, 2);
	dep(3, 1);
	ck_assert_int_eq(td_batch_add(b, "dup", "fetch_weather", NULL), 4);
	ck_assert_int_eq(td_batch_add(b, "dup", "fetch_weather", NULL), TD_EBATCH);
	plan_ok();
	ck_assert_int_eq(td_plan_json(p, 0, &js), 0);
	ck_assert_int_eq(td_plan_json(p, 1, &pretty), 0);
	got = cJSON_Parse(js);
	got2 = cJSON_Parse(pretty);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(got2);
	ck_assert(cJSON_Compare(got, got2, 1));
	ck_assert_ptr_nonnull(strstr(pretty,
	                             "\n    {\"id\": \"p1\", \"name\": \"lookup_pollen\", "
	                             "\"level\": 1, \"depends_on\": [\"w\\\"1\", \"dup\"]},\n"));

	want = cJSON_CreateObject();
	cJSON *levels = cJSON_AddArrayToObject(want, "levels");
	static const char *const lv0[] = {"w\"1", "dup"};
	cJSON_AddItemToArray(levels, strings(lv0, 2));
	cJSON_AddItemToArray(levels, strings(l1, 1));
	static const char *const lv2[] = {"y"};
	cJSON_AddItemToArray(levels, strings(lv2, 1));
	ck_assert_msg(cJSON_Compare(cJSON_GetObjectItem(got, "levels"), levels, 1), "%s", js);
	(void)l0;
	(void)d1;

	calls = cJSON_GetObjectItem(got, "calls");
	ck_assert_int_eq(cJSON_GetArraySize(calls), 5);
	c = cJSON_GetArrayItem(calls, 2);
	ck_assert_str_eq(cJSON_GetObjectItem(c, "id")->valuestring, "x");
	ck_assert_str_eq(cJSON_GetObjectItem(c, "name")->valuestring, "zzz");
	ck_assert_int_eq(cJSON_GetObjectItem(c, "level")->valueint, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(c, "error")->valuestring, "unknown tool 'zzz'");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "depends_on")), 0);
	c = cJSON_GetArrayItem(calls, 3);
	ck_assert_ptr_null(cJSON_GetObjectItem(c, "error"));
	ck_assert_int_eq(cJSON_GetObjectItem(c, "level")->valueint, 2);
	cJSON *want_d = strings(d2, 2);
	ck_assert(cJSON_Compare(cJSON_GetObjectItem(c, "depends_on"), want_d, 1));
	cJSON_Delete(want_d);
	ck_assert_str_eq(
	    js, "{\"levels\":[[\"w\\\"1\",\"dup\"],[\"p1\"],[\"y\"]],\"calls\":["
	        "{\"id\":\"w\\\"1\",\"name\":\"fetch_weather\",\"level\":0,\"depends_on\":[]},"
	        "{\"id\":\"p1\",\"name\":\"lookup_pollen\",\"level\":1,\"depends_on\":[\"w\\\"1\","
	        "\"dup\"]},"
	        "{\"id\":\"x\",\"name\":\"zzz\",\"level\":0,\"depends_on\":[],\"error\":\"unknown "
	        "tool 'zzz'\"},"
	        "{\"id\":\"y\",\"name\":\"later\",\"level\":2,\"depends_on\":[\"p1\",\"x\"]},"
	        "{\"id\":\"dup\",\"name\":\"fetch_weather\",\"level\":0,\"depends_on\":[]}]}");
	cJSON_Delete(want);
	cJSON_Delete(got);
	cJSON_Delete(got2);
	free(js);
	free(pretty);
}
END_TEST

/* ---- a large random DAG against a naive reference ---- */

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

#define NTOOLS 40

/*
 * Fixpoint relaxation: sweep every call, level = max(1 + level of each explicit dependency,
 * 1 + highest level of each depended-on tool's calls), until nothing changes. Knows nothing
 * of barriers or Kahn.
 */
static void reference_levels(const int *tool, uint32_t n, const uint32_t (*edges)[2], size_t m,
                             int *level)
{
	int tmax[NTOOLS], changed = 1, t, L;
	uint32_t c, k;
	size_t e;
	int *exl = calloc(n, sizeof(int));

	memset(level, 0, n * sizeof(int));
	while (changed) {
		changed = 0;
		for (t = 0; t < NTOOLS; t++)
			tmax[t] = -1;
		for (c = 0; c < n; c++)
			if (tool[c] >= 0 && level[c] > tmax[tool[c]])
				tmax[tool[c]] = level[c];
		memset(exl, 0, n * sizeof(int));
		for (e = 0; e < m; e++)
			if (level[edges[e][1]] + 1 > exl[edges[e][0]])
				exl[edges[e][0]] = level[edges[e][1]] + 1;
		for (c = 0; c < n; c++) {
			L = exl[c];
			for (k = 0; tool[c] >= 0 && k < g->tools[tool[c]].ndeps; k++) {
				t = (int)g->tools[tool[c]].deps[k];
				if (tmax[t] >= 0 && tmax[t] + 1 > L)
					L = tmax[t] + 1;
			}
			if (L != level[c]) {
				level[c] = L;
				changed = 1;
			}
		}
	}
	free(exl);
}

static void random_dag(int shuffled)
{
	const uint32_t n = 100000;
	int *tool = malloc(n * sizeof(int)), *ref = malloc(n * sizeof(int)), t, d, maxl = 0;
	uint32_t(*edges)[2] = malloc(n * 3 * sizeof(*edges)), c, j, k, key_c, key_d;
	size_t m = 0, e, seen = 0;
	char id[32], name[32];
	const uint32_t *calls;
	int cnt, last;

	for (t = 0; t < NTOOLS; t++) {
		snprintf(name, sizeof(name), "tool%d", t);
		tg_tool(g, name, NULL);
		for (d = 0; d < t; d++) /* tool edges go down in index: acyclic */
			if (rnd(100) < 4)
				tg_dep(g, t, d);
	}
	for (c = 0; c < n; c++) {
		tool[c] = rnd(50) == 0 ? -1 : (int)rnd(NTOOLS); /* ~2% unknown tools */
		snprintf(id, sizeof(id), "call_%u", c);
		snprintf(name, sizeof(name), tool[c] < 0 ? "ghost%d" : "tool%d", tool[c]);
		ck_assert_int_eq(td_batch_add(b, id, name, NULL), (int)c);
	}
	/* explicit edges only from a higher key to a lower one: (tool + 1, index) ordered */
	for (c = 0; c < n; c++) {
		for (k = rnd(4); k > 0; k--) {
			j = rnd(n);
			key_c = (uint32_t)(tool[c] + 1) * n + c;
			key_d = (uint32_t)(tool[j] + 1) * n + j;
			if (key_d < key_c) {
				edges[m][0] = c;
				edges[m][1] = j;
				m++;
			}
		}
	}
	if (shuffled)
		for (e = m; e > 1; e--) {
			uint32_t x = rnd((uint32_t)e), tmp0 = edges[e - 1][0],
			         tmp1 = edges[e - 1][1];

			edges[e - 1][0] = edges[x][0];
			edges[e - 1][1] = edges[x][1];
			edges[x][0] = tmp0;
			edges[x][1] = tmp1;
		}
	for (e = 0; e < m; e++)
		dep((int)edges[e][0], (int)edges[e][1]);
	plan_ok();
	reference_levels(tool, n, (const uint32_t(*)[2])edges, m, ref);
	for (c = 0; c < n; c++) {
		ck_assert_int_eq(td_plan_call_level(p, c), ref[c]);
		if (ref[c] > maxl)
			maxl = ref[c];
	}
	ck_assert_uint_eq(td_plan_level_count(p), (size_t)maxl + 1);
	ck_assert_int_gt(maxl, 3);
	for (k = 0; k < td_plan_level_count(p); k++) {
		cnt = td_plan_level(p, k, &calls);
		for (last = -1, j = 0; j < (uint32_t)cnt; j++) {
			ck_assert_int_eq(ref[calls[j]], (int)k);
			ck_assert_int_gt((int)calls[j], last); /* batch order */
			ck_assert(tool[calls[j]] >= 0);        /* no error calls */
			last = (int)calls[j];
		}
		seen += (size_t)cnt;
	}
	for (c = 0, k = 0; c < n; c++)
		k += tool[c] >= 0;
	ck_assert_uint_eq(seen, k);
	free(tool);
	free(ref);
	free(edges);
}

START_TEST(random_dag_grouped)
{
	random_dag(0);
}
END_TEST

START_TEST(random_dag_shuffled)
{
	random_dag(1);
}
END_TEST

/*
 * td_plan_call_deps() with a small cap counts without listing (barrier lists are disjoint; an
 * explicit edge into a barrier's tool is not counted twice) and merges the first cap: checked
 * against the full list for every call of a random batch and every cap up to 6.
 */
START_TEST(call_deps_head)
{
	uint32_t full[512], head[8], c, j, tool[300];
	char id[32], name[32];
	int t, d, n, k, cap;

	for (t = 0; t < 8; t++) {
		snprintf(name, sizeof(name), "t%d", t);
		tg_tool(g, name, NULL);
		for (d = 0; d < t; d++)
			if (rnd(3) == 0)
				tg_dep(g, t, d);
	}
	for (c = 0; c < 300; c++) {
		snprintf(id, sizeof(id), "c%u", c);
		tool[c] = rnd(20) ? rnd(8) + 1 : 0; /* 0: an unknown tool */
		snprintf(name, sizeof(name), tool[c] ? "t%u" : "ghost", tool[c] - 1);
		add(id, name);
		/* explicit edges to a lower (tool, index) key, as tool edges go down: acyclic */
		for (k = (int)rnd(5); k > 0 && c > 0; k--)
			if (tool[j = rnd(c)] <= tool[c])
				dep((int)c, (int)j);
	}
	plan_ok();
	for (c = 0; c < 300; c++) {
		n = td_plan_call_deps(p, c, full, 512);
		ck_assert_int_le(n, 512);
		for (cap = 0; cap <= 6; cap++) {
			memset(head, 0xff, sizeof(head));
			ck_assert_int_eq(td_plan_call_deps(p, c, head, (size_t)cap), n);
			for (k = 0; k < cap && k < n; k++)
				ck_assert_uint_eq(head[k], full[k]);
			ck_assert_uint_eq(head[cap < n ? cap : n],
			                  UINT32_MAX); /* nothing past cap */
		}
	}
}
END_TEST

/*
 * Tool-level edges make the JSON's dependency lists quadratic: 5,000 calls after 5,000 list
 * 25 million ids, refused (TD_ETOOBIG) before any is written; the levels and a few
 * dependencies per call stay cheap to read.
 */
START_TEST(json_quadratic_refused)
{
	int w = tg_tool(g, "w", NULL), l = tg_tool(g, "l", NULL);
	uint32_t head[16];
	char id[32], *js = NULL;
	int64_t t0;
	int i;

	tg_dep(g, l, w);
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		add(id, i < 5000 ? "w" : "l");
	}
	plan_ok();
	ck_assert_int_eq(td_plan_json(p, 0, &js), TD_ETOOBIG);
	ck_assert_ptr_null(js);
	t0 = cpu_us();
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(td_plan_call_deps(p, (size_t)i, head, 16), i < 5000 ? 0 : 5000);
	ck_assert_uint_eq(head[15], 15);
	ck_assert_int_lt(cpu_us() - t0, 2000000);
}
END_TEST

/* Every allocation failing in turn: a clean TD_ENOMEM and no leak (ASan checks). */
START_TEST(alloc_failures)
{
	int w = tg_tool(g, "w", NULL), l = tg_tool(g, "l", NULL), r;
	long i;
	char *js;

	tg_dep(g, l, w);
	add("w1", "w");
	add("l1", "l");
	add("l2", "l");
	dep(2, 1);
	dep(1, 2); /* a cycle, so the cycle path allocates too */
	for (i = 1; i < 64; i++) {
		td__alloc_fail_at(i);
		r = td_plan_new(b, &p, &diag);
		td__alloc_fail_at(0);
		td_diag_clear(&diag);
		ck_assert(r == TD_ENOMEM || r == TD_ECYCLE);
		ck_assert_ptr_null(p);
	}
	b->nedges = 1; /* drop the edge that closes the cycle */
	for (i = 1; i < 64; i++) {
		td__alloc_fail_at(i);
		r = td_plan_new(b, &p, &diag);
		td__alloc_fail_at(0);
		td_diag_clear(&diag);
		if (r == 0) {
			td__alloc_fail_at(1);
			ck_assert_int_eq(td_plan_json(p, 0, &js), TD_ENOMEM);
			td__alloc_fail_at(0);
			td_plan_free(p);
			p = NULL;
			break;
		}
		ck_assert_int_eq(r, TD_ENOMEM);
	}
	ck_assert_int_lt(i, 64);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("levels");
	TCase *big = tcase_create("random");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_checked_fixture(big, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_set_timeout(big, 120);
	tcase_add_test(tc, independent);
	tcase_add_test(tc, batch_add_empty_id);
	tcase_add_test(tc, weather_pollen);
	tcase_add_test(tc, explicit_edges);
	tcase_add_test(tc, borrowed_edges);
	tcase_add_test(tc, edges_out_of_order);
	tcase_add_test(tc, edges_after_done);
	tcase_add_test(tc, call_strings);
	tcase_add_test(tc, tools_without_calls);
	tcase_add_test(tc, barrier_is_linear);
	tcase_add_test(tc, batch_order_in_levels);
	tcase_add_test(tc, error_calls);
	tcase_add_test(tc, error_only_level);
	tcase_add_test(tc, cycle_two);
	tcase_add_test(tc, cycle_self);
	tcase_add_test(tc, cycle_long);
	tcase_add_test(tc, cycle_mixed);
	tcase_add_test(tc, cycle_huge);
	tcase_add_test(tc, call_deps_api);
	tcase_add_test(tc, long_lists);
	tcase_add_test(tc, empty_and_bad_args);
	tcase_add_test(tc, json_shape);
	tcase_add_test(tc, alloc_failures);
	tcase_add_test(tc, call_deps_head);
	tcase_add_test(big, json_quadratic_refused);
	tcase_add_test(big, random_dag_grouped);
	tcase_add_test(big, random_dag_shuffled);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, big);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

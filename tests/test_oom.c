/* SPDX-License-Identifier: MIT */
/*
 * test_oom.c - allocation-failure injection over the whole planning path of the travel example
 * (graphs/travel.yaml with its own calls, then with graphs/calls/travel.*.json in each
 * dialect): load (buffer) -> tools JSON -> decode -> plan -> plan JSON, with the N-th
 * allocation failing, for N = 1, 2, ... until a run completes without reaching N. At every N:
 * a clean error (TD_ENOMEM, with the diag saying so), or a result identical to the run without
 * failures where the failure is absorbed on purpose (arrays reserved up front that simply grow
 * later); never a crash; and no leak (the ASan build's LeakSanitizer checks each test).
 *
 * The library allocates through td__malloc(), which td__alloc_fail_at() makes fail. cJSON
 * allocates with plain malloc unless told otherwise, and its hooks are global to the process,
 * so only this test routes them through td__malloc too (cJSON_InitHooks below); the library
 * itself never changes them, since a host program may have its own. libyaml's allocations
 * cannot be hooked at all (it calls malloc directly): they are not injected here.
 *
 * cJSON cannot tell its own allocation failure from a syntax error: a parse that fails for
 * want of memory reads as "not valid JSON" (TD_ESYNTAX for the batch, or a call-level error
 * for OpenAI arguments). When the failing allocation was cJSON's, the test accepts that
 * outcome too; every failure of the library's own allocations must be TD_ENOMEM.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/util.h"

/* Whether the injected failure hit an allocation made by cJSON (through the hooks). */
static bool cjson_failed;

static void *hook_malloc(size_t n)
{
	void *p = td__malloc(n);

	if (!p)
		cjson_failed = true;
	return p;
}

static void hook_free(void *p)
{
	td__free(p);
}

struct text {
	char *data;
	size_t len;
};

static struct text read_src(const char *rel)
{
	const char *src = getenv("TD_SRC");
	struct text t = {0};
	char path[4096];
	FILE *f;
	long n;

	ck_assert_msg(src != NULL, "TD_SRC is not set");
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	t.data = malloc((size_t)n);
	ck_assert_ptr_nonnull(t.data);
	ck_assert_uint_eq(fread(t.data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	t.len = (size_t)n;
	return t;
}

/* One pass of the whole path; *out is the tools JSON and the plan JSON, concatenated. */
static int pipeline(const struct text *yaml, const struct text *calls, char **out,
                    struct td_diag *d)
{
	struct td_graph *g = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	char *tools = NULL, *plan = NULL;
	int r;

	*out = NULL;
	r = td_graph_load_buffer(yaml->data, yaml->len, "travel.yaml", "/tmp", &g, d);
	if (!r)
		r = td_graph_tools_json(g, TD_DIALECT_OPENAI, 0, &tools);
	if (!r && calls)
		r = td_batch_decode(g, calls->data, calls->len, TD_DIALECT_AUTO, "calls.json", &b,
		                    d);
	else if (!r)
		r = td_batch_from_graph(g, &b, d);
	if (!r)
		r = td_plan_new(b, &p, d);
	if (!r)
		r = td_plan_json(p, 0, &plan);
	/* the joined copy is the test's own, made with the failure injection off */
	if (!r && (*out = malloc(strlen(tools) + strlen(plan) + 2)))
		snprintf(*out, strlen(tools) + strlen(plan) + 2, "%s\n%s", tools, plan);
	free(tools);
	free(plan);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	return r;
}

struct stats {
	long runs, enomem, other, absorbed;
};

/* Loops N over one input; returns the allocations a complete run makes. */
static long inject(const char *calls_rel, struct stats *st)
{
	struct text yaml = read_src("graphs/travel.yaml"), calls = {0};
	struct td_diag d = {0};
	char *want, *got;
	long n, seen;
	int r;

	if (calls_rel)
		calls = read_src(calls_rel);
	ck_assert_int_eq(pipeline(&yaml, calls_rel ? &calls : NULL, &want, &d), 0);
	ck_assert_ptr_nonnull(want);
	for (n = 1;; n++) {
		cjson_failed = false;
		td__alloc_fail_at(n);
		r = pipeline(&yaml, calls_rel ? &calls : NULL, &got, &d);
		seen = td__alloc_fail_at(0);
		st->runs++;
		if (seen < n) { /* the whole path ran without reaching the failure */
			ck_assert_int_eq(r, 0);
			ck_assert_str_eq(got, want);
			free(got);
			break;
		}
		if (r == 0 && !cjson_failed) { /* absorbed: the result must not show it */
			ck_assert_msg(strcmp(got, want) == 0,
			              "n=%ld: absorbed failure changed the output", n);
			st->absorbed++;
		} else if (r == 0) {
			st->other++; /* cJSON's failure read as invalid arguments: a call-level
			                error */
		} else if (!cjson_failed) {
			ck_assert_msg(r == TD_ENOMEM, "n=%ld: %s instead of TD_ENOMEM (%s)", n,
			              td_errname(r), d.count ? d.items[0].message : "no diag");
			st->enomem++;
		} else {
			ck_assert_msg(r == TD_ENOMEM || r == TD_ESYNTAX, "n=%ld (in cJSON): %s", n,
			              td_errname(r));
			if (r == TD_ENOMEM)
				st->enomem++;
			else
				st->other++;
		}
		/* the diag says why, unless the first failing allocation was a diag item's own */
		if (r < 0 && d.count)
			ck_assert_int_eq(d.code, r);
		free(got);
		td_diag_clear(&d);
	}
	free(want);
	free(yaml.data);
	free(calls.data);
	return n - 1;
}

static void report(const char *what, long total, const struct stats *st)
{
	/* the figures in tests/README.md come from here */
	printf("oom %s: %ld allocations, %ld runs: %ld TD_ENOMEM, %ld absorbed, %ld read as "
	       "invalid JSON by cJSON\n",
	       what, total, st->runs, st->enomem, st->absorbed, st->other);
	ck_assert_int_gt(total, 50);
	ck_assert_int_gt(st->enomem, total / 2);
}

static void setup(void)
{
	cJSON_Hooks hooks = {hook_malloc, hook_free};

	cJSON_InitHooks(&hooks);
}

static void teardown(void)
{
	td__alloc_fail_at(0);
	cJSON_InitHooks(NULL);
}

/* The travel example's own calls:, then its call files in each dialect. */
static const char *const inputs[] = {
    NULL,
    "graphs/calls/travel.anthropic.json",
    "graphs/calls/travel.openai.json",
    "graphs/calls/travel.responses.json",
};

START_TEST(travel)
{
	struct stats st = {0};

	report(inputs[_i] ? inputs[_i] : "travel.yaml calls:", inject(inputs[_i], &st), &st);
}
END_TEST

/* The hooks really route cJSON through the wrapper: its first allocation fails on demand. */
START_TEST(hooks_in_place)
{
	cJSON *j;

	td__alloc_fail_at(1);
	j = cJSON_Parse("{\"a\":1}");
	td__alloc_fail_at(0);
	ck_assert_ptr_null(j);
	ck_assert(cjson_failed);
	j = cJSON_Parse("{\"a\":1}");
	ck_assert_ptr_nonnull(j);
	cJSON_Delete(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("oom");
	TCase *tc = tcase_create("travel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, hooks_in_place);
	tcase_add_loop_test(tc, travel, 0, (int)(sizeof(inputs) / sizeof(inputs[0])));
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

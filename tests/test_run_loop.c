/* SPDX-License-Identifier: MIT */
/*
 * test_run_loop.c - runs on the real event loop: the embedding path (fd, timeout, step), the
 * built-in tools, the kinds with a backend of their own, every allocation failure, and the
 * example graph through the public API.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_run_fixture.h"

/* ---- the embedding path: fd + timeout + step from the host's poll() ---- */

START_TEST(embedded_poll_loop)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN);
	struct td_run_opts o = {0};
	struct pollfd pfd;
	int r, steps = 0;

	fx_tool_dep(&F, b, a);
	fx_call(&F, "a1", "a", "{\"ms\":20}");
	fx_call(&F, "a2", "a", "{\"ms\":40}");
	fx_call(&F, "b1", "b", "{\"ms\":1}");
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_timeout(R), 0);
	pfd.fd = td_run_fd(R);
	ck_assert_int_ge(pfd.fd, 0);
	pfd.events = POLLIN;
	while ((r = td_run_step(R)) == 1) {
		int t = td_run_timeout(R);

		ck_assert_int_ge(t, 0);
		ck_assert_int_le(t, 41);
		poll(&pfd, 1, t);
		steps++;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(td_run_timeout(R), -1);
	ck_assert_int_lt(steps, 1000);
	ck_assert_int_eq(status(2), TD_STATUS_OK);
	ck_assert_int_ge(td_run_makespan_us(R), 41000);
}
END_TEST

START_TEST(unsupported_kinds)
{
	struct td_run_opts o = {0};
	struct td_diag d = {0};

	fx_tool(&F, "web", TD_KIND_HTTP);
	fx_tool(&F, "fn", TD_KIND_FUNCTION);
	fx_call(&F, "c0", "web", "{}");
	fx_call(&F, "c1", "fn", "{}");
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, &d), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(status(0), TD_STATUS_ERROR);
	/* http tools have a backend now (exec/http.c); a hand-made one without a url fails */
	ck_assert_str_eq(content(0), "http tool without a url");
	/* function tools are supported; without a registry none is registered */
	ck_assert_str_eq(content(1), "function 'fn' is not registered with this run");
}
END_TEST

/* ---- built-ins on the real loop ---- */

START_TEST(builtin_sleep_and_echo)
{
	struct td_run_opts o = {0};
	struct td_result res;

	fx_tool(&F, "wait", TD_KIND_BUILTIN);
	F.g.tools[fx_tool(&F, "echo", TD_KIND_BUILTIN)].builtin = TD_BUILTIN_ECHO;
	fx_call(&F, "s", "wait", "{\"ms\":30}");
	fx_call(&F, "e", "echo", "{\"x\":[1,2]}");
	fx_call(&F, "bad", "wait", "{\"ms\":\"soon\"}");
	fx_call(&F, "neg", "wait", "{\"ms\":-1}");
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(td_run_result(R, 0, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_OK);
	ck_assert_str_eq(res.content, "slept 30ms");
	ck_assert_int_ge(res.end_us - res.start_us, 30000);
	ck_assert_str_eq(content(1), "{\"x\":[1,2]}");
	ck_assert_str_eq(content(2), "builtin sleep: input.ms must be a non-negative number");
	ck_assert_str_eq(content(3), "builtin sleep: input.ms must be a non-negative number");
}
END_TEST

START_TEST(builtin_sleep_timeout)
{
	int t = fx_tool(&F, "wait", TD_KIND_BUILTIN);
	struct td_run_opts o = {0};
	struct td_result res;

	F.g.tools[t].lim.timeout_us = 20000;
	fx_call(&F, "s", "wait", "{\"ms\":5000}");
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(td_run_result(R, 0, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_TIMEOUT);
	ck_assert_str_eq(res.content, "timed out after 20ms");
	ck_assert_int_lt(td_run_makespan_us(R), 1000000);
}
END_TEST

START_TEST(thousand_concurrent_sleeps)
{
	struct td_run_opts o = {.concurrency = 1000};
	char id[16];
	int i;

	fx_free(&F);
	fx_init_cap(&F, "/tmp", 1000);
	fx_tool(&F, "wait", TD_KIND_BUILTIN);
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		fx_call(&F, id, "wait", "{\"ms\":1}");
	}
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(status((size_t)i), TD_STATUS_OK);
	/* generous: timing targets belong to the benchmarks */
	ck_assert_int_lt(td_run_makespan_us(R), 2000000);
}
END_TEST

START_TEST(cancel_real_sleeps)
{
	struct td_run_opts o = {0};

	fx_tool(&F, "wait", TD_KIND_BUILTIN);
	fx_call(&F, "s0", "wait", "{\"ms\":10000}");
	fx_call(&F, "s1", "wait", "{\"ms\":10000}");
	fx_plan(&F);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_step(R), 1);
	td_run_cancel(R);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(status(0), TD_STATUS_CANCELLED);
	ck_assert_int_eq(status(1), TD_STATUS_CANCELLED);
	ck_assert_int_lt(td_run_makespan_us(R), 1000000);
}
END_TEST

/* ---- allocation failures: every one of them, one at a time ---- */

static void alloc_graph(void)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN);
	int c = fx_tool(&F, "rated", TD_KIND_BUILTIN);

	F.g.tools[fx_tool(&F, "e", TD_KIND_BUILTIN)].builtin = TD_BUILTIN_ECHO;
	fx_tool_dep(&F, b, a);
	F.g.tools[b].stdin_mode = TD_STDIN_ENVELOPE;
	F.g.tools[a].lim.retries = 2;
	F.g.tools[a].lim.backoff_us = 1000;
	F.g.tools[c].lim.rate_count = 1;
	F.g.tools[c].lim.rate_period_us = 2000;
	fx_call(&F, "a1", "a", "{\"ms\":1}");
	fx_call(&F, "a2", "a", "{\"ms\":\"x\"}");
	fx_call(&F, "b1", "b", "{\"ms\":1}");
	fx_call(&F, "r1", "rated", "{\"ms\":1}");
	fx_call(&F, "r2", "rated", "{\"ms\":1}");
	fx_call(&F, "e1", "e", "{\"x\":1}");
	fx_call_err(&F, "bad", "zz", "{}", "unknown tool 'zz'");
	fx_plan(&F);
}

START_TEST(every_allocation_failure)
{
	struct td_run_opts o = {.seed = 3};
	long n, total;
	char *out;
	size_t c;

	alloc_graph();
	td__alloc_fail_at(0);
	ck_assert_int_eq(td_run_new(&F.p, &o, &R, NULL), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	free(out);
	ck_assert_int_eq(td_run_report_json(R, 0, &out), 0);
	free(out);
	td_run_free(R);
	R = NULL;
	total = td__alloc_fail_at(0);
	ck_assert_int_gt(total, 10);
	for (n = 1; n <= total + 5; n++) {
		td__alloc_fail_at(n);
		if (td_run_new(&F.p, &o, &R, NULL) < 0) {
			ck_assert_ptr_null(R);
			continue;
		}
		R->trace = check_transition;
		R->trace_ud = &TRANSITIONS;
		ck_assert_int_eq(td_run_wait(R), 0);
		for (c = 0; c < F.b.ncalls; c++) /* whatever failed, every call has its result */
			ck_assert_int_ge(status(c), TD_STATUS_OK);
		if (td_run_results_json(R, TD_DIALECT_AUTO, 0, &out) == 0)
			free(out);
		else
			ck_assert_ptr_null(out);
		if (td_run_report_json(R, 0, &out) == 0)
			free(out);
		td_run_free(R);
		R = NULL;
	}
	td__alloc_fail_at(0);
}
END_TEST

/* ---- through the public API, on the example graph of builtins ---- */

static int64_t pipeline_makespan(enum td_schedule sched)
{
	const char *src = getenv("TD_SRC");
	struct td_run_opts o = {.schedule = sched};
	struct td_graph *g = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	char path[4096], *out = NULL;
	int64_t ms;

	snprintf(path, sizeof(path), "%s/graphs/pipeline.yaml", src ? src : ".");
	ck_assert_int_eq(td_graph_load_file(path, &g, NULL), 0);
	ck_assert_int_eq(td_batch_from_graph(g, &b, NULL), 0);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	ck_assert_int_eq(td_run_results_json(r, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "{\"role\":\"user\",\"content\":["
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"split\",\"content\":"
	                      "\"{\\\"step\\\":\\\"split\\\"}\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"fetch_a\",\"content\":"
	                      "\"slept 300ms\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"fetch_b\",\"content\":"
	                      "\"slept 100ms\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"parse_a\",\"content\":"
	                      "\"slept 50ms\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"parse_b\",\"content\":"
	                      "\"slept 250ms\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"merge\",\"content\":"
	                      "\"{\\\"step\\\":\\\"merge\\\"}\"}]}");
	free(out);
	ms = td_run_makespan_us(r) / 1000;
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	return ms;
}

START_TEST(pipeline_level_vs_eager)
{
	int64_t level = pipeline_makespan(TD_SCHEDULE_LEVEL);
	int64_t eager = pipeline_makespan(TD_SCHEDULE_EAGER);

	/* level: 300 (fetch_a) + 250 (parse_b); eager: the longer chain, 100 + 250 */
	ck_assert_int_ge(level, 550);
	ck_assert_int_lt(level, 1500);
	ck_assert_int_ge(eager, 350);
	ck_assert_int_lt(eager, level);
}
END_TEST

static Suite *run_loop_suite(void)
{
	Suite *s = suite_create("run_loop");
	TCase *tc = tcase_create("loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, embedded_poll_loop);
	tcase_add_test(tc, unsupported_kinds);
	tcase_add_test(tc, builtin_sleep_and_echo);
	tcase_add_test(tc, builtin_sleep_timeout);
	tcase_add_test(tc, thousand_concurrent_sleeps);
	tcase_add_test(tc, cancel_real_sleeps);
	tcase_add_test(tc, every_allocation_failure);
	tcase_add_test(tc, pipeline_level_vs_eager);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(run_loop_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_run.c - scheduler semantics with a fake backend in virtual time (no ring, no process,
 * no kernel timer): level barrier, eager order, limits, waves, rate, retries, dependency
 * failure, call-level errors, cancellation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_run_fixture.h"

/* ---- policies ---- */

/* Starts of running calls, as a string of call indices ("0 1 2"), in start order. */
static const char *running(void)
{
	static char buf[256];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < FK->nev && n < sizeof(buf) - 8; i++)
		if (FK->ev[i].start && fake_job(FK, FK->ev[i].call))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, n ? " %u" : "%u",
			                      FK->ev[i].call);
	return buf;
}

static void finish_call(uint32_t c)
{
	fake_complete(FK, fake_job(FK, c), TD_STATUS_OK, "ok");
	ck_assert_int_eq(td_run_step(R), 1);
}

START_TEST(level_barrier)
{
	barrier_graph();
	FK->manual = 1;
	run_fake(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(F.p.nlevels, 2);
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_str_eq(running(), "0 1 2");
	finish_call(2); /* d1's own dependency is done, but level 0 is not */
	ck_assert_str_eq(running(), "0 1");
	finish_call(0);
	ck_assert_str_eq(running(), "1");
	finish_call(1); /* level 0 done: level 1 in batch order */
	ck_assert_str_eq(running(), "3 4");
	fake_complete(FK, fake_job(FK, 3), TD_STATUS_OK, "b");
	fake_complete(FK, fake_job(FK, 4), TD_STATUS_OK, "d");
	ck_assert_int_eq(td_run_step(R), 0);
	ck_assert_int_eq(status(4), TD_STATUS_OK);
	ck_assert_str_eq(content(4), "d");
	ck_assert_uint_eq(TRANSITIONS, 5 * 3); /* WAITING -> READY -> RUNNING -> DONE each */
}
END_TEST

START_TEST(eager_dataflow)
{
	barrier_graph();
	FK->manual = 1;
	run_fake(0, TD_SCHEDULE_EAGER);
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_str_eq(running(), "0 1 2");
	finish_call(2); /* d1 only waits for c1 */
	ck_assert_str_eq(running(), "0 1 4");
	finish_call(0); /* b1 waits for every call of tool a, through the barrier */
	ck_assert_str_eq(running(), "1 4");
	finish_call(1);
	ck_assert_str_eq(running(), "4 3");
}
END_TEST

START_TEST(level_barrier_timestamps)
{
	barrier_graph();
	run_all(0, TD_SCHEDULE_LEVEL);
	/* nothing of level 1 starts before the last of level 0 ended */
	ck_assert_int_ge(fake_when(FK, 4, 1, 1), fake_when(FK, 1, 0, 1));
	ck_assert_int_ge(fake_when(FK, 3, 1, 1), fake_when(FK, 1, 0, 1));
	ck_assert_int_ge(fake_when(FK, 3, 1, 1), fake_when(FK, 0, 0, 1));
}
END_TEST

START_TEST(eager_batch_order)
{
	int i;
	char id[16];

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id, "a", NULL);
	}
	run_all(1, TD_SCHEDULE_EAGER);
	ck_assert_uint_eq(FK->max_inflight, 1);
	for (i = 0; i < 10; i++) {
		ck_assert_uint_eq(FK->ev[2 * i].call, (unsigned)i);
		ck_assert_int_eq(FK->ev[2 * i].start, 1);
	}
}
END_TEST

/* ---- limits ---- */

START_TEST(global_concurrency_waves)
{
	int i;
	char id[16];

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "c%02d", i);
		fx_call(&F, id, "a", NULL);
		FK->dur_us[i] = 2000 + (i % 3) * 1000;
	}
	run_all(3, TD_SCHEDULE_LEVEL);
	ck_assert_uint_eq(FK->max_inflight, 3);
	/* starts in batch order */
	for (i = 1; i < 20; i++)
		ck_assert_int_ge(fake_when(FK, (uint32_t)i, 1, 1),
		                 fake_when(FK, (uint32_t)i - 1, 1, 1));
}
END_TEST

START_TEST(graph_concurrency_default)
{
	int i;
	char id[16];

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	F.g.concurrency = 4;
	for (i = 0; i < 12; i++) {
		snprintf(id, sizeof(id), "c%02d", i);
		fx_call(&F, id, "a", NULL);
	}
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_uint_eq(FK->max_inflight, 4);
}
END_TEST

START_TEST(per_tool_concurrency)
{
	int x = fx_tool(&F, "x", TD_KIND_BUILTIN), i, order[10], n = 0;
	char id[16];

	fx_tool(&F, "y", TD_KIND_BUILTIN);
	F.g.tools[x].lim.concurrency = 2;
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "c%02d", i);
		fx_call(&F, id, i % 2 ? "y" : "x", NULL);
		FK->dur_us[i] = 2000;
	}
	run_all(8, TD_SCHEDULE_LEVEL);
	ck_assert_uint_eq(FK->tool_max[x], 2);
	ck_assert_uint_le(FK->max_inflight, 8);
	/* the other tool was not held back behind x: y calls ran up to 6 at once */
	ck_assert_uint_ge(FK->tool_max[1], 5);
	for (i = 0; (size_t)i < FK->nev; i++)
		if (FK->ev[i].start && FK->ev[i].call % 2 == 0)
			order[n++] = (int)FK->ev[i].call;
	ck_assert_int_eq(n, 10);
	for (i = 1; i < n; i++)
		ck_assert_int_gt(order[i], order[i - 1]);
}
END_TEST

START_TEST(rate_limit_spacing)
{
	int t = fx_tool(&F, "r", TD_KIND_BUILTIN), i;
	char id[16];

	F.g.tools[t].lim.rate_count = 2; /* 2 per 60ms: one every 30ms, the first at once */
	F.g.tools[t].lim.rate_period_us = 60000;
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id, "r", NULL);
	}
	run_all(0, TD_SCHEDULE_LEVEL);
	/* the recorded starts: the same clock reading the limiter admitted each call with */
	ck_assert_int_lt(R->calls[0].start_us, 500000);
	for (i = 1; i < 6; i++) {
		int64_t gap = R->calls[i].start_us - R->calls[i - 1].start_us;

		ck_assert_int_ge(gap, 29999);
		ck_assert_int_lt(gap, 1000000);
	}
	/* never more than 2 starts in any 60ms window */
	for (i = 2; i < 6; i++)
		ck_assert_int_ge(R->calls[i].start_us - R->calls[i - 2].start_us, 59999);
}
END_TEST

/* ---- retries ---- */

START_TEST(retries_backoff_grows)
{
	int t = fx_tool(&F, "a", TD_KIND_BUILTIN);
	struct td_result res;
	char *rep = NULL;

	F.g.tools[t].lim.retries = 3;
	F.g.tools[t].lim.backoff_us = 10000;
	fx_call(&F, "c0", "a", "{}");
	FK->fail_first[0] = 2;
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_result(R, 0, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_OK);
	ck_assert_uint_eq(res.attempts, 3);
	/* backoff 10ms then 20ms, each plus at most 25% jitter */
	ck_assert_int_ge(fake_when(FK, 0, 1, 2) - fake_when(FK, 0, 0, 1), 10000);
	ck_assert_int_lt(fake_when(FK, 0, 1, 2) - fake_when(FK, 0, 0, 1), 1000000);
	ck_assert_int_ge(fake_when(FK, 0, 1, 3) - fake_when(FK, 0, 0, 2), 20000);
	ck_assert_int_eq(td_run_report_json(R, 0, &rep), 0);
	ck_assert_ptr_nonnull(strstr(rep, "\"attempts\":3"));
	ck_assert_ptr_nonnull(strstr(rep, "\"attempts_detail\":[{\"status\":\"error\""));
	free(rep);
}
END_TEST

START_TEST(retries_exhausted)
{
	int t = fx_tool(&F, "a", TD_KIND_BUILTIN);
	struct td_result res;

	F.g.tools[t].lim.retries = 1;
	F.g.tools[t].lim.backoff_us = 1000;
	fx_call(&F, "c0", "a", "{}");
	fx_call(&F, "c1", "a", "{}");
	FK->fail_first[0] = 5;
	FK->fail_first[1] = 5;
	FK->timeout_first[1] = 1;
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_result(R, 0, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_ERROR);
	ck_assert_uint_eq(res.attempts, 2);
	ck_assert_str_eq(res.content, "{}#2");
	ck_assert_int_eq(td_run_result(R, 1, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_TIMEOUT);
	ck_assert_uint_eq(res.attempts, 2);
}
END_TEST

START_TEST(no_retry_without_retries)
{
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "c0", "a", "{}");
	FK->fail_first[0] = 1;
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(status(0), TD_STATUS_ERROR);
	ck_assert_uint_eq(FK->nev, 2);
}
END_TEST

/* ---- dependency failure ---- */

static void chain_graph(enum td__depfail policy)
{
	int a = fx_tool(&F, "fetch_weather", TD_KIND_BUILTIN);
	int b = fx_tool(&F, "lookup_pollen", TD_KIND_BUILTIN);
	int c = fx_tool(&F, "report", TD_KIND_BUILTIN);

	fx_tool_dep(&F, b, a);
	fx_tool_dep(&F, c, b);
	F.g.tools[b].lim.on_dependency_failure = policy;
	F.g.tools[b].stdin_mode = TD_STDIN_ENVELOPE;
	fx_call(&F, "toolu_01", "fetch_weather", "{\"city\":\"Paris\"}");
	fx_call(&F, "toolu_02", "lookup_pollen", "{\"city\":\"Paris\"}");
	fx_call(&F, "toolu_03", "report", "{}");
	fx_call(&F, "toolu_04", "fetch_weather", "{\"city\":\"Rome\"}");
	FK->fail_first[0] = 1;
}

START_TEST(dependency_failure_skips)
{
	chain_graph(TD_DEPFAIL_SKIP);
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(status(0), TD_STATUS_ERROR);
	ck_assert_int_eq(status(3), TD_STATUS_OK);
	ck_assert_int_eq(status(1), TD_STATUS_SKIPPED);
	ck_assert_str_eq(content(1), "skipped: dependency fetch_weather (toolu_01) failed");
	ck_assert_int_eq(status(2), TD_STATUS_SKIPPED);
	ck_assert_str_eq(content(2), "skipped: dependency lookup_pollen (toolu_02) failed");
	ck_assert_int_eq(fake_when(FK, 1, 1, 1), -1);
}
END_TEST

START_TEST(dependency_failure_skips_eager)
{
	chain_graph(TD_DEPFAIL_SKIP);
	run_all(0, TD_SCHEDULE_EAGER);
	ck_assert_int_eq(status(1), TD_STATUS_SKIPPED);
	ck_assert_int_eq(status(2), TD_STATUS_SKIPPED);
	ck_assert_int_eq(status(3), TD_STATUS_OK);
}
END_TEST

START_TEST(dependency_failure_runs_with_envelope)
{
	chain_graph(TD_DEPFAIL_RUN);
	fx_call_dep(&F, 1, 0); /* also explicit: still listed once in upstream */
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(status(1), TD_STATUS_OK);
	ck_assert_str_eq(
	    FK->stdin_seen[1],
	    "{\"id\":\"toolu_02\",\"name\":\"lookup_pollen\",\"input\":{\"city\":"
	    "\"Paris\"},\"upstream\":[{\"id\":\"toolu_01\",\"name\":\"fetch_weather\","
	    "\"content\":\"{\\\"city\\\":\\\"Paris\\\"}#1\",\"is_error\":true},{\"id\":"
	    "\"toolu_04\",\"name\":\"fetch_weather\",\"content\":\"{\\\"city\\\":\\\"Rome"
	    "\\\"}\",\"is_error\":false}]}");
	/* report's own default is skip, and lookup_pollen succeeded: it runs */
	ck_assert_int_eq(status(2), TD_STATUS_OK);
	/* plain stdin mode: the input itself */
	ck_assert_str_eq(FK->stdin_seen[2], "{}");
}
END_TEST

START_TEST(upstream_listed_once)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN), i;

	fx_tool_dep(&F, b, a);
	F.g.tools[b].stdin_mode = TD_STDIN_ENVELOPE;
	fx_call(&F, "a0", "a", "0");
	fx_call(&F, "a1", "a", "1");
	fx_call(&F, "a2", "a", "2");
	fx_call(&F, "b0", "b", "{}");
	for (i = 0; i < 3; i++) /* explicit edges on top of the tool-level ones */
		fx_call_dep(&F, 3, i);
	run_all(0, TD_SCHEDULE_EAGER);
	ck_assert_str_eq(FK->stdin_seen[3],
	                 "{\"id\":\"b0\",\"name\":\"b\",\"input\":{},\"upstream\":["
	                 "{\"id\":\"a0\",\"name\":\"a\",\"content\":\"0\",\"is_error\":false},"
	                 "{\"id\":\"a1\",\"name\":\"a\",\"content\":\"1\",\"is_error\":false},"
	                 "{\"id\":\"a2\",\"name\":\"a\",\"content\":\"2\",\"is_error\":false}]}");
}
END_TEST

/* n calls of tool a, then n of b, which depends on a; a's call `bad` fails */
static void fan_graph(int n, int bad)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN), i;
	char id[16];

	fx_tool_dep(&F, b, a);
	for (i = 0; i < 2 * n; i++) {
		snprintf(id, sizeof(id), "%c%d", i < n ? 'a' : 'b', i % n);
		fx_call(&F, id, i < n ? "a" : "b", "{}");
	}
	FK->fail_first[bad] = 1;
}

/* Skipping costs O(1) per call: the reason was kept as the failure propagated, no call's
 * dependency list is expanded to find it (that made one failure quadratic). */
static void check_fan_skipped(int n)
{
	int i;

	for (i = n; i < 2 * n; i++) {
		ck_assert_int_eq(status((size_t)i), TD_STATUS_SKIPPED);
		ck_assert_str_eq(content((size_t)i), "skipped: dependency a (a17) failed");
	}
	ck_assert_uint_eq(R->deps_expanded, 0);
}

START_TEST(failure_skips_without_expanding)
{
	fan_graph(2000, 17);
	run_all(64, TD_SCHEDULE_LEVEL);
	check_fan_skipped(2000);
}
END_TEST

START_TEST(failure_skips_without_expanding_eager)
{
	fan_graph(2000, 17);
	run_all(64, TD_SCHEDULE_EAGER);
	check_fan_skipped(2000);
}
END_TEST

/* An envelope lists the upstream results: one expansion per call that runs, no more. */
START_TEST(envelope_expands_once_per_start)
{
	fan_graph(100, 17);
	F.g.tools[1].stdin_mode = TD_STDIN_ENVELOPE;
	F.g.tools[1].lim.on_dependency_failure = TD_DEPFAIL_RUN;
	run_all(8, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(status(150), TD_STATUS_OK);
	ck_assert_uint_eq(R->deps_expanded, 100);
}
END_TEST

/* Two failed dependencies, the later one in batch order failing first: the reason names the
 * first in batch order, whatever the timing (same outcomes, same bytes). */
START_TEST(skip_reason_is_first_in_batch_order)
{
	fan_graph(3, 2);
	FK->fail_first[0] = 1;
	FK->dur_us[0] = 50000; /* a0 fails last */
	run_all(0, TD_SCHEDULE_EAGER);
	ck_assert_int_lt(fake_when(FK, 2, 0, 1), fake_when(FK, 0, 0, 1));
	ck_assert_str_eq(content(3), "skipped: dependency a (a0) failed");
	ck_assert_str_eq(content(5), "skipped: dependency a (a0) failed");
}
END_TEST

/* ---- call-level errors ---- */

START_TEST(call_level_errors)
{
	int c0, c1;

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	c0 = fx_call_err(&F, "bad", "nope", "{}", "unknown tool 'nope' (did you mean 'a'?)");
	c1 = fx_call(&F, "dep", "a", "{}");
	fx_call(&F, "free", "a", "{}");
	fx_call_dep(&F, c1, c0);
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(status(0), TD_STATUS_ERROR);
	ck_assert_str_eq(content(0), "unknown tool 'nope' (did you mean 'a'?)");
	ck_assert_int_eq(status(1), TD_STATUS_SKIPPED);
	ck_assert_str_eq(content(1), "skipped: dependency nope (bad) failed");
	ck_assert_int_eq(status(2), TD_STATUS_OK);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(cancel_mid_run)
{
	int i;
	char id[16];
	struct td_result res;

	FK->manual = 1;
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id, "a", "{}");
	}
	run_fake(3, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_uint_eq(FK->nrunning, 3);
	fake_complete(FK, fake_job(FK, 0), TD_STATUS_OK, "done");
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_uint_eq(FK->nrunning, 3);
	td_run_cancel(R);
	td_run_cancel(R); /* idempotent */
	while (td_run_step(R) == 1)
		;
	ck_assert_uint_eq(FK->kills, 3);
	ck_assert_str_eq(content(0), "done");
	for (i = 1; i < 5; i++) {
		ck_assert_int_eq(td_run_result(R, (size_t)i, &res), 0);
		ck_assert_int_eq(res.status, TD_STATUS_CANCELLED);
		ck_assert_str_eq(res.content, "cancelled");
		ck_assert_int_eq(res.is_error, 1);
	}
	ck_assert_int_eq(td_run_result(R, 4, &res), 0);
	ck_assert_uint_eq(res.attempts, 0);
}
END_TEST

START_TEST(cancel_before_start)
{
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "c0", "a", "{}");
	fx_call_err(&F, "c1", "zz", "{}", "unknown tool 'zz'");
	run_fake(0, TD_SCHEDULE_LEVEL);
	td_run_cancel(R);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(status(0), TD_STATUS_CANCELLED);
	ck_assert_str_eq(content(1), "unknown tool 'zz'");
}
END_TEST

START_TEST(cancel_one_call)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN);
	int i;
	char id[16];

	FK->manual = 1;
	fx_tool_dep(&F, b, a);
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "a%d", i);
		fx_call(&F, id, "a", "{}");
	}
	fx_call(&F, "b0", "b", "{}");
	F.g.tools[a].lim.concurrency = 1;
	run_fake(2, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_uint_eq(FK->nrunning, 1);
	ck_assert_int_eq(td_run_cancel_call(R, 0), 0); /* running: killed */
	ck_assert_int_eq(td_run_cancel_call(R, 2), 0); /* parked behind the tool limit */
	ck_assert_int_eq(td_run_cancel_call(R, 99), TD_EINVAL);
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_uint_eq(FK->kills, 1);
	ck_assert_int_eq(status(0), TD_STATUS_CANCELLED);
	ck_assert_int_eq(status(2), TD_STATUS_CANCELLED);
	ck_assert_str_eq(content(2), "cancelled");
	/* a1 runs, then a3: a2 was dropped from the queue */
	ck_assert_ptr_nonnull(fake_job(FK, 1));
	fake_complete(FK, fake_job(FK, 1), TD_STATUS_OK, "one");
	ck_assert_int_eq(td_run_step(R), 1);
	ck_assert_ptr_nonnull(fake_job(FK, 3));
	ck_assert_int_eq(td_run_cancel_call(R, 1), 0); /* done already: keeps its result */
	ck_assert_str_eq(content(1), "one");
	fake_complete(FK, fake_job(FK, 3), TD_STATUS_OK, "three");
	while (td_run_step(R) == 1)
		;
	ck_assert_int_eq(status(4), TD_STATUS_SKIPPED);
	ck_assert_str_eq(content(4), "skipped: dependency a (a0) failed");
	ck_assert_int_eq(fake_when(FK, 2, 1, 1), -1);
}
END_TEST

static void deaf_kill(struct td__backend *be, struct td__job *j)
{
	(void)be;
	(void)j; /* breaks the contract: the job never comes back */
}

START_TEST(stalled_backend_is_an_error_not_a_hang)
{
	FK->manual = 1;
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "c0", "a", "{}");
	run_fake(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_wait(R), TD_ESTATE);
	ck_assert_int_eq(td_run_timeout(R), TD_ESTATE); /* what a host's own loop checks */
	FK->be.kill = FK->be.kill_now = deaf_kill;
	td_run_free(R); /* returns rather than waiting forever */
	R = NULL;
}
END_TEST

START_TEST(free_while_running)
{
	FK->manual = 1;
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "c0", "a", "{}");
	run_fake(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_step(R), 1);
	td_run_free(R);
	R = NULL;
	ck_assert_uint_eq(FK->kills, 1);
	ck_assert_uint_eq(FK->nrunning, 0);
}
END_TEST

START_TEST(api_bad_arguments)
{
	struct td_result res;
	char *out;

	ck_assert_int_eq(td_run_new(NULL, NULL, &R, NULL), TD_EINVAL);
	ck_assert_ptr_null(R);
	ck_assert_int_eq(td_run_wait(NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_step(NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_fd(NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_timeout(NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_result(NULL, 0, &res), TD_EINVAL);
	ck_assert_int_eq(td_run_report_json(NULL, 0, &out), TD_EINVAL);
	td_run_cancel(NULL);
	td_run_free(NULL);
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "c0", "a", "{}");
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_result(R, 1, &res), TD_EINVAL);
	ck_assert_str_eq(td_status_name(TD_STATUS_SKIPPED), "skipped");
	ck_assert_str_eq(td_status_name(TD_STATUS_RUNNING), "running");
	ck_assert_str_eq(td_status_name((enum td_status)99), "unknown");
}
END_TEST

static Suite *run_suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("scheduler");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, level_barrier);
	tcase_add_test(tc, eager_dataflow);
	tcase_add_test(tc, level_barrier_timestamps);
	tcase_add_test(tc, eager_batch_order);
	tcase_add_test(tc, global_concurrency_waves);
	tcase_add_test(tc, graph_concurrency_default);
	tcase_add_test(tc, per_tool_concurrency);
	tcase_add_test(tc, rate_limit_spacing);
	tcase_add_test(tc, retries_backoff_grows);
	tcase_add_test(tc, retries_exhausted);
	tcase_add_test(tc, no_retry_without_retries);
	tcase_add_test(tc, dependency_failure_skips);
	tcase_add_test(tc, dependency_failure_skips_eager);
	tcase_add_test(tc, dependency_failure_runs_with_envelope);
	tcase_add_test(tc, upstream_listed_once);
	tcase_add_test(tc, failure_skips_without_expanding);
	tcase_add_test(tc, failure_skips_without_expanding_eager);
	tcase_add_test(tc, envelope_expands_once_per_start);
	tcase_add_test(tc, skip_reason_is_first_in_batch_order);
	tcase_add_test(tc, call_level_errors);
	tcase_add_test(tc, cancel_mid_run);
	tcase_add_test(tc, cancel_before_start);
	tcase_add_test(tc, cancel_one_call);
	tcase_add_test(tc, stalled_backend_is_an_error_not_a_hang);
	tcase_add_test(tc, free_while_running);
	tcase_add_test(tc, api_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(run_suite());
}

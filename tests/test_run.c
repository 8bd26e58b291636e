/* SPDX-License-Identifier: MIT */
/*
 * test_run.c - scheduler semantics with a fake backend (no processes): level barrier, eager
 * order, limits, waves, rate, retries, dependency failure, call-level errors, cancellation,
 * results in each dialect, the embedding path; and the built-in tools on the real loop.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_test_fixture.h"

static struct fx F;
static struct fake *FK;
static struct td_run *R;

static void setup(void)
{
	fx_init(&F, "/tmp");
	FK = fake_new(0);
}

static void teardown(void)
{
	td_run_free(R);
	R = NULL;
	fx_free(&F);
	free(FK);
}

/* The state machine's legal moves (run.h); anything else is a scheduler bug. */
static void check_transition(void *ud, uint32_t call, enum td__cstate from, enum td__cstate to)
{
	static const char legal[6][6] = {
	    /* to:        WAIT READY PARK RUN BACK DONE */
	    /* WAITING */ {0, 1, 0, 0, 0, 1},
	    /* READY   */ {0, 0, 1, 1, 0, 1},
	    /* PARKED  */ {0, 1, 0, 0, 0, 1},
	    /* RUNNING */ {0, 0, 0, 0, 1, 1},
	    /* BACKOFF */ {0, 1, 0, 0, 0, 1},
	    /* DONE    */ {0, 0, 0, 0, 0, 0},
	};
	unsigned *count = ud;

	ck_assert_msg(legal[from][to], "call %u: illegal transition %d -> %d", call, from, to);
	(*count)++;
}

static unsigned TRANSITIONS;

static void run_fake(unsigned concurrency, enum td_schedule sched)
{
	struct td_run_opts o = {.concurrency = concurrency, .schedule = sched, .seed = 42};
	struct td_diag d = {0};

	fx_plan(&F);
	ck_assert_int_eq(td__run_new_fake(&F.p, &o, &FK->be, &R, &d), 0);
	R->trace = check_transition;
	R->trace_ud = &TRANSITIONS;
	td_diag_clear(&d);
}

static void run_all(unsigned concurrency, enum td_schedule sched)
{
	run_fake(concurrency, sched);
	ck_assert_int_eq(td_run_wait(R), 0);
}

static const char *content(size_t c)
{
	static struct td_result res;

	ck_assert_int_eq(td_run_result(R, c, &res), 0);
	return res.content;
}

static enum td_status status(size_t c)
{
	struct td_result res;

	ck_assert_int_eq(td_run_result(R, c, &res), 0);
	return res.status;
}

/* ---- policies ---- */

/* a1 (20ms), a2 (40ms) at level 0 with c1 (1ms); b1 depends on tool a; d1 on c1 explicitly */
static void barrier_graph(void)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN);
	int c1, d1;

	fx_tool(&F, "c", TD_KIND_BUILTIN);
	fx_tool_dep(&F, b, a);
	fx_call(&F, "a1", "a", "{\"n\":1}");
	fx_call(&F, "a2", "a", "{\"n\":2}");
	c1 = fx_call(&F, "c1", "c", "{\"n\":3}");
	fx_call(&F, "b1", "b", "{\"n\":4}");
	d1 = fx_call(&F, "d1", "c", "{\"n\":5}");
	fx_call_dep(&F, d1, c1);
	FK->dur_us[0] = 20000;
	FK->dur_us[1] = 40000;
}

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

/* ---- call-level errors and unsupported kinds ---- */

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

/* ---- results JSON, exact bytes ---- */

static void mixed_outcomes(enum td_dialect d)
{
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	F.b.dialect = d;
	fx_call(&F, "id1", "a", "{\"q\":\"\\u00e9\\n\"}");
	fx_call(&F, "id2", "a", "{}");
	FK->fail_first[1] = 1;
	run_all(0, TD_SCHEDULE_LEVEL);
}

START_TEST(results_anthropic)
{
	char *out = NULL;

	mixed_outcomes(TD_DIALECT_ANTHROPIC);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "{\"role\":\"user\",\"content\":["
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"id1\",\"content\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"id2\",\"content\":"
	                      "\"{}#1\",\"is_error\":true}]}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 1, &out), 0);
	ck_assert_str_eq(out, "{\n  \"role\": \"user\",\n  \"content\": [\n"
	                      "    {\"type\":\"tool_result\",\"tool_use_id\":\"id1\",\"content\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},\n"
	                      "    {\"type\":\"tool_result\",\"tool_use_id\":\"id2\",\"content\":"
	                      "\"{}#1\",\"is_error\":true}\n  ]\n}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_RESPONSES, 1, &out), 0);
	ck_assert_str_eq(out, "[\n  {\"type\":\"function_call_output\",\"call_id\":\"id1\","
	                      "\"output\":\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},\n"
	                      "  {\"type\":\"function_call_output\",\"call_id\":\"id2\","
	                      "\"output\":\"{}#1\"}\n]");
	free(out);
}
END_TEST

START_TEST(results_openai)
{
	char *out = NULL;

	mixed_outcomes(TD_DIALECT_OPENAI);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "[{\"role\":\"tool\",\"tool_call_id\":\"id1\",\"content\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},"
	                      "{\"role\":\"tool\",\"tool_call_id\":\"id2\",\"content\":\"{}#1\"}]");
	free(out);
}
END_TEST

START_TEST(results_responses)
{
	char *out = NULL;

	mixed_outcomes(TD_DIALECT_RESPONSES);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "[{\"type\":\"function_call_output\",\"call_id\":\"id1\",\"output\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},"
	                      "{\"type\":\"function_call_output\",\"call_id\":\"id2\",\"output\":"
	                      "\"{}#1\"}]");
	free(out);
	/* forcing another dialect */
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_OPENAI, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"tool_call_id\":\"id2\""));
	free(out);
	ck_assert_int_eq(td_run_results_json(NULL, TD_DIALECT_OPENAI, 0, &out), TD_EINVAL);
}
END_TEST

START_TEST(results_empty_batch)
{
	char *out = NULL;

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_step(R), 0);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_ANTHROPIC, 0, &out), 0);
	ck_assert_str_eq(out, "{\"role\":\"user\",\"content\":[]}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_ANTHROPIC, 1, &out), 0);
	ck_assert_str_eq(out, "{\n  \"role\": \"user\",\n  \"content\": []\n}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_OPENAI, 1, &out), 0);
	ck_assert_str_eq(out, "[]");
	free(out);
	ck_assert_int_eq(td_run_report_json(R, 0, &out), 0);
	ck_assert_str_eq(out, "{\"makespan_ms\":0.000,\"schedule\":\"level\",\"concurrency\":16,"
	                      "\"cancelled\":false,\"calls\":[]}");
	free(out);
}
END_TEST

START_TEST(results_invalid_utf8_and_nul)
{
	char *out = NULL;
	struct td__job *j;

	FK->manual = 1;
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "x", "a", "{}");
	run_fake(0, TD_SCHEDULE_LEVEL);
	td_run_step(R);
	j = fake_job(FK, 0);
	FK->nrunning = 0;
	FK->inflight = 0;
	td__job_set_content(j, TD_STATUS_OK, "a\0b\xff", 4);
	FK->be.done(FK->be.ud, j);
	while (td_run_step(R) == 1)
		;
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"content\":\"a\\u0000b\xef\xbf\xbd\"}"));
	free(out);
}
END_TEST

START_TEST(report_fields)
{
	char *rep = NULL;
	cJSON *root, *calls, *c0;

	barrier_graph();
	fx_call_err(&F, "bad", "nope", "{}", "unknown tool 'nope'");
	fx_plan(&F);
	{
		struct td_run_opts o = {.seed = 1};

		ck_assert_int_eq(td__run_new_fake(&F.p, &o, &FK->be, &R, NULL), 0);
	}
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(td_run_report_json(R, 1, &rep), 0);
	root = cJSON_Parse(rep);
	ck_assert_ptr_nonnull(root);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(root, "makespan_ms")));
	ck_assert_double_ge(cJSON_GetObjectItem(root, "makespan_ms")->valuedouble, 40.0);
	calls = cJSON_GetObjectItem(root, "calls");
	ck_assert_int_eq(cJSON_GetArraySize(calls), 6);
	c0 = cJSON_GetArrayItem(calls, 3);
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "id")->valuestring, "b1");
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "name")->valuestring, "b");
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "level")->valueint, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "status")->valuestring, "ok");
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "attempts")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "exit_code")->valueint, 0);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(c0, "truncated")));
	ck_assert_double_ge(cJSON_GetObjectItem(c0, "start_ms")->valuedouble, 40.0);
	ck_assert_double_ge(cJSON_GetObjectItem(c0, "end_ms")->valuedouble,
	                    cJSON_GetObjectItem(c0, "start_ms")->valuedouble);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c0, "attempts_detail")), 1);
	c0 = cJSON_GetArrayItem(calls, 5);
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "status")->valuestring, "error");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(c0, "start_ms")));
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "attempts")->valueint, 0);
	cJSON_Delete(root);
	free(rep);
}
END_TEST

/* ---- the embedding path: fd + timeout + step from the host's poll() ---- */

START_TEST(embedded_poll_loop)
{
	struct pollfd pfd;
	int r, steps = 0;

	barrier_graph();
	run_fake(0, TD_SCHEDULE_LEVEL);
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
	ck_assert_int_eq(status(3), TD_STATUS_OK);
	ck_assert_int_ge(td_run_makespan_us(R), 40000);
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
	tcase_add_test(tc, call_level_errors);
	tcase_add_test(tc, unsupported_kinds);
	tcase_add_test(tc, cancel_mid_run);
	tcase_add_test(tc, cancel_before_start);
	tcase_add_test(tc, cancel_one_call);
	tcase_add_test(tc, free_while_running);
	tcase_add_test(tc, stalled_backend_is_an_error_not_a_hang);
	tcase_add_test(tc, results_anthropic);
	tcase_add_test(tc, results_openai);
	tcase_add_test(tc, results_responses);
	tcase_add_test(tc, results_empty_batch);
	tcase_add_test(tc, results_invalid_utf8_and_nul);
	tcase_add_test(tc, report_fields);
	tcase_add_test(tc, embedded_poll_loop);
	tcase_add_test(tc, api_bad_arguments);
	tcase_add_test(tc, builtin_sleep_and_echo);
	tcase_add_test(tc, builtin_sleep_timeout);
	tcase_add_test(tc, thousand_concurrent_sleeps);
	tcase_add_test(tc, cancel_real_sleeps);
	tcase_add_test(tc, pipeline_level_vs_eager);
	tcase_add_test(tc, every_allocation_failure);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(run_suite());
}

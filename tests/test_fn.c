/* SPDX-License-Identifier: MIT */
/*
 * test_fn.c - function tools through the public API: the registry, the three modes (inline,
 * blocking on the worker pool, asynchronous completion from another thread), what the
 * scheduler adds on top (timeouts, retries, per-tool concurrency, dependency failure, the
 * envelope, max_output), cancellation of one call and of a run, late completions, streaming
 * finished calls, and two runs on two threads sharing a graph and a registry.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "td_test_cpu.h"
#include "tooldag.h"
#include "util/util.h" /* td__alloc_fail_at */

static const char GRAPH[] = "version: 1\n"
                            "concurrency: 16\n"
                            "tools:\n"
                            "  inl: {function: inl}\n"
                            "  blk: {function: blk, timeout: 2s}\n"
                            "  asy: {function: asy, timeout: 2s}\n"
                            "  slow: {function: slow, timeout: 100ms}\n"
                            "  long: {function: long, timeout: 5s}\n"
                            "  never: {function: never, timeout: 100ms}\n"
                            "  flaky: {function: flaky, retries: 2, backoff: 1ms}\n"
                            "  after: {function: inl, depends_on: [flaky]}\n"
                            "  env: {function: envfn, depends_on: [inl], stdin: envelope}\n"
                            "  one: {function: blk, concurrency: 1}\n"
                            "  big: {function: inl, max_output: 20B}\n"
                            "  ghost: {function: ghost}\n"
                            "  wait: {function: asy}\n"
                            "  sleep: {builtin: sleep}\n"
                            "  queued: {function: q300, timeout: 500ms}\n"
                            "  stubborn: {function: stubborn}\n";

static struct td_graph *G;
static struct td_functions *FNS;
static struct td_batch *B;
static struct td_plan *P;
static struct td_run *R;

static void msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- the functions ---- */

/* input {"v":"x"} -> "x"; {"fail":1} -> error; {"nocomplete":1} -> returns without a result */
static void complete_from_input(struct td_fn_call *call)
{
	const char *in = td_fn_call_input(call, NULL);
	const char *v = strstr(in, "\"v\":\"");
	char out[256];
	size_t n = 0;

	if (strstr(in, "\"nocomplete\""))
		return;
	if (strstr(in, "\"fail\"")) {
		td_fn_complete(call, 1, "it failed", 9);
		return;
	}
	if (v)
		for (v += 5; *v && *v != '"' && n < sizeof(out) - 1; v++)
			out[n++] = *v;
	if (!v)
		n = (size_t)snprintf(out, sizeof(out), "%s:%s", td_fn_call_tool(call),
		                     td_fn_call_id(call));
	td_fn_complete(call, 0, out, n);
}

static void fn_inline(struct td_fn_call *call, void *ud)
{
	(void)ud;
	complete_from_input(call);
	if (strstr(td_fn_call_input(call, NULL), "\"twice\""))
		ck_assert_int_eq(td_fn_complete(call, 0, "x", 1), TD_ESTATE);
}

static atomic_int BLK_NOW, BLK_MAX, BLK_SAW_CANCEL, BLK_CALLS;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Works for `ud` ms (default 50) by the clock, stopping early when cancelled. */
static void fn_blocking(struct td_fn_call *call, void *ud)
{
	int now = atomic_fetch_add(&BLK_NOW, 1) + 1, max = atomic_load(&BLK_MAX);
	int64_t end = now_ms() + (ud ? *(unsigned *)ud : 50);

	atomic_fetch_add(&BLK_CALLS, 1);
	while (now > max && !atomic_compare_exchange_weak(&BLK_MAX, &max, now))
		;
	while (now_ms() < end && !td_fn_call_cancelled(call))
		msleep(1);
	if (td_fn_call_cancelled(call))
		atomic_fetch_add(&BLK_SAW_CANCEL, 1);
	atomic_fetch_sub(&BLK_NOW, 1);
	complete_from_input(call);
}

/* Until no blocking function runs (td_run_free() does not wait for them): at most 3 s. */
static void wait_workers_idle(void)
{
	int i;

	for (i = 0; i < 300 && atomic_load(&BLK_NOW); i++)
		msleep(10);
	ck_assert_int_eq(atomic_load(&BLK_NOW), 0);
}

/* ASYNC: handles go to a completer thread that answers after input "ms" (default 20), in
 * any order; {"keep":1} stores the handle in KEPT for the test to complete by hand. */
#define MAXQ 64
static struct td_fn_call *KEPT[MAXQ];
static atomic_int NKEPT;

struct pending {
	struct td_fn_call *call;
	unsigned ms;
	int fail;
	char text[64];
};

static void *completer(void *arg)
{
	struct pending *p = arg;

	msleep(p->ms);
	td_fn_complete(p->call, p->fail, p->text, strlen(p->text));
	free(p);
	return NULL;
}

static void fn_async(struct td_fn_call *call, void *ud)
{
	const char *in = td_fn_call_input(call, NULL), *ms = strstr(in, "\"ms\":");
	struct pending *p;
	pthread_t t;

	(void)ud;
	if (strstr(in, "\"keep\"")) {
		KEPT[atomic_fetch_add(&NKEPT, 1)] = call;
		return;
	}
	if (strstr(in, "\"now\"")) { /* completed inside the call itself */
		td_fn_complete(call, 0, "now", 3);
		return;
	}
	p = calloc(1, sizeof(*p));
	p->call = call;
	p->ms = ms ? (unsigned)strtoul(ms + 5, NULL, 10) : 20;
	p->fail = strstr(in, "\"fail\"") != NULL;
	/* copy what we need now: after return the handle only completes */
	snprintf(p->text, sizeof(p->text), "async %s", td_fn_call_id(call));
	ck_assert_int_eq(pthread_create(&t, NULL, completer, p), 0);
	pthread_detach(t);
}

static void fn_flaky(struct td_fn_call *call, void *ud)
{
	(void)ud;
	if (td_fn_call_attempt(call) < 3)
		td_fn_complete(call, 1, "try again", 9);
	else
		td_fn_complete(call, 0, "third time", 10);
}

static void fn_env(struct td_fn_call *call, void *ud)
{
	size_t len = 0;
	const char *env = td_fn_call_envelope(call, &len);

	(void)ud;
	ck_assert_ptr_nonnull(env);
	ck_assert_uint_eq(len, strlen(env));
	td_fn_complete(call, 0, env, len);
}

static unsigned SLOW_MS = 400, LONG_MS = 3000, Q_MS = 300;
static atomic_int STUBBORN_STARTED, STUBBORN_DONE, STUBBORN_SAW_CANCEL;

/* BLOCKING, and deaf to cancellation: works 1.5 s whatever happens, then completes. */
static void fn_stubborn(struct td_fn_call *call, void *ud)
{
	(void)ud;
	atomic_store(&STUBBORN_STARTED, 1);
	msleep(1500);
	atomic_store(&STUBBORN_SAW_CANCEL, td_fn_call_cancelled(call));
	ck_assert_str_eq(td_fn_call_id(call), "s1"); /* readable though the run is gone */
	td_fn_complete(call, 0, "done", 4);
	atomic_store(&STUBBORN_DONE, 1);
}

static void setup(void)
{
	struct td_diag d = {0};

	ck_assert_int_eq(td_graph_load_buffer(GRAPH, sizeof(GRAPH) - 1, "fn.yaml", NULL, &G, &d),
	                 0);
	ck_assert_int_eq(td_functions_new(&FNS), 0);
	ck_assert_int_eq(td_functions_add(FNS, "inl", TD_FN_INLINE, fn_inline, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "blk", TD_FN_BLOCKING, fn_blocking, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "asy", TD_FN_ASYNC, fn_async, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "slow", TD_FN_BLOCKING, fn_blocking, &SLOW_MS), 0);
	ck_assert_int_eq(td_functions_add(FNS, "long", TD_FN_BLOCKING, fn_blocking, &LONG_MS), 0);
	ck_assert_int_eq(td_functions_add(FNS, "never", TD_FN_ASYNC, fn_async, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "flaky", TD_FN_INLINE, fn_flaky, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "envfn", TD_FN_INLINE, fn_env, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "q300", TD_FN_BLOCKING, fn_blocking, &Q_MS), 0);
	ck_assert_int_eq(td_functions_add(FNS, "stubborn", TD_FN_BLOCKING, fn_stubborn, NULL), 0);
	atomic_store(&STUBBORN_STARTED, 0);
	atomic_store(&STUBBORN_DONE, 0);
	atomic_store(&STUBBORN_SAW_CANCEL, 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &B), 0);
	atomic_store(&BLK_NOW, 0);
	atomic_store(&BLK_MAX, 0);
	atomic_store(&BLK_SAW_CANCEL, 0);
	atomic_store(&BLK_CALLS, 0);
	atomic_store(&NKEPT, 0);
}

static void teardown(void)
{
	td_run_free(R);
	td_plan_free(P);
	td_batch_free(B);
	td_functions_free(FNS);
	td_graph_free(G);
	R = NULL;
	P = NULL;
	B = NULL;
	FNS = NULL;
	G = NULL;
}

static int add(const char *id, const char *tool, const char *input)
{
	int c = td_batch_add(B, id, tool, input);

	ck_assert_int_ge(c, 0);
	return c;
}

static void start(const struct td_functions *fns)
{
	struct td_run_opts o = {.seed = 7, .functions = fns};
	struct td_diag d = {0};

	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	ck_assert_int_eq(td_run_new(P, &o, &R, &d), 0);
}

static struct td_result res(size_t c)
{
	struct td_result r;
	int rc = td_run_result(R, c, &r);

	ck_assert_int_eq(
	    rc, r.status == TD_STATUS_PENDING || r.status == TD_STATUS_RUNNING ? TD_ESTATE : 0);
	return r;
}

static void expect(size_t c, enum td_status st, const char *content)
{
	struct td_result r = res(c);

	ck_assert_msg(r.status == st, "call %zu: status %s, want %s (%s)", c,
	              td_status_name(r.status), td_status_name(st), r.content);
	ck_assert_str_eq(r.content, content);
}

/* ---- registry ---- */

START_TEST(registry_errors)
{
	ck_assert_int_eq(td_functions_new(NULL), TD_EINVAL);
	ck_assert_int_eq(td_functions_add(FNS, "inl", TD_FN_INLINE, fn_inline, NULL), TD_EEXIST);
	ck_assert_int_eq(td_functions_add(FNS, "bad name", TD_FN_INLINE, fn_inline, NULL),
	                 TD_EINVAL);
	ck_assert_int_eq(td_functions_add(FNS, "", TD_FN_INLINE, fn_inline, NULL), TD_EINVAL);
	ck_assert_int_eq(td_functions_add(FNS, NULL, TD_FN_INLINE, fn_inline, NULL), TD_EINVAL);
	ck_assert_int_eq(td_functions_add(FNS, "x", TD_FN_INLINE, NULL, NULL), TD_EINVAL);
	ck_assert_int_eq(td_functions_add(FNS, "x", (enum td_fn_mode)7, fn_inline, NULL),
	                 TD_EINVAL);
	ck_assert_int_eq(td_functions_add(NULL, "x", TD_FN_INLINE, fn_inline, NULL), TD_EINVAL);
	ck_assert_int_eq(td_functions_set_workers(FNS, 0), TD_EINVAL);
	ck_assert_int_eq(td_functions_set_workers(FNS, 1025), TD_EINVAL);
	ck_assert_int_eq(td_functions_set_workers(NULL, 2), TD_EINVAL);
	ck_assert_int_eq(td_functions_set_workers(FNS, 1024), 0);
	ck_assert_int_eq(td_fn_complete(NULL, 0, "x", 1), TD_EINVAL);
	ck_assert_int_eq(td_fn_call_cancelled(NULL), 1);
	ck_assert_ptr_null(td_fn_call_id(NULL));
	ck_assert_ptr_null(td_fn_call_input(NULL, NULL));
	td_functions_free(NULL);
}
END_TEST

/* ---- modes ---- */

START_TEST(inline_results)
{
	add("c1", "inl", "{\"v\":\"hello\"}");
	add("c2", "inl", "{\"fail\":1}");
	add("c3", "inl", "{\"nocomplete\":1}");
	add("c4", "inl", "{\"twice\":1}");
	add("c5", "inl", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_OK, "hello");
	expect(1, TD_STATUS_ERROR, "it failed");
	ck_assert_int_eq(res(1).is_error, 1);
	expect(2, TD_STATUS_ERROR, "function 'inl' returned without completing the call");
	expect(3, TD_STATUS_OK, "inl:c4");
	expect(4, TD_STATUS_OK, "inl:c5");
	ck_assert_int_eq(res(0).exit_code, -1);
	ck_assert_uint_eq(res(0).attempts, 1);
}
END_TEST

START_TEST(unregistered)
{
	add("g1", "ghost", NULL);
	add("i1", "inl", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_ERROR, "function 'ghost' is not registered with this run");
	expect(1, TD_STATUS_OK, "inl:i1");
}
END_TEST

START_TEST(no_registry)
{
	add("i1", "inl", NULL);
	start(NULL);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_ERROR, "function 'inl' is not registered with this run");
}
END_TEST

START_TEST(blocking_pool_in_parallel)
{
	char id[16];
	int i;

	for (i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		add(id, "blk", NULL);
	}
	ck_assert_int_eq(td_functions_set_workers(FNS, 4), 0);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	for (i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "blk:b%d", i);
		expect((size_t)i, TD_STATUS_OK, id);
	}
	/* 8 calls of 50 ms on 4 workers: two waves, and never more than 4 at once */
	ck_assert_int_eq(atomic_load(&BLK_MAX), 4);
	ck_assert_int_ge(td_run_makespan_us(R), 95000);
	ck_assert_int_lt(td_run_makespan_us(R), 380000);
}
END_TEST

START_TEST(blocking_tool_concurrency)
{
	add("o1", "one", NULL);
	add("o2", "one", NULL);
	add("o3", "one", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(atomic_load(&BLK_MAX), 1);
	expect(2, TD_STATUS_OK, "one:o3");
}
END_TEST

START_TEST(async_from_other_threads)
{
	add("a1", "asy", "{\"ms\":60}");
	add("a2", "asy", "{\"ms\":10}");
	add("a3", "asy", "{\"now\":1}");
	add("a4", "asy", "{\"ms\":30,\"fail\":1}");
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_OK, "async a1");
	expect(1, TD_STATUS_OK, "async a2");
	expect(2, TD_STATUS_OK, "now");
	expect(3, TD_STATUS_ERROR, "async a4");
}
END_TEST

/* ---- what the scheduler adds ---- */

START_TEST(timeout_blocking)
{
	add("s1", "slow", NULL);
	add("i1", "inl", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_TIMEOUT, "timed out after 100ms");
	expect(1, TD_STATUS_OK, "inl:i1");
	ck_assert_int_lt(td_run_makespan_us(R), 300000);
	/* the worker sees the cancellation flag (unless the deadline passed before a worker
	 * even took the call: then it is never invoked); freeing the run does not wait for it */
	td_run_free(R);
	R = NULL;
	wait_workers_idle();
	ck_assert_int_le(atomic_load(&BLK_CALLS), 1);
	ck_assert_int_eq(atomic_load(&BLK_SAW_CANCEL), atomic_load(&BLK_CALLS));
}
END_TEST

START_TEST(timeout_async_then_late_completion)
{
	add("n1", "never", "{\"keep\":1}");
	add("n2", "never", "{\"keep\":1}");
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_TIMEOUT, "timed out after 100ms");
	expect(1, TD_STATUS_TIMEOUT, "timed out after 100ms");
	ck_assert_int_eq(atomic_load(&NKEPT), 2);
	ck_assert_int_eq(td_fn_call_cancelled(KEPT[0]), 1);
	/* late: the run still exists, then after it is gone; both are accepted and ignored */
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "late", 4), 0);
	ck_assert_int_eq(td_run_step(R), 0);
	expect(0, TD_STATUS_TIMEOUT, "timed out after 100ms");
	td_run_free(R);
	R = NULL;
	ck_assert_int_eq(td_fn_call_cancelled(KEPT[1]), 1);
	ck_assert_int_eq(td_fn_complete(KEPT[1], 0, "later", 5), 0);
}
END_TEST

/* Once a run uses the registry it is read-only: adding would race with runs on other threads. */
START_TEST(registry_frozen_by_a_run)
{
	add("i1", "inl", NULL);
	ck_assert_int_eq(td_functions_add(FNS, "x1", TD_FN_INLINE, fn_inline, NULL), 0);
	start(FNS);
	ck_assert_int_eq(td_functions_add(FNS, "x2", TD_FN_INLINE, fn_inline, NULL), TD_ESTATE);
	ck_assert_int_eq(td_functions_set_workers(FNS, 8), TD_ESTATE);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_OK, "inl:i1");
}
END_TEST

/* A completion after the run and the registry are both gone touches neither (ASan, valgrind
 * see it): what it needs was copied into the handle. */
START_TEST(late_completion_after_everything_is_freed)
{
	add("n1", "never", "{\"keep\":1}");
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_TIMEOUT, "timed out after 100ms");
	ck_assert_int_eq(atomic_load(&NKEPT), 1);
	td_run_free(R);
	R = NULL;
	td_functions_free(FNS);
	FNS = NULL;
	ck_assert_int_eq(td_fn_call_cancelled(KEPT[0]), 1);
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "late", 4), 0);
}
END_TEST

/* One worker, three 300 ms calls with a 500 ms timeout: each call's timeout runs from when a
 * worker takes it, and the wait before is reported as queue_us. */
START_TEST(blocking_timeout_starts_on_the_worker)
{
	int i;

	ck_assert_int_eq(td_functions_set_workers(FNS, 1), 0);
	add("q1", "queued", NULL);
	add("q2", "queued", NULL);
	add("q3", "queued", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(res((size_t)i).status == TD_STATUS_OK, "q%d: %s", i + 1,
		              res((size_t)i).content);
		/* the run time of the function itself: 300 ms (by a millisecond clock, read
		 * against the loop's), not the queue wait */
		ck_assert_int_ge(res((size_t)i).end_us - res((size_t)i).start_us -
		                     res((size_t)i).queue_us,
		                 280000);
	}
	ck_assert_int_lt(res(0).queue_us, 200000);
	ck_assert_int_ge(res(2).queue_us, 550000); /* behind two 300 ms calls */
}
END_TEST

/* td_run_free() does not wait for a function that is still running; that function later
 * finds its call cancelled, and its completion is dropped. */
START_TEST(free_does_not_wait_for_a_busy_worker)
{
	int64_t t;
	int i;

	add("s1", "stubborn", NULL);
	start(FNS);
	for (i = 0; i < 200 && !atomic_load(&STUBBORN_STARTED); i++) {
		ck_assert_int_eq(td_run_step(R), 1);
		msleep(5);
	}
	ck_assert_int_eq(atomic_load(&STUBBORN_STARTED), 1); /* a worker runs it now */
	t = now_ms();
	td_run_free(R);
	R = NULL;
	t = now_ms() - t;
	ck_assert_msg(t < 500, "td_run_free took %lld ms", (long long)t);
	td_plan_free(P); /* the batch the function reads may go too */
	P = NULL;
	td_batch_free(B);
	B = NULL;
	for (i = 0; i < 400 && !atomic_load(&STUBBORN_DONE); i++)
		msleep(10);
	ck_assert_int_eq(atomic_load(&STUBBORN_DONE), 1);
	ck_assert_int_eq(atomic_load(&STUBBORN_SAW_CANCEL), 1);
}
END_TEST

static atomic_llong REMAINING[3];

/* Records the time left to its call at its start (inline, blocking, async: index 0, 1, 2). */
static void fn_remaining(struct td_fn_call *call, void *ud)
{
	int i = (int)(intptr_t)ud;

	atomic_store(&REMAINING[i], (long long)td_fn_call_remaining_us(call));
	td_fn_complete(call, 0, "ok", 2);
}

/* The time left to a call, from inside its function: the tool's timeout less what passed,
 * for a blocking call from when a worker took it. */
START_TEST(remaining_time_inside_a_function)
{
	static const char g[] = "version: 1\ntools:\n"
	                        "  ri: {function: ri, timeout: 2s}\n"
	                        "  rb: {function: rb, timeout: 2s}\n"
	                        "  ra: {function: ra}\n"
	                        "  hold: {function: hold, timeout: 5s}\n";
	struct td_graph *gr = NULL;
	struct td_functions *f = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	struct td_run_opts o = {0};
	unsigned hold_ms = 400;

	ck_assert_int_eq(td_graph_load_buffer(g, sizeof(g) - 1, "r.yaml", NULL, &gr, NULL), 0);
	ck_assert_int_eq(td_functions_new(&f), 0);
	ck_assert_int_eq(td_functions_add(f, "ri", TD_FN_INLINE, fn_remaining, (void *)0), 0);
	ck_assert_int_eq(td_functions_add(f, "rb", TD_FN_BLOCKING, fn_remaining, (void *)1), 0);
	ck_assert_int_eq(td_functions_add(f, "ra", TD_FN_ASYNC, fn_remaining, (void *)2), 0);
	ck_assert_int_eq(td_functions_add(f, "hold", TD_FN_BLOCKING, fn_blocking, &hold_ms), 0);
	ck_assert_int_eq(td_functions_set_workers(f, 1), 0);
	ck_assert_int_eq(td_batch_new(gr, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_ge(td_batch_add(b, "h", "hold", NULL), 0); /* the one worker, 400 ms */
	ck_assert_int_ge(td_batch_add(b, "i", "ri", NULL), 0);
	ck_assert_int_ge(td_batch_add(b, "b", "rb", NULL), 0);
	ck_assert_int_ge(td_batch_add(b, "a", "ra", NULL), 0);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	o.functions = f;
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	ck_assert_int_gt(atomic_load(&REMAINING[0]), 1500000);
	ck_assert_int_le(atomic_load(&REMAINING[0]), 2000000);
	/* waited 400 ms for the worker: its 2 s start then */
	ck_assert_int_gt(atomic_load(&REMAINING[1]), 1500000);
	ck_assert_int_gt(atomic_load(&REMAINING[2]), 29000000); /* the default timeout: 30 s */
	ck_assert_int_eq(td_fn_call_remaining_us(NULL), TD_EINVAL);
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_functions_free(f);
	td_graph_free(gr);
}
END_TEST

/* One finished call's result in each dialect, found by its id; none for a call still out. */
START_TEST(one_result_by_id_in_each_dialect)
{
	char *out;
	int c;

	add("c1", "inl", "{\"v\":\"hello\"}");
	add("c2", "inl", "{\"fail\":1}");
	add("k1", "wait", "{\"keep\":1}");
	start(FNS);
	while (atomic_load(&NKEPT) < 1)
		ck_assert_int_eq(td_run_step(R), 1);
	c = td_run_find(R, "k1");
	ck_assert_int_eq(c, 2);
	ck_assert_int_eq(td_run_result_json(R, (size_t)c, TD_DIALECT_AUTO, &out), TD_ESTATE);
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "kept", 4), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(td_run_find(R, "nope"), TD_ENOTFOUND);
	ck_assert_int_eq(td_run_find(R, NULL), TD_EINVAL);
	c = td_run_find(R, "c2");
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(td_run_result_json(R, (size_t)c, TD_DIALECT_AUTO, &out), 0);
	ck_assert_str_eq(out, "{\"type\":\"tool_result\",\"tool_use_id\":\"c2\",\"content\":"
	                      "\"it failed\",\"is_error\":true}");
	free(out);
	ck_assert_int_eq(td_run_result_json(R, 0, TD_DIALECT_OPENAI, &out), 0);
	ck_assert_str_eq(out, "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"hello\"}");
	free(out);
	ck_assert_int_eq(td_run_result_json(R, 2, TD_DIALECT_RESPONSES, &out), 0);
	ck_assert_str_eq(
	    out, "{\"type\":\"function_call_output\",\"call_id\":\"k1\",\"output\":\"kept\"}");
	free(out);
	ck_assert_int_eq(td_run_result_json(R, 3, TD_DIALECT_AUTO, &out), TD_EINVAL);
}
END_TEST

START_TEST(retries_and_dependency_failure)
{
	add("f1", "flaky", NULL);
	add("d1", "after", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_OK, "third time");
	ck_assert_uint_eq(res(0).attempts, 3);
	expect(1, TD_STATUS_OK, "after:d1");
}
END_TEST

START_TEST(dependency_failure_skips)
{
	add("i1", "inl", "{\"fail\":1}");
	add("e1", "env", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(0, TD_STATUS_ERROR, "it failed");
	expect(1, TD_STATUS_SKIPPED, "skipped: dependency inl (i1) failed");
}
END_TEST

START_TEST(envelope_upstream)
{
	add("i1", "inl", "{\"v\":\"sunny\"}");
	add("e1", "env", "{\"city\":\"Paris\"}");
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	expect(1, TD_STATUS_OK,
	       "{\"id\":\"e1\",\"name\":\"env\",\"input\":{\"city\":\"Paris\"},\"upstream\":"
	       "[{\"id\":\"i1\",\"name\":\"inl\",\"content\":\"sunny\",\"is_error\":false}]}");
}
END_TEST

START_TEST(max_output_truncates)
{
	add("b1", "big", "{\"v\":\"0123456789012345678901234567890123456789\"}");
	start(FNS);
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(res(0).truncated, 1);
	ck_assert_ptr_nonnull(strstr(res(0).content, "truncated"));
	ck_assert_str_eq(res(0).status == TD_STATUS_OK ? "ok" : "bad", "ok");
}
END_TEST

/* ---- cancellation ---- */

/* Drives R from a poll() loop like a host; cancels `id` once `after_steps` steps ran. */
static void drive(const char *cancel_id, int after_steps)
{
	int steps = 0;

	while (td_run_step(R) == 1) {
		struct pollfd p = {.fd = td_run_fd(R), .events = POLLIN};

		ck_assert_int_ge(poll(&p, 1, td_run_timeout(R)), 0);
		if (cancel_id && ++steps == after_steps)
			ck_assert_int_eq(td_run_cancel_id(R, cancel_id), 0);
	}
}

START_TEST(cancel_one_call_by_id)
{
	add("k1", "wait", "{\"keep\":1}");
	add("a1", "asy", "{\"ms\":30}");
	add("b1", "blk", NULL);
	add("s1", "sleep", "{\"ms\":60}");
	start(FNS);
	ck_assert_int_eq(td_run_cancel_id(R, "nope"), TD_ENOTFOUND);
	ck_assert_int_eq(td_run_cancel_id(R, NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_cancel_id(NULL, "k1"), TD_EINVAL);
	drive("k1", 1);
	expect(0, TD_STATUS_CANCELLED, "cancelled");
	expect(1, TD_STATUS_OK, "async a1");
	expect(2, TD_STATUS_OK, "blk:b1");
	expect(3, TD_STATUS_OK, "slept 60ms");
	ck_assert_int_eq(atomic_load(&NKEPT), 1);
	ck_assert_int_eq(td_fn_call_cancelled(KEPT[0]), 1);
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "too late", 8), 0);
	expect(0, TD_STATUS_CANCELLED, "cancelled");
}
END_TEST

START_TEST(cancel_blocking_call)
{
	add("s1", "slow", NULL);
	add("s2", "slow", NULL);
	start(FNS);
	drive("s2", 1);
	expect(0, TD_STATUS_TIMEOUT, "timed out after 100ms");
	expect(1, TD_STATUS_CANCELLED, "cancelled");
}
END_TEST

START_TEST(cancel_whole_run)
{
	int i, steps = 0;

	for (i = 0; i < 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "b%d", i);
		add(id, "long", NULL);
	}
	add("k1", "wait", "{\"keep\":1}");
	add("i1", "inl", NULL);
	start(FNS);
	while (td_run_step(R) == 1) {
		struct pollfd p = {.fd = td_run_fd(R), .events = POLLIN};

		poll(&p, 1, td_run_timeout(R) > 10 ? 10 : td_run_timeout(R));
		if (++steps == 2)
			td_run_cancel(R);
	}
	for (i = 0; i < 5; i++)
		expect((size_t)i, TD_STATUS_CANCELLED, "cancelled");
	expect(5, TD_STATUS_OK, "inl:i1");                /* inline: done in the first step */
	ck_assert_int_lt(td_run_makespan_us(R), 1500000); /* not the functions' 3 s */
	td_run_free(R);
	R = NULL;
	wait_workers_idle();
	ck_assert_int_eq(atomic_load(&BLK_SAW_CANCEL), atomic_load(&BLK_CALLS));
	ck_assert_int_eq(td_fn_complete(KEPT[0], 1, "x", 1), 0);
}
END_TEST

/* ---- streaming ---- */

/* Steps and polls until a call finishes; its index. */
static int next_finished(void)
{
	int c;

	while ((c = td_run_next_finished(R)) < 0) {
		struct pollfd p = {.fd = td_run_fd(R), .events = POLLIN};

		ck_assert_int_ge(td_run_step(R), 0); /* 0 after the last one */
		if ((c = td_run_next_finished(R)) >= 0)
			break;
		poll(&p, 1, td_run_timeout(R));
	}
	return c;
}

START_TEST(stream_in_finish_order)
{
	char *json;

	add("a1", "wait", "{\"keep\":1}");
	add("a2", "wait", "{\"keep\":1}");
	add("a3", "wait", "{\"keep\":1}");
	add("i1", "inl", NULL);
	start(FNS);
	ck_assert_int_eq(td_run_next_finished(R), TD_ENOTFOUND);
	ck_assert_int_eq(td_run_next_finished(NULL), TD_EINVAL);
	ck_assert_int_eq(next_finished(), 3); /* inline: at once */
	ck_assert_int_eq(td_run_next_finished(R), TD_ENOTFOUND);
	ck_assert_int_eq(atomic_load(&NKEPT), 3);
	/* the host completes them in reverse order: they stream in that order */
	ck_assert_int_eq(td_fn_complete(KEPT[2], 0, "three", 5), 0);
	ck_assert_int_eq(next_finished(), 2);
	expect(2, TD_STATUS_OK, "three");
	expect(1, TD_STATUS_RUNNING, "");
	/* no encoding of a run with calls still out: they have no result to give */
	json = (char *)1;
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &json), TD_ESTATE);
	ck_assert_ptr_null(json);
	ck_assert_int_eq(td_fn_complete(KEPT[1], 1, "two", 3), 0);
	ck_assert_int_eq(next_finished(), 1);
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "one", 3), 0);
	ck_assert_int_eq(next_finished(), 0);
	ck_assert_int_eq(td_run_step(R), 0);
	ck_assert_int_eq(td_run_next_finished(R), TD_ENOTFOUND);
	expect(0, TD_STATUS_OK, "one");
	expect(1, TD_STATUS_ERROR, "two");
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &json), 0);
	ck_assert_ptr_nonnull(strstr(json, "\"two\""));
	free(json);
}
END_TEST

/* ---- every allocation of a run with function calls fails in turn ---- */

static void run_once(void)
{
	struct td_run_opts o = {.seed = 7, .functions = FNS};
	struct td_run *r = NULL;

	if (td_run_new(P, &o, &r, NULL) == 0) {
		ck_assert_int_ge(td_run_wait(r), TD_ESTATE); /* 0, or a clean error */
		td_run_free(r);
	}
}

/* The highest descriptor that is an eventfd: the newest run's completion eventfd. */
static int newest_eventfd(void)
{
	char path[64], link[64];
	int fd, found = -1;
	ssize_t n;

	for (fd = 3; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strcmp(link, "anon_inode:[eventfd]"))
			found = fd;
	}
	return found;
}

/* An eventfd whose reads fail for good (here: a write-only file in its place) must not make
 * the loop spin re-reading it: completions still arrive, at a bounded CPU cost. */
START_TEST(eventfd_error_does_not_spin)
{
	int64_t cpu;
	int efd, null;

	add("a1", "asy", "{\"ms\":400}");
	start(FNS);
	efd = newest_eventfd();
	ck_assert_int_ge(efd, 0);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_eq(dup2(null, efd), efd);
	close(null);
	cpu = cpu_us();
	ck_assert_int_eq(td_run_wait(R), 0);
	cpu = cpu_us() - cpu;
	expect(0, TD_STATUS_OK, "async a1");
	/* a spinning loop burns ~100 ms here (a syscall per turn), a resting one ~2 ms */
	ck_assert_msg(cpu < 30000, "%lld us of CPU while waiting 400 ms", (long long)cpu);
}
END_TEST

START_TEST(allocation_failures)
{
	struct td_diag d = {0};
	long total, n;

	add("i1", "inl", "{\"v\":\"sunny\"}");
	add("e1", "env", NULL);
	add("b1", "blk", "{\"v\":\"b\"}");
	add("a1", "asy", "{\"now\":1}");
	add("f1", "flaky", NULL);
	add("g1", "ghost", NULL);
	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	td__alloc_fail_at(0);
	run_once();
	total = td__alloc_fail_at(0);
	ck_assert_int_gt(total, 10);
	for (n = 1; n <= total; n++) {
		td__alloc_fail_at(n);
		run_once();
		td__alloc_fail_at(0);
	}
}
END_TEST

/* ---- two runs, two threads, one graph, one registry ---- */

struct thr {
	int ok;
	char why[200];
};

static void *one_run(void *arg)
{
	struct thr *t = arg;
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	struct td_run_opts o = {.functions = FNS};
	struct td_result res0;
	char id[16];
	int i;

	td_batch_new(G, TD_DIALECT_ANTHROPIC, &b);
	for (i = 0; i < 24; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		td_batch_add(b, id, i % 3 == 0 ? "inl" : i % 3 == 1 ? "blk" : "asy", "{\"ms\":5}");
	}
	td_plan_new(b, &p, NULL);
	if (td_run_new(p, &o, &r, NULL) == 0 && td_run_wait(r) == 0) {
		t->ok = 1;
		for (i = 0; i < 24; i++) {
			td_run_result(r, (size_t)i, &res0);
			if (res0.status != TD_STATUS_OK) {
				t->ok = 0;
				snprintf(t->why, sizeof(t->why), "call %d: %s", i, res0.content);
			}
		}
		td_run_free(r);
	}
	td_plan_free(p);
	td_batch_free(b);
	return NULL;
}

START_TEST(two_runs_two_threads)
{
	pthread_t a, b;
	struct thr ta = {0}, tb = {0};
	int round;

	td_functions_set_workers(FNS, 2);
	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(pthread_create(&a, NULL, one_run, &ta), 0);
		ck_assert_int_eq(pthread_create(&b, NULL, one_run, &tb), 0);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		ck_assert_msg(ta.ok, "thread a: %s", ta.why);
		ck_assert_msg(tb.ok, "thread b: %s", tb.why);
	}
}
END_TEST

static Suite *fn_suite(void)
{
	Suite *s = suite_create("fn");
	TCase *t = tcase_create("fn");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, registry_errors);
	tcase_add_test(t, inline_results);
	tcase_add_test(t, unregistered);
	tcase_add_test(t, no_registry);
	tcase_add_test(t, blocking_pool_in_parallel);
	tcase_add_test(t, blocking_tool_concurrency);
	tcase_add_test(t, async_from_other_threads);
	tcase_add_test(t, timeout_blocking);
	tcase_add_test(t, timeout_async_then_late_completion);
	tcase_add_test(t, registry_frozen_by_a_run);
	tcase_add_test(t, blocking_timeout_starts_on_the_worker);
	tcase_add_test(t, free_does_not_wait_for_a_busy_worker);
	tcase_add_test(t, remaining_time_inside_a_function);
	tcase_add_test(t, one_result_by_id_in_each_dialect);
	tcase_add_test(t, late_completion_after_everything_is_freed);
	tcase_add_test(t, retries_and_dependency_failure);
	tcase_add_test(t, dependency_failure_skips);
	tcase_add_test(t, envelope_upstream);
	tcase_add_test(t, max_output_truncates);
	tcase_add_test(t, cancel_one_call_by_id);
	tcase_add_test(t, cancel_blocking_call);
	tcase_add_test(t, cancel_whole_run);
	tcase_add_test(t, stream_in_finish_order);
	tcase_add_test(t, eventfd_error_does_not_spin);
	tcase_add_test(t, allocation_failures);
	tcase_add_test(t, two_runs_two_threads);
	suite_add_tcase(s, t);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(fn_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_host.c - many runs on one host (td_host_*), through the public API: runs share one
 * loop and one descriptor, per-run user data reaches functions and observers, the host's
 * concurrency caps all runs together while each run's own caps that run, a run of 100,000
 * calls does not starve a run of 3 (counted in calls, not in time), freeing a run with calls
 * in flight returns without waiting for them, and late completions after td_run_free() and
 * td_host_free() are dropped.
 */
#include <check.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tooldag.h"

static const char GRAPH[] = "version: 1\n"
                            "concurrency: 64\n"
                            "tools:\n"
                            "  echo: {builtin: echo}\n"
                            "  nap: {builtin: sleep}\n"
                            "  inl: {function: inl}\n"
                            "  blk: {function: blk}\n"
                            "  asy: {function: asy}\n"
                            "  keep: {function: keep}\n"
                            "  slow: {function: slow}\n";

static struct td_graph *G;
static struct td_functions *FNS;

static void msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- functions: each answers with its run's user data (a string) ---- */

static void answer(struct td_fn_call *call)
{
	const char *ud = td_fn_call_run_userdata(call);

	td_fn_complete(call, ud == NULL, ud ? ud : "no userdata", strlen(ud ? ud : "no userdata"));
}

static void fn_inl(struct td_fn_call *call, void *ud)
{
	(void)ud;
	answer(call);
}

static void *completer(void *arg)
{
	msleep(2);
	answer(arg);
	return NULL;
}

static void fn_asy(struct td_fn_call *call, void *ud)
{
	pthread_t t;

	(void)ud;
	ck_assert_int_eq(pthread_create(&t, NULL, completer, call), 0);
	pthread_detach(t);
}

/* keep: the handle waits in KEPT for the test to complete it */
#define MAXKEPT 16
static struct td_fn_call *KEPT[MAXKEPT];
static atomic_int NKEPT;

static void fn_keep(struct td_fn_call *call, void *ud)
{
	(void)ud;
	KEPT[atomic_fetch_add(&NKEPT, 1)] = call;
}

/* slow: blocking, works until SLOW_GO is set (or 5 s), then answers */
static atomic_int SLOW_RUNNING, SLOW_GO, SLOW_SAW_CANCEL;

static void fn_slow(struct td_fn_call *call, void *ud)
{
	int i;

	(void)ud;
	atomic_fetch_add(&SLOW_RUNNING, 1);
	for (i = 0; i < 5000 && !atomic_load(&SLOW_GO); i++)
		msleep(1);
	if (td_fn_call_cancelled(call))
		atomic_fetch_add(&SLOW_SAW_CANCEL, 1);
	answer(call);
	atomic_fetch_sub(&SLOW_RUNNING, 1);
}

static void setup(void)
{
	struct td_diag d = {0};

	ck_assert_int_eq(td_graph_load_buffer(GRAPH, sizeof(GRAPH) - 1, "host.yaml", NULL, &G, &d),
	                 0);
	ck_assert_int_eq(td_functions_new(&FNS), 0);
	ck_assert_int_eq(td_functions_add(FNS, "inl", TD_FN_INLINE, fn_inl, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "blk", TD_FN_BLOCKING, fn_inl, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "asy", TD_FN_ASYNC, fn_asy, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "keep", TD_FN_ASYNC, fn_keep, NULL), 0);
	ck_assert_int_eq(td_functions_add(FNS, "slow", TD_FN_BLOCKING, fn_slow, NULL), 0);
	atomic_store(&NKEPT, 0);
	atomic_store(&SLOW_GO, 0);
}

static void teardown(void)
{
	td_functions_free(FNS);
	td_graph_free(G);
}

/* ---- runs ---- */

struct job {
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	char ud[32];
};

/* n calls cycling through tools[] (NULL-terminated), each with input in */
static void job_new(struct job *j, struct td_host *h, const char *const *tools, const char *in,
                    unsigned n, unsigned concurrency, int index)
{
	struct td_run_opts o = {.functions = FNS, .concurrency = concurrency, .userdata = j->ud};
	unsigned i, nt = 0;
	char id[32];

	while (tools[nt])
		nt++;
	snprintf(j->ud, sizeof(j->ud), "run-%d", index);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &j->b), 0);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "c%u", i);
		ck_assert_int_eq(td_batch_add(j->b, id, tools[i % nt], in), (int)i);
	}
	ck_assert_int_eq(td_plan_new(j->b, &j->p, NULL), 0);
	ck_assert_int_eq(td_host_run_new(h, j->p, &o, &j->r, NULL), 0);
}

static void job_free(struct job *j)
{
	td_run_free(j->r);
	td_plan_free(j->p);
	td_batch_free(j->b);
	memset(j, 0, sizeof(*j));
}

/* Steps the host as an embedding loop would, until no run has calls left. */
static void drive(struct td_host *h)
{
	int i, r, t;

	for (i = 0; i < 200000; i++) {
		struct pollfd pfd = {.fd = td_host_fd(h), .events = POLLIN};

		r = td_host_step(h);
		ck_assert_int_ge(r, 0);
		if (!r)
			return;
		t = td_host_timeout(h);
		ck_assert_int_ne(t, TD_ESTATE);
		poll(&pfd, 1, t < 0 || t > 1000 ? 1000 : t);
	}
	ck_abort_msg("the host never finished");
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- many runs, one loop, one descriptor ---- */

#define NRUNS 40

START_TEST(many_runs_share_one_host)
{
	static const char *const tools[] = {"echo", "nap", "inl", "blk", "asy", NULL};
	static struct job jobs[NRUNS];
	struct td_host *h;
	struct td_result res;
	unsigned fds, i, c;

	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	ck_assert_ptr_nonnull(td_host_loop(h));
	fds = open_fds();
	for (i = 0; i < NRUNS; i++)
		job_new(&jobs[i], h, tools, "{\"ms\":2}", 10, 0, (int)i);
	ck_assert_uint_eq(open_fds(), fds); /* no descriptor per run */
	for (i = 0; i < NRUNS; i++)
		ck_assert_int_eq(td_run_fd(jobs[i].r), td_host_fd(h));
	drive(h);
	ck_assert_uint_eq(open_fds(), fds);
	for (i = 0; i < NRUNS; i++) {
		int n = 0;

		for (c = 0; c < 10; c++) {
			const char *want = c % 5 == 0   ? "{\"ms\":2}"
			                   : c % 5 == 1 ? "slept 2ms"
			                                : jobs[i].ud;

			ck_assert_int_eq(td_run_result(jobs[i].r, c, &res), 0);
			ck_assert_int_eq(res.status, TD_STATUS_OK);
			ck_assert_str_eq(res.content, want);
		}
		while (td_run_next_finished(jobs[i].r) >= 0)
			n++;
		ck_assert_int_eq(n, 10);
		ck_assert_int_eq(td_run_step(jobs[i].r), 0);
		ck_assert_int_eq(td_run_timeout(jobs[i].r), -1);
		job_free(&jobs[i]);
	}
	ck_assert_int_eq(td_host_step(h), 0); /* no run left */
	td_host_free(h);
}
END_TEST

/* A run on a host can still be driven alone: td_run_wait() steps the whole host. */
START_TEST(run_wait_on_a_host)
{
	static const char *const tools[] = {"inl", "echo", NULL};
	struct job a, b;
	struct td_host *h;
	struct td_result res;

	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	job_new(&a, h, tools, "{}", 4, 0, 1);
	job_new(&b, h, tools, "{}", 4, 0, 2);
	ck_assert_int_eq(td_run_wait(a.r), 0);
	ck_assert_int_eq(td_run_result(a.r, 0, &res), 0);
	ck_assert_str_eq(res.content, "run-1");
	job_free(&a);
	ck_assert_int_eq(td_run_wait(b.r), 0);
	ck_assert_int_eq(td_run_result(b.r, 2, &res), 0);
	ck_assert_str_eq(res.content, "run-2");
	td_host_free(h); /* frees b's run too */
	td_plan_free(b.p);
	td_batch_free(b.b);
}
END_TEST

/* ---- user data ---- */

struct seen {
	const void *want;
	int events, wrong;
};

static void see(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct seen *s = ud;

	(void)ev;
	s->events++;
	if (td_run_userdata(run) != s->want)
		s->wrong++;
}

START_TEST(userdata_reaches_functions_and_observers)
{
	static const char *const tools[] = {"inl", "blk", "asy", NULL};
	struct job a, b;
	struct seen sa = {0}, sb = {0};
	struct td_host *h;
	struct td_result res;
	unsigned c;

	ck_assert_ptr_null(td_run_userdata(NULL));
	ck_assert_ptr_null(td_fn_call_run_userdata(NULL));
	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	job_new(&a, h, tools, "{}", 6, 0, 7);
	job_new(&b, h, tools, "{}", 6, 0, 8);
	sa.want = a.ud;
	sb.want = b.ud;
	ck_assert_ptr_eq(td_run_userdata(a.r), a.ud);
	ck_assert_int_eq(td_run_observe(a.r, see, &sa), 0);
	ck_assert_int_eq(td_run_observe(b.r, see, &sb), 0);
	drive(h);
	for (c = 0; c < 6; c++) {
		ck_assert_int_eq(td_run_result(a.r, c, &res), 0);
		ck_assert_str_eq(res.content, "run-7");
		ck_assert_int_eq(td_run_result(b.r, c, &res), 0);
		ck_assert_str_eq(res.content, "run-8");
	}
	ck_assert_int_gt(sa.events, 6);
	ck_assert_int_gt(sb.events, 6);
	ck_assert_int_eq(sa.wrong + sb.wrong, 0);
	job_free(&a);
	job_free(&b);
	td_host_free(h);
}
END_TEST

/* ---- limits ---- */

/* calls in flight, counted from events of every run */
static int INFL, INFL_MAX;

struct runcount {
	int infl, max;
};

static void count(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct runcount *rc = ud;

	(void)run;
	if (ev->type == TD_EVENT_CALL_STARTED) {
		if (++INFL > INFL_MAX)
			INFL_MAX = INFL;
		if (++rc->infl > rc->max)
			rc->max = rc->infl;
	} else if (ev->type == TD_EVENT_ATTEMPT_FINISHED) {
		INFL--;
		rc->infl--;
	}
}

START_TEST(host_concurrency_caps_all_runs)
{
	static const char *const tools[] = {"nap", NULL};
	struct td_host_opts ho = {.concurrency = 3};
	struct runcount rc[6] = {{0}};
	struct job jobs[6];
	struct td_host *h;
	struct td_result res;
	unsigned i, c;

	INFL = INFL_MAX = 0;
	ck_assert_int_eq(td_host_new(&ho, &h, NULL), 0);
	for (i = 0; i < 6; i++) {
		/* the last run caps itself at 1 */
		job_new(&jobs[i], h, tools, "{\"ms\":3}", 8, i == 5 ? 1 : 0, (int)i);
		ck_assert_int_eq(td_run_observe(jobs[i].r, count, &rc[i]), 0);
	}
	drive(h);
	ck_assert_int_eq(INFL, 0);
	ck_assert_int_eq(INFL_MAX, 3);
	ck_assert_int_eq(rc[5].max, 1);
	for (i = 0; i < 6; i++) {
		for (c = 0; c < 8; c++) {
			ck_assert_int_eq(td_run_result(jobs[i].r, c, &res), 0);
			ck_assert_int_eq(res.status, TD_STATUS_OK);
		}
		job_free(&jobs[i]);
	}
	td_host_free(h);
}
END_TEST

/* ---- a limited tool's budget is the host's: runs of one graph share it ---- */

static const char LIMITED[] = "version: 1\n"
                              "tools:\n"
                              "  one: {builtin: sleep, concurrency: 1}\n"
                              "  paced: {builtin: echo, rate: 20/s}\n";

static int ONE_NOW, ONE_MAX, NPACED;
static int64_t PACED_AT[8];

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void limited_events(void *ud, const struct td_run *run, const struct td_event *ev)
{
	const struct td_batch *b = ud;
	const char *tool;

	(void)run;
	if (ev->call == TD_EVENT_NO_CALL)
		return;
	tool = td_batch_call_tool(b, ev->call);
	if (ev->type == TD_EVENT_CALL_STARTED && !strcmp(tool, "one") && ++ONE_NOW > ONE_MAX)
		ONE_MAX = ONE_NOW;
	else if (ev->type == TD_EVENT_ATTEMPT_FINISHED && !strcmp(tool, "one"))
		ONE_NOW--;
	else if (ev->type == TD_EVENT_CALL_STARTED && !strcmp(tool, "paced") && NPACED < 8)
		PACED_AT[NPACED++] = mono_us();
}

/* Two runs of `text` on one host; ONE_MAX and the paced starts tell how the limits held. */
static void run_two_limited(const char *text, size_t len)
{
	struct td_graph *g;
	struct td_batch *b[2];
	struct td_plan *p[2];
	struct td_run *r[2];
	struct td_host *h;
	struct td_result res;
	int i, k;

	ONE_NOW = ONE_MAX = NPACED = 0;
	ck_assert_int_eq(td_graph_load_buffer(text, len, "lim.yaml", NULL, &g, NULL), 0);
	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b[i]), 0);
		for (k = 0; k < 3; k++) {
			char id[8];

			snprintf(id, sizeof(id), "o%d", k);
			ck_assert_int_ge(td_batch_add(b[i], id, "one", "{\"ms\":5}"), 0);
			snprintf(id, sizeof(id), "p%d", k);
			ck_assert_int_ge(td_batch_add(b[i], id, "paced", "{}"), 0);
		}
		ck_assert_int_eq(td_plan_new(b[i], &p[i], NULL), 0);
		ck_assert_int_eq(td_host_run_new(h, p[i], NULL, &r[i], NULL), 0);
		ck_assert_int_eq(td_run_observe(r[i], limited_events, b[i]), 0);
	}
	drive(h);
	ck_assert_int_eq(NPACED, 6);
	for (k = 1; k < NPACED; k++) /* 20/s over both runs: starts at least 50 ms apart */
		ck_assert_int_ge(PACED_AT[k] - PACED_AT[k - 1], 49000);
	for (i = 0; i < 2; i++) {
		for (k = 0; k < 6; k++) {
			ck_assert_int_eq(td_run_result(r[i], (size_t)k, &res), 0);
			ck_assert_int_eq(res.status, TD_STATUS_OK);
		}
		td_run_free(r[i]);
		td_plan_free(p[i]);
		td_batch_free(b[i]);
	}
	td_host_free(h);
	td_graph_free(g);
}

START_TEST(runs_of_one_graph_share_tool_limits)
{
	run_two_limited(LIMITED, sizeof(LIMITED) - 1);
	ck_assert_int_eq(ONE_MAX, 1); /* concurrency 1 across both runs, not 1 each */
}
END_TEST

/* scope: run: `one` has concurrency 1 in each run, while `paced` still shares its rate */
static const char LIMITED_PER_RUN[] = "version: 1\n"
                                      "tools:\n"
                                      "  one: {builtin: sleep, concurrency: 1, scope: run}\n"
                                      "  paced: {builtin: echo, rate: 20/s}\n";

START_TEST(scope_run_keeps_tool_limits_per_run)
{
	run_two_limited(LIMITED_PER_RUN, sizeof(LIMITED_PER_RUN) - 1);
	ck_assert_int_eq(ONE_MAX, 2);
}
END_TEST

/* ---- fairness ---- */

static int BIG_DONE, BIG_DONE_AT_SMALL_END;

static void big_finished(void *ud, const struct td_run *run, const struct td_event *ev)
{
	(void)ud;
	(void)run;
	if (ev->type == TD_EVENT_CALL_FINISHED)
		BIG_DONE++;
}

static void small_finished(void *ud, const struct td_run *run, const struct td_event *ev)
{
	(void)ud;
	(void)run;
	if (ev->type == TD_EVENT_RUN_FINISHED)
		BIG_DONE_AT_SMALL_END = BIG_DONE;
}

/*
 * Host concurrency 4, a run of 100,000 calls holding every slot, then a run of 3: the small
 * one takes every other free slot, so it ends while the big one finishes a handful of calls
 * (without turns it would wait for all 100,000).
 */
START_TEST(big_run_does_not_starve_small_run)
{
	static const char *const naps[] = {"nap", NULL}, *const echo[] = {"echo", NULL};
	struct td_host_opts ho = {.concurrency = 4};
	struct job big, small;
	struct td_host *h;
	int before, i, r;

	BIG_DONE = 0;
	BIG_DONE_AT_SMALL_END = -1;
	ck_assert_int_eq(td_host_new(&ho, &h, NULL), 0);
	job_new(&big, h, naps, "{\"ms\":1}", 100000, 0, 0);
	ck_assert_int_eq(td_run_observe(big.r, big_finished, NULL), 0);
	for (i = 0; i < 100000 && BIG_DONE < 8; i++) {
		struct pollfd pfd = {.fd = td_host_fd(h), .events = POLLIN};

		ck_assert_int_eq(td_host_step(h), 1);
		poll(&pfd, 1, td_host_timeout(h));
	}
	job_new(&small, h, echo, "{}", 3, 0, 1);
	ck_assert_int_eq(td_run_observe(small.r, small_finished, NULL), 0);
	before = BIG_DONE;
	for (i = 0; i < 100000 && BIG_DONE_AT_SMALL_END < 0; i++) {
		struct pollfd pfd = {.fd = td_host_fd(h), .events = POLLIN};

		r = td_host_step(h);
		ck_assert_int_eq(r, 1); /* the big run is far from done */
		if (BIG_DONE_AT_SMALL_END < 0)
			poll(&pfd, 1, td_host_timeout(h));
	}
	ck_assert_int_ge(BIG_DONE_AT_SMALL_END, 0);
	/* three starts of the big run per start of the small one at most, plus what was out */
	ck_assert_int_le(BIG_DONE_AT_SMALL_END - before, 4 + 3 * 2);
	ck_assert_int_eq(td_run_step(small.r), 0);
	/* freeing the big run with 4 calls in flight */
	job_free(&big);
	ck_assert_int_eq(td_host_step(h), 0);
	job_free(&small);
	td_host_free(h);
}
END_TEST

/* ---- freeing a run with calls in flight; late completions ---- */

START_TEST(free_run_with_calls_in_flight)
{
	static const char *const keep[] = {"keep", "slow", NULL}, *const inl[] = {"inl", NULL};
	struct job a, b;
	struct td_host *h;
	struct td_result res;
	int i;

	atomic_store(&SLOW_RUNNING, 0);
	atomic_store(&SLOW_SAW_CANCEL, 0);
	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	job_new(&a, h, keep, "{}", 6, 0, 1); /* 3 kept async handles, 3 slow blocking calls */
	job_new(&b, h, inl, "{}", 2, 0, 2);
	for (i = 0; i < 5000 && (atomic_load(&NKEPT) < 3 || atomic_load(&SLOW_RUNNING) < 3); i++) {
		struct pollfd pfd = {.fd = td_host_fd(h), .events = POLLIN};

		ck_assert_int_ge(td_host_step(h), 0);
		poll(&pfd, 1, 1);
	}
	ck_assert_int_eq(atomic_load(&NKEPT), 3);
	ck_assert_int_eq(atomic_load(&SLOW_RUNNING), 3);
	/* returns while the blocking functions still run: it does not wait for them */
	job_free(&a);
	ck_assert_int_eq(atomic_load(&SLOW_RUNNING), 3);
	/* late: the run is gone, the completion is dropped */
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "late", 4), 0);
	/* the host goes on with the other run */
	drive(h);
	ck_assert_int_eq(td_run_result(b.r, 1, &res), 0);
	ck_assert_str_eq(res.content, "run-2");
	job_free(&b);
	td_host_free(h);
	/* later still: the host is gone too */
	ck_assert_int_eq(td_fn_complete(KEPT[1], 0, "later", 5), 0);
	atomic_store(&SLOW_GO, 1);
	for (i = 0; i < 5000 && atomic_load(&SLOW_RUNNING); i++)
		msleep(1);
	ck_assert_int_eq(atomic_load(&SLOW_RUNNING), 0);
	ck_assert_int_eq(atomic_load(&SLOW_SAW_CANCEL), 3);
	ck_assert_int_eq(td_fn_complete(KEPT[2], 1, "last", 4), 0);
}
END_TEST

START_TEST(host_free_frees_its_runs)
{
	static const char *const keep[] = {"keep", NULL};
	struct job a;
	struct td_host *h;
	int i;

	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	job_new(&a, h, keep, "{}", 2, 0, 1);
	for (i = 0; i < 1000 && atomic_load(&NKEPT) < 2; i++)
		ck_assert_int_eq(td_host_step(h), 1);
	ck_assert_int_eq(atomic_load(&NKEPT), 2);
	td_host_free(h); /* the run with two calls in flight goes with it */
	td_plan_free(a.p);
	td_batch_free(a.b);
	ck_assert_int_eq(td_fn_complete(KEPT[0], 0, "late", 4), 0);
	ck_assert_int_eq(td_fn_complete(KEPT[1], 0, "late", 4), 0);
}
END_TEST

/* ---- MCP servers live as long as the host ---- */

/* A graph whose server `fake` is tests/mcp/fake_server.py in `mode`; its tool pid answers the
 * server's process id. With a marker file: the first start exits 3 at once (and creates the
 * marker), later ones run the server; no restart within a run. */
static struct td_graph *mcp_graph_marked(const char *mode, const char *marker)
{
	static const char launcher[] =
	    "import os,sys; m=sys.argv[1]; e=os.path.exists(m); open(m,'a').close(); "
	    "os.execv(sys.executable,[sys.executable,sys.argv[2],sys.argv[3]]) if e else "
	    "sys.exit(3)";
	const char *src = getenv("TD_SRC");
	struct td_graph *g = NULL;
	char yaml[2048];
	int n;

	ck_assert_ptr_nonnull(src);
	if (marker)
		n = snprintf(
		    yaml, sizeof(yaml),
		    "version: 1\nservers:\n  fake: {restarts: 0, command: [/usr/bin/python3, "
		    "-c, \"%s\", %s, %s/tests/mcp/fake_server.py, %s]}\n"
		    "tools:\n  pid: {mcp: fake, timeout: 20s}\n",
		    launcher, marker, src, mode);
	else
		n = snprintf(yaml, sizeof(yaml),
		             "version: 1\nservers:\n  fake: {command: [/usr/bin/python3, "
		             "%s/tests/mcp/fake_server.py, %s]}\n"
		             "tools:\n  pid: {mcp: fake, timeout: 20s}\n",
		             src, mode);
	ck_assert_int_lt(n, (int)sizeof(yaml));
	ck_assert_int_eq(td_graph_load_buffer(yaml, (size_t)n, "mcp.yaml", NULL, &g, NULL), 0);
	return g;
}

static struct td_graph *mcp_graph(const char *mode)
{
	return mcp_graph_marked(mode, NULL);
}

/* One pid call of graph g on the host: the server's process id, or -1 when the call failed. */
static long pid_call(struct td_host *h, const struct td_graph *g)
{
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	struct td_result res;
	long pid;

	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "p", "pid", "{}"), 0);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_host_run_new(h, p, NULL, &r, NULL), 0);
	drive(h);
	ck_assert_int_eq(td_run_result(r, 0, &res), 0);
	pid = res.status == TD_STATUS_OK ? strtol(res.content, NULL, 10) : -1;
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	return pid;
}

START_TEST(mcp_server_outlives_runs_and_graphs)
{
	struct td_graph *g1 = mcp_graph("ok"), *g2 = mcp_graph("ok"), *g3 = mcp_graph("banner");
	struct td_host *h;
	long first, again, other;

	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	first = pid_call(h, g1);
	ck_assert_int_gt(first, 1);
	td_graph_free(g1); /* the host keeps its own copy of the declaration */
	again = pid_call(h, g2);
	ck_assert_int_eq(again, first); /* the same declaration: the running server */
	other = pid_call(h, g3);
	ck_assert_int_gt(other, 1);
	ck_assert_int_ne(other, first); /* another declaration: another server */
	ck_assert_int_eq(kill((pid_t)first, 0), 0);
	td_host_free(h); /* shuts both down */
	ck_assert_int_eq(kill((pid_t)first, 0), -1);
	ck_assert_int_eq(kill((pid_t)other, 0), -1);
	td_graph_free(g2);
	td_graph_free(g3);
}
END_TEST

/* A server that went down for good in one run (no restart left) starts again for the next. */
START_TEST(mcp_dead_server_starts_again_for_next_run)
{
	char dir[] = "/tmp/td_host_XXXXXX", marker[64];
	struct td_graph *g;
	struct td_host *h;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(marker, sizeof(marker), "%s/started", dir);
	g = mcp_graph_marked("ok", marker);
	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	ck_assert_int_eq(pid_call(h, g), -1); /* exited at start: down for this run */
	ck_assert_int_gt(pid_call(h, g), 1);  /* the next run starts it again */
	td_host_free(h);
	td_graph_free(g);
	unlink(marker);
	rmdir(dir);
}
END_TEST

START_TEST(bad_arguments)
{
	struct td_host *h = (struct td_host *)1;
	struct td_run *r = (struct td_run *)1;

	ck_assert_int_eq(td_host_new(NULL, NULL, NULL), TD_EINVAL);
	ck_assert_int_eq(td_host_fd(NULL), TD_EINVAL);
	ck_assert_int_eq(td_host_timeout(NULL), TD_EINVAL);
	ck_assert_int_eq(td_host_step(NULL), TD_EINVAL);
	ck_assert_ptr_null(td_host_loop(NULL));
	ck_assert_int_eq(td_host_run_new(NULL, NULL, NULL, &r, NULL), TD_EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(td_host_new(NULL, &h, NULL), 0);
	ck_assert_int_eq(td_host_run_new(h, NULL, NULL, &r, NULL), TD_EINVAL);
	ck_assert_int_eq(td_host_step(h), 0);
	ck_assert_int_eq(td_host_timeout(h), -1);
	td_host_free(h);
	td_host_free(NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("host");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, many_runs_share_one_host);
	tcase_add_test(tc, run_wait_on_a_host);
	tcase_add_test(tc, userdata_reaches_functions_and_observers);
	tcase_add_test(tc, host_concurrency_caps_all_runs);
	tcase_add_test(tc, big_run_does_not_starve_small_run);
	tcase_add_test(tc, runs_of_one_graph_share_tool_limits);
	tcase_add_test(tc, scope_run_keeps_tool_limits_per_run);
	tcase_add_test(tc, free_run_with_calls_in_flight);
	tcase_add_test(tc, host_free_frees_its_runs);
	tcase_add_test(tc, mcp_server_outlives_runs_and_graphs);
	tcase_add_test(tc, mcp_dead_server_starts_again_for_next_run);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

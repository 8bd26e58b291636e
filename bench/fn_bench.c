/* SPDX-License-Identifier: MIT */
/*
 * fn_bench.c - function tools through the public API only.
 *
 *   fn_bench inline [CALLS] [LEVELS]        no-op INLINE calls (default 1,000,000 in 10
 *                                           levels): calls per second of td_run_wait()
 *   fn_bench blocking [CALLS] [MS] [WORKERS]  BLOCKING calls that sleep MS (default 4,000
 *                                           calls of 1 ms on 4 workers): throughput against
 *                                           the ideal WORKERS * 1000 / MS per second
 *   fn_bench exact [CALLS] [MS] [WORKERS]   the same with calls that last MS exactly: they
 *                                           sleep to 150 us before the end, then spin (a
 *                                           plain 1 ms sleep lasts ~1.09 ms on this VM)
 *
 * Both blocking modes also time the function itself (the mean real duration of a call) and
 * run the same calls on bare threads, so the pool's own cost is visible apart from the
 * kernel's sleep overshoot.
 *
 * Each level is one tool depending on the previous one, so the level barrier holds between
 * them. Only the run is timed (graph, batch and plan are built before the clock starts).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "tooldag.h"

static double now_s(void);

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the whole process (all threads): on a shared machine the wall clock also
 * counts the time other programs held the cores. */
static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double CPU;

static void noop(struct td_fn_call *call, void *ud)
{
	(void)ud;
	td_fn_complete(call, 0, NULL, 0);
}

/* A 1 ms sleep is 1 ms plus the timer slack (50 us by default): asked for 1 us of slack,
 * the sleep is what the ideal assumes. Both the function and the baseline do this. */
static void sleep_ms(long ms)
{
	static _Thread_local int slack_set;
	struct timespec ts = {0, ms * 1000000L};

	if (!slack_set)
		slack_set = prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) == 0;
	nanosleep(&ts, NULL);
}

/* Sleeps to SPIN before the end, then spins: the call lasts `ms`, not ms + overshoot. */
#define SPIN_NS 150000L
static int EXACT;

static void exact_ms(long ms)
{
	struct timespec end, wake, t;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += ms * 1000000L;
	end.tv_sec += end.tv_nsec / 1000000000L;
	end.tv_nsec %= 1000000000L;
	wake = end;
	wake.tv_nsec -= SPIN_NS;
	if (wake.tv_nsec < 0) {
		wake.tv_nsec += 1000000000L;
		wake.tv_sec--;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (t.tv_sec < end.tv_sec || (t.tv_sec == end.tv_sec && t.tv_nsec < end.tv_nsec));
}

/* Sum of the calls' real durations, to tell the kernel's overshoot from the pool's cost. */
static _Atomic long long FN_NS;

static void work_ms(long ms)
{
	double t0 = now_s();

	if (EXACT)
		exact_ms(ms);
	else
		sleep_ms(ms);
	FN_NS += (long long)((now_s() - t0) * 1e9);
}

static void sleeper(struct td_fn_call *call, void *ud)
{
	work_ms(*(long *)ud);
	td_fn_complete(call, 0, NULL, 0);
}

/* The baseline: the same sleeps on the same number of threads, without tooldag. */
struct base {
	unsigned n;
	long ms;
};

static void *base_thread(void *arg)
{
	struct base *b = arg;
	unsigned i;

	for (i = 0; i < b->n; i++)
		work_ms(b->ms);
	return NULL;
}

static double baseline(unsigned calls, long ms, unsigned workers)
{
	pthread_t t[256];
	struct base b = {calls / workers, ms};
	double t0 = now_s();
	unsigned i;

	for (i = 0; i < workers && i < 256; i++)
		pthread_create(&t[i], NULL, base_thread, &b);
	for (i = 0; i < workers && i < 256; i++)
		pthread_join(t[i], NULL);
	return now_s() - t0;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "fn_bench: %s: %s\n", what, td_strerror(err));
	return 1;
}

/* LEVELS tools l0..l{n-1} calling `fn`, each depending on the one before. */
static int make_graph(unsigned levels, unsigned concurrency, struct td_graph **g)
{
	size_t cap = 64 + (size_t)levels * 64, n;
	char *yaml = malloc(cap);
	unsigned k;
	int err;

	n = (size_t)snprintf(yaml, cap, "version: 1\nconcurrency: %u\ntools:\n", concurrency);
	for (k = 0; k < levels; k++)
		n += k ? (size_t)snprintf(yaml + n, cap - n,
		                          "  l%u: {function: fn, depends_on: [l%u]}\n", k, k - 1)
		       : (size_t)snprintf(yaml + n, cap - n, "  l0: {function: fn}\n");
	err = td_graph_load_buffer(yaml, n, "fn_bench.yaml", NULL, g, NULL);
	free(yaml);
	return err;
}

static int run(unsigned calls, unsigned levels, unsigned concurrency, enum td_fn_mode mode,
               td_fn fn, void *ud, unsigned workers, double *secs)
{
	struct td_graph *g = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	struct td_functions *fns = NULL;
	struct td_run_opts o = {0};
	char id[32], tool[16];
	unsigned i;
	double t0;
	int err;

	err = make_graph(levels, concurrency, &g);
	if (err)
		return die("graph", err);
	td_functions_new(&fns);
	td_functions_add(fns, "fn", mode, fn, ud);
	td_functions_set_workers(fns, workers);
	o.functions = fns;
	td_batch_new(g, TD_DIALECT_ANTHROPIC, &b);
	for (i = 0; i < calls; i++) {
		snprintf(id, sizeof(id), "c%u", i);
		snprintf(tool, sizeof(tool), "l%u", (unsigned)((uint64_t)i * levels / calls));
		if ((err = td_batch_add(b, id, tool, NULL)) < 0)
			return die("batch", err);
	}
	if ((err = td_plan_new(b, &p, NULL)) < 0 || (err = td_run_new(p, &o, &r, NULL)) < 0)
		return die("plan/run", err);
	t0 = now_s();
	CPU = cpu_s();
	err = td_run_wait(r);
	CPU = cpu_s() - CPU;
	*secs = now_s() - t0;
	if (err)
		return die("run", err);
	for (i = 0; i < calls; i += calls / 97 + 1) { /* spot check */
		struct td_result res;

		td_run_result(r, i, &res);
		if (res.status != TD_STATUS_OK)
			return die("a call did not succeed", TD_ESTATE);
	}
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_functions_free(fns);
	td_graph_free(g);
	return 0;
}

static unsigned arg(int argc, char **argv, int i, unsigned dflt)
{
	return argc > i ? (unsigned)strtoul(argv[i], NULL, 10) : dflt;
}

int main(int argc, char **argv)
{
	double secs;

	if (argc >= 2 && !strcmp(argv[1], "inline")) {
		unsigned calls = arg(argc, argv, 2, 1000000), levels = arg(argc, argv, 3, 10);

		if (run(calls, levels, 64, TD_FN_INLINE, noop, NULL, 1, &secs))
			return 1;
		printf("inline: %u no-op calls in %u levels: %.3f s, %.2f M calls/s "
		       "(CPU %.3f s: %.2f M calls per CPU second)\n",
		       calls, levels, secs, calls / secs / 1e6, CPU, calls / CPU / 1e6);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "blocking") || !strcmp(argv[1], "exact"))) {
		unsigned calls = arg(argc, argv, 2, 4000), workers = arg(argc, argv, 4, 4);
		long ms = arg(argc, argv, 3, 1);
		double ideal = workers * 1000.0 / (double)ms, base, fn_ms;

		EXACT = !strcmp(argv[1], "exact");
		if (run(calls, 1, workers * 4, TD_FN_BLOCKING, sleeper, &ms, workers, &secs))
			return 1;
		fn_ms = (double)FN_NS / calls / 1e6;
		base = baseline(calls, ms, workers);
		printf(
		    "%s: %u calls of %ld ms on %u workers: %.3f s, %.0f calls/s "
		    "(ideal %.0f: %.1f%%; a call really lasted %.4f ms, ideal for that %.0f: "
		    "%.1f%%; the bare calls on %u threads: %.0f calls/s, tooldag %.1f%% of that)\n",
		    argv[1], calls, ms, workers, secs, calls / secs, ideal,
		    100.0 * calls / secs / ideal, fn_ms, workers / fn_ms * 1000.0,
		    100.0 * calls / secs / (workers / fn_ms * 1000.0), workers, calls / base,
		    100.0 * base / secs);
		return 0;
	}
	fprintf(stderr, "usage: fn_bench inline [CALLS] [LEVELS]\n"
	                "       fn_bench blocking|exact [CALLS] [MS] [WORKERS]\n");
	return 2;
}

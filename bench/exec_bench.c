/* exec_bench: the executor and scheduler measured in process, through the public API only
 * (graph from a buffer, batch built with td_batch_add/td_batch_depend, td_run_wait), so the
 * numbers exclude JSON decoding and process start-up and show the scheduler's own cost.
 *
 *   exec_bench echo  [N] [LEVELS]   N builtin echo calls in LEVELS chained levels: calls/s
 *   exec_bench sleep [N] [MS]       N concurrent builtin sleeps of MS ms: lateness percentiles
 *   exec_bench level [LEVELS] [W] [MS]  LEVELS x W sleeps of MS ms: makespan - ideal per level
 *   exec_bench rss   [N] [MS]       N sleeps of MS ms all in flight: peak RSS
 *
 * Each prints one JSON line. Calls of level k depend on the call at the same position in
 * level k-1 (one edge per call), so building the batch stays linear however large N is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tooldag.h"

static const char graph_yaml[] = "version: 1\n"
                                 "tools:\n"
                                 "  echo:\n"
                                 "    builtin: echo\n"
                                 "  wait:\n"
                                 "    builtin: sleep\n";

struct bench {
	struct td_graph *graph;
	struct td_batch *batch;
	struct td_plan *plan;
	struct td_run *run;
	double build_s;    /* graph + batch + plan + td_run_new */
	double wait_s;     /* td_run_wait */
	double wait_cpu_s; /* CPU time of td_run_wait */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Process CPU seconds (user + system): under a loaded host the wall clock also counts the
 * time spent waiting for a core, the CPU time does not. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "exec_bench: %s failed: %d\n", what, rc);
	exit(1);
}

/* levels x width calls of `tool` with `input`, chained per position; runs to completion. */
static void bench_run(struct bench *b, const char *tool, const char *input, size_t levels,
                      size_t width, unsigned concurrency)
{
	double t0 = now_s();
	int rc = td_graph_load_buffer(graph_yaml, sizeof graph_yaml - 1, "bench.yaml", ".",
	                              &b->graph, NULL);
	if (rc < 0)
		die("td_graph_load_buffer", rc);
	rc = td_batch_new(b->graph, TD_DIALECT_ANTHROPIC, &b->batch);
	if (rc < 0)
		die("td_batch_new", rc);
	char id[32];
	for (size_t i = 0; i < levels * width; i++) {
		snprintf(id, sizeof id, "c%zu", i);
		rc = td_batch_add(b->batch, id, tool, input);
		if (rc < 0)
			die("td_batch_add", rc);
		if (i >= width && (rc = td_batch_depend(b->batch, i, i - width)) < 0)
			die("td_batch_depend", rc);
	}
	rc = td_plan_new(b->batch, &b->plan, NULL);
	if (rc < 0)
		die("td_plan_new", rc);
	struct td_run_opts opts = {.concurrency = concurrency, .seed = 1};
	rc = td_run_new(b->plan, &opts, &b->run, NULL);
	if (rc < 0)
		die("td_run_new", rc);
	double t1 = now_s(), c1 = cpu_s();
	rc = td_run_wait(b->run);
	b->wait_cpu_s = cpu_s() - c1;
	if (rc < 0)
		die("td_run_wait", rc);
	b->build_s = t1 - t0;
	b->wait_s = now_s() - t1;
	for (size_t i = 0; i < levels * width; i++) {
		struct td_result r;
		if (td_run_result(b->run, i, &r) < 0 || r.status != TD_STATUS_OK)
			die("a call", -1);
	}
}

static void bench_free(struct bench *b)
{
	td_run_free(b->run);
	td_plan_free(b->plan);
	td_batch_free(b->batch);
	td_graph_free(b->graph);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static size_t arg(int argc, char **argv, int i, size_t def)
{
	return argc > i ? strtoul(argv[i], NULL, 10) : def;
}

static int do_echo(size_t n, size_t levels)
{
	struct bench b = {0};
	bench_run(&b, "echo", "{\"x\":1}", levels, n / levels, (unsigned)(n / levels));
	double mk = (double)td_run_makespan_us(b.run) / 1e6;
	printf("{\"bench\":\"echo\",\"calls\":%zu,\"levels\":%zu,\"makespan_s\":%.6f,"
	       "\"calls_per_s\":%.0f,\"wait_s\":%.6f,\"build_s\":%.6f,"
	       "\"calls_per_s_incl_build\":%.0f,\"wait_cpu_s\":%.6f,\"calls_per_cpu_s\":%.0f}\n",
	       n / levels * levels, levels, mk, (double)n / mk, b.wait_s, b.build_s,
	       (double)n / (b.wait_s + b.build_s), b.wait_cpu_s, (double)n / b.wait_cpu_s);
	bench_free(&b);
	return 0;
}

static int do_sleep(size_t n, size_t ms)
{
	struct bench b = {0};
	char input[64];
	snprintf(input, sizeof input, "{\"ms\":%zu}", ms);
	bench_run(&b, "wait", input, 1, n, (unsigned)n);
	/* late: from each call's own start (the executor's timer accuracy); late0: from the
	 * run's start (what the batch sees, counting the time to start every call). */
	int64_t *late = malloc(n * sizeof *late), *late0 = malloc(n * sizeof *late0);
	if (!late || !late0)
		die("malloc", -1);
	for (size_t i = 0; i < n; i++) {
		struct td_result r;
		td_run_result(b.run, i, &r);
		late[i] = r.end_us - r.start_us - (int64_t)ms * 1000;
		late0[i] = r.end_us - (int64_t)ms * 1000;
	}
	qsort(late, n, sizeof *late, cmp_i64);
	qsort(late0, n, sizeof *late0, cmp_i64);
	printf("{\"bench\":\"sleep\",\"calls\":%zu,\"ms\":%zu,\"late_median_ms\":%.3f,"
	       "\"late_p99_ms\":%.3f,\"late_max_ms\":%.3f,\"late0_median_ms\":%.3f,"
	       "\"late0_p99_ms\":%.3f,\"makespan_ms\":%.3f}\n",
	       n, ms, (double)late[n / 2] / 1e3, (double)late[n * 99 / 100] / 1e3,
	       (double)late[n - 1] / 1e3, (double)late0[n / 2] / 1e3,
	       (double)late0[n * 99 / 100] / 1e3, (double)td_run_makespan_us(b.run) / 1e3);
	free(late);
	free(late0);
	bench_free(&b);
	return 0;
}

static int do_level(size_t levels, size_t width, size_t ms)
{
	struct bench b = {0};
	char input[64];
	snprintf(input, sizeof input, "{\"ms\":%zu}", ms);
	bench_run(&b, "wait", input, levels, width, (unsigned)width);
	/* Per level: the longest call is exactly ms long ideally; the level's own wall time
	 * runs from its first start to its last end, and the gap from the previous level's
	 * last end to this level's first start is the barrier's cost. */
	int64_t prev_end = 0, worst_gap = 0;
	for (size_t k = 0; k < levels; k++) {
		int64_t first = INT64_MAX, last = 0;
		for (size_t i = k * width; i < (k + 1) * width; i++) {
			struct td_result r;
			td_run_result(b.run, i, &r);
			if (r.start_us < first)
				first = r.start_us;
			if (r.end_us > last)
				last = r.end_us;
		}
		int64_t over = (last - prev_end) - (int64_t)ms * 1000;
		if (over > worst_gap)
			worst_gap = over;
		prev_end = last;
	}
	int64_t mk = td_run_makespan_us(b.run);
	int64_t ideal = (int64_t)(levels * ms * 1000);
	printf("{\"bench\":\"level\",\"levels\":%zu,\"width\":%zu,\"ms\":%zu,\"makespan_ms\":%.3f,"
	       "\"ideal_ms\":%.3f,\"overhead_per_level_ms\":%.3f,\"worst_level_over_ms\":%.3f}\n",
	       levels, width, ms, (double)mk / 1e3, (double)ideal / 1e3,
	       (double)(mk - ideal) / 1e3 / (double)levels, (double)worst_gap / 1e3);
	bench_free(&b);
	return 0;
}

static int do_rss(size_t n, size_t ms)
{
	long base = maxrss_kib();
	struct bench b = {0};
	char input[64];
	snprintf(input, sizeof input, "{\"ms\":%zu}", ms);
	bench_run(&b, "wait", input, 1, n, (unsigned)n);
	long peak = maxrss_kib();
	printf("{\"bench\":\"rss\",\"calls\":%zu,\"ms\":%zu,\"base_rss_kib\":%ld,"
	       "\"peak_rss_kib\":%ld,\"bytes_per_call\":%.0f,\"makespan_ms\":%.3f}\n",
	       n, ms, base, peak, (double)(peak - base) * 1024.0 / (double)n,
	       (double)td_run_makespan_us(b.run) / 1e3);
	bench_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "echo"))
		return do_echo(arg(argc, argv, 2, 100000), arg(argc, argv, 3, 10));
	if (!strcmp(mode, "sleep"))
		return do_sleep(arg(argc, argv, 2, 1000), arg(argc, argv, 3, 1));
	if (!strcmp(mode, "level"))
		return do_level(arg(argc, argv, 2, 10), arg(argc, argv, 3, 50),
		                arg(argc, argv, 4, 20));
	if (!strcmp(mode, "rss"))
		return do_rss(arg(argc, argv, 2, 100000), arg(argc, argv, 3, 1000));
	fprintf(stderr, "usage: exec_bench echo [N] [LEVELS] | sleep [N] [MS] | "
	                "level [LEVELS] [W] [MS] | rss [N] [MS]\n");
	return 2;
}

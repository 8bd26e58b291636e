/* SPDX-License-Identifier: MIT */
/*
 * observe-bench - what observers cost a run (the target: at most 5 % on a 100,000-call
 * builtin-echo run).
 *
 *   observe-bench [-n CALLS] [-l LEVELS] [-r ROUNDS] [-j JOBS] [-s SCHEDULE] [-t TRACEFILE]
 *                 [-o VARIANT]   (only `none` and VARIANT: for profiling one)
 *
 * Builds one layered batch in-process (CALLS calls of one builtin echo tool in LEVELS levels,
 * each call of a level > 0 depending on 3..5 random calls of the level before, like
 * `tooldag-bench gen calls`), plans it once, then runs it ROUNDS times per variant,
 * interleaved (the order rotates each round), timing td_run_wait() alone:
 *   none     no observer attached (the scheduler's hook stays NULL)
 *   noop     one observer that does nothing: the price of the event interface itself
 *   count    an observer keeping counts and the running set, as a status line does
 *   json     td_event_json() of every event into a 4 KiB buffer, in place as --progress=json
 *            does (unprinted)
 *   trace    td_run_trace() into TRACEFILE (default: a temporary file, removed after)
 * Prints a Markdown table: median wall and CPU ms per variant and the median of the
 * same-round ratios to `none` (the machine is shared: only ratios within a round mean much).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_median.h"
#include "tooldag.h"

enum { NONE, NOOP, COUNT, JSON, TRACE, NVAR };
static const char *const NAMES[NVAR] = {"none", "noop", "count", "json", "trace"};

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "observe-bench: %s: %s\n", what, td_strerror(err));
	exit(3);
}

static struct td_batch *build(const struct td_graph *g, uint32_t n, uint32_t levels)
{
	uint32_t width = n / levels, i, k;
	struct td_batch *b;
	char id[32];
	int err;

	if ((err = td_batch_new(g, TD_DIALECT_ANTHROPIC, &b)) < 0)
		die("td_batch_new", err);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "toolu_%08u", i);
		if ((err = td_batch_add(b, id, "task", "{\"n\":1}")) < 0)
			die("td_batch_add", err);
		if (i < width)
			continue;
		for (k = 3 + (uint32_t)(next() % 3); k > 0; k--) {
			uint32_t lvl = i / width,
			         dep = (lvl - 1) * width + (uint32_t)(next() % width);

			td_batch_depend(b, i, dep); /* a repeated edge is fine: the plan dedups */
		}
	}
	return b;
}

/* ---- the observers ---- */

static void noop(void *ud, const struct td_run *run, const struct td_event *ev)
{
	(void)ud;
	(void)run;
	(void)ev;
}

struct counts {
	uint64_t by_type[8];
	uint32_t running, done, failed;
	int64_t last;
};

static void count(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct counts *c = ud;

	(void)run;
	c->by_type[ev->type & 7]++;
	c->running += ev->type == TD_EVENT_CALL_STARTED;
	c->running -= ev->type == TD_EVENT_ATTEMPT_FINISHED;
	c->done = ev->done;
	c->failed = ev->failed;
	c->last = ev->time_us;
}

static void json(void *ud, const struct td_run *run, const struct td_event *ev)
{
	char buf[4096]; /* as --progress=json passes: room to write in place */

	*(uint64_t *)ud += (uint64_t)td_event_json(run, ev, buf, sizeof(buf));
}

/* ---- one timed run ---- */

static void one(const struct td_plan *p, const struct td_run_opts *o, int var, const char *tpath,
                double *wall, double *cpu)
{
	struct counts counts = {0};
	uint64_t bytes = 0;
	struct td_run *run;
	FILE *tf = NULL;
	double w0, c0;
	int err;

	if ((err = td_run_new(p, o, &run, NULL)) < 0)
		die("td_run_new", err);
	if (var == NOOP)
		err = td_run_observe(run, noop, NULL);
	else if (var == COUNT)
		err = td_run_observe(run, count, &counts);
	else if (var == JSON)
		err = td_run_observe(run, json, &bytes);
	else if (var == TRACE) {
		tf = fopen(tpath, "w");
		err = tf ? td_run_trace(run, tf) : -2;
	}
	if (err < 0)
		die("attaching the observer", err);
	w0 = now_ms(CLOCK_MONOTONIC);
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	if ((err = td_run_wait(run)) < 0)
		die("td_run_wait", err);
	*wall = now_ms(CLOCK_MONOTONIC) - w0;
	*cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	td_run_free(run);
	if (tf && fclose(tf) != 0)
		die("writing the trace", -5);
}

int main(int argc, char **argv)
{
	uint32_t n = 100000, levels = 10;
	int rounds = 7, opt, r, k, only = -1;
	struct td_run_opts o = {.seed = 1};
	char graph[256], tdefault[] = "/tmp/observe-bench-XXXXXX", *tpath = NULL;
	double wall[NVAR][64], cpu[NVAR][64], ratio[NVAR][64], w, c;
	struct td_graph *g;
	struct td_batch *b;
	struct td_plan *p;
	int err;

	while ((opt = getopt(argc, argv, "n:l:r:j:s:t:o:h")) != -1) {
		switch (opt) {
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'l':
			levels = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = (int)strtol(optarg, NULL, 10);
			break;
		case 'j':
			o.concurrency = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			o.schedule =
			    strcmp(optarg, "eager") ? TD_SCHEDULE_LEVEL : TD_SCHEDULE_EAGER;
			break;
		case 't':
			tpath = optarg;
			break;
		case 'o':
			for (k = 0; k < NVAR; k++)
				if (strcmp(optarg, NAMES[k]) == 0)
					only = k;
			break;
		default:
			fprintf(stderr,
			        "usage: observe-bench [-n CALLS] [-l LEVELS] [-r ROUNDS 1..64] "
			        "[-j JOBS] [-s level|eager] [-t TRACEFILE] [-o VARIANT]\n");
			return 1;
		}
	}
	if (rounds < 1 || rounds > 64 || !levels || n < levels) {
		fprintf(stderr, "observe-bench: need 1 <= ROUNDS <= 64 and CALLS >= LEVELS >= 1\n");
		return 1;
	}
	if (!tpath) {
		int fd = mkstemp(tdefault);

		if (fd < 0)
			die("mkstemp", -1);
		close(fd);
		tpath = tdefault;
	}
	snprintf(graph, sizeof(graph),
	         "version: 1\nconcurrency: 16\ntools:\n  task: {builtin: echo}\n");
	if ((err = td_graph_load_buffer(graph, strlen(graph), "bench.yaml", NULL, &g, NULL)) < 0)
		die("td_graph_load_buffer", err);
	b = build(g, n, levels);
	if ((err = td_plan_new(b, &p, NULL)) < 0)
		die("td_plan_new", err);
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < NVAR; k++) {
			int var = (k + r) % NVAR;

			if (only >= 0 && var != only && var != NONE) {
				wall[var][r] = cpu[var][r] = 0;
				continue;
			}
			one(p, &o, var, tpath, &w, &c);
			wall[var][r] = w;
			cpu[var][r] = c;
		}
		for (k = 0; k < NVAR; k++)
			ratio[k][r] = wall[k][r] / wall[NONE][r];
	}
	printf("| observer | median wall ms | median CPU ms | wall / none (median of rounds) |\n"
	       "|---|---:|---:|---:|\n");
	for (k = 0; k < NVAR; k++)
		printf("| %s | %.1f | %.1f | %.3f |\n", NAMES[k], median(wall[k], rounds),
		       median(cpu[k], rounds), median(ratio[k], rounds));
	printf("\n%u calls, %zu levels, %d rounds interleaved, schedule %s, concurrency %u\n", n,
	       td_plan_level_count(p), rounds, o.schedule == TD_SCHEDULE_EAGER ? "eager" : "level",
	       o.concurrency ? o.concurrency : 16);
	if (tpath == tdefault)
		unlink(tdefault);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * host_bench.c - many concurrent runs on one host against as many separate runs, through the
 * public API only.
 *
 *   host_bench [RUNS] [CALLS] [ROUNDS]   RUNS runs (default 1,000) of CALLS builtin echo calls
 *                                        (default 10), ROUNDS rounds (default 5), the two
 *                                        ways interleaved round by round
 *
 * host:     one td_host_new(), RUNS td_host_run_new(), driven by td_host_step() and a poll
 *           of td_host_fd() until every run is done;
 * separate: RUNS td_run_new() (each its own loop), driven as an embedder had to: step every
 *           unfinished run, then poll every run's descriptor with the smallest timeout.
 *
 * Per run: heap bytes the runs hold once created and once done, their results and job records
 * included (glibc's mallinfo2(), the whole process's heap in use, minus what it was before;
 * read outside the timed loop, it walks the heap), resident memory once created (VmRSS delta:
 * the rings' mappings are not on the heap), descriptors (/proc/self/fd). Wall time from the
 * first step to the last run done; creating and freeing all runs apart. Graph, batches and plans
 * are built before and are the same both ways. Figures are medians over the rounds.
 */
#include <dirent.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_median.h"
#include "tooldag.h"

static const char GRAPH[] = "version: 1\ntools:\n  echo: {builtin: echo}\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long)mi.uordblks + (long)mi.hblkhd;
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4096;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct figures {
	double heap, peak, rss, fds, create_ms, ms, free_ms;
};

static void fail(const char *what, int err)
{
	fprintf(stderr, "host_bench: %s: %s\n", what, td_strerror(err));
	exit(1);
}

static void check_done(struct td_run **runs, int n, int calls)
{
	struct td_result res;
	int i, c;

	for (i = 0; i < n; i++)
		for (c = 0; c < calls; c++)
			if (td_run_result(runs[i], (size_t)c, &res) || res.status != TD_STATUS_OK)
				fail("a call did not end ok", TD_EINVAL);
}

static void on_host(struct td_plan **plans, int n, int calls, struct figures *f, const char **loop)
{
	struct td_run **runs = calloc((size_t)n, sizeof(*runs));
	long h0, r0;
	struct td_host *host;
	int fd0, i, err, more;
	double t0;

	h0 = heap_bytes();
	r0 = rss_bytes();
	fd0 = open_fds();
	t0 = now_s();
	if ((err = td_host_new(NULL, &host, NULL)) < 0)
		fail("td_host_new", err);
	*loop = td_host_loop(host);
	for (i = 0; i < n; i++)
		if ((err = td_host_run_new(host, plans[i], NULL, &runs[i], NULL)) < 0)
			fail("td_host_run_new", err);
	f->create_ms = (now_s() - t0) * 1e3;
	f->heap = (double)(heap_bytes() - h0) / n;
	f->rss = (double)(rss_bytes() - r0) / n;
	f->fds = (double)(open_fds() - fd0) / n;
	t0 = now_s();
	while ((more = td_host_step(host)) == 1) {
		struct pollfd p = {.fd = td_host_fd(host), .events = POLLIN};

		poll(&p, 1, td_host_timeout(host));
	}
	f->ms = (now_s() - t0) * 1e3;
	if (more < 0)
		fail("td_host_step", more);
	f->peak = (double)(heap_bytes() - h0) / n;
	check_done(runs, n, calls);
	t0 = now_s();
	for (i = 0; i < n; i++)
		td_run_free(runs[i]);
	td_host_free(host);
	f->free_ms = (now_s() - t0) * 1e3;
	free(runs);
}

static void separate(struct td_plan **plans, int n, int calls, struct figures *f)
{
	struct td_run **runs = calloc((size_t)n, sizeof(*runs));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	long h0, r0;
	int fd0, i, err, left = n;
	double t0;

	h0 = heap_bytes();
	r0 = rss_bytes();
	fd0 = open_fds();
	t0 = now_s();
	for (i = 0; i < n; i++)
		if ((err = td_run_new(plans[i], NULL, &runs[i], NULL)) < 0)
			fail("td_run_new", err);
	f->create_ms = (now_s() - t0) * 1e3;
	f->heap = (double)(heap_bytes() - h0) / n;
	f->rss = (double)(rss_bytes() - r0) / n;
	f->fds = (double)(open_fds() - fd0) / n;
	t0 = now_s();
	while (left) {
		int np = 0, ms = -1;

		left = 0;
		for (i = 0; i < n; i++) {
			int more, t;

			if (!runs[i] || (more = td_run_step(runs[i])) == 0)
				continue;
			if (more < 0)
				fail("td_run_step", more);
			left++;
			t = td_run_timeout(runs[i]);
			if (t >= 0 && (ms < 0 || t < ms))
				ms = t;
			p[np].fd = td_run_fd(runs[i]);
			p[np++].events = POLLIN;
		}
		if (left)
			poll(p, (nfds_t)np, ms);
	}
	f->ms = (now_s() - t0) * 1e3;
	f->peak = (double)(heap_bytes() - h0) / n;
	check_done(runs, n, calls);
	t0 = now_s();
	for (i = 0; i < n; i++)
		td_run_free(runs[i]);
	f->free_ms = (now_s() - t0) * 1e3;
	free(runs);
	free(p);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#define MAXROUNDS 64

static void row(const char *name, const char *loop, struct figures *v, int rounds)
{
	double heap[MAXROUNDS], peak[MAXROUNDS], rss[MAXROUNDS], fds[MAXROUNDS], ms[MAXROUNDS];
	double cr[MAXROUNDS], fr[MAXROUNDS];
	int i;

	for (i = 0; i < rounds; i++) {
		heap[i] = v[i].heap;
		peak[i] = v[i].peak;
		rss[i] = v[i].rss;
		fds[i] = v[i].fds;
		ms[i] = v[i].ms;
		cr[i] = v[i].create_ms;
		fr[i] = v[i].free_ms;
	}
	printf("| %s (%s) | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f | %.1f |\n", name, loop,
	       median(heap, rounds) / 1024, median(peak, rounds) / 1024, median(rss, rounds) / 1024,
	       median(fds, rounds), median(cr, rounds), median(ms, rounds), median(fr, rounds));
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, calls = argc > 2 ? atoi(argv[2]) : 10;
	int rounds = argc > 3 ? atoi(argv[3]) : 5, i, c, err;
	struct figures fh[MAXROUNDS], fs[MAXROUNDS];
	const char *loop = "?", *sep_loop = "?";
	struct td_batch **batches;
	struct td_plan **plans;
	struct td_graph *g;
	char id[32];

	if (n < 1 || calls < 1 || rounds < 1 || rounds > MAXROUNDS) {
		fprintf(stderr, "usage: host_bench [RUNS] [CALLS] [ROUNDS<=%d]\n", MAXROUNDS);
		return 1;
	}
	raise_nofile();
	if ((err = td_graph_load_buffer(GRAPH, sizeof(GRAPH) - 1, "bench.yaml", NULL, &g, NULL)) <
	    0)
		fail("graph", err);
	batches = calloc((size_t)n, sizeof(*batches));
	plans = calloc((size_t)n, sizeof(*plans));
	for (i = 0; i < n; i++) {
		if ((err = td_batch_new(g, TD_DIALECT_ANTHROPIC, &batches[i])) < 0)
			fail("batch", err);
		for (c = 0; c < calls; c++) {
			snprintf(id, sizeof(id), "c%d", c);
			if ((err = td_batch_add(batches[i], id, "echo", "{\"x\":1}")) < 0)
				fail("batch", err);
		}
		if ((err = td_plan_new(batches[i], &plans[i], NULL)) < 0)
			fail("plan", err);
	}
	/* alternate which goes first, and let the kernel finish tearing rings down in between */
	for (i = 0; i < rounds; i++) {
		if (i % 2)
			separate(plans, n, calls, &fs[i]);
		usleep(200000);
		on_host(plans, n, calls, &fh[i], &loop);
		usleep(200000);
		if (!(i % 2))
			separate(plans, n, calls, &fs[i]);
	}
	{
		static char name[32];
		struct td_run *r;

		if (td_run_new(plans[0], NULL, &r, NULL) == 0) {
			snprintf(name, sizeof(name), "%s", td_run_loop(r));
			sep_loop = name;
			td_run_free(r);
		}
	}
	printf("%d runs x %d builtin echo calls, %d rounds, medians\n\n", n, calls, rounds);
	printf("| way | heap per run created (KiB) | heap per run done (KiB) | RSS per run "
	       "created (KiB) | descriptors per run | create all (ms) | run all (ms) | free all "
	       "(ms) |\n|---|---|---|---|---|---|---|---|\n");
	row("one host", loop, fh, rounds);
	row("separate td_run_new", sep_loop, fs, rounds);
	for (i = 0; i < n; i++) {
		td_plan_free(plans[i]);
		td_batch_free(batches[i]);
	}
	free(plans);
	free(batches);
	td_graph_free(g);
	return 0;
}

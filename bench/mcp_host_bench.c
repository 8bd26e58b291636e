/* SPDX-License-Identifier: MIT */
/*
 * mcp_host_bench.c - an agent loop's batches against one MCP server: on one host (the server
 * started once, kept across runs) against as many separate runs (td_run_new(): the server
 * started and shut down with each), through the public API only.
 *
 *   mcp_host_bench SERVER [BATCHES] [CALLS] [ROUNDS]
 *
 * SERVER is the server-everything program (node_modules/.bin/mcp-server-everything); BATCHES
 * batches (default 20) of CALLS echo calls each (default 10), one after the other as an agent
 * loop sends them; ROUNDS rounds (default 3), the two ways interleaved round by round.
 *
 * host:     one td_host_new(), each batch a td_host_run_new() + td_run_wait() + td_run_free(),
 *           then td_host_free() (the server's shutdown included);
 * separate: each batch a td_run_new() + td_run_wait() + td_run_free().
 * Figures: the whole wall time of the BATCHES batches and per batch, medians over the rounds.
 * Every call's result is checked ("Echo: ...").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_median.h"
#include "tooldag.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err, const struct td_diag *diag)
{
	char line[512];
	size_t i;

	fprintf(stderr, "mcp_host_bench: %s: %s\n", what, td_strerror(err));
	for (i = 0; diag && i < diag->count; i++) {
		td_diag_format(&diag->items[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	exit(1);
}

/* One batch on run r (made by the caller), to completion; every result checked. */
static void finish(struct td_run *r, unsigned calls)
{
	struct td_result res;
	unsigned c;
	int err = td_run_wait(r);

	if (err < 0)
		die("td_run_wait", err, NULL);
	for (c = 0; c < calls; c++)
		if (td_run_result(r, c, &res) < 0 || res.is_error ||
		    strncmp(res.content, "Echo: ", 6)) {
			fprintf(stderr, "mcp_host_bench: call %u: %s\n", c, res.content);
			exit(1);
		}
	td_run_free(r);
}

static double way(int on_host, const struct td_plan *plan, unsigned batches, unsigned calls)
{
	struct td_host *h = NULL;
	struct td_diag diag_s = {0}, *diag = &diag_s;
	double t0 = now_s();
	unsigned b;
	int err;

	if (on_host && (err = td_host_new(NULL, &h, diag)) < 0)
		die("td_host_new", err, diag);
	for (b = 0; b < batches; b++) {
		struct td_run *r;

		err = on_host ? td_host_run_new(h, plan, NULL, &r, diag)
		              : td_run_new(plan, NULL, &r, diag);
		if (err < 0)
			die("run", err, diag);
		finish(r, calls);
	}
	td_host_free(h);
	td_diag_clear(diag);
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	unsigned batches = argc > 2 ? (unsigned)atoi(argv[2]) : 20;
	unsigned calls = argc > 3 ? (unsigned)atoi(argv[3]) : 10;
	unsigned rounds = argc > 4 ? (unsigned)atoi(argv[4]) : 3, k, c;
	double *host = calloc(rounds + 1, sizeof(double)),
	       *sep = calloc(rounds + 1, sizeof(double));
	struct td_diag diag_s = {0}, *diag = &diag_s;
	struct td_graph *g;
	struct td_batch *batch;
	struct td_plan *plan;
	char yaml[4096], id[32];
	int err;

	if (argc < 2 || !batches || !calls || !rounds || !host || !sep) {
		fprintf(stderr, "usage: mcp_host_bench SERVER [BATCHES] [CALLS] [ROUNDS]\n");
		return 2;
	}
	snprintf(yaml, sizeof(yaml),
	         "version: 1\nservers:\n  everything: {command: [\"%s\", stdio]}\n"
	         "tools:\n  echo: {mcp: everything}\n",
	         argv[1]);
	if ((err = td_graph_load_buffer(yaml, strlen(yaml), "bench.yaml", ".", &g, diag)) < 0)
		die("graph", err, diag);
	if ((err = td_batch_new(g, TD_DIALECT_ANTHROPIC, &batch)) < 0)
		die("batch", err, NULL);
	for (c = 0; c < calls; c++) {
		snprintf(id, sizeof(id), "c%u", c);
		if ((err = td_batch_add(batch, id, "echo", "{\"message\":\"hi\"}")) < 0)
			die("td_batch_add", err, NULL);
	}
	if ((err = td_plan_new(batch, &plan, diag)) < 0)
		die("plan", err, diag);
	for (k = 0; k < rounds; k++) {
		host[k] = way(1, plan, batches, calls);
		sep[k] = way(0, plan, batches, calls);
	}
	printf("%u batches of %u echo calls, medians of %u rounds\n", batches, calls, rounds);
	printf("| way | wall (ms) | per batch (ms) |\n|---|---:|---:|\n");
	printf("| one host (server started once) | %.0f | %.1f |\n",
	       1e3 * median(host, (int)rounds), 1e3 * median(host, (int)rounds) / batches);
	printf("| separate runs (server started each time) | %.0f | %.1f |\n",
	       1e3 * median(sep, (int)rounds), 1e3 * median(sep, (int)rounds) / batches);
	printf("separate / host: %.1f\n", median(sep, (int)rounds) / median(host, (int)rounds));
	td_plan_free(plan);
	td_batch_free(batch);
	td_graph_free(g);
	td_diag_clear(diag);
	free(host);
	free(sep);
	return 0;
}

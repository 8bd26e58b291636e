/* SPDX-License-Identifier: MIT */
/*
 * level.c - `level`: the leveling benchmark on the layered graph of bench/ref/kahn_ref.c, and
 * `gen calls` / `gen tools`, the inputs of the end-to-end planning targets.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <getopt.h>
#include <malloc.h>
#include <sys/resource.h>

#include "tooldag.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"

/* ---------------------------------------------------------------------------------------- */
/* The layered generator of bench/ref/kahn_ref.c, bit for bit (same RNG, same draws) */

struct layered {
	long n, levels, width;
	int lo, hi;
	uint64_t rng;
};

static uint32_t rnd(uint64_t *s) /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

/*
 * n/levels calls per level; every call of level > 0 depends on lo..hi distinct random calls of
 * the previous level. Durations are 1 ms. Call v's level is v / width.
 */
static void gen_layered(struct layered *g, struct dag *d)
{
	long w = g->n / g->levels, n = w * g->levels, v, t, m = 0;

	g->width = w;
	g->n = n;
	d->n = (size_t)n;
	d->pred_off = xcalloc((size_t)n + 1, sizeof(*d->pred_off));
	d->pred = xcalloc((size_t)n * (size_t)g->hi, sizeof(*d->pred));
	d->ms = xcalloc((size_t)n, sizeof(*d->ms));
	for (v = 0; v < n; v++) {
		long lvl = v / w, base = (lvl - 1) * w;
		int k, j, dup;
		uint32_t u;

		d->pred_off[v] = (uint32_t)m;
		d->ms[v] = 1;
		if (lvl == 0)
			continue;
		k = g->lo + (int)(rnd(&g->rng) % (uint32_t)(g->hi - g->lo + 1));
		if (k > w)
			k = (int)w;
		for (j = 0; j < k; j++) {
			do {
				u = (uint32_t)(base + rnd(&g->rng) % (uint32_t)w);
				dup = 0;
				for (t = d->pred_off[v]; t < m; t++)
					dup |= d->pred[t] == u;
			} while (dup);
			d->pred[m++] = u;
		}
	}
	d->pred_off[n] = (uint32_t)m;
	d->npred = (size_t)m;
}

/* Parses -n -l -d -s (kahn_ref's options and defaults); returns the next argv index or -1. */
static int layered_opts(int argc, char **argv, struct layered *g, const char **outp)
{
	int opt;

	g->n = 100000;
	g->levels = 10;
	g->lo = 1;
	g->hi = 3;
	g->rng = 42;
	optind = 1;
	while ((opt = getopt(argc, argv, outp ? "n:l:d:s:o:" : "n:l:d:s:")) != -1) {
		switch (opt) {
		case 'n':
			g->n = opt_long("-n", optarg, 1, MAX_TASKS);
			break;
		case 'l':
			g->levels = opt_long("-l", optarg, 1, MAX_TASKS);
			break;
		case 'd':
			opt_range(optarg, &g->lo, &g->hi);
			break;
		case 's':
			g->rng = strtoull(optarg, NULL, 10) | 1;
			break;
		case 'o':
			*outp = optarg;
			break;
		default:
			return -1;
		}
	}
	if (g->n / g->levels < 1) {
		say("-n %ld gives no call per level with -l %ld", g->n, g->levels);
		exit(EXIT_USAGE);
	}
	return optind;
}

/* ---------------------------------------------------------------------------------------- */
/* level: td_plan_new() on the layered graph, built in-process */

static const char LEVEL_GRAPH[] = "version: 1\ntools:\n  task:\n    builtin: sleep\n";

/* Resident and peak resident kB from /proc/self/status (-1 when unreadable). */
static void read_rss(long *rss_kb, long *hwm_kb)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*rss_kb = *hwm_kb = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			*rss_kb = strtol(line + 6, NULL, 10);
		else if (!strncmp(line, "VmHWM:", 6))
			*hwm_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* Resets the peak RSS (VmHWM) to the current RSS, so the next peak is the plan's own. */
static int reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Every call must sit on level v / width and there must be exactly `levels` levels. */
static int check_levels(const struct td_plan *plan, const struct layered *g)
{
	long v, lvl;

	if ((long)td_plan_level_count(plan) != g->levels) {
		say("level: expected %ld levels, the plan has %zu", g->levels,
		    td_plan_level_count(plan));
		return -1;
	}
	for (v = 0; v < g->n; v++) {
		lvl = td_plan_call_level(plan, (size_t)v);
		if (lvl != v / g->width) {
			say("level: call %ld is on level %ld, expected %ld", v, lvl, v / g->width);
			return -1;
		}
	}
	return 0;
}

struct level_stats {
	double build_s, plan_s;
	long batch_kb, plan_peak_kb; /* RSS with the batch built; peak added by the plan */
	size_t edges, levels;
};

/* Builds the batch (timed apart), then times td_plan_new() alone and checks its levels. */
static int level_run(const struct td_graph *graph, struct dag *d, const struct layered *g,
                     struct level_stats *st)
{
	struct td_diag diag = {0};
	struct td_batch *batch = NULL;
	struct td_plan *plan = NULL;
	long hwm, rss_after;
	int r, peak_ok, rc = -1;
	double t0 = now_s();

	if ((r = build_batch(graph, d, &batch)) < 0) {
		say("level: building the batch: %s", td_strerror(r));
		return -1;
	}
	st->build_s = now_s() - t0;
	st->edges = d->npred;
	/* the generator's arrays are not the library's: drop them before measuring memory, and
	 * give their pages back - malloc keeps freed heap memory resident, and arrays that ended
	 * up on the heap (glibc raises its mmap threshold as big blocks are freed) would count
	 * as the batch's (6 MB at a million calls) */
	dag_free(d);
	malloc_trim(0);
	peak_ok = reset_peak_rss() == 0;
	read_rss(&st->batch_kb, &hwm);
	t0 = now_s();
	r = td_plan_new(batch, &plan, &diag);
	st->plan_s = now_s() - t0;
	read_rss(&rss_after, &hwm);
	st->plan_peak_kb = peak_ok && hwm >= 0 && st->batch_kb >= 0 ? hwm - st->batch_kb : -1;
	if (r < 0) {
		print_diag(&diag, r, "level: td_plan_new");
		goto out;
	}
	st->levels = td_plan_level_count(plan);
	rc = check_levels(plan, g);
out:
	td_plan_free(plan);
	td_batch_free(batch);
	return rc;
}

int cmd_level(int argc, char **argv)
{
	struct td_diag diag = {0};
	struct td_graph *graph = NULL;
	struct level_stats st = {0};
	struct layered g;
	struct dag d = {0};
	struct rusage ru;
	int r;

	if (layered_opts(argc, argv, &g, NULL) != argc) {
		say("usage: tooldag-bench level [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]");
		return EXIT_USAGE;
	}
	gen_layered(&g, &d);
	r = td_graph_load_buffer(LEVEL_GRAPH, sizeof(LEVEL_GRAPH) - 1, "level", NULL, &graph,
	                         &diag);
	if (r < 0) {
		print_diag(&diag, r, "level: loading the one-tool graph");
		dag_free(&d);
		return EXIT_FAIL;
	}
	r = level_run(graph, &d, &g, &st);
	td_graph_free(graph);
	dag_free(&d);
	if (r < 0)
		return EXIT_FAIL;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"tool\":\"tooldag\",\"calls\":%ld,\"edges\":%zu,\"levels\":%zu,"
	       "\"leveling_s\":%.6f,\"ns_per_call\":%.1f,\"build_s\":%.6f,\"maxrss_mb\":%.1f,"
	       "\"batch_mb\":%.1f,\"plan_peak_mb\":%.1f}\n",
	       g.n, st.edges, st.levels, st.plan_s, st.plan_s * 1e9 / (double)g.n, st.build_s,
	       (double)ru.ru_maxrss / 1024.0, (double)st.batch_kb / 1024.0,
	       (double)st.plan_peak_kb / 1024.0);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* gen: inputs for the end-to-end targets */

int gen_calls(int argc, char **argv)
{
	const char *outdir = NULL;
	struct layered g;
	struct dag d = {0};

	if (layered_opts(argc, argv, &g, &outdir) != argc || !outdir) {
		say("usage: tooldag-bench gen calls [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED] "
		    "-o OUTDIR");
		return EXIT_USAGE;
	}
	gen_layered(&g, &d);
	d.source = "gen calls";
	d.format = "layered";
	return write_dir(&d, outdir, 16);
}

/* One synthetic tool: every kind of limit the loader parses shows up across the file. */
static void gen_one_tool(FILE *f, long i, long n, uint64_t *rng)
{
	static const char *const timeouts[] = {"250ms", "5s", "2m", "30s"};
	uint32_t r = rnd(rng);
	long k, ndeps = i ? (long)(rnd(rng) % 4) : 0;

	fprintf(f, "  tool_%05ld:\n    description: Synthetic tool %ld of %ld\n", i, i, n);
	fprintf(f, "    builtin: %s\n", r & 1 ? "echo" : "sleep");
	fprintf(f, "    timeout: %s\n", timeouts[(r >> 1) & 3]);
	if (r & 8)
		fprintf(f, "    retries: %u\n    backoff: 100ms\n", (r >> 4) & 3);
	if (r & 64)
		fprintf(f, "    concurrency: %u\n    rate: %u/s\n", 1 + ((r >> 7) & 7),
		        10 + ((r >> 10) & 63));
	if (r & 0x10000)
		fputs("    max_output: 64KiB\n    on_dependency_failure: run\n", f);
	fputs("    input_schema:\n      type: object\n      required: [query]\n"
	      "      properties:\n        query: {type: string}\n        limit: {type: integer}\n"
	      "        mode: {type: string, enum: [fast, exact]}\n"
	      "      additionalProperties: false\n",
	      f);
	if (ndeps == 0)
		return;
	/* only on earlier tools, so the tool graph stays acyclic */
	fputs("    depends_on: [", f);
	for (k = 0; k < ndeps; k++)
		fprintf(f, "%stool_%05ld", k ? ", " : "", (long)(rnd(rng) % (uint32_t)i));
	fputs("]\n", f);
}

int gen_tools(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t rng = 42;
	long n = 10000, i;
	FILE *f;
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "n:s:o:")) != -1) {
		switch (opt) {
		case 'n':
			n = opt_long("-n", optarg, 1, 99999);
			break;
		case 's':
			rng = strtoull(optarg, NULL, 10) | 1;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || !out)
		goto usage;
	if (!(f = open_out(out)))
		return EXIT_FAIL;
	fprintf(f,
	        "# Written by tooldag-bench gen tools -n %ld\nversion: 1\nconcurrency: 64\n"
	        "defaults: {timeout: 30s, max_output: 1MiB}\ntools:\n",
	        n);
	for (i = 0; i < n; i++)
		gen_one_tool(f, i, n, &rng);
	return close_out(f, out) < 0 ? EXIT_FAIL : 0;
usage:
	say("usage: tooldag-bench gen tools [-n TOOLS] [-s SEED] -o FILE");
	return EXIT_USAGE;
}

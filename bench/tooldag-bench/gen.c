/* SPDX-License-Identifier: MIT */
/*
 * gen.c - `gen dag`: seeded synthetic task graphs with durations, written as graph.yaml +
 * calls.json like an import. Same seed, same files.
 *
 * Shapes (N tasks, width W):
 *   layered  : N/W levels of W tasks; each task depends on 1..3 tasks of earlier levels, one
 *              of them on the level just before (so its level is exactly its layer)
 *   forkjoin : fork -> W parallel -> join, repeated until N tasks
 *   chain    : N tasks in a row
 *   diamond  : a W x W lattice, (i,j) after (i-1,j) and (i,j-1) (N ignored)
 *   er       : Erdos-Renyi DAG: i -> k (i < k) with probability W / N
 *   agent    : an agent's turn: W independent calls, then short chains (2..3 calls) each after
 *              one of them, until N tasks
 * Durations (mean M ms): fixed M; uniform 1..2M; lognormal (median M, sigma 1); bimodal (80 %
 * at M/4, 20 % at 4M). Each at least 1 ms.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"

struct gen {
	const char *shape, *dist;
	long n, w;
	double mean;
	uint64_t rng;
};

static uint64_t next_u64(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
	return ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static long below(uint64_t *s, long n)
{
	return n > 0 ? (long)(next_u64(s) % (uint64_t)n) : 0;
}

static int64_t duration(struct gen *g)
{
	double m = g->mean, v = m, z;

	if (!strcmp(g->dist, "uniform")) {
		v = 1 + uniform01(&g->rng) * (2 * m - 1);
	} else if (!strcmp(g->dist, "lognormal")) {
		z = sqrt(-2 * log(uniform01(&g->rng))) * cos(2 * M_PI * uniform01(&g->rng));
		v = m * exp(z);
	} else if (!strcmp(g->dist, "bimodal")) {
		v = uniform01(&g->rng) < 0.8 ? m / 4 : 4 * m;
	}
	return v < 1 ? 1 : llround(v);
}

static void add_task(struct dag *d, struct gen *g)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->ms = xrealloc(d->ms, d->cap, sizeof(*d->ms));
	}
	d->ms[d->n++] = duration(g);
}

static void shape_layered(struct dag *d, struct gen *g)
{
	long levels = (g->n + g->w - 1) / g->w, l, i, k, t;

	for (l = 0; l < levels; l++)
		for (i = 0; i < g->w && d->n < (size_t)g->n; i++) {
			t = (long)d->n;
			add_task(d, g);
			if (l == 0)
				continue;
			dag_add_edge(d, (size_t)t, (size_t)((l - 1) * g->w + below(&g->rng, g->w)));
			for (k = below(&g->rng, 3); k > 0; k--)
				dag_add_edge(d, (size_t)t,
				             (size_t)below(&g->rng, (l - 1) * g->w + g->w));
		}
}

static void shape_forkjoin(struct dag *d, struct gen *g)
{
	long prev = -1, fork, i, t;

	while (d->n < (size_t)g->n) {
		fork = (long)d->n;
		add_task(d, g);
		if (prev >= 0)
			dag_add_edge(d, (size_t)fork, (size_t)prev);
		for (i = 0; i < g->w && d->n + 1 < (size_t)g->n; i++) {
			t = (long)d->n;
			add_task(d, g);
			dag_add_edge(d, (size_t)t, (size_t)fork);
		}
		if (d->n >= (size_t)g->n)
			break;
		prev = (long)d->n;
		add_task(d, g);
		for (t = fork + 1; t < prev; t++)
			dag_add_edge(d, (size_t)prev, (size_t)t);
		if (prev == fork + 1)
			dag_add_edge(d, (size_t)prev, (size_t)fork);
	}
}

static void shape_chain(struct dag *d, struct gen *g)
{
	long i;

	for (i = 0; i < g->n; i++) {
		add_task(d, g);
		if (i)
			dag_add_edge(d, (size_t)i, (size_t)(i - 1));
	}
}

static void shape_diamond(struct dag *d, struct gen *g)
{
	long i, j;

	for (i = 0; i < g->w; i++)
		for (j = 0; j < g->w; j++) {
			add_task(d, g);
			if (i)
				dag_add_edge(d, (size_t)(i * g->w + j),
				             (size_t)((i - 1) * g->w + j));
			if (j)
				dag_add_edge(d, (size_t)(i * g->w + j), (size_t)(i * g->w + j - 1));
		}
}

static void shape_er(struct dag *d, struct gen *g)
{
	double p = (double)g->w / (double)g->n;
	long i, k;

	for (k = 0; k < g->n; k++) {
		add_task(d, g);
		for (i = 0; i < k; i++)
			if (uniform01(&g->rng) < p)
				dag_add_edge(d, (size_t)k, (size_t)i);
	}
}

static void shape_agent(struct dag *d, struct gen *g)
{
	long first = g->w < g->n ? g->w : g->n, i, len, t;

	for (i = 0; i < first; i++)
		add_task(d, g);
	while (d->n < (size_t)g->n) {
		long prev = below(&g->rng, first);

		for (len = 2 + below(&g->rng, 2); len > 0 && d->n < (size_t)g->n; len--) {
			t = (long)d->n;
			add_task(d, g);
			dag_add_edge(d, (size_t)t, (size_t)prev);
			prev = t;
		}
	}
}

static const struct {
	const char *name;
	void (*fn)(struct dag *, struct gen *);
} SHAPES[] = {{"layered", shape_layered}, {"forkjoin", shape_forkjoin},
              {"chain", shape_chain},     {"diamond", shape_diamond},
              {"er", shape_er},           {"agent", shape_agent}};

static int dist_known(const char *s)
{
	return !strcmp(s, "fixed") || !strcmp(s, "uniform") || !strcmp(s, "lognormal") ||
	       !strcmp(s, "bimodal");
}

static void usage_gen_dag(void)
{
	say("usage: tooldag-bench gen dag --shape layered|forkjoin|chain|diamond|er|agent "
	    "[--dist fixed|uniform|lognormal|bimodal] [-n N] [-w W] [--mean MS] [-s SEED] "
	    "-o OUTDIR");
}

int gen_dag(int argc, char **argv)
{
	static const struct option opts[] = {{"shape", required_argument, NULL, 'S'},
	                                     {"dist", required_argument, NULL, 'D'},
	                                     {"mean", required_argument, NULL, 'M'},
	                                     {NULL, 0, NULL, 0}};
	struct gen g = {NULL, "fixed", 100, 8, 10.0, 42};
	const char *outdir = NULL;
	struct dag d = {0};
	size_t k;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:w:s:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			g.shape = optarg;
			break;
		case 'D':
			g.dist = optarg;
			break;
		case 'M':
			g.mean = opt_double("--mean", optarg);
			break;
		case 'n':
			g.n = opt_long("-n", optarg, 1, 10000000);
			break;
		case 'w':
			g.w = opt_long("-w", optarg, 1, 100000);
			break;
		case 's':
			g.rng = (uint64_t)opt_long("-s", optarg, 0, LONG_MAX);
			break;
		case 'o':
			outdir = optarg;
			break;
		default:
			usage_gen_dag();
			return EXIT_USAGE;
		}
	}
	for (k = 0; g.shape && k < sizeof(SHAPES) / sizeof(SHAPES[0]); k++)
		if (!strcmp(g.shape, SHAPES[k].name))
			break;
	if (optind != argc || !outdir || !g.shape || k == sizeof(SHAPES) / sizeof(SHAPES[0]) ||
	    !dist_known(g.dist)) {
		usage_gen_dag();
		return EXIT_USAGE;
	}
	SHAPES[k].fn(&d, &g);
	dag_finalize(&d);
	d.source = "gen dag";
	d.format = g.shape;
	return write_dir(&d, outdir, 16);
}

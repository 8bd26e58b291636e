/* SPDX-License-Identifier: MIT */
/*
 * kahn_ref.c - the floor for leveling a batch of calls: Kahn's algorithm in plain C.
 *
 *   kahn_ref [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]
 *
 * Builds the layered graph of `tooldag-bench level` (the same xorshift64* draws: CALLS/LEVELS
 * calls per level, each call of a level > 0 depending on LO..HI distinct random calls of the
 * level before) as per-call dependency lists, the shape a loader hands over. Timed: what any
 * leveler must do - successor lists (CSR by counting), in-degrees, frontier-by-frontier
 * peeling into levels, and the check that every call was placed. Prints one JSON line.
 * Defaults: -n 100000 -l 10 -d 1:3 -s 42. Exit 0 ok, 1 a cycle, 2 usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t rnd(uint64_t *s) /* xorshift64*, as tooldag-bench's generator */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static void *alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fputs("kahn_ref: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

static int usage(void)
{
	fputs("usage: kahn_ref [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	long n = 100000, levels = 10, w, m = 0, v, head = 0, tail = 0, nlev = 0;
	uint32_t *dep_off, *deps, *indeg, *succ_off, *succ, *fill, *order;
	uint64_t rng = 42;
	int lo = 1, hi = 3, opt;
	struct rusage ru;
	double t0, t1;

	while ((opt = getopt(argc, argv, "n:l:d:s:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'l')
			levels = atol(optarg);
		else if (opt == 'd') {
			if (sscanf(optarg, "%d:%d", &lo, &hi) != 2 || lo < 1 || hi < lo)
				return usage();
		} else if (opt == 's')
			rng = strtoull(optarg, NULL, 10) | 1;
		else
			return usage();
	}
	if (optind != argc || levels < 1 || n / levels < 1)
		return usage();
	w = n / levels;
	n = w * levels;

	/* input: each call's dependencies, as a loader would hand them over (not timed) */
	dep_off = alloc((size_t)n + 1, sizeof(*dep_off));
	deps = alloc((size_t)n * (size_t)hi, sizeof(*deps));
	for (v = 0; v < n; v++) {
		long lvl = v / w, base = (lvl - 1) * w, t;
		int k, j, dup;
		uint32_t u;

		dep_off[v] = (uint32_t)m;
		if (lvl == 0)
			continue;
		k = lo + (int)(rnd(&rng) % (uint32_t)(hi - lo + 1));
		if (k > w)
			k = (int)w;
		for (j = 0; j < k; j++) {
			do {
				u = (uint32_t)(base + rnd(&rng) % (uint32_t)w);
				for (dup = 0, t = dep_off[v]; t < m; t++)
					dup |= deps[t] == u;
			} while (dup);
			deps[m++] = u;
		}
	}
	dep_off[n] = (uint32_t)m;

	t0 = now_s();
	indeg = alloc((size_t)n, sizeof(*indeg));
	succ_off = alloc((size_t)n + 1, sizeof(*succ_off));
	succ = alloc((size_t)m, sizeof(*succ));
	fill = alloc((size_t)n, sizeof(*fill));
	order = alloc((size_t)n, sizeof(*order));
	for (v = 0; v < n; v++)
		indeg[v] = dep_off[v + 1] - dep_off[v];
	for (v = 0; v < m; v++)
		succ_off[deps[v] + 1]++;
	for (v = 0; v < n; v++)
		succ_off[v + 1] += succ_off[v];
	memcpy(fill, succ_off, (size_t)n * sizeof(*fill));
	for (v = 0; v < n; v++)
		for (uint32_t e = dep_off[v]; e < dep_off[v + 1]; e++)
			succ[fill[deps[e]]++] = (uint32_t)v;
	/* order[] ends up holding the calls level after level */
	for (v = 0; v < n; v++)
		if (indeg[v] == 0)
			order[tail++] = (uint32_t)v;
	while (head < tail) {
		long end = tail;

		nlev++;
		for (; head < end; head++)
			for (uint32_t e = succ_off[order[head]]; e < succ_off[order[head] + 1]; e++)
				if (--indeg[succ[e]] == 0)
					order[tail++] = succ[e];
	}
	t1 = now_s();
	if (tail != n) {
		fprintf(stderr, "kahn_ref: a cycle: %ld of %ld calls placed\n", tail, n);
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"tool\":\"kahn_ref\",\"calls\":%ld,\"edges\":%ld,\"levels\":%ld,"
	       "\"leveling_s\":%.6f,\"ns_per_call\":%.1f,\"maxrss_mb\":%.1f}\n",
	       n, m, nlev, t1 - t0, (t1 - t0) * 1e9 / (double)n, (double)ru.ru_maxrss / 1024.0);
	free(dep_off);
	free(deps);
	free(indeg);
	free(succ_off);
	free(succ);
	free(fill);
	free(order);
	return 0;
}

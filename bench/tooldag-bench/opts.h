/* SPDX-License-Identifier: MIT */
/*
 * opts.h - the options simulate, sweep and real share (cmd.c), and loading a graph file plus
 * its calls for them.
 */
#ifndef TD_BENCH_OPTS_H
#define TD_BENCH_OPTS_H

#include "tooldag-bench/sim.h"

#define MAX_LIST     32 /* -j values */
#define MAX_POLICIES 3

struct sim_opts {
	enum td_schedule pol[MAX_POLICIES];
	size_t np;
	unsigned js[MAX_LIST]; /* 0: unlimited */
	size_t nj;
	enum out_format fmt;
	const char *calls_csv, *optima;
	const char *from; /* sweep: the graph recorded batches ran on (NULL: the recorded path) */
	double optimum_ms, scale, unit_ms;
	unsigned repeat;
	int summary;
};

/* optind, -1 after a usage error (said), or OPTS_HELP for --help / -h. */
#define OPTS_HELP (-2)
int parse_opts(int argc, char **argv, struct sim_opts *o);
/* A graph file and a call batch whose inputs carry {"ms": duration}, planned. 0 or -1. */
int load_files(const char *graph, const char *calls, struct sim_input *in);
/* Every policy at every -j into res[p * nj + k] (per-call stamps kept when keep); level rows
 * get eager's makespan at the same j. 0 or -1. */
int run_set(const struct sim_input *in, const struct sim_opts *o, int keep, struct sim_result *res);

#endif /* TD_BENCH_OPTS_H */

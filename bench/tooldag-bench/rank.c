/* SPDX-License-Identifier: MIT */
/*
 * rank.c - `tooldag-bench rank`: what the critical policy's planning (src/run/prio.c) chooses
 * for a batch and how long choosing takes: per -j, the rule that won, how many schedules it
 * played, b-level's makespan and the winner's, and the median time of --repeat plannings.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_median.h"
#include "plan/plan.h"
#include "run/prio.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"
#include "tooldag-bench/opts.h"

static const char *rule_name(enum td__prio_rule r)
{
	static const char *const names[] = {"blevel",   "blevel+lpt",   "blevel+tlevel",
	                                    "earliest", "blevel+succs", "random"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static void usage_rank(FILE *f)
{
	fputs("usage: tooldag-bench rank GRAPH CALLS [-j N[,N..]] [--repeat N]\n"
	      "The critical policy's planning on the batch (durations: input.ms), one JSON\n"
	      "line per -j: {\"graph\",\"calls\",\"edges\",\"j\",\"rule\",\"plays\",\n"
	      "\"blevel_ms\",\"makespan_ms\",\"plan_ms\"}: the winning rule, the schedules\n"
	      "played, b-level's makespan and the winner's in virtual time (null when nothing\n"
	      "was played), and the median planning time of --repeat runs (default 5).\n",
	      f);
}

/* A makespan, or null when nothing was played. */
static void ms_or_null(const char *key, int64_t us)
{
	if (us < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%.3f", key, us / 1000.0);
}

/* One -j: plans `repeat` times, prints the line. 0 or -1. */
static int rank_one(const struct sim_input *in, unsigned j, unsigned repeat)
{
	const struct td_plan *p = in->plan;
	int64_t *rank = xcalloc(p->nnodes ? p->nnodes : 1, sizeof(*rank));
	double *ms = xcalloc(repeat, sizeof(*ms));
	struct td__prio_info info;
	unsigned k;
	int rc = 0;

	for (k = 0; k < repeat && !rc; k++) {
		double t0 = now_s();

		rc = td__prio_rank(p, 1, in->dur_us, j ? j : (unsigned)in->n, rank, &info);
		ms[k] = (now_s() - t0) * 1000.0;
	}
	if (rc < 0)
		say("rank: %s", td_strerror(rc));
	if (!rc) {
		fputs("{\"graph\":", stdout);
		json_str(stdout, in->name);
		printf(",\"calls\":%u,\"edges\":%u,\"j\":%u,\"rule\":\"%s\",\"plays\":%u",
		       p->ncalls, p->succ_off[p->nnodes], j, rule_name(info.rule), info.evaluated);
		ms_or_null("blevel_ms", info.blevel_us);
		ms_or_null("makespan_ms", info.makespan_us);
		printf(",\"plan_ms\":%.3f}\n", median(ms, (int)repeat));
	}
	free(rank);
	free(ms);
	return rc < 0 ? -1 : 0;
}

int cmd_rank(int argc, char **argv)
{
	struct sim_input in = {0};
	struct sim_opts o;
	int at = parse_opts(argc, argv, &o), rc = 0;
	size_t k;

	if (at == OPTS_HELP) {
		usage_rank(stdout);
		return 0;
	}
	if (at < 0 || argc - at != 2) {
		usage_rank(stderr);
		return EXIT_USAGE;
	}
	if (o.repeat == 1)
		o.repeat = 5;
	if (load_files(argv[at], argv[at + 1], &in) < 0) {
		sim_input_free(&in);
		return EXIT_INPUT;
	}
	for (k = 0; k < o.nj && !rc; k++)
		rc = rank_one(&in, o.js[k], o.repeat);
	sim_input_free(&in);
	return rc ? EXIT_FAIL : 0;
}

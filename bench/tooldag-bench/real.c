/* SPDX-License-Identifier: MIT */
/*
 * real.c - the subcommand real: the batch run for real (builtin sleep of input.ms x --scale
 * each), --repeat times per policy and -j, against the simulation of the same scaled batch.
 * Checked before anything runs: every scaled duration fits its tool's timeout; a run that
 * would take more than a minute says how long first.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "load/graph.h"
#include "run/run.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"
#include "tooldag-bench/opts.h"
#include "tooldag-bench/sim.h"

/* The longest sleep replayed: a day. */
#define MAX_SCALED_US (86400LL * 1000000)

static void usage_real(FILE *f)
{
	fputs("usage: tooldag-bench real GRAPH CALLS [--policy P[,P..]|all] [-j N[,N..]]\n"
	      "         [--scale F] [--repeat N]\n"
	      "  Runs the batch for real (builtin sleep of input.ms x F each) N times (default 1)\n"
	      "  per policy and -j, and simulates the same scaled batch: overhead = measured\n"
	      "  makespan - simulated makespan, as the median and range of the N runs.\n"
	      "  Refused up front when a scaled duration passes its tool's timeout; the\n"
	      "  projected time is printed first when the runs will take over a minute.\n"
	      "  Output: a JSON array, one object per policy and -j (see bench/README.md).\n",
	      f);
}

/* Every duration x scale, checked against the cap and the call's tool timeout. */
static int scale_durations(const struct sim_input *in, double scale, int64_t *dur_us)
{
	size_t c;

	for (c = 0; c < in->n; c++) {
		double us = (double)in->dur_us[c] * scale;
		const char *tool = td_batch_call_tool(in->batch, c);
		int t = td_graph_tool_find(in->graph, tool);
		int64_t limit = t >= 0 ? in->graph->tools[t].lim.timeout_us : 0;

		if (!(us <= (double)MAX_SCALED_US)) {
			say("real: --scale %g makes call %s sleep %.3g s; at most %lld s", scale,
			    td_batch_call_id(in->batch, c), us / 1e6, MAX_SCALED_US / 1000000);
			return -1;
		}
		dur_us[c] = llround(us);
		if (limit > 0 && dur_us[c] >= limit) {
			say("real: at --scale %g call %s sleeps %.3f s, not less than the %.3f s "
			    "timeout "
			    "of tool '%s' (raise the timeout in the graph file or lower --scale)",
			    scale, td_batch_call_id(in->batch, c), dur_us[c] / 1e6, limit / 1e6,
			    tool);
			return -1;
		}
	}
	return 0;
}

/* The batch again with each input.ms replaced by the scaled duration. */
static int scaled_batch(const struct sim_input *in, const int64_t *dur_us, struct td_batch **out)
{
	uint32_t *deps = xcalloc(in->n ? in->n : 1, sizeof(*deps));
	struct td_batch *b;
	char input[64];
	size_t c;
	int r, nd, e;

	if ((r = td_batch_new(in->graph, TD_DIALECT_ANTHROPIC, &b)) < 0)
		goto out;
	for (c = 0; c < in->n && r >= 0; c++) {
		snprintf(input, sizeof(input), "{\"ms\":%lld.%03lld}",
		         (long long)(dur_us[c] / 1000), (long long)(dur_us[c] % 1000));
		r = td_batch_add(b, td_batch_call_id(in->batch, c),
		                 td_batch_call_tool(in->batch, c), input);
	}
	for (c = 0; c < in->n && r >= 0; c++) {
		nd = td_plan_call_deps(in->plan, c, deps, in->n);
		for (e = 0; e < nd && r >= 0; e++)
			r = td_batch_depend(b, c, deps[e]);
	}
	if (r < 0)
		td_batch_free(b);
	else
		*out = b;
out:
	free(deps);
	return r < 0 ? r : 0;
}

static int real_run(const struct sim_input *scaled, enum td_schedule policy, unsigned j,
                    struct sim_result *out)
{
	struct td_run_opts opts = sim_begin(scaled, policy, j, out);
	struct td_diag diag = {0};
	struct td_run *r = NULL;
	int err, rc = -1;

	if ((err = td_run_new(scaled->plan, &opts, &r, &diag)) < 0) {
		print_diag(&diag, err, "real: creating the run");
		goto out;
	}
	/* critical ranks by the same durations the simulation uses */
	td__sched_set_costs(r, scaled->dur_us);
	if ((err = td_run_wait(r)) < 0) {
		say("real: %s", td_strerror(err));
		goto out;
	}
	rc = sim_collect(scaled, r, out, 1);
out:
	td_run_free(r);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Measures of one real run against the simulation, in ms (util: a ratio). */
struct real_meas {
	double makespan, overhead, delay, util;
};

static struct real_meas measure(const struct sim_input *in, const struct sim_result *real,
                                const struct sim_result *sim)
{
	struct real_meas m;
	int64_t delay = 0;
	size_t c;

	for (c = 0; c < in->n; c++)
		delay += real->start_us[c] - sim->start_us[c];
	m.makespan = real->makespan_us / 1000.0;
	m.overhead = (real->makespan_us - sim->makespan_us) / 1000.0;
	m.delay = in->n ? delay / 1000.0 / (double)in->n : 0;
	m.util = real->utilization;
	return m;
}

static void print_real(const struct sim_input *in, const struct sim_opts *o,
                       const struct sim_result *sim, struct real_meas *m, int first)
{
	double v[1000];
	unsigned r, n = o->repeat;
	double over, lo = m[0].overhead, hi = m[0].overhead;
	char jb[16];

	for (r = 0; r < n; r++) {
		v[r] = m[r].overhead;
		lo = fmin(lo, m[r].overhead);
		hi = fmax(hi, m[r].overhead);
	}
	over = median(v, n);
	printf("%s{\"graph\":", first ? "[\n" : ",\n");
	json_str(stdout, in->name);
	printf(",\"calls\":%zu,\"levels\":%zu,\"policy\":\"%s\",\"j\":", in->n, in->nlevels,
	       policy_name(sim->policy));
	printf(sim->j ? "%s" : "\"%s\"", j_text(sim->j, jb, sizeof(jb)));
	printf(",\"scale\":%g,\"repeat\":%u,\"simulated_ms\":%.3f", o->scale, n,
	       sim->makespan_us / 1000.0);
	for (r = 0; r < n; r++)
		v[r] = m[r].makespan;
	printf(",\"makespan_ms\":%.3f,\"overhead_ms\":%.3f,\"overhead_min_ms\":%.3f,"
	       "\"overhead_max_ms\":%.3f",
	       median(v, n), over, lo, hi);
	if (sim->policy == TD_SCHEDULE_LEVEL && in->nlevels)
		printf(",\"overhead_per_level_ms\":%.4f", over / (double)in->nlevels);
	else
		fputs(",\"overhead_per_level_ms\":null", stdout);
	printf(",\"overhead_per_call_us\":%.2f", in->n ? over * 1000.0 / (double)in->n : 0);
	for (r = 0; r < n; r++)
		v[r] = m[r].delay;
	printf(",\"mean_start_delay_ms\":%.4f", median(v, n));
	for (r = 0; r < n; r++)
		v[r] = m[r].util;
	printf(",\"utilization\":%.4f}", median(v, n));
}

/* Simulates every policy and -j; says how long the real runs will take when over a minute. */
static int plan_runs(const struct sim_input *sc, const struct sim_opts *o, struct sim_result *sim)
{
	double total_s = 0;
	size_t k;

	if (run_set(sc, o, 1, sim) < 0)
		return -1;
	for (k = 0; k < o->np * o->nj; k++)
		total_s += sim[k].makespan_us / 1e6 * o->repeat;
	if (total_s > 60)
		say("real: the runs will take at least %.0f s (%zu policy x -j, --repeat %u, the "
		    "simulated makespans at --scale %g)",
		    total_s, o->np * o->nj, o->repeat, o->scale);
	return 0;
}

int cmd_real(int argc, char **argv)
{
	struct sim_result sim[MAX_LIST * MAX_POLICIES], real;
	struct sim_input in = {0}, sc = {0};
	struct real_meas *m = NULL;
	struct sim_opts o;
	int i = parse_opts(argc, argv, &o), rc = EXIT_INPUT;
	size_t k;
	unsigned r;

	if (i == OPTS_HELP) {
		usage_real(stdout);
		return 0;
	}
	if (i >= 0 && argc - i != 2)
		say("real: expected GRAPH and CALLS, got %d argument%s", argc - i,
		    argc - i == 1 ? "" : "s");
	if (i < 0 || argc - i != 2) {
		usage_real(stderr);
		return EXIT_USAGE;
	}
	memset(sim, 0, sizeof(sim));
	if (load_files(argv[i], argv[i + 1], &in) < 0)
		goto out;
	sc.name = in.name;
	sc.dur_us = xcalloc(in.n ? in.n : 1, sizeof(*sc.dur_us));
	if (scale_durations(&in, o.scale, sc.dur_us) < 0)
		goto out;
	rc = EXIT_FAIL;
	if (scaled_batch(&in, sc.dur_us, &sc.batch) < 0 || sim_input_plan(&sc) < 0 ||
	    plan_runs(&sc, &o, sim) < 0)
		goto out;
	m = xcalloc(o.repeat, sizeof(*m));
	for (k = 0; k < o.np * o.nj; k++) {
		for (r = 0; r < o.repeat; r++) {
			if (real_run(&sc, sim[k].policy, sim[k].j, &real) < 0)
				goto out;
			m[r] = measure(&sc, &real, &sim[k]);
			sim_result_free(&real);
		}
		print_real(&sc, &o, &sim[k], m, k == 0);
	}
	puts("\n]");
	rc = 0;
out:
	free(m);
	for (k = 0; k < sizeof(sim) / sizeof(sim[0]); k++)
		sim_result_free(&sim[k]);
	sim_input_free(&sc);
	sim_input_free(&in);
	return rc;
}

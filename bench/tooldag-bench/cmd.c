/* SPDX-License-Identifier: MIT */
/*
 * cmd.c - the subcommands simulate, real and sweep: option parsing, loading graphs (a graph
 * file plus calls, or an STG / WfCommons file imported in memory), and the output.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "run/run.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"
#include "tooldag-bench/sim.h"

#define MAX_LIST     32 /* -j values */
#define MAX_POLICIES 3

static const char ONE_TOOL_GRAPH[] = "version: 1\ntools:\n  task:\n    builtin: sleep\n";

/* ---- options shared by the subcommands ---- */

struct sim_opts {
	enum td_schedule pol[MAX_POLICIES];
	size_t np;
	unsigned js[MAX_LIST];
	size_t nj;
	enum out_format fmt;
	const char *svg, *gantt, *optima;
	double optimum_ms, scale, unit_ms;
	int summary;
};

/* "level,eager" or "all" */
static int parse_policies(const char *s, struct sim_opts *o)
{
	char buf[256], *p, *next;

	if (!strcmp(s, "all")) {
		o->pol[0] = TD_SCHEDULE_LEVEL;
		o->pol[1] = TD_SCHEDULE_EAGER;
		o->pol[2] = TD_SCHEDULE_CRITICAL;
		o->np = 3;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	o->np = 0;
	for (p = buf; p; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (o->np == MAX_POLICIES || policy_parse(p, &o->pol[o->np]) < 0) {
			say("--policy: expected level, eager, critical (comma-separated, at most "
			    "%d) "
			    "or all, got '%s'",
			    MAX_POLICIES, s);
			return -1;
		}
		o->np++;
	}
	return 0;
}

/* "1,2,4,0": 0 (or inf) is unlimited */
static int parse_js(const char *s, struct sim_opts *o)
{
	char buf[256], *p, *next;

	snprintf(buf, sizeof(buf), "%s", s);
	o->nj = 0;
	for (p = buf; p; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (o->nj == MAX_LIST) {
			say("-j: at most %d values", MAX_LIST);
			return -1;
		}
		o->js[o->nj++] = !strcmp(p, "inf") ? 0 : (unsigned)opt_long("-j", p, 0, 1000000);
	}
	return 0;
}

enum {
	O_POLICY = 256,
	O_JSON,
	O_CSV,
	O_SVG,
	O_GANTT,
	O_OPTIMUM,
	O_OPTIMA,
	O_SCALE,
	O_UNIT,
	O_SUMMARY
};

static const struct option LONG_OPTS[] = {
    {"policy", required_argument, NULL, O_POLICY},
    {"jobs", required_argument, NULL, 'j'},
    {"json", no_argument, NULL, O_JSON},
    {"csv", no_argument, NULL, O_CSV},
    {"svg", required_argument, NULL, O_SVG},
    {"gantt", required_argument, NULL, O_GANTT},
    {"optimum", required_argument, NULL, O_OPTIMUM},
    {"optima", required_argument, NULL, O_OPTIMA},
    {"scale", required_argument, NULL, O_SCALE},
    {"unit-ms", required_argument, NULL, O_UNIT},
    {"summary", no_argument, NULL, O_SUMMARY},
    {NULL, 0, NULL, 0},
};

/* Returns optind, or -1 on a usage error (already said). */
static int parse_opts(int argc, char **argv, struct sim_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->pol[0] = TD_SCHEDULE_LEVEL;
	o->np = 1;
	o->nj = 1; /* js[0] = 0: unlimited */
	o->scale = 1.0;
	o->unit_ms = 1.0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:", LONG_OPTS, NULL)) != -1) {
		switch (c) {
		case O_POLICY:
			if (parse_policies(optarg, o) < 0)
				return -1;
			break;
		case 'j':
			if (parse_js(optarg, o) < 0)
				return -1;
			break;
		case O_JSON:
			o->fmt = OUT_JSON;
			break;
		case O_CSV:
			o->fmt = OUT_CSV;
			break;
		case O_SVG:
			o->svg = optarg;
			break;
		case O_GANTT:
			o->gantt = optarg;
			break;
		case O_OPTIMUM:
			o->optimum_ms = opt_double("--optimum", optarg);
			break;
		case O_OPTIMA:
			o->optima = optarg;
			break;
		case O_SCALE:
			o->scale = opt_double("--scale", optarg);
			break;
		case O_UNIT:
			o->unit_ms = opt_double("--unit-ms", optarg);
			break;
		case O_SUMMARY:
			o->summary = 1;
			break;
		default:
			say("unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

/* ---- loading ---- */

/* input.ms in microseconds, rounded as the sleep built-in rounds it; -1 when absent. */
static int64_t input_us(const char *input)
{
	cJSON *root = cJSON_Parse(input);
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "ms");
	int64_t us = -1;

	if (cJSON_IsNumber(ms) && ms->valuedouble >= 0 && ms->valuedouble < 1e12)
		us = (int64_t)llround(ms->valuedouble * 1000.0);
	cJSON_Delete(root);
	return us;
}

static int durations_from_inputs(struct sim_input *in)
{
	size_t c, n = td_batch_count(in->batch);

	in->dur_us = xcalloc(n ? n : 1, sizeof(*in->dur_us));
	for (c = 0; c < n; c++) {
		in->dur_us[c] = input_us(td_batch_call_input(in->batch, c));
		if (in->dur_us[c] < 0) {
			say("%s: call %s: input has no \"ms\" duration (a non-negative number)",
			    in->name, td_batch_call_id(in->batch, c));
			return -1;
		}
	}
	return 0;
}

static int load_files(const char *graph, const char *calls, struct sim_input *in)
{
	struct td_diag diag = {0};
	size_t len;
	char *buf;
	int r;

	in->name = calls;
	if ((r = td_graph_load_file(graph, &in->graph, &diag)) < 0) {
		print_diag(&diag, r, graph);
		return -1;
	}
	if (!(buf = read_file(calls, &len)))
		return -1;
	r = td_batch_decode(in->graph, buf, len, TD_DIALECT_AUTO, calls, &in->batch, &diag);
	free(buf);
	if (r < 0) {
		print_diag(&diag, r, calls);
		return -1;
	}
	if (durations_from_inputs(in) < 0)
		return -1;
	return sim_input_plan(in);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* An STG (.stg) or WfCommons (.json) file, imported in memory: one sleep call per task. */
static int load_source(const char *path, double unit_ms, struct sim_input *in)
{
	struct td_diag diag = {0};
	struct dag d = {0};
	size_t i;
	int r;

	in->name = path;
	d.source = path;
	r = ends_with(path, ".stg") ? import_stg(path, unit_ms, &d) : import_wf(path, &d);
	if (r < 0)
		goto fail;
	r = td_graph_load_buffer(ONE_TOOL_GRAPH, sizeof(ONE_TOOL_GRAPH) - 1, "sweep", NULL,
	                         &in->graph, &diag);
	if (r < 0 || (r = build_batch(in->graph, &d, &in->batch)) < 0) {
		print_diag(&diag, r, path);
		goto fail;
	}
	in->dur_us = xcalloc(d.n ? d.n : 1, sizeof(*in->dur_us));
	for (i = 0; i < d.n; i++)
		in->dur_us[i] = d.ms[i] * 1000;
	dag_free(&d);
	return sim_input_plan(in);
fail:
	dag_free(&d);
	return -1;
}

/* ---- optima (STG OPTIMA.tsv: graph, m, optimum, ...; graph relative to the stg folder) ---- */

static double optimum_for(const char *tsv, const char *path, unsigned j)
{
	char line[1024], key[1040], *tab;
	double best = 0, opt;
	unsigned m;
	FILE *f;

	if (!tsv || !j || !(f = fopen(tsv, "r")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!(tab = strchr(line, '\t')))
			continue;
		*tab = '\0';
		if (sscanf(tab + 1, "%u\t%lf", &m, &opt) != 2 || m != j)
			continue;
		snprintf(key, sizeof(key), "/%s", line);
		if (ends_with(path, key) || !strcmp(path, line)) {
			best = opt;
			break;
		}
	}
	fclose(f);
	return best;
}

/* ---- simulate ---- */

static void usage_simulate(FILE *f)
{
	fputs("usage: tooldag-bench simulate GRAPH CALLS [--policy P[,P..]|all] [-j N[,N..]]\n"
	      "         [--optimum MS] [--json|--csv] [--svg FILE] [--gantt FILE]\n"
	      "  Runs tooldag's scheduler in virtual time, each call taking its input.ms.\n"
	      "  -j 0 (or inf) is unlimited (default). --svg: makespan vs -j per policy;\n"
	      "  --gantt: the first policy at the first -j, calls coloured by level.\n",
	      f);
}

static int run_all(const struct sim_input *in, const struct sim_opts *o, struct sim_result *res)
{
	size_t p, k;

	for (p = 0; p < o->np; p++)
		for (k = 0; k < o->nj; k++)
			if (sim_run(in, o->pol[p], o->js[k], p == 0 && k == 0 && o->gantt,
			            &res[p * o->nj + k]) < 0)
				return -1;
	return 0;
}

int cmd_simulate(int argc, char **argv)
{
	struct sim_result res[MAX_LIST * MAX_POLICIES];
	struct sim_input in = {0};
	struct sim_opts o;
	int i = parse_opts(argc, argv, &o), rc = EXIT_INPUT;
	size_t k, total;

	if (i < 0 || argc - i != 2) {
		usage_simulate(stderr);
		return EXIT_USAGE;
	}
	memset(res, 0, sizeof(res));
	if (load_files(argv[i], argv[i + 1], &in) < 0)
		goto out;
	in.optimum_ms = o.nj == 1 ? o.optimum_ms : 0; /* an optimum holds for one j */
	rc = EXIT_FAIL;
	if (run_all(&in, &o, res) < 0)
		goto out;
	total = o.np * o.nj;
	if (total == 1 && o.fmt == OUT_JSON) {
		row_json(stdout, &in, &res[0]);
		fputs("\n", stdout);
	} else {
		row_header(stdout, o.fmt);
		for (k = 0; k < total; k++)
			row_print(stdout, o.fmt, &in, &res[k], k == 0);
		row_footer(stdout, o.fmt);
	}
	if (o.gantt && svg_gantt(o.gantt, &in, &res[0]) < 0)
		goto out;
	if (o.svg && svg_makespans(o.svg, &in, res, o.pol, o.np, o.js, o.nj) < 0)
		goto out;
	rc = 0;
out:
	for (k = 0; k < sizeof(res) / sizeof(res[0]); k++)
		sim_result_free(&res[k]);
	sim_input_free(&in);
	return rc;
}

/* ---- sweep: many real graphs, imported in memory ---- */

struct agg {
	size_t n, nopt;
	double sum_opt, worst_opt, sum_lb, worst_lb;
};

static void agg_add(struct agg *a, const struct sim_input *in, const struct sim_result *r)
{
	double lb = r->lower_bound_us ? (double)r->makespan_us / r->lower_bound_us : 1.0;

	a->n++;
	a->sum_lb += lb;
	if (lb > a->worst_lb)
		a->worst_lb = lb;
	if (in->optimum_ms > 0) {
		double q = r->makespan_us / 1000.0 / in->optimum_ms;

		a->nopt++;
		a->sum_opt += q;
		if (q > a->worst_opt)
			a->worst_opt = q;
	}
}

static void print_summary(const struct sim_opts *o, const struct agg *ag)
{
	size_t p, k;

	printf("%-8s %4s %6s %6s %9s %9s %9s %11s\n", "policy", "j", "graphs", "w/opt", "avg/opt",
	       "worst/opt", "avg/lower", "worst/lower");
	for (p = 0; p < o->np; p++)
		for (k = 0; k < o->nj; k++) {
			const struct agg *a = &ag[p * o->nj + k];
			char j[16];

			snprintf(j, sizeof(j), o->js[k] ? "%u" : "inf", o->js[k]);
			printf("%-8s %4s %6zu %6zu ", policy_name(o->pol[p]), j, a->n, a->nopt);
			if (a->nopt)
				printf("%9.4f %9.4f ", a->sum_opt / a->nopt, a->worst_opt);
			else
				printf("%9s %9s ", "-", "-");
			printf("%9.4f %11.4f\n", a->n ? a->sum_lb / a->n : 0, a->worst_lb);
		}
}

int cmd_sweep(int argc, char **argv)
{
	static struct agg ag[MAX_LIST * MAX_POLICIES];
	struct sim_opts o;
	int i = parse_opts(argc, argv, &o), first = 1;
	size_t p, k;

	if (i < 0 || i >= argc) {
		fputs(
		    "usage: tooldag-bench sweep [--policy P[,P..]|all] [-j N[,N..]] "
		    "[--optima OPTIMA.tsv]\n"
		    "         [--unit-ms F] [--summary] [--json|--csv] FILE.stg|FILE.json...\n"
		    "  Imports each STG / WfCommons file in memory and simulates it; --summary\n"
		    "  prints the average and worst ratio to the optimum and to the lower bound.\n",
		    stderr);
		return EXIT_USAGE;
	}
	memset(ag, 0, sizeof(ag));
	if (!o.summary)
		row_header(stdout, o.fmt);
	for (; i < argc; i++) {
		struct sim_input in = {0};

		if (load_source(argv[i], o.unit_ms, &in) < 0) {
			sim_input_free(&in);
			return EXIT_INPUT;
		}
		for (p = 0; p < o.np; p++)
			for (k = 0; k < o.nj; k++) {
				struct sim_result r;

				if (sim_run(&in, o.pol[p], o.js[k], 0, &r) < 0) {
					sim_input_free(&in);
					return EXIT_FAIL;
				}
				in.optimum_ms = optimum_for(o.optima, argv[i], o.js[k]);
				if (in.optimum_ms > 0 &&
				    r.makespan_us < llround(in.optimum_ms * 1000))
					say("%s: %s at -j %u beats the published optimum %g",
					    argv[i], policy_name(o.pol[p]), o.js[k], in.optimum_ms);
				agg_add(&ag[p * o.nj + k], &in, &r);
				if (!o.summary)
					row_print(stdout, o.fmt, &in, &r, first);
				first = 0;
			}
		sim_input_free(&in);
	}
	if (o.summary)
		print_summary(&o, ag);
	else
		row_footer(stdout, o.fmt);
	return 0;
}

/* ---- real: the same batch with real sleeps, scaled ---- */

/* The batch again with every input.ms multiplied by scale (rounded to the microsecond), and
 * the durations the sleeps will really take. */
static int scaled_batch(const struct sim_input *in, double scale, struct td_batch **out,
                        int64_t *dur_us)
{
	uint32_t *deps = xcalloc(in->n ? in->n : 1, sizeof(*deps));
	struct td_batch *b;
	char input[64];
	size_t c;
	int r, nd, e;

	if ((r = td_batch_new(in->graph, TD_DIALECT_ANTHROPIC, &b)) < 0)
		goto out;
	for (c = 0; c < in->n && r >= 0; c++) {
		dur_us[c] = llround((double)in->dur_us[c] * scale);
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
	struct td_run_opts opts = {0};
	struct td_diag diag = {0};
	struct td_run *r = NULL;
	int err, rc = -1;

	memset(out, 0, sizeof(*out));
	out->policy = policy;
	out->j = j;
	opts.concurrency = j ? j : (unsigned)(scaled->n ? scaled->n : 1);
	opts.schedule = policy;
	opts.seed = 1;
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

static void print_real(const struct sim_input *in, const struct sim_opts *o,
                       const struct sim_result *real, const struct sim_result *sim)
{
	int64_t over = real->makespan_us - sim->makespan_us, delay = 0;
	size_t c;

	for (c = 0; c < in->n; c++)
		delay += real->start_us[c] - sim->start_us[c];
	printf("{\"graph\":");
	json_str(stdout, in->name);
	printf(",\"calls\":%zu,\"levels\":%zu,\"policy\":\"%s\",\"j\":%u,\"scale\":%g,"
	       "\"makespan_ms\":%.3f,\"simulated_ms\":%.3f,\"overhead_ms\":%.3f,"
	       "\"overhead_per_level_ms\":%.4f,\"overhead_per_call_us\":%.2f,"
	       "\"mean_start_delay_ms\":%.4f,\"utilization\":%.4f}\n",
	       in->n, in->nlevels, policy_name(real->policy), real->j, o->scale,
	       real->makespan_us / 1000.0, sim->makespan_us / 1000.0, over / 1000.0,
	       in->nlevels ? over / 1000.0 / (double)in->nlevels : 0,
	       in->n ? (double)over / (double)in->n : 0, in->n ? delay / 1000.0 / in->n : 0,
	       real->utilization);
}

int cmd_real(int argc, char **argv)
{
	struct sim_input in = {0}, sc = {0};
	struct sim_result real = {0}, sim = {0};
	struct sim_opts o;
	int i = parse_opts(argc, argv, &o), rc = EXIT_INPUT;

	if (i < 0 || argc - i != 2 || o.np != 1 || o.nj != 1) {
		fputs("usage: tooldag-bench real GRAPH CALLS [--policy P] [-j N] [--scale F] "
		      "[--json]\n"
		      "  Runs the batch for real (input.ms x F of sleep each), then simulates the\n"
		      "  same: overhead = measured makespan - simulated makespan. One JSON line.\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (load_files(argv[i], argv[i + 1], &in) < 0)
		goto out;
	rc = EXIT_FAIL;
	sc.name = in.name;
	sc.graph = NULL;
	sc.dur_us = xcalloc(in.n ? in.n : 1, sizeof(*sc.dur_us));
	if (scaled_batch(&in, o.scale, &sc.batch, sc.dur_us) < 0 || sim_input_plan(&sc) < 0)
		goto out;
	if (real_run(&sc, o.pol[0], o.js[0], &real) < 0 ||
	    sim_run(&sc, o.pol[0], o.js[0], 1, &sim) < 0)
		goto out;
	print_real(&sc, &o, &real, &sim);
	rc = 0;
out:
	sim_result_free(&real);
	sim_result_free(&sim);
	sim_input_free(&sc);
	sim_input_free(&in);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * cmd.c - the subcommands simulate and sweep, and what they share with real (opts.h): option
 * parsing, loading graphs (a graph file plus calls, or an STG / WfCommons file imported in
 * memory), and the rows out.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "run/run.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/cmds.h"
#include "tooldag-bench/optima.h"
#include "tooldag-bench/opts.h"
#include "tooldag-bench/sim.h"

static const char ONE_TOOL_GRAPH[] = "version: 1\ntools:\n  task:\n    builtin: sleep\n";

/* ---- options shared by the subcommands ---- */

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
			    "%d) or all, got '%s'",
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
	O_CALLS_CSV,
	O_OPTIMUM,
	O_OPTIMA,
	O_SCALE,
	O_UNIT,
	O_SUMMARY,
	O_REPEAT,
	O_FROM,
};

static const struct option LONG_OPTS[] = {
    {"policy", required_argument, NULL, O_POLICY},
    {"jobs", required_argument, NULL, 'j'},
    {"json", no_argument, NULL, O_JSON},
    {"csv", no_argument, NULL, O_CSV},
    {"calls-csv", required_argument, NULL, O_CALLS_CSV},
    {"optimum", required_argument, NULL, O_OPTIMUM},
    {"optima", required_argument, NULL, O_OPTIMA},
    {"scale", required_argument, NULL, O_SCALE},
    {"unit-ms", required_argument, NULL, O_UNIT},
    {"summary", no_argument, NULL, O_SUMMARY},
    {"repeat", required_argument, NULL, O_REPEAT},
    {"from", required_argument, NULL, O_FROM},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int set_opt(int c, const char *arg, struct sim_opts *o)
{
	switch (c) {
	case O_POLICY:
		return parse_policies(arg, o);
	case 'j':
		return parse_js(arg, o);
	case O_JSON:
		o->fmt = OUT_JSON;
		break;
	case O_CSV:
		o->fmt = OUT_CSV;
		break;
	case O_CALLS_CSV:
		o->calls_csv = arg;
		break;
	case O_OPTIMUM:
		o->optimum_ms = opt_double("--optimum", arg);
		break;
	case O_OPTIMA:
		o->optima = arg;
		break;
	case O_SCALE:
		o->scale = opt_double("--scale", arg);
		break;
	case O_UNIT:
		o->unit_ms = opt_double("--unit-ms", arg);
		break;
	case O_SUMMARY:
		o->summary = 1;
		break;
	case O_REPEAT:
		o->repeat = (unsigned)opt_long("--repeat", arg, 1, 1000);
		break;
	case O_FROM:
		o->from = arg;
		break;
	}
	return 0;
}

int parse_opts(int argc, char **argv, struct sim_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->pol[0] = TD_SCHEDULE_LEVEL;
	o->np = 1;
	o->nj = 1; /* js[0] = 0: unlimited */
	o->scale = 1.0;
	o->unit_ms = 1.0;
	o->repeat = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:h", LONG_OPTS, NULL)) != -1) {
		if (c == 'h')
			return OPTS_HELP;
		if (c == ':') {
			say("option '%s' needs a value", argv[optind - 1]);
			return -1;
		}
		if (c == '?') {
			say("unknown option '%s'", argv[optind - 1]);
			return -1;
		}
		if (set_opt(c, optarg, o) < 0)
			return -1;
	}
	return optind;
}

/* ---- loading ---- */

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

int load_files(const char *graph, const char *calls, struct sim_input *in)
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

/* An imported dag as a batch of the one-tool graph, planned; frees d. 0 or -1. */
static int input_from_dag(struct dag *d, const char *name, struct sim_input *in)
{
	struct td_diag diag = {0};
	size_t i;
	int r;

	in->name = name;
	r = td_graph_load_buffer(ONE_TOOL_GRAPH, sizeof(ONE_TOOL_GRAPH) - 1, "sweep", NULL,
	                         &in->graph, &diag);
	if (r < 0 || (r = build_batch(in->graph, d, &in->batch)) < 0) {
		print_diag(&diag, r, name);
		dag_free(d);
		return -1;
	}
	in->dur_us = xcalloc(d->n ? d->n : 1, sizeof(*in->dur_us));
	for (i = 0; i < d->n; i++)
		in->dur_us[i] = d->us ? d->us[i] : d->ms[i] * 1000;
	dag_free(d);
	return sim_input_plan(in);
}

/* An STG (.stg) or WfCommons (.json) file, imported in memory: one sleep call per task. */
static int load_source(const char *path, double unit_ms, struct sim_input *in)
{
	struct dag d = {0};
	int r;

	in->name = path;
	d.source = path;
	r = ends_with(path, ".stg") ? import_stg(path, unit_ms, &d) : import_wf(path, &d);
	if (r < 0) {
		dag_free(&d);
		return -1;
	}
	return input_from_dag(&d, path, in);
}

/* ---- optima (STG OPTIMA.tsv: graph, m, optimum, ...; graph relative to the stg folder) ---- */
/* ---- simulate ---- */

static void usage_simulate(FILE *f)
{
	fputs(
	    "usage: tooldag-bench simulate GRAPH CALLS [--policy P[,P..]|all] [-j N[,N..]]\n"
	    "         [--optimum MS] [--json|--csv] [--calls-csv FILE]\n"
	    "  Runs tooldag's scheduler in virtual time, each call taking its input.ms, once\n"
	    "  per policy and -j. -j 0 (or inf) is unlimited (the default).\n"
	    "  --optimum MS     the graph's optimum makespan at the one -j given (refused with\n"
	    "                   several -j, or below the lower bound)\n"
	    "  --json, --csv    rows as a JSON array or CSV (default: a table)\n"
	    "  --calls-csv FILE every call's start and end in every run, for bench/plot.py gantt\n"
	    "Columns: see bench/README.md.\n",
	    f);
}

/* Runs every policy at every j; level rows get eager's makespan at the same j (eager is run
 * for it when not asked for). */
int run_set(const struct sim_input *in, const struct sim_opts *o, int keep, struct sim_result *res)
{
	size_t p, k, e;

	for (p = 0; p < o->np; p++)
		for (k = 0; k < o->nj; k++)
			if (sim_run(in, o->pol[p], o->js[k], keep, &res[p * o->nj + k]) < 0)
				return -1;
	for (p = 0; p < o->np; p++) {
		if (o->pol[p] != TD_SCHEDULE_LEVEL)
			continue;
		for (k = 0; k < o->nj; k++) {
			struct sim_result eager;

			for (e = 0; e < o->np && o->pol[e] != TD_SCHEDULE_EAGER; e++)
				;
			if (e < o->np) {
				res[p * o->nj + k].eager_us = res[e * o->nj + k].makespan_us;
				continue;
			}
			if (sim_run(in, TD_SCHEDULE_EAGER, o->js[k], 0, &eager) < 0)
				return -1;
			res[p * o->nj + k].eager_us = eager.makespan_us;
		}
	}
	return 0;
}

static int write_calls_csv(const char *path, const struct sim_input *in,
                           const struct sim_result *res, size_t n)
{
	FILE *f = open_out(path);
	size_t k;

	if (!f)
		return -1;
	calls_csv_header(f);
	for (k = 0; k < n; k++)
		calls_csv_rows(f, in, &res[k]);
	return close_out(f, path);
}

/* A given optimum must be possible: at or above the lower bound, at or below every makespan. */
static int check_optimum(const struct sim_input *in, const struct sim_result *res, size_t n)
{
	char jb[16];
	size_t k;

	for (k = 0; k < n; k++) {
		if (in->optimum_ms * 1000 < (double)res[k].lower_bound_us) {
			say("--optimum %g is below the lower bound %.3f ms at -j %s: no schedule "
			    "is "
			    "that short",
			    in->optimum_ms, res[k].lower_bound_us / 1000.0,
			    j_text(res[k].j, jb, sizeof(jb)));
			return -1;
		}
		if ((double)res[k].makespan_us < in->optimum_ms * 1000) {
			say("--optimum %g: %s at -j %s takes %.3f ms, shorter than that optimum",
			    in->optimum_ms, policy_name(res[k].policy),
			    j_text(res[k].j, jb, sizeof(jb)), res[k].makespan_us / 1000.0);
			return -1;
		}
	}
	return 0;
}

int cmd_simulate(int argc, char **argv)
{
	struct sim_result res[MAX_LIST * MAX_POLICIES];
	struct sim_input in = {0};
	struct sim_opts o;
	int i = parse_opts(argc, argv, &o), rc = EXIT_INPUT;
	size_t k, total;

	if (i == OPTS_HELP) {
		usage_simulate(stdout);
		return 0;
	}
	if (i >= 0 && argc - i != 2)
		say("simulate: expected GRAPH and CALLS, got %d argument%s", argc - i,
		    argc - i == 1 ? "" : "s");
	if (i < 0 || argc - i != 2) {
		usage_simulate(stderr);
		return EXIT_USAGE;
	}
	if (o.optimum_ms > 0 && o.nj != 1) {
		say("--optimum holds for one -j value, %zu given (sweep --optima takes a table of "
		    "optima by j)",
		    o.nj);
		return EXIT_USAGE;
	}
	memset(res, 0, sizeof(res));
	if (load_files(argv[i], argv[i + 1], &in) < 0)
		goto out;
	in.optimum_ms = in.opt_lower_ms = in.opt_upper_ms = o.optimum_ms;
	rc = EXIT_FAIL;
	total = o.np * o.nj;
	if (run_set(&in, &o, o.calls_csv != NULL, res) < 0)
		goto out;
	if (o.optimum_ms > 0 && check_optimum(&in, res, total) < 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	row_header(stdout, o.fmt);
	for (k = 0; k < total; k++)
		row_print(stdout, o.fmt, &in, &res[k], k == 0);
	row_footer(stdout, o.fmt);
	if (o.calls_csv && write_calls_csv(o.calls_csv, &in, res, total) < 0)
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

			printf("%-8s %4s %6zu %6zu ", policy_name(o->pol[p]),
			       j_text(o->js[k], j, sizeof(j)), a->n, a->nopt);
			if (a->nopt)
				printf("%9.4f %9.4f ", a->sum_opt / a->nopt, a->worst_opt);
			else
				printf("%9s %9s ", "-", "-");
			printf("%9.4f %11.4f\n", a->n ? a->sum_lb / a->n : 0, a->worst_lb);
		}
}

static void usage_sweep(FILE *f)
{
	fputs("usage: tooldag-bench sweep [--policy P[,P..]|all] [-j N[,N..]] [--optima FILE]\n"
	      "         [--unit-ms F] [--summary] [--json|--csv] [--from GRAPH]\n"
	      "         FILE.stg|FILE.json|FILE.jsonl...\n"
	      "  Imports each STG / WfCommons file in memory and simulates it at every policy\n"
	      "  and -j; a recording (FILE.jsonl, tooldag run --record) gives every batch it\n"
	      "  holds, named FILE.jsonl#N, with the durations its calls took (see import log;\n"
	      "  --from GRAPH: the graph they ran on, default the recorded path).\n"
	      "  --optima FILE  a table of optima and bounds (data/stg/OPTIMA.tsv); rows name\n"
	      "                 graphs by their path relative to FILE's folder, m is -j; values\n"
	      "                 are in the graph's units (x --unit-ms)\n"
	      "  --summary      per policy and j: the mean and worst ratio to the optimum\n"
	      "                 (published or proven optima only) and to the lower bound\n"
	      "Columns: see bench/README.md.\n",
	      f);
}

/* The table's figures for this graph at j, in ms; warns when a makespan beats them. */
static void apply_optimum(struct sim_input *in, const struct optima *t, const char *key,
                          const struct sim_opts *o, unsigned j, const struct sim_result *r)
{
	const struct optimum *e = t->n ? optima_find(t, key, j) : NULL;

	in->optimum_ms = e ? e->optimum * o->unit_ms : 0;
	in->opt_lower_ms = e ? e->lower * o->unit_ms : 0;
	in->opt_upper_ms = e ? e->upper * o->unit_ms : 0;
	if (e && (double)r->makespan_us < in->opt_lower_ms * 1000 - 0.5)
		say("%s: %s at -j %u takes %.3f ms, below the table's %s %g: the table or the "
		    "graph is wrong",
		    in->name, policy_name(r->policy), j, r->makespan_us / 1000.0,
		    e->optimum ? "optimum" : "lower bound", in->opt_lower_ms);
}

/* Every policy at every -j on one loaded input, its rows out. 0 or EXIT_FAIL. */
static int sweep_input(struct sim_input *in, const char *path, const struct sim_opts *o,
                       const struct optima *t, struct agg *ag, int *first, size_t *unmatched)
{
	struct sim_result res[MAX_LIST * MAX_POLICIES];
	char *key;
	size_t p, k;

	memset(res, 0, sizeof(res));
	if (run_set(in, o, 0, res) < 0)
		return EXIT_FAIL;
	key = t->n ? optima_key(t, path) : NULL;
	if (o->optima && !optima_has(t, key))
		++*unmatched;
	for (p = 0; p < o->np; p++)
		for (k = 0; k < o->nj; k++) {
			const struct sim_result *r = &res[p * o->nj + k];

			apply_optimum(in, t, key, o, o->js[k], r);
			agg_add(&ag[p * o->nj + k], in, r);
			if (!o->summary)
				row_print(stdout, o->fmt, in, r, *first);
			*first = 0;
		}
	free(key);
	return 0;
}

/* A recording (.jsonl): every batch, named PATH#N (N from 1). */
static int sweep_log(const char *path, const struct sim_opts *o, const struct optima *t,
                     struct agg *ag, int *first, size_t *unmatched)
{
	struct logfile lf;
	size_t i;
	int rc = log_open(&lf, path, o->from) < 0 ? EXIT_INPUT : 0;

	for (i = 0; !rc && i < lf.n; i++) {
		struct sim_input in = {0};
		struct dag d = {0};
		size_t len = strlen(path) + 24;
		char *name = xcalloc(len, 1);

		snprintf(name, len, "%s#%zu", path, i + 1);
		if (!td_recording_call_count(lf.rec, i)) { /* nothing ran: no schedule to weigh */
			say("%s: no call, left out", name);
			free(name);
			continue;
		}
		rc = log_dag(&lf, i, &d) < 0 || input_from_dag(&d, name, &in) < 0 ? EXIT_INPUT : 0;
		if (!rc)
			rc = sweep_input(&in, path, o, t, ag, first, unmatched);
		sim_input_free(&in);
		free(name);
	}
	log_close(&lf);
	return rc;
}

static int sweep_one(const char *path, const struct sim_opts *o, const struct optima *t,
                     struct agg *ag, int *first, size_t *unmatched)
{
	struct sim_input in = {0};
	int rc = EXIT_INPUT;

	if (ends_with(path, ".jsonl"))
		return sweep_log(path, o, t, ag, first, unmatched);
	if (load_source(path, o->unit_ms, &in) == 0)
		rc = sweep_input(&in, path, o, t, ag, first, unmatched);
	sim_input_free(&in);
	return rc;
}

int cmd_sweep(int argc, char **argv)
{
	static struct agg ag[MAX_LIST * MAX_POLICIES];
	struct optima table = {0};
	struct sim_opts o;
	int i = parse_opts(argc, argv, &o), first = 1, rc = 0, nfiles;
	size_t unmatched = 0;

	if (i == OPTS_HELP) {
		usage_sweep(stdout);
		return 0;
	}
	if (i >= 0 && i >= argc)
		say("sweep: no graph files given");
	if (i < 0 || i >= argc) {
		usage_sweep(stderr);
		return EXIT_USAGE;
	}
	if (o.optima && optima_load(o.optima, &table) < 0)
		return EXIT_INPUT;
	memset(ag, 0, sizeof(ag));
	if (!o.summary)
		row_header(stdout, o.fmt);
	for (nfiles = argc - i; i < argc && !rc; i++)
		rc = sweep_one(argv[i], &o, &table, ag, &first, &unmatched);
	if (rc == 0) {
		if (o.summary)
			print_summary(&o, ag);
		else
			row_footer(stdout, o.fmt);
	}
	if (rc == 0 && unmatched)
		say("warning: %zu of %d graphs have no row in %s (rows name a graph by its path "
		    "relative to that file's folder)",
		    unmatched, nfiles, o.optima);
	optima_free(&table);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * sim.c - simulate mode: the library's own scheduler (src/run/sched.c, the code `tooldag run`
 * uses) drives the simulation backend (src/exec/sim.c: a job is a timer of the call's
 * duration) on the scheduler's own clock in virtual time (no loop: waiting jumps the clock to
 * the next deadline). Nothing here decides what starts when; it only measures.
 *
 * Bounds computed here, independently of any schedule: the critical path, the total work, and
 * the level bound (sum over levels of each level's longest call).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/loop.h"
#include "exec/sim.h"
#include "run/run.h"
#include "tooldag-bench/bench.h"
#include "tooldag-bench/sim.h"

const char *policy_name(enum td_schedule p)
{
	switch (p) {
	case TD_SCHEDULE_LEVEL:
		return "level";
	case TD_SCHEDULE_EAGER:
		return "eager";
	case TD_SCHEDULE_CRITICAL:
		return "critical";
	}
	return "?";
}

int policy_parse(const char *s, enum td_schedule *out)
{
	static const enum td_schedule all[] = {TD_SCHEDULE_LEVEL, TD_SCHEDULE_EAGER,
	                                       TD_SCHEDULE_CRITICAL};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(s, policy_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* ---- bounds ---- */

static void compute_bounds(struct sim_input *in)
{
	int64_t *finish = xcalloc(in->n ? in->n : 1, sizeof(*finish));
	uint32_t *deps = xcalloc(in->n ? in->n : 1, sizeof(*deps));
	size_t k, i;

	in->critical_path_us = in->total_work_us = in->level_sum_us = 0;
	for (k = 0; k < in->nlevels; k++) {
		const uint32_t *calls;
		int cnt = td_plan_level(in->plan, k, &calls);
		int64_t longest = 0;

		for (i = 0; i < (size_t)(cnt > 0 ? cnt : 0); i++) {
			uint32_t c = calls[i];
			int nd = td_plan_call_deps(in->plan, c, deps, in->n), e;
			int64_t ready = 0;

			for (e = 0; e < nd; e++)
				if (finish[deps[e]] > ready)
					ready = finish[deps[e]];
			finish[c] = ready + in->dur_us[c];
			if (finish[c] > in->critical_path_us)
				in->critical_path_us = finish[c];
			if (in->dur_us[c] > longest)
				longest = in->dur_us[c];
			in->total_work_us += in->dur_us[c];
		}
		in->level_sum_us += longest;
	}
	free(finish);
	free(deps);
}

int sim_input_plan(struct sim_input *in)
{
	struct td_diag diag = {0};
	size_t c;
	int r;

	in->n = td_batch_count(in->batch);
	for (c = 0; c < in->n; c++)
		if (td_batch_call_error(in->batch, c)) {
			say("%s: call %s: %s", in->name, td_batch_call_id(in->batch, c),
			    td_batch_call_error(in->batch, c));
			return -1;
		}
	r = td_plan_new(in->batch, &in->plan, &diag);
	if (r < 0) {
		print_diag(&diag, r, in->name);
		return -1;
	}
	in->nlevels = td_plan_level_count(in->plan);
	in->level = xcalloc(in->n ? in->n : 1, sizeof(*in->level));
	for (c = 0; c < in->n; c++)
		in->level[c] = td_plan_call_level(in->plan, c);
	compute_bounds(in);
	return 0;
}

void sim_input_free(struct sim_input *in)
{
	td_plan_free(in->plan);
	td_batch_free(in->batch);
	td_graph_free(in->graph);
	free(in->dur_us);
	free(in->level);
	memset(in, 0, sizeof(*in));
}

/* ---- measures ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Most intervals open at once; an interval ending at t frees its slot for one starting at t. */
static unsigned peak_inflight(size_t n, const int64_t *start, const int64_t *end)
{
	int64_t *s = xcalloc(n ? n : 1, sizeof(*s)), *e = xcalloc(n ? n : 1, sizeof(*e));
	size_t i = 0, k = 0;
	unsigned cur = 0, best = 0;

	memcpy(s, start, n * sizeof(*s));
	memcpy(e, end, n * sizeof(*e));
	qsort(s, n, sizeof(*s), cmp_i64);
	qsort(e, n, sizeof(*e), cmp_i64);
	while (i < n) {
		/* k < i: a zero-length call's end must not come before its own start */
		if (k < i && e[k] <= s[i]) {
			cur--;
			k++;
		} else {
			if (++cur > best)
				best = cur;
			i++;
		}
	}
	free(s);
	free(e);
	return best;
}

void sim_measure(const struct sim_input *in, struct sim_result *res, const int64_t *start,
                 const int64_t *end)
{
	res->lower_bound_us = in->critical_path_us;
	if (res->j && in->total_work_us / res->j > res->lower_bound_us)
		res->lower_bound_us = in->total_work_us / res->j; /* rounded down: still a bound */
	res->peak = peak_inflight(in->n, start, end);
	res->utilization = res->peak && res->makespan_us
	                       ? (double)in->total_work_us / ((double)res->peak * res->makespan_us)
	                       : 1.0;
	res->eager_us = -1;
}

void sim_result_free(struct sim_result *res)
{
	free(res->start_us);
	free(res->end_us);
	res->start_us = res->end_us = NULL;
}

/* ---- the run ---- */

int sim_collect(const struct sim_input *in, struct td_run *r, struct sim_result *out, int keep)
{
	int64_t *start = xcalloc(in->n ? in->n : 1, sizeof(*start));
	int64_t *end = xcalloc(in->n ? in->n : 1, sizeof(*end));
	struct td_result res;
	size_t c;

	for (c = 0; c < in->n; c++) {
		td_run_result(r, c, &res);
		if (res.status != TD_STATUS_OK) {
			say("%s: call %s ended %s: %s", in->name, td_batch_call_id(in->batch, c),
			    td_status_name(res.status), res.content);
			free(start);
			free(end);
			return -1;
		}
		start[c] = res.start_us;
		end[c] = res.end_us;
	}
	out->makespan_us = td_run_makespan_us(r);
	sim_measure(in, out, start, end);
	if (keep) {
		out->start_us = start;
		out->end_us = end;
	} else {
		free(start);
		free(end);
	}
	return 0;
}

struct td_run_opts sim_begin(const struct sim_input *in, enum td_schedule policy, unsigned j,
                             struct sim_result *out)
{
	struct td_run_opts opts = {0};

	memset(out, 0, sizeof(*out));
	out->policy = policy;
	out->j = j;
	opts.concurrency = j ? j : (unsigned)(in->n ? in->n : 1);
	opts.schedule = policy;
	opts.seed = 1;
	return opts;
}

int sim_run(const struct sim_input *in, enum td_schedule policy, unsigned j, int keep_calls,
            struct sim_result *out)
{
	struct td_run_opts opts = sim_begin(in, policy, j, out);
	struct td__backend *be = NULL;
	struct td_diag diag = {0};
	struct td_run *r = NULL;
	int err, rc = -1;

	if ((err = td__sim_backend_new(in->dur_us, &be)) < 0 ||
	    (err = td__run_new_fake(in->plan, &opts, be, &r, &diag)) < 0) {
		print_diag(&diag, err, "simulate: creating the run");
		goto out;
	}
	td__sched_set_costs(r, in->dur_us);
	if ((err = td_run_wait(r)) < 0) {
		say("simulate: %s", td_strerror(err));
		goto out;
	}
	rc = sim_collect(in, r, out, keep_calls);
out:
	td_run_free(r);
	if (be)
		be->free(be);
	return rc;
}

/* ---- rows ---- */

static void ms(FILE *f, int64_t us)
{
	uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;

	fprintf(f, "%s%" PRIu64 ".%03" PRIu64, us < 0 ? "-" : "", a / 1000, a % 1000);
}

const char *j_text(unsigned j, char *buf, size_t len)
{
	if (!j)
		return "inf";
	snprintf(buf, len, "%u", j);
	return buf;
}

/* The figures of one row, each NAN when it does not apply (cost: when !has_cost). */
struct row_vals {
	double cost_ratio, ratio_opt, ratio_lb;
	int64_t cost_us; /* level minus eager: negative when the barrier happened to help */
	int has_cost;
};

static struct row_vals row_vals(const struct sim_input *in, const struct sim_result *res)
{
	struct row_vals v = {NAN, NAN, 1.0, 0, 0};

	if (res->eager_us >= 0) {
		v.has_cost = 1;
		v.cost_us = res->makespan_us - res->eager_us;
		v.cost_ratio =
		    res->eager_us ? (double)res->makespan_us / (double)res->eager_us : 1.0;
	}
	if (in->optimum_ms > 0)
		v.ratio_opt = (double)res->makespan_us / 1000.0 / in->optimum_ms;
	if (res->lower_bound_us)
		v.ratio_lb = (double)res->makespan_us / (double)res->lower_bound_us;
	return v;
}

void row_header(FILE *f, enum out_format fmt)
{
	if (fmt == OUT_CSV)
		fputs(
		    "graph,calls,levels,policy,j,makespan_ms,critical_path_ms,total_work_ms,"
		    "level_bound_ms,lower_bound_ms,barrier_cost_ms,barrier_cost_ratio,utilization,"
		    "peak,optimum_ms,opt_lower_ms,opt_upper_ms,ratio_to_optimum,"
		    "ratio_to_lower_bound\n",
		    f);
	else if (fmt == OUT_TABLE)
		fprintf(f, "%6s %5s %-8s %4s %12s %12s %12s %12s %7s %7s %7s %7s  %s\n", "calls",
		        "lvls", "policy", "j", "makespan", "lower_bnd", "crit_path", "barrier_cost",
		        "/eager", "util", "/lower", "/opt", "graph");
	else
		fputs("[", f);
}

void row_footer(FILE *f, enum out_format fmt)
{
	if (fmt == OUT_JSON)
		fputs("\n]\n", f);
}

static void json_ms_or_null(FILE *f, const char *key, double v)
{
	if (v > 0)
		fprintf(f, ",\"%s\":%g", key, v);
	else
		fprintf(f, ",\"%s\":null", key);
}

static void row_json(FILE *f, const struct sim_input *in, const struct sim_result *res)
{
	struct row_vals v = row_vals(in, res);
	char jb[16];

	fputs("{\"graph\":", f);
	json_str(f, in->name);
	fprintf(f, ",\"calls\":%zu,\"levels\":%zu,\"policy\":\"%s\",\"j\":", in->n, in->nlevels,
	        policy_name(res->policy));
	if (res->j)
		fputs(j_text(res->j, jb, sizeof(jb)), f);
	else
		fputs("\"inf\"", f);
	fputs(",\"makespan_ms\":", f);
	ms(f, res->makespan_us);
	fputs(",\"critical_path_ms\":", f);
	ms(f, in->critical_path_us);
	fputs(",\"total_work_ms\":", f);
	ms(f, in->total_work_us);
	fputs(",\"level_bound_ms\":", f);
	ms(f, in->level_sum_us);
	fputs(",\"lower_bound_ms\":", f);
	ms(f, res->lower_bound_us);
	fputs(",\"barrier_cost_ms\":", f);
	if (v.has_cost) {
		ms(f, v.cost_us);
		fprintf(f, ",\"barrier_cost_ratio\":%.4f", v.cost_ratio);
	} else {
		fputs("null,\"barrier_cost_ratio\":null", f);
	}
	fprintf(f, ",\"utilization\":%.4f,\"peak\":%u", res->utilization, res->peak);
	json_ms_or_null(f, "optimum_ms", in->optimum_ms);
	json_ms_or_null(f, "opt_lower_ms", in->opt_lower_ms);
	json_ms_or_null(f, "opt_upper_ms", in->opt_upper_ms);
	if (in->optimum_ms > 0)
		fprintf(f, ",\"ratio_to_optimum\":%.4f", v.ratio_opt);
	else
		fputs(",\"ratio_to_optimum\":null", f);
	fprintf(f, ",\"ratio_to_lower_bound\":%.4f}", v.ratio_lb);
}

/* A CSV field in quotes, quotes inside doubled (RFC 4180). */
static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* ",v" (a ratio with 4 decimals, else %g), or "," when v does not apply (<= 0 or NAN) */
static void csv_num(FILE *f, double v, int ratio)
{
	fputc(',', f);
	if (v > 0)
		fprintf(f, ratio ? "%.4f" : "%g", v);
}

static void row_csv(FILE *f, const struct sim_input *in, const struct sim_result *res)
{
	struct row_vals v = row_vals(in, res);
	char jb[16];

	csv_str(f, in->name);
	fprintf(f, ",%zu,%zu,%s,%s,", in->n, in->nlevels, policy_name(res->policy),
	        j_text(res->j, jb, sizeof(jb)));
	ms(f, res->makespan_us);
	fputc(',', f);
	ms(f, in->critical_path_us);
	fputc(',', f);
	ms(f, in->total_work_us);
	fputc(',', f);
	ms(f, in->level_sum_us);
	fputc(',', f);
	ms(f, res->lower_bound_us);
	fputc(',', f);
	if (v.has_cost) {
		ms(f, v.cost_us);
		fprintf(f, ",%.4f", v.cost_ratio);
	} else {
		fputc(',', f);
	}
	fprintf(f, ",%.4f,%u", res->utilization, res->peak);
	csv_num(f, in->optimum_ms, 0);
	csv_num(f, in->opt_lower_ms, 0);
	csv_num(f, in->opt_upper_ms, 0);
	csv_num(f, v.ratio_opt, 1);
	fprintf(f, ",%.4f\n", v.ratio_lb);
}

void row_print(FILE *f, enum out_format fmt, const struct sim_input *in,
               const struct sim_result *res, int first)
{
	struct row_vals v = row_vals(in, res);
	char jb[16];

	if (fmt == OUT_JSON) {
		fputs(first ? "\n" : ",\n", f);
		row_json(f, in, res);
		return;
	}
	if (fmt == OUT_CSV) {
		row_csv(f, in, res);
		return;
	}
	fprintf(f, "%6zu %5zu %-8s %4s %12.3f %12.3f %12.3f ", in->n, in->nlevels,
	        policy_name(res->policy), j_text(res->j, jb, sizeof(jb)), res->makespan_us / 1000.0,
	        res->lower_bound_us / 1000.0, in->critical_path_us / 1000.0);
	if (v.has_cost)
		fprintf(f, "%12.3f %7.3f ", v.cost_us / 1000.0, v.cost_ratio);
	else
		fprintf(f, "%12s %7s ", "-", "-");
	fprintf(f, "%7.3f %7.3f ", res->utilization, v.ratio_lb);
	if (in->optimum_ms > 0)
		fprintf(f, "%7.3f", v.ratio_opt);
	else
		fprintf(f, "%7s", "-");
	fprintf(f, "  %s\n", in->name);
}

void calls_csv_header(FILE *f)
{
	fputs("graph,policy,j,call,level,start_ms,end_ms\n", f);
}

void calls_csv_rows(FILE *f, const struct sim_input *in, const struct sim_result *res)
{
	char jb[16];
	size_t c;

	for (c = 0; res->start_us && c < in->n; c++) {
		csv_str(f, in->name);
		fprintf(f, ",%s,%s,", policy_name(res->policy), j_text(res->j, jb, sizeof(jb)));
		csv_str(f, td_batch_call_id(in->batch, c));
		fprintf(f, ",%d,", in->level[c]);
		ms(f, res->start_us[c]);
		fputc(',', f);
		ms(f, res->end_us[c]);
		fputc('\n', f);
	}
}

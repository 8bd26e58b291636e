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

/*
 * Level-barrier waste: in each level, the slots the level could use (min(slots, its calls))
 * times the level's span (first start to last end), minus the work done in it: slot-time that
 * sat idle while the level waited for its slowest call.
 */
static int64_t barrier_waste(const struct sim_input *in, unsigned slots, const int64_t *start,
                             const int64_t *end)
{
	int64_t waste = 0;
	size_t k, i;

	for (k = 0; k < in->nlevels; k++) {
		const uint32_t *calls;
		int cnt = td_plan_level(in->plan, k, &calls);
		int64_t lo = INT64_MAX, hi = 0, work = 0;
		unsigned use;

		if (cnt <= 0)
			continue;
		for (i = 0; i < (size_t)cnt; i++) {
			if (start[calls[i]] < lo)
				lo = start[calls[i]];
			if (end[calls[i]] > hi)
				hi = end[calls[i]];
			work += in->dur_us[calls[i]];
		}
		use = slots && slots < (unsigned)cnt ? slots : (unsigned)cnt;
		waste += (int64_t)use * (hi - lo) - work;
	}
	return waste;
}

void sim_measure(const struct sim_input *in, struct sim_result *res, const int64_t *start,
                 const int64_t *end)
{
	unsigned slots;

	res->lower_bound_us = in->critical_path_us;
	if (res->j && (in->total_work_us + res->j - 1) / res->j > res->lower_bound_us)
		res->lower_bound_us = (in->total_work_us + res->j - 1) / res->j;
	res->peak = peak_inflight(in->n, start, end);
	slots = res->j ? res->j : res->peak;
	res->utilization = slots && res->makespan_us
	                       ? (double)in->total_work_us / ((double)slots * res->makespan_us)
	                       : 1.0;
	res->barrier_waste_us =
	    res->policy == TD_SCHEDULE_LEVEL ? barrier_waste(in, res->j, start, end) : -1;
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

int sim_run(const struct sim_input *in, enum td_schedule policy, unsigned j, int keep_calls,
            struct sim_result *out)
{
	struct td_run_opts opts = {0};
	struct td__backend *be = NULL;
	struct td_diag diag = {0};
	struct td_run *r = NULL;
	int err, rc = -1;

	memset(out, 0, sizeof(*out));
	out->policy = policy;
	out->j = j;
	opts.concurrency = j ? j : (unsigned)(in->n ? in->n : 1);
	opts.schedule = policy;
	opts.seed = 1;
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
	fprintf(f, "%" PRId64 ".%03" PRId64, us / 1000, us % 1000);
}

void row_header(FILE *f, enum out_format fmt)
{
	if (fmt == OUT_CSV)
		fputs("graph,calls,levels,policy,j,makespan_ms,critical_path_ms,total_work_ms,"
		      "level_bound_ms,lower_bound_ms,barrier_waste_ms,utilization,peak,optimum_ms,"
		      "ratio_to_optimum,ratio_to_lower_bound\n",
		      f);
	else if (fmt == OUT_TABLE)
		fprintf(f, "%-28s %6s %5s %-8s %4s %12s %12s %12s %12s %7s %7s %7s\n", "graph",
		        "calls", "lvls", "policy", "j", "makespan", "lower_bnd", "crit_path",
		        "barrier_waste", "util", "/lower", "/opt");
	else
		fputs("[", f);
}

void row_footer(FILE *f, enum out_format fmt)
{
	if (fmt == OUT_JSON)
		fputs("]\n", f);
}

void row_json(FILE *f, const struct sim_input *in, const struct sim_result *res)
{
	fputs("{\"graph\":", f);
	json_str(f, in->name);
	fprintf(f,
	        ",\"calls\":%zu,\"levels\":%zu,\"policy\":\"%s\",\"j\":%u,\"makespan_ms\":", in->n,
	        in->nlevels, policy_name(res->policy), res->j);
	ms(f, res->makespan_us);
	fputs(",\"critical_path_ms\":", f);
	ms(f, in->critical_path_us);
	fputs(",\"total_work_ms\":", f);
	ms(f, in->total_work_us);
	fputs(",\"level_bound_ms\":", f);
	ms(f, in->level_sum_us);
	fputs(",\"lower_bound_ms\":", f);
	ms(f, res->lower_bound_us);
	fputs(",\"barrier_waste_ms\":", f);
	if (res->barrier_waste_us >= 0)
		ms(f, res->barrier_waste_us);
	else
		fputs("null", f);
	fprintf(f, ",\"utilization\":%.4f,\"peak\":%u", res->utilization, res->peak);
	if (in->optimum_ms > 0)
		fprintf(f, ",\"optimum_ms\":%g,\"ratio_to_optimum\":%.4f", in->optimum_ms,
		        (double)res->makespan_us / 1000.0 / in->optimum_ms);
	fprintf(f, ",\"ratio_to_lower_bound\":%.4f}",
	        res->lower_bound_us ? (double)res->makespan_us / (double)res->lower_bound_us : 1.0);
}

/* The table shows the file name only (CSV and JSON keep the path). */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void row_print(FILE *f, enum out_format fmt, const struct sim_input *in,
               const struct sim_result *res, int first)
{
	double lb = res->lower_bound_us ? (double)res->makespan_us / res->lower_bound_us : 1.0;
	char j[16];

	if (fmt == OUT_JSON) {
		fputs(first ? "\n" : ",\n", f);
		row_json(f, in, res);
		return;
	}
	if (fmt == OUT_CSV) {
		fprintf(f, "\"%s\",%zu,%zu,%s,%u,", in->name, in->n, in->nlevels,
		        policy_name(res->policy), res->j);
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
		if (res->barrier_waste_us >= 0)
			ms(f, res->barrier_waste_us);
		fprintf(f, ",%.4f,%u,", res->utilization, res->peak);
		if (in->optimum_ms > 0)
			fprintf(f, "%g,%.4f", in->optimum_ms,
			        (double)res->makespan_us / 1000.0 / in->optimum_ms);
		else
			fputc(',', f);
		fprintf(f, ",%.4f\n", lb);
		return;
	}
	snprintf(j, sizeof(j), res->j ? "%u" : "inf", res->j);
	fprintf(f, "%-28.28s %6zu %5zu %-8s %4s %12.3f %12.3f %12.3f ", base_name(in->name), in->n,
	        in->nlevels, policy_name(res->policy), j, res->makespan_us / 1000.0,
	        res->lower_bound_us / 1000.0, in->critical_path_us / 1000.0);
	if (res->barrier_waste_us >= 0)
		fprintf(f, "%12.3f ", res->barrier_waste_us / 1000.0);
	else
		fprintf(f, "%12s ", "-");
	fprintf(f, "%7.3f %7.3f ", res->utilization, lb);
	if (in->optimum_ms > 0)
		fprintf(f, "%7.3f\n", res->makespan_us / 1000.0 / in->optimum_ms);
	else
		fputs("      -\n", f);
}

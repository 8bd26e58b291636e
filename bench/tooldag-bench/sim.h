/* SPDX-License-Identifier: MIT */
/*
 * sim.h - one graph's inputs to a simulation, what a simulated (or real) run measured, and the
 * output rows (table, CSV, JSON) and charts built from them.
 */
#ifndef TD_BENCH_SIM_H
#define TD_BENCH_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "tooldag.h"

/* A planned batch and each call's duration, with the bounds that need no schedule. */
struct sim_input {
	const char *name; /* for rows and charts */
	struct td_graph *graph;
	struct td_batch *batch;
	struct td_plan *plan;
	size_t n;
	int64_t *dur_us; /* [n] */
	int *level;      /* [n] */
	size_t nlevels;
	int64_t critical_path_us; /* longest chain of durations */
	int64_t total_work_us;    /* sum of durations */
	int64_t level_sum_us;     /* sum over levels of the longest call: level at j = infinity */
	/* at the j of the row being printed: a published or proven optimum (0: none), and the
	 * known bounds on it (0: none) */
	double optimum_ms, opt_lower_ms, opt_upper_ms;
};

/* One run of one policy at one concurrency. */
struct sim_result {
	enum td_schedule policy;
	unsigned j; /* 0: unlimited */
	int64_t makespan_us;
	int64_t lower_bound_us;     /* max(critical path, floor(total work / j)) */
	int64_t eager_us;           /* level rows: eager's makespan at the same j; else -1 */
	unsigned peak;              /* most calls in flight at once */
	double utilization;         /* total work / (peak * makespan) */
	int64_t *start_us, *end_us; /* [n] when asked for (charts), else NULL */
	/* real mode */
	int64_t simulated_us;
};

const char *policy_name(enum td_schedule p);
int policy_parse(const char *s, enum td_schedule *out);

/* Builds the plan of a batch and computes the bounds (durations already set). 0 or -1. */
int sim_input_plan(struct sim_input *in);
void sim_input_free(struct sim_input *in);
/* Clears out for a run of policy at j and returns the run options both kinds of run use. */
struct td_run_opts sim_begin(const struct sim_input *in, enum td_schedule policy, unsigned j,
                             struct sim_result *out);
/* Runs the real scheduler on the simulation backend in virtual time. 0 or -1. */
int sim_run(const struct sim_input *in, enum td_schedule policy, unsigned j, int keep_calls,
            struct sim_result *out);
struct td_run;
/* A finished run's makespan and measures (per-call stamps kept when keep). 0, or -1 when
 * some call did not end OK. */
int sim_collect(const struct sim_input *in, struct td_run *r, struct sim_result *out, int keep);
/* Fills the result's measures from per-call start/end stamps and the makespan. */
void sim_measure(const struct sim_input *in, struct sim_result *res, const int64_t *start,
                 const int64_t *end);
void sim_result_free(struct sim_result *res);

enum out_format { OUT_TABLE, OUT_CSV, OUT_JSON };
void row_header(FILE *f, enum out_format fmt);
void row_print(FILE *f, enum out_format fmt, const struct sim_input *in,
               const struct sim_result *res, int first);
void row_footer(FILE *f, enum out_format fmt);
/* "inf" for 0 (unlimited), else the number: the one spelling of j in every output. */
const char *j_text(unsigned j, char *buf, size_t len);
/* Every call of a run kept with its stamps: graph,policy,j,call,level,start_ms,end_ms. */
void calls_csv_header(FILE *f);
void calls_csv_rows(FILE *f, const struct sim_input *in, const struct sim_result *res);

#endif /* TD_BENCH_SIM_H */

/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the base every part of tooldag-bench builds on: messages, allocation, options and
 * files (util.c), the task graph (dag.c) and its importers (stg.c, wf.c). These files call
 * nothing of the subcommands (cmds.h), so no two parts include each other.
 */
#ifndef TD_BENCH_H
#define TD_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "tooldag.h"

enum { EXIT_USAGE = 1, EXIT_INPUT = 2, EXIT_FAIL = 3 };

/* Largest task count accepted (call indices are 32-bit in the library). */
#define MAX_TASKS 50000000L

extern const char *prog;

/* The task graph every subcommand works on */
struct dag {
	size_t n;
	char **id;          /* [n] owned strings; NULL: generated graph, ids come from dag_id() */
	int64_t *ms;        /* [n] duration in milliseconds */
	int64_t *us;        /* [n] the same in microseconds, when finer (recordings); else NULL */
	uint32_t *pred_off; /* [n + 1] CSR: task t depends on pred[pred_off[t] .. pred_off[t+1]) */
	uint32_t *pred;
	size_t npred;
	/* while importing: edges in insertion order, turned into the CSR by dag_finalize() */
	uint32_t *e_task, *e_pred;
	size_t ne, e_cap;
	size_t cap;
	const char *source; /* what it was read from, for the graph file's header */
	const char *format; /* "STG", "WfCommons 1.5", ... */
};

__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...);
/* Allocation that exits (EXIT_FAIL) when memory runs out: a benchmark has no way around it. */
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
double now_s(void);
/* Option values: exit(EXIT_USAGE) with a message naming opt when s is not one. */
long opt_long(const char *opt, const char *s, long lo, long hi);
double opt_double(const char *opt, const char *s);
/* s as a base-10 long in lo..hi: 0, or -1 when it is not one. */
int parse_long(const char *s, long lo, long hi, long *out);
/* -d LO:HI with 1 <= LO <= HI <= 1000 */
void opt_range(const char *s, int *lo, int *hi);
/* The whole file, NUL-terminated (say()s why and returns NULL when it cannot). */
char *read_file(const char *path, size_t *len);
FILE *open_out(const char *path);
int close_out(FILE *f, const char *path);
void json_str(FILE *f, const char *s);
void print_diag(struct td_diag *diag, int err, const char *what);

void dag_free(struct dag *d);
size_t dag_add_task(struct dag *d, const char *id, int64_t ms);
void dag_add_edge(struct dag *d, size_t task, size_t pred);
void dag_finalize(struct dag *d);
const char *dag_id(const struct dag *d, size_t i, char *buf, size_t len);
int import_stg(const char *path, double unit_ms, struct dag *d);
int import_wf(const char *path, struct dag *d);

/* A recording read for its batches (log.c) */
struct logfile {
	struct td_recording *rec;
	const char *path;
	const char *graph;  /* the graph every batch ran on (--from), or NULL: the recorded path */
	struct td_graph *g; /* the graph loaded last, from gpath */
	char *gpath;
	size_t n; /* batches */
};
/* Opens a recording with at least one batch. 0, or -1 (said). */
int log_open(struct logfile *lf, const char *path, const char *graph);
void log_close(struct logfile *lf);
/* Batch i (0 first) as a task graph: its plan's dependencies, its calls' real durations (d->us
 * set). 0, or -1 (said). */
int log_dag(struct logfile *lf, size_t i, struct dag *d);
/* A batch of the one-tool graph `task` (builtin sleep): one call per task, no input. */
int build_batch(const struct td_graph *graph, const struct dag *d, struct td_batch **out);

int make_dirs(const char *path);
/* graph_path gets a one-tool graph (`task`, builtin sleep), calls_path one call per task. */
int write_pair(const struct dag *d, const char *graph_path, const char *calls_path,
               unsigned concurrency);
/* OUTDIR/graph.yaml and OUTDIR/calls.json (OUTDIR created); frees d. 0 or EXIT_FAIL. */
int write_dir(struct dag *d, const char *outdir, unsigned concurrency);

#endif /* TD_BENCH_H */

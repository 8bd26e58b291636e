/* SPDX-License-Identifier: MIT */
/*
 * run.h - a run of a plan (internal): per-call state machines, per-tool limits, the ready set.
 * sched.c owns every state change (one transition function); run.c is the public td_run_* API;
 * report/results.c encodes the outcome.
 *
 * The run knows no kernel facility: it keeps time on a clock (run/clock.h), hands jobs to
 * backends (run/backend.h) and, when it has one, turns a driver: the event loop exec sets up
 * (td_run_new() lives there). A run with no driver runs in virtual time on its own clock.
 */
#ifndef TD_RUN_H
#define TD_RUN_H

#include <stdint.h>

#include "plan/plan.h"
#include "run/backend.h"
#include "run/clock.h"

#define TD__NONE UINT32_MAX

enum td__cstate {
	TD_CS_WAITING = 0, /* dependencies or the level barrier not yet released */
	TD_CS_READY,       /* in the ready heap */
	TD_CS_PARKED,      /* held back by its tool's concurrency or rate; in the tool's queue */
	TD_CS_RUNNING,     /* a job is out */
	TD_CS_BACKOFF,     /* failed, waiting for its retry timer */
	TD_CS_DONE,        /* has its result */
};

struct td__attempt {
	int64_t start_us, end_us; /* from the run's start */
	enum td_status status;
	int exit_code; /* -1 when none */
	int signal;
};

struct td__callrun {
	enum td__cstate state;
	enum td_status status;
	unsigned attempts;
	int exit_code;
	int signal;
	int truncated;
	int64_t start_us, end_us; /* -1 until started */
	int64_t queue_us;         /* its attempts' waits inside their backend (job.queue_us) */
	char *content;            /* td__malloc'd result text */
	size_t content_len;
	struct td__attempt att0;  /* the first attempt; further ones in more[] */
	struct td__attempt *more; /* [tool retries], allocated at the first retry */
	struct td__job *job;      /* while RUNNING */
	struct td__timer backoff; /* while BACKOFF */
	uint32_t park_next;       /* link in the tool's park queue */
	int cancel;               /* td_run_cancel_call(): ends as CANCELLED, whatever happens */
	struct td_run *run;
};

/*
 * What a run asks of the loop that drives it (exec implements it; ctx is the loop). A run
 * with none turns its own clock in virtual time.
 */
struct td__driver {
	/* Submits queued requests; if `wait`, blocks until a completion arrives or the clock's
	 * earliest timer is due; then runs completions and the clock's turn. Count or -errno. */
	int (*turn)(void *ctx, int wait);
	int (*submit)(void *ctx);              /* queued requests to the kernel; 0 or -errno */
	int (*fd)(const void *ctx);            /* readable when completions wait */
	unsigned (*inflight)(const void *ctx); /* requests not yet completed */
	void (*free)(void *ctx);
};

/* Room for every backend kind (load/graph.h: enum td__kind). */
#define TD__KINDS 8

struct td__toolrun {
	uint32_t inflight;
	uint32_t park_head, park_tail; /* TD__NONE when empty; batch order */
	double credit;                 /* token bucket, in token * period_us units */
	int64_t credit_at;             /* when credit was last refilled */
	struct td__timer rate_timer;   /* armed while the head waits for a token */
	uint32_t index;
	struct td_run *run;
};

struct td_run {
	const struct td_plan *plan;
	const struct td_batch *batch;
	const struct td_graph *graph;
	struct td_run_opts opts;
	unsigned limit; /* global concurrency */
	uint64_t rng;

	struct td__clock *clock; /* the driver's, or own_clock */
	struct td__clock own_clock;
	const struct td__driver *drv; /* NULL: virtual time on own_clock */
	void *drv_ctx;
	struct td__backend *fake;               /* tests and simulation: every call goes here */
	struct td__backend *backend[TD__KINDS]; /* by tool kind (owned: freed with the run) */

	struct td__callrun *calls; /* [ncalls] */
	struct td__toolrun *tools; /* [graph->ntools] */
	uint32_t *pending;         /* [nnodes]: predecessors not yet done */
	/* [nnodes]: the first failed call (lowest index) among the node's predecessors, barriers
	 * expanded, kept as failure propagates; TD__NONE while none failed. A skipped call
	 * names it, in O(1). */
	uint32_t *failed_pred;
	uint32_t *level_left; /* [nlevels]: calls of the level not yet done */
	uint32_t cur_level;

	uint32_t *ready; /* min-heap of call indices: batch order */
	uint32_t nready;
	/* one call's dependencies, expanded (td__plan_deps) for its stdin envelope, and how many
	 * times a list was expanded in this run (tests: failures never cost an expansion) */
	uint32_t *deps;
	size_t deps_cap;
	uint64_t deps_expanded;
	/* critical policy only (else NULL): longest remaining path per node, what it is made of
	 * (cost_us [ncalls], the host's; NULL: 1 per call) and room to compute it [2 * nnodes] */
	int64_t *rank;
	const int64_t *cost_us;
	uint32_t *rank_tmp;

	struct td__job *free_jobs;                  /* pool */
	struct td__job *completed, *completed_tail; /* done() queue, handled by the scheduler */
	uint32_t inflight;                          /* jobs out (counts toward `limit`) */
	/* Descriptors the jobs in flight hold (each its backend's fds_per_job), and at most how
	 * many (UINT64_MAX: no limit; the runner sets it from RLIMIT_NOFILE), so a large -j
	 * waits instead of ending in EMFILE. */
	uint64_t fd_used, fd_room;
	uint32_t ndone;
	/* calls in the order they finished, for td_run_next_finished(); next_finished is the
	 * first one the host has not pulled yet */
	uint32_t *finish_order, nfinished, next_finished;
	int started, cancelled;
	int64_t t0;    /* run start, monotonic us */
	int64_t t_end; /* last call's end, from t0 */

	/* every state change, as it happens (tests check the state machine with it); may be NULL */
	void (*trace)(void *ud, uint32_t call, enum td__cstate from, enum td__cstate to);
	void *trace_ud;

	/* td_run_observe()'s observers (observe.c), fed from `trace`; NULL until the first */
	struct td__observers *obs;
};

/* sched.c */
int td__sched_init(struct td_run *r);
void td__sched_fini(struct td_run *r);
void td__sched_begin(struct td_run *r);
/* Handles completed jobs and starts what the policy and limits allow; returns work done. */
int td__sched_progress(struct td_run *r);
void td__sched_cancel(struct td_run *r);
void td__sched_cancel_call(struct td_run *r, uint32_t c);
int td__sched_finished(const struct td_run *r);
/* Ready calls and free slots: another td__sched_progress() would start something. */
int td__sched_can_start(const struct td_run *r);
/* Critical policy: rank calls by these estimated durations ([ncalls], kept by reference;
 * NULL: 1 per call). Call before the run starts; no effect under the other policies. */
void td__sched_set_costs(struct td_run *r, const int64_t *cost_us);
/* Routes be's completions to r's scheduler. */
void td__sched_attach(struct td_run *r, struct td__backend *be);

/*
 * What td_run_opts.record and .history point at: writers from a layer above (report/record.c,
 * report/history.c) that the run attaches once it is created, before anything starts. The
 * objects they point at begin with this.
 */
struct td__run_hook {
	int (*attach)(const void *self, struct td_run *r);
};

/* observe.c: attaches an observer whose fini(ud), when not NULL, runs once at td_run_free()
 * after the last event (the run's own writers, e.g. the trace, free themselves there). */
int td__run_observe(struct td_run *r, td_observer_fn fn, void (*fini)(void *ud), void *ud);
/* Detaches every observer (no event reaches them afterwards) and runs the fini hooks. */
void td__observe_free(struct td_run *r);
/* For the event writers: the lengths of call c's id and tool name, each with TD__LEN_ESCAPE
 * set when the string needs JSON escaping; measured once per run and call, not per event. */
#define TD__LEN_ESCAPE 0x80000000u
struct td__call_lens {
	uint32_t id, name;
};
struct td__call_lens td__observe_lens(const struct td_run *r, uint32_t c);

/*
 * run.c: a run with no driver and no backend yet, on `clock` (NULL: its own, in virtual time).
 * Validates the plan (diag says why not).
 */
int td__run_create(const struct td_plan *plan, const struct td_run_opts *opts,
                   struct td__clock *clock, struct td_run **out, struct td_diag *diag);
/* Hands r the backend for tools of `kind` (r frees it); be->clock becomes r's clock. */
int td__run_set_backend(struct td_run *r, enum td__kind kind, struct td__backend *be);
/* The loop that drives r from now on (r frees ctx with drv->free, after the backends). */
void td__run_set_driver(struct td_run *r, const struct td__driver *drv, void *ctx);
/* A run in virtual time, no driver, whose every call goes to `fake` (tests and simulation;
 * the caller keeps and frees fake). No ring, no process, no kernel timer: td_run_wait()
 * jumps the clock from deadline to deadline. */
int td__run_new_fake(const struct td_plan *plan, const struct td_run_opts *opts,
                     struct td__backend *fake, struct td_run **out, struct td_diag *diag);

#endif /* TD_RUN_H */

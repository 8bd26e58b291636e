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
	int http_status;  /* an HTTP response's status code; 0 when none */
	int64_t queue_us; /* its wait inside the backend (job.queue_us) */
	char *worker;     /* a remote tool's: the worker that held it (job.worker), or NULL */
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
	char *blocks;             /* the job's blocks (backend.h), or NULL */
	struct td__attempt att0;  /* the first attempt; further ones in more[] */
	struct td__attempt *more; /* [tool retries], allocated at the first retry */
	struct td__job *job;      /* while RUNNING */
	struct td__timer backoff; /* while BACKOFF */
	uint32_t park_next;       /* link in the tool's park queue */
	int cancel;               /* td_run_cancel_call(): ends as CANCELLED, whatever happens */
	struct td_run *run;
};

/* A call's attempt n (1-based; 0 or 1: the first) */
static inline const struct td__attempt *td__attempt_of(const struct td__callrun *cr, unsigned n)
{
	return n <= 1 ? &cr->att0 : &cr->more[n - 2];
}

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

/* Room for every backend kind (load/graph.h: enum td__kind), and the remote backend's slot
 * after them: a tool with `remote:` goes there whatever its kind. */
#define TD__KINDS          8
#define TD__BACKEND_REMOTE TD_KIND_COUNT
_Static_assert(TD__BACKEND_REMOTE < TD__KINDS, "no room for the remote backend");

/*
 * A limited tool's budget (its `concurrency` and `rate`), shared by every run of the same
 * graph on one pool (a host): two runs calling a rate-limited API share its tokens. Its
 * members are those runs' toolruns; a freed slot or a new token goes to them in turns.
 */
struct td__toollim {
	const struct td__tool *tool;
	const struct td_run *owner; /* `scope: run`: the one run it budgets; NULL: shared */
	uint32_t inflight;
	double credit;               /* token bucket, in token * period_us units */
	int64_t credit_at;           /* when credit was last refilled */
	struct td__timer rate_timer; /* armed while a member's head waits for a token */
	struct td__toolrun *cursor;  /* ring of members (lim_next); the next to be woken */
	uint32_t refs;
	struct td__toollim *next; /* the pool's list */
};

struct td__toolrun {
	uint32_t inflight;
	uint32_t park_head, park_tail; /* TD__NONE when empty; batch order */
	struct td__toollim *lim;       /* a limited tool's shared budget, else NULL */
	struct td__toolrun *lim_next, *lim_prev;
	uint32_t index;
	struct td_run *run;
	const void *be_cache; /* a backend's per-run note about the tool (job->tool_cache) */
};

/*
 * The runs that share one driver, one clock, the backends and the limits (a host: exec/host.c;
 * a run made alone has its own). Limits compose: `limit` and the descriptor budget cap the
 * jobs of all runs together, each run's own `limit` caps that run. Fairness: the runs with a
 * startable call take turns, one start each per round, from where the last round stopped
 * (pool.c), so no run waits for more than one start of every other run per free slot.
 */
struct td__pool {
	const struct td__driver *drv; /* NULL: virtual time on clock */
	void *drv_ctx;
	struct td__clock *clock;
	struct td__backend *backend[TD__KINDS]; /* by tool kind; a run's own one wins */
	unsigned limit, inflight;               /* jobs out of all runs; limit 0: none */
	/* Descriptors the jobs in flight hold (each its backend's fds_per_job), and at most how
	 * many (UINT64_MAX: no limit; exec sets it from RLIMIT_NOFILE), so a large -j waits
	 * instead of ending in EMFILE. */
	uint64_t fd_used, fd_room;
	uint32_t timers; /* timers the runs may arm at once (the clock's heap has room) */
	struct td_run *done_head, *done_tail; /* runs with completed jobs (done_next) */
	struct td__toollim *lims;             /* limited tools' budgets, by tool */
	uint64_t serials;                     /* runs joined so far */
	struct td_run *cursor; /* ring of runs (pool_next); the one the next round starts at */
	uint32_t nruns;
	/* the run that owns the pool (td_run_new()'s private host): freed with it */
	struct td_run *owner;
	void (*release)(struct td__pool *p);
};

struct td__given_stdin {
	const char *data;
	size_t len;
};

struct td_run {
	const struct td_plan *plan;
	const struct td_batch *batch;
	const struct td_graph *graph;
	struct td_run_opts opts;
	unsigned limit; /* global concurrency */
	uint64_t rng;

	struct td__clock *clock; /* the pool's: its driver's, or own_clock */
	struct td__clock own_clock;
	struct td__pool *pool; /* the host's, or own_pool */
	struct td__pool own_pool;
	struct td_run *pool_next, *pool_prev;
	struct td_run *done_next; /* in the pool's list of runs with completions */
	uint64_t serial;          /* tells runs on one pool apart, even at a reused address */
	int done_listed;
	struct td__backend *fake;               /* tests and simulation: every call goes here */
	struct td__backend *backend[TD__KINDS]; /* the run's own, by tool kind (freed with it) */

	struct td__callrun *calls; /* [ncalls] */
	struct td__toolrun *tools; /* [graph->ntools] */
	uint32_t *pending;         /* [nnodes]: predecessors not yet done */
	/* [nnodes]: the first failed call (lowest index) among the node's predecessors, barriers
	 * expanded, kept as failure propagates; TD__NONE while none failed. A skipped call
	 * names it, in O(1). */
	uint32_t *failed_pred;
	uint32_t *level_left; /* [nlevels]: calls of the level not yet done */
	uint32_t cur_level;

	uint32_t *ready; /* heap of call indices: by rank, then batch order */
	uint32_t nready;
	/* one call's dependencies, expanded (td__plan_deps) for its stdin envelope, and how many
	 * times a list was expanded in this run (tests: failures never cost an expansion) */
	uint32_t *deps;
	size_t deps_cap;
	uint64_t deps_expanded;
	/* the ready heap's order (prio.c), higher first: per node under critical, and under level
	 * when durations are known (else NULL: batch order); cost_us [ncalls] the host's
	 * durations (NULL: 1 per call under critical) */
	int64_t *rank;
	const int64_t *cost_us;
	/* [ncalls] or NULL (td__sched_learn()): each call's last attempt's time plus one, written
	 * as the call ends (while its state is in cache); 0 until then and for a call not ended
	 * ok (zeroed memory, the kernel's: no pass over 100,000 calls to fill it) */
	int64_t *took_us;

	/* [ncalls] or NULL: the stdin of a `stdin: envelope` call given whole instead of built
	 * here (a worker's run: the envelope its scheduler's message describes); data NULL for a
	 * call whose envelope is built here. The caller's, kept until the run is freed. */
	const struct td__given_stdin *given_stdin;

	struct td__job *free_jobs;                  /* pool */
	struct td__job *completed, *completed_tail; /* done() queue, handled by the scheduler */
	uint32_t inflight;                          /* jobs out (counts toward `limit`) */
	uint32_t ndone;
	/* calls in the order they finished, for td_run_next_finished(); next_finished is the
	 * first one the host has not pulled yet */
	uint32_t *finish_order, nfinished, next_finished;
	int started, cancelled;
	int64_t t0;    /* run start, monotonic us */
	int64_t t_end; /* last call's end, from t0 */

	/* every state change, as it happens (tests check the state machine with it); may be NULL.
	 * trace_to: a bit per state it wants to hear of changes to (0: all; the end-only
	 * observers want TD_CS_DONE alone, not four calls of the hook per call) */
	void (*trace)(void *ud, uint32_t call, enum td__cstate from, enum td__cstate to);
	void *trace_ud;
	unsigned trace_to;

	/* td_run_observe()'s observers (observe.c), fed from `trace`; NULL until the first */
	struct td__observers *obs;

	/* a run fed by a stream (feed.c), else NULL; open while the stream goes on: calls may
	 * still join, so the run is not finished even with every call it has done */
	struct td__feed *feed;
	int open;
};

/*
 * Starts per progress, then the loop runs: with 10,000 ready calls, starting them all before
 * looking at the clock would make the first ones' timers late by the time it takes to start
 * the last.
 */
#define TD_DISPATCH_BATCH 64

/* envelope.c */
/* A `stdin: envelope` call's stdin, built from its upstream calls' results (malloc'd, *len set);
 * NULL when out of memory. */
char *td__envelope(struct td_run *r, uint32_t c, size_t *len);
/* The stdin envelope up to its upstream list: {"id":ID,"name":NAME,"input":INPUT,"upstream":
 * (the list and the closing brace are the caller's). */
void td__envelope_head(struct td__buf *b, const char *id, const char *name, const char *input,
                       size_t input_len);

/* sched.c */
int td__sched_init(struct td_run *r);
void td__sched_fini(struct td_run *r);
void td__sched_begin(struct td_run *r);
/* Handles completed jobs and starts what the policy and limits allow; returns work done. */
int td__sched_progress(struct td_run *r);
/* The two halves: completed jobs only; then starts, at most max of them (*started says how
 * many; stale and skipped entries count as work, not as starts). */
int td__sched_complete(struct td_run *r);
int td__sched_dispatch(struct td_run *r, int max, int *started);
void td__sched_cancel(struct td_run *r);
void td__sched_cancel_call(struct td_run *r, uint32_t c);
int td__sched_finished(const struct td_run *r);
/* Ready calls and free slots: another td__sched_progress() would start something. */
int td__sched_can_start(const struct td_run *r);
/* Call durations ([ncalls], microseconds, kept by reference; NULL: unknown): critical ranks
 * calls by them (unknown: 1 per call), level starts the longest of a level first (unknown:
 * batch order). Call before the run starts; no effect under eager. 0 or TD_ENOMEM. */
int td__sched_set_costs(struct td_run *r, const int64_t *cost_us);
/* Before the run starts: it keeps r->took_us from now on (for the duration history, which
 * would otherwise read every call's state again at the end). 0 or TD_ENOMEM. */
int td__sched_learn(struct td_run *r);
/*
 * A run fed by a stream (feed.c). td__sched_grow(): room for ncalls calls, nnodes nodes and
 * nlevels levels (used: the calls in use, which keep their state; new ones wait); 0 or
 * TD_ENOMEM. td__sched_admit(): call c joined the open run and starts as soon as the limits
 * allow (start: nothing that may still arrive can precede it; it is in level 0) or waits for
 * the stream's end. td__sched_replan(): the stream ended and r->plan is the final plan (the
 * same calls first): dependencies and levels are counted anew over it, what finished tells
 * its successors, and what may start is released; 0 or TD_ENOMEM.
 */
int td__sched_grow(struct td_run *r, uint32_t used, uint32_t ncalls, uint32_t nnodes,
                   uint32_t nlevels);
/* Call c's state as a new run's (feed.c's td__sched_grow(), on room it added). */
void td__sched_init_call(struct td_run *r, uint32_t c);
void td__sched_admit(struct td_run *r, uint32_t c, int start);
int td__sched_replan(struct td_run *r);
/* feed.c: a stream's state for an open run (td_run_new_stream() sets r->feed to it and
 * r->open); the open plan the run is created over; when the stream ended (-1: not yet, or
 * not a streamed run). */
struct td__feed;
int td__feed_new(const struct td_graph *graph, enum td_dialect dialect, const char *name,
                 struct td__feed **out);
const struct td_plan *td__feed_plan(const struct td__feed *f);
void td__feed_free(struct td__feed *f);
int64_t td__feed_end_us(const struct td_run *r);
/* observe.c: the plan grew (room and level counts anew; old_ncalls: the calls it had), and
 * after td__sched_replan(), the level and run ends that the stream's end completed. */
int td__observe_grow(struct td_run *r, uint32_t old_ncalls);
void td__observe_settle(struct td_run *r);
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
/* The same for an observer of TD_EVENT_RUN_FINISHED alone: while every observer is one, the
 * run builds no event per state change (a recording costs only its line). */
int td__run_observe_end(struct td_run *r, td_observer_fn fn, void (*fini)(void *ud), void *ud);
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
 * run.c: a run on pool p (NULL: a pool of its own, no driver, no backend, virtual time).
 * Validates the plan (diag says why not).
 */
int td__run_create(const struct td_plan *plan, const struct td_run_opts *opts, struct td__pool *p,
                   struct td_run **out, struct td_diag *diag);
/* Hands r a backend of its own for tools of `kind` (r frees it); be->clock becomes r's. */
int td__run_set_backend(struct td_run *r, enum td__kind kind, struct td__backend *be);

/* pool.c */
void td__pool_init(struct td__pool *p, struct td__clock *clock);
/* Hands p the shared backend for tools of `kind` (freed by td__pool_fini()). */
void td__pool_set_backend(struct td__pool *p, enum td__kind kind, struct td__backend *be);
/* Frees the backends and the driver (no run is left on p). */
void td__pool_fini(struct td__pool *p);
/* The run joins / leaves p (its timers' room in the clock too); join: 0 or TD_ENOMEM. */
int td__pool_join(struct td__pool *p, struct td_run *r);
void td__pool_leave(struct td__pool *p, struct td_run *r);
/* r has a completed job to handle (sched.c's done(): its first one since the last look). */
void td__pool_note_done(struct td_run *r);
/* A slot or a token of lim is free: the next member with a parked call (in turns) gets it. */
void td__pool_lim_wake(struct td__toollim *lim);
/* sched.c: call c of r goes from PARKED back to the ready heap. */
void td__sched_unpark(struct td_run *r, struct td__toolrun *tr);
/* One turn of the driver, or of the clock alone (virtual time); count or -errno. */
int td__pool_turn(struct td__pool *p, int wait);
/* Completions of every run, then fair starts; returns work done. */
int td__pool_progress(struct td__pool *p);
/* Starts the runs not started yet, turns without blocking, hands the kernel what was queued:
 * 1 while a run of p has calls left, 0 when none has, or -errno. */
int td__pool_step(struct td__pool *p);
/* Milliseconds until p needs a step (0: now, -1: nothing to wait for), TD_ESTATE when calls
 * remain that nothing could ever finish. */
int td__pool_timeout(const struct td__pool *p);
/* Nothing on the driver, no timer, nothing to start, no completion, yet calls remain. */
int td__pool_stalled(const struct td__pool *p);
/* A run in virtual time, no driver, whose every call goes to `fake` (tests and simulation;
 * the caller keeps and frees fake). No ring, no process, no kernel timer: td_run_wait()
 * jumps the clock from deadline to deadline. */
int td__run_new_fake(const struct td_plan *plan, const struct td_run_opts *opts,
                     struct td__backend *fake, struct td_run **out, struct td_diag *diag);

#endif /* TD_RUN_H */

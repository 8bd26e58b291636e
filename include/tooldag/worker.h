/* SPDX-License-Identifier: MIT */
/*
 * tooldag/worker.h - workers that run the calls of `remote:` tools taken from Redis.
 *
 * Part of the public API: include <tooldag.h>, which includes this file.
 */
#ifndef TOOLDAG_WORKER_H
#define TOOLDAG_WORKER_H

#ifndef TOOLDAG_H
#error "include <tooldag.h>, not this file"
#endif

/* ---------------------------------------------------------------------------------------- */
/* Workers: the calls of `remote:` tools, taken from Redis and run here (`tooldag worker`)
 *
 *   1. td_worker_new() on a loaded graph: connects to Redis, joins the consumer group of each
 *      queue it serves (the queues of opts->tools, every remote tool's by default).
 *   2. td_worker_serve() takes calls, runs them with the normal run API (every tool kind, the
 *      graph's limits) at most opts->jobs at once, answers each, heartbeats what it holds,
 *      takes back calls from silent workers, and returns when stopped.
 *   3. td_worker_stop() (async-signal-safe: a signal handler may call it) asks it to drain
 *      (finish what it holds, take nothing new) or to cancel (give back what it holds, so the
 *      schedulers retry it elsewhere at once).
 * README "Redis" has the message layout and the delivery rules.
 */
struct td_worker;
struct td_worker_opts {
	const char *redis; /* URL (${VAR} expanded); NULL: the one every served tool names */
	const char *tools; /* "a,b": the tools to serve; NULL: every tool with `remote:` */
	unsigned jobs;     /* calls at once; 0: 4 */
	const char *name;  /* consumer name; NULL: "<host>:<pid>" */
	const struct td_functions *functions; /* for function: tools, borrowed */
	enum td_loop loop;
	int die_with_host; /* td_run_opts.die_with_host for the calls it runs */
};
struct td_worker_stats {
	uint64_t taken;     /* calls taken from the queues */
	uint64_t answered;  /* results sent */
	uint64_t reclaimed; /* calls taken back from silent workers (answered as lost) */
	uint64_t malformed; /* messages refused (bad layout, unknown or unserved tool, a cancel
	                       naming no call) */
	uint64_t expired;   /* calls whose deadline had passed before they could start */
	uint64_t cancelled; /* calls their scheduler cancelled: stopped, or never started */
};
/* 0, or TD_EINVAL / TD_EGRAPH / -errno with a diag line (bad URL, unknown tool, a tool without
 * `remote:`, Redis unreachable or refusing AUTH). The worker borrows the graph. */
TD_API int td_worker_new(const struct td_graph *graph, const struct td_worker_opts *opts,
                         struct td_worker **out, struct td_diag *diag);
/* Serves until td_worker_stop(): 0 after a drain, TD_ECANCELED after a cancel, or an error
 * (Redis unreachable for longer than its reconnection attempts) with a diag line. */
TD_API int td_worker_serve(struct td_worker *w, struct td_diag *diag);
#define TD_WORKER_DRAIN  1
#define TD_WORKER_CANCEL 2
TD_API void td_worker_stop(struct td_worker *w, int how);
TD_API const char *td_worker_name(const struct td_worker *w);
TD_API void td_worker_stats(const struct td_worker *w, struct td_worker_stats *out);
TD_API void td_worker_free(struct td_worker *w);

/*
 * The scheduler's side: the name of the worker that held the last attempt of a call of a
 * `remote:` tool (the one that answered it, or the one that lost it), valid until the run is
 * freed; NULL for a call that ran here, never went out, or was answered without a name.
 * td_result.queue_us of such a call is how long its attempts waited on the queue for a
 * worker (README "Redis": measured on the scheduler's clock alone).
 */
TD_API const char *td_run_result_worker(const struct td_run *run, size_t call);

#endif /* TOOLDAG_WORKER_H */

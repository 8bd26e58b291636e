/* SPDX-License-Identifier: MIT */
/*
 * backend.h - what the scheduler asks of a backend (internal): start a job, kill a job, and
 * a completion callback. Backends know jobs, not graphs: a job is one attempt of one call.
 *
 * Contract:
 *  - start() returns 0 and later calls be->done(be->ud, job) exactly once, or returns -errno
 *    and never calls done. done() may be called from inside start() (a backend that fails
 *    late, e.g. an exec error found after spawning, may still report it through done): the
 *    scheduler only queues the job there.
 *  - kill() asks a started job to end soon (SIGTERM, then SIGKILL after job->kill_grace_us;
 *    0: SIGKILL at once);
 *    done() still follows, the scheduler decides the final status. kill_now() is SIGKILL at
 *    once (used when the run is being freed).
 *  - The job record is the scheduler's; the backend fills the outcome fields before done().
 *  - Time: the scheduler's clock (be->clock) is the only one a backend may read or arm timers
 *    on; in a run with no loop it is virtual, and a backend that finishes jobs by timers on it
 *    runs without a kernel facility of any kind.
 *
 * The backends themselves live in exec (exec/backends.h); the scheduler knows only this.
 */
#ifndef TD_BACKEND_H
#define TD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "load/graph.h"
#include "run/clock.h"

struct td__backend;
struct td__loop; /* exec's event loop: opaque here */

struct td__job {
	/* set by the scheduler */
	uint32_t call;
	uint32_t attempt; /* 1-based */
	const char *id;   /* the call's id */
	const struct td_graph *graph;
	const struct td__tool *tool;
	const char *input; /* the call's input JSON */
	size_t input_len;
	const char *stdin_data; /* what to write to stdin (input or envelope) */
	size_t stdin_len;
	int64_t timeout_us; /* 0: none */
	int64_t kill_grace_us;
	struct td__backend *be;
	/* the run the call belongs to: backends shared by a host's runs reach the run's own
	 * settings through it (run/run.h); done() goes to it */
	struct td_run *run;
	const void **tool_cache; /* a slot per run and tool for the backend's own use */

	/* set by the backend before done() */
	enum td_status status; /* OK, ERROR or TIMEOUT */
	int exit_code;         /* -1 when none */
	int signal;            /* 0 when none */
	int http_status;       /* an HTTP tool's response status code; 0 when none */
	int truncated;
	int no_retry;           /* failed in a way a retry cannot fix (program not found) */
	int64_t retry_after_us; /* > 0: the server asked to wait this long before a retry */
	int64_t queue_us;       /* started but waiting inside the backend (a busy worker pool);
	                         * the job's timeout runs from the end of that wait */
	/* a remote tool's: the name of the worker that answered, or that held the call when it
	 * was lost; td__malloc'd or NULL; the scheduler takes it */
	char *worker;
	char *content; /* td__malloc'd, NUL-terminated; the scheduler takes it */
	size_t content_len;
	/* td__malloc'd JSON array of content blocks in Anthropic's form (text, image), or NULL:
	 * for the dialects that carry blocks, in place of content (MCP images) */
	char *blocks;

	/* backend-private */
	void *priv;
	struct td__timer timer;

	/* scheduler-private */
	struct td__job *next;
	int64_t start_us;
};

struct td__backend {
	int (*start)(struct td__backend *be, struct td__job *job);
	void (*kill)(struct td__backend *be, struct td__job *job);
	void (*kill_now)(struct td__backend *be, struct td__job *job);
	void (*free)(struct td__backend *be);
	/* set by the scheduler: done(ud, job) hands the job back to job->run */
	void (*done)(void *ud, struct td__job *job);
	void *ud;
	struct td__clock *clock; /* the runs' clock (every run on one host shares it) */
	/* the loop the backend's requests go to (set by its constructor; the scheduler never
	 * touches it) */
	struct td__loop *loop;
	/* Descriptors one job holds at most while in flight (a process: its pipes; an HTTP
	 * call: its socket and the resolver's), set by the constructor; 0: none. The scheduler
	 * holds jobs back while they would not fit in the descriptor budget. */
	unsigned fds_per_job;
};

/* A running job's progress, reported to the run's observers as a CALL_PROGRESS event
 * (run/observe.c); total 0: unknown; message borrowed for the call, or NULL. */
void td__job_progress(struct td__job *job, double progress, double total, const char *message);
/* Sets the job's content to a copy of s (len bytes) and its status; TD_ENOMEM leaves it NULL. */
int td__job_set_content(struct td__job *job, enum td_status status, const char *s, size_t len);

#endif /* TD_BACKEND_H */

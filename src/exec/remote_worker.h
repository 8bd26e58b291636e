/* SPDX-License-Identifier: MIT */
/*
 * remote_worker.h - the state of a worker (internal), shared by remote_worker.c (serving:
 * taking, running, answering, heartbeats, claims) and remote_worker_setup.c (the tools and
 * queues served, the connection to Redis).
 */
#ifndef TD_EXEC_REMOTE_WORKER_H
#define TD_EXEC_REMOTE_WORKER_H

#include <signal.h>
#include <stdatomic.h>

#include "exec/remote.h"
#include "run/run.h"
#include "load/graph.h"

#define DEFAULT_JOBS      4
#define MAX_RUNS          64
#define IDLE_BLOCK_MS     500  /* XREADGROUP BLOCK while nothing runs: how soon a stop is seen */
#define BUSY_FETCH_US     5000 /* while calls run and slots are free, how often to look for more */
#define CMD_TIMEOUT_MS    5000
#define DEADLINE_GRACE_MS 100
#define RECONNECT_TRIES   40  /* x 250ms: how long Redis may be away before the worker gives up */
#define CANCEL_RING       256 /* cancels of calls not held here, remembered */

struct wcall {
	char msgid[48];
	char token[48];
	char reply[160];
	uint32_t queue;
	int64_t deadline_ms; /* 0: none */
	int64_t start_us;
	bool cancelled_by_deadline;
	bool cancelled; /* by its scheduler (remote_cancel.c) */
	bool answered;
};

struct wrun {
	struct td_batch *batch;
	struct td_plan *plan;
	struct td_run *run;
	struct wcall *calls;
	struct td__given_stdin *given; /* [n]: the envelopes of `stdin: envelope` calls */
	size_t n, left;
};

struct wqueue {
	char key[128];
	int64_t claim_after_us;
	int64_t next_claim_us;
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "td_worker_stop() needs a lock-free int");

struct td_worker {
	const struct td_graph *g;
	struct td_worker_opts opts;
	struct td__redis_url url;
	redisContext *rc;
	redisContext *sub; /* subscribed to the cancel channels; NULL while lost */
	int64_t sub_retry_us;
	struct {
		char reply[160], token[48];
	} seen[CANCEL_RING]; /* the last cancels of calls not held here */
	unsigned seen_next;
	struct td_diag *diag; /* td_worker_serve()'s */
	struct td_host *host; /* every run of the worker on one loop */
	char name[128];
	char alive_key[192];
	char alive_token[128]; /* the liveness key's value: this worker's own, see claim_name */
	bool *served;          /* [ntools] */
	struct wqueue *queues;
	size_t nqueues;
	size_t next_queue; /* where the next fetch starts, when it cannot ask every queue */
	struct wrun runs[MAX_RUNS];
	unsigned held;
	int64_t beat_us, next_beat_us, next_fetch_us;
	/* TD_WORKER_DRAIN | TD_WORKER_CANCEL, set by td_worker_stop() from a signal handler or
	 * another thread: a lock-free atomic is safe from both */
	_Atomic int stop;
	struct td_worker_stats st;
	char err[512];
};

/* remote_worker_setup.c */
/* Connects (again) with AUTH and SELECT as the URL asks; 0 or -errno with w->err set. */
int td__worker_connect(struct td_worker *w);
/* The same for another connection of the worker's (*c freed first when set). */
int td__worker_open(struct td_worker *w, redisContext **c);
/* After a failed command: connects again (Redis restarting), for a few seconds at most. */
int td__worker_reconnect(struct td_worker *w);
/* Deletes the liveness key if it still is this worker's; true when nobody else holds it (the
 * name's consumers may then be deleted). False on a connection error too. */
bool td__worker_release_name(struct td_worker *w);
/* XGROUP CREATE for every queue served (an existing group is fine). */
int td__worker_join(struct td_worker *w);
/* One command (argv NUL-terminated when lens is NULL); NULL on a connection error (w->err). */
redisReply *td__worker_cmd(struct td_worker *w, int argc, const char **argv, const size_t *lens);
/* Index of the queue whose stream is key, or -1. */
int td__worker_queue(const struct td_worker *w, const char *key);

/* remote_cancel.c */
/* Opens the cancel subscription (SUBSCRIBE tooldag:cancel:QUEUE for each queue served). */
int td__cancel_subscribe(struct td_worker *w);
/* Its descriptor, to wait on, or -1 while it is lost. */
int td__cancel_fd(const struct td_worker *w);
/* Handles the cancels received (without blocking); a lost subscription is opened again. */
void td__cancel_read(struct td_worker *w);
/* Was the call cancelled before it was taken here? */
bool td__cancel_seen(const struct td_worker *w, const struct wcall *c);

#endif /* TD_EXEC_REMOTE_WORKER_H */

/* SPDX-License-Identifier: MIT */
/*
 * remote.h - tools on Redis workers (internal): the hiredis connection on the run's loop
 * (remote_conn.c), the backend that queues a remote tool's calls (remote.c) and what both
 * sides of the message layout share. The only header that includes hiredis, and only the
 * remote*.c files include it.
 *
 * Messages (README "Redis"; `v` is TD_REMOTE_VERSION in every one):
 *   a call,   XADD tooldag:queue:Q:  v call reply tool id input attempt deadline_ms timeout_ms
 *                                    [upstream: a `stdin: envelope` tool's]
 *   an answer, XADD <reply>:         v type=result call worker status exit_code signal
 *                                    truncated run_us content
 *   a loss,    XADD <reply>:         v type=lost call worker
 *   a cancel,  PUBLISH tooldag:cancel:Q  "v reply call"
 * `call` is the scheduler's token for one attempt ("<call index>.<attempt>"), `reply` its own
 * stream; deadline_ms is wall-clock milliseconds since the epoch (0: none).
 */
#ifndef TD_EXEC_REMOTE_H
#define TD_EXEC_REMOTE_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>

#include "exec/loop.h"
#include "load/remote.h"

struct td__lookup;
struct td__rpending;

/* PUBLISH TD_REMOTE_CANCEL_PREFIX QUEUE  "V REPLY CALL": the attempt CALL is cancelled */
#define TD_REMOTE_CANCEL_PREFIX "tooldag:cancel:"

struct td__rconn {
	redisAsyncContext *ac; /* NULL when closed (hiredis frees it) or the name is looked up */
	struct td__lookup *lookup; /* the host name being looked up (resolve.h), else NULL */
	struct td__rpending *pending, **pending_tail; /* commands queued during the lookup */
	int port;
	struct td__loop *loop;
	struct td__op op;
	struct td__timer flush;
	unsigned want, armed; /* POLLIN | POLLOUT */
	bool inflight, cancelling, busy, flushing, flush_queued, connected, closing;
	bool refused; /* the connection never came up: connect(2) failed (err says why) */
	/* connected (1) or closed or failed (0, err says why); set by the owner */
	void (*on_state)(struct td__rconn *c, int up);
	redisCallbackFn *on_auth; /* AUTH's and SELECT's replies (privdata: this record) */
	void *owner;
	char err[160]; /* why it failed or closed: hiredis's text, never the URL */
};

/* Connects (non-blocking) and queues AUTH and SELECT as the URL asks; 0 or -errno / TD_ENOMEM
 * with c->err set. c->on_state, on_auth and owner must be set before. A host name is looked
 * up first, off the loop (resolve.h), at every open; commands queued meanwhile are sent once
 * the connection exists. A lookup that fails drops them, their callbacks never run, and
 * on_state(c, 0) says why (c->err names the host). */
int td__rconn_open(struct td__rconn *c, struct td__loop *loop, const struct td__redis_url *u);
/* Connected, connecting or looking its host up: commands may be queued. */
static inline bool td__rconn_is_open(const struct td__rconn *c)
{
	return c->ac || c->lookup;
}
int td__rconn_hello(struct td__rconn *c, const struct td__redis_url *u);
/* Queues one command (argv with lens, or NUL-terminated when lens is NULL); sent at the end
 * of the loop turn with every other one queued in it (or once connected, during a lookup).
 * 0, -ENOTCONN or TD_ENOMEM. */
int td__rconn_cmd(struct td__rconn *c, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                  const size_t *lens);
/* Frees the connection (pending callbacks run with a NULL reply) and waits for its requests
 * on the loop to come back, so the record may be freed afterwards. */
void td__rconn_close(struct td__rconn *c);

/*
 * hiredis writes with write(2), which raises SIGPIPE when Redis has gone away; the library
 * never touches signal dispositions, so the calling thread blocks SIGPIPE around hiredis's
 * writes and consumes the one they raised (a SIGPIPE pending before is left alone).
 */
struct td__nopipe {
	sigset_t old;
	bool was_pending;
};
void td__nopipe_enter(struct td__nopipe *g);
void td__nopipe_leave(struct td__nopipe *g);

/* Wall-clock milliseconds since the epoch (the deadlines workers honour). */
int64_t td__wall_ms(void);

#endif /* TD_EXEC_REMOTE_H */

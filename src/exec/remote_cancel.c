/* SPDX-License-Identifier: MIT */
/*
 * remote_cancel.c - a worker's cancels: a connection of its own, subscribed to the cancel
 * channel of every queue it serves (tooldag:cancel:QUEUE), read without blocking between the
 * worker's commands (only when poll() says it has something).
 *
 * A cancel names one attempt, "V REPLY CALL" (the layout version, the scheduler's reply
 * stream, the attempt's token). The worker that holds it cancels it in its run (the process
 * group killed after the tool's kill grace, a function sees td_fn_call_cancelled()) and
 * answers and acknowledges it when it ends; every worker remembers the last cancels it saw,
 * so a call cancelled before any worker took it is acknowledged unstarted. Cancels are
 * fire-and-forget (PUBLISH): one lost while a worker was disconnected leaves the call to the
 * deadline it carries.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "exec/remote_worker.h"

#define SUB_RETRY_US (1000 * 1000) /* how often a lost subscription is opened again */

static void close_sub(struct td_worker *w)
{
	if (w->sub)
		redisFree(w->sub);
	w->sub = NULL;
	w->sub_retry_us = td__now_us() + SUB_RETRY_US;
}

int td__cancel_subscribe(struct td_worker *w)
{
	const char *argv[1 + 64];
	char ch[64][128];
	redisReply *r;
	size_t i;
	int err = td__worker_open(w, &w->sub);

	w->sub_retry_us = td__now_us() + SUB_RETRY_US;
	if (err) {
		close_sub(w);
		return err;
	}
	argv[0] = "SUBSCRIBE";
	for (i = 0; i < w->nqueues; i++) {
		snprintf(ch[i], sizeof(ch[i]), TD_REMOTE_CANCEL_PREFIX "%s",
		         w->queues[i].key + strlen(TD_REMOTE_QUEUE_PREFIX));
		argv[i + 1] = ch[i];
	}
	/* one confirmation per channel */
	redisAppendCommandArgv(w->sub, (int)w->nqueues + 1, argv, NULL);
	for (i = 0; i < w->nqueues; i++) {
		if (redisGetReply(w->sub, (void **)&r) != REDIS_OK) {
			snprintf(w->err, sizeof(w->err), "redis: SUBSCRIBE: %s", w->sub->errstr);
			close_sub(w);
			return -EIO;
		}
		err = r->type == REDIS_REPLY_ERROR;
		if (err)
			snprintf(w->err, sizeof(w->err), "redis: SUBSCRIBE: %.200s", r->str);
		freeReplyObject(r);
		if (err) {
			close_sub(w);
			return -EINVAL;
		}
	}
	return 0;
}

int td__cancel_fd(const struct td_worker *w)
{
	return w->sub ? w->sub->fd : -1;
}

static bool remembered(const struct td_worker *w, const char *reply, const char *token)
{
	size_t i;

	for (i = 0; i < CANCEL_RING; i++)
		if (!strcmp(w->seen[i].token, token) && !strcmp(w->seen[i].reply, reply))
			return true;
	return false;
}

bool td__cancel_seen(const struct td_worker *w, const struct wcall *c)
{
	return c->token[0] && remembered(w, c->reply, c->token);
}

/* The attempt a cancel names: cancelled if held here, else remembered. */
static void cancel(struct td_worker *w, const char *reply, const char *token)
{
	size_t i, k;

	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++) {
			struct wcall *c = &w->runs[i].calls[k];

			if (c->answered || c->cancelled || strcmp(c->token, token) ||
			    strcmp(c->reply, reply))
				continue;
			c->cancelled = true;
			w->st.cancelled++;
			td_run_cancel_call(w->runs[i].run, k);
			return;
		}
	if (remembered(w, reply, token))
		return;
	snprintf(w->seen[w->seen_next].reply, sizeof(w->seen[0].reply), "%s", reply);
	snprintf(w->seen[w->seen_next].token, sizeof(w->seen[0].token), "%s", token);
	w->seen_next = (w->seen_next + 1) % CANCEL_RING;
}

/* One message ["message", channel, "V REPLY CALL"]; an error phrase when it names nothing. */
static const char *on_message(struct td_worker *w, const redisReply *m)
{
	char reply[sizeof(w->seen[0].reply)], token[sizeof(w->seen[0].token)], v[8], extra;
	const char *s;

	if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
	    m->element[0]->type != REDIS_REPLY_STRING ||
	    m->element[2]->type != REDIS_REPLY_STRING || strcmp(m->element[0]->str, "message"))
		return NULL; /* not a message: a confirmation */
	s = m->element[2]->str;
	if (strlen(s) != m->element[2]->len ||
	    sscanf(s, "%7s %159s %47s %c", v, reply, token, &extra) != 3)
		return "it is not 'VERSION REPLY CALL'";
	if (strcmp(v, TD_REMOTE_VERSION))
		return "its layout version is not " TD_REMOTE_VERSION;
	if (strncmp(reply, TD_REMOTE_REPLY_PREFIX, strlen(TD_REMOTE_REPLY_PREFIX)))
		return "its reply stream is not " TD_REMOTE_REPLY_PREFIX "...";
	cancel(w, reply, token);
	return NULL;
}

void td__cancel_read(struct td_worker *w)
{
	struct pollfd pfd;
	redisReply *r;
	const char *why;

	if (!w->sub && (td__now_us() < w->sub_retry_us || td__cancel_subscribe(w)))
		return;
	pfd.fd = w->sub->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) == 1 && redisBufferRead(w->sub) != REDIS_OK) {
		close_sub(w); /* Redis went away: the main connection's reconnection says so */
		return;
	}
	while (redisGetReplyFromReader(w->sub, (void **)&r) == REDIS_OK && r) {
		if ((why = on_message(w, r))) {
			w->st.malformed++;
			td__diag_add(w->diag, TD_EINVAL, NULL, 0, 0,
			             "ignored a cancel on %.100s that names no call (%s): '%.80s'",
			             r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str
			                                                       : "?",
			             why, r->element[2]->str);
		}
		freeReplyObject(r);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * remote_conn.c - a hiredis asynchronous connection driven by the run's loop: hiredis's event
 * hooks (addRead, addWrite, ...) become one-shot polls on the loop, no thread and no blocking
 * call. A host name is looked up on a thread (resolve.h) and hiredis connects to the address
 * it gave; the name stays for messages.
 *
 *   - One poll per connection at a time (the loop's rule for a descriptor): it waits for what
 *     hiredis wants now; when hiredis wants more (a write while a read poll is out), the poll
 *     is cancelled and its completion (-ECANCELED) arms the new mask.
 *   - Writes of a connected socket do not wait for a poll: commands queued during a loop turn
 *     are flushed together once it ends (a deferred callback), which is the pipelining: one
 *     write for every XADD of a turn. Only a socket that takes less than that waits for POLLOUT.
 *   - hiredis frees its context when the connection fails or closes (cleanup hook); the record
 *     here lives on until its poll came back, since the loop holds a pointer to its op.
 *   - During the lookup there is no context yet: commands wait here, formatted, and go to
 *     hiredis in order once it exists (AUTH, SELECT and PING first, as queued by open).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "exec/remote.h"
#include "exec/resolve.h"

struct td__rpending {
	struct td__rpending *next;
	redisCallbackFn *fn;
	void *priv;
	char *cmd;
	int len;
};

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void conn_arm(struct td__rconn *c);

void td__nopipe_enter(struct td__nopipe *g)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
}

void td__nopipe_leave(struct td__nopipe *g)
{
	static const struct timespec now = {0, 0};
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&pipe, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void on_poll(struct td__op *op, int res)
{
	struct td__rconn *c = CONTAINER(op, struct td__rconn, op);
	struct td__nopipe g;

	c->inflight = c->cancelling = false;
	if (!c->ac || c->closing)
		return;
	if (res == -ECANCELED) {
		conn_arm(c);
		return;
	}
	c->busy = true;
	td__nopipe_enter(&g);
	if (res < 0 || (res & (POLLIN | POLLERR | POLLHUP)))
		redisAsyncHandleRead(c->ac);
	if (c->ac && (res < 0 || (res & (POLLOUT | POLLERR))))
		redisAsyncHandleWrite(c->ac);
	td__nopipe_leave(&g);
	c->busy = false;
	if (c->ac)
		conn_arm(c);
}

static void conn_arm(struct td__rconn *c)
{
	if (!c->ac || c->closing || c->busy)
		return;
	if (c->inflight) {
		if ((c->want & ~c->armed) && !c->cancelling &&
		    td__loop_cancel(c->loop, &c->op) == 0)
			c->cancelling = true;
		return;
	}
	if (c->want && td__loop_poll(c->loop, &c->op, c->ac->c.fd, c->want) == 0) {
		c->armed = c->want;
		c->inflight = true;
	}
}

static void on_flush(struct td__timer *t)
{
	struct td__rconn *c = CONTAINER(t, struct td__rconn, flush);
	struct td__nopipe g;

	c->flush_queued = false;
	if (!c->ac || c->closing)
		return;
	c->flushing = true;
	td__nopipe_enter(&g);
	redisAsyncHandleWrite(c->ac); /* delWrite when all went, else addWrite: a POLLOUT wait */
	td__nopipe_leave(&g);
	c->flushing = false;
	conn_arm(c);
}

static void ev_add_read(void *p)
{
	struct td__rconn *c = p;

	c->want |= POLLIN;
	conn_arm(c);
}

static void ev_del_read(void *p)
{
	((struct td__rconn *)p)->want &= ~(unsigned)POLLIN;
}

static void ev_add_write(void *p)
{
	struct td__rconn *c = p;

	if (c->connected && !c->flushing) {
		if (!c->flush_queued) {
			c->flush_queued = true;
			td__loop_defer(c->loop, &c->flush);
		}
		return;
	}
	c->want |= POLLOUT;
	conn_arm(c);
}

static void ev_del_write(void *p)
{
	((struct td__rconn *)p)->want &= ~(unsigned)POLLOUT;
}

/* hiredis is freeing the context (failed connect, disconnect, redisAsyncFree). */
static void ev_cleanup(void *p)
{
	struct td__rconn *c = p;

	c->ac = NULL;
	c->connected = false;
	c->want = 0;
	if (c->inflight && !c->cancelling && td__loop_cancel(c->loop, &c->op) == 0)
		c->cancelling = true;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct td__rconn *c = ac->ev.data;

	if (status == REDIS_OK)
		c->connected = true;
	else {
		snprintf(c->err, sizeof(c->err), "%s", ac->errstr);
		c->refused = true;
	}
	if (c->on_state)
		c->on_state(c, status == REDIS_OK);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct td__rconn *c = ac->ev.data;

	if (status != REDIS_OK)
		snprintf(c->err, sizeof(c->err), "%s",
		         ac->errstr[0] ? ac->errstr : "connection lost");
	else if (!c->err[0])
		snprintf(c->err, sizeof(c->err), "connection closed");
	c->connected = false;
	if (c->on_state && !c->closing)
		c->on_state(c, 0);
}

/* The commands queued during the lookup: to hiredis (ac set), or dropped. */
static int pending_flush(struct td__rconn *c)
{
	struct td__rpending *p;
	int rc = 0;

	while ((p = c->pending)) {
		c->pending = p->next;
		if (c->ac && !rc &&
		    redisAsyncFormattedCommand(c->ac, p->fn, p->priv, p->cmd, (size_t)p->len) !=
		        REDIS_OK)
			rc = TD_ENOMEM;
		redisFreeCommand(p->cmd);
		td__free(p);
	}
	c->pending_tail = &c->pending;
	return rc;
}

static int conn_attach(struct td__rconn *c, redisAsyncContext *ac)
{
	if (!ac)
		return TD_ENOMEM;
	if (ac->err) {
		snprintf(c->err, sizeof(c->err), "%s", ac->errstr);
		c->refused = true;
		redisAsyncFree(ac);
		return -ECONNREFUSED;
	}
	c->ac = ac;
	ac->ev.data = c;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	/* hiredis 0.14 marks a unix socket (and a TCP one whose connect went through at once)
	 * connected without calling the connect callback; else it waits for the connect through
	 * addWrite, asked before the hooks were set */
	c->connected = (ac->c.flags & REDIS_CONNECTED) != 0;
	ev_add_write(c);
	return 0;
}

static void on_resolved(void *priv, const char *addr, const char *why)
{
	struct td__rconn *c = priv;
	int rc;

	c->lookup = NULL;
	if (!addr) {
		snprintf(c->err, sizeof(c->err), "cannot resolve the host name: %.100s", why);
		rc = -EHOSTUNREACH;
	} else if (!(rc = conn_attach(c, redisAsyncConnect(addr, c->port))))
		rc = pending_flush(c);
	if (rc < 0) {
		pending_flush(c); /* no context: dropped */
		if (rc == TD_ENOMEM)
			snprintf(c->err, sizeof(c->err), "out of memory");
		if (c->ac) {
			bool up = (c->ac->c.flags & REDIS_CONNECTED) != 0;

			redisAsyncFree(c->ac);
			if (up)
				return; /* the disconnect callback said so */
		}
		if (c->on_state)
			c->on_state(c, 0);
	}
}

int td__rconn_open(struct td__rconn *c, struct td__loop *loop, const struct td__redis_url *u)
{
	int rc;

	c->loop = loop;
	c->flush.fn = on_flush;
	c->op.fn = on_poll;
	c->err[0] = '\0';
	c->connected = false;
	c->refused = false;
	c->port = u->port;
	c->pending_tail = &c->pending;
	if (u->path[0])
		rc = conn_attach(c, redisAsyncConnectUnix(u->path));
	else if (td__resolve_numeric(u->host))
		rc = conn_attach(c, redisAsyncConnect(u->host, u->port));
	else if ((rc = td__resolve_start(loop, u->host, on_resolved, c, &c->lookup)) < 0)
		snprintf(c->err, sizeof(c->err), "cannot resolve the host name: %s",
		         td_strerror(rc));
	return rc ? rc : td__rconn_hello(c, u);
}

/* AUTH, SELECT and PING go first: Redis answers in order, so a refusal is known before
 * anything else is sent. */
int td__rconn_hello(struct td__rconn *c, const struct td__redis_url *u)
{
	char db[16];
	const char *argv[3];
	int argc = 0;

	if (u->pass[0]) {
		argv[argc++] = "AUTH";
		if (u->user[0])
			argv[argc++] = u->user;
		argv[argc++] = u->pass;
		if (td__rconn_cmd(c, c->on_auth, c, argc, argv, NULL) < 0)
			return TD_ENOMEM;
	}
	if (u->db) {
		snprintf(db, sizeof(db), "%u", u->db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (td__rconn_cmd(c, c->on_auth, c, 2, argv, NULL) < 0)
			return TD_ENOMEM;
	}
	/* a server that wants a password the URL does not give answers NOAUTH here, before the
	 * first long command, which it would refuse as a protocol error and close */
	argv[0] = "PING";
	return td__rconn_cmd(c, c->on_auth, c, 1, argv, NULL) < 0 ? TD_ENOMEM : 0;
}

int td__rconn_cmd(struct td__rconn *c, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                  const size_t *lens)
{
	struct td__rpending *p;

	if (!c->ac && c->lookup) {
		if (!(p = td__calloc(1, sizeof(*p))))
			return TD_ENOMEM;
		if ((p->len = redisFormatCommandArgv(&p->cmd, argc, argv, lens)) < 0) {
			td__free(p);
			return TD_ENOMEM;
		}
		p->fn = fn;
		p->priv = priv;
		*c->pending_tail = p;
		c->pending_tail = &p->next;
		return 0;
	}
	if (!c->ac)
		return -ENOTCONN;
	return redisAsyncCommandArgv(c->ac, fn, priv, argc, argv, lens) == REDIS_OK ? 0 : TD_ENOMEM;
}

void td__rconn_close(struct td__rconn *c)
{
	int i;

	c->closing = true;
	td__resolve_cancel(c->lookup); /* the commands queued meanwhile are dropped */
	c->lookup = NULL;
	pending_flush(c);
	if (c->ac) {
		redisAsyncContext *ac = c->ac;

		redisAsyncFree(
		    ac); /* pending callbacks run with a NULL reply; cleanup clears c->ac */
	}
	/* The loop holds a pointer to the op while its poll is out, and to the flush while it is
	 * deferred: turn it until both came back. */
	for (i = 0; (c->inflight || c->flush_queued) && i < 1000; i++)
		if (td__loop_run(c->loop, 1) < 0)
			break;
}

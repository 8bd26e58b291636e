/* SPDX-License-Identifier: MIT */
/*
 * remote.c - the remote backend: a tool with `remote:` has each attempt of its calls queued
 * on its Redis stream (XADD) for `tooldag worker` processes to take, and the answers read back
 * from this run's own reply stream, all on the run's loop (remote_conn.c).
 *
 * Per Redis server two connections: one for commands (XADD, XDEL, XTRIM), pipelined, and one
 * that waits for answers (XREAD BLOCK), since a blocked command holds up everything after it
 * on the same connection.
 *
 * Rules (README "Redis"):
 *   - End-to-end timeout: the attempt's timer starts when it is queued, so a call no worker
 *     takes still times out on schedule; its message is then deleted (XDEL), and a worker that
 *     took it honours the deadline it carries.
 *   - An answer is matched to the attempt it names ("<call>.<attempt>"); an answer for an
 *     attempt that already ended (a duplicate, or one after a timeout) is counted and dropped.
 *   - A loss (a worker took a call back from a silent one) fails the attempt, naming the silent
 *     worker: the scheduler retries it if retries are left.
 *   - A cancelled attempt ends here at once; its message is withdrawn and a cancel naming it
 *     is published for the worker that may hold it (remote_kill()).
 *   - A lost connection: attempts still being queued fail; queued ones keep their timers, and
 *     the reader connects again every 250ms while attempts are out, from the last answer seen.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/backends.h"
#include "exec/remote.h"
#include "run/run.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define RECONNECT_US                 (250 * 1000)
#define READ_BLOCK_MS                1000
#define READ_COUNT                   "1024"
/* How long the reply stream outlives the last sign of this run (a dead scheduler's stream
 * then goes away; workers never recreate it: XADD NOMKSTREAM). While the run lives it is
 * refreshed every tenth of that, checked whenever an XREAD returns (XREAD blocks for at
 * most a tenth of it too, so attempts out keep it fresh) and before a call is queued. Test hook:
 * the environment variable TD_TEST_REDIS_REPLY_TTL_MS (read once per run) shortens it. */
#define REPLY_TTL_MS 600000
/* A worker's name kept for the report: as long as a worker's own (remote_worker.h) */
#define WORKER_NAME_MAX 127

struct server {
	struct remote_be *rb;
	struct td__redis_url url;
	struct td__rconn cmd, rd;
	char last_id[48]; /* the last answer read ("0-0": none yet) */
	uint32_t out;     /* attempts queued on this server and not ended */
	bool reading, deleted;
	int64_t ttl_at;
	struct td__timer reconnect;
	const struct td__remote *spec; /* the first remote: naming this server */
};

struct rjob {
	struct td__job *job;
	struct server *sv;
	char msgid[48]; /* the call's entry in its queue, "" until XADD answered */
	bool queued;
	int64_t sent_us; /* when it was queued, on the run's clock */
};

struct remote_be {
	struct td__backend be;
	const struct td_graph *g;
	struct server *servers; /* [g->nremotes]; remotes on the same URL share the first's */
	uint32_t *server_of;    /* remote index -> servers[] index */
	char reply[96];         /* this run's reply stream */
	struct rjob **by_call;  /* attempts out, by call index */
	size_t ncalls;
	uint64_t dropped;  /* answers for attempts no longer out (duplicates, late) */
	char ttl_ms[24];   /* the reply stream's expiry (PEXPIRE) */
	char block_ms[24]; /* XREAD BLOCK: READ_BLOCK_MS, or a tenth of a shorter expiry */
	int64_t ttl_refresh_us;
	bool closing;
};

int64_t td__wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct td__remote *spec_of(const struct remote_be *rb, const struct td__tool *t)
{
	return &rb->g->remotes[t->lim.remote - 1];
}

/* ---- ending an attempt ---- */

static void finish(struct remote_be *rb, struct rjob *rj)
{
	struct td__job *job = rj->job;

	td__clock_disarm(rb->be.clock, &job->timer);
	rb->by_call[job->call] = NULL;
	rj->sv->out--;
	job->priv = NULL;
	td__free(rj);
	rb->be.done(rb->be.ud, job);
}

static void fail(struct remote_be *rb, struct rjob *rj, enum td_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct remote_be *rb, struct rjob *rj, enum td_status st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	td__job_set_content(rj->job, st, msg,
	                    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	finish(rb, rj);
}

/* The attempt named by a token or privdata, if it is still out. */
static struct rjob *lookup(struct remote_be *rb, uint64_t call, uint64_t attempt)
{
	struct rjob *rj = call < rb->ncalls ? rb->by_call[call] : NULL;

	return rj && rj->job->attempt == attempt ? rj : NULL;
}

static void *pack(const struct td__job *job)
{
	return (void *)(uintptr_t)(((uint64_t)job->call << 8) | (job->attempt & 0xff));
}

static struct rjob *unpack(struct remote_be *rb, void *p)
{
	uint64_t v = (uintptr_t)p;

	return lookup(rb, v >> 8, v & 0xff);
}

static void drop_msg(struct remote_be *rb, struct rjob *rj)
{
	const char *argv[3] = {"XDEL", NULL, rj->msgid};
	char key[128];

	if (!rj->msgid[0])
		return;
	snprintf(key, sizeof(key), TD_REMOTE_QUEUE_PREFIX "%s", spec_of(rb, rj->job->tool)->queue);
	argv[1] = key;
	td__rconn_cmd(&rj->sv->cmd, NULL, NULL, 3, argv, NULL);
}

/* How messages name the server: its socket's path, or HOST:PORT */
static const char *server_addr(const struct server *sv, char *buf, size_t n)
{
	if (sv->url.path[0])
		return sv->url.path;
	snprintf(buf, n, "%s:%d", sv->url.host, sv->url.port);
	return buf;
}

static void fail_server(struct server *sv, bool queued_too, const char *why)
{
	struct remote_be *rb = sv->rb;
	size_t i;

	for (i = 0; i < rb->ncalls; i++) {
		struct rjob *rj = rb->by_call[i];

		if (rj && rj->sv == sv && (queued_too || !rj->queued))
			fail(rb, rj, TD_STATUS_ERROR, "redis: %s", why);
	}
}

/* ---- answers ---- */

struct answer {
	const char *v, *type, *call, *worker, *status, *exit_code, *signal, *truncated, *content,
	    *reason, *run_us, *held_us;
	size_t content_len;
};

static void answer_fields(const redisReply *kv, struct answer *a)
{
	static const char *const names[] = {"v",       "type",      "call",   "worker",
	                                    "status",  "exit_code", "signal", "truncated",
	                                    "content", "reason",    "run_us", "held_us"};
	const char **slot[] = {&a->v,       &a->type,      &a->call,   &a->worker,
	                       &a->status,  &a->exit_code, &a->signal, &a->truncated,
	                       &a->content, &a->reason,    &a->run_us, &a->held_us};
	size_t i, k;

	memset(a, 0, sizeof(*a));
	for (i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2) {
		const redisReply *f = kv->element[i], *v = kv->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		for (k = 0; k < TD__ARRAY_SIZE(names); k++)
			if (!strcmp(f->str, names[k])) {
				*slot[k] = v->str;
				if (k == 8)
					a->content_len = v->len;
			}
	}
}

static int status_of(const char *s, enum td_status *st)
{
	if (!s)
		return -1;
	if (!strcmp(s, "ok"))
		*st = TD_STATUS_OK;
	else if (!strcmp(s, "error") || !strcmp(s, "cancelled"))
		*st = TD_STATUS_ERROR;
	else if (!strcmp(s, "timeout"))
		*st = TD_STATUS_TIMEOUT;
	else
		return -1;
	return 0;
}

/* A count of microseconds as a worker wrote it, or -1 (absent or not a decimal number). */
static int64_t micros(const char *s)
{
	long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	return *end || errno ? -1 : (int64_t)v;
}

/* The attempt's wait for a worker, measured on this clock alone: from queueing to the answer,
 * minus what the worker says it held the call (held_us), or ran it (run_us, from a worker
 * that does not say held_us); the whole time when it says neither. Never below 0. The clock
 * is read afresh: completions run before the loop refreshes it after a wait. */
static int64_t queue_wait(struct remote_be *rb, const struct rjob *rj, const struct answer *a)
{
	int64_t spent = micros(a->held_us), wait;

	if (spent < 0)
		spent = micros(a->run_us);
	wait = td__clock_update(rb->be.clock) - rj->sent_us - (spent > 0 ? spent : 0);
	return wait > 0 ? wait : 0;
}

static void on_result(struct remote_be *rb, struct rjob *rj, const struct answer *a)
{
	struct td__job *job = rj->job;
	enum td_status st;

	if (status_of(a->status, &st) < 0 || !a->content) {
		fail(rb, rj, TD_STATUS_ERROR, "malformed answer from worker %s: %s", a->worker,
		     !a->content ? "no content" : "unknown status");
		return;
	}
	job->exit_code = a->exit_code ? (int)strtol(a->exit_code, NULL, 10) : -1;
	job->signal = a->signal ? (int)strtol(a->signal, NULL, 10) : 0;
	job->truncated = a->truncated && !strcmp(a->truncated, "1");
	job->queue_us = queue_wait(rb, rj, a);
	td__job_set_content(job, st, a->content, a->content_len);
	finish(rb, rj);
}

static void on_answer(struct remote_be *rb, const redisReply *kv)
{
	struct answer a;
	struct rjob *rj;
	unsigned long long call, attempt;
	char *end;

	answer_fields(kv, &a);
	if (!a.v || strcmp(a.v, TD_REMOTE_VERSION) || !a.call || !a.type)
		return; /* another version's, or not ours to read (the stream's first entry) */
	call = strtoull(a.call, &end, 10);
	attempt = *end == '.' ? strtoull(end + 1, &end, 10) : 0;
	if (*end || !(rj = lookup(rb, call, attempt))) {
		rb->dropped++;
		return;
	}
	if (a.worker && !rj->job->worker)
		rj->job->worker = td__strndup(a.worker, strnlen(a.worker, WORKER_NAME_MAX));
	if (!a.worker)
		a.worker = "(unnamed)";
	if (!strcmp(a.type, "result"))
		on_result(rb, rj, &a);
	else if (!strcmp(a.type, "lost") && a.reason && !strcmp(a.reason, "interrupted"))
		fail(rb, rj, TD_STATUS_ERROR,
		     "lost: worker %s was interrupted while it held this call", a.worker);
	else if (!strcmp(a.type, "lost"))
		fail(rb, rj, TD_STATUS_ERROR,
		     "lost: worker %s took this call and fell silent for claim_after (%" PRId64
		     "ms); another worker took it back",
		     a.worker, spec_of(rb, rj->job->tool)->claim_after_us / 1000);
	else
		fail(rb, rj, TD_STATUS_ERROR, "malformed answer from worker %s: type '%.32s'",
		     a.worker, a.type);
}

static void read_more(struct server *sv);

static void create_reply(struct server *sv);

/* The reply stream's expiry, pushed back while the run lives; XADD of an "open" entry also
 * recreates the stream if it went away (Redis flushed, or restarted without AOF). */
static void refresh_reply(struct server *sv)
{
	if (td__rconn_is_open(&sv->cmd) && td__clock_now(sv->rb->be.clock) >= sv->ttl_at)
		create_reply(sv);
}

static void on_xread(redisAsyncContext *ac, void *r, void *priv)
{
	struct server *sv = priv;
	const redisReply *reply = r, *entries;
	size_t i;

	(void)ac;
	sv->reading = false;
	if (!reply || sv->rb->closing)
		return; /* closed: on_state reconnects */
	if (reply->type == REDIS_REPLY_ERROR) {
		fail_server(sv, true, reply->str);
		return;
	}
	refresh_reply(sv); /* an answer, or block_ms without one */
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
	    reply->element[0]->elements == 2) {
		entries = reply->element[0]->element[1];
		for (i = 0; i < entries->elements; i++) {
			const redisReply *e = entries->element[i];

			if (e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			snprintf(sv->last_id, sizeof(sv->last_id), "%s", e->element[0]->str);
			on_answer(sv->rb, e->element[1]);
		}
		td__rconn_cmd(&sv->cmd, NULL, NULL, 4,
		              (const char *[]){"XTRIM", sv->rb->reply, "MINID", sv->last_id}, NULL);
	}
	read_more(sv);
}

/* XREAD waits on its own connection while attempts are out. */
static void read_more(struct server *sv)
{
	const char *argv[] = {"XREAD",          "COUNT",   READ_COUNT,    "BLOCK",
	                      sv->rb->block_ms, "STREAMS", sv->rb->reply, sv->last_id};

	if (sv->reading || !td__rconn_is_open(&sv->rd) || !sv->out)
		return;
	if (td__rconn_cmd(&sv->rd, on_xread, sv, 8, argv, NULL) == 0)
		sv->reading = true;
}

/* ---- connections ---- */

static void on_auth(redisAsyncContext *ac, void *r, void *priv)
{
	struct td__rconn *c = priv;
	struct server *sv = c->owner;
	const redisReply *reply = r;
	char why[200];

	(void)ac;
	if (!reply || reply->type != REDIS_REPLY_ERROR || sv->rb->closing)
		return;
	/* WRONGPASS, NOAUTH, ERR DB index out of range: nothing on this server can work */
	snprintf(why, sizeof(why), "the server refused the connection: %.150s", reply->str);
	fail_server(sv, true, why);
}

static void server_open(struct server *sv);

static void on_reconnect(struct td__timer *t)
{
	struct server *sv = CONTAINER(t, struct server, reconnect);

	if (sv->out && !sv->rb->closing)
		server_open(sv);
}

static void on_state(struct td__rconn *c, int up)
{
	struct server *sv = c->owner;
	char why[400], addr[300];

	if (up || sv->rb->closing)
		return;
	if (c->refused)
		snprintf(why, sizeof(why), "cannot connect to %.200s: %.150s",
		         server_addr(sv, addr, sizeof(addr)), c->err);
	else
		snprintf(why, sizeof(why), "%.150s (%.200s)", c->err,
		         sv->url.path[0] ? sv->url.path : sv->url.host);
	/* attempts not yet on the queue are lost with the connection; queued ones wait for
	 * their answer on the next connection, within their timeout */
	if (c == &sv->cmd)
		fail_server(sv, false, why);
	sv->reading = false;
	if (sv->out && !sv->reconnect.slot)
		td__clock_arm(sv->rb->be.clock, &sv->reconnect,
		              td__clock_now(sv->rb->be.clock) + RECONNECT_US);
}

/* Workers answer with XADD NOMKSTREAM, so the stream must exist before the first call. */
static void create_reply(struct server *sv)
{
	const char *add[] = {"XADD", sv->rb->reply, "*", "v", TD_REMOTE_VERSION, "type", "open"};
	const char *ttl[3] = {"PEXPIRE", sv->rb->reply, sv->rb->ttl_ms};

	td__rconn_cmd(&sv->cmd, NULL, NULL, 7, add, NULL);
	td__rconn_cmd(&sv->cmd, NULL, NULL, 3, ttl, NULL);
	sv->ttl_at = td__clock_now(sv->rb->be.clock) + sv->rb->ttl_refresh_us;
}

static void server_open(struct server *sv)
{
	struct td__rconn *c[2] = {&sv->cmd, &sv->rd};
	int i;

	for (i = 0; i < 2; i++) {
		if (td__rconn_is_open(c[i]))
			continue;
		c[i]->owner = sv;
		c[i]->on_state = on_state;
		c[i]->on_auth = on_auth;
		c[i]->closing = false;
		if (td__rconn_open(c[i], sv->rb->be.loop, &sv->url) < 0) {
			on_state(c[i], 0);
			return;
		}
		if (i == 0)
			create_reply(sv);
	}
	read_more(sv);
}

/* ---- the backend ---- */

static void on_added(redisAsyncContext *ac, void *r, void *priv)
{
	struct server *sv = ((struct td__rconn *)ac->ev.data)->owner;
	struct remote_be *rb = sv->rb;
	const redisReply *reply = r;
	struct rjob *rj;

	if (rb->closing || !(rj = unpack(rb, priv)))
		return;
	if (!reply)
		fail(rb, rj, TD_STATUS_ERROR,
		     "redis: connection lost before the call was queued: %s",
		     ac->errstr[0] ? ac->errstr : "closed");
	else if (reply->type == REDIS_REPLY_ERROR)
		fail(rb, rj, TD_STATUS_ERROR, "redis: queueing the call failed: %.200s",
		     reply->str);
	else if (reply->type == REDIS_REPLY_STRING) {
		snprintf(rj->msgid, sizeof(rj->msgid), "%s", reply->str);
		rj->queued = true;
	}
}

static void on_timeout(struct td__timer *t)
{
	struct td__job *job = CONTAINER(t, struct td__job, timer);
	struct remote_be *rb = (struct remote_be *)job->be;
	struct rjob *rj = job->priv;
	char dur[32];

	drop_msg(rb, rj);
	td__format_duration(job->timeout_us, dur, sizeof(dur));
	fail(rb, rj, TD_STATUS_TIMEOUT, "timed out after %s: no answer from queue '%s'", dur,
	     spec_of(rb, job->tool)->queue);
}

static int grow(struct remote_be *rb, uint32_t call)
{
	size_t n = rb->ncalls ? rb->ncalls : 64;
	struct rjob **p;

	while (n <= call)
		n *= 2;
	if (n == rb->ncalls)
		return 0;
	p = td__reallocarray(rb->by_call, n, sizeof(*p));
	if (!p)
		return TD_ENOMEM;
	memset(p + rb->ncalls, 0, (n - rb->ncalls) * sizeof(*p));
	rb->by_call = p;
	rb->ncalls = n;
	return 0;
}

/* The upstream list of a `stdin: envelope` call: its envelope, as the run built it, after the
 * head that its id, tool and input make. NULL when the envelope is not laid out so. */
static const char *upstream_of(const struct td__job *job, size_t *len)
{
	struct td__buf b = {0};
	const char *up = NULL;

	td__envelope_head(&b, job->id, job->tool->name, job->input, job->input_len);
	if (!b.oom && job->stdin_len > b.len + 1 && !memcmp(job->stdin_data, b.data, b.len) &&
	    job->stdin_data[job->stdin_len - 1] == '}') {
		up = job->stdin_data + b.len;
		*len = job->stdin_len - b.len - 1;
	}
	td__buf_free(&b);
	return up;
}

/* XADD the call: its layout is README "Redis" (and remote.h). */
static int queue_call(struct remote_be *rb, struct rjob *rj)
{
	const struct td__job *job = rj->job;
	char key[128], tok[48], att[16], dl[24], tmo[24];
	const char *argv[] = {"XADD",        key,
	                      "MAXLEN",      "~",
	                      "1000000",     "*",
	                      "v",           TD_REMOTE_VERSION,
	                      "call",        tok,
	                      "reply",       rb->reply,
	                      "tool",        job->tool->name,
	                      "id",          job->id,
	                      "input",       job->input,
	                      "attempt",     att,
	                      "deadline_ms", dl,
	                      "timeout_ms",  tmo,
	                      "upstream",    NULL};
	size_t lens[TD__ARRAY_SIZE(argv)], i, argc = TD__ARRAY_SIZE(argv) - 2, up_len = 0;

	snprintf(key, sizeof(key), TD_REMOTE_QUEUE_PREFIX "%s", spec_of(rb, job->tool)->queue);
	snprintf(tok, sizeof(tok), "%" PRIu32 ".%" PRIu32, job->call, job->attempt);
	snprintf(att, sizeof(att), "%" PRIu32, job->attempt);
	snprintf(dl, sizeof(dl), "%" PRId64,
	         job->timeout_us > 0 ? td__wall_ms() + job->timeout_us / 1000 : 0);
	snprintf(tmo, sizeof(tmo), "%" PRId64, job->timeout_us / 1000);
	if (job->tool->stdin_mode == TD_STDIN_ENVELOPE) {
		if (!(argv[argc + 1] = upstream_of(job, &up_len)))
			return TD_EINVAL;
		argc += 2;
	}
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	lens[17] = job->input_len;
	if (argc == TD__ARRAY_SIZE(argv))
		lens[argc - 1] = up_len;
	return td__rconn_cmd(&rj->sv->cmd, on_added, pack(job), (int)argc, argv, lens);
}

static int remote_start(struct td__backend *be, struct td__job *job)
{
	struct remote_be *rb = (struct remote_be *)be;
	uint32_t ri = job->tool->lim.remote - 1;
	struct server *sv = &rb->servers[rb->server_of[ri]];
	struct rjob *rj;
	int err;

	if (grow(rb, job->call) < 0 || !(rj = td__calloc(1, sizeof(*rj))))
		return TD_ENOMEM;
	if (!td__rconn_is_open(&sv->cmd))
		server_open(sv); /* may fail attempts out on sv: before this one is among them */
	else
		refresh_reply(sv); /* the stream may have been idle since the last level */
	rj->job = job;
	rj->sv = sv;
	job->priv = rj;
	job->timer.fn = on_timeout;
	job->exit_code = -1;
	rb->by_call[job->call] = rj;
	sv->out++;
	err = td__rconn_is_open(&sv->cmd) ? queue_call(rb, rj) : -ENOTCONN;
	if (err == TD_EINVAL) {
		fail(rb, rj, TD_STATUS_ERROR,
		     "cannot queue the call: its stdin envelope has an unexpected layout");
		return 0;
	}
	if (err < 0) {
		char addr[300];

		if (!sv->cmd.refused && sv->cmd.err[0]) /* the host name's lookup failed */
			fail(rb, rj, TD_STATUS_ERROR, "redis: %s (%s)", sv->cmd.err, sv->url.host);
		else
			fail(rb, rj, TD_STATUS_ERROR, "redis: cannot connect to %s: %s",
			     server_addr(sv, addr, sizeof(addr)),
			     sv->cmd.err[0] ? sv->cmd.err : "out of memory");
		return 0;
	}
	rj->sent_us = td__clock_now(be->clock);
	if (job->timeout_us > 0)
		td__clock_arm(be->clock, &job->timer, rj->sent_us + job->timeout_us);
	read_more(sv);
	return 0;
}

/* A cancel reaches the worker that holds the attempt (PUBLISH on its queue's cancel channel:
 * remote_cancel.c), after its message is withdrawn; the attempt ends here at once, and the
 * worker's answer, if any, is dropped. A cancel lost on the way leaves the deadline. */
static void remote_kill(struct td__backend *be, struct td__job *job)
{
	struct remote_be *rb = (struct remote_be *)be;
	struct rjob *rj = job->priv;
	char ch[128], msg[sizeof(rb->reply) + 48];
	const char *argv[3] = {"PUBLISH", ch, msg};

	if (!rj)
		return;
	drop_msg(rb, rj);
	snprintf(ch, sizeof(ch), TD_REMOTE_CANCEL_PREFIX "%s", spec_of(rb, job->tool)->queue);
	snprintf(msg, sizeof(msg), TD_REMOTE_VERSION " %s %" PRIu32 ".%" PRIu32, rb->reply,
	         job->call, job->attempt);
	td__rconn_cmd(&rj->sv->cmd, NULL, NULL, 3, argv, NULL);
	fail(rb, rj, TD_STATUS_ERROR, "cancelled");
}

static void on_deleted(redisAsyncContext *ac, void *r, void *priv)
{
	(void)ac;
	(void)r;
	((struct server *)priv)->deleted = true;
}

static void on_give_up(struct td__timer *t)
{
	(void)t; /* only wakes the loop */
}

/* The reply streams go with the run: DEL, and the loop turned until Redis said so (or for
 * 200ms at most; then the stream is left to its TTL). Closing a socket with an answer unread
 * may reset it before Redis has read the DEL. */
static void drop_replies(struct remote_be *rb)
{
	const char *argv[] = {"DEL", rb->reply};
	struct td__timer t = {.fn = on_give_up};
	int64_t until = td__clock_now(rb->be.clock) + 200000;
	size_t i, waiting = 0;

	for (i = 0; i < rb->g->nremotes; i++) {
		struct server *sv = &rb->servers[i];

		if (rb->server_of[i] == i && sv->cmd.connected &&
		    td__rconn_cmd(&sv->cmd, on_deleted, sv, 2, argv, NULL) == 0)
			waiting++;
	}
	if (!waiting || td__clock_arm(rb->be.clock, &t, until) < 0)
		return;
	while (waiting && td__clock_now(rb->be.clock) < until && td__loop_run(rb->be.loop, 1) >= 0)
		for (i = waiting = 0; i < rb->g->nremotes; i++)
			waiting += rb->server_of[i] == i && rb->servers[i].cmd.ac &&
			           !rb->servers[i].deleted;
	td__clock_disarm(rb->be.clock, &t);
}

static void remote_free(struct td__backend *be)
{
	struct remote_be *rb = (struct remote_be *)be;
	size_t i;

	rb->closing = true;
	drop_replies(rb);
	for (i = 0; i < rb->g->nremotes; i++) {
		struct server *sv = &rb->servers[i];

		if (rb->server_of[i] != i)
			continue;
		td__clock_disarm(be->clock, &sv->reconnect);
		td__rconn_close(&sv->cmd);
		td__rconn_close(&sv->rd);
	}
	td__free(rb->by_call);
	td__free(rb->servers);
	td__free(rb->server_of);
	td__free(rb);
}

static void reply_name(struct remote_be *rb)
{
	static unsigned long counter;
	char host[64] = "host";
	unsigned long n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(rb->reply, sizeof(rb->reply), TD_REMOTE_REPLY_PREFIX "%.40s:%ld:%lx:%lu", host,
	         (long)getpid(), (unsigned long)(td__now_us() & 0xffffffff), n);
}

static int servers_init(struct remote_be *rb)
{
	const struct td_graph *g = rb->g;
	char why[200];
	size_t i, j;

	rb->servers = td__calloc(g->nremotes ? g->nremotes : 1, sizeof(*rb->servers));
	rb->server_of = td__calloc(g->nremotes ? g->nremotes : 1, sizeof(*rb->server_of));
	if (!rb->servers || !rb->server_of)
		return TD_ENOMEM;
	for (i = 0; i < g->nremotes; i++) {
		struct server *sv = &rb->servers[i];

		for (j = 0; j < i && strcmp(g->remotes[j].url, g->remotes[i].url); j++)
			;
		rb->server_of[i] = (uint32_t)j;
		if (j < i)
			continue;
		if (td__redis_url_parse(g->remotes[i].url, &sv->url, why, sizeof(why)) < 0)
			return TD_EINVAL; /* the loader checked it: a graph loaded with ${VAR} kept
			                   */
		sv->rb = rb;
		sv->spec = &g->remotes[i];
		snprintf(sv->last_id, sizeof(sv->last_id), "0-0");
		sv->reconnect.fn = on_reconnect;
	}
	return 0;
}

static void reply_ttl(struct remote_be *rb)
{
	const char *s = getenv("TD_TEST_REDIS_REPLY_TTL_MS");
	char *end;
	long long ms = s ? strtoll(s, &end, 10) : 0;

	if (!s || *end || ms < 100 || ms > REPLY_TTL_MS)
		ms = REPLY_TTL_MS;
	snprintf(rb->ttl_ms, sizeof(rb->ttl_ms), "%lld", ms);
	rb->ttl_refresh_us = ms * 100; /* a tenth, in microseconds */
	snprintf(rb->block_ms, sizeof(rb->block_ms), "%lld",
	         ms / 10 < READ_BLOCK_MS ? ms / 10 : (long long)READ_BLOCK_MS);
}

int td__remote_backend_new(struct td__loop *loop, const struct td_graph *g,
                           struct td__backend **out)
{
	struct remote_be *rb = td__calloc(1, sizeof(*rb));
	int err;

	*out = NULL;
	if (!rb)
		return TD_ENOMEM;
	rb->g = g;
	rb->be.loop = loop;
	rb->be.start = remote_start;
	rb->be.kill = remote_kill;
	rb->be.kill_now = remote_kill;
	rb->be.free = remote_free;
	rb->be.fds_per_job = 0; /* two connections per server, whatever the number of calls */
	reply_ttl(rb);
	reply_name(rb);
	err = servers_init(rb);
	if (err) {
		td__free(rb->servers);
		td__free(rb->server_of);
		td__free(rb);
		return err;
	}
	*out = &rb->be;
	return 0;
}

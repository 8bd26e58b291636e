/* SPDX-License-Identifier: MIT */
/*
 * remote_worker.c - td_worker_*: `tooldag worker`, the other side of the remote backend. It
 * takes calls from the queues it serves (XREADGROUP in the group "tooldag"), runs them with
 * the normal run API, answers on each call's reply stream and acknowledges (XACK, XDEL).
 *
 * The worker is its own process and talks to Redis with blocking commands (hiredis's
 * synchronous API, with timeouts); its calls run meanwhile on their runs' loops, which it
 * steps between commands. Calls taken together become one run per tool: calls of one tool
 * have no tool-level dependency among themselves, and the scheduler has already waited for
 * the others.
 *
 * Delivery rules (README "Redis"):
 *   - Heartbeat: every claim_after/3 the worker resets the idle time of what it holds
 *     (XCLAIM ... JUSTID to itself) and refreshes its liveness key (PX 3 heartbeats).
 *   - Claims: every claim_after/2 it looks for calls idle for claim_after (XPENDING IDLE)
 *     held by a worker whose liveness key is gone, takes them (XCLAIM: only one worker wins)
 *     and answers them as lost, naming that worker: never a silent second run. The scheduler
 *     decides about a retry.
 *   - Deadlines: a call whose deadline has passed is not started (acknowledged, not answered:
 *     its scheduler has timed it out); one that is running when it passes is cancelled.
 *   - Cancels: a call its scheduler cancelled is stopped, or acknowledged unstarted
 *     (remote_cancel.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "exec/remote_worker.h"

/* ---- answers ---- */

static void ack(struct td_worker *w, const struct wcall *c)
{
	const char *xack[] = {"XACK", w->queues[c->queue].key, TD_REMOTE_GROUP, c->msgid};
	const char *xdel[] = {"XDEL", w->queues[c->queue].key, c->msgid};

	redisAppendCommandArgv(w->rc, 4, xack, NULL);
	redisAppendCommandArgv(w->rc, 3, xdel, NULL);
}

/* Appends XADD (answer), XACK and XDEL: three replies to read (flush()). A result says how
 * long the call ran (run_us) and how long this worker held it, from the moment it was taken
 * to this answer (held_us): the scheduler subtracts that from the time it waited for the
 * answer to get the queue wait, without comparing this host's clock with its own. */
static void append_answer(struct td_worker *w, const struct wcall *c, const char *type,
                          const char *who, const struct td_result *res, const char *reason)
{
	char ec[16], sig[16], us[24], held[24], late[200];
	const char *argv[32] = {"XADD",   c->reply, "NOMKSTREAM", "MAXLEN",          "~",
	                        "100000", "*",      "v",          TD_REMOTE_VERSION, "type",
	                        type,     "call",   c->token,     "worker",          who};
	size_t lens[32], i, n = 15;

	if (reason) {
		argv[n++] = "reason";
		argv[n++] = reason;
	}
	if (res) {
		snprintf(ec, sizeof(ec), "%d", res->exit_code);
		snprintf(sig, sizeof(sig), "%d", res->signal);
		snprintf(us, sizeof(us), "%" PRId64, res->end_us - res->start_us);
		argv[n++] = "status";
		argv[n++] = c->cancelled_by_deadline ? "timeout" : td_status_name(res->status);
		argv[n++] = "exit_code";
		argv[n++] = ec;
		argv[n++] = "signal";
		argv[n++] = sig;
		argv[n++] = "truncated";
		argv[n++] = res->truncated ? "1" : "0";
		argv[n++] = "run_us";
		argv[n++] = us;
		if (c->start_us > 0) {
			snprintf(held, sizeof(held), "%" PRId64, td__now_us() - c->start_us);
			argv[n++] = "held_us";
			argv[n++] = held;
		}
		argv[n++] = "content";
		argv[n++] = res->content;
		if (c->cancelled_by_deadline)
			snprintf(late, sizeof(late), "timed out: its deadline passed on worker %s",
			         w->name);
		if (c->cancelled_by_deadline)
			argv[n - 1] = late;
	}
	for (i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	if (res && !c->cancelled_by_deadline)
		lens[n - 1] = res->content_len;
	redisAppendCommandArgv(w->rc, (int)n, argv, lens);
	ack(w, c);
}

/* Reads n pipelined replies; false on a connection error. */
static bool flush(struct td_worker *w, unsigned n)
{
	void *r;

	while (n--) {
		if (redisGetReply(w->rc, &r) != REDIS_OK) {
			snprintf(w->err, sizeof(w->err), "redis: %s", w->rc->errstr);
			return false;
		}
		freeReplyObject(r);
	}
	return true;
}

/* ---- runs ---- */

static void run_free(struct wrun *wr)
{
	size_t i;

	td_run_free(wr->run);
	td_plan_free(wr->plan);
	td_batch_free(wr->batch);
	for (i = 0; wr->given && i < wr->n; i++)
		td__free((char *)wr->given[i].data);
	td__free(wr->given);
	td__free(wr->calls);
	memset(wr, 0, sizeof(*wr));
}

static const char *field(const redisReply *kv, const char *name, size_t *len)
{
	size_t i;

	for (i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2)
		if (kv->element[i]->type == REDIS_REPLY_STRING &&
		    kv->element[i + 1]->type == REDIS_REPLY_STRING &&
		    !strcmp(kv->element[i]->str, name)) {
			if (len)
				*len = kv->element[i + 1]->len;
			return kv->element[i + 1]->str;
		}
	return NULL;
}

/* A message refused: answered with an error when it says where to, always acknowledged. */
static unsigned refuse(struct td_worker *w, struct wcall *c, const char *why)
{
	struct td_result res = {.status = TD_STATUS_ERROR, .exit_code = -1};
	char msg[300];

	w->st.malformed++;
	if (!c->reply[0] || !c->token[0]) {
		ack(w, c);
		return 2;
	}
	res.content_len =
	    (size_t)snprintf(msg, sizeof(msg), "worker %s refused the call: %s", w->name, why);
	res.content = msg;
	append_answer(w, c, "result", w->name, &res, NULL);
	return 3;
}

struct taken {
	struct wcall call;
	int tool;
	const char *id, *input, *upstream;
	size_t input_len, upstream_len;
};

/* A call's `upstream` (for a `stdin: envelope` tool): a JSON array of {"id","name","content",
 * "is_error"}; an error phrase when it is not one, else NULL. */
static const char *check_upstream(const char *s, size_t len)
{
	static const char *const str[] = {"id", "name", "content"};
	cJSON *a = cJSON_ParseWithLength(s, len), *e;
	const char *why = NULL;
	size_t k;

	if (!cJSON_IsArray(a))
		why = "upstream is not a JSON array";
	for (e = why ? NULL : a->child; e && !why; e = e->next) {
		for (k = 0; k < TD__ARRAY_SIZE(str); k++)
			if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, str[k])))
				why = "an upstream entry lacks a string id, name or content";
		if (!why && !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(e, "is_error")))
			why = "an upstream entry lacks a boolean is_error";
	}
	cJSON_Delete(a);
	return why;
}

/* The envelope a call of a `stdin: envelope` tool reads, as its scheduler would have built it:
 * its id, tool and input, and the upstream results the message carries. NULL: out of memory. */
static char *envelope_of(const struct td_worker *w, const struct taken *t, size_t *len)
{
	struct td__buf b = {0};

	td__envelope_head(&b, t->id, w->g->tools[t->tool].name, t->input, t->input_len);
	td__buf_append(&b, t->upstream, t->upstream_len);
	td__buf_putc(&b, '}');
	*len = b.len;
	return td__buf_take(&b);
}

/* The fields of one message into t; an error phrase when it cannot run here, else NULL. */
static const char *parse_call(struct td_worker *w, const redisReply *kv, struct taken *t)
{
	const char *v = field(kv, "v", NULL), *reply = field(kv, "reply", NULL);
	const char *token = field(kv, "call", NULL), *tool = field(kv, "tool", NULL);
	const char *dl = field(kv, "deadline_ms", NULL), *why;

	if (reply && strlen(reply) < sizeof(t->call.reply) &&
	    !strncmp(reply, TD_REMOTE_REPLY_PREFIX, strlen(TD_REMOTE_REPLY_PREFIX)))
		snprintf(t->call.reply, sizeof(t->call.reply), "%s", reply);
	if (token && strlen(token) < sizeof(t->call.token))
		snprintf(t->call.token, sizeof(t->call.token), "%s", token);
	if (!v || strcmp(v, TD_REMOTE_VERSION))
		return "message layout version is not " TD_REMOTE_VERSION;
	if (!t->call.reply[0] || !t->call.token[0])
		return "no reply stream or call token";
	t->id = field(kv, "id", NULL);
	t->input = field(kv, "input", &t->input_len);
	t->upstream = field(kv, "upstream", &t->upstream_len);
	t->tool = tool ? td__graph_find(w->g, tool) : -1;
	if (!t->id || !t->input || !tool)
		return "a field is missing (id, input or tool)";
	if (t->tool < 0)
		return "no such tool in its graph";
	if (!w->served[t->tool])
		return "this worker does not serve that tool";
	if (w->g->tools[t->tool].stdin_mode != TD_STDIN_ENVELOPE)
		t->upstream = NULL; /* read by envelope tools only */
	else if (!t->upstream)
		return "the tool reads an envelope (stdin: envelope) and upstream is missing";
	else if ((why = check_upstream(t->upstream, t->upstream_len)))
		return why;
	t->call.deadline_ms = dl ? strtoll(dl, NULL, 10) : 0;
	return NULL;
}

static struct wrun *free_run(struct td_worker *w)
{
	size_t i;

	for (i = 0; i < MAX_RUNS; i++)
		if (!w->runs[i].run && !w->runs[i].calls)
			return &w->runs[i];
	return NULL;
}

/* One run for the calls of t[] that are of tool `tool` (marked done by setting tool -1). */
static int start_run(struct td_worker *w, struct taken *t, size_t n, int tool)
{
	struct td_run_opts ro = {.concurrency = w->opts.jobs,
	                         .functions = w->opts.functions,
	                         .remote_here = 1,
	                         .die_with_host = w->opts.die_with_host};
	struct wrun *wr = free_run(w);
	size_t i, k = 0;
	int err;

	if (!wr || !(wr->calls = td__calloc(n, sizeof(*wr->calls))) ||
	    !(wr->given = td__calloc(n, sizeof(*wr->given)))) {
		if (wr)
			run_free(wr);
		return TD_ENOMEM;
	}
	err = td_batch_new(w->g, TD_DIALECT_ANTHROPIC, &wr->batch);
	for (i = 0; i < n && !err; i++) {
		if (t[i].tool != tool)
			continue;
		/* the token as the id: ids of different schedulers may collide, tokens never do
		 * within one reply stream, and two streams never share a run's call */
		err = td_batch_add(wr->batch, t[i].call.token, w->g->tools[tool].name, t[i].input);
		if (err >= 0) {
			if (t[i].upstream &&
			    !(wr->given[k].data = envelope_of(w, &t[i], &wr->given[k].len)))
				err = TD_ENOMEM;
			wr->calls[k++] = t[i].call;
			wr->n = k;
			err = err < 0 ? err : 0;
		}
		t[i].tool = -1;
	}
	wr->n = wr->left = k;
	if (!err)
		err = td_plan_new(wr->batch, &wr->plan, NULL);
	if (!err)
		err = td_host_run_new(w->host, wr->plan, &ro, &wr->run, NULL);
	if (err) {
		run_free(wr);
		return err;
	}
	wr->run->given_stdin = wr->given;
	for (i = 0; i < k; i++)
		wr->calls[i].start_us = td__now_us();
	w->held += (unsigned)k;
	return 0;
}

/* ---- taking calls ---- */

/* One entry [id, fields] of queue q into t[*n], or answered/acknowledged at once. */
static unsigned take(struct td_worker *w, int q, const redisReply *e, struct taken *t, size_t *n)
{
	struct taken *x = &t[*n];
	const char *why;

	memset(x, 0, sizeof(*x));
	x->call.queue = (uint32_t)q;
	snprintf(x->call.msgid, sizeof(x->call.msgid), "%s", e->element[0]->str);
	w->st.taken++;
	why = parse_call(w, e->element[1], x);
	if (why)
		return refuse(w, &x->call, why);
	if (x->call.deadline_ms && td__wall_ms() >= x->call.deadline_ms) {
		w->st.expired++; /* its scheduler has given up on it: nobody reads an answer */
		ack(w, &x->call);
		return 2;
	}
	if (td__cancel_seen(w, &x->call)) {
		w->st.cancelled++; /* cancelled before it was taken: nobody reads an answer */
		ack(w, &x->call);
		return 2;
	}
	(*n)++;
	return 0;
}

/*
 * Calls whose reply stream is gone are not started (see orphans_stop): acknowledged and
 * counted as expired. Reads the `*replies` replies before the EXISTS ones.
 */
static bool orphans_drop(struct td_worker *w, struct taken *t, size_t n, unsigned *replies)
{
	redisReply *r;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *ex[] = {"EXISTS", t[i].call.reply};

		redisAppendCommandArgv(w->rc, 2, ex, NULL);
	}
	if (!flush(w, *replies))
		return false;
	*replies = 0;
	for (i = 0; i < n; i++) {
		if (redisGetReply(w->rc, (void **)&r) != REDIS_OK) {
			snprintf(w->err, sizeof(w->err), "redis: %s", w->rc->errstr);
			return false;
		}
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0 && t[i].tool >= 0) {
			w->st.expired++;
			ack(w, &t[i].call);
			*replies += 2;
			t[i].tool = -1;
		}
		freeReplyObject(r);
	}
	return true;
}

static void start_taken(struct td_worker *w, struct taken *t, size_t n, unsigned *replies)
{
	size_t i, j;
	int err;

	for (i = 0; i < n; i++) {
		if (t[i].tool < 0)
			continue;
		err = start_run(w, t, n, t[i].tool);
		if (!err)
			continue;
		for (j = i; j < n; j++) /* the calls start_run could not take */
			if (t[j].tool == t[i].tool || (j == i)) {
				*replies += refuse(w, &t[j].call, td_strerror(err));
				t[j].tool = -1;
			}
	}
}

/*
 * XREADGROUP for at most `count` calls; the number taken, or -1 on a connection error.
 * COUNT holds per stream, and every entry it returns is this worker's from then on, so the
 * queues asked and the COUNT each are chosen to total at most `count`: every queue with
 * count / nqueues each, or, with less room than queues, `count` of them with 1 each, in turn.
 */
static int fetch(struct td_worker *w, unsigned count, int block_ms)
{
	const char *argv[8 + 2 * 64];
	char cnt[16], blk[16];
	struct taken *t;
	redisReply *r;
	size_t i, k, argc = 0, n = 0, nq = w->nqueues < count ? w->nqueues : count;
	unsigned replies = 0;

	snprintf(cnt, sizeof(cnt), "%u", count / (unsigned)nq);
	snprintf(blk, sizeof(blk), "%d", block_ms);
	argv[argc++] = "XREADGROUP";
	argv[argc++] = "GROUP";
	argv[argc++] = TD_REMOTE_GROUP;
	argv[argc++] = w->name;
	argv[argc++] = "COUNT";
	argv[argc++] = cnt;
	if (block_ms > 0) {
		argv[argc++] = "BLOCK";
		argv[argc++] = blk;
	}
	argv[argc++] = "STREAMS";
	for (i = 0; i < nq; i++)
		argv[argc++] = w->queues[(w->next_queue + i) % w->nqueues].key;
	for (i = 0; i < nq; i++)
		argv[argc++] = ">";
	w->next_queue = (w->next_queue + nq) % w->nqueues;
	if (!(r = td__worker_cmd(w, (int)argc, argv, NULL)))
		return -1;
	td__cancel_read(w); /* cancels published before the calls taken were */
	if (r->type != REDIS_REPLY_ARRAY || !(t = td__calloc(count, sizeof(*t)))) {
		if (r->type == REDIS_REPLY_ERROR) /* NOGROUP: the queue was deleted under us */
			td__worker_join(w);
		freeReplyObject(r);
		return 0;
	}
	for (i = 0; i < r->elements; i++) {
		const redisReply *s = r->element[i], *es;
		int q;

		if (s->elements != 2 || (q = td__worker_queue(w, s->element[0]->str)) < 0)
			continue;
		es = s->element[1];
		for (k = 0; k < es->elements && n < count; k++)
			if (es->element[k]->elements == 2)
				replies += take(w, q, es->element[k], t, &n);
	}
	if (n && !orphans_drop(w, t, n, &replies)) {
		freeReplyObject(r);
		td__free(t);
		return -1;
	}
	start_taken(w, t, n, &replies);
	freeReplyObject(r);
	td__free(t);
	return flush(w, replies) ? (int)n : -1;
}

/* ---- held calls: answers, deadlines, heartbeats ---- */

/* Steps every run and answers what finished; false on a connection error. */
static bool step_runs(struct td_worker *w)
{
	unsigned replies = 0;
	size_t i;
	int c;

	if (w->held)
		td_host_step(w->host);
	for (i = 0; i < MAX_RUNS; i++) {
		struct wrun *wr = &w->runs[i];
		struct td_result res;

		if (!wr->run)
			continue;
		while ((c = td_run_next_finished(wr->run)) >= 0) {
			if (td_run_result(wr->run, (size_t)c, &res) < 0)
				continue;
			append_answer(w, &wr->calls[c], "result", w->name, &res, NULL);
			wr->calls[c].answered = true;
			replies += 3;
			w->st.answered++;
			wr->left--;
			w->held--;
		}
		if (!wr->left)
			run_free(wr);
	}
	return flush(w, replies);
}

/* Cancels running calls whose deadline passed: answered as timeouts when they end. The grace
 * lets the scheduler's own timeout, armed for the same moment, answer first. */
static void check_deadlines(struct td_worker *w)
{
	int64_t now = td__wall_ms();
	struct td_result res;
	size_t i, k;

	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++) {
			struct wcall *c = &w->runs[i].calls[k];

			/* td_run_result(): 0 once the call has its result */
			if (!c->deadline_ms || now < c->deadline_ms + DEADLINE_GRACE_MS ||
			    c->cancelled_by_deadline || c->cancelled ||
			    td_run_result(w->runs[i].run, k, &res) == 0)
				continue;
			c->cancelled_by_deadline = true;
			td_run_cancel_call(w->runs[i].run, k);
		}
}

/*
 * Appends EXISTS of the reply stream of each call held (every call of every run, in order);
 * reads them after the `skip` replies before them and cancels the calls whose stream is gone:
 * their scheduler ended or died (it keeps an expiry on its stream while it lives), nobody
 * reads an answer. Their answers go nowhere (NOMKSTREAM); the calls are acknowledged.
 */
static bool orphans_stop(struct td_worker *w, unsigned skip)
{
	redisReply *r;
	size_t i, k;

	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++) {
			const char *ex[] = {"EXISTS", w->runs[i].calls[k].reply};

			redisAppendCommandArgv(w->rc, 2, ex, NULL);
		}
	if (!flush(w, skip))
		return false;
	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++) {
			struct wcall *c = &w->runs[i].calls[k];

			if (redisGetReply(w->rc, (void **)&r) != REDIS_OK) {
				snprintf(w->err, sizeof(w->err), "redis: %s", w->rc->errstr);
				return false;
			}
			if (r->type == REDIS_REPLY_INTEGER && r->integer == 0 && !c->answered &&
			    !c->cancelled) {
				c->cancelled = true;
				w->st.cancelled++;
				td_run_cancel_call(w->runs[i].run, k);
			}
			freeReplyObject(r);
		}
	return true;
}

static bool heartbeat(struct td_worker *w)
{
	char px[24];
	const char *set[] = {"SET", w->alive_key, w->alive_token, "PX", px};
	unsigned replies = 1;
	size_t i, k;

	snprintf(px, sizeof(px), "%" PRId64, 3 * w->beat_us / 1000);
	redisAppendCommandArgv(w->rc, 5, set, NULL);
	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++) {
			const struct wcall *c = &w->runs[i].calls[k];
			const char *claim[] = {"XCLAIM",
			                       w->queues[c->queue].key,
			                       TD_REMOTE_GROUP,
			                       w->name,
			                       "0",
			                       c->msgid,
			                       "JUSTID"};

			redisAppendCommandArgv(w->rc, 7, claim, NULL);
			replies++;
		}
	return orphans_stop(w, replies);
}

/* ---- claims: calls of silent workers ---- */

static bool alive(struct td_worker *w, const char *consumer)
{
	char key[192];
	const char *argv[] = {"EXISTS", key};
	redisReply *r;
	bool yes;

	snprintf(key, sizeof(key), TD_REMOTE_ALIVE_PREFIX "%s", consumer);
	if (!(r = td__worker_cmd(w, 2, argv, NULL)))
		return true;
	yes = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return yes;
}

static bool holds(const struct td_worker *w, const char *msgid)
{
	size_t i, k;

	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++)
			if (!w->runs[i].calls[k].answered &&
			    !strcmp(w->runs[i].calls[k].msgid, msgid))
				return true;
	return false;
}

/* Takes entry id of queue q from `owner` and answers it as lost; replies to read, or 0. */
static unsigned reclaim(struct td_worker *w, size_t q, const char *id, const char *owner)
{
	char ms[24], why[200];
	const char *argv[] = {"XCLAIM", w->queues[q].key, TD_REMOTE_GROUP, w->name, ms, id};
	struct wcall c = {.queue = (uint32_t)q};
	redisReply *r;
	unsigned replies = 0;

	snprintf(ms, sizeof(ms), "%" PRId64, w->queues[q].claim_after_us / 1000);
	if (!(r = td__worker_cmd(w, 6, argv, NULL)))
		return 0;
	/* an empty answer: another worker took it first, or its owner woke up */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements == 2) {
		const redisReply *e = r->element[0];
		const char *reply = field(e->element[1], "reply", NULL);
		const char *tok = field(e->element[1], "call", NULL);

		snprintf(c.msgid, sizeof(c.msgid), "%s", id);
		if (reply && tok && strlen(reply) < sizeof(c.reply) &&
		    strlen(tok) < sizeof(c.token)) {
			snprintf(c.reply, sizeof(c.reply), "%s", reply);
			snprintf(c.token, sizeof(c.token), "%s", tok);
			snprintf(why, sizeof(why), "%s", owner);
			append_answer(w, &c, "lost", why, NULL, "silent");
			replies = 3;
		} else {
			ack(w, &c);
			replies = 2;
		}
		w->st.reclaimed++;
	}
	freeReplyObject(r);
	return replies;
}

static bool claim(struct td_worker *w, size_t q)
{
	char ms[24];
	const char *argv[] = {"XPENDING", w->queues[q].key, TD_REMOTE_GROUP, "IDLE", ms, "-", "+",
	                      "32"};
	redisReply *r;
	unsigned replies = 0;
	size_t i;

	snprintf(ms, sizeof(ms), "%" PRId64, w->queues[q].claim_after_us / 1000);
	if (!(r = td__worker_cmd(w, 8, argv, NULL)))
		return false;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *e = r->element[i];

		/* a call of this worker's that it no longer holds lost its answer with a
		 * connection to Redis: lost as well */
		if (e->elements < 2 ||
		    (!strcmp(e->element[1]->str, w->name) ? holds(w, e->element[0]->str)
		                                          : alive(w, e->element[1]->str)))
			continue;
		replies += reclaim(w, q, e->element[0]->str, e->element[1]->str);
	}
	freeReplyObject(r);
	return flush(w, replies);
}

/* ---- serving ---- */

/* Milliseconds until the first deadline of a call held (with its grace), or `cap`. */
static int next_deadline(const struct td_worker *w, int cap)
{
	int64_t now = td__wall_ms(), left;
	size_t i, k;

	for (i = 0; i < MAX_RUNS; i++)
		for (k = 0; w->runs[i].run && k < w->runs[i].n; k++) {
			const struct wcall *c = &w->runs[i].calls[k];

			if (!c->deadline_ms || c->answered || c->cancelled_by_deadline)
				continue;
			left = c->deadline_ms + DEADLINE_GRACE_MS - now;
			if (left < cap)
				cap = left < 0 ? 0 : (int)left;
		}
	return cap;
}

/* Waits for the host's descriptor, at most until the next thing the worker must do. */
static void wait_runs(struct td_worker *w, int64_t until_us)
{
	struct pollfd pfd[2] = {{.fd = td_host_fd(w->host), .events = POLLIN},
	                        {.fd = td__cancel_fd(w), .events = POLLIN}};
	int64_t left = (until_us - td__now_us() + 999) / 1000;
	int timeout = left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
	int t = td_host_timeout(w->host);

	if (t >= 0 && t < timeout)
		timeout = t;
	poll(pfd, pfd[1].fd < 0 ? 1 : 2, next_deadline(w, timeout));
}

/* SIGINT: the calls held are cancelled here and answered as lost, so their schedulers retry
 * them elsewhere at once instead of after claim_after. */
static void give_back(struct td_worker *w)
{
	unsigned replies = 0;
	size_t i, k;

	for (i = 0; i < MAX_RUNS; i++)
		if (w->runs[i].run)
			td_run_cancel(w->runs[i].run);
	while (td_host_step(w->host) == 1) /* kills and reaps the process groups */
		wait_runs(w, td__now_us() + 100000);
	for (i = 0; i < MAX_RUNS; i++) {
		struct wrun *wr = &w->runs[i];

		if (!wr->run)
			continue;
		for (k = 0; k < wr->n; k++)
			if (!wr->calls[k].answered) {
				append_answer(w, &wr->calls[k], "lost", w->name, NULL,
				              "interrupted");
				replies += 3;
			}
		w->held -= (unsigned)wr->left;
		run_free(wr);
	}
	flush(w, replies);
}

static bool chores(struct td_worker *w)
{
	int64_t now = td__now_us();
	size_t q;

	td__cancel_read(w);
	check_deadlines(w);
	if (now >= w->next_beat_us) {
		w->next_beat_us = now + w->beat_us;
		if (!heartbeat(w))
			return false;
	}
	for (q = 0; q < w->nqueues; q++)
		if (now >= w->queues[q].next_claim_us) {
			w->queues[q].next_claim_us = now + w->queues[q].claim_after_us / 2;
			if (!claim(w, q))
				return false;
		}
	return true;
}

/* One round: answers, chores, new calls, a wait. False on a connection error. */
static bool round_once(struct td_worker *w)
{
	unsigned room = w->opts.jobs > w->held ? w->opts.jobs - w->held : 0;
	int64_t now, block;
	int got;

	if (!step_runs(w) || !chores(w))
		return false;
	now = td__now_us();
	if (!w->stop && room && (!w->held || now >= w->next_fetch_us)) {
		block = w->held                             ? 0
		        : w->beat_us / 1000 < IDLE_BLOCK_MS ? w->beat_us / 1000
		                                            : IDLE_BLOCK_MS;
		if ((got = fetch(w, room, (int)(block > 0 ? block : 1))) < 0)
			return false;
		w->next_fetch_us = got ? now : now + BUSY_FETCH_US;
		if (got)
			return true; /* step the new runs at once */
	}
	if (w->held)
		wait_runs(w, w->stop || !room ? w->next_beat_us : w->next_fetch_us);
	else if (w->stop)
		return true;
	return true;
}

static void leave(struct td_worker *w)
{
	size_t q;

	/* a worker of the same name that started after this one's key expired keeps its calls */
	if (!td__worker_release_name(w))
		return;
	for (q = 0; q < w->nqueues; q++) {
		const char *argv[] = {"XGROUP", "DELCONSUMER", w->queues[q].key, TD_REMOTE_GROUP,
		                      w->name};

		freeReplyObject(td__worker_cmd(w, 5, argv, NULL));
	}
}

static int serve(struct td_worker *w, struct td_diag *diag)
{
	int err;

	w->next_beat_us = 0;
	w->diag = diag;
	for (;;) {
		if (w->stop & TD_WORKER_CANCEL) {
			give_back(w);
			leave(w);
			return TD_ECANCELED;
		}
		if ((w->stop & TD_WORKER_DRAIN) && !w->held)
			break;
		if (round_once(w))
			continue;
		/* Redis went away: what was in the pipe is lost (those calls time out or are
		 * claimed); the calls running here go on meanwhile */
		err = td__worker_reconnect(w);
		if (!err)
			err = td__worker_join(w);
		if (err) {
			td__diag_add(diag, err, NULL, 0, 0, "%s", w->err);
			w->stop |= TD_WORKER_CANCEL;
			give_back(w);
			return err;
		}
	}
	leave(w);
	return 0;
}

/* The worker's writes to Redis may meet a closed socket: no SIGPIPE for the host. */
int td_worker_serve(struct td_worker *w, struct td_diag *diag)
{
	struct td__nopipe g;
	int err;

	if (!w)
		return TD_EINVAL;
	td__nopipe_enter(&g);
	err = serve(w, diag);
	td__nopipe_leave(&g);
	return err;
}

void td_worker_stop(struct td_worker *w, int how)
{
	if (w)
		w->stop |= how & (TD_WORKER_DRAIN | TD_WORKER_CANCEL);
}

const char *td_worker_name(const struct td_worker *w)
{
	return w ? w->name : NULL;
}

void td_worker_stats(const struct td_worker *w, struct td_worker_stats *out)
{
	if (w && out)
		*out = w->st;
}

void td_worker_free(struct td_worker *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < MAX_RUNS; i++)
		if (w->runs[i].run || w->runs[i].calls)
			run_free(&w->runs[i]);
	td_host_free(w->host);
	if (w->rc)
		redisFree(w->rc);
	if (w->sub)
		redisFree(w->sub);
	td__free(w->served);
	td__free(w->queues);
	td__free(w);
}

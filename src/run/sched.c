/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the scheduler: pure logic over the plan, talking only to the backend interface and
 * the run's clock and timers.
 *
 * Every call is a state machine (run.h: WAITING, READY, PARKED, RUNNING, BACKOFF, DONE) and
 * every change goes through transition(), which keeps the counters (in flight, per tool, per
 * level, done) and the queues (ready heap, park queues, timers) consistent with the states.
 *
 * Ready set: a heap of call indices, so whatever is ready starts in batch order. The level
 * policy releases a level's calls into it only when every call of the level before has
 * finished; the eager policy releases a call when its own predecessors are done. A call its
 * tool cannot take now (per-tool concurrency or rate) is parked in the tool's queue (batch
 * order) and goes back to the heap when the tool frees a slot or earns a token.
 *
 * The heap's order can be a rank per call instead (prio.c), ties in batch order. Under level,
 * when durations are known (td__sched_set_costs(): tooldag-bench's, learned history; else the
 * tools' declared `estimate`s), the longest call of a level starts first. The critical policy
 * releases calls as eager does, ranked by the priority rule that played best in virtual time (the
 * longest remaining path first, as Ninja's critical-path scheduling does, unless another rule
 * beats it); costs are 1 per call unless the host gives durations.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run/prio.h"
#include "run/run.h"

static void transition(struct td_run *r, uint32_t c, enum td__cstate to);

/* ---- small helpers ---- */

static const struct td__tool *call_tool(const struct td_run *r, uint32_t c)
{
	int32_t t = r->batch->calls[c].tool;

	return t < 0 ? NULL : &r->graph->tools[t];
}

/* Fresh, not the loop's cached clock: completions handled late in a long turn must still show
 * when they were handled. (Starts use the clock dispatch() reads for each admission.) */
static int64_t since_start(const struct td_run *r)
{
	return td__clock_update(r->clock) - r->t0;
}

static int failed(enum td_status s)
{
	return s != TD_STATUS_OK;
}

/* xorshift64*: the backoff jitter; seeded, so runs with a fixed seed repeat */
static double next_random(struct td_run *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return (double)((r->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- ready heap: batch order, or by rank (prio.c) ---- */

/* Whether call a starts before call b. */
static int before(const struct td_run *r, uint32_t a, uint32_t b)
{
	if (r->rank && r->rank[a] != r->rank[b])
		return r->rank[a] > r->rank[b];
	return a < b;
}

/* Eager and critical release a call as soon as its own predecessors are done. */
static int dataflow(const struct td_run *r)
{
	return r->opts.schedule == TD_SCHEDULE_EAGER || r->opts.schedule == TD_SCHEDULE_CRITICAL;
}

static void heap_push(struct td_run *r, uint32_t c)
{
	uint32_t i = r->nready++;

	while (i > 0 && before(r, c, r->ready[(i - 1) / 2])) {
		r->ready[i] = r->ready[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	r->ready[i] = c;
}

static void heap_pop(struct td_run *r)
{
	uint32_t last = r->ready[--r->nready], i = 0, n = r->nready;

	for (;;) {
		uint32_t k = 2 * i + 1;

		if (k >= n)
			break;
		if (k + 1 < n && before(r, r->ready[k + 1], r->ready[k]))
			k++;
		if (!before(r, r->ready[k], last))
			break;
		r->ready[i] = r->ready[k];
		i = k;
	}
	if (n)
		r->ready[i] = last;
}

/* ---- park queues: singly linked through park_next, sorted by call index ---- */

static void park_insert(struct td_run *r, struct td__toolrun *t, uint32_t c)
{
	uint32_t *link = &t->park_head;

	r->calls[c].park_next = TD__NONE;
	if (t->park_head == TD__NONE) {
		t->park_head = t->park_tail = c;
		return;
	}
	if (c > t->park_tail) { /* the usual case: calls arrive in batch order */
		r->calls[t->park_tail].park_next = c;
		t->park_tail = c;
		return;
	}
	while (*link != TD__NONE && *link < c)
		link = &r->calls[*link].park_next;
	r->calls[c].park_next = *link;
	*link = c;
}

/* The first call still parked; calls cancelled while parked are dropped on the way. */
static uint32_t park_take_head(struct td_run *r, struct td__toolrun *t)
{
	uint32_t c;

	do {
		c = t->park_head;
		if (c == TD__NONE)
			return c;
		t->park_head = r->calls[c].park_next;
		if (t->park_head == TD__NONE)
			t->park_tail = TD__NONE;
	} while (r->calls[c].state != TD_CS_PARKED);
	return c;
}

void td__sched_unpark(struct td_run *r, struct td__toolrun *t)
{
	uint32_t c = park_take_head(r, t);

	if (c != TD__NONE)
		transition(r, c, TD_CS_READY);
}

/* ---- dependencies ---- */

/* A node is done: tell its successors; a barrier whose calls are all done is done too. */
static void node_done(struct td_run *r, uint32_t node, int fail)
{
	const struct td_plan *p = r->plan;
	/* what a successor names when it is skipped: this call, or what failed behind a barrier */
	uint32_t why = node < p->ncalls ? node : r->failed_pred[node], i;

	for (i = p->succ_off[node]; i < p->succ_off[node + 1]; i++) {
		uint32_t s = p->succ[i];

		if (fail && why < r->failed_pred[s])
			r->failed_pred[s] = why;
		if (--r->pending[s])
			continue;
		if (s >= p->ncalls)
			node_done(r, s, r->failed_pred[s] != TD__NONE);
		else if (dataflow(r) && !r->cancelled && r->calls[s].state == TD_CS_WAITING &&
		         !r->batch->calls[s].has_error)
			transition(r, s, TD_CS_READY);
	}
}

/* ---- levels ---- */

static void open_levels(struct td_run *r)
{
	const struct td_plan *p = r->plan;
	uint32_t i;

	while (!r->cancelled && r->cur_level < p->nlevels && !r->level_left[r->cur_level]) {
		r->cur_level++;
		if (r->cur_level >= p->nlevels)
			break;
		for (i = p->level_off[r->cur_level]; i < p->level_off[r->cur_level + 1]; i++)
			if (r->calls[p->order[i]].state == TD_CS_WAITING)
				transition(r, p->order[i], TD_CS_READY);
	}
}

/* ---- the one transition function ---- */

/* The run's own backend for the tool's kind, else its pool's (a host's, shared); the run's
 * remote backend for a remote: tool. */
static struct td__backend *backend_for(const struct td_run *r, const struct td__tool *tool)
{
	if (r->fake)
		return r->fake;
	/* remote: tools, whatever their kind, unless the run runs them here (a worker's runs) */
	if (tool->lim.remote && !r->opts.remote_here)
		return r->backend[TD__BACKEND_REMOTE];
	if ((unsigned)tool->kind >= TD__KINDS)
		return NULL;
	return r->backend[tool->kind] ? r->backend[tool->kind] : r->pool->backend[tool->kind];
}

/* The descriptors a job of this tool holds in flight (its backend's fds_per_job). */
static unsigned fds_of(const struct td_run *r, const struct td__tool *tool)
{
	const struct td__backend *be;

	if (!tool)
		return 0;
	be = backend_for(r, tool);
	return be ? be->fds_per_job : 0;
}

static void leave(struct td_run *r, uint32_t c, enum td__cstate from)
{
	struct td__callrun *cr = &r->calls[c];
	const struct td__tool *tool = call_tool(r, c);

	switch (from) {
	case TD_CS_READY:
		if (r->nready && r->ready[0] == c)
			heap_pop(r);
		break;
	case TD_CS_RUNNING:
		r->inflight--;
		r->pool->inflight--;
		if (tool)
			r->tools[tool - r->graph->tools].inflight--;
		if (tool && r->tools[tool - r->graph->tools].lim)
			r->tools[tool - r->graph->tools].lim->inflight--;
		r->pool->fd_used -= fds_of(r, tool);
		cr->job = NULL;
		break;
	case TD_CS_BACKOFF:
		td__clock_disarm(r->clock, &cr->backoff);
		break;
	default:
		break;
	}
}

static void enter_done(struct td_run *r, uint32_t c)
{
	struct td__callrun *cr = &r->calls[c];
	int32_t level = r->plan->level[c];

	r->ndone++;
	if (r->finish_order)
		r->finish_order[r->nfinished++] = c;
	if (cr->end_us > r->t_end)
		r->t_end = cr->end_us;
	if (!r->batch->calls[c].has_error && level >= 0 && (uint32_t)level < r->plan->nlevels)
		r->level_left[level]--;
	node_done(r, c, failed(cr->status));
	if (r->opts.schedule == TD_SCHEDULE_LEVEL)
		open_levels(r);
}

static void transition(struct td_run *r, uint32_t c, enum td__cstate to)
{
	struct td__callrun *cr = &r->calls[c];
	const struct td__tool *tool = call_tool(r, c);
	enum td__cstate from = cr->state;

	/* before the observers hear of it: the last call's end is the run's */
	if (to == TD_CS_DONE && r->took_us && cr->status == TD_STATUS_OK && cr->attempts) {
		const struct td__attempt *a = td__attempt_of(cr, cr->attempts);

		r->took_us[c] = a->end_us - a->start_us + 1;
	}
	if (r->trace && (!r->trace_to || r->trace_to & 1u << to))
		r->trace(r->trace_ud, c, from, to);
	leave(r, c, from);
	cr->state = to;
	switch (to) {
	case TD_CS_READY:
		heap_push(r, c);
		break;
	case TD_CS_PARKED:
		park_insert(r, &r->tools[tool - r->graph->tools], c);
		break;
	case TD_CS_RUNNING:
		r->inflight++;
		r->pool->inflight++;
		if (tool)
			r->tools[tool - r->graph->tools].inflight++;
		if (tool && r->tools[tool - r->graph->tools].lim)
			r->tools[tool - r->graph->tools].lim->inflight++;
		r->pool->fd_used += fds_of(r, tool);
		break;
	case TD_CS_DONE:
		enter_done(r, c);
		break;
	default: /* WAITING; BACKOFF arms its timer in the caller, which knows the delay */
		break;
	}
}

/* ---- finishing a call ---- */

static void set_result(struct td__callrun *cr, enum td_status s, char *content, size_t len)
{
	td__free(cr->content);
	td__free(cr->blocks);
	cr->blocks = NULL;
	cr->status = s;
	cr->content = content;
	cr->content_len = len;
}

/* Finishes call c with a message we compose (no process output). */
static void finish_msg(struct td_run *r, uint32_t c, enum td_status s, const char *msg)
{
	char *copy = td__strdup(msg);

	set_result(&r->calls[c], s, copy, copy ? strlen(copy) : 0);
	transition(r, c, TD_CS_DONE);
}

/* The reason is the first failed predecessor, kept as the failure propagated (node_done). */
static void skip(struct td_run *r, uint32_t c)
{
	const struct td__call *d = &r->batch->calls[r->failed_pred[c]];
	char msg[512];

	snprintf(msg, sizeof(msg), "skipped: dependency %s (%s) failed", d->name, d->id);
	finish_msg(r, c, TD_STATUS_SKIPPED, msg);
}

/* ---- limits ---- */

/*
 * Token bucket of depth one, in microseconds of credit: a call costs period/count and the
 * credit never exceeds that, so calls start at least period/count apart and no window of one
 * period ever sees more than `count` starts (a deeper bucket would allow twice that).
 * Returns 1 and takes the token, or 0 and arms the tool's timer for when it will be there.
 */
static int take_token(struct td_run *r, struct td__toollim *tl, const struct td__limits *lim)
{
	int64_t now = td__clock_now(r->clock); /* refreshed by dispatch for this very call */
	double cost = (double)lim->rate_period_us / (double)lim->rate_count;

	tl->credit += (double)(now - tl->credit_at);
	tl->credit_at = now;
	if (tl->credit > cost)
		tl->credit = cost;
	if (tl->credit >= cost - 0.5) {
		tl->credit -= cost;
		return 1;
	}
	if (!tl->rate_timer.slot)
		td__clock_arm(r->clock, &tl->rate_timer, now + (int64_t)ceil(cost - tl->credit));
	return 0;
}

static int tool_admits(struct td_run *r, const struct td__tool *tool)
{
	struct td__toolrun *tr;

	if (!tool)
		return 1;
	tr = &r->tools[tool - r->graph->tools];
	if (!tr->lim)
		return 1;
	if (tool->lim.concurrency && tr->lim->inflight >= tool->lim.concurrency)
		return 0;
	if (tool->lim.rate_count && tool->lim.rate_period_us > 0)
		return take_token(r, tr->lim, &tool->lim);
	return 1;
}

/* ---- starting a job ---- */

static struct td__job *job_get(struct td_run *r)
{
	struct td__job *j = r->free_jobs;

	if (j) {
		r->free_jobs = j->next;
	} else {
		j = td__malloc(sizeof(*j));
		if (!j)
			return NULL;
	}
	memset(j, 0, sizeof(*j));
	j->exit_code = -1;
	return j;
}

static void job_put(struct td_run *r, struct td__job *j)
{
	td__free(j->content);
	td__free(j->blocks);
	td__free(j->worker);
	j->blocks = NULL;
	j->worker = NULL;
	if (j->stdin_data != j->input)
		td__free((void *)j->stdin_data);
	j->content = NULL;
	j->stdin_data = NULL;
	j->next = r->free_jobs;
	r->free_jobs = j;
}

static void record_attempt_start(struct td_run *r, uint32_t c)
{
	struct td__callrun *cr = &r->calls[c];
	int64_t now = td__clock_now(r->clock) - r->t0;
	struct td__attempt *a;

	cr->attempts++;
	if (cr->start_us < 0)
		cr->start_us = now;
	a = cr->attempts == 1 ? &cr->att0 : &cr->more[cr->attempts - 2];
	a->start_us = now;
	a->end_us = -1;
	a->status = TD_STATUS_RUNNING;
	a->exit_code = -1;
	a->signal = 0;
	a->http_status = 0;
	a->queue_us = 0;
	a->worker = NULL;
}

static int fill_job(struct td_run *r, uint32_t c, struct td__job *j, const struct td__tool *tool)
{
	const struct td__call *call = &r->batch->calls[c];

	j->call = c;
	j->attempt = r->calls[c].attempts;
	j->id = call->id;
	j->graph = r->graph;
	j->tool = tool;
	j->input = td__call_input(call);
	j->input_len = call->input_len;
	j->stdin_data = j->input;
	j->stdin_len = call->input_len;
	j->timeout_us = tool->lim.timeout_us;
	j->kill_grace_us =
	    r->opts.kill_grace_ms == TD_KILL_NOW ? 0 : (int64_t)r->opts.kill_grace_ms * 1000;
	j->run = r;
	j->tool_cache = &r->tools[tool - r->graph->tools].be_cache;
	if (tool->stdin_mode == TD_STDIN_ENVELOPE && r->given_stdin && r->given_stdin[c].data) {
		j->stdin_len = r->given_stdin[c].len;
		j->stdin_data = td__strndup(r->given_stdin[c].data, j->stdin_len);
		if (!j->stdin_data)
			return TD_ENOMEM;
	} else if (tool->stdin_mode == TD_STDIN_ENVELOPE) {
		j->stdin_data = td__envelope(r, c, &j->stdin_len);
		if (!j->stdin_data)
			return TD_ENOMEM;
	}
	return 0;
}

static void start_call(struct td_run *r, uint32_t c, const struct td__tool *tool)
{
	struct td__backend *be = backend_for(r, tool);
	struct td__job *j;
	char msg[160];
	int err;

	if (!be) {
		snprintf(msg, sizeof(msg), "cannot start: no backend runs tool '%s' in this run",
		         tool->name);
		finish_msg(r, c, TD_STATUS_ERROR, msg);
		return;
	}
	j = job_get(r);
	if (!j) {
		finish_msg(r, c, TD_STATUS_ERROR, "cannot start: out of memory");
		return;
	}
	record_attempt_start(r, c);
	transition(r, c, TD_CS_RUNNING);
	r->calls[c].job = j;
	j->be = be;
	err = fill_job(r, c, j, tool);
	if (!err)
		err = be->start(be, j);
	if (err < 0) {
		/* the backend will not call done(): complete the job here, as a failure */
		snprintf(msg, sizeof(msg), "cannot start: %s", td_strerror(err));
		td__job_set_content(j, TD_STATUS_ERROR, msg, strlen(msg));
		j->no_retry = 1;
		be->done(be->ud, j);
	}
}

/* ---- dispatch: from the ready heap into jobs, under the limits ---- */

/* A slot of the run's and of its pool's, and room in the descriptor budget (run.h: struct
 * td__pool); one job that needs descriptors may always run, or a tiny limit would stall. */
static int slot_free(const struct td_run *r, const struct td__tool *tool)
{
	const struct td__pool *p = r->pool;
	unsigned fds = fds_of(r, tool);

	if (r->inflight >= r->limit || (p->limit && p->inflight >= p->limit))
		return 0;
	return !fds || !p->fd_used || p->fd_used + fds <= p->fd_room;
}

/* At most `max` starts (TD_DISPATCH_BATCH, run.h), then the loop runs. */
int td__sched_dispatch(struct td_run *r, int max, int *started)
{
	int work = 0;

	*started = 0;
	while (r->nready && *started < max) {
		uint32_t c = r->ready[0];
		const struct td__tool *tool = call_tool(r, c);

		if (r->calls[c].state != TD_CS_READY) { /* cancelled while ready: a stale entry */
			heap_pop(r);
			work++;
			continue;
		}
		if (r->failed_pred[c] != TD__NONE &&
		    tool->lim.on_dependency_failure == TD_DEPFAIL_SKIP) {
			skip(r, c);
			work++;
			continue;
		}
		if (!slot_free(r, tool))
			break;
		work++;
		/* one clock for the admission and the attempt's start: a rate limit's spacing holds
		 * exactly for the recorded starts, and a wave of spawns shows its real timing */
		td__clock_update(r->clock);
		if (!tool_admits(r, tool)) {
			transition(r, c, TD_CS_PARKED);
			continue;
		}
		start_call(r, c, tool); /* leaving READY pops it from the heap */
		(*started)++;
		/* the tool took this one: its next parked call may go too */
		if (r->tools[tool - r->graph->tools].park_head != TD__NONE &&
		    (!tool->lim.concurrency ||
		     r->tools[tool - r->graph->tools].lim->inflight < tool->lim.concurrency))
			td__sched_unpark(r, &r->tools[tool - r->graph->tools]);
	}
	return work;
}

/* ---- completions ---- */

static void backoff_fired(struct td__timer *t)
{
	struct td__callrun *cr =
	    (struct td__callrun *)((char *)t - offsetof(struct td__callrun, backoff));

	transition(cr->run, (uint32_t)(cr - cr->run->calls), TD_CS_READY);
}

/* after_us > 0: the server said when to come back (HTTP Retry-After); it wins over backoff */
static void retry_later(struct td_run *r, uint32_t c, const struct td__tool *tool, int64_t after_us)
{
	struct td__callrun *cr = &r->calls[c];
	unsigned shift = cr->attempts - 1 > 20 ? 20 : cr->attempts - 1;
	double delay = (double)tool->lim.backoff_us * (double)(1u << shift);

	/* up to +25% jitter: delays still strictly grow, yet two retrying calls drift apart */
	delay *= 1.0 + 0.25 * next_random(r);
	if (after_us > 0)
		delay = (double)after_us;
	transition(r, c, TD_CS_BACKOFF);
	td__clock_arm(r->clock, &cr->backoff, td__clock_now(r->clock) + (int64_t)delay);
}

static int wants_retry(struct td_run *r, uint32_t c, const struct td__job *j)
{
	const struct td__tool *tool = call_tool(r, c);

	if (r->cancelled || r->calls[c].cancel || j->no_retry || !failed(j->status))
		return 0;
	if (r->calls[c].attempts > tool->lim.retries)
		return 0;
	if (!r->calls[c].more) {
		r->calls[c].more = td__calloc(tool->lim.retries, sizeof(struct td__attempt));
		if (!r->calls[c].more)
			return 0;
	}
	return 1;
}

static void record_attempt_end(struct td_run *r, uint32_t c, struct td__job *j)
{
	struct td__callrun *cr = &r->calls[c];
	struct td__attempt *a = cr->attempts <= 1 ? &cr->att0 : &cr->more[cr->attempts - 2];

	a->end_us = since_start(r);
	a->status = r->cancelled || cr->cancel ? TD_STATUS_CANCELLED : j->status;
	a->exit_code = j->exit_code;
	a->signal = j->signal;
	a->http_status = j->http_status;
	a->queue_us = j->queue_us;
	a->worker = j->worker;
	j->worker = NULL;
	cr->end_us = a->end_us;
	cr->queue_us += j->queue_us;
	cr->exit_code = j->exit_code;
	cr->signal = j->signal;
	cr->truncated = j->truncated;
}

static void complete(struct td_run *r, struct td__job *j)
{
	uint32_t c = j->call;
	const struct td__tool *tool = call_tool(r, c);
	struct td__toolrun *tr = &r->tools[tool - r->graph->tools];

	record_attempt_end(r, c, j);
	if (r->cancelled || r->calls[c].cancel) {
		finish_msg(r, c, TD_STATUS_CANCELLED, "cancelled");
	} else if (wants_retry(r, c, j)) {
		retry_later(r, c, tool, j->retry_after_us);
	} else {
		set_result(&r->calls[c], j->status, j->content, j->content_len);
		j->content = NULL;
		r->calls[c].blocks = j->blocks;
		j->blocks = NULL;
		if (!r->calls[c].content)
			set_result(&r->calls[c], j->status, td__strdup(""), 0);
		if (!r->calls[c].content)
			set_result(&r->calls[c], TD_STATUS_ERROR, NULL, 0);
		transition(r, c, TD_CS_DONE);
	}
	job_put(r, j);
	/* the slot goes to the next run waiting for this tool (this one among them) */
	if (tr->lim)
		td__pool_lim_wake(tr->lim);
	else if (tr->park_head != TD__NONE && !r->cancelled)
		td__sched_unpark(r, tr);
}

/* Queues j on its own run: a host's backends serve many runs (ud is unused). */
static void job_done(void *ud, struct td__job *j)
{
	struct td_run *r = j->run;

	(void)ud;
	j->next = NULL;
	if (r->completed_tail)
		r->completed_tail->next = j;
	else
		r->completed = j;
	r->completed_tail = j;
	if (!r->done_listed)
		td__pool_note_done(r);
}

int td__sched_complete(struct td_run *r)
{
	int work = 0;

	while (r->completed) {
		struct td__job *j = r->completed;

		r->completed = j->next;
		if (!r->completed)
			r->completed_tail = NULL;
		complete(r, j);
		work++;
	}
	return work;
}

int td__sched_progress(struct td_run *r)
{
	int work = 0, round, started;

	do {
		round = td__sched_complete(r);
		if (!r->cancelled)
			round += td__sched_dispatch(r, TD_DISPATCH_BATCH, &started);
		work += round;
	} while (r->completed);
	return work;
}

/* ---- begin, cancel ---- */

void td__sched_begin(struct td_run *r)
{
	const struct td_plan *p = r->plan;
	uint32_t c, n;

	r->started = 1;
	r->t0 = td__clock_update(r->clock);
	for (n = p->ncalls; n < p->nnodes; n++) /* a barrier with no calls is done already */
		if (!r->pending[n])
			node_done(r, n, 0);
	for (c = 0; c < p->ncalls; c++)
		if (r->batch->calls[c].has_error && r->calls[c].state != TD_CS_DONE)
			finish_msg(r, c, TD_STATUS_ERROR, td__call_error(&r->batch->calls[c]));
	if (dataflow(r)) {
		for (c = 0; c < p->ncalls; c++)
			if (!r->pending[c] && r->calls[c].state == TD_CS_WAITING &&
			    !r->batch->calls[c].has_error)
				transition(r, c, TD_CS_READY);
		return;
	}
	if (p->nlevels) {
		for (n = p->level_off[0]; n < p->level_off[1]; n++)
			if (r->calls[p->order[n]].state == TD_CS_WAITING)
				transition(r, p->order[n], TD_CS_READY);
		open_levels(r);
	}
}

void td__sched_cancel(struct td_run *r)
{
	uint32_t c, t;

	if (r->cancelled)
		return;
	if (!r->started)
		td__sched_begin(r);
	r->cancelled = 1;
	r->nready = 0;
	for (t = 0; t < r->graph->ntools; t++) {
		r->tools[t].park_head = r->tools[t].park_tail = TD__NONE;
	}
	for (c = 0; c < r->plan->ncalls; c++) {
		struct td__callrun *cr = &r->calls[c];

		if (cr->state == TD_CS_RUNNING)
			cr->job->be->kill(cr->job->be, cr->job);
		else if (cr->state != TD_CS_DONE)
			finish_msg(r, c, TD_STATUS_CANCELLED, "cancelled");
	}
}

/*
 * One call: a running job is killed and its outcome replaced by "cancelled"; a call not yet
 * running ends now (a heap or park-queue entry it leaves behind is dropped when reached).
 * Its dependents see a failed dependency.
 */
void td__sched_cancel_call(struct td_run *r, uint32_t c)
{
	struct td__callrun *cr = &r->calls[c];

	if (!r->started)
		td__sched_begin(r);
	if (cr->state == TD_CS_DONE || cr->cancel)
		return;
	cr->cancel = 1;
	if (cr->state == TD_CS_RUNNING)
		cr->job->be->kill(cr->job->be, cr->job);
	else
		finish_msg(r, c, TD_STATUS_CANCELLED, "cancelled");
}

int td__sched_can_start(const struct td_run *r)
{
	return !r->cancelled && r->nready && slot_free(r, call_tool(r, r->ready[0]));
}

int td__sched_finished(const struct td_run *r)
{
	return r->started && !r->open && r->ndone == r->plan->ncalls && !r->inflight &&
	       !r->completed;
}

/* ---- ranks: the ready heap's order (prio.c) ---- */

/* Longest first inside a level when durations are known; under critical, the best of the
 * priority rules played on this run's slots. Without ranks, batch order. */
static int compute_ranks(struct td_run *r)
{
	size_t nn = r->plan->nnodes ? r->plan->nnodes : 1;
	int critical = r->opts.schedule == TD_SCHEDULE_CRITICAL;

	if (!critical && (r->opts.schedule != TD_SCHEDULE_LEVEL ||
	                  (!r->cost_us && !td__prio_declares(r->plan)))) {
		td__free(r->rank);
		r->rank = NULL;
		return 0;
	}
	if (!r->rank && !(r->rank = td__calloc(nn, sizeof(*r->rank))))
		return TD_ENOMEM;
	return td__prio_rank(r->plan, critical, r->cost_us, r->limit, r->rank, NULL);
}

int td__sched_set_costs(struct td_run *r, const int64_t *cost_us)
{
	r->cost_us = cost_us;
	return compute_ranks(r);
}

int td__sched_learn(struct td_run *r)
{
	if (!r->took_us && !(r->took_us = td__calloc((size_t)r->plan->ncalls + 1, sizeof(int64_t))))
		return TD_ENOMEM;
	return 0;
}

/* ---- setup ---- */

static int alloc_arrays(struct td_run *r)
{
	const struct td_plan *p = r->plan;
	size_t nc = p->ncalls ? p->ncalls : 1;

	r->calls = td__calloc(nc, sizeof(*r->calls));
	r->tools = td__calloc(r->graph->ntools ? r->graph->ntools : 1, sizeof(*r->tools));
	r->pending = td__calloc(p->nnodes ? p->nnodes : 1, sizeof(*r->pending));
	r->failed_pred = td__malloc((p->nnodes ? p->nnodes : 1) * sizeof(*r->failed_pred));
	r->level_left = td__calloc(p->nlevels ? p->nlevels : 1, sizeof(*r->level_left));
	r->ready = td__calloc(nc, sizeof(*r->ready));
	if (!r->calls || !r->tools || !r->pending || !r->failed_pred || !r->level_left || !r->ready)
		return TD_ENOMEM;
	return 0;
}

void td__sched_init_call(struct td_run *r, uint32_t i)
{
	memset(&r->calls[i], 0, sizeof(r->calls[i]));
	r->calls[i].run = r;
	r->calls[i].start_us = r->calls[i].end_us = -1;
	r->calls[i].exit_code = -1;
	r->calls[i].status = TD_STATUS_PENDING;
	r->calls[i].backoff.fn = backoff_fired;
}

int td__sched_init(struct td_run *r)
{
	const struct td_plan *p = r->plan;
	uint32_t i;

	/* at most one timer per call (job deadline, sleep or backoff) and one per tool (rate) are
	 * armed at once: with room for all (the pool reserves it, td__pool_join()), arming never
	 * fails and no call can be stranded */
	if (alloc_arrays(r) < 0 || compute_ranks(r) < 0)
		return TD_ENOMEM;
	for (i = 0; i < p->nnodes; i++) {
		r->pending[i] = p->pred_off[i + 1] - p->pred_off[i];
		r->failed_pred[i] = TD__NONE;
	}
	for (i = 0; i < p->nlevels; i++)
		r->level_left[i] = p->level_off[i + 1] - p->level_off[i];
	for (i = 0; i < p->ncalls; i++)
		td__sched_init_call(r, i);
	for (i = 0; i < r->graph->ntools; i++) {
		struct td__toolrun *tr = &r->tools[i];

		tr->run = r;
		tr->index = i;
		tr->park_head = tr->park_tail = TD__NONE;
	}
	return 0;
}

/* The worker names of a call's attempts (remote tools). */
static void free_workers(struct td__callrun *cr)
{
	unsigned i;

	td__free(cr->att0.worker);
	for (i = 1; cr->more && i < cr->attempts; i++)
		td__free(cr->more[i - 1].worker);
}

void td__sched_fini(struct td_run *r)
{
	struct td__job *j;
	uint32_t i;

	if (r->calls)
		for (i = 0; i < r->plan->ncalls; i++) {
			td__free(r->calls[i].content);
			td__free(r->calls[i].blocks);
			free_workers(&r->calls[i]);
			td__free(r->calls[i].more);
			if (r->calls[i].state == TD_CS_RUNNING) /* a backend that never answered */
				job_put(r, r->calls[i].job);
		}
	while ((j = r->free_jobs)) {
		r->free_jobs = j->next;
		td__free(j);
	}
	td__free(r->calls);
	td__free(r->tools);
	td__free(r->pending);
	td__free(r->failed_pred);
	td__free(r->level_left);
	td__free(r->ready);
	td__free(r->deps);
	td__free(r->rank);
	td__free(r->took_us);
}

void td__sched_attach(struct td_run *r, struct td__backend *be)
{
	be->done = job_done;
	be->ud = r;
}

/* ---- a run fed by a stream (run/feed.c): calls join while it runs ---- */

void td__sched_admit(struct td_run *r, uint32_t c, int start)
{
	if (start)
		r->level_left[0]++;
	if (r->cancelled)
		finish_msg(r, c, TD_STATUS_CANCELLED, "cancelled");
	else if (start)
		transition(r, c, TD_CS_READY);
}

/* What the final plan releases, as td__sched_begin() does for a run that was never open. */
static void release(struct td_run *r)
{
	const struct td_plan *p = r->plan;
	uint32_t c, n;

	for (c = 0; c < p->ncalls; c++)
		if (r->calls[c].state == TD_CS_WAITING && r->batch->calls[c].has_error)
			finish_msg(r, c, TD_STATUS_ERROR, td__call_error(&r->batch->calls[c]));
		else if (r->calls[c].state == TD_CS_WAITING && r->cancelled)
			finish_msg(r, c, TD_STATUS_CANCELLED, "cancelled");
	if (r->cancelled)
		return;
	if (dataflow(r)) {
		for (c = 0; c < p->ncalls; c++)
			if (!r->pending[c] && r->calls[c].state == TD_CS_WAITING)
				transition(r, c, TD_CS_READY);
		return;
	}
	for (n = p->level_off[0]; p->nlevels && n < p->level_off[1]; n++)
		if (r->calls[p->order[n]].state == TD_CS_WAITING)
			transition(r, p->order[n], TD_CS_READY);
	open_levels(r);
}

int td__sched_replan(struct td_run *r)
{
	const struct td_plan *p = r->plan;
	uint32_t c, n, i;

	for (n = 0; n < p->nnodes; n++) {
		r->pending[n] = p->pred_off[n + 1] - p->pred_off[n];
		r->failed_pred[n] = TD__NONE;
	}
	for (n = 0; n < p->nlevels; n++) {
		r->level_left[n] = 0;
		for (i = p->level_off[n]; i < p->level_off[n + 1]; i++)
			r->level_left[n] += r->calls[p->order[i]].state != TD_CS_DONE;
	}
	r->cur_level = 0;
	r->open = 0;
	if (compute_ranks(r) < 0)
		return TD_ENOMEM;
	r->nready = 0; /* again, in rank order; entries of calls no longer ready go */
	for (c = 0; c < p->ncalls; c++)
		if (r->calls[c].state == TD_CS_READY)
			heap_push(r, c);
	/* what already finished tells its successors, as it would have in a run never open */
	for (n = p->ncalls; n < p->nnodes; n++)
		if (!r->pending[n])
			node_done(r, n, 0);
	for (c = 0; c < p->ncalls; c++)
		if (r->calls[c].state == TD_CS_DONE)
			node_done(r, c, failed(r->calls[c].status));
	release(r);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * feed.c - a run fed by a streamed model response while the model still writes it.
 *
 * The run is created open over the calls known so far (none): each call the stream completes
 * joins it at the end of its batch, in block order, and starts at once when nothing that may
 * still arrive can precede it: its tool has no tool-level depends_on (a streamed call carries
 * no explicit depends_on: the APIs' events have no such member). Such a call has no
 * predecessor whatever else arrives, so it is in level 0 of the final plan under every policy.
 * The other calls wait. While open the run's plan is one the run owns here: no edges, level 0
 * holding the calls started at once, the others in no level.
 *
 * At the stream's end the calls are decoded as one document (td_stream_finish()), exactly as
 * the same stream read whole, and planned as usual; the run carries over onto that plan: the
 * calls taken while it streamed are its first calls, in the same order, so every call keeps
 * its index and its state, and sched.c counts dependencies and levels anew and releases the
 * rest (td__sched_replan()). Level 1 starts only once the stream ended and level 0 is done.
 */
#include <string.h>

#include "calls/stream.h"
#include "run/run.h"

struct td__feed {
	struct td_stream *stream;
	/* the calls taken while the stream went on; jobs started then point into it, so it
	 * lives as long as the run */
	struct td_batch *taken;
	struct td_plan *open;   /* over `taken` while open */
	uint32_t cap;           /* calls the open plan and the run have room for */
	struct td_batch *batch; /* the whole stream's batch; NULL: `taken` stands for it */
	struct td_plan *plan;   /* the final plan, once the stream ended */
	int64_t end_us;         /* when the stream ended, from the run's start; -1 before */
};

/* ---- room ---- */

/* Reallocates *v to n elements of size sz (at least one). */
static int regrow(void *v, size_t n, size_t sz)
{
	void *p = td__reallocarray(*(void **)v, n ? n : 1, sz);

	if (!p)
		return TD_ENOMEM;
	*(void **)v = p;
	return 0;
}

/* The calls move: their backoff timers are taken off the clock and put back at their place. */
static int grow_calls(struct td_run *r, uint32_t used, uint32_t ncalls)
{
	uint32_t c;
	int err;

	for (c = 0; c < used; c++)
		if (r->calls[c].state == TD_CS_BACKOFF)
			td__clock_disarm(r->clock, &r->calls[c].backoff);
	err = regrow(&r->calls, ncalls, sizeof(*r->calls));
	for (c = 0; c < used; c++)
		if (r->calls[c].state == TD_CS_BACKOFF)
			td__clock_arm(r->clock, &r->calls[c].backoff, r->calls[c].backoff.when);
	for (c = used; !err && c < ncalls; c++)
		td__sched_init_call(r, c);
	return err;
}

int td__sched_grow(struct td_run *r, uint32_t used, uint32_t ncalls, uint32_t nnodes,
                   uint32_t nlevels)
{
	uint32_t n, old = r->plan->nnodes;

	if (grow_calls(r, used, ncalls) < 0 || regrow(&r->pending, nnodes, sizeof(uint32_t)) < 0 ||
	    regrow(&r->failed_pred, nnodes, sizeof(uint32_t)) < 0 ||
	    regrow(&r->level_left, nlevels, sizeof(uint32_t)) < 0 ||
	    regrow(&r->ready, ncalls, sizeof(uint32_t)) < 0 ||
	    regrow(&r->finish_order, ncalls, sizeof(uint32_t)) < 0)
		return TD_ENOMEM;
	if (r->took_us && regrow(&r->took_us, ncalls, sizeof(*r->took_us)) < 0)
		return TD_ENOMEM;
	for (n = used; r->took_us && n < ncalls; n++)
		r->took_us[n] = 0;
	for (n = old; n < nnodes; n++) {
		r->pending[n] = 0;
		r->failed_pred[n] = TD__NONE;
	}
	/* ranks stand for a whole plan: none while calls still join (batch order), and the
	 * history's costs were sized for the plan it saw (the final plan is ranked as if no
	 * duration were known) */
	td__free(r->rank);
	r->rank = NULL;
	r->cost_us = NULL;
	return 0;
}

/* The run's plan is to hold n calls: the pool keeps room in its clock for a timer per call of
 * each run (td__pool_join()), counted by the plan the run has when it leaves. */
static int set_calls(struct td_run *r, uint32_t n)
{
	struct td__pool *p = r->pool;
	uint32_t timers = p->timers - r->plan->ncalls + n;

	if (td__clock_reserve(p->clock, timers) < 0)
		return TD_ENOMEM;
	p->timers = timers;
	return 0;
}

static int zero_grow(uint32_t **v, uint32_t used, uint32_t n)
{
	if (regrow(v, n, sizeof(**v)) < 0)
		return TD_ENOMEM;
	memset(*v + used, 0, (n - used) * sizeof(**v));
	return 0;
}

/* Doubles the room of the open plan and of the run's per-call state. */
static int grow_open(struct td_run *r, struct td__feed *f)
{
	struct td_plan *p = f->open;
	uint32_t cap = f->cap ? 2 * f->cap : 8;

	if (zero_grow(&p->pred_off, f->cap + 1, cap + 1) < 0 ||
	    zero_grow(&p->succ_off, f->cap + 1, cap + 1) < 0 ||
	    regrow(&p->level, cap, sizeof(*p->level)) < 0 ||
	    regrow(&p->order, cap, sizeof(*p->order)) < 0 ||
	    td__sched_grow(r, p->ncalls, cap, cap, 1) < 0)
		return TD_ENOMEM;
	f->cap = cap;
	return 0;
}

/* ---- the open run ---- */

void td__feed_free(struct td__feed *f)
{
	if (!f)
		return;
	td_stream_free(f->stream);
	td_plan_free(f->plan);
	td_plan_free(f->open);
	td_batch_free(f->batch);
	td_batch_free(f->taken);
	td__free(f);
}

int td__feed_new(const struct td_graph *graph, enum td_dialect dialect, const char *name,
                 struct td__feed **out)
{
	struct td__feed *f = td__calloc(1, sizeof(*f));
	struct td_plan *p;
	int err;

	*out = NULL;
	if (!f)
		return TD_ENOMEM;
	f->end_us = -1;
	err = td_stream_new(dialect, name, &f->stream);
	/* the dialect is settled by the stream's first call event; the batch takes it then */
	if (!err && !(f->taken = td__batch_alloc(graph, dialect, name)))
		err = TD_ENOMEM;
	if (!err && !(f->open = p = td__calloc(1, sizeof(*p))))
		err = TD_ENOMEM;
	if (!err) {
		p->batch = f->taken;
		p->nlevels = 1;
		p->level_off = td__calloc(2, sizeof(*p->level_off));
		p->pred_off = td__calloc(1, sizeof(*p->pred_off));
		p->succ_off = td__calloc(1, sizeof(*p->succ_off));
		err = p->level_off && p->pred_off && p->succ_off ? 0 : TD_ENOMEM;
	}
	if (err) {
		td__feed_free(f);
		return err;
	}
	*out = f;
	return 0;
}

const struct td_plan *td__feed_plan(const struct td__feed *f)
{
	return f->open;
}

int64_t td__feed_end_us(const struct td_run *r)
{
	return r->feed ? r->feed->end_us : -1;
}

/* Call c (the last one taken) joins the open run. */
static int admit(struct td_run *r, struct td__feed *f)
{
	struct td_plan *p = f->open;
	uint32_t c = p->ncalls;
	const struct td__call *call = &f->taken->calls[c];
	int start = !call->has_error && call->tool >= 0 && !r->graph->tools[call->tool].ndeps;

	if ((c >= f->cap && grow_open(r, f) < 0) || set_calls(r, c + 1) < 0)
		return TD_ENOMEM;
	p->level[c] = start ? 0 : -1;
	if (start)
		p->order[p->level_off[1]++] = c;
	p->ncalls = p->nnodes = c + 1;
	if (td__observe_grow(r, c) < 0)
		return TD_ENOMEM;
	td__sched_admit(r, c, start);
	return 0;
}

int td_run_feed(struct td_run *run, const char *bytes, size_t len)
{
	struct td__feed *f;
	int n, err;

	if (!run || (!bytes && len))
		return TD_EINVAL;
	if (!(f = run->feed) || !run->open)
		return TD_ESTATE;
	if (!run->started)
		td__sched_begin(run);
	n = td_stream_feed(f->stream, bytes, len);
	if (n == TD_ENOMEM)
		return n;
	f->taken->dialect = td__stream_dialect(f->stream);
	while ((err = td__stream_take(f->stream, f->taken)) == 1)
		if ((err = admit(run, f)) < 0)
			return err;
	if (err < 0)
		return err;
	return n < 0 ? n : (int)f->open->ncalls;
}

/* ---- the end of the stream ---- */

static int same_call(const struct td_batch *a, const struct td_batch *b, uint32_t i)
{
	const struct td__call *x = &a->calls[i], *y = &b->calls[i];
	const char *ex = td__call_error(x), *ey = td__call_error(y);

	return strcmp(x->id, y->id) == 0 && x->tool == y->tool && x->input_len == y->input_len &&
	       strcmp(td__call_input(x), td__call_input(y)) == 0 && !ex == !ey &&
	       (!ex || strcmp(ex, ey) == 0);
}

/* The whole stream's batch, or NULL when it is refused or does not begin with the calls
 * that already joined the run (a call that looked whole grew, or one came in before them). */
static int final_batch(struct td__feed *f, const struct td_graph *g, struct td_diag *diag)
{
	int rc = td_stream_finish(f->stream, g, &f->batch, diag);
	uint32_t i, n = (uint32_t)f->taken->ncalls;

	for (i = 0; f->batch && i < n; i++)
		if (i >= f->batch->ncalls || !same_call(f->taken, f->batch, i)) {
			td__diag_add(diag, TD_EBATCH, f->taken->name, 0, 0,
			             "the stream changed call '%.80s' after it had started: only "
			             "the %u call%s taken before run%s",
			             f->taken->calls[i].id, n, n == 1 ? "" : "s",
			             n == 1 ? "s" : "");
			td_batch_free(f->batch);
			f->batch = NULL;
			return TD_EBATCH;
		}
	return rc;
}

/* The run moves onto the final plan (the same calls first, with their states). */
static int carry_over(struct td_run *r, struct td__feed *f, struct td_diag *diag)
{
	const struct td_batch *b = f->batch ? f->batch : f->taken;
	uint32_t used = f->open->ncalls;
	int err = td_plan_new(b, &f->plan, diag);

	if (!err)
		err = td__sched_grow(r, used, f->plan->ncalls, f->plan->nnodes, f->plan->nlevels);
	if (!err)
		err = set_calls(r, f->plan->ncalls);
	if (err) {
		r->open = 0; /* what was taken ends cancelled: the run can finish */
		td__sched_cancel(r);
		return err;
	}
	r->batch = b;
	r->plan = f->plan;
	if ((err = td__observe_grow(r, used)) < 0 || (err = td__sched_replan(r)) < 0) {
		td__sched_cancel(r);
		return err;
	}
	td__observe_settle(r);
	return 0;
}

int td_run_feed_end(struct td_run *run, struct td_diag *diag)
{
	struct td__feed *f;
	int rc, err;

	if (!run)
		return TD_EINVAL;
	if (!(f = run->feed) || !run->open)
		return TD_ESTATE;
	if (!run->started)
		td__sched_begin(run);
	f->end_us = td__clock_update(run->clock) - run->t0;
	rc = final_batch(f, run->graph, diag);
	err = carry_over(run, f, diag);
	return err ? err : rc;
}

const struct td_batch *td_run_batch(const struct td_run *run)
{
	return run ? run->batch : NULL;
}

const struct td_plan *td_run_plan(const struct td_run *run)
{
	return run ? run->plan : NULL;
}

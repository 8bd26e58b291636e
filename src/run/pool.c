/* SPDX-License-Identifier: MIT */
/*
 * pool.c - runs that share one driver, one clock, the backends and the limits (run.h: struct
 * td__pool). A host (exec/host.c) is a pool with an event loop; a run made alone has a pool of
 * its own. Stepping the pool steps every run on it: completions first, then starts taken in
 * turns, one per run with a startable call per round, each round beginning where the last
 * one stopped.
 */
#include <string.h>

#include "run/run.h"

void td__pool_init(struct td__pool *p, struct td__clock *clock)
{
	memset(p, 0, sizeof(*p));
	p->clock = clock;
	p->fd_room = UINT64_MAX;
}

void td__pool_set_backend(struct td__pool *p, enum td__kind kind, struct td__backend *be)
{
	p->backend[kind] = be;
	be->clock = p->clock;
	td__sched_attach(NULL, be);
}

void td__pool_fini(struct td__pool *p)
{
	unsigned k;

	/* before the driver: a backend may clean up requests on its loop (curl's sockets) */
	for (k = TD__KINDS; k-- > 0;)
		if (p->backend[k]) {
			p->backend[k]->free(p->backend[k]);
			p->backend[k] = NULL;
		}
	if (p->drv)
		p->drv->free(p->drv_ctx);
	p->drv = NULL;
}

/* ---- limited tools' budgets, shared by the runs of one graph (or a run's own: scope: run) ---- */

static void lim_timer_fired(struct td__timer *t)
{
	td__pool_lim_wake(
	    (struct td__toollim *)((char *)t - offsetof(struct td__toollim, rate_timer)));
}

void td__pool_lim_wake(struct td__toollim *lim)
{
	struct td__toolrun *tr = lim->cursor;
	uint32_t i;

	for (i = 0; tr && i < lim->refs; i++, tr = tr->lim_next)
		if (tr->park_head != TD__NONE && !tr->run->cancelled) {
			lim->cursor = tr->lim_next; /* the next wake starts after this one */
			td__sched_unpark(tr->run, tr);
			return;
		}
}

/* The budget of tool for run r: the host's, or r's own under `scope: run`. */
static struct td__toollim *lim_get(struct td__pool *p, const struct td__tool *tool,
                                   const struct td_run *r)
{
	const struct td_run *owner = tool->lim.per_run ? r : NULL;
	struct td__toollim *lim;

	for (lim = p->lims; lim; lim = lim->next)
		if (lim->tool == tool && lim->owner == owner)
			return lim;
	lim = td__calloc(1, sizeof(*lim));
	if (!lim)
		return NULL;
	lim->tool = tool;
	lim->owner = owner;
	lim->rate_timer.fn = lim_timer_fired;
	lim->credit =
	    tool->lim.rate_count ? (double)tool->lim.rate_period_us / tool->lim.rate_count : 0;
	lim->credit_at = td__clock_now(p->clock);
	lim->next = p->lims;
	p->lims = lim;
	return lim;
}

static void lim_join(struct td__toollim *lim, struct td__toolrun *tr)
{
	tr->lim = lim;
	if (!lim->cursor) {
		tr->lim_next = tr->lim_prev = tr;
		lim->cursor = tr;
	} else {
		tr->lim_next = lim->cursor;
		tr->lim_prev = lim->cursor->lim_prev;
		tr->lim_prev->lim_next = tr;
		lim->cursor->lim_prev = tr;
	}
	lim->refs++;
}

static void lim_leave(struct td__pool *p, struct td__toolrun *tr)
{
	struct td__toollim *lim = tr->lim, **link;

	tr->lim = NULL;
	if (--lim->refs) {
		if (lim->cursor == tr)
			lim->cursor = tr->lim_next;
		tr->lim_prev->lim_next = tr->lim_next;
		tr->lim_next->lim_prev = tr->lim_prev;
		return;
	}
	td__clock_disarm(p->clock, &lim->rate_timer);
	for (link = &p->lims; *link != lim; link = &(*link)->next)
		;
	*link = lim->next;
	td__free(lim);
}

static int limited(const struct td__tool *t)
{
	return t->lim.concurrency || (t->lim.rate_count && t->lim.rate_period_us > 0);
}

static uint32_t timers_of(const struct td_run *r)
{
	return r->plan->ncalls + (uint32_t)r->graph->ntools + 1;
}

int td__pool_join(struct td__pool *p, struct td_run *r)
{
	uint32_t t;

	if (td__clock_reserve(p->clock, p->timers + timers_of(r)) < 0)
		return TD_ENOMEM;
	for (t = 0; t < r->graph->ntools; t++) {
		struct td__toollim *lim;

		if (!limited(&r->graph->tools[t]))
			continue;
		if (!(lim = lim_get(p, &r->graph->tools[t], r))) {
			while (t-- > 0)
				if (r->tools[t].lim)
					lim_leave(p, &r->tools[t]);
			return TD_ENOMEM;
		}
		lim_join(lim, &r->tools[t]);
	}
	p->timers += timers_of(r);
	if (!p->cursor) {
		r->pool_next = r->pool_prev = r;
		p->cursor = r;
	} else { /* last in the ring: just before the cursor */
		r->pool_next = p->cursor;
		r->pool_prev = p->cursor->pool_prev;
		r->pool_prev->pool_next = r;
		p->cursor->pool_prev = r;
	}
	p->nruns++;
	r->serial = ++p->serials;
	return 0;
}

void td__pool_note_done(struct td_run *r)
{
	struct td__pool *p = r->pool;

	r->done_listed = 1;
	r->done_next = NULL;
	if (p->done_tail)
		p->done_tail->done_next = r;
	else
		p->done_head = r;
	p->done_tail = r;
}

static void unlist_done(struct td__pool *p, struct td_run *r)
{
	struct td_run **link = &p->done_head, *prev = NULL;

	while (*link && *link != r) {
		prev = *link;
		link = &prev->done_next;
	}
	if (!*link)
		return;
	*link = r->done_next;
	if (p->done_tail == r)
		p->done_tail = prev;
	r->done_listed = 0;
}

void td__pool_leave(struct td__pool *p, struct td_run *r)
{
	uint32_t t;

	if (r->done_listed)
		unlist_done(p, r);
	if (!r->pool_next)
		return; /* never joined */
	for (t = 0; r->tools && t < r->graph->ntools; t++)
		if (r->tools[t].lim)
			lim_leave(p, &r->tools[t]);
	p->timers -= timers_of(r);
	p->nruns--;
	if (p->cursor == r)
		p->cursor = p->nruns ? r->pool_next : NULL;
	r->pool_prev->pool_next = r->pool_next;
	r->pool_next->pool_prev = r->pool_prev;
	r->pool_next = r->pool_prev = NULL;
}

int td__pool_turn(struct td__pool *p, int wait)
{
	return p->drv ? p->drv->turn(p->drv_ctx, wait) : td__clock_turn(p->clock, wait);
}

static int slot_left(const struct td__pool *p)
{
	return !p->limit || p->inflight < p->limit;
}

/* One start per run per round while the pool has slots; the next round, and the next call,
 * begin after the last run served. */
static int fair_dispatch(struct td__pool *p)
{
	int work = 0, total = 0, any;

	do {
		uint32_t i, n = p->nruns;

		any = 0;
		for (i = 0; i < n && total < TD_DISPATCH_BATCH && slot_left(p); i++) {
			struct td_run *r = p->cursor;
			int started = 0;

			p->cursor = r->pool_next;
			if (!r->started || r->cancelled || !r->nready)
				continue;
			work += td__sched_dispatch(r, 1, &started);
			total += started;
			any |= started;
		}
	} while (any && total < TD_DISPATCH_BATCH && slot_left(p));
	return work;
}

int td__pool_progress(struct td__pool *p)
{
	int work = 0, round;

	do {
		struct td_run *r;

		round = 0;
		while ((r = p->done_head)) {
			p->done_head = r->done_next;
			if (!p->done_head)
				p->done_tail = NULL;
			r->done_listed = 0;
			round += td__sched_complete(r);
		}
		round += fair_dispatch(p);
		work += round;
	} while (p->done_head);
	return work;
}

static int can_start(const struct td__pool *p)
{
	const struct td_run *r = p->cursor;
	uint32_t i;

	for (i = 0; i < p->nruns; i++, r = r->pool_next)
		if (td__sched_can_start(r))
			return 1;
	return 0;
}

int td__pool_step(struct td__pool *p)
{
	struct td_run *r = p->cursor;
	uint32_t i;
	int n, left = 0;

	for (i = 0; i < p->nruns; i++, r = r->pool_next)
		if (!r->started)
			td__sched_begin(r);
	do {
		n = td__pool_turn(p, 0);
		if (n < 0)
			return n;
		n += td__pool_progress(p);
	} while (n > 0 && (td__clock_next_deadline(p->clock) == 0 || can_start(p)));
	/* what the scheduler queued must reach the kernel before the host polls our fd */
	n = p->drv ? p->drv->submit(p->drv_ctx) : 0;
	if (n < 0 && n != -EBUSY)
		return n;
	for (i = 0, r = p->cursor; i < p->nruns && !left; i++, r = r->pool_next)
		left = !td__sched_finished(r);
	return left;
}

int td__pool_stalled(const struct td__pool *p)
{
	const struct td_run *r = p->cursor;
	uint32_t i;
	int left = 0;

	if (p->done_head)
		return 0;
	for (i = 0; i < p->nruns && !left; i++, r = r->pool_next)
		left = !td__sched_finished(r);
	if (!left || (p->drv && p->drv->inflight(p->drv_ctx)) ||
	    td__clock_next_deadline(p->clock) >= 0 || can_start(p))
		return 0;
	for (i = 0, r = p->cursor; i < p->nruns; i++, r = r->pool_next)
		if (r->open) /* it waits for its host's stream: td_run_feed() may move it */
			return 0;
	return 1;
}

int td__pool_timeout(const struct td__pool *p)
{
	const struct td_run *r = p->cursor;
	int64_t due, d;
	uint32_t i;
	int left = 0;

	if (p->done_head)
		return 0;
	for (i = 0; i < p->nruns; i++, r = r->pool_next) {
		if (!r->started)
			return 0;
		left |= !td__sched_finished(r);
	}
	if (can_start(p))
		return 0;
	if (!left)
		return -1;
	due = td__clock_next_deadline(p->clock);
	if (due < 0)
		return td__pool_stalled(p) ? TD_ESTATE : -1; /* waiting would never end */
	if (!p->drv)                                         /* virtual time: the next step jumps */
		return 0;
	d = due - td__now_us();
	if (d <= 0)
		return 0;
	/* round up: waking early only costs a spurious step, waking late costs lateness */
	d = (d + 999) / 1000;
	return d > 0x7fffffff ? 0x7fffffff : (int)d;
}

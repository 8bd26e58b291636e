/* SPDX-License-Identifier: MIT */
/*
 * run.c - the public td_run_* API over the scheduler: creating a run's state (the loop and
 * the backends are exec's: exec/runner.c), the embeddable step (fd, timeout, step), the
 * blocking wait as a thin loop over it, cancellation, teardown that kills and reaps what is
 * left, and result accessors. With no driver every turn is a turn of the clock, in virtual
 * time.
 */
#include <string.h>

#include "run/run.h"

const char *td_status_name(enum td_status status)
{
	switch (status) {
	case TD_STATUS_PENDING:
		return "pending";
	case TD_STATUS_RUNNING:
		return "running";
	case TD_STATUS_OK:
		return "ok";
	case TD_STATUS_ERROR:
		return "error";
	case TD_STATUS_TIMEOUT:
		return "timeout";
	case TD_STATUS_SKIPPED:
		return "skipped";
	case TD_STATUS_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

static uint64_t seed_from(const struct td_run_opts *opts)
{
	uint64_t s = opts->seed ? opts->seed : (uint64_t)td__now_us() * 0x9e3779b97f4a7c15ULL;

	return s ? s : 1; /* xorshift must not start at 0 */
}

static void apply_opts(struct td_run *r, const struct td_run_opts *opts)
{
	struct td_run_opts none = {0};

	r->opts = opts ? *opts : none;
	if (!r->opts.kill_grace_ms)
		r->opts.kill_grace_ms = TD_DEFAULT_KILL_GRACE_MS;
	r->limit = r->opts.concurrency ? r->opts.concurrency : r->graph->concurrency;
	if (!r->limit)
		r->limit = TD_DEFAULT_CONCURRENCY;
	r->rng = seed_from(&r->opts);
}

/* The writers td_run_opts brings (report/): each object begins with a td__run_hook. */
static int attach_hooks(struct td_run *r)
{
	const void *hooked[] = {r->opts.record, r->opts.history};
	size_t i;
	int err = 0;

	for (i = 0; !err && i < sizeof(hooked) / sizeof(hooked[0]); i++)
		if (hooked[i])
			err = ((const struct td__run_hook *)hooked[i])->attach(hooked[i], r);
	return err;
}

int td__run_create(const struct td_plan *plan, const struct td_run_opts *opts,
                   struct td__pool *pool, struct td_run **out, struct td_diag *diag)
{
	struct td_run *r;
	int err;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!plan || !plan->batch || !plan->batch->graph)
		return TD_EINVAL;
	if (plan->batch->graph->env_kept) {
		td__diag_add(
		    diag, TD_EINVAL, plan->batch->graph->name, 0, 0,
		    "the graph was loaded without its ${NAME} variables (TD_LOAD_KEEP_ENV) "
		    "and cannot run");
		return TD_EINVAL;
	}
	r = td__calloc(1, sizeof(*r));
	if (!r)
		return TD_ENOMEM;
	r->plan = plan;
	r->batch = plan->batch;
	r->graph = plan->batch->graph;
	td__clock_init(&r->own_clock);
	td__clock_set_virtual(&r->own_clock);
	td__pool_init(&r->own_pool, &r->own_clock);
	r->pool = pool ? pool : &r->own_pool;
	r->clock = r->pool->clock;
	apply_opts(r, opts);
	err = td__sched_init(r);
	if (!err)
		err = td__pool_join(r->pool, r);
	if (!err) {
		r->finish_order = td__calloc(plan->ncalls ? plan->ncalls : 1, sizeof(uint32_t));
		err = r->finish_order ? 0 : TD_ENOMEM;
	}
	if (!err)
		err = attach_hooks(r);
	if (err) {
		td_run_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int td__run_set_backend(struct td_run *r, enum td__kind kind, struct td__backend *be)
{
	if ((unsigned)kind >= TD__KINDS || r->backend[kind])
		return TD_EINVAL;
	r->backend[kind] = be;
	be->clock = r->clock;
	td__sched_attach(r, be);
	return 0;
}

int td__run_new_fake(const struct td_plan *plan, const struct td_run_opts *opts,
                     struct td__backend *fake, struct td_run **out, struct td_diag *diag)
{
	int err = td__run_create(plan, opts, NULL, out, diag);

	if (err)
		return err;
	(*out)->fake = fake;
	fake->clock = (*out)->clock;
	td__sched_attach(*out, fake);
	return 0;
}

/* ---- driving ---- */

/* A run on a host is driven by the host: its fd, timeout and step are the host's (every run
 * on it moves), its step's result and a timeout once it is done are its own. */

int td_run_fd(const struct td_run *run)
{
	if (!run)
		return TD_EINVAL;
	return run->pool->drv ? run->pool->drv->fd(run->pool->drv_ctx)
	                      : TD_ESTATE; /* virtual time: nothing to poll */
}

int td_run_timeout(const struct td_run *run)
{
	if (!run)
		return TD_EINVAL;
	if (run->started && !run->completed && td__sched_finished(run))
		return -1;
	return td__pool_timeout(run->pool);
}

int td_run_step(struct td_run *run)
{
	int r;

	if (!run)
		return TD_EINVAL;
	r = td__pool_step(run->pool);
	if (r < 0)
		return r;
	return td__sched_finished(run) ? 0 : 1;
}

int td_run_wait(struct td_run *run)
{
	int r;

	if (!run)
		return TD_EINVAL;
	if (run->open) /* only the host can end the stream (td_run_feed_end) */
		return TD_ESTATE;
	while ((r = td_run_step(run)) == 1) {
		/* nothing anywhere on the pool can move: nothing would ever finish this run */
		if (td__pool_stalled(run->pool))
			return TD_ESTATE;
		r = td__pool_turn(run->pool, 1);
		if (r < 0)
			return r;
		td__pool_progress(run->pool);
	}
	return r;
}

void *td_run_userdata(const struct td_run *run)
{
	return run ? run->opts.userdata : NULL;
}

void td_run_cancel(struct td_run *run)
{
	if (run)
		td__sched_cancel(run);
}

int td_run_cancel_call(struct td_run *run, size_t call)
{
	if (!run || call >= run->plan->ncalls)
		return TD_EINVAL;
	td__sched_cancel_call(run, (uint32_t)call);
	return 0;
}

int td_run_cancel_id(struct td_run *run, const char *id)
{
	uint32_t c;

	if (!run || !id)
		return TD_EINVAL;
	if (!td__batch_find(run->batch, id, &c))
		return TD_ENOTFOUND;
	td__sched_cancel_call(run, c);
	return 0;
}

int td_run_next_finished(struct td_run *run)
{
	if (!run)
		return TD_EINVAL;
	if (run->next_finished >= run->nfinished)
		return TD_ENOTFOUND;
	return (int)run->finish_order[run->next_finished++];
}

/* Kills whatever still runs at once and waits until every job came back (all reaped): jobs
 * of functions, built-ins and HTTP come back at once, processes once SIGKILL reaped them. */
static void drain(struct td_run *r)
{
	uint32_t c;

	if (!r->started || !r->calls)
		return;
	td__sched_cancel(r);
	td__sched_progress(r);
	for (c = 0; c < r->plan->ncalls; c++)
		if (r->calls[c].state == TD_CS_RUNNING)
			r->calls[c].job->be->kill_now(r->calls[c].job->be, r->calls[c].job);
	while (!td__sched_finished(r) && (r->completed || !td__pool_stalled(r->pool))) {
		if (!r->completed && td__pool_turn(r->pool, 1) < 0)
			break;
		td__sched_progress(r);
	}
}

void td_run_free(struct td_run *run)
{
	unsigned k;

	if (!run)
		return;
	td__observe_free(run); /* before drain(): its cancellations are not news to anyone */
	run->open = 0;         /* a stream that did not end: no more calls come */
	drain(run);
	td__pool_leave(run->pool, run);
	td__sched_fini(run);
	td__free(run->finish_order);
	/* before the pool's: mcp's free turns the loop while its servers shut down */
	for (k = TD__KINDS; k-- > 0;)
		if (run->backend[k])
			run->backend[k]->free(run->backend[k]);
	if (run->pool == &run->own_pool)
		td__pool_fini(&run->own_pool);
	else if (run->pool->owner == run)
		run->pool->release(run->pool); /* td_run_new()'s private host */
	td__clock_fini(&run->own_clock);
	td__feed_free(run->feed); /* last: what ran early, and the plan, point into it */
	td__free(run);
}

/* ---- results ---- */

int td_run_result(const struct td_run *run, size_t call, struct td_result *out)
{
	const struct td__callrun *cr;

	if (!run || !out || call >= run->plan->ncalls)
		return TD_EINVAL;
	cr = &run->calls[call];
	memset(out, 0, sizeof(*out));
	out->status = cr->state == TD_CS_RUNNING ? TD_STATUS_RUNNING : cr->status;
	out->is_error = cr->state == TD_CS_DONE && cr->status != TD_STATUS_OK;
	out->content = cr->content ? cr->content : "";
	out->content_len = cr->content ? cr->content_len : 0;
	out->exit_code = cr->exit_code;
	out->signal = cr->signal;
	out->attempts = cr->attempts;
	out->truncated = cr->truncated;
	out->start_us = cr->start_us;
	out->end_us = cr->end_us;
	out->queue_us = cr->queue_us;
	return cr->state == TD_CS_DONE ? 0 : TD_ESTATE;
}

int64_t td_run_makespan_us(const struct td_run *run)
{
	if (!run || !run->started)
		return 0;
	if (td__sched_finished(run))
		return run->t_end;
	return td__clock_update(run->clock) - run->t0;
}

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
	r->fd_room = UINT64_MAX; /* the driver's host sets the descriptor budget */
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
                   struct td__clock *clock, struct td_run **out, struct td_diag *diag)
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
	r->clock = clock ? clock : &r->own_clock;
	apply_opts(r, opts);
	err = td__sched_init(r);
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

void td__run_set_driver(struct td_run *r, const struct td__driver *drv, void *ctx)
{
	r->drv = drv;
	r->drv_ctx = ctx;
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

/* One turn of the driver, or of the clock alone (virtual time). */
static int turn(struct td_run *r, int wait)
{
	return r->drv ? r->drv->turn(r->drv_ctx, wait) : td__clock_turn(r->clock, wait);
}

static unsigned requests_inflight(const struct td_run *r)
{
	return r->drv ? r->drv->inflight(r->drv_ctx) : 0;
}

int td_run_fd(const struct td_run *run)
{
	if (!run)
		return TD_EINVAL;
	return run->drv ? run->drv->fd(run->drv_ctx)
	                : TD_ESTATE; /* virtual time: nothing to poll */
}

/*
 * Nothing on the ring, no timer, nothing to start, yet calls remain: only a backend breaking
 * its contract (a job never reported done) gets here. Waiting would hang forever.
 */
static int stalled(const struct td_run *r)
{
	return !td__sched_finished(r) && !r->completed && !requests_inflight(r) &&
	       td__clock_next_deadline(r->clock) < 0 && !td__sched_can_start(r);
}

int td_run_timeout(const struct td_run *run)
{
	int64_t due, d;

	if (!run)
		return TD_EINVAL;
	if (!run->started || run->completed || td__sched_can_start(run))
		return 0;
	if (td__sched_finished(run))
		return -1;
	due = td__clock_next_deadline(run->clock);
	if (due < 0)
		return stalled(run) ? TD_ESTATE : -1; /* waiting would never end */
	if (!run->drv)                                /* virtual time: the next step jumps there */
		return 0;
	d = due - td__now_us();
	if (d <= 0)
		return 0;
	/* round up: waking early only costs a spurious step, waking late costs lateness */
	d = (d + 999) / 1000;
	return d > 0x7fffffff ? 0x7fffffff : (int)d;
}

int td_run_step(struct td_run *run)
{
	int r;

	if (!run)
		return TD_EINVAL;
	if (!run->started)
		td__sched_begin(run);
	do {
		r = turn(run, 0);
		if (r < 0)
			return r;
		r += td__sched_progress(run);
	} while (r > 0 && (td__clock_next_deadline(run->clock) == 0 || td__sched_can_start(run)));
	/* what the scheduler queued must reach the kernel before the host polls our fd */
	r = run->drv ? run->drv->submit(run->drv_ctx) : 0;
	if (r < 0 && r != -EBUSY)
		return r;
	return td__sched_finished(run) ? 0 : 1;
}

int td_run_wait(struct td_run *run)
{
	int r;

	if (!run)
		return TD_EINVAL;
	while ((r = td_run_step(run)) == 1) {
		if (stalled(run))
			return TD_ESTATE;
		r = turn(run, 1);
		if (r < 0)
			return r;
		td__sched_progress(run);
	}
	return r;
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

/* Kills whatever still runs at once and waits until every job came back (all reaped). */
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
	while (!td__sched_finished(r) && !stalled(r) && turn(r, 1) >= 0)
		td__sched_progress(r);
}

void td_run_free(struct td_run *run)
{
	unsigned k;

	if (!run)
		return;
	td__observe_free(run); /* before drain(): its cancellations are not news to anyone */
	drain(run);
	td__sched_fini(run);
	td__free(run->finish_order);
	/* before the driver: a backend may clean up requests on its loop (curl's sockets). Last
	 * kind first: mcp's free turns the loop while its servers shut down, and the backends
	 * freed before it would have left requests on it (http drops its polls unturned). */
	for (k = TD__KINDS; k-- > 0;)
		if (run->backend[k])
			run->backend[k]->free(run->backend[k]);
	if (run->drv)
		run->drv->free(run->drv_ctx);
	td__clock_fini(&run->own_clock);
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

/* SPDX-License-Identifier: MIT */
/*
 * run.c - the public td_run_* API: creating a run (ring + backends + scheduler state), the
 * embeddable step (fd, timeout, step), the blocking wait as a thin loop over it, cancellation,
 * teardown that kills and reaps what is left, and result accessors.
 */
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>

#include "exec/fn.h"
#include "run/run.h"

/* Ring size: requests in flight are about four per running process. */
#define TD_RING_ENTRIES 1024u

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

/* Descriptors per process while it starts: three pipes (or two and a socket pair). */
#define TD_FDS_PER_PROC 6
/* Kept free for the host and for the ring itself. */
#define TD_FDS_SPARE 16

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 64; /* no /proc: a guess on the safe side */
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* How many processes fit in the descriptor limit left to us (at least one). */
static uint32_t proc_limit(void)
{
	struct rlimit rl;
	uint64_t room, used = open_fds() + TD_FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT32_MAX;
	room = rl.rlim_cur > used ? (rl.rlim_cur - used) / TD_FDS_PER_PROC : 0;
	return room < 1 ? 1 : room > UINT32_MAX ? UINT32_MAX : (uint32_t)room;
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
	r->proc_limit = proc_limit();
}

static int make_backends(struct td_run *r, struct td__backend *fake)
{
	int err;

	if (fake) {
		r->fake = fake;
		fake->loop = r->loop;
		td__sched_attach(r, fake);
		return 0;
	}
	err = td__proc_backend_new(r->loop, &r->proc);
	if (!err)
		err = td__builtin_backend_new(r->loop, &r->builtin);
	if (!err)
		err = td__fn_backend_new(r->loop, r->opts.functions, r->batch, &r->fn);
	if (!err)
		err = td__http_backend_new(r->loop, r->graph, &r->http);
	if (err)
		return err;
	td__sched_attach(r, r->proc);
	td__sched_attach(r, r->builtin);
	td__sched_attach(r, r->fn);
	td__sched_attach(r, r->http);
	return 0;
}

static int run_new(const struct td_plan *plan, const struct td_run_opts *opts,
                   struct td__backend *fake, struct td_run **out, struct td_diag *diag)
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
	apply_opts(r, opts);
	err = td__loop_new(&r->loop, TD_RING_ENTRIES, diag);
	if (!err)
		err = make_backends(r, fake);
	if (!err)
		err = td__sched_init(r);
	if (!err) {
		r->finish_order = td__calloc(plan->ncalls ? plan->ncalls : 1, sizeof(uint32_t));
		err = r->finish_order ? 0 : TD_ENOMEM;
	}
	if (err) {
		td_run_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int td_run_new(const struct td_plan *plan, const struct td_run_opts *opts, struct td_run **out,
               struct td_diag *diag)
{
	return run_new(plan, opts, NULL, out, diag);
}

int td__run_new_fake(const struct td_plan *plan, const struct td_run_opts *opts,
                     struct td__backend *fake, struct td_run **out, struct td_diag *diag)
{
	return run_new(plan, opts, fake, out, diag);
}

/* ---- driving ---- */

int td_run_fd(const struct td_run *run)
{
	return run ? td__loop_fd(run->loop) : TD_EINVAL;
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
	due = td__loop_next_deadline(run->loop);
	if (due < 0)
		return -1;
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
		r = td__loop_run(run->loop, 0);
		if (r < 0)
			return r;
		r += td__sched_progress(run);
	} while (r > 0 && (td__loop_next_deadline(run->loop) == 0 || td__sched_can_start(run)));
	/* what the scheduler queued must reach the kernel before the host polls our fd */
	r = td__loop_submit(run->loop);
	if (r < 0 && r != -EBUSY)
		return r;
	return td__sched_finished(run) ? 0 : 1;
}

/*
 * Nothing on the ring, no timer, nothing to start, yet calls remain: only a backend breaking
 * its contract (a job never reported done) gets here. Waiting would hang forever.
 */
static int stalled(const struct td_run *r)
{
	return !td__sched_finished(r) && !r->completed && !td__loop_inflight(r->loop) &&
	       td__loop_next_deadline(r->loop) < 0 && !td__sched_can_start(r);
}

int td_run_wait(struct td_run *run)
{
	int r;

	if (!run)
		return TD_EINVAL;
	while ((r = td_run_step(run)) == 1) {
		if (stalled(run))
			return TD_ESTATE;
		r = td__loop_run(run->loop, 1);
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
	while (!td__sched_finished(r) && !stalled(r) && td__loop_run(r->loop, 1) >= 0)
		td__sched_progress(r);
}

void td_run_free(struct td_run *run)
{
	if (!run)
		return;
	td__observe_free(run); /* before drain(): its cancellations are not news to anyone */
	drain(run);
	td__sched_fini(run);
	if (run->proc)
		run->proc->free(run->proc);
	if (run->builtin)
		run->builtin->free(run->builtin);
	if (run->fn)
		run->fn->free(run->fn);
	td__free(run->finish_order);
	if (run->http) /* before the loop: it cleans up curl's sockets, whose polls are on it */
		run->http->free(run->http);
	td__loop_free(run->loop);
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
	return 0;
}

int64_t td_run_makespan_us(const struct td_run *run)
{
	if (!run || !run->started)
		return 0;
	if (td__sched_finished(run))
		return run->t_end;
	return td__now_us() - run->t0;
}

/* SPDX-License-Identifier: MIT */
/*
 * fn.c - the function backend: `function: NAME` tools run the host's C functions.
 *
 * Three modes (tooldag.h): INLINE runs in start() on the loop thread and completes there;
 * BLOCKING goes to a small pool of worker threads; ASYNC is invoked in start() and completed
 * later from any thread. Results from other threads reach the loop through one eventfd per
 * host whose read sits on the ring, so the loop never blocks and the host's poll() on the ring
 * fd wakes up. One backend serves every run on its host: a call finds its function in its own
 * run's registry (td_run_opts.functions), looked up once per run and tool.
 *
 * One invocation is one handle (struct td_fn_call). Who may touch it, and when it is freed,
 * is decided under the hub's mutex by four facts:
 *   job     the run still waits for this handle (cleared when the call times out or is
 *           cancelled: the call ends at once, since a function cannot be killed);
 *   host    a worker (BLOCKING) or the host (ASYNC, until td_fn_complete) still holds it;
 *   queued  it sits in the completion list, waiting for the loop;
 *   in_fn   start() is inside the function on the loop thread (INLINE, ASYNC).
 * The handle is freed by whoever clears the last of them. A completion that finds job clear
 * (timed out, cancelled, run freed) is dropped: that is "late completion is ignored".
 *
 * The hub (mutex, work queue, completion list, eventfd) is shared with the worker threads
 * and with async handles the embedder still holds, so it outlives the host: it is freed when
 * the host is gone and no handle is left.
 *
 * INLINE handles never leave the loop thread: they come from a free list and take no lock,
 * which keeps a no-op inline call at a few hundred nanoseconds.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "exec/capbuf.h"
#include "exec/fn.h"
#include "run/run.h"

struct hub;

struct td_fn_call {
	struct hub *hub;
	const struct td__fnent *ent; /* the registry's: read only while the run is alive */
	/* what a late completion or a worker needs once the run (and the registry, which only
	 * has to outlive the run) may be gone: copied from ent */
	enum td_fn_mode mode;
	td_fn fn;
	void *userdata;
	struct td__job *job;
	const char *id, *tool, *input;
	size_t input_len;
	char *envelope; /* owned when not INLINE: the job's copy may be freed before we are */
	size_t envelope_len;
	uint32_t call;
	unsigned attempt;
	void *run_userdata; /* td_run_opts.userdata of the call's run */
	atomic_int cancelled;
	int host, queued, in_fn;
	int starting;                  /* in hub.started: the loop arms its deadline */
	int64_t queued_at, started_at; /* BLOCKING: posted to the pool, taken by a worker */
	int64_t timeout_us, deadline;  /* the call's; deadline 0: none (td__now_us() clock) */
	char *copy;                    /* BLOCKING: id, tool and input, owned (see fill_copy) */
	struct td_fn_call *start_next;
	int completed, kill_pending;
	enum td_status status;
	char *content; /* td__malloc'd result, moved into the job by the loop */
	size_t content_len;
	struct td_fn_call *next;
};

struct hub {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct td_fn_call *work_head, *work_tail; /* BLOCKING calls waiting for a worker */
	struct td_fn_call *done_head, *done_tail; /* completions waiting for the loop */
	struct td_fn_call *started;               /* BLOCKING calls a worker just took */
	int efd;                                  /* -1 once the run is gone */
	int woken;                                /* efd written, the loop has not drained yet */
	/* the registry's thread hooks, copied: a worker may outlive the run and the registry */
	td_fn_thread_hook thread_start, thread_stop;
	void *thread_ud;
	struct worker *slots; /* [nslots]: the pool (freed with the hub: busy ones outlive fnbe) */
	unsigned nslots;
	unsigned handles; /* alive, not counting INLINE ones */
	unsigned workers; /* worker threads not yet exited */
	int closed, stop;
};

struct fnbe {
	struct td__backend be; /* first: the scheduler's pointer is ours */
	struct hub *hub;
	unsigned workers; /* the pool's size; 0: the first registry's (td_functions_set_workers) */
	struct td__op efd_op;
	uint64_t efd_val;
	int efd_armed;              /* the eventfd read, or efd_retry after it failed, is out */
	struct td__timer efd_retry; /* a failing eventfd is looked at again after a pause */
	struct td_fn_call *spare;   /* INLINE handles, loop thread only */
};

/* ---- the hub ---- */

static int hub_new(struct hub **out)
{
	struct hub *h = td__calloc(1, sizeof(*h));

	*out = h;
	if (!h)
		return TD_ENOMEM;
	h->efd = eventfd(0, EFD_CLOEXEC);
	if (h->efd < 0) {
		int err = -errno;

		td__free(h);
		*out = NULL;
		return err;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	return 0;
}

static void hub_destroy(struct hub *h)
{
	td__free(h->slots);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	td__free(h);
}

/* Under mu. Frees the handle if nobody holds it any more; 1 if the hub must go too. */
static int release_locked(struct td_fn_call *c)
{
	struct hub *h = c->hub;

	if (c->job || c->host || c->queued || c->in_fn || c->starting)
		return 0;
	td__free(c->envelope);
	td__free(c->content);
	td__free(c->copy);
	td__free(c);
	h->handles--;
	return h->closed && !h->handles && !h->workers;
}

/* Under mu: the loop is told there is something to drain (once until it drains). */
static void wake_locked(struct hub *h)
{
	uint64_t one = 1;

	if (h->woken || h->closed)
		return;
	h->woken = 1;
	/* an eventfd write of 1 cannot block or fail short of a counter overflow */
	if (write(h->efd, &one, sizeof(one)) < 0)
		(void)0;
}

/* Under mu: hands a finished handle to the loop, or drops its result if the run gave up. */
static void post_locked(struct td_fn_call *c)
{
	struct hub *h = c->hub;

	if (!c->job || h->closed || c->queued)
		return;
	c->queued = 1;
	c->next = NULL;
	if (h->done_tail)
		h->done_tail->next = c;
	else
		h->done_head = c;
	h->done_tail = c;
	wake_locked(h);
}

/* ---- results ---- */

static void set_missing(struct td_fn_call *c, const char *why)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "function '%s' %s", c->ent->name, why);
	c->status = TD_STATUS_ERROR;
	c->content = td__strdup(msg);
	c->content_len = c->content ? strlen(c->content) : 0;
}

/* Moves the handle's result into the job, capped at the tool's max_output like stdout. */
static void take_result(struct td_fn_call *c, struct td__job *job)
{
	uint64_t max = job->tool->lim.max_output;

	job->status = c->status;
	td__free(job->content);
	job->content = c->content;
	job->content_len = c->content_len;
	c->content = NULL;
	if (max && job->content_len > max) {
		struct td__capbuf cb;
		struct td__buf b = {0};

		td__capbuf_init(&cb, max);
		td__capbuf_append(&cb, job->content, job->content_len);
		td__capbuf_render(&cb, &b);
		td__capbuf_free(&cb);
		td__free(job->content);
		job->content_len = b.len;
		job->content = td__buf_take(&b);
		job->truncated = 1;
	}
	if (!job->content)
		td__job_set_content(job, TD_STATUS_ERROR, "out of memory", 13);
}

int td_fn_complete(struct td_fn_call *c, int is_error, const char *content, size_t len)
{
	struct hub *h;
	char *copy;
	int gone;

	if (!c || (!content && len))
		return TD_EINVAL;
	if (c->mode != TD_FN_ASYNC && c->completed)
		return TD_ESTATE;
	copy = td__malloc(len + 1);
	if (copy) {
		if (len)
			memcpy(copy, content, len);
		copy[len] = '\0';
	}
	if (c->mode != TD_FN_ASYNC) {
		/* still inside the function, on the thread that runs it: no one else looks */
		c->completed = 1;
		c->status = is_error ? TD_STATUS_ERROR : TD_STATUS_OK;
		c->content = copy;
		c->content_len = copy ? len : 0;
		if (!copy)
			set_missing(c, "result: out of memory");
		return 0;
	}
	h = c->hub;
	pthread_mutex_lock(&h->mu);
	c->completed = 1;
	c->host = 0;
	if (c->job && !h->closed) {
		c->status = copy && !is_error ? TD_STATUS_OK : TD_STATUS_ERROR;
		c->content = copy;
		c->content_len = copy ? len : 0;
		copy = NULL;
		if (!c->content)
			set_missing(c, "result: out of memory");
		if (!c->in_fn) /* else start() posts it when the function returns */
			post_locked(c);
	}
	td__free(copy);
	gone = release_locked(c); /* c may be gone from here on */
	pthread_mutex_unlock(&h->mu);
	if (gone)
		hub_destroy(h);
	return 0;
}

/* ---- accessors ---- */

const char *td_fn_call_id(const struct td_fn_call *c)
{
	return c ? c->id : NULL;
}

const char *td_fn_call_tool(const struct td_fn_call *c)
{
	return c ? c->tool : NULL;
}

const char *td_fn_call_input(const struct td_fn_call *c, size_t *len)
{
	if (len)
		*len = c ? c->input_len : 0;
	return c ? c->input : NULL;
}

const char *td_fn_call_envelope(const struct td_fn_call *c, size_t *len)
{
	if (len)
		*len = c && c->envelope ? c->envelope_len : 0;
	return c ? c->envelope : NULL;
}

void *td_fn_call_run_userdata(const struct td_fn_call *c)
{
	return c ? c->run_userdata : NULL;
}

size_t td_fn_call_index(const struct td_fn_call *c)
{
	return c ? c->call : 0;
}

unsigned td_fn_call_attempt(const struct td_fn_call *c)
{
	return c ? c->attempt : 0;
}

int td_fn_call_cancelled(const struct td_fn_call *c)
{
	return c ? atomic_load_explicit(&c->cancelled, memory_order_relaxed) : 1;
}

int64_t td_fn_call_remaining_us(const struct td_fn_call *c)
{
	int64_t left;

	if (!c)
		return TD_EINVAL;
	if (td_fn_call_cancelled(c))
		return 0;
	if (!c->deadline)
		return -1;
	left = c->deadline - td__now_us();
	return left > 0 ? left : 0;
}

/* ---- ending a job on the loop ---- */

static void finish_job(struct fnbe *fb, struct td__job *job)
{
	td__loop_timer_disarm(fb->be.loop, &job->timer);
	job->priv = NULL;
	fb->be.done(fb->be.ud, job);
}

/* The run gives up on the handle (timeout, cancel): the call ends now, the function's
 * result, whenever it comes, is dropped. */
static void abandon(struct fnbe *fb, struct td_fn_call *c, enum td_status st, const char *msg)
{
	struct td__job *job = c->job;
	struct hub *h = fb->hub;
	int gone;

	atomic_store_explicit(&c->cancelled, 1, memory_order_relaxed);
	pthread_mutex_lock(&h->mu);
	c->job = NULL;
	gone = release_locked(c);
	pthread_mutex_unlock(&h->mu);
	(void)gone; /* the run still holds the hub */
	td__job_set_content(job, st, msg, strlen(msg));
	finish_job(fb, job);
}

static void timed_out(struct td__timer *t)
{
	struct td__job *job = (struct td__job *)((char *)t - offsetof(struct td__job, timer));
	struct fnbe *fb = (struct fnbe *)job->be;
	char msg[64], dur[32];

	td__format_duration(job->timeout_us, dur, sizeof(dur));
	snprintf(msg, sizeof(msg), "timed out after %s", dur);
	abandon(fb, job->priv, TD_STATUS_TIMEOUT, msg);
}

static void fn_kill(struct td__backend *be, struct td__job *job)
{
	struct fnbe *fb = (struct fnbe *)be;
	struct td_fn_call *c = job->priv;

	if (!c) /* finished already, waiting in the scheduler's queue */
		return;
	if (c->in_fn && c->mode != TD_FN_BLOCKING) {
		/* re-entered from the function itself: start() ends it when the function returns */
		atomic_store_explicit(&c->cancelled, 1, memory_order_relaxed);
		c->kill_pending = 1;
		return;
	}
	abandon(fb, c, TD_STATUS_ERROR, "cancelled");
}

/* The eventfd read came back: hand every posted completion to the scheduler. */
static int arm_efd(struct fnbe *fb);

/* How long a failing eventfd rests before it is read again (the completions are taken from
 * the list meanwhile, so they come late, never lost). */
#define TD_EFD_RETRY_US 10000

static void timed_out(struct td__timer *t);

/*
 * Blocking calls a worker has taken: their timeout runs from that moment, not from when they
 * were queued for a worker (the wait is reported as the job's queue_us).
 */
static void arm_started(struct fnbe *fb, struct td_fn_call *list)
{
	struct hub *h = fb->hub;
	struct td_fn_call *c;

	while ((c = list)) {
		struct td__job *job = c->job;

		list = c->start_next;
		if (job && !c->queued) {
			job->queue_us = c->started_at - c->queued_at;
			if (job->timeout_us > 0)
				td__loop_timer_arm(fb->be.loop, &job->timer,
				                   c->started_at + job->timeout_us);
		}
		pthread_mutex_lock(&h->mu);
		c->starting = 0;
		release_locked(c);
		pthread_mutex_unlock(&h->mu);
	}
}

static void drain_completions(struct fnbe *fb)
{
	struct hub *h = fb->hub;
	struct td_fn_call *list, *started, *c;

	pthread_mutex_lock(&h->mu);
	list = h->done_head;
	started = h->started;
	h->done_head = h->done_tail = h->started = NULL;
	h->woken = 0;
	pthread_mutex_unlock(&h->mu);
	arm_started(fb, started);
	while ((c = list)) {
		struct td__job *job = c->job;

		list = c->next;
		if (job) {
			if (c->started_at)
				job->queue_us = c->started_at - c->queued_at;
			take_result(c, job);
			finish_job(fb, job);
		}
		pthread_mutex_lock(&h->mu);
		c->queued = 0;
		c->job = NULL;
		release_locked(c);
		pthread_mutex_unlock(&h->mu);
	}
}

static void efd_retry_fired(struct td__timer *t)
{
	struct fnbe *fb = (struct fnbe *)((char *)t - offsetof(struct fnbe, efd_retry));

	fb->efd_armed = 0;
	drain_completions(fb);
	arm_efd(fb);
}

/*
 * A read error (anything but the 8-byte count) says nothing about the completion list, which
 * is drained either way; re-reading at once would spin on an error that persists, so the
 * next look is a timer, and only while some call still waits for a completion.
 */
static void efd_ready(struct td__op *op, int res)
{
	struct fnbe *fb = (struct fnbe *)((char *)op - offsetof(struct fnbe, efd_op));
	unsigned waiting;

	fb->efd_armed = 0;
	drain_completions(fb);
	if (res == (int)sizeof(fb->efd_val)) {
		arm_efd(fb);
		return;
	}
	pthread_mutex_lock(&fb->hub->mu);
	waiting = fb->hub->handles;
	pthread_mutex_unlock(&fb->hub->mu);
	if (waiting && td__loop_timer_arm(fb->be.loop, &fb->efd_retry,
	                                  td__loop_now(fb->be.loop) + TD_EFD_RETRY_US) == 0)
		fb->efd_armed = 1;
}

static int arm_efd(struct fnbe *fb)
{
	int r;

	if (fb->efd_armed)
		return 0;
	fb->efd_op.fn = efd_ready;
	r = td__loop_read(fb->be.loop, &fb->efd_op, fb->hub->efd, &fb->efd_val,
	                  sizeof(fb->efd_val));
	if (r == 0)
		fb->efd_armed = 1;
	return r;
}

/* ---- the worker pool ---- */

static struct td_fn_call *next_work(struct hub *h)
{
	struct td_fn_call *c;

	while (!h->work_head && !h->stop)
		pthread_cond_wait(&h->cv, &h->mu);
	c = h->work_head;
	if (c) {
		h->work_head = c->next;
		if (!h->work_head)
			h->work_tail = NULL;
	}
	return c;
}

/* Under mu: a worker takes c; the loop arms its deadline from now. */
static void started_locked(struct hub *h, struct td_fn_call *c)
{
	c->started_at = td__now_us();
	if (c->timeout_us > 0)
		c->deadline = c->started_at + c->timeout_us;
	if (h->closed)
		return;
	c->starting = 1;
	c->start_next = h->started;
	h->started = c;
	wake_locked(h);
}

/* One thread of the pool. */
struct worker {
	struct hub *hub;
	pthread_t thread;
	int busy;     /* inside a function (under mu) */
	int detached; /* td_run_free() did not wait for it (it was busy): it cleans up itself */
};

/*
 * Runs BLOCKING functions; a call the run gave up on before a worker took it is skipped.
 * td_run_free() joins the idle workers but not a busy one: its function finds its call
 * cancelled and its result is dropped, and if it is the last to go it frees the hub.
 */
static void *worker(void *arg)
{
	struct worker *w = arg;
	struct hub *h = w->hub;
	struct td_fn_call *c;
	int gone;

	if (h->thread_start)
		h->thread_start(h->thread_ud);
	pthread_mutex_lock(&h->mu);
	while ((c = next_work(h))) {
		if (c->job) {
			started_locked(h, c);
			w->busy = 1;
			pthread_mutex_unlock(&h->mu);
			c->fn(c, c->userdata);
			pthread_mutex_lock(&h->mu);
			w->busy = 0;
			if (!c->completed && c->job) /* the run, and its registry, still exist */
				set_missing(c, "returned without completing the call");
			post_locked(c);
		}
		c->host = 0;
		release_locked(c);
	}
	pthread_mutex_unlock(&h->mu);
	if (h->thread_stop)
		h->thread_stop(h->thread_ud);
	pthread_mutex_lock(&h->mu);
	h->workers--;
	gone = h->closed && !h->handles && !h->workers;
	pthread_mutex_unlock(&h->mu);
	if (gone)
		hub_destroy(h);
	return NULL;
}

/* Starts the pool at the first BLOCKING call, with the thread hooks of that call's registry.
 * Workers never take the host's signals. */
static int start_workers(struct fnbe *fb, const struct td_functions *fns)
{
	unsigned want = fb->workers    ? fb->workers
	                : fns->workers ? fns->workers
	                               : TD_DEFAULT_FN_WORKERS;
	struct hub *h = fb->hub;
	sigset_t all, old;
	int err = 0;

	if (h->workers || h->nslots)
		return 0;
	if (!h->slots && !(h->slots = td__calloc(want, sizeof(*h->slots))))
		return TD_ENOMEM;
	h->thread_start = fns->thread_start; /* set before any worker reads them */
	h->thread_stop = fns->thread_stop;
	h->thread_ud = fns->thread_ud;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (h->nslots < want) {
		struct worker *w = &h->slots[h->nslots];

		w->hub = h;
		pthread_mutex_lock(&h->mu);
		h->workers++; /* before it runs: it may exit (and count down) at once */
		pthread_mutex_unlock(&h->mu);
		err = -pthread_create(&w->thread, NULL, worker, w);
		if (err) {
			pthread_mutex_lock(&h->mu);
			h->workers--;
			pthread_mutex_unlock(&h->mu);
			break;
		}
		h->nslots++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return h->nslots ? 0 : err; /* fewer workers than asked still work */
}

/* Stops the pool: joins the idle workers, leaves a busy one to finish on its own. */
static void stop_workers(struct hub *h)
{
	unsigned i;

	pthread_mutex_lock(&h->mu);
	h->stop = 1; /* no function starts any more: every job has ended (c->job is clear) */
	pthread_cond_broadcast(&h->cv);
	for (i = 0; i < h->nslots; i++)
		if (h->slots[i].busy) {
			h->slots[i].detached = 1;
			pthread_detach(h->slots[i].thread);
		}
	pthread_mutex_unlock(&h->mu);
	for (i = 0; i < h->nslots; i++)
		if (!h->slots[i].detached)
			pthread_join(h->slots[i].thread, NULL);
}

/* ---- starting a job ---- */

static void fill(struct fnbe *fb, struct td_fn_call *c, const struct td__fnent *ent,
                 struct td__job *job)
{
	c->hub = fb->hub;
	c->ent = ent;
	c->mode = ent->mode;
	c->fn = ent->fn;
	c->userdata = ent->userdata;
	c->job = job;
	c->id = job->id;
	c->tool = job->tool->name;
	c->input = job->input;
	c->input_len = job->input_len;
	c->call = job->call;
	c->attempt = job->attempt;
	c->run_userdata = job->run->opts.userdata;
	c->timeout_us = job->timeout_us;
	/* a blocking call's runs from when a worker takes it (started_locked) */
	c->deadline = job->timeout_us > 0 ? td__now_us() + job->timeout_us : 0;
	c->queued_at = c->started_at = 0;
	atomic_init(&c->cancelled, 0);
	c->completed = c->kill_pending = c->in_fn = 0;
	c->status = TD_STATUS_ERROR;
	c->next = NULL;
	job->priv = c;
}

static int start_inline(struct fnbe *fb, const struct td__fnent *ent, struct td__job *job)
{
	struct td_fn_call *c = fb->spare;

	if (c)
		fb->spare = c->next;
	else if (!(c = td__calloc(1, sizeof(*c))))
		return TD_ENOMEM;
	fill(fb, c, ent, job);
	c->host = c->queued = 0;
	c->envelope = job->stdin_data != job->input ? (char *)job->stdin_data : NULL;
	c->envelope_len = c->envelope ? job->stdin_len : 0;
	c->in_fn = 1;
	ent->fn(c, ent->userdata);
	c->in_fn = 0;
	if (!c->completed)
		set_missing(c, "returned without completing the call");
	take_result(c, job);
	c->envelope = NULL; /* the job's */
	c->next = fb->spare;
	fb->spare = c;
	finish_job(fb, job);
	return 0;
}

/* The envelope outlives the job when the call is abandoned: the handle takes it. */
static void take_envelope(struct td_fn_call *c, struct td__job *job)
{
	c->envelope = NULL;
	c->envelope_len = 0;
	if (job->stdin_data == job->input)
		return;
	c->envelope = (char *)job->stdin_data;
	c->envelope_len = job->stdin_len;
	job->stdin_data = job->input;
	job->stdin_len = job->input_len;
}

static struct td_fn_call *shared_handle(struct fnbe *fb, const struct td__fnent *ent,
                                        struct td__job *job)
{
	struct td_fn_call *c = td__calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	fill(fb, c, ent, job);
	take_envelope(c, job);
	c->host = 1;
	pthread_mutex_lock(&fb->hub->mu);
	fb->hub->handles++;
	pthread_mutex_unlock(&fb->hub->mu);
	return c;
}

/*
 * A BLOCKING function may still run after td_run_free() (which does not wait for it), when
 * the batch it reads from may be gone too: its handle owns copies of what it reads.
 */
static int fill_copy(struct td_fn_call *c)
{
	size_t id = strlen(c->id) + 1, tool = strlen(c->tool) + 1;

	c->copy = td__malloc(id + tool + c->input_len + 1);
	if (!c->copy)
		return TD_ENOMEM;
	memcpy(c->copy, c->id, id);
	memcpy(c->copy + id, c->tool, tool);
	memcpy(c->copy + id + tool, c->input, c->input_len);
	c->copy[id + tool + c->input_len] = '\0';
	c->id = c->copy;
	c->tool = c->copy + id;
	c->input = c->copy + id + tool;
	return 0;
}

/* What BLOCKING and ASYNC calls share: the eventfd read, a handle, the deadline (a blocking
 * call's runs from when a worker takes it: arm_started()). */
static int shared_start(struct fnbe *fb, const struct td__fnent *ent, struct td__job *job,
                        struct td_fn_call **out)
{
	int err = arm_efd(fb);

	if (err)
		return err;
	*out = shared_handle(fb, ent, job);
	if (!*out)
		return TD_ENOMEM;
	job->timer.fn = timed_out;
	job->timer.slot = 0;
	if (ent->mode == TD_FN_BLOCKING) {
		(*out)->queued_at = td__now_us();
		return 0;
	}
	if (job->timeout_us > 0)
		td__loop_timer_arm(fb->be.loop, &job->timer,
		                   td__loop_now(fb->be.loop) + job->timeout_us);
	return 0;
}

static int start_blocking(struct fnbe *fb, const struct td__fnent *ent, struct td__job *job)
{
	struct hub *h = fb->hub;
	struct td_fn_call *c;
	int err = start_workers(fb, job->run->opts.functions);

	if (!err)
		err = shared_start(fb, ent, job, &c);
	if (err)
		return err;
	if (fill_copy(c) < 0) {
		c->host = 0;                                      /* no worker will hold it */
		abandon(fb, c, TD_STATUS_ERROR, "out of memory"); /* done() once, from here */
		return 0;
	}
	pthread_mutex_lock(&h->mu);
	if (h->work_tail)
		h->work_tail->next = c;
	else
		h->work_head = c;
	h->work_tail = c;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

static int start_async(struct fnbe *fb, const struct td__fnent *ent, struct td__job *job)
{
	struct hub *h = fb->hub;
	struct td_fn_call *c;
	int err = shared_start(fb, ent, job, &c);

	if (err)
		return err;
	c->in_fn = 1;
	ent->fn(c, ent->userdata);
	pthread_mutex_lock(&h->mu);
	c->in_fn = 0;
	if (c->kill_pending && c->job) {
		pthread_mutex_unlock(&h->mu);
		abandon(fb, c, TD_STATUS_ERROR, "cancelled");
		return 0;
	}
	if (c->completed)
		post_locked(c); /* completed inside the call: delivered by the next eventfd read */
	release_locked(c);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

/* A call of an unregistered function fails like a program that is not found: no retry. */
static int start_unregistered(struct fnbe *fb, struct td__job *job)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "function '%s' is not registered with this run",
	         job->tool->function ? job->tool->function : job->tool->name);
	job->no_retry = 1;
	if (td__job_set_content(job, TD_STATUS_ERROR, msg, strlen(msg)) < 0)
		return TD_ENOMEM;
	job->priv = NULL;
	fb->be.done(fb->be.ud, job);
	return 0;
}

/* The tool's entry in the run's registry: one name lookup per run and tool, not per call. */
static const struct td__fnent *entry(const struct td__job *job)
{
	if (!*job->tool_cache)
		*job->tool_cache =
		    td__functions_find(job->run->opts.functions, job->tool->function);
	return *job->tool_cache;
}

static int fn_start(struct td__backend *be, struct td__job *job)
{
	struct fnbe *fb = (struct fnbe *)be;
	const struct td__fnent *ent = entry(job);

	job->exit_code = -1;
	job->signal = 0;
	job->truncated = 0;
	job->no_retry = 0;
	if (!ent)
		return start_unregistered(fb, job);
	switch (ent->mode) {
	case TD_FN_INLINE:
		return start_inline(fb, ent, job);
	case TD_FN_BLOCKING:
		return start_blocking(fb, ent, job);
	default:
		return start_async(fb, ent, job);
	}
}

/* ---- teardown ---- */

/* Stops the workers (without waiting for a function still running: it finds its call
 * cancelled, and if it is the last to go it frees the hub), drops what no one will read, and
 * lets go of the hub. Every job has ended before this (the run abandons whatever is left). */
static void fn_free(struct td__backend *be)
{
	struct fnbe *fb = (struct fnbe *)be;
	struct hub *h = fb->hub;
	struct td_fn_call *c;
	int gone;

	td__loop_timer_disarm(be->loop, &fb->efd_retry);
	while ((c = fb->spare)) {
		fb->spare = c->next;
		td__free(c);
	}
	if (h) {
		stop_workers(h);
		pthread_mutex_lock(&h->mu);
		h->closed = 1; /* only now: a joined worker never frees the hub */
		close(h->efd);
		h->efd = -1;
		while ((c = h->done_head)) {
			h->done_head = c->next;
			c->queued = 0;
			c->job = NULL;
			release_locked(c);
		}
		h->done_tail = NULL;
		while ((c = h->started)) {
			h->started = c->start_next;
			c->starting = 0;
			release_locked(c);
		}
		gone = !h->handles && !h->workers;
		pthread_mutex_unlock(&h->mu);
		if (gone)
			hub_destroy(h);
	}
	td__free(fb);
}

void td__functions_freeze(const struct td_functions *fns)
{
	if (fns) /* read-only from now on: td_functions_add() refuses (fnreg.c) */
		__atomic_store_n(&((struct td_functions *)fns)->frozen, 1, __ATOMIC_RELEASE);
}

int td__fn_backend_new(struct td__loop *loop, unsigned workers, struct td__backend **out)
{
	struct fnbe *fb = td__calloc(1, sizeof(*fb));
	int err;

	*out = NULL;
	if (!fb)
		return TD_ENOMEM;
	err = hub_new(&fb->hub);
	if (err) {
		td__free(fb);
		return err;
	}
	fb->workers = workers;
	fb->be.start = fn_start;
	fb->be.kill = fn_kill;
	fb->be.kill_now = fn_kill;
	fb->be.free = fn_free;
	fb->be.loop = loop;
	fb->efd_retry.fn = efd_retry_fired;
	*out = &fb->be;
	return 0;
}

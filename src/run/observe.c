/* SPDX-License-Identifier: MIT */
/*
 * observe.c - turns the scheduler's state changes into the public events of td_run_observe().
 *
 * The scheduler already reports every call state change through run.h's `trace` hook, called
 * from its one transition function before the change takes effect (the result and the attempt
 * record are already written by then). We take that hook over, chaining to whatever was there
 * (the scheduler tests use it), and derive the events from (from, to): the scheduler does not
 * know observers exist, so adding one never touches it. Level and run boundaries are counted
 * here, from the calls' own events.
 */
#include <string.h>

#include "run/run.h"

struct td__observer {
	td_observer_fn fn;
	void (*fini)(void *ud);
	void *ud;
	int all; /* 0: TD_EVENT_RUN_FINISHED only (td__run_observe_end()) */
};

struct td__observers {
	struct td__observer *v;
	uint32_t n, cap;
	uint32_t
	    nall; /* observers of every event; none: on_end() is the hook, not on_transition() */
	/* the hook we replaced, still called first */
	void (*prev)(void *ud, uint32_t call, enum td__cstate from, enum td__cstate to);
	void *prev_ud;
	uint32_t *level_left;   /* [nlevels]: calls of the level without their result yet */
	uint8_t *level_started; /* [nlevels]: 1 once started, 2 once finished too */
	uint32_t nlevels;       /* room in the two (a streamed run's plan grows) */
	uint32_t done, failed;
	int run_finished;
	int64_t last; /* latest event time so far */
	/* [ncalls]: td__observe_lens(), each with LENS_KNOWN once measured (0: not yet) */
	struct td__call_lens *lens;
};

#define LENS_KNOWN 0x40000000u

const char *td_event_name(enum td_event_type type)
{
	static const char *const names[] = {
	    "level_started", "call_queued",    "call_started", "attempt_finished",
	    "call_finished", "level_finished", "run_finished", "call_progress",
	};

	if ((unsigned)type >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[type];
}

static void emit(const struct td_run *r, const struct td_event *ev)
{
	const struct td__observers *o = r->obs;
	uint32_t i;

	for (i = 0; i < o->n; i++)
		if (o->v[i].all || ev->type == TD_EVENT_RUN_FINISHED)
			o->v[i].fn(o->v[i].ud, r, ev);
}

/* Fills *ev in place (an event is built for every state change: no copies of it). */
static void blank(const struct td_run *r, struct td_event *ev, enum td_event_type type, int64_t t)
{
	*ev = (struct td_event){.type = type,
	                        .call = TD_EVENT_NO_CALL,
	                        .exit_code = -1,
	                        .time_us = t,
	                        .done = r->obs->done,
	                        .failed = r->obs->failed};
}

/* A call that takes part in its level's run (calls with a call-level error do not). */
static int in_level(const struct td_run *r, uint32_t c)
{
	int32_t level = r->plan->level[c];

	return !r->batch->calls[c].has_error && level >= 0 && (uint32_t)level < r->plan->nlevels;
}

static void level_event(struct td_run *r, enum td_event_type type, uint32_t level, int64_t t)
{
	struct td_event ev;

	blank(r, &ev, type, t);
	ev.level = level;
	emit(r, &ev);
}

static void call_event(const struct td_run *r, struct td_event *ev, enum td_event_type type,
                       uint32_t c, int64_t t)
{
	int32_t level = r->plan->level[c];

	blank(r, ev, type, t);
	ev->call = c;
	ev->level = level < 0 ? 0 : (uint32_t)level;
	ev->attempt = r->calls[c].attempts;
}

static const struct td__attempt *last_attempt(const struct td__callrun *cr)
{
	return cr->attempts <= 1 ? &cr->att0 : &cr->more[cr->attempts - 2];
}

/*
 * When a call is queued or ends without running. Not a fresh clock reading: at ~250 ns of
 * scheduler time per builtin call, one more clock_gettime() per call would be a 10 % tax on
 * every observed run. The loop's cached clock is fresh as of this loop round, but the
 * attempt that just ended (whose end releases what is queued now) read a fresher one: never
 * go back before the latest time already reported.
 */
static int64_t now(struct td_run *r)
{
	int64_t t = td__clock_now(r->clock) - r->t0;

	if (t < r->obs->last)
		t = r->obs->last;
	return r->obs->last = t;
}

static int64_t seen(struct td_run *r, int64_t t)
{
	if (t > r->obs->last)
		r->obs->last = t;
	return t;
}

static void queued(struct td_run *r, uint32_t c)
{
	struct td__observers *o = r->obs;
	int64_t t = now(r);
	struct td_event ev;

	if (in_level(r, c) && !o->level_started[r->plan->level[c]]) {
		o->level_started[r->plan->level[c]] = 1;
		level_event(r, TD_EVENT_LEVEL_STARTED, (uint32_t)r->plan->level[c], t);
	}
	call_event(r, &ev, TD_EVENT_CALL_QUEUED, c, t);
	emit(r, &ev);
}

static void started(struct td_run *r, uint32_t c)
{
	struct td_event ev;

	call_event(r, &ev, TD_EVENT_CALL_STARTED, c, seen(r, last_attempt(&r->calls[c])->start_us));
	emit(r, &ev);
}

/* Returns when the attempt ended. */
static int64_t attempt_finished(struct td_run *r, uint32_t c, int retrying)
{
	const struct td__attempt *a = last_attempt(&r->calls[c]);
	struct td_event ev;

	call_event(r, &ev, TD_EVENT_ATTEMPT_FINISHED, c, seen(r, a->end_us));
	ev.status = a->status;
	ev.retrying = retrying;
	ev.exit_code = a->exit_code;
	ev.signal = a->signal;
	ev.run_us = a->end_us - a->start_us;
	emit(r, &ev);
	return a->end_us;
}

static void finished(struct td_run *r, uint32_t c, int64_t t)
{
	const struct td__callrun *cr = &r->calls[c];
	struct td__observers *o = r->obs;
	struct td_event ev;

	o->done++;
	o->failed += cr->status != TD_STATUS_OK;
	call_event(r, &ev, TD_EVENT_CALL_FINISHED, c, t);
	ev.status = cr->status;
	ev.exit_code = cr->exit_code;
	ev.signal = cr->signal;
	ev.run_us = cr->start_us >= 0 ? cr->end_us - cr->start_us : -1;
	emit(r, &ev);
	/* while a stream goes on, calls may still join the level and the run */
	if (in_level(r, c) && !--o->level_left[r->plan->level[c]] &&
	    o->level_started[r->plan->level[c]] && !r->open) {
		o->level_started[r->plan->level[c]] = 2;
		level_event(r, TD_EVENT_LEVEL_FINISHED, (uint32_t)r->plan->level[c], t);
	}
	if (o->done == r->plan->ncalls && !r->open) {
		o->run_finished = 1;
		blank(r, &ev, TD_EVENT_RUN_FINISHED, t);
		emit(r, &ev);
	}
}

int td__observe_grow(struct td_run *r, uint32_t old_ncalls)
{
	struct td__observers *o = r->obs;
	const struct td_plan *p = r->plan;
	uint32_t nl = p->nlevels ? p->nlevels : 1, k, i;
	void *v;

	if (!o)
		return 0;
	if (!(v = td__reallocarray(o->lens, p->ncalls ? p->ncalls : 1, sizeof(*o->lens))))
		return TD_ENOMEM;
	o->lens = v;
	if (p->ncalls > old_ncalls)
		memset(o->lens + old_ncalls, 0, (p->ncalls - old_ncalls) * sizeof(*o->lens));
	if (!(v = td__reallocarray(o->level_left, nl, sizeof(*o->level_left))))
		return TD_ENOMEM;
	o->level_left = v;
	if (!(v = td__realloc(o->level_started, nl)))
		return TD_ENOMEM;
	o->level_started = v;
	if (nl > o->nlevels)
		memset(o->level_started + o->nlevels, 0, nl - o->nlevels);
	o->nlevels = nl;
	for (k = 0; k < p->nlevels; k++)
		for (o->level_left[k] = 0, i = p->level_off[k]; i < p->level_off[k + 1]; i++)
			o->level_left[k] += r->calls[p->order[i]].state != TD_CS_DONE;
	return 0;
}

void td__observe_settle(struct td_run *r)
{
	struct td__observers *o = r->obs;
	struct td_event ev;
	int64_t t;
	uint32_t k;

	if (!o)
		return;
	t = now(r);
	for (k = 0; k < r->plan->nlevels; k++)
		if (o->level_started[k] == 1 && !o->level_left[k]) {
			o->level_started[k] = 2;
			level_event(r, TD_EVENT_LEVEL_FINISHED, k, t);
		}
	if (o->done == r->plan->ncalls && !o->run_finished) {
		o->run_finished = 1;
		blank(r, &ev, TD_EVENT_RUN_FINISHED, t);
		emit(r, &ev);
	}
}

static void on_transition(void *ud, uint32_t c, enum td__cstate from, enum td__cstate to)
{
	struct td_run *r = ud;

	if (r->obs->prev)
		r->obs->prev(r->obs->prev_ud, c, from, to);
	switch (to) {
	case TD_CS_READY:
		if (from == TD_CS_WAITING || from == TD_CS_BACKOFF)
			queued(r, c);
		break;
	case TD_CS_RUNNING:
		started(r, c);
		break;
	case TD_CS_BACKOFF:
		attempt_finished(r, c, 1);
		break;
	case TD_CS_DONE:
		finished(r, c, from == TD_CS_RUNNING ? attempt_finished(r, c, 0) : now(r));
		break;
	default: /* PARKED and back: still queued, as far as anyone watching can tell */
		break;
	}
}

/*
 * The hook while every observer waits for the run's end only (a recording, the durations
 * history): called only for the calls that end (trace_to), which it counts; no event is built
 * per state change. The end comes at the same moment and with the same time as
 * on_transition() gives it.
 */
static void on_end(void *ud, uint32_t c, enum td__cstate from, enum td__cstate to)
{
	struct td_run *r = ud;
	struct td__observers *o = r->obs;
	struct td_event ev;
	int64_t t;

	if (o->prev)
		o->prev(o->prev_ud, c, from, to);
	if (to != TD_CS_DONE)
		return;
	o->failed += r->calls[c].status != TD_STATUS_OK;
	/* a streamed run ends with its stream (td__observe_settle(), if its calls are done) */
	if (++o->done < r->plan->ncalls || r->open || o->run_finished)
		return;
	o->run_finished = 1;
	t = from == TD_CS_RUNNING ? seen(r, last_attempt(&r->calls[c])->end_us) : now(r);
	blank(r, &ev, TD_EVENT_RUN_FINISHED, t);
	emit(r, &ev);
}

/* ---- string lengths for the writers ---- */

/* Its length, TD__LEN_ESCAPE if JSON needs any of its bytes escaped (or it is absurdly long:
 * then the writers take their general path, which measures for itself). */
static uint32_t measure(const char *s)
{
	/* bytes JSON takes as they are: printable ASCII but '"' and '\\' (and not NUL) */
	static const uint8_t plain[256] = {
	    [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1};
	size_t n;
	uint32_t esc;

	for (n = 0; plain[(unsigned char)s[n]]; n++)
		;
	esc = s[n] != '\0';
	if (esc)
		n += strlen(s + n);
	if (n >= LENS_KNOWN)
		return TD__LEN_ESCAPE;
	return (uint32_t)n | (esc ? TD__LEN_ESCAPE : 0);
}

/*
 * A JSON line and a trace slice each copy the call's id and tool name, four or five times
 * over a call's life: measured once, they are a memcpy each. The cache lives in the
 * observers, which a const run still lets us fill (r->obs points to non-const memory).
 */
struct td__call_lens td__observe_lens(const struct td_run *r, uint32_t c)
{
	const struct td__call *call = &r->batch->calls[c];
	struct td__call_lens *l, fresh;

	if (r->obs && r->obs->nall && (r->obs->lens[c].id & LENS_KNOWN)) {
		fresh = r->obs->lens[c];
		fresh.id &= ~LENS_KNOWN;
		return fresh;
	}
	fresh.id = measure(call->id);
	fresh.name = measure(call->name);
	if (r->obs && r->obs->nall) { /* an end-only observer measures each call once anyway */
		l = &r->obs->lens[c];
		*l = fresh;
		l->id |= LENS_KNOWN;
	}
	return fresh;
}

/* ---- attaching ---- */

static void observers_destroy(struct td__observers *o)
{
	td__free(o->v);
	td__free(o->level_left);
	td__free(o->level_started);
	td__free(o->lens);
	td__free(o);
}

static int observers_new(struct td_run *r)
{
	struct td__observers *o = td__calloc(1, sizeof(*o));
	uint32_t k, nl = r->plan->nlevels;

	if (!o)
		return TD_ENOMEM;
	o->level_left = td__calloc(nl ? nl : 1, sizeof(*o->level_left));
	o->level_started = td__calloc(nl ? nl : 1, 1);
	o->lens = td__calloc(r->plan->ncalls ? r->plan->ncalls : 1, sizeof(*o->lens));
	if (!o->level_left || !o->level_started || !o->lens) {
		observers_destroy(o);
		return TD_ENOMEM;
	}
	o->nlevels = nl ? nl : 1;
	for (k = 0; k < nl; k++)
		o->level_left[k] = r->plan->level_off[k + 1] - r->plan->level_off[k];
	o->prev = r->trace;
	o->prev_ud = r->trace_ud;
	r->obs = o;
	r->trace = on_end;
	r->trace_ud = r;
	r->trace_to = o->prev ? 0 : 1u << TD_CS_DONE; /* a hook before us hears everything */
	return 0;
}

static int observe(struct td_run *r, td_observer_fn fn, void (*fini)(void *ud), void *ud, int all)
{
	struct td__observers *o;

	if (!r || !fn)
		return TD_EINVAL;
	if (r->started)
		return TD_ESTATE;
	if (!r->obs && observers_new(r) < 0)
		return TD_ENOMEM;
	o = r->obs;
	if (o->n == o->cap) {
		uint32_t cap = o->cap ? 2 * o->cap : 4;
		struct td__observer *v = td__realloc(o->v, cap * sizeof(*v));

		if (!v)
			return TD_ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = (struct td__observer){.fn = fn, .fini = fini, .ud = ud, .all = all};
	if (all && !o->nall++) {
		r->trace = on_transition;
		r->trace_to = 0;
	}
	return 0;
}

int td__run_observe(struct td_run *r, td_observer_fn fn, void (*fini)(void *ud), void *ud)
{
	return observe(r, fn, fini, ud, 1);
}

int td__run_observe_end(struct td_run *r, td_observer_fn fn, void (*fini)(void *ud), void *ud)
{
	return observe(r, fn, fini, ud, 0);
}

int td_run_observe(struct td_run *run, td_observer_fn fn, void *userdata)
{
	return td__run_observe(run, fn, NULL, userdata);
}

void td__observe_free(struct td_run *r)
{
	struct td__observers *o = r->obs;
	uint32_t i;

	if (!o)
		return;
	r->trace = o->prev;
	r->trace_ud = o->prev_ud;
	r->trace_to = 0;
	r->obs = NULL;
	for (i = 0; i < o->n; i++)
		if (o->v[i].fini)
			o->v[i].fini(o->v[i].ud);
	observers_destroy(o);
}

void td__job_progress(struct td__job *job, double progress, double total, const char *message)
{
	struct td_run *r = job->run;
	struct td_event ev;

	if (!r || !r->obs || !r->obs->n || job->call >= r->plan->ncalls)
		return;
	call_event(r, &ev, TD_EVENT_CALL_PROGRESS, job->call, now(r));
	ev.progress = progress;
	ev.total = total;
	ev.message = message;
	emit(r, &ev);
}

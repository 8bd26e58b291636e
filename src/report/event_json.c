/* SPDX-License-Identifier: MIT */
/*
 * event_json.c - one run event as one JSON line (`tooldag run --progress=json`, and any UI an
 * embedding program feeds): {"event":"call_finished","t_ms":..,"id":..,"tool":..,"level":..,
 * "attempts":..,"status":..,"exit_code":..,"ms":..,"done":..,"failed":..,"calls":..}.
 * Written with jsonw.h, not printf: it runs for every event of every call.
 */
#include <stdio.h>
#include <string.h>

#include "report/jsonw.h"
#include "run/run.h"

/* {"event":"NAME","t_ms":  per event type, in td_event_name()'s order */
#define HEAD_OF(name) "{\"event\":\"" name "\",\"t_ms\":"
#define HEAD(name)                                                                                 \
	{                                                                                          \
		HEAD_OF(name), sizeof(HEAD_OF(name)) - 1                                           \
	}
static const struct {
	const char *s;
	size_t n;
} HEADS[] = {
    HEAD("level_started"), HEAD("call_queued"),    HEAD("call_started"), HEAD("attempt_finished"),
    HEAD("call_finished"), HEAD("level_finished"), HEAD("run_finished"), HEAD("call_progress"),
};

static char *put_exit(char *p, const struct td_event *ev)
{
	if (ev->signal) {
		p = JW_LIT(p, ",\"signal\":");
		p = jw_i64(p, ev->signal);
		p = JW_LIT(p, ",\"signal_name\":\"");
		p = jw_signame(p, ev->signal);
		return JW_LIT(p, "\"");
	}
	return jw_exit_code(p, ev->exit_code);
}

static char *put_call(char *p, const struct td_run *r, const struct td_event *ev,
                      struct td__call_lens lens)
{
	p = JW_LIT(p, ",");
	return jw_call_fields(p, &r->batch->calls[ev->call], lens, ev->level);
}

static char *put_outcome(char *p, const struct td_event *ev)
{
	p = jw_status(p, ev->status);
	p = put_exit(p, ev);
	p = JW_LIT(p, ",\"ms\":");
	return jw_ms(p, ev->run_us);
}

/* ,"progress":N[,"total":N][,"message":".."]: numbers as %g (at most 40 bytes each) */
static char *put_progress(char *p, const struct td_event *ev)
{
	char num[48];
	int n = snprintf(num, sizeof(num), "%.15g", ev->progress);

	p = JW_LIT(p, ",\"progress\":");
	p = jw_raw(p, num, (size_t)n);
	if (ev->total > 0) {
		n = snprintf(num, sizeof(num), "%.15g", ev->total);
		p = JW_LIT(p, ",\"total\":");
		p = jw_raw(p, num, (size_t)n);
	}
	if (ev->message) {
		p = JW_LIT(p, ",\"message\":\"");
		p = jw_escaped(p, ev->message);
		p = JW_LIT(p, "\"");
	}
	return p;
}

/* ,"worker":..,"queue_ms":.. of a remote tool's attempt n (1-based), the worker that held it */
static char *put_worker(char *p, const struct td_run *r, const struct td_event *ev, unsigned n)
{
	const struct td__attempt *a;

	if (!n)
		return p;
	a = td__attempt_of(&r->calls[ev->call], n);
	if (!a->worker)
		return p;
	p = JW_LIT(p, ",\"worker\":");
	p = jw_string(p, a->worker, strlen(a->worker));
	p = JW_LIT(p, ",\"queue_ms\":");
	return jw_ms(p, a->queue_us);
}

static char *put_counts(char *p, const struct td_run *r, const struct td_event *ev)
{
	p = JW_LIT(p, ",\"done\":");
	p = jw_u64(p, ev->done);
	p = JW_LIT(p, ",\"failed\":");
	p = jw_u64(p, ev->failed);
	p = JW_LIT(p, ",\"calls\":");
	return jw_u64(p, r->plan->ncalls);
}

static char *put_body(char *p, const struct td_run *r, const struct td_event *ev,
                      struct td__call_lens lens)
{
	switch (ev->type) {
	case TD_EVENT_LEVEL_STARTED:
	case TD_EVENT_LEVEL_FINISHED:
		p = JW_LIT(p, ",\"level\":");
		return jw_u64(p, ev->level);
	case TD_EVENT_CALL_QUEUED:
		p = put_call(p, r, ev, lens);
		p = JW_LIT(p, ",\"attempts\":");
		return jw_u64(p, ev->attempt);
	case TD_EVENT_CALL_STARTED:
		p = put_call(p, r, ev, lens);
		p = JW_LIT(p, ",\"attempt\":");
		return jw_u64(p, ev->attempt);
	case TD_EVENT_ATTEMPT_FINISHED:
		p = put_call(p, r, ev, lens);
		p = JW_LIT(p, ",\"attempt\":");
		p = jw_u64(p, ev->attempt);
		p = put_outcome(p, ev);
		p = put_worker(p, r, ev, ev->attempt);
		return ev->retrying ? JW_LIT(p, ",\"retrying\":true")
		                    : JW_LIT(p, ",\"retrying\":false");
	case TD_EVENT_CALL_FINISHED:
		p = put_call(p, r, ev, lens);
		p = JW_LIT(p, ",\"attempts\":");
		p = jw_u64(p, ev->attempt);
		p = put_outcome(p, ev);
		p = put_worker(p, r, ev, ev->attempt);
		return put_counts(p, r, ev);
	case TD_EVENT_RUN_FINISHED:
		return put_counts(p, r, ev);
	case TD_EVENT_CALL_PROGRESS:
		p = put_call(p, r, ev, lens);
		p = JW_LIT(p, ",\"attempt\":");
		p = jw_u64(p, ev->attempt);
		return put_progress(p, ev);
	}
	return p;
}

/* What put_worker() needs beyond JW_ROOM. */
static size_t worker_room(const struct td_run *r, const struct td_event *ev)
{
	const char *w = td__attempt_of(&r->calls[ev->call], ev->attempt)->worker;

	return w ? strlen(w) + 2 : 0;
}

static int valid(const struct td_run *run, const struct td_event *ev, const char *buf, size_t len)
{
	int call_event =
	    ev && ((ev->type >= TD_EVENT_CALL_QUEUED && ev->type <= TD_EVENT_CALL_FINISHED) ||
	           ev->type == TD_EVENT_CALL_PROGRESS);

	if (!run || !ev || (!buf && len) || (unsigned)ev->type > TD_EVENT_CALL_PROGRESS)
		return 0;
	if (call_event)
		return ev->call < run->plan->ncalls;
	return 1;
}

/*
 * The line is written straight into the caller's buffer when it surely fits (ids are short,
 * and --progress=json passes room enough), else into a stack buffer, so the common case neither
 * allocates nor copies: td__buf then never has to grow, which it must not do from either.
 */
int td_event_json(const struct td_run *run, const struct td_event *event, char *buf, size_t len)
{
	char stack[4096], *p;
	struct td__buf b = {0};
	size_t n, strings = 0;
	struct td__call_lens lens = {0, 0};

	if (!valid(run, event, buf, len))
		return TD_EINVAL;
	if (event->call != TD_EVENT_NO_CALL && event->call < run->plan->ncalls) {
		const struct td__call *call = &run->batch->calls[event->call];

		lens = td__observe_lens(run, event->call);
		strings = jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name);
	}
	if (event->type == TD_EVENT_CALL_PROGRESS && event->message)
		strings += strlen(event->message) + 2 * 48; /* and the two numbers */
	if ((event->type == TD_EVENT_ATTEMPT_FINISHED || event->type == TD_EVENT_CALL_FINISHED) &&
	    event->attempt)
		strings += worker_room(run, event);
	if (JW_ROOM + 6 * strings < len) {
		b.data = buf;
		b.cap = len;
	} else if (JW_ROOM + 6 * strings < sizeof(stack)) {
		b.data = stack;
		b.cap = sizeof(stack);
	}
	p = jw_open(&b, strings);
	if (!p)
		return TD_ENOMEM;
	p = jw_raw(p, HEADS[event->type].s, HEADS[event->type].n);
	p = jw_ms(p, event->time_us);
	p = put_body(p, run, event, lens);
	p = JW_LIT(p, "}");
	n = (size_t)(p - b.data);
	if (b.data == buf) {
		buf[n] = '\0';
		return (int)n;
	}
	if (len) {
		size_t k = n < len ? n : len - 1;

		memcpy(buf, b.data, k);
		buf[k] = '\0';
	}
	if (b.data != stack)
		td__free(b.data);
	return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

/* SPDX-License-Identifier: MIT */
/*
 * event_json.c - one run event as one JSON line (`tooldag run --progress=json`, and any UI an
 * embedding program feeds): {"event":"call_finished","t_ms":..,"id":..,"tool":..,"level":..,
 * "attempts":..,"status":..,"exit_code":..,"ms":..,"done":..,"failed":..,"calls":..}.
 * Written with jsonw.h, not printf: it runs for every event of every call.
 */
#include <string.h>

#include "report/jsonw.h"
#include "run/run.h"

static void put_exit(struct td__buf *b, const struct td_event *ev)
{
	if (ev->signal) {
		const char *name = sigabbrev_np(ev->signal);

		JW_LIT(b, ",\"signal\":");
		jw_i64(b, ev->signal);
		JW_LIT(b, ",\"signal_name\":\"SIG");
		jw_inner(b, name ? name : "?");
		JW_LIT(b, "\"");
	} else if (ev->exit_code >= 0) {
		JW_LIT(b, ",\"exit_code\":");
		jw_i64(b, ev->exit_code);
	}
}

static void put_call(struct td__buf *b, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];

	JW_LIT(b, ",\"id\":");
	jw_str(b, call->id);
	JW_LIT(b, ",\"tool\":");
	jw_str(b, call->name);
	JW_LIT(b, ",\"level\":");
	jw_i64(b, ev->level);
}

static void put_outcome(struct td__buf *b, const struct td_event *ev)
{
	const char *st = td_status_name(ev->status);

	JW_LIT(b, ",\"status\":\"");
	jw_raw(b, st, strlen(st));
	JW_LIT(b, "\"");
	put_exit(b, ev);
	JW_LIT(b, ",\"ms\":");
	jw_ms(b, ev->run_us);
}

static void put_body(struct td__buf *b, const struct td_run *r, const struct td_event *ev)
{
	switch (ev->type) {
	case TD_EVENT_LEVEL_STARTED:
	case TD_EVENT_LEVEL_FINISHED:
		JW_LIT(b, ",\"level\":");
		jw_i64(b, ev->level);
		break;
	case TD_EVENT_CALL_QUEUED:
	case TD_EVENT_CALL_FINISHED:
		put_call(b, r, ev);
		JW_LIT(b, ",\"attempts\":");
		jw_i64(b, ev->attempt);
		if (ev->type == TD_EVENT_CALL_FINISHED)
			put_outcome(b, ev);
		break;
	case TD_EVENT_CALL_STARTED:
	case TD_EVENT_ATTEMPT_FINISHED:
		put_call(b, r, ev);
		JW_LIT(b, ",\"attempt\":");
		jw_i64(b, ev->attempt);
		if (ev->type == TD_EVENT_CALL_STARTED)
			break;
		put_outcome(b, ev);
		if (ev->retrying)
			JW_LIT(b, ",\"retrying\":true");
		else
			JW_LIT(b, ",\"retrying\":false");
		break;
	case TD_EVENT_RUN_FINISHED:
		break;
	}
	if (ev->type == TD_EVENT_CALL_FINISHED || ev->type == TD_EVENT_RUN_FINISHED) {
		JW_LIT(b, ",\"done\":");
		jw_i64(b, ev->done);
		JW_LIT(b, ",\"failed\":");
		jw_i64(b, ev->failed);
		JW_LIT(b, ",\"calls\":");
		jw_i64(b, r->plan->ncalls);
	}
}

static int valid(const struct td_run *run, const struct td_event *ev, const char *buf, size_t len)
{
	int call_event =
	    ev && ev->type >= TD_EVENT_CALL_QUEUED && ev->type <= TD_EVENT_CALL_FINISHED;

	if (!run || !ev || (!buf && len) || (unsigned)ev->type > TD_EVENT_RUN_FINISHED)
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
	char stack[4096];
	struct td__buf b = {0};
	size_t n, need = 3 * JW_ROOM;
	const char *name;

	if (!valid(run, event, buf, len))
		return TD_EINVAL;
	if (event->call != TD_EVENT_NO_CALL && event->call < run->plan->ncalls)
		need += 6 * (strlen(run->batch->calls[event->call].id) +
		             strlen(run->batch->calls[event->call].name));
	if (need < len) {
		b.data = buf;
		b.cap = len;
	} else if (need < sizeof(stack)) {
		b.data = stack;
		b.cap = sizeof(stack);
	}
	if (jw_room(&b, 0) < 0)
		return TD_ENOMEM;
	name = td_event_name(event->type);
	JW_LIT(&b, "{\"event\":\"");
	jw_raw(&b, name, strlen(name));
	JW_LIT(&b, "\",\"t_ms\":");
	jw_ms(&b, event->time_us);
	put_body(&b, run, event);
	JW_LIT(&b, "}");
	n = b.len;
	if (b.data == buf) {
		buf[n] = '\0';
		return (int)n;
	}
	if (len && !b.oom) {
		size_t k = n < len ? n : len - 1;

		memcpy(buf, b.data, k);
		buf[k] = '\0';
	}
	if (b.data != stack)
		td__free(b.data);
	if (b.oom)
		return TD_ENOMEM;
	return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

/* SPDX-License-Identifier: MIT */
/*
 * event_json.c - one run event as one JSON line (`tooldag run --progress=json`, and any UI an
 * embedding program feeds): {"event":"call_finished","t_ms":..,"id":..,"tool":..,"level":..,
 * "status":..,"attempts":..,"exit_code":..,"ms":..,"done":..,"failed":..}.
 */
#include <string.h>

#include "run/run.h"

static void put_ms(struct td__buf *b, const char *key, int64_t us)
{
	if (us < 0) {
		td__buf_printf(b, ",\"%s\":null", key);
		return;
	}
	td__buf_printf(b, ",\"%s\":%lld.%03lld", key, (long long)(us / 1000),
	               (long long)(us % 1000));
}

static void put_exit(struct td__buf *b, const struct td_event *ev)
{
	if (ev->signal) {
		const char *name = sigabbrev_np(ev->signal);

		td__buf_printf(b, ",\"signal\":%d,\"signal_name\":\"SIG%s\"", ev->signal,
		               name ? name : "?");
	} else if (ev->exit_code >= 0) {
		td__buf_printf(b, ",\"exit_code\":%d", ev->exit_code);
	}
}

static void put_call(struct td__buf *b, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];

	td__buf_puts(b, ",\"id\":");
	td__buf_json_string(b, call->id, strlen(call->id));
	td__buf_puts(b, ",\"tool\":");
	td__buf_json_string(b, call->name, strlen(call->name));
	td__buf_printf(b, ",\"level\":%u", ev->level);
}

static void put_outcome(struct td__buf *b, const struct td_event *ev)
{
	td__buf_printf(b, ",\"status\":\"%s\"", td_status_name(ev->status));
	put_exit(b, ev);
	put_ms(b, "ms", ev->run_us);
}

static void put_body(struct td__buf *b, const struct td_run *r, const struct td_event *ev)
{
	switch (ev->type) {
	case TD_EVENT_LEVEL_STARTED:
	case TD_EVENT_LEVEL_FINISHED:
		td__buf_printf(b, ",\"level\":%u", ev->level);
		break;
	case TD_EVENT_CALL_QUEUED:
		put_call(b, r, ev);
		td__buf_printf(b, ",\"attempts\":%u", ev->attempt);
		break;
	case TD_EVENT_CALL_STARTED:
		put_call(b, r, ev);
		td__buf_printf(b, ",\"attempt\":%u", ev->attempt);
		break;
	case TD_EVENT_ATTEMPT_FINISHED:
		put_call(b, r, ev);
		td__buf_printf(b, ",\"attempt\":%u", ev->attempt);
		put_outcome(b, ev);
		td__buf_puts(b, ev->retrying ? ",\"retrying\":true" : ",\"retrying\":false");
		break;
	case TD_EVENT_CALL_FINISHED:
		put_call(b, r, ev);
		td__buf_printf(b, ",\"attempts\":%u", ev->attempt);
		put_outcome(b, ev);
		break;
	case TD_EVENT_RUN_FINISHED:
		break;
	}
	if (ev->type == TD_EVENT_CALL_FINISHED || ev->type == TD_EVENT_RUN_FINISHED)
		td__buf_printf(b, ",\"done\":%u,\"failed\":%u,\"calls\":%u", ev->done, ev->failed,
		               r->plan->ncalls);
}

int td_event_json(const struct td_run *run, const struct td_event *event, char *buf, size_t len)
{
	struct td__buf b = {0};
	int n;

	if (!run || !event || (!buf && len) || (unsigned)event->type > TD_EVENT_RUN_FINISHED ||
	    (event->call != TD_EVENT_NO_CALL && event->call >= run->plan->ncalls) ||
	    ((event->type >= TD_EVENT_CALL_QUEUED && event->type <= TD_EVENT_CALL_FINISHED) &&
	     event->call == TD_EVENT_NO_CALL))
		return TD_EINVAL;
	td__buf_printf(&b, "{\"event\":\"%s\"", td_event_name(event->type));
	put_ms(&b, "t_ms", event->time_us);
	put_body(&b, run, event);
	td__buf_putc(&b, '}');
	if (b.oom) {
		td__buf_free(&b);
		return TD_ENOMEM;
	}
	if (len) {
		size_t k = b.len < len ? b.len : len - 1;

		memcpy(buf, b.data, k);
		buf[k] = '\0';
	}
	n = b.len > 0x7fffffff ? 0x7fffffff : (int)b.len;
	td__buf_free(&b);
	return n;
}

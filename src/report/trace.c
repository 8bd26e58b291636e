/* SPDX-License-Identifier: MIT */
/*
 * trace.c - td_run_trace(): a run as Chrome trace-event JSON (Perfetto, chrome://tracing),
 * written as it goes by an ordinary observer of the run's events.
 *
 * Layout of the document ({"traceEvents":[...],"displayTimeUnit":"ms","otherData":{...}}),
 * everything in process 1, times in microseconds from the run's start:
 *  - tid 1 + k is "slot k": each attempt is a complete ("X") slice on the lowest slot free
 *    when it started, so the slots show the concurrency actually used. Slots are ours, not
 *    the scheduler's: it has no such notion, and the lowest free one keeps the tracks packed.
 *  - the wait between CALL_QUEUED and CALL_STARTED is an async slice "queued" (cat "queue"),
 *    the wait between a failed attempt and its re-queue an async slice "backoff", so queue
 *    time and run time never share a track.
 *  - a level is an async slice "level K" (cat "level") plus a global instant marker when it
 *    starts; calls that never ran are instants on tid 0, "not run".
 * Formatting is by hand into one buffer flushed in 64 KiB writes: a 100,000-call run writes
 * ~400,000 events and printf per field would cost more than the run itself.
 */
#include <string.h>

#include "run/run.h"

#define TRACE_FLUSH (64u * 1024)

struct trace {
	FILE *out;
	struct td__buf b;
	int first, closed;
	int64_t *when;  /* [ncalls]: when queued; from the start, how long it waited */
	uint32_t *slot; /* [ncalls]: slot of the running attempt */
	uint32_t *free; /* min-heap of free slots below nslots */
	uint32_t nfree, nslots;
};

/* ---- output ---- */

static void put_i64(struct td__buf *b, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	td__buf_append(b, tmp + sizeof(tmp) - n, (size_t)n);
}

static void put_str(struct td__buf *b, const char *s)
{
	td__buf_json_string(b, s, strlen(s));
}

/* s JSON-escaped without its quotes, to build a string out of several parts. */
static void put_inner(struct td__buf *b, const char *s)
{
	size_t at = b->len;

	td__buf_json_string(b, s, strlen(s));
	if (b->oom || b->len < at + 2)
		return;
	memmove(b->data + at, b->data + at + 1, b->len - at - 2);
	b->len -= 2;
	b->data[b->len] = '\0';
}

static void flush(struct trace *t)
{
	if (t->b.len && !t->b.oom)
		fwrite(t->b.data, 1, t->b.len, t->out);
	t->b.len = 0;
	t->b.oom = 0;
}

/* Opens one event: separator, phase, pid, tid, ts. */
static void begin(struct trace *t, const char *ph, uint32_t tid, int64_t ts)
{
	if (t->b.len >= TRACE_FLUSH)
		flush(t);
	td__buf_puts(&t->b, t->first ? "\n{\"ph\":\"" : ",\n{\"ph\":\"");
	t->first = 0;
	td__buf_puts(&t->b, ph);
	td__buf_puts(&t->b, "\",\"pid\":1,\"tid\":");
	put_i64(&t->b, tid);
	td__buf_puts(&t->b, ",\"ts\":");
	put_i64(&t->b, ts);
}

static void thread_name(struct trace *t, uint32_t tid, const char *name, uint32_t sort)
{
	begin(t, "M", tid, 0);
	td__buf_puts(&t->b, ",\"name\":\"thread_name\",\"args\":{\"name\":");
	put_str(&t->b, name);
	td__buf_puts(&t->b, "}}");
	begin(t, "M", tid, 0);
	td__buf_puts(&t->b, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":");
	put_i64(&t->b, sort);
	td__buf_puts(&t->b, "}}");
}

/* An async slice [from, to] as its begin and end events. */
static void async_slice(struct trace *t, const char *cat, const char *name, uint64_t id,
                        int64_t from, int64_t to, const struct td__call *call)
{
	int k;

	for (k = 0; k < 2; k++) {
		begin(t, k ? "e" : "b", 0, k ? to : from);
		td__buf_puts(&t->b, ",\"cat\":\"");
		td__buf_puts(&t->b, cat);
		td__buf_puts(&t->b, "\",\"name\":");
		put_str(&t->b, name);
		td__buf_puts(&t->b, ",\"id\":");
		put_i64(&t->b, (int64_t)id);
		if (!k && call) {
			td__buf_puts(&t->b, ",\"args\":{\"id\":");
			put_str(&t->b, call->id);
			td__buf_puts(&t->b, ",\"tool\":");
			put_str(&t->b, call->name);
			td__buf_putc(&t->b, '}');
		}
		td__buf_putc(&t->b, '}');
	}
}

/* ---- slots: lowest free first ---- */

static uint32_t slot_take(struct trace *t)
{
	uint32_t s, last, i = 0;

	if (!t->nfree)
		return t->nslots++;
	s = t->free[0];
	last = t->free[--t->nfree];
	for (;;) {
		uint32_t k = 2 * i + 1;

		if (k >= t->nfree)
			break;
		if (k + 1 < t->nfree && t->free[k + 1] < t->free[k])
			k++;
		if (last <= t->free[k])
			break;
		t->free[i] = t->free[k];
		i = k;
	}
	if (t->nfree)
		t->free[i] = last;
	return s;
}

/* free[] holds at most nslots entries and never more slots than calls exist: sized ncalls. */
static void slot_give(struct trace *t, uint32_t s)
{
	uint32_t i = t->nfree++;

	while (i > 0 && t->free[(i - 1) / 2] > s) {
		t->free[i] = t->free[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	t->free[i] = s;
}

/* ---- events ---- */

static void level_marker(struct trace *t, const struct td_event *ev)
{
	char name[32];

	snprintf(name, sizeof(name), "level %u", ev->level);
	if (ev->type == TD_EVENT_LEVEL_STARTED) {
		begin(t, "i", 0, ev->time_us);
		td__buf_puts(&t->b, ",\"s\":\"g\",\"cat\":\"level\",\"name\":");
		put_str(&t->b, name);
		td__buf_putc(&t->b, '}');
	}
	begin(t, ev->type == TD_EVENT_LEVEL_STARTED ? "b" : "e", 0, ev->time_us);
	td__buf_puts(&t->b, ",\"cat\":\"level\",\"name\":");
	put_str(&t->b, name);
	td__buf_puts(&t->b, ",\"id\":");
	put_i64(&t->b, ev->level);
	td__buf_putc(&t->b, '}');
}

static void queued(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	/* a re-queue ends a backoff, which began when the failed attempt did (t->when) */
	if (ev->attempt)
		async_slice(t, "backoff", "backoff", ev->call, t->when[ev->call], ev->time_us,
		            &r->batch->calls[ev->call]);
	t->when[ev->call] = ev->time_us;
}

static void started(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	async_slice(t, "queue", "queued", ev->call, t->when[ev->call], ev->time_us,
	            &r->batch->calls[ev->call]);
	t->when[ev->call] = ev->time_us - t->when[ev->call];
	t->slot[ev->call] = slot_take(t);
	if (t->slot[ev->call] + 1 == t->nslots) {
		char name[32];

		snprintf(name, sizeof(name), "slot %u", t->slot[ev->call]);
		thread_name(t, t->slot[ev->call] + 1, name, t->slot[ev->call] + 1);
	}
}

static void put_outcome(struct trace *t, const struct td_event *ev)
{
	td__buf_puts(&t->b, ",\"status\":\"");
	td__buf_puts(&t->b, td_status_name(ev->status));
	td__buf_putc(&t->b, '"');
	if (ev->signal) {
		const char *name = sigabbrev_np(ev->signal);

		td__buf_puts(&t->b, ",\"signal\":\"SIG");
		td__buf_puts(&t->b, name ? name : "?");
		td__buf_putc(&t->b, '"');
	} else if (ev->exit_code >= 0) {
		td__buf_puts(&t->b, ",\"exit_code\":");
		put_i64(&t->b, ev->exit_code);
	}
}

/* chrome://tracing's reserved colour names; Perfetto colours by name and ignores them */
static const char *colour(enum td_status s)
{
	return s == TD_STATUS_TIMEOUT ? "terrible" : s == TD_STATUS_OK ? "good" : "bad";
}

static void attempt_slice(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__buf *b = &t->b;
	char label[48];

	begin(t, "X", t->slot[ev->call] + 1, ev->time_us - ev->run_us);
	td__buf_puts(b, ",\"dur\":");
	put_i64(b, ev->run_us);
	td__buf_puts(b, ",\"cat\":\"call\",\"name\":");
	label[0] = '\0';
	if (ev->status != TD_STATUS_OK)
		snprintf(label, sizeof(label), " [%s]", td_status_name(ev->status));
	td__buf_putc(b, '"'); /* "TOOL ID [STATUS]" */
	put_inner(b, call->name);
	td__buf_putc(b, ' ');
	put_inner(b, call->id);
	td__buf_puts(b, label);
	td__buf_puts(b, "\",\"cname\":\"");
	td__buf_puts(b, colour(ev->status));
	td__buf_puts(b, "\",\"args\":{\"id\":");
	put_str(b, call->id);
	td__buf_puts(b, ",\"tool\":");
	put_str(b, call->name);
	td__buf_puts(b, ",\"level\":");
	put_i64(b, ev->level);
	td__buf_puts(b, ",\"attempt\":");
	put_i64(b, ev->attempt);
	put_outcome(t, ev);
	td__buf_puts(b, ",\"queued_us\":");
	put_i64(b, t->when[ev->call]);
	td__buf_puts(b, ev->retrying ? ",\"retrying\":true}}" : "}}");
	slot_give(t, t->slot[ev->call]);
	t->when[ev->call] = ev->time_us; /* a backoff, if any, starts here */
}

static void not_run(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];

	begin(t, "i", 0, ev->time_us);
	td__buf_puts(&t->b, ",\"s\":\"t\",\"cat\":\"not_run\",\"name\":\"");
	put_inner(&t->b, call->id);
	td__buf_puts(&t->b, " [");
	td__buf_puts(&t->b, td_status_name(ev->status));
	td__buf_puts(&t->b, "]\",\"args\":{\"id\":");
	put_str(&t->b, call->id);
	td__buf_puts(&t->b, ",\"tool\":");
	put_str(&t->b, call->name);
	td__buf_puts(&t->b, ",\"level\":");
	put_i64(&t->b, ev->level);
	put_outcome(t, ev);
	td__buf_puts(&t->b, "}}");
}

static void close_doc(struct trace *t)
{
	if (t->closed)
		return;
	t->closed = 1;
	td__buf_puts(&t->b, "\n],\"displayTimeUnit\":\"ms\"}\n");
	flush(t);
	fflush(t->out);
}

static void on_event(void *ud, const struct td_run *r, const struct td_event *ev)
{
	struct trace *t = ud;

	switch (ev->type) {
	case TD_EVENT_LEVEL_STARTED:
	case TD_EVENT_LEVEL_FINISHED:
		level_marker(t, ev);
		break;
	case TD_EVENT_CALL_QUEUED:
		queued(t, r, ev);
		break;
	case TD_EVENT_CALL_STARTED:
		started(t, r, ev);
		break;
	case TD_EVENT_ATTEMPT_FINISHED:
		attempt_slice(t, r, ev);
		break;
	case TD_EVENT_CALL_FINISHED:
		if (!ev->attempt)
			not_run(t, r, ev);
		break;
	case TD_EVENT_RUN_FINISHED:
		close_doc(t);
		break;
	}
}

static void trace_free(void *ud)
{
	struct trace *t = ud;

	close_doc(t);
	td__buf_free(&t->b);
	td__free(t->when);
	td__free(t->slot);
	td__free(t->free);
	td__free(t);
}

static void header(struct trace *t, const struct td_run *r)
{
	td__buf_puts(&t->b,
	             "{\"otherData\":{\"generator\":\"tooldag " TD_VERSION_STRING "\",\"calls\":");
	put_i64(&t->b, r->plan->ncalls);
	td__buf_puts(&t->b, ",\"levels\":");
	put_i64(&t->b, r->plan->nlevels);
	td__buf_puts(&t->b, ",\"concurrency\":");
	put_i64(&t->b, r->limit);
	td__buf_puts(&t->b, r->opts.schedule == TD_SCHEDULE_EAGER ? ",\"schedule\":\"eager\"}"
	                                                          : ",\"schedule\":\"level\"}");
	td__buf_puts(&t->b, ",\"traceEvents\":[");
	t->first = 1;
	begin(t, "M", 0, 0);
	td__buf_puts(&t->b, ",\"name\":\"process_name\",\"args\":{\"name\":\"tooldag run\"}}");
	thread_name(t, 0, "not run", 0);
}

int td_run_trace(struct td_run *run, FILE *out)
{
	size_t n;
	struct trace *t;
	int err;

	if (!run || !out)
		return TD_EINVAL;
	if (run->started)
		return TD_ESTATE;
	n = run->plan->ncalls ? run->plan->ncalls : 1;
	t = td__calloc(1, sizeof(*t));
	if (!t)
		return TD_ENOMEM;
	t->out = out;
	t->when = td__calloc(n, sizeof(*t->when));
	t->slot = td__calloc(n, sizeof(*t->slot));
	t->free = td__calloc(n, sizeof(*t->free));
	err = t->when && t->slot && t->free ? td__run_observe(run, on_event, trace_free, t)
	                                    : TD_ENOMEM;
	if (err < 0) {
		t->closed = 1; /* nothing was written */
		trace_free(t);
		return err;
	}
	header(t, run);
	return 0;
}

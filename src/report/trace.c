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
 * Formatting is by hand (jsonw.h) into one buffer flushed in 64 KiB writes, room for a whole
 * event reserved once at its start: a 100,000-call run writes ~300,000 events, and a builtin call
 * costs the scheduler about half a microsecond, so every byte and branch per event shows.
 */
#include <string.h>

#include "report/jsonw.h"
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

static void flush(struct trace *t)
{
	if (t->b.len && !t->b.oom)
		fwrite(t->b.data, 1, t->b.len, t->out);
	t->b.len = 0;
	t->b.oom = 0;
}

/* Opens one event: separator, phase (one letter), pid, tid, ts. 0, or -1 when out of memory
 * (the event is left out). */
static int begin(struct trace *t, char ph, uint32_t tid, int64_t ts)
{
	if (t->b.len >= TRACE_FLUSH || t->b.oom)
		flush(t);
	td__buf_reserve(&t->b, JW_ROOM);
	if (t->b.oom)
		return -1;
	if (!t->first)
		JW_LIT(&t->b, ",");
	t->first = 0;
	JW_LIT(&t->b, "\n{\"ph\":\"");
	jw_raw(&t->b, &ph, 1);
	JW_LIT(&t->b, "\",\"pid\":1,\"tid\":");
	jw_i64(&t->b, tid);
	JW_LIT(&t->b, ",\"ts\":");
	jw_i64(&t->b, ts);
	return 0;
}

static void thread_name(struct trace *t, uint32_t tid, const char *name, uint32_t sort)
{
	if (begin(t, 'M', tid, 0) == 0) {
		JW_LIT(&t->b, ",\"name\":\"thread_name\",\"args\":{\"name\":");
		jw_str(&t->b, name);
		JW_LIT(&t->b, "}}");
	}
	if (begin(t, 'M', tid, 0) == 0) {
		JW_LIT(&t->b, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":");
		jw_i64(&t->b, sort);
		JW_LIT(&t->b, "}}");
	}
}

/* An async slice [from, to] as its begin and end events; `call` names the call in the
 * begin's args (NULL: none, which keeps the many queue waits short). */
static void async_slice(struct trace *t, const char *cat_name, uint64_t id, int64_t from,
                        int64_t to, const struct td__call *call)
{
	int k;

	for (k = 0; k < 2; k++) {
		if (begin(t, k ? 'e' : 'b', 0, k ? to : from) < 0)
			return;
		jw_raw(&t->b, cat_name, strlen(cat_name));
		JW_LIT(&t->b, ",\"id\":");
		jw_i64(&t->b, (int64_t)id);
		if (!k && call) {
			JW_LIT(&t->b, ",\"args\":{\"id\":");
			jw_str(&t->b, call->id);
			JW_LIT(&t->b, ",\"tool\":");
			jw_str(&t->b, call->name);
			JW_LIT(&t->b, "}");
		}
		JW_LIT(&t->b, "}");
	}
}
#define QUEUE   ",\"cat\":\"queue\",\"name\":\"queued\""
#define BACKOFF ",\"cat\":\"backoff\",\"name\":\"backoff\""

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
	int start = ev->type == TD_EVENT_LEVEL_STARTED;

	if (start && begin(t, 'i', 0, ev->time_us) == 0) {
		JW_LIT(&t->b, ",\"s\":\"g\",\"cat\":\"level\",\"name\":\"level ");
		jw_i64(&t->b, ev->level);
		JW_LIT(&t->b, "\"}");
	}
	if (begin(t, start ? 'b' : 'e', 0, ev->time_us) < 0)
		return;
	JW_LIT(&t->b, ",\"cat\":\"level\",\"name\":\"level ");
	jw_i64(&t->b, ev->level);
	JW_LIT(&t->b, "\",\"id\":");
	jw_i64(&t->b, ev->level);
	JW_LIT(&t->b, "}");
}

static void queued(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	/* a re-queue ends a backoff, which began when the failed attempt did (t->when) */
	if (ev->attempt)
		async_slice(t, BACKOFF, ev->call, t->when[ev->call], ev->time_us,
		            &r->batch->calls[ev->call]);
	t->when[ev->call] = ev->time_us;
}

static void started(struct trace *t, const struct td_event *ev)
{
	uint32_t s;

	async_slice(t, QUEUE, ev->call, t->when[ev->call], ev->time_us, NULL);
	t->when[ev->call] = ev->time_us - t->when[ev->call];
	s = t->slot[ev->call] = slot_take(t);
	if (s + 1 == t->nslots) { /* a slot's first use: name its track */
		char name[32];

		snprintf(name, sizeof(name), "slot %u", s);
		thread_name(t, s + 1, name, s + 1);
	}
}

static void put_status(struct td__buf *b, enum td_status s)
{
	const char *name = td_status_name(s);

	jw_raw(b, name, strlen(name));
}

/* ,"args":{"id":..,"tool":..,"level":..  (left open for more arguments) */
static void put_call_args(struct td__buf *b, const struct td__call *call, const struct td_event *ev)
{
	JW_LIT(b, ",\"args\":{\"id\":");
	jw_str(b, call->id);
	JW_LIT(b, ",\"tool\":");
	jw_str(b, call->name);
	JW_LIT(b, ",\"level\":");
	jw_i64(b, ev->level);
}

static void put_outcome(struct td__buf *b, const struct td_event *ev)
{
	JW_LIT(b, ",\"status\":\"");
	put_status(b, ev->status);
	JW_LIT(b, "\"");
	if (ev->signal) {
		const char *name = sigabbrev_np(ev->signal);

		JW_LIT(b, ",\"signal\":\"SIG");
		jw_inner(b, name ? name : "?");
		JW_LIT(b, "\"");
	} else if (ev->exit_code >= 0) {
		JW_LIT(b, ",\"exit_code\":");
		jw_i64(b, ev->exit_code);
	}
}

/* chrome://tracing's reserved colour names (Perfetto colours by name and ignores them); an
 * attempt that succeeded keeps the default, which saves bytes on the common case */
static void put_colour(struct td__buf *b, enum td_status s)
{
	if (s == TD_STATUS_TIMEOUT)
		JW_LIT(b, ",\"cname\":\"terrible\"");
	else if (s != TD_STATUS_OK)
		JW_LIT(b, ",\"cname\":\"bad\"");
}

static void attempt_slice(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__buf *b = &t->b;

	slot_give(t, t->slot[ev->call]);
	if (begin(t, 'X', t->slot[ev->call] + 1, ev->time_us - ev->run_us) < 0)
		return;
	JW_LIT(b, ",\"dur\":");
	jw_i64(b, ev->run_us);
	JW_LIT(b, ",\"cat\":\"call\",\"name\":\""); /* "TOOL ID [STATUS]" */
	jw_inner(b, call->name);
	JW_LIT(b, " ");
	jw_inner(b, call->id);
	if (ev->status != TD_STATUS_OK) {
		JW_LIT(b, " [");
		put_status(b, ev->status);
		JW_LIT(b, "]");
	}
	JW_LIT(b, "\"");
	put_colour(b, ev->status);
	put_call_args(b, call, ev);
	JW_LIT(b, ",\"attempt\":");
	jw_i64(b, ev->attempt);
	put_outcome(b, ev);
	JW_LIT(b, ",\"queued_us\":");
	jw_i64(b, t->when[ev->call]);
	if (ev->retrying)
		JW_LIT(b, ",\"retrying\":true");
	JW_LIT(b, "}}");
	t->when[ev->call] = ev->time_us; /* a backoff, if any, starts here */
}

static void not_run(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__buf *b = &t->b;

	if (begin(t, 'i', 0, ev->time_us) < 0)
		return;
	JW_LIT(b, ",\"s\":\"t\",\"cat\":\"not_run\",\"name\":\"");
	jw_inner(b, call->id);
	JW_LIT(b, " [");
	put_status(b, ev->status);
	JW_LIT(b, "]\"");
	put_call_args(b, call, ev);
	put_outcome(b, ev);
	JW_LIT(b, "}}");
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
		started(t, ev);
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
	struct td__buf *b = &t->b;

	td__buf_reserve(b, JW_ROOM);
	if (b->oom)
		return;
	JW_LIT(b, "{\"otherData\":{\"generator\":\"tooldag " TD_VERSION_STRING "\",\"calls\":");
	jw_i64(b, r->plan->ncalls);
	JW_LIT(b, ",\"levels\":");
	jw_i64(b, r->plan->nlevels);
	JW_LIT(b, ",\"concurrency\":");
	jw_i64(b, r->limit);
	if (r->opts.schedule == TD_SCHEDULE_EAGER)
		JW_LIT(b, ",\"schedule\":\"eager\"}");
	else
		JW_LIT(b, ",\"schedule\":\"level\"}");
	JW_LIT(b, ",\"traceEvents\":[");
	t->first = 1;
	if (begin(t, 'M', 0, 0) == 0)
		JW_LIT(b, ",\"name\":\"process_name\",\"args\":{\"name\":\"tooldag run\"}}");
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

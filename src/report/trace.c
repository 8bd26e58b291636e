/* SPDX-License-Identifier: MIT */
/*
 * trace.c - td_run_trace(): a run as Chrome trace-event JSON (Perfetto, chrome://tracing),
 * written as it goes by an ordinary observer of the run's events.
 *
 * Layout of the document ({"otherData":{...},"traceEvents":[...],"displayTimeUnit":"ms"}),
 * times in microseconds from the run's start:
 *  - process 1 "tooldag run", tid 1 + k is "slot k": each attempt is a complete ("X") slice
 *    on the lowest slot free when it started, so the slots show the concurrency actually
 *    used. Slots are ours, not the scheduler's: it has no such notion.
 *  - process 2 "queue", tid 1 + k is "queue k": each wait between CALL_QUEUED and the start
 *    (or the end, for a call cancelled while it waited) is a complete slice named after the
 *    call, on a lane free when it was queued, so queue time and run time never share a track.
 *    Waits overlap by the thousand (a level's calls are queued at once): as async b/e pairs
 *    they took two events each, as lanes they take one, plus one name per lane ever used.
 *  - process 1, tid 0 "not run": a level is an async slice "level K" (cat "level") plus a
 *    global instant marker when it starts; a retry's backoff an async slice "backoff"; calls
 *    that never ran are instants, cat "not_run".
 * Formatting is by hand (jsonw.h) into one buffer flushed in TRACE_FLUSH writes: a
 * 100,000-call run writes ~200,000 events, and a builtin call costs the scheduler about half a
 * microsecond, so every byte and branch per event shows (bench/README.md, "Observers").
 */
#include <string.h>

#include "report/jsonw.h"
#include "run/run.h"

#define TRACE_FLUSH (256u * 1024)
#define NO_TRACK    UINT32_MAX

/* tracks of one kind; free[] holds at most n entries, never more than calls exist */
struct tracks {
	uint32_t *free;
	uint32_t nfree, n;
};

struct trace {
	FILE *out;
	struct td__buf b;
	int closed;
	/* [ncalls]: when queued; while it runs, how long it waited; after a failed attempt, when
	 * that attempt ended (where a backoff starts) */
	int64_t *when;
	uint32_t *track;     /* [ncalls]: its lane while queued, its slot while running */
	struct tracks slots; /* a min-heap: lowest free first */
	struct tracks lanes; /* a stack: any free lane will do, and a stack costs O(1) */
};

/* ---- output ---- */

static void flush(struct trace *t)
{
	if (t->b.len && !t->b.oom)
		fwrite(t->b.data, 1, t->b.len, t->out);
	t->b.len = 0;
	t->b.oom = 0;
}

/* Opens one event: separator and fixed prefix (phase, pid), tid, ts. 0, or -1 when out of
 * memory (the event is left out). Every event but the header's first starts with ",\n". */
static int begin(struct trace *t, const char *prefix, size_t plen, uint32_t tid, int64_t ts)
{
	if (t->b.len >= TRACE_FLUSH || t->b.oom)
		flush(t);
	if (jw_room(&t->b, 0) < 0)
		return -1;
	jw_raw(&t->b, prefix, plen);
	jw_u64(&t->b, tid);
	JW_LIT(&t->b, ",\"ts\":");
	jw_i64(&t->b, ts);
	return 0;
}
#define PREFIX(ph, pid)            ",\n{\"ph\":\"" ph "\",\"pid\":" #pid ",\"tid\":"
#define BEGIN(t, ph, pid, tid, ts) begin(t, PREFIX(ph, pid), sizeof(PREFIX(ph, pid)) - 1, tid, ts)

/* thread_name and thread_sort_index of a track (pid a literal digit) */
#define NAME_TRACK(t, pid, tid, name_fn, arg)                                                      \
	do {                                                                                       \
		if (BEGIN(t, "M", pid, tid, 0) == 0) {                                             \
			JW_LIT(&(t)->b, ",\"name\":\"thread_name\",\"args\":{\"name\":\"");        \
			name_fn;                                                                   \
			JW_LIT(&(t)->b, "\"}}");                                                   \
		}                                                                                  \
		if (BEGIN(t, "M", pid, tid, 0) == 0) {                                             \
			JW_LIT(&(t)->b,                                                            \
			       ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":");       \
			jw_u64(&(t)->b, arg);                                                      \
			JW_LIT(&(t)->b, "}}");                                                     \
		}                                                                                  \
	} while (0)

/* An async slice [from, to] on tid 0 as its begin and end events; `call` names the call in
 * the begin's args. */
static void async_slice(struct trace *t, const char *cat_name, size_t len, uint64_t id,
                        int64_t from, int64_t to, const struct td__call *call)
{
	int k;

	for (k = 0; k < 2; k++) {
		if ((k ? BEGIN(t, "e", 1, 0, to) : BEGIN(t, "b", 1, 0, from)) < 0)
			return;
		jw_raw(&t->b, cat_name, len);
		JW_LIT(&t->b, ",\"id\":");
		jw_u64(&t->b, id);
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
#define BACKOFF ",\"cat\":\"backoff\",\"name\":\"backoff\""

/* ---- tracks ---- */

/* The lowest free slot, or a new one (*fresh set: its track needs a name). */
static uint32_t slot_take(struct tracks *s, int *fresh)
{
	uint32_t top, last, i = 0;

	*fresh = !s->nfree;
	if (!s->nfree)
		return s->n++;
	top = s->free[0];
	last = s->free[--s->nfree];
	for (;;) {
		uint32_t k = 2 * i + 1;

		if (k >= s->nfree)
			break;
		if (k + 1 < s->nfree && s->free[k + 1] < s->free[k])
			k++;
		if (last <= s->free[k])
			break;
		s->free[i] = s->free[k];
		i = k;
	}
	if (s->nfree)
		s->free[i] = last;
	return top;
}

static void slot_give(struct tracks *s, uint32_t slot)
{
	uint32_t i = s->nfree++;

	while (i > 0 && s->free[(i - 1) / 2] > slot) {
		s->free[i] = s->free[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->free[i] = slot;
}

static uint32_t lane_take(struct tracks *l, int *fresh)
{
	*fresh = !l->nfree;
	return l->nfree ? l->free[--l->nfree] : l->n++;
}

static void lane_give(struct tracks *l, uint32_t lane)
{
	l->free[l->nfree++] = lane;
}

/* ---- events ---- */

static void level_marker(struct trace *t, const struct td_event *ev)
{
	int start = ev->type == TD_EVENT_LEVEL_STARTED;

	if (start && BEGIN(t, "i", 1, 0, ev->time_us) == 0) {
		JW_LIT(&t->b, ",\"s\":\"g\",\"cat\":\"level\",\"name\":\"level ");
		jw_u64(&t->b, ev->level);
		JW_LIT(&t->b, "\"}");
	}
	if ((start ? BEGIN(t, "b", 1, 0, ev->time_us) : BEGIN(t, "e", 1, 0, ev->time_us)) < 0)
		return;
	JW_LIT(&t->b, ",\"cat\":\"level\",\"name\":\"level ");
	jw_u64(&t->b, ev->level);
	JW_LIT(&t->b, "\",\"id\":");
	jw_u64(&t->b, ev->level);
	JW_LIT(&t->b, "}");
}

static void queued(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	uint32_t c = ev->call, lane;
	int fresh;

	/* a re-queue ends a backoff, which began when the failed attempt ended (t->when) */
	if (ev->attempt)
		async_slice(t, BACKOFF, sizeof(BACKOFF) - 1, c, t->when[c], ev->time_us,
		            &r->batch->calls[c]);
	t->when[c] = ev->time_us;
	lane = t->track[c] = lane_take(&t->lanes, &fresh);
	if (fresh)
		NAME_TRACK(t, 2, lane + 1, JW_LIT(&t->b, "queue "); jw_u64(&t->b, lane), lane + 1);
}

/* The wait of call c, queued at t->when[c], until `end`: a slice on its lane, named after it. */
static void wait_slice(struct trace *t, const struct td_run *r, uint32_t c, int64_t end)
{
	uint32_t lane = t->track[c];

	lane_give(&t->lanes, lane);
	t->track[c] = NO_TRACK;
	if (BEGIN(t, "X", 2, lane + 1, t->when[c]) < 0)
		return;
	JW_LIT(&t->b, ",\"dur\":");
	jw_i64(&t->b, end - t->when[c]);
	JW_LIT(&t->b, ",\"name\":");
	jw_str(&t->b, r->batch->calls[c].id);
	JW_LIT(&t->b, "}");
}

static void started(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	uint32_t c = ev->call, s;
	int fresh;

	wait_slice(t, r, c, ev->time_us);
	t->when[c] = ev->time_us - t->when[c];
	s = t->track[c] = slot_take(&t->slots, &fresh);
	if (fresh)
		NAME_TRACK(t, 1, s + 1, JW_LIT(&t->b, "slot "); jw_u64(&t->b, s), s + 1);
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
	jw_u64(b, ev->level);
}

static void put_outcome(struct td__buf *b, const struct td_event *ev)
{
	if (ev->status == TD_STATUS_OK)
		JW_LIT(b, ",\"status\":\"ok\"");
	else {
		JW_LIT(b, ",\"status\":\"");
		put_status(b, ev->status);
		JW_LIT(b, "\"");
	}
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
	uint32_t slot = t->track[ev->call];

	slot_give(&t->slots, slot);
	t->track[ev->call] = NO_TRACK;
	if (BEGIN(t, "X", 1, slot + 1, ev->time_us - ev->run_us) < 0)
		return;
	JW_LIT(b, ",\"dur\":");
	jw_i64(b, ev->run_us);
	JW_LIT(b, ",\"name\":\""); /* "TOOL ID [STATUS]" */
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
	jw_u64(b, ev->attempt);
	put_outcome(b, ev);
	JW_LIT(b, ",\"queued_us\":");
	jw_i64(b, t->when[ev->call]);
	if (ev->retrying)
		JW_LIT(b, ",\"retrying\":true");
	JW_LIT(b, "}}");
	t->when[ev->call] = ev->time_us; /* a backoff, if any, starts here */
}

static void call_finished(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__buf *b = &t->b;

	if (t->track[ev->call] != NO_TRACK) /* cancelled while it waited */
		wait_slice(t, r, ev->call, ev->time_us);
	if (ev->attempt || BEGIN(t, "i", 1, 0, ev->time_us) < 0)
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
		started(t, r, ev);
		break;
	case TD_EVENT_ATTEMPT_FINISHED:
		attempt_slice(t, r, ev);
		break;
	case TD_EVENT_CALL_FINISHED:
		call_finished(t, r, ev);
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
	td__free(t->track);
	td__free(t->slots.free);
	td__free(t->lanes.free);
	td__free(t);
}

#define PROCESS(pid, name)                                                                         \
	PREFIX("M", pid)                                                                           \
	"0,\"ts\":0,\"name\":\"process_name\",\"args\":{\"name\":\"" name "\"}}" PREFIX(           \
	    "M", pid) "0,\"ts\":0,\"name\":\"process_sort_index\",\"args\":{\"sort_index\":" #pid  \
	              "}}"

static void header(struct trace *t, const struct td_run *r)
{
	struct td__buf *b = &t->b;

	if (jw_room(b, 0) < 0)
		return;
	JW_LIT(b, "{\"otherData\":{\"generator\":\"tooldag " TD_VERSION_STRING "\",\"calls\":");
	jw_u64(b, r->plan->ncalls);
	JW_LIT(b, ",\"levels\":");
	jw_u64(b, r->plan->nlevels);
	JW_LIT(b, ",\"concurrency\":");
	jw_u64(b, r->limit);
	if (r->opts.schedule == TD_SCHEDULE_EAGER)
		JW_LIT(b, ",\"schedule\":\"eager\"}");
	else
		JW_LIT(b, ",\"schedule\":\"level\"}");
	/* the first event, so that every other one can start with a separator */
	JW_LIT(b, ",\"traceEvents\":[\n{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"ts\":0,\"name\":"
	          "\"process_name\",\"args\":{\"name\":\"tooldag run\"}}");
	JW_LIT(b, PREFIX("M", 1) "0,\"ts\":0,\"name\":\"process_sort_index\",\"args\":{"
	                         "\"sort_index\":1}}");
	if (jw_room(b, 0) == 0)
		JW_LIT(b, PROCESS(2, "queue"));
	NAME_TRACK(t, 1, 0, JW_LIT(&t->b, "not run"), 0);
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
	t->track = td__malloc(n * sizeof(*t->track));
	t->slots.free = td__calloc(n, sizeof(*t->slots.free));
	t->lanes.free = td__calloc(n, sizeof(*t->lanes.free));
	err = t->when && t->track && t->slots.free && t->lanes.free
	          ? td__run_observe(run, on_event, trace_free, t)
	          : TD_ENOMEM;
	if (err < 0) {
		t->closed = 1; /* nothing was written */
		trace_free(t);
		return err;
	}
	memset(t->track, 0xff, n * sizeof(*t->track)); /* NO_TRACK */
	header(t, run);
	return 0;
}

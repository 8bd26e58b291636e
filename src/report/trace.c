/* SPDX-License-Identifier: MIT */
/*
 * trace.c - td_run_trace(): a run as Chrome trace-event JSON (Perfetto, chrome://tracing),
 * written as it goes by an ordinary observer of the run's events.
 *
 * Layout of the document ({"otherData":{...},"traceEvents":[...],"displayTimeUnit":"ms"}),
 * times in microseconds from the run's start:
 *  - process 1 "tooldag run", tid 1 + k is "slot k": each attempt is a complete ("X") slice
 *    on the lowest slot free when it started, so the slots show the concurrency actually
 *    used. Slots are ours, not the scheduler's: it has no such notion. A first attempt that
 *    succeeded (nearly every slice) carries only its queue wait; any other attempt also its
 *    level, attempt number, status and exit code or signal; an attempt a Redis worker held
 *    (a `remote:` tool's) also the worker's name and its wait on the Redis queue.
 *  - process 2 "queue": a counter "queued" (calls waiting for a slot, a tool limit or a rate
 *    token; sampled when it changes, at most about every TRACE_COUNTER_US), and tid 1 + k
 *    "queue k": each wait between CALL_QUEUED and the start (or the end, for a call
 *    cancelled while it waited) is a complete slice named after the call, on a lane free
 *    when it was queued, so queue time and run time never share a track. At most
 *    TRACE_LANES lanes: a level queues all its calls at once, and ten thousand lanes are
 *    neither readable nor cheap (two fifths of the file and of the writer's instructions on a
 *    100,000-call run in levels of 10,000); a call queued while every lane is taken has no
 *    wait slice: its wait is in the counter and in its run slice's queued_us.
 *  - process 1, tid 0 "not run": a level is an async slice "level K" (cat "level") plus a
 *    global instant marker when it starts; a retry's backoff an async slice "backoff"; calls
 *    that never ran are instants, cat "not_run".
 *  - process 3 "workers", only when Redis workers ran calls: each worker's name is a track
 *    ("NAME", more lanes of the same name when it held several calls at once), with a slice
 *    per attempt it held, from the end of the attempt's queue wait to the attempt's end (the
 *    worker's time as the scheduler sees it: no clock of the worker's is read).
 * Formatting is by hand (jsonw.h) into one buffer flushed in TRACE_FLUSH writes: a
 * 100,000-call run writes ~120,000 events, and a builtin call costs the scheduler about half a
 * microsecond, so every byte and branch per event shows (bench/README.md, "Observers").
 */
#include <string.h>

#include "report/jsonw.h"
#include "run/run.h"

#define TRACE_FLUSH (256u * 1024)
#define TRACE_LANES 64u /* queue lanes at most */
/* The queued counter: at most one sample per this many microseconds (plus the last one) */
#define TRACE_COUNTER_US 100
#define NO_TRACK         UINT32_MAX
#define NO_LANE          (UINT32_MAX - 1) /* queued, but every lane was taken */

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
	uint32_t *track; /* [ncalls]: its lane (or NO_LANE) while queued, its slot while running */
	uint32_t ncalls; /* room in when, track and slots.free (a streamed run's batch grows) */
	struct tracks slots; /* a min-heap: lowest free first */
	struct tracks lanes; /* a stack: any free lane will do, and a stack costs O(1) */
	/* the "queued" counter: its value, the time of a change not written yet, and the time
	 * before which a newer change replaces it instead of following it */
	uint32_t nqueued;
	int count_pending;
	int64_t count_ts, count_next;
	/* process 3 "workers": the Redis workers seen, each with its lanes */
	struct wtrack *workers;
	uint32_t nworkers, next_tid;
};

/* A worker's lanes: lane k is track tid[k], busy until end[k]. */
struct wtrack {
	char *name;
	uint32_t *tid;
	int64_t *end;
	uint32_t n;
};

/* ---- output ---- */

static void flush(struct trace *t)
{
	if (t->b.len && !t->b.oom)
		fwrite(t->b.data, 1, t->b.len, t->out);
	t->b.len = 0;
	t->b.oom = 0;
}

/* Opens one event: separator and fixed prefix (phase, pid), tid, ts, with room for its fixed
 * parts and `strings` bytes of strings; the cursor, or NULL when out of memory (the event is
 * left out). Every event but the header's first starts with ",\n". */
static inline __attribute__((always_inline)) char *
begin(struct trace *t, const char *prefix, size_t plen, uint32_t tid, int64_t ts, size_t strings)
{
	char *p;

	if (t->b.len >= TRACE_FLUSH || t->b.oom)
		flush(t);
	p = jw_open(&t->b, strings);
	if (!p)
		return NULL;
	p = jw_raw(p, prefix, plen);
	p = jw_u64(p, tid);
	p = JW_LIT(p, ",\"ts\":");
	return jw_i64(p, ts);
}
#define PREFIX(ph, pid) ",\n{\"ph\":\"" ph "\",\"pid\":" #pid ",\"tid\":"
#define BEGIN(t, ph, pid, tid, ts, strings)                                                        \
	begin(t, PREFIX(ph, pid), sizeof(PREFIX(ph, pid)) - 1, tid, ts, strings)

/* thread_name ("WHAT K") and thread_sort_index (1 + K) of track 1 + K (pid a literal digit) */
#define NAME_TRACK(t, pid, what, k)                                                                \
	do {                                                                                       \
		char *p_ = BEGIN(t, "M", pid, (k) + 1, 0, 0);                                      \
		if (!p_)                                                                           \
			break;                                                                     \
		p_ = JW_LIT(p_, ",\"name\":\"thread_name\",\"args\":{\"name\":\"" what " ");       \
		p_ = jw_u64(p_, k);                                                                \
		p_ = JW_LIT(p_, "\"}}" PREFIX("M", pid));                                          \
		p_ = jw_u64(p_, (k) + 1);                                                          \
		p_ = JW_LIT(p_,                                                                    \
		            ",\"ts\":0,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":"); \
		p_ = jw_u64(p_, (k) + 1);                                                          \
		jw_close(&(t)->b, JW_LIT(p_, "}}"));                                               \
	} while (0)

/* The backoff of call c, [from, to], as an async slice's begin and end events on tid 0. */
static void backoff_slice(struct trace *t, const struct td_run *r, uint32_t c, int64_t from,
                          int64_t to)
{
	const struct td__call *call = &r->batch->calls[c];
	struct td__call_lens lens = td__observe_lens(r, c);
	char *p = BEGIN(t, "b", 1, 0, from,
	                jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name));

	if (!p)
		return;
	p = JW_LIT(p, ",\"cat\":\"backoff\",\"name\":\"backoff\",\"id\":");
	p = jw_u64(p, c);
	p = JW_LIT(p, ",\"args\":{\"id\":\"");
	p = jw_known(p, call->id, lens.id);
	p = JW_LIT(p, "\",\"tool\":\"");
	p = jw_known(p, call->name, lens.name);
	jw_close(&t->b, JW_LIT(p, "\"}}"));
	p = BEGIN(t, "e", 1, 0, to, 0);
	if (!p)
		return;
	p = JW_LIT(p, ",\"cat\":\"backoff\",\"name\":\"backoff\",\"id\":");
	p = jw_u64(p, c);
	jw_close(&t->b, JW_LIT(p, "}"));
}

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
	char *p;

	if (start && (p = BEGIN(t, "i", 1, 0, ev->time_us, 0))) {
		p = JW_LIT(p, ",\"s\":\"g\",\"cat\":\"level\",\"name\":\"level ");
		p = jw_u64(p, ev->level);
		jw_close(&t->b, JW_LIT(p, "\"}"));
	}
	p = start ? BEGIN(t, "b", 1, 0, ev->time_us, 0) : BEGIN(t, "e", 1, 0, ev->time_us, 0);
	if (!p)
		return;
	p = JW_LIT(p, ",\"cat\":\"level\",\"name\":\"level ");
	p = jw_u64(p, ev->level);
	p = JW_LIT(p, "\",\"id\":");
	p = jw_u64(p, ev->level);
	jw_close(&t->b, JW_LIT(p, "}"));
}

/* The counter's sample at t->count_ts. */
static void counter_sample(struct trace *t)
{
	char *p = BEGIN(t, "C", 2, 0, t->count_ts, 0);

	t->count_pending = 0;
	if (!p)
		return;
	p = JW_LIT(p, ",\"name\":\"queued\",\"args\":{\"calls\":");
	p = jw_u64(p, t->nqueued);
	jw_close(&t->b, JW_LIT(p, "}}"));
}

/* The queued counter goes up or down at ts: one sample per timestamp, written when a later one
 * comes (an attempt's start may be read a little before the latest event: it counts at the
 * latest time, so samples stay in order), unless that one comes within TRACE_COUNTER_US of
 * the last sample written: then it replaces it. Every sample is the exact value at its time;
 * what changes inside the window of one sample is left out (a 100,000-call run changes the
 * counter at nearly every event, and its samples were a tenth of the file). */
static void count(struct trace *t, int64_t ts, int up)
{
	if (t->count_pending && ts > t->count_ts && ts >= t->count_next) {
		counter_sample(t);
		t->count_next = t->count_ts + TRACE_COUNTER_US;
	}
	if (!t->count_pending || ts > t->count_ts)
		t->count_ts = ts;
	t->count_pending = 1;
	t->nqueued = up ? t->nqueued + 1 : t->nqueued - 1;
}

static void queued(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	uint32_t c = ev->call, lane;
	int fresh;

	/* a re-queue ends a backoff, which began when the failed attempt ended (t->when) */
	if (ev->attempt)
		backoff_slice(t, r, c, t->when[c], ev->time_us);
	t->when[c] = ev->time_us;
	count(t, ev->time_us, 1);
	if (!t->lanes.nfree && t->lanes.n == TRACE_LANES) {
		t->track[c] = NO_LANE;
		return;
	}
	lane = t->track[c] = lane_take(&t->lanes, &fresh);
	if (fresh)
		NAME_TRACK(t, 2, "queue", lane);
}

/* The wait of call c, queued at t->when[c], ends at `end`: the counter goes down, and a call
 * with a lane gets its slice there, named after it. */
static void wait_ends(struct trace *t, const struct td_run *r, uint32_t c, int64_t end)
{
	const char *id = r->batch->calls[c].id;
	uint32_t lane = t->track[c], len;
	char *p;

	count(t, end, 0);
	t->track[c] = NO_TRACK;
	if (lane == NO_LANE)
		return;
	lane_give(&t->lanes, lane);
	len = td__observe_lens(r, c).id;
	p = BEGIN(t, "X", 2, lane + 1, t->when[c], jw_room_for(id, len));
	if (!p)
		return;
	p = JW_LIT(p, ",\"dur\":");
	p = jw_i64(p, end - t->when[c]);
	p = JW_LIT(p, ",\"name\":\"");
	p = jw_known(p, id, len);
	jw_close(&t->b, JW_LIT(p, "\"}"));
}

static void started(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	uint32_t c = ev->call, s;
	int fresh;

	wait_ends(t, r, c, ev->time_us);
	t->when[c] = ev->time_us - t->when[c];
	s = t->track[c] = slot_take(&t->slots, &fresh);
	if (fresh)
		NAME_TRACK(t, 1, "slot", s);
}

static char *put_status(char *p, enum td_status s)
{
	const char *name = td_status_name(s);

	return jw_raw(p, name, strlen(name));
}

/* ,"args":{"id":..,"tool":..,"level":..  (left open for more arguments) */
static char *put_call_args(char *p, const struct td__call *call, struct td__call_lens lens,
                           const struct td_event *ev)
{
	p = JW_LIT(p, ",\"args\":{");
	return jw_call_fields(p, call, lens, ev->level);
}

static char *put_outcome(char *p, const struct td_event *ev)
{
	p = jw_status(p, ev->status);
	if (ev->signal) {
		p = JW_LIT(p, ",\"signal\":\"");
		p = jw_signame(p, ev->signal);
		return JW_LIT(p, "\"");
	}
	return jw_exit_code(p, ev->exit_code);
}

/* chrome://tracing's reserved colour names (Perfetto colours by name and ignores them); an
 * attempt that succeeded keeps the default, which saves bytes on the common case */
static char *put_colour(char *p, enum td_status s)
{
	if (s == TD_STATUS_TIMEOUT)
		return JW_LIT(p, ",\"cname\":\"terrible\"");
	if (s != TD_STATUS_OK)
		return JW_LIT(p, ",\"cname\":\"bad\"");
	return p;
}

/* "TOOL ID [STATUS]" (the status only when not ok) */
static char *put_slice_name(char *p, const struct td__call *call, struct td__call_lens lens,
                            enum td_status s)
{
	p = JW_LIT(p, ",\"name\":\"");
	p = jw_known(p, call->name, lens.name);
	p = JW_LIT(p, " ");
	p = jw_known(p, call->id, lens.id);
	if (s != TD_STATUS_OK) {
		p = JW_LIT(p, " [");
		p = put_status(p, s);
		p = JW_LIT(p, "]");
	}
	return JW_LIT(p, "\"");
}

/* ---- workers ---- */

/* process 3's name, written with the first worker */
#define PROCESS_WORKERS                                                                            \
	PREFIX("M", 3)                                                                             \
	"0,\"ts\":0,\"name\":\"process_name\",\"args\":{\"name\":\"workers\"}}" PREFIX(            \
	    "M", 3) "0,\"ts\":0,\"name\":\"process_sort_index\",\"args\":{\"sort_index\":3}}"

/* The worker named `name`, added (and process 3 named) at its first attempt; NULL when out of
 * memory. */
static struct wtrack *worker_of(struct trace *t, const char *name)
{
	struct wtrack *w;
	uint32_t i;
	char *p;

	for (i = 0; i < t->nworkers; i++)
		if (!strcmp(t->workers[i].name, name))
			return &t->workers[i];
	if (!(w = td__reallocarray(t->workers, t->nworkers + 1, sizeof(*w))))
		return NULL;
	t->workers = w;
	w = &w[t->nworkers];
	memset(w, 0, sizeof(*w));
	if (!(w->name = td__strdup(name)))
		return NULL;
	if (!t->nworkers++ && (p = jw_open(&t->b, 0)))
		jw_close(&t->b, JW_LIT(p, PROCESS_WORKERS));
	return w;
}

/* The lane of worker w free at `from` (a new one when every lane is busy then), busy until
 * `to`; its track id, or NO_TRACK when out of memory. A new lane's track is named "NAME k"
 * and sorted after the worker's other lanes. */
static uint32_t worker_lane(struct trace *t, struct wtrack *w, int64_t from, int64_t to)
{
	uint32_t k, *tid;
	int64_t *end;
	char *p;

	for (k = 0; k < w->n && w->end[k] > from; k++)
		;
	if (k == w->n) {
		if (!(tid = td__reallocarray(w->tid, k + 1, sizeof(*tid))))
			return NO_TRACK;
		w->tid = tid;
		if (!(end = td__reallocarray(w->end, k + 1, sizeof(*end))))
			return NO_TRACK;
		w->end = end;
		w->tid[k] = ++t->next_tid;
		w->n++;
		p = BEGIN(t, "M", 3, w->tid[k], 0, strlen(w->name) + 2);
		if (p) {
			p = JW_LIT(p, ",\"name\":\"thread_name\",\"args\":{\"name\":");
			p = jw_string(p, w->name, strlen(w->name));
			p = JW_LIT(p, "}}" PREFIX("M", 3));
			p = jw_u64(p, w->tid[k]);
			p = JW_LIT(p, ",\"ts\":0,\"name\":\"thread_sort_index\",\"args\":{"
			              "\"sort_index\":");
			p = jw_u64(p, (uint64_t)(w - t->workers) * 65536 + k);
			jw_close(&t->b, JW_LIT(p, "}}"));
		}
	}
	w->end[k] = to;
	return w->tid[k];
}

/* A remote attempt on its worker's track: from the end of its queue wait to its end, the
 * time the worker held it as this side sees it. */
static void worker_slice(struct trace *t, const struct td_run *r, const struct td_event *ev,
                         const struct td__attempt *a)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__call_lens lens = td__observe_lens(r, ev->call);
	int64_t from = ev->time_us - ev->run_us + a->queue_us;
	struct wtrack *w = worker_of(t, a->worker);
	uint32_t tid;
	char *p;

	if (from > ev->time_us)
		from = ev->time_us;
	if (!w || (tid = worker_lane(t, w, from, ev->time_us)) == NO_TRACK)
		return;
	p = BEGIN(t, "X", 3, tid, from,
	          jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name));
	if (!p)
		return;
	p = JW_LIT(p, ",\"dur\":");
	p = jw_i64(p, ev->time_us - from);
	p = put_slice_name(p, call, lens, ev->status);
	p = put_colour(p, ev->status);
	jw_close(&t->b, JW_LIT(p, "}"));
}

static void attempt_slice(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__call_lens lens = td__observe_lens(r, ev->call);
	const struct td__attempt *a = td__attempt_of(&r->calls[ev->call], ev->attempt);
	uint32_t slot = t->track[ev->call];
	char *p;

	slot_give(&t->slots, slot);
	t->track[ev->call] = NO_TRACK;
	/* the id and the tool are in the name only: two thirds of a trace are these slices */
	p = BEGIN(t, "X", 1, slot + 1, ev->time_us - ev->run_us,
	          jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name) +
	              (a->worker ? strlen(a->worker) + 2 : 0));
	if (!p)
		return;
	p = JW_LIT(p, ",\"dur\":");
	p = jw_i64(p, ev->run_us);
	p = put_slice_name(p, call, lens, ev->status);
	p = put_colour(p, ev->status);
	p = JW_LIT(p, ",\"args\":{\"queued_us\":");
	p = jw_i64(p, t->when[ev->call]);
	if (a->worker) { /* a remote attempt: who held it, and its wait on the Redis queue */
		p = JW_LIT(p, ",\"worker\":");
		p = jw_string(p, a->worker, strlen(a->worker));
		p = JW_LIT(p, ",\"worker_wait_us\":");
		p = jw_i64(p, a->queue_us);
	}
	/* the common slice (a first attempt that succeeded) stops here: its level is the level
	 * slice around it, and the rest is what "ok" says */
	if (ev->status != TD_STATUS_OK || ev->attempt != 1) {
		p = JW_LIT(p, ",\"level\":");
		p = jw_u64(p, ev->level);
		p = JW_LIT(p, ",\"attempt\":");
		p = jw_u64(p, ev->attempt);
		p = put_outcome(p, ev);
		if (ev->retrying)
			p = JW_LIT(p, ",\"retrying\":true");
	}
	jw_close(&t->b, JW_LIT(p, "}}"));
	t->when[ev->call] = ev->time_us; /* a backoff, if any, starts here */
	if (a->worker)
		worker_slice(t, r, ev, a);
}

static void call_finished(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__call_lens lens;
	char *p;

	if (t->track[ev->call] != NO_TRACK) /* cancelled while it waited */
		wait_ends(t, r, ev->call, ev->time_us);
	if (ev->attempt)
		return;
	lens = td__observe_lens(r, ev->call);
	p = BEGIN(t, "i", 1, 0, ev->time_us,
	          2 * jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name));
	if (!p)
		return;
	p = JW_LIT(p, ",\"s\":\"t\",\"cat\":\"not_run\",\"name\":\"");
	p = jw_known(p, call->id, lens.id);
	p = JW_LIT(p, " [");
	p = put_status(p, ev->status);
	p = JW_LIT(p, "]\"");
	p = put_call_args(p, call, lens, ev);
	p = put_outcome(p, ev);
	jw_close(&t->b, JW_LIT(p, "}}"));
}

/* A running call's progress: an instant event "progress 3/20" on its slot's track, its words in
 * the arguments. */
static void progress_mark(struct trace *t, const struct td_run *r, const struct td_event *ev)
{
	const struct td__call *call = &r->batch->calls[ev->call];
	struct td__call_lens lens = td__observe_lens(r, ev->call);
	size_t mlen = ev->message ? strlen(ev->message) : 0;
	char num[100], *p;
	int n = ev->total > 0 ? snprintf(num, sizeof(num), "%.15g/%.15g", ev->progress, ev->total)
	                      : snprintf(num, sizeof(num), "%.15g", ev->progress);

	if (t->track[ev->call] == NO_TRACK)
		return;
	p = BEGIN(t, "i", 1, t->track[ev->call] + 1, ev->time_us,
	          jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name) + mlen +
	              sizeof(num));
	if (!p)
		return;
	p = JW_LIT(p, ",\"s\":\"t\",\"cat\":\"progress\",\"name\":\"progress ");
	p = jw_raw(p, num, (size_t)n);
	p = JW_LIT(p, "\"");
	p = put_call_args(p, call, lens, ev);
	if (ev->message) {
		p = JW_LIT(p, ",\"message\":\"");
		p = jw_escaped(p, ev->message);
		p = JW_LIT(p, "\"");
	}
	jw_close(&t->b, JW_LIT(p, "}}"));
}

static void close_doc(struct trace *t)
{
	if (t->closed)
		return;
	t->closed = 1;
	if (t->count_pending)
		counter_sample(t);
	td__buf_puts(&t->b, "\n],\"displayTimeUnit\":\"ms\"}\n");
	flush(t);
	fflush(t->out);
}

/* Room for the calls of a streamed run that joined since; 0 or TD_ENOMEM (the calls beyond
 * the room are left out of the trace). */
static int fit(struct trace *t, uint32_t n)
{
	void *v;

	if ((v = td__reallocarray(t->when, n, sizeof(*t->when))))
		t->when = v;
	if (v && (v = td__reallocarray(t->track, n, sizeof(*t->track))))
		t->track = v;
	if (v && (v = td__reallocarray(t->slots.free, n, sizeof(*t->slots.free))))
		t->slots.free = v;
	if (!v)
		return TD_ENOMEM;
	memset(t->track + t->ncalls, 0xff, (n - t->ncalls) * sizeof(*t->track)); /* NO_TRACK */
	t->ncalls = n;
	return 0;
}

static void on_event(void *ud, const struct td_run *r, const struct td_event *ev)
{
	struct trace *t = ud;

	if (ev->call != TD_EVENT_NO_CALL && ev->call >= t->ncalls &&
	    (r->plan->ncalls <= ev->call || fit(t, r->plan->ncalls) < 0))
		return;
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
	case TD_EVENT_CALL_PROGRESS:
		progress_mark(t, r, ev);
		break;
	}
}

static void trace_free(void *ud)
{
	struct trace *t = ud;
	uint32_t i;

	close_doc(t);
	td__buf_free(&t->b);
	td__free(t->when);
	td__free(t->track);
	td__free(t->slots.free);
	td__free(t->lanes.free);
	for (i = 0; i < t->nworkers; i++) {
		td__free(t->workers[i].name);
		td__free(t->workers[i].tid);
		td__free(t->workers[i].end);
	}
	td__free(t->workers);
	td__free(t);
}

/* process_name and process_sort_index of process pid (a literal digit) */
#define PROCESS(pid, name)                                                                         \
	PREFIX("M", pid)                                                                           \
	"0,\"ts\":0,\"name\":\"process_name\",\"args\":{\"name\":\"" name "\"}}" PREFIX(           \
	    "M", pid) "0,\"ts\":0,\"name\":\"process_sort_index\",\"args\":{\"sort_index\":" #pid  \
	              "}}"

static void header(struct trace *t, const struct td_run *r)
{
	char *p = jw_open(&t->b, 0);

	if (!p)
		return;
	p = JW_LIT(p, "{\"otherData\":{\"generator\":\"tooldag " TD_VERSION_STRING "\",\"calls\":");
	p = jw_u64(p, r->plan->ncalls);
	p = JW_LIT(p, ",\"levels\":");
	p = jw_u64(p, r->plan->nlevels);
	p = JW_LIT(p, ",\"concurrency\":");
	p = jw_u64(p, r->limit);
	if (r->opts.schedule == TD_SCHEDULE_EAGER)
		p = JW_LIT(p, ",\"schedule\":\"eager\"}");
	else
		p = JW_LIT(p, ",\"schedule\":\"level\"}");
	/* a first event without the separator, so that every other one can start with it */
	p = JW_LIT(p, ",\"traceEvents\":[\n{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"ts\":0,\"name\":"
	              "\"thread_name\",\"args\":{\"name\":\"not run\"}}");
	jw_close(&t->b, p);
	p = jw_open(&t->b, 0);
	if (!p)
		return;
	p = JW_LIT(p, PREFIX("M", 1) "0,\"ts\":0,\"name\":\"thread_sort_index\",\"args\":{"
	                             "\"sort_index\":0}}");
	jw_close(&t->b, JW_LIT(p, PROCESS(1, "tooldag run")));
	p = jw_open(&t->b, 0);
	if (p)
		jw_close(&t->b, JW_LIT(p, PROCESS(2, "queue")));
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
	t->lanes.free = td__calloc(TRACE_LANES, sizeof(*t->lanes.free));
	err = t->when && t->track && t->slots.free && t->lanes.free
	          ? td__run_observe(run, on_event, trace_free, t)
	          : TD_ENOMEM;
	if (err < 0) {
		t->closed = 1; /* nothing was written */
		trace_free(t);
		return err;
	}
	memset(t->track, 0xff, n * sizeof(*t->track)); /* NO_TRACK */
	t->ncalls = (uint32_t)n;
	header(t, run);
	return 0;
}

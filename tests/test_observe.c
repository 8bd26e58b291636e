/* SPDX-License-Identifier: MIT */
/*
 * test_observe.c - run events (td_run_observe), their JSON form, the Chrome trace writer and
 * the DOT/Mermaid drawings, over real runs of builtin tools (no processes).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "report/jsonw.h"
#include "run/run.h"

static const char GRAPH[] = "version: 1\n"
                            "concurrency: 2\n"
                            "tools:\n"
                            "  a: {builtin: echo}\n"
                            "  b: {builtin: sleep, depends_on: [a]}\n"
                            "  c: {builtin: echo, depends_on: [b]}\n"
                            "  slow: {builtin: sleep, timeout: 20ms, retries: 1, backoff: 5ms}\n"
                            "  solo: {builtin: echo}\n";

static struct td_graph *G;
static struct td_batch *B;
static struct td_plan *P;

/* calls: a0 a1 (a), b0 (b, sleeps 5ms), c0 (c), s0 (slow, sleeps 500ms: times out twice) */
static void setup_batch(int with_slow, int with_bad)
{
	struct td_diag d = {0};

	ck_assert_int_eq(td_graph_load_buffer(GRAPH, strlen(GRAPH), "g.yaml", NULL, &G, &d), 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &B), 0);
	ck_assert_int_eq(td_batch_add(B, "a0", "a", NULL), 0);
	ck_assert_int_eq(td_batch_add(B, "a1", "a", "{\"x\":1}"), 1);
	ck_assert_int_eq(td_batch_add(B, "b0", "b", "{\"ms\":5}"), 2);
	ck_assert_int_eq(td_batch_add(B, "c0", "c", NULL), 3);
	if (with_slow)
		ck_assert_int_ge(td_batch_add(B, "s0", "slow", "{\"ms\":500}"), 0);
	if (with_bad)
		ck_assert_int_ge(td_batch_add(B, "x0", "no_such_tool", NULL), 0);
	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	td_diag_clear(&d);
}

static void teardown(void)
{
	td_plan_free(P);
	td_batch_free(B);
	td_graph_free(G);
	P = NULL;
	B = NULL;
	G = NULL;
}

/* ---- an observer that records everything ---- */

struct rec {
	struct td_event ev[256];
	size_t n;
	int tag; /* when not 0, appended to ORDER at each event */
};

static int ORDER[2048], NORDER;

static void record(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct rec *r = ud;

	ck_assert_ptr_nonnull(run);
	ck_assert_uint_lt(r->n, 256);
	r->ev[r->n++] = *ev;
	if (r->tag && NORDER < 2048)
		ORDER[NORDER++] = r->tag;
}

static struct td_run *new_run(enum td_schedule s, struct rec *rec)
{
	struct td_run_opts o = {.schedule = s, .seed = 7};
	struct td_run *run;

	ck_assert_int_eq(td_run_new(P, &o, &run, NULL), 0);
	if (rec)
		ck_assert_int_eq(td_run_observe(run, record, rec), 0);
	return run;
}

static size_t find(const struct rec *r, enum td_event_type t, uint32_t call, size_t from)
{
	size_t i;

	for (i = from; i < r->n; i++)
		if (r->ev[i].type == t && r->ev[i].call == call)
			return i;
	return SIZE_MAX;
}

static size_t count(const struct rec *r, enum td_event_type t, uint32_t call)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->ev[i].type == t && (call == UINT32_MAX - 1 || r->ev[i].call == call);
	return n;
}
#define ANY (UINT32_MAX - 1)

/* Every call: queued < started < attempt_finished < call_finished, times in order. */
static void check_call_lives(const struct rec *r, size_t ncalls)
{
	uint32_t c;

	for (c = 0; c < ncalls; c++) {
		size_t q = find(r, TD_EVENT_CALL_QUEUED, c, 0);
		size_t s = find(r, TD_EVENT_CALL_STARTED, c, 0);
		size_t a = find(r, TD_EVENT_ATTEMPT_FINISHED, c, 0);
		size_t f = find(r, TD_EVENT_CALL_FINISHED, c, 0);

		ck_assert_uint_eq(count(r, TD_EVENT_CALL_FINISHED, c), 1);
		if (s == SIZE_MAX)
			continue; /* never ran */
		ck_assert(q < s && s < a && a < f);
		ck_assert_int_le(r->ev[q].time_us, r->ev[s].time_us);
		ck_assert_int_le(r->ev[s].time_us, r->ev[a].time_us);
		ck_assert_int_eq(r->ev[a].run_us, r->ev[a].time_us - r->ev[s].time_us);
		ck_assert_uint_eq(r->ev[s].attempt, 1);
	}
}

START_TEST(event_sequence_level)
{
	struct rec rec = {0};
	struct td_run *run;
	size_t i, lf0, ls1;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, &rec);
	ck_assert_int_eq(td_run_wait(run), 0);
	check_call_lives(&rec, 4);
	ck_assert_uint_eq(count(&rec, TD_EVENT_LEVEL_STARTED, ANY), 3);
	ck_assert_uint_eq(count(&rec, TD_EVENT_LEVEL_FINISHED, ANY), 3);
	ck_assert_int_eq(rec.ev[0].type, TD_EVENT_LEVEL_STARTED);
	ck_assert_uint_eq(rec.ev[0].level, 0);
	ck_assert_uint_eq(rec.ev[0].call, TD_EVENT_NO_CALL);
	/* the barrier: level 1 starts only after level 0 finished, and after both a calls */
	for (lf0 = 0; rec.ev[lf0].type != TD_EVENT_LEVEL_FINISHED; lf0++)
		;
	for (ls1 = 1; rec.ev[ls1].type != TD_EVENT_LEVEL_STARTED; ls1++)
		;
	ck_assert_uint_lt(lf0, ls1);
	ck_assert_uint_lt(find(&rec, TD_EVENT_CALL_FINISHED, 1, 0), lf0);
	ck_assert_uint_eq(rec.ev[ls1].level, 1);
	ck_assert_uint_gt(find(&rec, TD_EVENT_CALL_QUEUED, 2, 0), ls1);
	/* run_finished once, last, with the counts */
	ck_assert_int_eq(rec.ev[rec.n - 1].type, TD_EVENT_RUN_FINISHED);
	ck_assert_uint_eq(count(&rec, TD_EVENT_RUN_FINISHED, ANY), 1);
	ck_assert_uint_eq(rec.ev[rec.n - 1].done, 4);
	ck_assert_uint_eq(rec.ev[rec.n - 1].failed, 0);
	for (i = 1; i < rec.n; i++)
		ck_assert_uint_ge(rec.ev[i].done, rec.ev[i - 1].done);
	td_run_free(run);
	teardown();
}
END_TEST

START_TEST(retry_and_timeout_events)
{
	struct rec rec = {0};
	struct td_run *run;
	size_t a1, a2;
	uint32_t s0 = 4;

	setup_batch(1, 0);
	run = new_run(TD_SCHEDULE_EAGER, &rec);
	ck_assert_int_eq(td_run_wait(run), 0);
	check_call_lives(&rec, 5);
	ck_assert_uint_eq(count(&rec, TD_EVENT_CALL_QUEUED, s0), 2);
	ck_assert_uint_eq(count(&rec, TD_EVENT_CALL_STARTED, s0), 2);
	a1 = find(&rec, TD_EVENT_ATTEMPT_FINISHED, s0, 0);
	a2 = find(&rec, TD_EVENT_ATTEMPT_FINISHED, s0, a1 + 1);
	ck_assert_uint_ne(a2, SIZE_MAX);
	ck_assert_int_eq(rec.ev[a1].status, TD_STATUS_TIMEOUT);
	ck_assert_int_eq(rec.ev[a1].retrying, 1);
	ck_assert_uint_eq(rec.ev[a1].attempt, 1);
	ck_assert_int_eq(rec.ev[a2].retrying, 0);
	ck_assert_uint_eq(rec.ev[a2].attempt, 2);
	ck_assert_int_ge(rec.ev[a1].run_us, 20000);
	/* the retry is queued again after the backoff, with one attempt behind it */
	ck_assert_uint_eq(rec.ev[find(&rec, TD_EVENT_CALL_QUEUED, s0, a1)].attempt, 1);
	ck_assert_int_ge(rec.ev[find(&rec, TD_EVENT_CALL_QUEUED, s0, a1)].time_us,
	                 rec.ev[a1].time_us + 5000);
	ck_assert_int_eq(rec.ev[find(&rec, TD_EVENT_CALL_FINISHED, s0, 0)].status,
	                 TD_STATUS_TIMEOUT);
	ck_assert_uint_eq(rec.ev[rec.n - 1].failed, 1);
	td_run_free(run);
	teardown();
}
END_TEST

START_TEST(never_run_calls)
{
	struct rec rec = {0};
	struct td_run *run;
	size_t f;

	setup_batch(0, 1);
	run = new_run(TD_SCHEDULE_LEVEL, &rec);
	ck_assert_int_eq(td_run_wait(run), 0);
	/* the unknown tool's call: finished, never queued, attempt 0, error */
	f = find(&rec, TD_EVENT_CALL_FINISHED, 4, 0);
	ck_assert_uint_ne(f, SIZE_MAX);
	ck_assert_uint_eq(count(&rec, TD_EVENT_CALL_QUEUED, 4), 0);
	ck_assert_uint_eq(rec.ev[f].attempt, 0);
	ck_assert_int_eq(rec.ev[f].status, TD_STATUS_ERROR);
	ck_assert_int_eq(rec.ev[f].run_us, -1);
	ck_assert_int_eq(rec.ev[rec.n - 1].type, TD_EVENT_RUN_FINISHED);
	ck_assert_uint_eq(rec.ev[rec.n - 1].done, 5);
	ck_assert_uint_eq(rec.ev[rec.n - 1].failed, 1);
	td_run_free(run);
	teardown();
}
END_TEST

START_TEST(cancel_before_start_events)
{
	struct rec rec = {0};
	struct td_run *run;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, &rec);
	td_run_cancel(run);
	ck_assert_int_eq(td_run_wait(run), 0);
	/* level 0 was queued, then cancelled; levels 1 and 2 never started: no events */
	ck_assert_uint_eq(count(&rec, TD_EVENT_CALL_FINISHED, ANY), 4);
	ck_assert_uint_eq(count(&rec, TD_EVENT_LEVEL_STARTED, ANY),
	                  count(&rec, TD_EVENT_LEVEL_FINISHED, ANY));
	ck_assert_uint_eq(count(&rec, TD_EVENT_CALL_STARTED, ANY), 0);
	ck_assert_int_eq(rec.ev[rec.n - 1].type, TD_EVENT_RUN_FINISHED);
	ck_assert_uint_eq(rec.ev[rec.n - 1].failed, 4);
	td_run_free(run);
	teardown();
}
END_TEST

START_TEST(observers_in_order_and_rules)
{
	struct rec r1 = {.tag = 1}, r2 = {.tag = 2};
	struct td_run *run;
	int i;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	ck_assert_int_eq(td_run_observe(run, NULL, NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_observe(NULL, record, &r1), TD_EINVAL);
	ck_assert_int_eq(td_run_observe(run, record, &r1), 0);
	ck_assert_int_eq(td_run_observe(run, record, &r2), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(td_run_observe(run, record, &r2), TD_ESTATE);
	ck_assert_int_eq(td_run_trace(run, stderr), TD_ESTATE);
	ck_assert_uint_eq(r1.n, r2.n);
	ck_assert_int_eq(NORDER, (int)(2 * r1.n));
	for (i = 0; i < NORDER; i++)
		ck_assert_int_eq(ORDER[i], i % 2 ? 2 : 1);
	td_run_free(run);
	teardown();
}
END_TEST

START_TEST(no_event_after_free)
{
	struct rec rec = {0};
	struct td_run *run;
	size_t n;

	setup_batch(1, 0);
	run = new_run(TD_SCHEDULE_EAGER, &rec);
	while (count(&rec, TD_EVENT_CALL_STARTED, 4) == 0)
		ck_assert_int_eq(td_run_step(run), 1);
	n = rec.n;
	td_run_free(run); /* kills the sleep: its cancellation reaches nobody */
	ck_assert_uint_eq(rec.n, n);
	teardown();
}
END_TEST

/* the scheduler tests' own hook keeps working under observers */
static unsigned HOOKED;
static void hook(void *ud, uint32_t call, enum td__cstate from, enum td__cstate to)
{
	(void)ud;
	(void)call;
	ck_assert_int_ne(from, to);
	HOOKED++;
}

START_TEST(trace_hook_chained)
{
	struct rec rec = {0};
	struct td_run *run;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	run->trace = hook;
	ck_assert_int_eq(td_run_observe(run, record, &rec), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_uint_ge(HOOKED, 12); /* 4 calls x (ready, running, done) */
	ck_assert_uint_gt(rec.n, 0);
	td_run_free(run);
	ck_assert_ptr_null(NULL);
	teardown();
}
END_TEST

/* An observer of the run's end only: the hook set before it still hears every change (the
 * end-only hook asks for the ends alone only when it is the first), and the end comes once,
 * after every call ended. */
START_TEST(trace_hook_chained_end_only)
{
	struct rec rec = {0}, rec2 = {0};
	struct td_run *run;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	run->trace = hook;
	HOOKED = 0;
	ck_assert_int_eq(td__run_observe_end(run, record, NULL, &rec), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_uint_ge(HOOKED, 12); /* 4 calls x (ready, running, done) */
	ck_assert_int_eq(rec.n, 1);
	ck_assert_int_eq(rec.ev[0].type, TD_EVENT_RUN_FINISHED);
	ck_assert_uint_eq(rec.ev[0].done, 4);
	td_run_free(run);
	/* alone: the same single end, all four calls counted */
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	ck_assert_int_eq(td__run_observe_end(run, record, NULL, &rec2), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(rec2.n, 1);
	ck_assert_int_eq(rec2.ev[0].type, TD_EVENT_RUN_FINISHED);
	ck_assert_uint_eq(rec2.ev[0].done, 4);
	td_run_free(run);
	teardown();
}
END_TEST

/* ---- JSON lines ---- */

struct jrec {
	char line[64][4096];
	int n;
	int want[64];
};

/* Into 4 KiB (written in place, as --progress=json does) and, the same, into 1 KiB (through
 * the stack buffer, then copied). */
static void to_json(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct jrec *j = ud;
	char small[1024];

	if (j->n < 64) {
		j->want[j->n] = td_event_json(run, ev, j->line[j->n], sizeof(j->line[0]));
		ck_assert_int_eq(td_event_json(run, ev, small, sizeof(small)), j->want[j->n]);
		ck_assert_str_eq(small, j->line[j->n]);
		j->n++;
	}
}

START_TEST(event_json_lines)
{
	struct jrec *j = calloc(1, sizeof(*j));
	struct td_run *run;
	int i, finished = 0;

	setup_batch(1, 1);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	ck_assert_int_eq(td_run_observe(run, to_json, j), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	for (i = 0; i < j->n; i++) {
		cJSON *o = cJSON_Parse(j->line[i]);
		const char *ev;

		ck_assert_msg(o != NULL, "not JSON: %s", j->line[i]);
		ck_assert_int_eq(j->want[i], (int)strlen(j->line[i]));
		ev = cJSON_GetStringValue(cJSON_GetObjectItem(o, "event"));
		ck_assert_ptr_nonnull(ev);
		ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "t_ms")));
		if (strcmp(ev, "call_finished") == 0) {
			finished++;
			ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "id")));
			ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "tool")));
			ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "status")));
			ck_assert(cJSON_HasObjectItem(o, "ms"));
		}
		if (strcmp(ev, "attempt_finished") == 0)
			ck_assert(cJSON_IsBool(cJSON_GetObjectItem(o, "retrying")));
		cJSON_Delete(o);
	}
	ck_assert_int_eq(finished, 6);
	ck_assert_str_eq(j->line[j->n - 1],
	                 strstr(j->line[j->n - 1], "{\"event\":\"run_finished\""));
	ck_assert_ptr_nonnull(strstr(j->line[j->n - 1], "\"done\":6,\"failed\":2,\"calls\":6}"));
	td_run_free(run);
	free(j);
	teardown();
}
END_TEST

START_TEST(event_json_truncates_and_refuses)
{
	struct td_event ev = {
	    .type = TD_EVENT_LEVEL_STARTED, .call = TD_EVENT_NO_CALL, .time_us = 1500};
	struct td_run *run;
	char buf[8];
	int n;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	n = td_event_json(run, &ev, buf, sizeof(buf));
	ck_assert_int_eq(n,
	                 (int)strlen("{\"event\":\"level_started\",\"t_ms\":1.500,\"level\":0}"));
	ck_assert_str_eq(buf, "{\"event");
	ck_assert_int_eq(td_event_json(run, &ev, NULL, 0), n);
	ev.type = TD_EVENT_CALL_STARTED; /* a call event without a call */
	ck_assert_int_eq(td_event_json(run, &ev, buf, sizeof(buf)), TD_EINVAL);
	ev.call = 99;
	ck_assert_int_eq(td_event_json(run, &ev, buf, sizeof(buf)), TD_EINVAL);
	ev.call = 0;
	ev.type = (enum td_event_type)42;
	ck_assert_int_eq(td_event_json(run, &ev, buf, sizeof(buf)), TD_EINVAL);
	ck_assert_int_eq(td_event_json(NULL, &ev, buf, sizeof(buf)), TD_EINVAL);
	for (ev.type = TD_EVENT_LEVEL_STARTED; ev.type <= TD_EVENT_RUN_FINISHED; ev.type++) {
		char line[4096], head[64];

		ev.call = ev.type >= TD_EVENT_CALL_QUEUED && ev.type <= TD_EVENT_CALL_FINISHED
		              ? 0
		              : TD_EVENT_NO_CALL;
		snprintf(head, sizeof(head), "{\"event\":\"%s\",\"t_ms\":1.500,",
		         td_event_name(ev.type));
		ck_assert_int_gt(td_event_json(run, &ev, line, sizeof(line)), 0);
		ck_assert_msg(strncmp(line, head, strlen(head)) == 0, "%s", line);
	}
	ck_assert_str_eq(td_event_name(TD_EVENT_ATTEMPT_FINISHED), "attempt_finished");
	ck_assert_str_eq(td_event_name((enum td_event_type)42), "unknown");
	td_run_free(run);
	teardown();
}
END_TEST

/* ids that need escaping, and one too long for the stack buffer, come out as valid JSON */
static void check_ids(void *ud, const struct td_run *run, const struct td_event *ev)
{
	char *line;
	int n;
	cJSON *o;

	(*(int *)ud)++;
	n = td_event_json(run, ev, NULL, 0);
	ck_assert_int_gt(n, 0);
	line = malloc((size_t)n + 1);
	ck_assert_int_eq(td_event_json(run, ev, line, (size_t)n + 1), n);
	o = cJSON_Parse(line);
	ck_assert_msg(o != NULL, "not JSON: %.200s", line);
	if (ev->call != TD_EVENT_NO_CALL)
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "id")),
		                 td_batch_call_id(td_plan_batch(P), ev->call));
	cJSON_Delete(o);
	free(line);
}

START_TEST(event_json_escapes)
{
	struct td_diag d = {0};
	struct td_run *run;
	char big[3001];
	int events = 0;

	memset(big, 'x', 3000);
	big[3000] = '\0';
	big[1500] = '"';
	ck_assert_int_eq(td_graph_load_buffer(GRAPH, strlen(GRAPH), "g.yaml", NULL, &G, &d), 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &B), 0);
	ck_assert_int_eq(td_batch_add(B, "q\"uo\\te\n\x01", "a", NULL), 0);
	ck_assert_int_eq(td_batch_add(B, big, "solo", NULL), 1);
	ck_assert_int_eq(td_batch_add(B, "caf\xc3\xa9", "a", NULL), 2);
	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	ck_assert_int_eq(td_run_observe(run, check_ids, &events), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(events, 3 * 4 + 3);
	td_run_free(run);
	teardown();
}
END_TEST

/* the writers' hand formatting against printf, at every digit count and copy size */
START_TEST(jsonw_numbers_and_copies)
{
	static const char s[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
	char a[48], b[48];
	uint64_t u = 0;
	size_t n;
	int i;

	for (i = 0; i < 20000; i++) {
		u = i < 100 ? (uint64_t)i : u * 3 + (uint64_t)i; /* wraps: every magnitude */
		*jw_u64(a, u) = '\0';
		snprintf(b, sizeof(b), "%llu", (unsigned long long)u);
		ck_assert_str_eq(a, b);
		*jw_i64(a, -(int64_t)(u >> 1)) = '\0';
		snprintf(b, sizeof(b), "%lld", -(long long)(u >> 1));
		ck_assert_str_eq(a, b);
	}
	*jw_u64(a, UINT64_MAX) = '\0';
	ck_assert_str_eq(a, "18446744073709551615");
	*jw_ms(a, 1234567) = '\0';
	ck_assert_str_eq(a, "1234.567");
	*jw_ms(a, 5) = '\0';
	ck_assert_str_eq(a, "0.005");
	*jw_ms(a, -1) = '\0';
	ck_assert_str_eq(a, "null");
	for (n = 0; n <= 40; n++) {
		memset(a, '#', sizeof(a));
		ck_assert_ptr_eq(jw_copy(a, s, n), a + n);
		ck_assert_int_eq(memcmp(a, s, n), 0);
		ck_assert_int_eq(a[n], '#');
	}
}
END_TEST

/* ---- trace ---- */

static cJSON *run_traced(enum td_schedule s, char **results)
{
	struct td_run *run;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cJSON *doc;

	run = new_run(s, NULL);
	ck_assert_int_eq(td_run_trace(run, f), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	if (results)
		ck_assert_int_eq(td_run_results_json(run, TD_DIALECT_AUTO, 0, results), 0);
	td_run_free(run);
	ck_assert_int_eq(fclose(f), 0);
	doc = cJSON_Parse(buf);
	ck_assert_msg(doc != NULL, "trace is not JSON: %.300s", buf);
	free(buf);
	return doc;
}

static int is(const cJSON *e, const char *key, const char *val)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(e, key));

	return s && strcmp(s, val) == 0;
}

static double num(const cJSON *e, const char *key)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(e, key));
}

/* An attempt's slice: a first attempt that succeeded carries its queue wait only (the level
 * is the slice around it, the rest is what ok says); any other says how it ended. */
static void check_slice_args(const cJSON *e)
{
	const cJSON *args = cJSON_GetObjectItem(e, "args");
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(args, "status"));
	int failed = strchr(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")), '[') != NULL;

	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(args, "queued_us")));
	if (!failed && !cJSON_GetObjectItem(args, "attempt")) {
		ck_assert_int_eq(cJSON_GetArraySize(args), 1);
		return;
	}
	ck_assert_ptr_nonnull(status);
	ck_assert_int_eq(!strcmp(status, "ok"), !failed);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(args, "level")));
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(args, "attempt")));
}

START_TEST(trace_is_complete)
{
	char *with, *without;
	cJSON *doc, *evs, *e;
	int slices = 0, waits = 0, backoff = 0, markers = 0, timeouts = 0;
	struct td_run *run;

	setup_batch(1, 1);
	doc = run_traced(TD_SCHEDULE_LEVEL, &with);
	evs = cJSON_GetObjectItem(doc, "traceEvents");
	ck_assert(cJSON_IsArray(evs));
	cJSON_ArrayForEach(e, evs)
	{
		ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(e, "ts")));
		if (is(e, "ph", "X") && num(e, "pid") == 2) { /* a queue wait, on its lane */
			waits++;
			ck_assert_double_ge(num(e, "dur"), 0);
			ck_assert(cJSON_IsString(cJSON_GetObjectItem(e, "name")));
		} else if (is(e, "ph", "X")) {
			slices++;
			ck_assert_double_ge(num(e, "dur"), 0);
			ck_assert_double_ge(num(e, "tid"), 1);
			ck_assert_double_le(num(e, "tid"), 2); /* concurrency 2: two slots */
			timeouts += strstr(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")),
			                   "[timeout]") != NULL;
			check_slice_args(e);
		}
		ck_assert(!is(e, "cat", "queue")); /* waits are lane slices, not async pairs */
		backoff += is(e, "cat", "backoff") && is(e, "ph", "b");
		markers += is(e, "ph", "i") && is(e, "s", "g");
		if (is(e, "ph", "i") && is(e, "cat", "not_run"))
			ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")),
			                 "x0 [error]");
	}
	ck_assert_int_eq(slices, 6); /* a0 a1 b0 c0 and s0 twice */
	ck_assert_int_eq(timeouts, 2);
	ck_assert_int_eq(waits, 6);
	ck_assert_int_eq(backoff, 1);
	ck_assert_int_eq(markers, 3);
	cJSON_Delete(doc);
	/* observers do not change results */
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(td_run_results_json(run, TD_DIALECT_AUTO, 0, &without), 0);
	ck_assert_str_eq(with, without);
	free(with);
	free(without);
	td_run_free(run);
	teardown();
}
END_TEST

START_TEST(trace_closed_when_freed_early)
{
	struct td_run *run;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cJSON *doc;

	setup_batch(1, 0);
	run = new_run(TD_SCHEDULE_EAGER, NULL);
	ck_assert_int_eq(td_run_trace(run, f), 0);
	ck_assert_int_eq(td_run_trace(NULL, f), TD_EINVAL);
	ck_assert_int_eq(td_run_trace(run, NULL), TD_EINVAL);
	ck_assert_int_eq(td_run_step(run), 1);
	td_run_free(run);
	fclose(f);
	doc = cJSON_Parse(buf);
	ck_assert_msg(doc != NULL, "trace is not JSON: %s", buf);
	cJSON_Delete(doc);
	free(buf);
	teardown();
}
END_TEST

static cJSON *trace_item(cJSON *evs, const char *ph, int pid, const char *name)
{
	cJSON *e;

	cJSON_ArrayForEach(e, evs) if (is(e, "ph", ph) && num(e, "pid") == pid &&
	                               is(e, "name", name)) return e;
	return NULL;
}

/* a call cancelled while it waited: its wait ends where its not-run instant is */
START_TEST(trace_of_cancelled_waits)
{
	cJSON *doc, *evs, *e;
	struct td_run *run;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int waits = 0, not_run = 0;

	setup_batch(0, 0);
	run = new_run(TD_SCHEDULE_LEVEL, NULL);
	ck_assert_int_eq(td_run_trace(run, f), 0);
	td_run_cancel(run); /* level 0 (a0 a1) queued, then cancelled; b0 c0 never queued */
	ck_assert_int_eq(td_run_wait(run), 0);
	td_run_free(run);
	ck_assert_int_eq(fclose(f), 0);
	doc = cJSON_Parse(buf);
	ck_assert_msg(doc != NULL, "trace is not JSON: %.300s", buf);
	evs = cJSON_GetObjectItem(doc, "traceEvents");
	cJSON_ArrayForEach(e, evs)
	{
		waits += is(e, "ph", "X") && num(e, "pid") == 2;
		not_run += is(e, "ph", "i") && is(e, "cat", "not_run");
		ck_assert(!(is(e, "ph", "X") && num(e, "pid") == 1)); /* nothing ran */
	}
	ck_assert_int_eq(waits, 2);
	ck_assert_int_eq(not_run, 4);
	e = trace_item(evs, "X", 2, "a1");
	ck_assert_ptr_nonnull(e);
	ck_assert_double_eq(num(e, "ts") + num(e, "dur"),
	                    num(trace_item(evs, "i", 1, "a1 [cancelled]"), "ts"));
	ck_assert_ptr_null(trace_item(evs, "X", 2, "b0"));
	cJSON_Delete(doc);
	free(buf);
	teardown();
}
END_TEST

/* 150 calls queued at once for one slot: 64 queue lanes at most, a wait slice for the calls
 * that got one, and the queued counter for all, from 150 (or 149: the first may start in the
 * same microsecond) down to 0 */
START_TEST(trace_caps_queue_lanes)
{
	static const char graph[] = "version: 1\nconcurrency: 1\ntools:\n  e: {builtin: echo}\n";
	struct td_diag d = {0};
	char id[16];
	cJSON *doc, *evs, *e;
	int i, lanes = 0, waits = 0, slices = 0, samples = 0;
	double last_ts = -1, first = -1, value = -1;

	ck_assert_int_eq(td_graph_load_buffer(graph, strlen(graph), "g.yaml", NULL, &G, &d), 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &B), 0);
	for (i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		ck_assert_int_eq(td_batch_add(B, id, "e", NULL), i);
	}
	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	doc = run_traced(TD_SCHEDULE_LEVEL, NULL);
	evs = cJSON_GetObjectItem(doc, "traceEvents");
	cJSON_ArrayForEach(e, evs)
	{
		if (is(e, "ph", "M") && num(e, "pid") == 2 && is(e, "name", "thread_name"))
			lanes++;
		waits += is(e, "ph", "X") && num(e, "pid") == 2;
		if (is(e, "ph", "X") && num(e, "pid") == 1) {
			slices++;
			ck_assert_double_ge(num(cJSON_GetObjectItem(e, "args"), "queued_us"), 0);
		}
		if (is(e, "ph", "C")) {
			ck_assert(is(e, "name", "queued"));
			/* one sample per time, in order */
			ck_assert_double_gt(num(e, "ts"), last_ts);
			last_ts = num(e, "ts");
			value = num(cJSON_GetObjectItem(e, "args"), "calls");
			if (first < 0)
				first = value;
			samples++;
		}
	}
	ck_assert_int_eq(lanes, 64);
	ck_assert_int_eq(waits, 64);
	ck_assert_int_eq(slices, 150);
	ck_assert_int_ge(samples, 2);
	ck_assert_double_ge(first, 149);
	ck_assert_double_eq(value, 0);
	cJSON_Delete(doc);
	td_diag_clear(&d);
	teardown();
}
END_TEST

/* ids that need escaping, and one longer than the room kept for an event's fixed parts */
START_TEST(trace_escapes_ids)
{
	static const char *const ids[] = {"q\"uo\\te\n\x01", NULL, "caf\xc3\xa9"};
	struct td_diag d = {0};
	char big[3001], name[3100];
	size_t i;
	cJSON *doc, *evs;

	memset(big, 'x', 3000);
	big[3000] = '\0';
	big[1500] = '"';
	ck_assert_int_eq(td_graph_load_buffer(GRAPH, strlen(GRAPH), "g.yaml", NULL, &G, &d), 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &B), 0);
	ck_assert_int_eq(td_batch_add(B, ids[0], "a", NULL), 0);
	ck_assert_int_eq(td_batch_add(B, big, "solo", NULL), 1);
	ck_assert_int_eq(td_batch_add(B, ids[2], "a", NULL), 2);
	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	doc = run_traced(TD_SCHEDULE_LEVEL, NULL);
	evs = cJSON_GetObjectItem(doc, "traceEvents");
	for (i = 0; i < 3; i++) {
		const char *id = ids[i] ? ids[i] : big;
		cJSON *slice;

		snprintf(name, sizeof(name), "%s %s", i == 1 ? "solo" : "a", id);
		ck_assert_msg(trace_item(evs, "X", 2, id) != NULL, "no wait slice for call %zu", i);
		slice = trace_item(evs, "X", 1, name);
		ck_assert_msg(slice != NULL, "no run slice for call %zu", i);
		/* the id and the tool are in the name only */
		check_slice_args(slice);
		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(slice, "args")), 1);
		ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(slice, "args"), "id"));
	}
	cJSON_Delete(doc);
	teardown();
}
END_TEST

START_TEST(trace_and_observe_out_of_memory)
{
	struct td_run *run;
	long n;
	int err;
	FILE *f = fopen("/dev/null", "w");

	setup_batch(0, 0);
	for (n = 1;; n++) {
		run = new_run(TD_SCHEDULE_LEVEL, NULL);
		td__alloc_fail_at(n);
		err = td_run_trace(run, f);
		td__alloc_fail_at(0);
		if (err == 0) {
			ck_assert_int_eq(td_run_wait(run), 0);
			td_run_free(run);
			break;
		}
		ck_assert_int_eq(err, TD_ENOMEM);
		ck_assert_int_eq(td_run_wait(run), 0); /* the run is fine without its trace */
		td_run_free(run);
	}
	ck_assert_int_gt(n, 3);
	fclose(f);
	teardown();
}
END_TEST

/* ---- drawings ---- */

START_TEST(dot_and_mermaid)
{
	struct td_diag d = {0};
	char *dot, *mmd, *tools;

	ck_assert_int_eq(td_graph_load_buffer(GRAPH, strlen(GRAPH), "g.yaml", NULL, &G, &d), 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &B), 0);
	ck_assert_int_eq(td_batch_add(B, "q\"uo\\te<b>#1", "a", NULL), 0);
	ck_assert_int_eq(td_batch_add(B, "second", "b", "{\"ms\":1}"), 1);
	ck_assert_int_eq(td_batch_add(B, "bad", "nope", NULL), 2);
	ck_assert_int_eq(td_plan_new(B, &P, &d), 0);
	ck_assert_int_eq(td_plan_dot(P, &dot), 0);
	ck_assert_ptr_nonnull(strstr(dot, "digraph calls {"));
	ck_assert_ptr_nonnull(strstr(dot, "c0 [label=\"q\\\"uo\\\\te<b>#1\\na\"];"));
	ck_assert_ptr_nonnull(strstr(dot, "subgraph level_1 {\n    rank=same;\n    c1 "));
	ck_assert_ptr_nonnull(strstr(dot, "c0 -> c1;"));
	ck_assert_ptr_nonnull(strstr(dot, "style=dashed, color=red"));
	ck_assert_int_eq(td_plan_mermaid(P, &mmd), 0);
	ck_assert_ptr_eq(strstr(mmd, "flowchart LR\n"), mmd);
	ck_assert_ptr_nonnull(strstr(mmd, "c0[\"q#34;uo\\te#60;b#62;#35;1<br/>a\"]"));
	ck_assert_ptr_nonnull(strstr(mmd, "subgraph level_1[\"level 1\"]"));
	ck_assert_ptr_nonnull(strstr(mmd, "c0 --> c1\n"));
	ck_assert_ptr_nonnull(strstr(mmd, ":::error"));
	ck_assert_int_eq(td_graph_dot(G, &tools), 0);
	ck_assert_ptr_nonnull(strstr(tools, "subgraph level_2 {\n    rank=same;\n    t2 "));
	ck_assert_ptr_nonnull(strstr(tools, "t1 -> t2;"));
	free(dot);
	ck_assert_int_eq(td_plan_dot(NULL, &dot), TD_EINVAL);
	ck_assert_ptr_null(dot);
	ck_assert_int_eq(td_graph_dot(G, NULL), TD_EINVAL);
	free(mmd);
	free(tools);
	td_diag_clear(&d);
	teardown();
}
END_TEST

/* Count of non-overlapping occurrences of needle in s. */
static size_t count_of(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/*
 * 100 calls of b each wait for all 100 calls of a: drawn call to call that is 10,000 edges,
 * through the planner's barrier 200. 8 x 8 = 64 pairs stays call to call.
 */
START_TEST(tool_dependencies_drawn_through_one_node)
{
	struct td_diag d = {0};
	struct td_batch *b;
	struct td_plan *p;
	char id[32], *dot, *mmd;
	size_t n[] = {100, 8}, k, i;

	ck_assert_int_eq(td_graph_load_buffer(GRAPH, strlen(GRAPH), "g.yaml", NULL, &G, &d), 0);
	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
		for (i = 0; i < 2 * n[k]; i++) {
			snprintf(id, sizeof(id), "x%zu", i);
			ck_assert_int_ge(td_batch_add(b, id, i < n[k] ? "a" : "b", "{\"ms\":0}"),
			                 0);
		}
		ck_assert_int_eq(td_plan_new(b, &p, &d), 0);
		ck_assert_int_eq(td_plan_dot(p, &dot), 0);
		ck_assert_int_eq(td_plan_mermaid(p, &mmd), 0);
		if (k == 0) {
			ck_assert_uint_eq(count_of(dot, " -> "), 200);
			ck_assert_uint_eq(count_of(mmd, " --> "), 200);
			ck_assert_ptr_nonnull(
			    strstr(dot, "  b200 [label=\"all a\", shape=ellipse"));
			ck_assert_ptr_nonnull(strstr(dot, "  c99 -> b200;\n"));
			ck_assert_ptr_nonnull(strstr(dot, "  b200 -> c100;\n"));
			ck_assert_ptr_nonnull(strstr(mmd, "  b200([\"all a\"])\n"));
			ck_assert_ptr_nonnull(strstr(mmd, "  b200 --> c199\n"));
		} else {
			ck_assert_uint_eq(count_of(dot, " -> "), 64);
			ck_assert_ptr_null(strstr(dot, "b16"));
			ck_assert_ptr_nonnull(strstr(dot, "  c7 -> c15;\n"));
		}
		td_plan_free(p);
		td_batch_free(b);
		free(dot);
		free(mmd);
	}
	td_diag_clear(&d);
	teardown();
}
END_TEST

static Suite *observe_suite(void)
{
	Suite *s = suite_create("observe");
	TCase *tc = tcase_create("observe");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, event_sequence_level);
	tcase_add_test(tc, retry_and_timeout_events);
	tcase_add_test(tc, never_run_calls);
	tcase_add_test(tc, cancel_before_start_events);
	tcase_add_test(tc, observers_in_order_and_rules);
	tcase_add_test(tc, no_event_after_free);
	tcase_add_test(tc, trace_hook_chained);
	tcase_add_test(tc, trace_hook_chained_end_only);
	tcase_add_test(tc, event_json_lines);
	tcase_add_test(tc, event_json_truncates_and_refuses);
	tcase_add_test(tc, event_json_escapes);
	tcase_add_test(tc, jsonw_numbers_and_copies);
	tcase_add_test(tc, trace_is_complete);
	tcase_add_test(tc, trace_closed_when_freed_early);
	tcase_add_test(tc, trace_of_cancelled_waits);
	tcase_add_test(tc, trace_escapes_ids);
	tcase_add_test(tc, trace_caps_queue_lanes);
	tcase_add_test(tc, trace_and_observe_out_of_memory);
	tcase_add_test(tc, dot_and_mermaid);
	tcase_add_test(tc, tool_dependencies_drawn_through_one_node);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(observe_suite());
}

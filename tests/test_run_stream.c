/* SPDX-License-Identifier: MIT */
/*
 * test_run_stream.c - a run fed by a streamed response (td_run_new_stream, td_run_feed,
 * td_run_feed_end) on the real loop with the built-in tools: a call with no possible
 * predecessor starts while the stream goes on, a call of a tool with depends_on and the
 * second level wait for the stream's end, the results equal those of the same stream read
 * whole, in every chunking; cut streams, API error events, the events observers see, and the
 * state rules.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tooldag.h"
#include "td_test_recorded.h"

/* nap sleeps input.ms; echo answers its input; after depends on nap (tool level) */
static const char graph_yaml[] = "version: 1\n"
                                 "tools:\n"
                                 "  nap: {builtin: sleep}\n"
                                 "  echo: {builtin: echo}\n"
                                 "  after: {builtin: echo, depends_on: [nap]}\n";

static struct td_graph *g;
static struct td_diag diag;

static void setup(void)
{
	memset(&diag, 0, sizeof(diag));
	ck_assert_int_eq(
	    td_graph_load_buffer(graph_yaml, strlen(graph_yaml), "g.yaml", NULL, &g, &diag), 0);
}

static void teardown(void)
{
	td_graph_free(g);
	td_diag_clear(&diag);
}

/* ---- an Anthropic stream, event by event, as the API writes it ---- */

static char *ev(char *p, const char *type, const char *data)
{
	return p + sprintf(p, "event: %s\ndata: %s\n\n", type, data);
}

/* Block i: a tool_use of `tool` with input `input`, in two input_json_delta fragments. */
static char *block(char *p, int i, const char *id, const char *tool, const char *input)
{
	char d[512], half[256];
	size_t n = strlen(input) / 2;

	snprintf(d, sizeof(d),
	         "{\"type\":\"content_block_start\",\"index\":%d,\"content_block\":{\"type\":"
	         "\"tool_use\",\"id\":\"%s\",\"name\":\"%s\",\"input\":{}}}",
	         i, id, tool);
	p = ev(p, "content_block_start", d);
	memcpy(half, input, n);
	half[n] = '\0';
	for (int k = 0; k < 2; k++) {
		char esc[256], *e = esc;
		const char *s = k ? input + n : half;

		for (; *s; s++) {
			if (*s == '"')
				*e++ = '\\';
			*e++ = *s;
		}
		*e = '\0';
		snprintf(d, sizeof(d),
		         "{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":"
		         "\"input_json_delta\",\"partial_json\":\"%s\"}}",
		         i, esc);
		p = ev(p, "content_block_delta", d);
	}
	snprintf(d, sizeof(d), "{\"type\":\"content_block_stop\",\"index\":%d}", i);
	return ev(p, "content_block_stop", d);
}

static char *head(char *p)
{
	p = ev(p, "message_start",
	       "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
	       "\"role\":\"assistant\",\"content\":[]}}");
	p = ev(p, "ping", "{\"type\": \"ping\"}");
	p = ev(p, "content_block_start",
	       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	       "\"thinking\",\"thinking\":\"\"}}");
	return ev(p, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
}

static char *tail(char *p)
{
	p = ev(p, "message_delta",
	       "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{"
	       "\"output_tokens\":40}}");
	return ev(p, "message_stop", "{\"type\":\"message_stop\"}");
}

/* ---- driving ---- */

/* Steps the run for about ms milliseconds (or until it finished, when ms < 0). */
static void drive(struct td_run *run, int ms)
{
	for (int i = 0; ms < 0 || i < ms; i++) {
		struct pollfd p = {.fd = td_run_fd(run), .events = POLLIN};
		int r = td_run_step(run), t;

		ck_assert_int_ge(r, 0);
		if (r == 0)
			return;
		t = td_run_timeout(run);
		ck_assert_int_ge(t, -1);
		poll(&p, 1, t < 0 || t > 1 ? 1 : t);
	}
}

/* A call without its result yet is TD_ESTATE, with its status filled in all the same. */
static enum td_status status(const struct td_run *run, size_t i)
{
	struct td_result res;
	int r = td_run_result(run, i, &res);

	ck_assert(r == 0 || r == TD_ESTATE);
	ck_assert_int_eq(r == 0,
	                 res.status != TD_STATUS_PENDING && res.status != TD_STATUS_RUNNING);
	return res.status;
}

/* The same bytes read whole (td_stream_finish) and run from one plan: its results. */
static char *whole_results(const char *s, size_t len, enum td_schedule sched)
{
	struct td_run_opts o = {.schedule = sched};
	struct td_stream *st;
	struct td_batch *b = NULL;
	struct td_plan *p;
	struct td_run *run;
	char *out;

	ck_assert_int_eq(td_stream_new(TD_DIALECT_AUTO, "whole", &st), 0);
	td_stream_feed(st, s, len);
	td_stream_finish(st, g, &b, NULL);
	td_stream_free(st);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &run, NULL), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(td_run_results_json(run, TD_DIALECT_AUTO, 0, &out), 0);
	td_run_free(run);
	td_plan_free(p);
	td_batch_free(b);
	return out;
}

static struct td_run *open_run(enum td_schedule sched)
{
	struct td_run_opts o = {.schedule = sched};
	struct td_run *run;

	ck_assert_int_eq(td_run_new_stream(g, TD_DIALECT_AUTO, "<stream>", &o, &run, &diag), 0);
	return run;
}

static void check_same(struct td_run *run, const char *s, size_t len, enum td_schedule sched)
{
	char *a, *b = whole_results(s, len, sched);

	ck_assert_int_eq(td_run_results_json(run, TD_DIALECT_AUTO, 0, &a), 0);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}

/* ---- tests ---- */

/* Under every policy the nap starts while the stream goes on; `after` (tool-level depends_on)
 * waits for the end even once the nap is done; echo starts at once too. */
static void early_start(enum td_schedule sched)
{
	static char s[8192];
	char *p = head(s), *cut1, *cut2;
	struct td_run *run = open_run(sched);

	p = block(p, 1, "toolu_nap", "nap", "{\"ms\":30}");
	cut1 = p;
	p = block(p, 2, "toolu_after", "after", "{\"x\":1}");
	p = block(p, 3, "toolu_echo", "echo", "{\"say\":\"hi\"}");
	cut2 = p;
	p = tail(p);

	ck_assert_int_eq(td_run_wait(run), TD_ESTATE); /* only the host ends the stream */
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(cut1 - s)), 1);
	drive(run, 5);
	/* started while the stream goes on (a loaded machine may have let the 30 ms run out) */
	ck_assert_msg(status(run, 0) == TD_STATUS_RUNNING || status(run, 0) == TD_STATUS_OK,
	              "the nap did not start before the stream's end: %s",
	              td_status_name(status(run, 0)));
	ck_assert_int_eq(td_run_feed(run, cut1, (size_t)(cut2 - cut1)), 3);
	drive(run, 80); /* the nap (30 ms) ends; `after` must still wait */
	ck_assert_int_eq(status(run, 0), TD_STATUS_OK);
	ck_assert_int_eq(status(run, 1), TD_STATUS_PENDING);
	ck_assert_int_eq(status(run, 2), TD_STATUS_OK);
	ck_assert_int_eq(td_run_feed(run, cut2, (size_t)(p - cut2)), 3);
	ck_assert_int_eq(status(run, 1), TD_STATUS_PENDING);
	ck_assert_int_eq(td_run_feed_end(run, &diag), 0);
	ck_assert_int_eq(td_run_feed(run, "x", 1), TD_ESTATE);
	ck_assert_int_eq(td_run_feed_end(run, &diag), TD_ESTATE);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(status(run, 1), TD_STATUS_OK);
	ck_assert_uint_eq(td_batch_count(td_run_batch(run)), 3);
	ck_assert_uint_eq(td_plan_level_count(td_run_plan(run)), 2);
	check_same(run, s, (size_t)(p - s), sched);
	td_run_free(run);
}

START_TEST(starts_before_the_end_level)
{
	early_start(TD_SCHEDULE_LEVEL);
}
END_TEST

START_TEST(starts_before_the_end_eager)
{
	early_start(TD_SCHEDULE_EAGER);
}
END_TEST

START_TEST(starts_before_the_end_critical)
{
	early_start(TD_SCHEDULE_CRITICAL);
}
END_TEST

/* Every chunking of a recorded stream (Chat Completions: calls end only when the next one
 * begins) gives the results of the stream read whole; the first call joins while the second
 * is being written. */
START_TEST(recorded_byte_by_byte)
{
	const char *files[] = {"openai-chat-stream-f82268f2fefd.sse",
	                       "anthropic-stream-tool_use_response.txt"};

	for (size_t f = 0; f < 2; f++) {
		size_t len, i;
		char *s = tr_slurp(files[f], &len), *second = strstr(s, "\"index\":1,\"id\"");
		struct td_run *run = open_run(TD_SCHEDULE_LEVEL);
		int joined_early = 0;

		for (i = 0; i < len; i++) {
			int n = td_run_feed(run, s + i, 1);

			ck_assert_int_ge(n, 0);
			if (second && s + i > second && s + i < second + 200 && n == 1)
				joined_early = 1;
			drive(run, 0);
		}
		ck_assert_int_eq(td_run_feed_end(run, &diag), 0);
		ck_assert_int_eq(td_run_wait(run), 0);
		if (second)
			ck_assert_msg(joined_early, "%s: the first call joined only at the end",
			              files[f]);
		check_same(run, s, len, TD_SCHEDULE_LEVEL);
		td_run_free(run);
		free(s);
	}
}
END_TEST

/* A Chat Completions chunk holding one fragment of call i (id and name in its first). */
static char *chunk(char *p, int i, const char *first_id, const char *args)
{
	char esc[256], *e = esc;

	for (; *args; args++) {
		if (*args == '"')
			*e++ = '\\';
		*e++ = *args;
	}
	*e = '\0';
	p += sprintf(p,
	             "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
	             "\"delta\":{\"tool_calls\":[{\"index\":%d,",
	             i);
	if (first_id)
		p += sprintf(p, "\"id\":\"%s\",\"type\":\"function\",", first_id);
	p += sprintf(p, "\"function\":{%s\"arguments\":\"%s\"}}]}}]}\n\n",
	             first_id ? "\"name\":\"echo\"," : "", esc);
	return p;
}

static char *chat_end(char *p)
{
	p += sprintf(p, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
	                "\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
	p += sprintf(p, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[],"
	                "\"usage\":{\"total_tokens\":9}}\n\n");
	return p + sprintf(p, "data: [DONE]\n\n");
}

/* Chat fragments of two calls interleaved: the first joins once its arguments parse and the
 * second has begun; the results are the whole stream's. */
START_TEST(chat_interleaved)
{
	static char s[8192];
	char *p = s, *mid;
	struct td_run *run = open_run(TD_SCHEDULE_LEVEL);

	p = chunk(p, 0, "call_a", "{\"n\":");
	p = chunk(p, 1, "call_b", "{\"m\":");
	p = chunk(p, 0, NULL, "1}");
	p = chunk(p, 1, NULL, "2");
	mid = p;
	p = chunk(p, 1, NULL, "}");
	p = chat_end(p);
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(mid - s)), 1);
	drive(run, 3);
	ck_assert_int_eq(status(run, 0), TD_STATUS_OK);
	ck_assert_int_eq(td_run_feed(run, mid, (size_t)(p - mid)), 2);
	ck_assert_int_eq(td_run_feed_end(run, &diag), 0);
	ck_assert_int_eq(td_run_wait(run), 0);
	check_same(run, s, (size_t)(p - s), TD_SCHEDULE_LEVEL);
	td_run_free(run);
}
END_TEST

/* A call that looked whole and then grew (no API does this): what started is not taken back,
 * only the calls that joined run, and the end says so. */
START_TEST(changed_after_start)
{
	static char s[8192];
	char *p = s, *mid;
	struct td_run *run = open_run(TD_SCHEDULE_LEVEL);

	p = chunk(p, 0, "call_a", "{\"n\":1}");
	p = chunk(p, 1, "call_b", "{\"m\":2}");
	mid = p;
	p = chunk(p, 0, NULL, "x");
	p = chat_end(p);
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(mid - s)), 1);
	ck_assert_int_eq(td_run_feed(run, mid, (size_t)(p - mid)), 2);
	ck_assert_int_eq(td_run_feed_end(run, &diag), TD_EBATCH);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_uint_eq(td_batch_count(td_run_batch(run)), 2);
	ck_assert_str_eq(diag.items[diag.count - 1].message,
	                 "the stream changed call 'call_a' after it had started: only the 2 calls "
	                 "taken before run");
	ck_assert_int_eq(status(run, 0), TD_STATUS_OK);
	ck_assert_int_eq(status(run, 1), TD_STATUS_OK);
	td_run_free(run);
}
END_TEST

/* Cut off while the third call is written: the complete calls run, the cut one is named. */
START_TEST(cut_off)
{
	static char s[8192];
	char *p = head(s);
	struct td_run *run = open_run(TD_SCHEDULE_LEVEL);

	p = block(p, 1, "toolu_a", "echo", "{\"n\":1}");
	p = block(p, 2, "toolu_b", "after", "{\"n\":2}");
	p = block(p, 3, "toolu_c", "echo", "{\"n\":3}");
	p -= strlen("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}"
	            "\n\n");
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(p - s)), 2);
	ck_assert_int_eq(td_run_feed_end(run, &diag), TD_EBATCH);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_uint_eq(td_batch_count(td_run_batch(run)), 2);
	ck_assert_int_eq(status(run, 0), TD_STATUS_OK);
	ck_assert_int_eq(status(run, 1), TD_STATUS_OK);
	ck_assert_uint_ge(diag.count, 2);
	ck_assert_ptr_nonnull(strstr(diag.items[0].message, "it was cut off"));
	ck_assert_ptr_nonnull(strstr(diag.items[1].message, "call 'toolu_c' (echo) was cut off"));
	td_run_free(run);
}
END_TEST

/* An error event: what was complete runs, nothing else; the API's words. */
START_TEST(api_error)
{
	static char s[8192];
	char *p = head(s);
	struct td_run *run = open_run(TD_SCHEDULE_EAGER);

	p = block(p, 1, "toolu_a", "nap", "{\"ms\":1}");
	p += sprintf(p, "event: content_block_start\ndata: {\"type\":\"content_block_start\","
	                "\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\","
	                "\"name\":\"echo\",\"input\":{}}}\n\n");
	p = ev(p, "error",
	       "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": "
	       "\"Overloaded\"}}");
	/* the stream cannot go on after the error: td_run_feed_end() says why */
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(p - s)), TD_EBATCH);
	ck_assert_uint_eq(td_batch_count(td_run_batch(run)), 1); /* joined before the end */
	ck_assert_int_eq(td_run_feed_end(run, &diag), TD_EBATCH);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_uint_eq(td_batch_count(td_run_batch(run)), 1);
	ck_assert_int_eq(status(run, 0), TD_STATUS_OK);
	ck_assert_str_eq(diag.items[0].message,
	                 "the API reported an error: overloaded_error: Overloaded");
	td_run_free(run);
}
END_TEST

/* Nothing but text: no call, the run finishes empty and says why. */
START_TEST(no_calls)
{
	static char s[4096];
	char *p = tail(head(s));
	struct td_run *run = open_run(TD_SCHEDULE_LEVEL);

	ck_assert_int_eq(td_run_feed(run, s, (size_t)(p - s)), 0);
	ck_assert_int_eq(td_run_feed_end(run, &diag), TD_EBATCH);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_uint_eq(td_batch_count(td_run_batch(run)), 0);
	ck_assert_ptr_nonnull(strstr(diag.items[0].message, "no tool calls found"));
	td_run_free(run);
}
END_TEST

struct counts {
	int level_started[4], level_finished[4], run_finished, finished;
	int64_t nap_started, after_started;
};

static void count(void *ud, const struct td_run *run, const struct td_event *e)
{
	struct counts *c = ud;

	(void)run;
	if (e->type == TD_EVENT_LEVEL_STARTED && e->level < 4)
		c->level_started[e->level]++;
	if (e->type == TD_EVENT_LEVEL_FINISHED && e->level < 4)
		c->level_finished[e->level]++;
	if (e->type == TD_EVENT_RUN_FINISHED)
		c->run_finished++;
	if (e->type == TD_EVENT_CALL_FINISHED)
		c->finished++;
	if (e->type == TD_EVENT_CALL_STARTED && e->call == 0)
		c->nap_started = e->time_us;
	if (e->type == TD_EVENT_CALL_STARTED && e->call == 1)
		c->after_started = e->time_us;
}

/* Observers: every level starts and finishes once, the run finishes once, after the end, even
 * when level 0 was done before the stream ended; the report says when the stream ended. */
START_TEST(observed)
{
	static char s[8192];
	char *p = head(s), *cut, *rep, *at;
	struct td_run *run = open_run(TD_SCHEDULE_LEVEL);
	struct counts c = {0};
	double end_ms, start_ms;

	ck_assert_int_eq(td_run_observe(run, count, &c), 0);
	p = block(p, 1, "toolu_nap", "nap", "{\"ms\":1}");
	cut = p;
	p = block(p, 2, "toolu_after", "after", "{}");
	p = tail(p);
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(cut - s)), 1);
	drive(run, 40);
	ck_assert_int_eq(c.finished, 1);
	ck_assert_int_eq(c.level_finished[0], 0); /* more level-0 calls may come */
	ck_assert_int_eq(c.run_finished, 0);
	ck_assert_int_eq(td_run_feed(run, cut, (size_t)(p - cut)), 2);
	ck_assert_int_eq(td_run_feed_end(run, &diag), 0);
	ck_assert_int_eq(c.level_finished[0], 1);
	ck_assert_int_eq(td_run_wait(run), 0);
	ck_assert_int_eq(c.level_started[0], 1);
	ck_assert_int_eq(c.level_started[1], 1);
	ck_assert_int_eq(c.level_finished[1], 1);
	ck_assert_int_eq(c.run_finished, 1);
	ck_assert_int_eq(c.finished, 2);
	ck_assert_int_eq(td_run_report_json(run, 0, &rep), 0);
	at = strstr(rep, "\"stream_end_ms\":");
	ck_assert_ptr_nonnull(at);
	end_ms = strtod(at + 16, NULL);
	at = strstr(rep, "\"start_ms\":");
	ck_assert_ptr_nonnull(at);
	start_ms = strtod(at + 11, NULL);
	ck_assert_msg(start_ms < end_ms, "the nap started at %f, the stream ended at %f", start_ms,
	              end_ms);
	ck_assert_int_lt(c.nap_started, c.after_started);
	free(rep);
	td_run_free(run);
}
END_TEST

/* Freed while open, with a call running: everything is reaped, nothing leaks (ASan). */
START_TEST(freed_open)
{
	static char s[4096];
	char *p = head(s);
	struct td_run *run = open_run(TD_SCHEDULE_LEVEL);

	p = block(p, 1, "toolu_nap", "nap", "{\"ms\":5000}");
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(p - s)), 1);
	drive(run, 2);
	ck_assert_int_eq(status(run, 0), TD_STATUS_RUNNING);
	td_run_cancel(run);
	ck_assert_int_eq(td_run_feed_end(run, &diag), TD_EBATCH);
	drive(run, -1);
	ck_assert_int_eq(status(run, 0), TD_STATUS_CANCELLED);
	td_run_free(run);
	run = open_run(TD_SCHEDULE_EAGER);
	ck_assert_int_eq(td_run_feed(run, s, (size_t)(p - s)), 1);
	drive(run, 2);
	td_run_free(run);
}
END_TEST

/* Two streamed runs and a plain one on one host, stepped by the host: each stream's first call
 * starts while its stream goes on, and each run answers as its stream read whole. */
START_TEST(on_a_host)
{
	static char s1[8192], s2[8192];
	char *p1 = head(s1), *p2 = head(s2), *cut1, *cut2;
	struct td_run_opts o = {0};
	struct td_host *h;
	struct td_run *a, *b;

	ck_assert_int_eq(td_host_new(NULL, &h, &diag), 0);
	ck_assert_int_eq(td_host_run_new_stream(NULL, g, TD_DIALECT_AUTO, "x", &o, &a, &diag),
	                 TD_EINVAL);
	ck_assert_int_eq(td_host_run_new_stream(h, g, TD_DIALECT_AUTO, "one", &o, &a, &diag), 0);
	ck_assert_int_eq(td_host_run_new_stream(h, g, TD_DIALECT_AUTO, "two", &o, &b, &diag), 0);
	p1 = block(p1, 1, "toolu_a1", "nap", "{\"ms\":20}");
	cut1 = p1;
	p1 = tail(block(p1, 2, "toolu_a2", "after", "{}"));
	p2 = block(p2, 1, "toolu_b1", "echo", "{\"b\":1}");
	cut2 = p2;
	p2 = tail(block(p2, 2, "toolu_b2", "nap", "{\"ms\":5}"));
	ck_assert_int_eq(td_run_feed(a, s1, (size_t)(cut1 - s1)), 1);
	ck_assert_int_eq(td_run_feed(b, s2, (size_t)(cut2 - s2)), 1);
	for (int i = 0; i < 5; i++) {
		struct pollfd pf = {.fd = td_host_fd(h), .events = POLLIN};

		ck_assert_int_eq(td_host_step(h), 1); /* both streams go on */
		poll(&pf, 1, 1);
	}
	ck_assert_int_eq(status(a, 0), TD_STATUS_RUNNING);
	ck_assert_int_eq(status(b, 0), TD_STATUS_OK);
	ck_assert_int_eq(td_run_feed(a, cut1, (size_t)(p1 - cut1)), 2);
	ck_assert_int_eq(td_run_feed(b, cut2, (size_t)(p2 - cut2)), 2);
	ck_assert_int_eq(td_run_feed_end(a, &diag), 0);
	ck_assert_int_eq(td_run_feed_end(b, &diag), 0);
	for (int i = 0; i < 5000 && td_host_step(h) == 1; i++) {
		struct pollfd pf = {.fd = td_host_fd(h), .events = POLLIN};
		int t = td_host_timeout(h);

		poll(&pf, 1, t < 0 || t > 1 ? 1 : t);
	}
	ck_assert_int_eq(td_host_step(h), 0);
	check_same(a, s1, (size_t)(p1 - s1), TD_SCHEDULE_LEVEL);
	check_same(b, s2, (size_t)(p2 - s2), TD_SCHEDULE_LEVEL);
	td_run_free(a);
	td_run_free(b);
	td_host_free(h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("run_stream");
	TCase *tc = tcase_create("feed");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, starts_before_the_end_level);
	tcase_add_test(tc, starts_before_the_end_eager);
	tcase_add_test(tc, starts_before_the_end_critical);
	tcase_add_test(tc, recorded_byte_by_byte);
	tcase_add_test(tc, chat_interleaved);
	tcase_add_test(tc, changed_after_start);
	tcase_add_test(tc, cut_off);
	tcase_add_test(tc, api_error);
	tcase_add_test(tc, no_calls);
	tcase_add_test(tc, observed);
	tcase_add_test(tc, freed_open);
	tcase_add_test(tc, on_a_host);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

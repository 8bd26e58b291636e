/* SPDX-License-Identifier: MIT */
/*
 * test_sim_history.c - the level policy with learned durations, over real runs of builtin
 * sleeps: once the history knows what each tool takes, a level's longest calls start first;
 * before that (no history, or an empty one) and under eager, batch order; a tool the history
 * does not know weighs its declared estimate.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "td_graph_dir.h"
#include "tooldag.h"

static const char GRAPH[] = "version: 1\n"
                            "tools:\n"
                            "  fast: {builtin: sleep}\n"
                            "  slow: {builtin: sleep}\n";

static struct td_graph *G;
static char DIR_[TD_GRAPH_DIR_LEN], PATH_[TD_GRAPH_PATH_LEN];

static void setup(void)
{
	td_graph_dir_open(GRAPH, "td-simhist", "durations", &G, DIR_, PATH_);
}

static void teardown(void)
{
	td_graph_dir_close(G, DIR_, PATH_);
}

struct starts {
	int order[4];
	int n;
};

static void on_start(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct starts *s = ud;

	(void)run;
	if (ev->type == TD_EVENT_CALL_STARTED && s->n < 4)
		s->order[s->n++] = (int)ev->call;
}

/* One level: f0, f1 (fast, 1 ms), s0 (slow, 40 ms), then f2 after f0 (level 1). At j = 1,
 * the order the calls started in, as "f0 f1 s0 f2" (indices 0 1 2 3). */
static void run_level(struct td_history *h, enum td_schedule schedule, char *out, size_t len)
{
	static const char *const ids[] = {"f0", "f1", "s0", "f2"};
	struct td_run_opts o = {0};
	struct starts s = {{0}, 0};
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	int i;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "f0", "fast", "{\"ms\":1}"), 0);
	ck_assert_int_eq(td_batch_add(b, "f1", "fast", "{\"ms\":1}"), 1);
	ck_assert_int_eq(td_batch_add(b, "s0", "slow", "{\"ms\":40}"), 2);
	ck_assert_int_eq(td_batch_add(b, "f2", "fast", "{\"ms\":1}"), 3);
	ck_assert_int_eq(td_batch_depend(b, 3, 0), 0);
	o.history = h;
	o.schedule = schedule;
	o.concurrency = 1;
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_observe(r, on_start, &s), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	ck_assert_int_eq(s.n, 4);
	out[0] = '\0';
	for (i = 0; i < 4; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "",
		         ids[s.order[i]]);
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
}

/* f0 (fast), s0 (slow), h (hinted) in one level at j = 1 under level: the start order. */
static void run_hinted(struct td_history *h, char *out, size_t len)
{
	static const char *const ids[] = {"f0", "s0", "h"};
	struct td_run_opts o = {0};
	struct starts s = {{0}, 0};
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	int i;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "f0", "fast", "{\"ms\":1}"), 0);
	ck_assert_int_eq(td_batch_add(b, "s0", "slow", "{\"ms\":1}"), 1);
	ck_assert_int_eq(td_batch_add(b, "h", "hinted", "{\"ms\":1}"), 2);
	o.history = h;
	o.concurrency = 1;
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_observe(r, on_start, &s), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	ck_assert_int_eq(s.n, 3);
	out[0] = '\0';
	for (i = 0; i < 3; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "",
		         ids[s.order[i]]);
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
}

START_TEST(level_learns_longest_first)
{
	struct td_history *h;
	char got[64];

	run_level(NULL, TD_SCHEDULE_LEVEL, got, sizeof(got));
	ck_assert_str_eq(got, "f0 f1 s0 f2");
	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	run_level(h, TD_SCHEDULE_LEVEL, got, sizeof(got)); /* empty: equal weights */
	ck_assert_str_eq(got, "f0 f1 s0 f2");
	run_level(h, TD_SCHEDULE_LEVEL, got, sizeof(got)); /* learned: slow first, ties in order */
	ck_assert_str_eq(got, "s0 f0 f1 f2");
	run_level(h, TD_SCHEDULE_EAGER, got, sizeof(got)); /* eager ignores durations */
	ck_assert_str_eq(got, "f0 f1 s0 f2");
	td_history_free(h);
}
END_TEST

/* A tool the history does not know weighs its declared estimate: h (estimate 100 ms, never
 * run) starts before s0 once the history knows s0 takes 40 ms and f0 1 ms. */
START_TEST(history_falls_back_to_estimate)
{
	static const char G2[] = "version: 1\n"
	                         "tools:\n"
	                         "  fast: {builtin: sleep}\n"
	                         "  slow: {builtin: sleep}\n"
	                         "  hinted: {builtin: sleep, estimate: 100ms}\n";
	struct td_history *h;
	char got[64];

	td_graph_free(G);
	ck_assert_int_eq(td_graph_load_buffer(G2, strlen(G2), "g.yaml", DIR_, &G, NULL), 0);
	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	run_level(h, TD_SCHEDULE_LEVEL, got, sizeof(got)); /* learns fast and slow */
	ck_assert_str_eq(got, "f0 f1 s0 f2");
	run_hinted(h, got, sizeof(got));
	ck_assert_str_eq(got, "h s0 f0");
	td_history_free(h);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_history");
	TCase *tc = tcase_create("sim_history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, level_learns_longest_first);
	tcase_add_test(tc, history_falls_back_to_estimate);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

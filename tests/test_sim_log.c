/* SPDX-License-Identifier: MIT */
/*
 * test_sim_log.c - td_recording_attempt_count() / td_recording_attempt(), what `tooldag-bench
 * import log` reads durations with: a real recording's attempts match what the run reported,
 * and lines written by hand give each answer (none, several, out of range, malformed).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tooldag.h"

static char PATH_[64];

static void setup(void)
{
	int fd;

	strcpy(PATH_, "/tmp/td-simlog-XXXXXX");
	fd = mkstemp(PATH_);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void teardown(void)
{
	unlink(PATH_);
}

static void write_text(const char *text)
{
	FILE *f = fopen(PATH_, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* A real run recorded: each attempt is the call's start and end as the run reported them. */
START_TEST(real_recording)
{
	static const char G[] = "version: 1\ntools:\n  nap: {builtin: sleep}\n";
	struct td_graph *g;
	struct td_batch *b;
	struct td_plan *p;
	struct td_recorder *rec;
	struct td_recording *in;
	struct td_run_opts o = {0};
	struct td_recorded_attempt a;
	struct td_result res;
	struct td_run *r;
	int64_t start[2], end[2];
	size_t c;

	ck_assert_int_eq(td_graph_load_buffer(G, strlen(G), "g.yaml", "/tmp", &g, NULL), 0);
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "a", "nap", "{\"ms\":20}"), 0);
	ck_assert_int_eq(td_batch_add(b, "b", "nap", "{\"ms\":5}"), 1);
	ck_assert_int_eq(td_batch_depend(b, 1, 0), 0);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_recorder_open(PATH_, &rec, NULL), 0);
	o.record = rec;
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	for (c = 0; c < 2; c++) {
		ck_assert_int_eq(td_run_result(r, c, &res), 0);
		start[c] = res.start_us;
		end[c] = res.end_us;
	}
	td_run_free(r);
	td_recorder_free(rec);
	ck_assert_int_eq(td_recording_open(PATH_, &in, NULL), 1);
	for (c = 0; c < 2; c++) {
		ck_assert_int_eq(td_recording_attempt_count(in, 0, c), 1);
		ck_assert_int_eq(td_recording_attempt(in, 0, c, 0, &a), 0);
		ck_assert_int_eq(a.status, TD_STATUS_OK);
		ck_assert_int_eq(a.start_us, start[c]);
		ck_assert_int_eq(a.end_us, end[c]);
		ck_assert_int_ge(a.end_us - a.start_us, c ? 5000 : 20000);
	}
	td_recording_free(in);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
}
END_TEST

START_TEST(by_hand)
{
	struct td_recording *in;
	struct td_recorded_attempt a;

	write_text(
	    "{\"tooldag_record\":1,\"graph\":{\"path\":\"g.yaml\"},\"dialect\":\"anthropic\","
	    "\"calls\":["
	    "{\"id\":\"a\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"\",\"attempts\":["
	    "{\"status\":\"error\",\"start_us\":10,\"end_us\":30},"
	    "{\"status\":\"ok\",\"start_us\":500,\"end_us\":900}]},"
	    "{\"id\":\"b\",\"tool\":\"t\",\"status\":\"skipped\",\"content\":\"s\"},"
	    "{\"id\":\"c\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"\",\"attempts\":7},"
	    "{\"id\":\"d\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"\",\"attempts\":["
	    "{\"status\":\"ok\",\"start_us\":1}]},"
	    "{\"id\":\"e\",\"tool\":\"t\",\"status\":\"ok\",\"content\":\"\",\"attempts\":["
	    "{\"status\":\"ok\",\"start_us\":1e30,\"end_us\":2}]}]}\n");
	ck_assert_int_eq(td_recording_open(PATH_, &in, NULL), 1);
	ck_assert_int_eq(td_recording_attempt_count(in, 0, 0), 2);
	ck_assert_int_eq(td_recording_attempt(in, 0, 0, 0, &a), 0);
	ck_assert_int_eq(a.status, TD_STATUS_ERROR);
	ck_assert_int_eq(a.start_us, 10);
	ck_assert_int_eq(a.end_us, 30);
	ck_assert_int_eq(td_recording_attempt(in, 0, 0, 1, &a), 0);
	ck_assert_int_eq(a.status, TD_STATUS_OK);
	ck_assert_int_eq(a.end_us - a.start_us, 400);
	ck_assert_int_eq(td_recording_attempt(in, 0, 0, 2, &a), TD_EINVAL);
	ck_assert_int_eq(td_recording_attempt(in, 0, 0, 0, NULL), TD_EINVAL);
	/* never ran */
	ck_assert_int_eq(td_recording_attempt_count(in, 0, 1), 0);
	ck_assert_int_eq(td_recording_attempt(in, 0, 1, 0, &a), TD_EINVAL);
	/* not an array; an attempt without its end */
	ck_assert_int_eq(td_recording_attempt_count(in, 0, 2), TD_ESYNTAX);
	ck_assert_int_eq(td_recording_attempt(in, 0, 2, 0, &a), TD_ESYNTAX);
	ck_assert_int_eq(td_recording_attempt(in, 0, 3, 0, &a), TD_ESYNTAX);
	/* a time no int64_t holds */
	ck_assert_int_eq(td_recording_attempt(in, 0, 4, 0, &a), TD_ESYNTAX);
	/* out of range */
	ck_assert_int_eq(td_recording_attempt_count(in, 0, 5), TD_EINVAL);
	ck_assert_int_eq(td_recording_attempt_count(in, 1, 0), TD_EINVAL);
	ck_assert_int_eq(td_recording_attempt_count(NULL, 0, 0), TD_EINVAL);
	td_recording_free(in);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_log");
	TCase *tc = tcase_create("sim_log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, real_recording);
	tcase_add_test(tc, by_hand);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_record_history.c - learned durations (td_history, td_run_opts.history) over real runs
 * of builtin tools: what a run teaches, per tool and per tool and input, the bounds, the
 * critical and level policies ranking by what they learned (an input's own duration over its
 * tool's mean), concurrent updates from threads and from processes, and bad files.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "td_graph_dir.h"
#include "tooldag.h"

static const char GRAPH[] = "version: 1\n"
                            "tools:\n"
                            "  slow: {builtin: sleep}\n"
                            "  fast: {builtin: sleep}\n"
                            "  a: {builtin: echo}\n";

static struct td_graph *G;
static char DIR_[TD_GRAPH_DIR_LEN], PATH_[TD_GRAPH_PATH_LEN];

static void setup(void)
{
	td_graph_dir_open(GRAPH, "td-hist", "durations", &G, DIR_, PATH_);
}

static void teardown(void)
{
	td_graph_dir_close(G, DIR_, PATH_);
}

/* the first call to start, recorded by an observer */
static void first_start(void *ud, const struct td_run *run, const struct td_event *ev)
{
	int *first = ud;

	(void)run;
	if (ev->type == TD_EVENT_CALL_STARTED && *first < 0)
		*first = (int)ev->call;
}

/* Runs b with h under `schedule` at concurrency 1; the index of the call that started first. */
static int run_batch(struct td_batch *b, struct td_history *h, enum td_schedule schedule)
{
	struct td_run_opts o = {0};
	struct td_plan *p;
	struct td_run *r;
	int first = -1;

	o.history = h;
	o.schedule = schedule;
	o.concurrency = 1;
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &o, &r, NULL), 0);
	ck_assert_int_eq(td_run_observe(r, first_start, &first), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	td_run_free(r);
	td_plan_free(p);
	return first;
}

/* f0 -> f1 -> f2 (fast, 1 ms each, a chain of three calls) and s0 (slow, 100 ms, alone) */
static struct td_batch *chains(void)
{
	struct td_batch *b;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "f0", "fast", "{\"ms\":1}"), 0);
	ck_assert_int_eq(td_batch_add(b, "f1", "fast", "{\"ms\":1}"), 1);
	ck_assert_int_eq(td_batch_add(b, "f2", "fast", "{\"ms\":1}"), 2);
	ck_assert_int_eq(td_batch_add(b, "s0", "slow", "{\"ms\":100}"), 3);
	ck_assert_int_eq(td_batch_depend(b, 1, 0), 0);
	ck_assert_int_eq(td_batch_depend(b, 2, 1), 0);
	return b;
}

START_TEST(run_teaches_durations)
{
	struct td_history *h, *again;
	struct td_batch *b = chains();
	struct td_duration d;

	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	ck_assert_int_eq(td_history_estimate(h, "slow", &d), TD_ENOTFOUND);
	run_batch(b, h, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_history_error(h), 0);
	ck_assert_int_eq(td_history_estimate(h, "slow", &d), 0);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_int_ge(d.ewma_us, 100000);
	ck_assert_int_eq(d.p95_us, d.ewma_us);
	ck_assert_int_eq(td_history_estimate(h, "fast", &d), 0);
	ck_assert_uint_eq(d.count, 3);
	ck_assert_int_ge(d.ewma_us, 1000);
	ck_assert_int_lt(d.ewma_us, 100000);
	ck_assert_int_eq(td_history_estimate(h, "a", &d), TD_ENOTFOUND);
	/* the file says the same to another reader */
	ck_assert_int_eq(td_history_open(PATH_, &again, NULL), 0);
	ck_assert_int_eq(td_history_estimate(again, "fast", &d), 0);
	ck_assert_uint_eq(d.count, 3);
	td_history_free(again);
	td_history_free(h);
	td_batch_free(b);
}
END_TEST

/* Without history the chain of three goes first; once s0's 100 ms are known, s0 does. */
START_TEST(critical_ranks_by_history)
{
	struct td_history *h;
	struct td_batch *b = chains();

	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	ck_assert_int_eq(run_batch(b, NULL, TD_SCHEDULE_CRITICAL), 0);
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_CRITICAL), 0); /* empty: equal weights */
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_CRITICAL), 3); /* learned */
	td_history_free(h);
	/* a fresh reader of the file ranks the same way */
	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_CRITICAL), 3);
	/* other policies ignore it */
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_EAGER), 0);
	td_history_free(h);
	td_batch_free(b);
}
END_TEST

/* 100 durations of one tool: counted all, 64 kept */
START_TEST(history_is_bounded)
{
	struct td_history *h;
	struct td_batch *b;
	struct td_duration d;
	char id[16], line[8192];
	FILE *f;
	int i, found = 0;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "a%d", i);
		ck_assert_int_eq(td_batch_add(b, id, "a", NULL), i);
	}
	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	run_batch(b, h, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_history_estimate(h, "a", &d), 0);
	ck_assert_uint_eq(d.count, 100);
	f = fopen(PATH_, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		cJSON *o = cJSON_Parse(line);

		ck_assert_ptr_nonnull(o);
		if (cJSON_GetObjectItem(o, "tool")) {
			ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "recent")), 64);
			ck_assert_int_eq(cJSON_GetObjectItem(o, "n")->valueint, 100);
			found++;
		}
		cJSON_Delete(o);
	}
	fclose(f);
	ck_assert_int_eq(found, 1);
	td_history_free(h);
	td_batch_free(b);
}
END_TEST

/* The tool line of the file: its n, its recent durations in *recent (caller deletes). */
static uint64_t tool_line(cJSON **recent)
{
	char line[8192];
	uint64_t n = 0;
	FILE *f = fopen(PATH_, "r");

	ck_assert_ptr_nonnull(f);
	*recent = NULL;
	while (fgets(line, sizeof(line), f)) {
		cJSON *o = cJSON_Parse(line);

		ck_assert_ptr_nonnull(o);
		if (cJSON_GetObjectItem(o, "tool")) {
			ck_assert_ptr_null(*recent);
			n = (uint64_t)cJSON_GetObjectItem(o, "n")->valuedouble;
			*recent = cJSON_DetachItemFromObject(o, "recent");
		}
		cJSON_Delete(o);
	}
	fclose(f);
	ck_assert_ptr_nonnull(*recent);
	return n;
}

/* A full ring of recent durations keeps the newest, oldest first: a file whose tool holds 64
 * durations (OLD..OLD + 63 us, far longer than any echo), then a run of three calls (OLD + 3..,
 * then theirs), then one of 66 (the ring goes round within the run: only theirs). */
#define OLD 1000000000
START_TEST(recent_ring_keeps_newest)
{
	struct td_history *h;
	struct td_batch *b;
	cJSON *recent;
	char id[16];
	int i;
	FILE *f = fopen(PATH_, "w");

	ck_assert_ptr_nonnull(f);
	fputs("{\"tooldag_durations\":2}\n{\"tool\":\"a\",\"n\":64,\"ewma_us\":1000000000,"
	      "\"p95_us\":1000000060,"
	      "\"seq\":1,\"recent\":[",
	      f);
	for (i = 0; i < 64; i++)
		fprintf(f, i ? ",%d" : "%d", OLD + i);
	fputs("]}\n", f);
	fclose(f);
	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(td_batch_add(b, (const char *[]){"x", "y", "z"}[i], "a", NULL), i);
	run_batch(b, h, TD_SCHEDULE_LEVEL);
	td_batch_free(b);
	ck_assert_uint_eq(tool_line(&recent), 67);
	ck_assert_int_eq(cJSON_GetArraySize(recent), 64);
	for (i = 0; i < 64; i++)
		if (i < 61)
			ck_assert_int_eq(cJSON_GetArrayItem(recent, i)->valueint, OLD + 3 + i);
		else
			ck_assert_int_lt(cJSON_GetArrayItem(recent, i)->valueint, OLD);
	cJSON_Delete(recent);
	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = 0; i < 66; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		ck_assert_int_eq(td_batch_add(b, id, "a", NULL), i);
	}
	run_batch(b, h, TD_SCHEDULE_LEVEL);
	td_batch_free(b);
	td_history_free(h);
	ck_assert_uint_eq(tool_line(&recent), 133);
	ck_assert_int_eq(cJSON_GetArraySize(recent), 64);
	for (i = 0; i < 64; i++)
		ck_assert_int_lt(cJSON_GetArrayItem(recent, i)->valueint, OLD);
	cJSON_Delete(recent);
}
END_TEST

#define RUNS 25

static void *updater(void *ud)
{
	struct td_history *h = ud;
	struct td_batch *b;
	int i;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "x", "a", NULL), 0);
	for (i = 0; i < RUNS; i++)
		run_batch(b, h, TD_SCHEDULE_LEVEL);
	td_batch_free(b);
	return NULL;
}

static uint64_t count_of(const char *tool)
{
	struct td_history *h;
	struct td_duration d = {0};

	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	td_history_estimate(h, tool, &d);
	td_history_free(h);
	return d.count;
}

/* The n of the file's entry for `tool` with one input (the only one it has), 0 when none. */
static uint64_t input_count(const char *tool)
{
	char line[8192];
	uint64_t n = 0;
	int found = 0;
	FILE *f = fopen(PATH_, "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *of = cJSON_GetObjectItem(o, "input_of");

		ck_assert_ptr_nonnull(o);
		if (cJSON_IsString(of) && strcmp(of->valuestring, tool) == 0) {
			n = (uint64_t)cJSON_GetObjectItem(o, "n")->valuedouble;
			ck_assert_int_eq(strlen(cJSON_GetObjectItem(o, "input")->valuestring), 16);
			found++;
		}
		cJSON_Delete(o);
	}
	fclose(f);
	ck_assert_int_le(found, 1);
	return n;
}

/* Two processes, each with its own history on the same file: no update lost. */
START_TEST(concurrent_processes_lose_nothing)
{
	pid_t pid[2];
	int i, st;

	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			struct td_history *h;

			if (td_history_open(PATH_, &h, NULL) < 0)
				_exit(2);
			updater(h);
			_exit(td_history_error(h) ? 3 : 0);
		}
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_uint_eq(count_of("a"), 2 * RUNS);
	ck_assert_uint_eq(input_count("a"), 2 * RUNS);
}
END_TEST

/* Two threads sharing one history: the same. */
START_TEST(concurrent_threads_lose_nothing)
{
	struct td_history *h;
	pthread_t t[2];
	int i;

	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, updater, h), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(td_history_error(h), 0);
	td_history_free(h);
	ck_assert_uint_eq(count_of("a"), 2 * RUNS);
	ck_assert_uint_eq(input_count("a"), 2 * RUNS);
}
END_TEST

/* One tool, two inputs: 60 ms and 2 ms. Per tool the mean is in between; per input each its
 * own, so the 60 ms call starts first once learned, under critical and under level, even
 * though it comes last in the batch and its tool's mean is the same for both. */
START_TEST(inputs_learned_apart)
{
	struct td_history *h;
	struct td_batch *b;
	struct td_duration d;
	char line[8192];
	int64_t in_ewma[2] = {0, 0};
	int nin = 0;
	FILE *f;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "short", "slow", "{\"ms\":2}"), 0);
	ck_assert_int_eq(td_batch_add(b, "long", "slow", "{\"ms\":150}"), 1);
	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_CRITICAL), 0); /* nothing known: batch order */
	ck_assert_int_eq(td_history_error(h), 0);
	ck_assert_int_eq(td_history_estimate(h, "slow", &d), 0);
	ck_assert_uint_eq(d.count, 2);
	f = fopen(PATH_, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		cJSON *o = cJSON_Parse(line);

		ck_assert_ptr_nonnull(o);
		if (cJSON_GetObjectItem(o, "tooldag_durations"))
			ck_assert_int_eq(cJSON_GetObjectItem(o, "tooldag_durations")->valueint, 2);
		if (cJSON_GetObjectItem(o, "input_of")) {
			ck_assert_int_lt(nin, 2);
			ck_assert_int_eq(cJSON_GetObjectItem(o, "n")->valueint, 1);
			in_ewma[nin++] = (int64_t)cJSON_GetObjectItem(o, "ewma_us")->valuedouble;
		}
		cJSON_Delete(o);
	}
	fclose(f);
	ck_assert_int_eq(nin, 2);
	/* 2 ms against 150 ms: far apart even when a loaded machine stretches the short one */
	ck_assert((in_ewma[0] < 75000 && in_ewma[1] >= 150000) ||
	          (in_ewma[1] < 75000 && in_ewma[0] >= 150000));
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_CRITICAL), 1);
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_LEVEL), 1);
	ck_assert_int_eq(run_batch(b, h, TD_SCHEDULE_EAGER), 0); /* eager ignores durations */
	td_history_free(h);
	td_batch_free(b);
}
END_TEST

/* 5,000 calls of tool a, input {"k":first..first+4999} (and {"k":0..9} again when `again`) */
static struct td_batch *many_inputs(int first, int again)
{
	struct td_batch *b;
	char id[16], in[32];
	int i, n = 0;

	ck_assert_int_eq(td_batch_new(G, TD_DIALECT_ANTHROPIC, &b), 0);
	for (i = again ? -10 : 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "e%d", n);
		snprintf(in, sizeof(in), "{\"k\":%d}", i < 0 ? i + 10 : first + i);
		ck_assert_int_eq(td_batch_add(b, id, "a", in), n++);
	}
	return b;
}

/* The file's input entries: how many, and how many learned more than one duration. */
static void count_inputs(int *nin, int *repeated)
{
	char line[8192];
	FILE *f = fopen(PATH_, "r");

	*nin = *repeated = 0;
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "\"input_of\""))
			continue;
		(*nin)++;
		*repeated += strstr(line, "\"n\":1,") == NULL;
	}
	fclose(f);
}

/* Runs of more distinct inputs than the file keeps: a run adds 4,096 at most, the file keeps
 * 4,096, inputs seen again before those seen once; the tool's entry counts every call. */
START_TEST(inputs_bounded)
{
	struct td_history *h;
	struct td_batch *b = many_inputs(0, 0);
	struct td_duration d;
	int nin, repeated;

	ck_assert_int_eq(td_history_open(PATH_, &h, NULL), 0);
	run_batch(b, h, TD_SCHEDULE_LEVEL);
	td_batch_free(b);
	ck_assert_int_eq(td_history_error(h), 0);
	ck_assert_int_eq(td_history_estimate(h, "a", &d), 0);
	ck_assert_uint_eq(d.count, 5000);
	count_inputs(&nin, &repeated);
	ck_assert_int_eq(nin, 4096);
	ck_assert_int_eq(repeated, 0);
	/* 4,096 new ones and ten seen before: the ten stay, then the newest */
	b = many_inputs(100000, 1);
	run_batch(b, h, TD_SCHEDULE_LEVEL);
	td_batch_free(b);
	ck_assert_int_eq(td_history_error(h), 0);
	ck_assert_int_eq(td_history_estimate(h, "a", &d), 0);
	ck_assert_uint_eq(d.count, 10010);
	count_inputs(&nin, &repeated);
	ck_assert_int_eq(nin, 4096);
	ck_assert_int_eq(repeated, 10);
	td_history_free(h);
}
END_TEST

START_TEST(bad_file_refused)
{
	struct td_history *h = NULL;
	struct td_diag d = {0};
	FILE *f = fopen(PATH_, "w");

	ck_assert_ptr_nonnull(f);
	fputs("{\"tooldag_durations\":1}\n{\"tool\":\"a\",\"n\":\"x\"}\n", f);
	fclose(f);
	ck_assert_int_eq(td_history_open(PATH_, &h, &d), TD_ESYNTAX);
	ck_assert_ptr_null(h);
	ck_assert_uint_eq(d.items[0].line, 2);
	td_diag_clear(&d);
	f = fopen(PATH_, "w");
	fputs("{\"something\":1}\n", f);
	fclose(f);
	ck_assert_int_eq(td_history_open(PATH_, &h, &d), TD_ESYNTAX);
	ck_assert_uint_eq(d.items[0].line, 1);
	td_diag_clear(&d);
	/* each refused for what it is, on its line: a version this build does not read, a value
	 * that is not a duration, a negative mean, a duplicate input */
	{
		static const char *const bad[][3] = {
		    {"{\"tooldag_durations\":3}\n", "1", "version this tooldag does not read"},
		    {"{\"tooldag_durations\":2}\n{\"tool\":\"a\",\"n\":2,\"ewma_us\":5,\"seq\":1,"
		     "\"recent\":[4,\"a\"]}\n",
		     "2", "\"recent\" holds a value that is not a duration"},
		    {"{\"tooldag_durations\":2}\n{\"tool\":\"a\",\"n\":2,\"ewma_us\":-5,\"seq\":1}"
		     "\n",
		     "2", "\"ewma_us\" is not a duration"},
		    {"{\"tooldag_durations\":2}\n{\"tool\":\"a\",\"n\":2.5,\"ewma_us\":5,\"seq\":1}"
		     "\n",
		     "2", "\"n\" is not a count"},
		    {"{\"tooldag_durations\":2}\n{\"input_of\":\"a\",\"input\":"
		     "\"00000000000000ab\","
		     "\"n\":1,\"ewma_us\":5,\"seq\":1}\n{\"input_of\":\"a\",\"input\":"
		     "\"00000000000000ab\",\"n\":1,\"ewma_us\":5,\"seq\":1}\n",
		     "3", "an input twice"},
		    {"[1]\n", "1", "not a tooldag durations file"},
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			f = fopen(PATH_, "w");
			fputs(bad[i][0], f);
			fclose(f);
			ck_assert_int_eq(td_history_open(PATH_, &h, &d), TD_ESYNTAX);
			ck_assert_ptr_null(h);
			ck_assert_uint_eq(d.items[0].line, (unsigned)atoi(bad[i][1]));
			ck_assert_msg(strstr(d.items[0].message, bad[i][2]), "case %zu: %s", i,
			              d.items[0].message);
			td_diag_clear(&d);
		}
	}
}
END_TEST

static Suite *history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, run_teaches_durations);
	tcase_add_test(tc, critical_ranks_by_history);
	tcase_add_test(tc, history_is_bounded);
	tcase_add_test(tc, recent_ring_keeps_newest);
	tcase_add_test(tc, concurrent_processes_lose_nothing);
	tcase_add_test(tc, concurrent_threads_lose_nothing);
	tcase_add_test(tc, bad_file_refused);
	tcase_add_test(tc, inputs_learned_apart);
	tcase_add_test(tc, inputs_bounded);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(history_suite());
}

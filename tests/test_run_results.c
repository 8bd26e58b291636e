/* SPDX-License-Identifier: MIT */
/*
 * test_run_results.c - a run's results and report as JSON, exact bytes, in each dialect, over
 * the fake backend in virtual time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_run_fixture.h"

/* ---- results JSON, exact bytes ---- */

static void mixed_outcomes(enum td_dialect d)
{
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	F.b.dialect = d;
	fx_call(&F, "id1", "a", "{\"q\":\"\\u00e9\\n\"}");
	fx_call(&F, "id2", "a", "{}");
	FK->fail_first[1] = 1;
	run_all(0, TD_SCHEDULE_LEVEL);
}

START_TEST(results_anthropic)
{
	char *out = NULL;

	mixed_outcomes(TD_DIALECT_ANTHROPIC);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "{\"role\":\"user\",\"content\":["
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"id1\",\"content\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},"
	                      "{\"type\":\"tool_result\",\"tool_use_id\":\"id2\",\"content\":"
	                      "\"{}#1\",\"is_error\":true}]}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 1, &out), 0);
	ck_assert_str_eq(out, "{\n  \"role\": \"user\",\n  \"content\": [\n"
	                      "    {\"type\":\"tool_result\",\"tool_use_id\":\"id1\",\"content\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},\n"
	                      "    {\"type\":\"tool_result\",\"tool_use_id\":\"id2\",\"content\":"
	                      "\"{}#1\",\"is_error\":true}\n  ]\n}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_RESPONSES, 1, &out), 0);
	ck_assert_str_eq(out, "[\n  {\"type\":\"function_call_output\",\"call_id\":\"id1\","
	                      "\"output\":\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},\n"
	                      "  {\"type\":\"function_call_output\",\"call_id\":\"id2\","
	                      "\"output\":\"{}#1\"}\n]");
	free(out);
}
END_TEST

START_TEST(results_openai)
{
	char *out = NULL;

	mixed_outcomes(TD_DIALECT_OPENAI);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "[{\"role\":\"tool\",\"tool_call_id\":\"id1\",\"content\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},"
	                      "{\"role\":\"tool\",\"tool_call_id\":\"id2\",\"content\":\"{}#1\"}]");
	free(out);
}
END_TEST

START_TEST(results_responses)
{
	char *out = NULL;

	mixed_outcomes(TD_DIALECT_RESPONSES);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_str_eq(out, "[{\"type\":\"function_call_output\",\"call_id\":\"id1\",\"output\":"
	                      "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"},"
	                      "{\"type\":\"function_call_output\",\"call_id\":\"id2\",\"output\":"
	                      "\"{}#1\"}]");
	free(out);
	/* forcing another dialect */
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_OPENAI, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"tool_call_id\":\"id2\""));
	free(out);
	ck_assert_int_eq(td_run_results_json(NULL, TD_DIALECT_OPENAI, 0, &out), TD_EINVAL);
}
END_TEST

START_TEST(results_empty_batch)
{
	char *out = NULL;

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	run_all(0, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_step(R), 0);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_ANTHROPIC, 0, &out), 0);
	ck_assert_str_eq(out, "{\"role\":\"user\",\"content\":[]}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_ANTHROPIC, 1, &out), 0);
	ck_assert_str_eq(out, "{\n  \"role\": \"user\",\n  \"content\": []\n}");
	free(out);
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_OPENAI, 1, &out), 0);
	ck_assert_str_eq(out, "[]");
	free(out);
	ck_assert_int_eq(td_run_report_json(R, 0, &out), 0);
	ck_assert_str_eq(out, "{\"makespan_ms\":0.000,\"schedule\":\"level\",\"concurrency\":16,"
	                      "\"cancelled\":false,\"calls\":[]}");
	free(out);
}
END_TEST

START_TEST(results_invalid_utf8_and_nul)
{
	char *out = NULL;
	struct td__job *j;

	FK->manual = 1;
	fx_tool(&F, "a", TD_KIND_BUILTIN);
	fx_call(&F, "x", "a", "{}");
	run_fake(0, TD_SCHEDULE_LEVEL);
	td_run_step(R);
	j = fake_job(FK, 0);
	FK->nrunning = 0;
	FK->inflight = 0;
	td__job_set_content(j, TD_STATUS_OK, "a\0b\xff", 4);
	FK->be.done(FK->be.ud, j);
	while (td_run_step(R) == 1)
		;
	ck_assert_int_eq(td_run_results_json(R, TD_DIALECT_AUTO, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"content\":\"a\\u0000b\xef\xbf\xbd\"}"));
	free(out);
}
END_TEST

START_TEST(report_fields)
{
	char *rep = NULL;
	cJSON *root, *calls, *c0;

	barrier_graph();
	fx_call_err(&F, "bad", "nope", "{}", "unknown tool 'nope'");
	fx_plan(&F);
	{
		struct td_run_opts o = {.seed = 1};

		ck_assert_int_eq(td__run_new_fake(&F.p, &o, &FK->be, &R, NULL), 0);
	}
	ck_assert_int_eq(td_run_wait(R), 0);
	ck_assert_int_eq(td_run_report_json(R, 1, &rep), 0);
	root = cJSON_Parse(rep);
	ck_assert_ptr_nonnull(root);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(root, "makespan_ms")));
	ck_assert_double_ge(cJSON_GetObjectItem(root, "makespan_ms")->valuedouble, 40.0);
	calls = cJSON_GetObjectItem(root, "calls");
	ck_assert_int_eq(cJSON_GetArraySize(calls), 6);
	c0 = cJSON_GetArrayItem(calls, 3);
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "id")->valuestring, "b1");
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "name")->valuestring, "b");
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "level")->valueint, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "status")->valuestring, "ok");
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "attempts")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "exit_code")->valueint, 0);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(c0, "truncated")));
	ck_assert_double_ge(cJSON_GetObjectItem(c0, "start_ms")->valuedouble, 40.0);
	ck_assert_double_ge(cJSON_GetObjectItem(c0, "end_ms")->valuedouble,
	                    cJSON_GetObjectItem(c0, "start_ms")->valuedouble);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c0, "attempts_detail")), 1);
	c0 = cJSON_GetArrayItem(calls, 5);
	ck_assert_str_eq(cJSON_GetObjectItem(c0, "status")->valuestring, "error");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(c0, "start_ms")));
	ck_assert_int_eq(cJSON_GetObjectItem(c0, "attempts")->valueint, 0);
	cJSON_Delete(root);
	free(rep);
}
END_TEST

/* ---- the trace's queued counter ---- */

/* 2,000 calls queue at once and start 10 us apart (virtual time): the counter changes 2,000
 * times in 20 ms, and is sampled at most about twice per 100 us, each sample exact. */
START_TEST(trace_counter_is_sampled)
{
	char *buf = NULL, id[16];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i, samples = 0;
	double last_ts = -1, first = -1, value = -1;
	int64_t span;
	cJSON *doc, *e;

	fx_tool(&F, "a", TD_KIND_BUILTIN);
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fx_call(&F, id, "a", NULL);
		FK->dur_us[i] = 10;
	}
	run_fake(1, TD_SCHEDULE_LEVEL);
	ck_assert_int_eq(td_run_trace(R, f), 0);
	ck_assert_int_eq(td_run_wait(R), 0);
	span = td_run_makespan_us(R);
	td_run_free(R);
	R = NULL;
	ck_assert_int_eq(fclose(f), 0);
	doc = cJSON_Parse(buf);
	ck_assert_ptr_nonnull(doc);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "ph")), "C"))
			continue;
		ck_assert_double_gt(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "ts")), last_ts);
		last_ts = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "ts"));
		value = cJSON_GetNumberValue(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "args"), "calls"));
		/* exact: at ts, the calls not started yet (one starts every 10 us from 0) */
		ck_assert_double_eq(value, last_ts >= 20000 ? 0 : 2000 - (int)(last_ts / 10) - 1);
		if (first < 0)
			first = value;
		samples++;
	}
	ck_assert_int_ge(span, 20000);
	ck_assert_double_eq(first, 1999);
	ck_assert_double_eq(value, 0);
	ck_assert_int_le(samples, 2 * span / 100 + 2);
	ck_assert_int_ge(samples, span / 200);
	cJSON_Delete(doc);
	free(buf);
}
END_TEST

static Suite *results_suite(void)
{
	Suite *s = suite_create("run_results");
	TCase *tc = tcase_create("results");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, results_anthropic);
	tcase_add_test(tc, results_openai);
	tcase_add_test(tc, results_responses);
	tcase_add_test(tc, results_empty_batch);
	tcase_add_test(tc, results_invalid_utf8_and_nul);
	tcase_add_test(tc, report_fields);
	tcase_add_test(tc, trace_counter_is_sampled);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(results_suite());
}

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
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(results_suite());
}

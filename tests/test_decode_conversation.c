/* SPDX-License-Identifier: MIT */
/*
 * test_decode_conversation.c - whole conversations as the input, in the three dialects: which
 * calls are pending and which already answered, results that answer nothing, the messages
 * for inputs with nothing to run, and the next request with the results appended. Recorded
 * API payloads (tests/data/recorded/) are used where one shows the case.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "calls/batch.h"
#include "td_test_graph.h"
#include "td_test_recorded.h"

static struct td_graph *g;
static struct td_batch *b;
static struct td_diag diag;

static void setup(void)
{
	g = tg_new();
	tg_tool(g, "get_weather", NULL);
	tg_tool(g, "get_time", NULL);
	tg_tool(g, "get_weather_at_location", NULL);
	b = NULL;
	memset(&diag, 0, sizeof(diag));
}

static void teardown(void)
{
	td_batch_free(b);
	tg_free(g);
	td_diag_clear(&diag);
}

static int decode(const char *json, enum td_dialect dl)
{
	td_batch_free(b);
	b = NULL;
	td_diag_clear(&diag);
	return td_batch_decode(g, json, strlen(json), dl, "c.json", &b, &diag);
}

static void decode_ok(const char *json, enum td_dialect dl)
{
	int r = decode(json, dl);

	ck_assert_msg(r == 0, "decode failed: %d %s", r, diag.count ? diag.items[0].message : "");
}

static void decode_bad(const char *json, enum td_dialect dl, const char *msg)
{
	ck_assert_int_eq(decode(json, dl), TD_EBATCH);
	ck_assert_ptr_null(b);
	ck_assert_uint_ge(diag.count, 1);
	ck_assert_str_eq(diag.items[0].message, msg);
}

/* The batch's call ids, comma-separated. */
static const char *ids(void)
{
	static char buf[512];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < td_batch_count(b); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "",
		                      td_batch_call_id(b, i));
	return buf;
}

static void answered_is(size_t i, const char *id, const char *tool, size_t call_at,
                        size_t result_at)
{
	struct td_answered a;

	ck_assert_int_eq(td_batch_answered(b, i, &a), 0);
	ck_assert_str_eq(a.id, id);
	ck_assert_str_eq(a.tool, tool);
	ck_assert_uint_eq(a.call_at, call_at);
	ck_assert_uint_eq(a.result_at, result_at);
}

/* Anthropic: the last assistant message, minus the calls a tool_result already answers. */
#define A_USER "{\"role\":\"user\",\"content\":\"Weather and time in Paris?\"}"
#define A_TURN                                                                                     \
	"{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"         \
	"{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}},"        \
	"{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"get_time\",\"input\":{}}]}"
#define A_RESULT_1                                                                                 \
	"{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","   \
	"\"content\":\"12C\"}]}"

START_TEST(anthropic_pending_and_answered)
{
	decode_ok("[" A_USER "," A_TURN "]", TD_DIALECT_AUTO);
	ck_assert_str_eq(ids(), "toolu_1,toolu_2");
	ck_assert_uint_eq(td_batch_conversation_length(b), 2);
	ck_assert_uint_eq(td_batch_answered_count(b), 0);
	ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_ANTHROPIC);

	decode_ok("{\"model\":\"m\",\"max_tokens\":9,\"messages\":[" A_USER "," A_TURN
	          "," A_RESULT_1 "]}",
	          TD_DIALECT_ANTHROPIC);
	ck_assert_str_eq(ids(), "toolu_2");
	ck_assert_uint_eq(td_batch_answered_count(b), 1);
	answered_is(0, "toolu_1", "get_weather", 1, 2);
	ck_assert_int_eq(td_batch_answered(b, 1, &(struct td_answered){0}), TD_EINVAL);

	decode_bad("[" A_USER "," A_TURN "," A_RESULT_1
	           ",{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
	           "\"toolu_2\",\"content\":\"noon\"}]}]",
	           TD_DIALECT_AUTO,
	           "no call pending: the last assistant turn (message 2) made 2 calls, all already "
	           "answered: 'toolu_1' (get_weather) in message 3, 'toolu_2' (get_time) in "
	           "message 4");
}
END_TEST

/* The library can see what was answered when nothing is left to run. */
START_TEST(conversation_decode_none_pending)
{
	const char *j = "[" A_USER "," A_TURN "," A_RESULT_1
	                ",{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	                "\"tool_use_id\":\"toolu_2\",\"content\":\"noon\"}]}]";

	ck_assert_int_eq(td_conversation_decode(g, j, strlen(j), TD_DIALECT_AUTO, NULL, &b, &diag),
	                 0);
	ck_assert_uint_eq(td_batch_count(b), 0);
	ck_assert_uint_eq(td_batch_answered_count(b), 2);
	answered_is(1, "toolu_2", "get_time", 1, 3);
	td_batch_free(b);
	b = NULL;
	j = "[" A_USER "," A_TURN "]";
	ck_assert_int_eq(td_conversation_decode(g, j, strlen(j), TD_DIALECT_AUTO, NULL, &b, &diag),
	                 2);
}
END_TEST

START_TEST(chat_conversation)
{
	const char *turn =
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	    "\"arguments\":\"{}\"}},"
	    "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
	    "\"arguments\":\"{}\"}}]}";
	char j[2048];

	snprintf(j, sizeof(j),
	         "{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
	         "{\"role\":\"user\",\"content\":\"q\"},%s,"
	         "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"noon\"}]}",
	         turn);
	decode_ok(j, TD_DIALECT_AUTO);
	ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_OPENAI);
	ck_assert_str_eq(ids(), "call_a");
	answered_is(0, "call_b", "get_time", 2, 3);

	/* a result for a call nobody made, where it stands */
	snprintf(j, sizeof(j),
	         "[{\"role\":\"user\",\"content\":\"q\"},%s,"
	         "{\"role\":\"tool\",\"tool_call_id\":\"call_z\",\"content\":\"?\"}]",
	         turn);
	decode_bad(j, TD_DIALECT_AUTO,
	           "message 3: a tool message answers call id 'call_z', which no earlier message "
	           "made (each result must follow the call it answers)");
	/* a result before its call answers nothing either */
	snprintf(j, sizeof(j),
	         "[{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"early\"},%s]",
	         turn);
	decode_bad(j, TD_DIALECT_AUTO,
	           "message 1: a tool message answers call id 'call_a', which no earlier message "
	           "made (each result must follow the call it answers)");
}
END_TEST

/* The most serious case: answered Responses calls must never run again. */
START_TEST(responses_input_list)
{
	const char *j =
	    "{\"model\":\"gpt\",\"input\":[{\"role\":\"user\",\"content\":\"q\"},"
	    "{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":"
	    "\"get_weather\",\"arguments\":\"{}\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"12C\"},"
	    "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},"
	    "{\"type\":\"function_call\",\"id\":\"fc_2\",\"call_id\":\"call_2\",\"name\":"
	    "\"get_time\",\"arguments\":\"{}\"}]}";
	char list[1024];

	decode_ok(j, TD_DIALECT_AUTO);
	ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_RESPONSES);
	ck_assert_str_eq(ids(), "call_2");
	answered_is(0, "call_1", "get_weather", 1, 2);

	/* the bare list, as an SDK keeps it, call by call decoding included */
	snprintf(list, sizeof(list), "%s", strchr(j, '['));
	list[strlen(list) - 1] = '\0'; /* the body's closing brace */
	decode_ok(list, TD_DIALECT_AUTO);
	ck_assert_str_eq(ids(), "call_2");
	/* a later user message closes the turn */
	decode_bad("[{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"get_time\"},"
	           "{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"},"
	           "{\"role\":\"user\",\"content\":\"thanks\"}]",
	           TD_DIALECT_AUTO,
	           "no tool calls found: a conversation of 3 items with no assistant turn "
	           "(tooldag runs the calls of the last assistant turn that have no result yet)");
}
END_TEST

START_TEST(depends_on_answered_call)
{
	decode_ok(
	    "[" A_USER ","
	    "{\"role\":\"assistant\",\"content\":["
	    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"get_weather\",\"input\":{}},"
	    "{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"get_time\",\"input\":{},"
	    "\"depends_on\":[\"t1\"]}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
	    "\"content\":\"ok\"}]}]",
	    TD_DIALECT_AUTO);
	ck_assert_str_eq(ids(), "t2");
	ck_assert_uint_eq(b->nedges, 0);
}
END_TEST

START_TEST(nothing_to_run_messages)
{
	decode_bad("[" A_USER "]", TD_DIALECT_AUTO,
	           "no tool calls found: a conversation of 1 message with no assistant turn "
	           "(tooldag runs the calls of the last assistant turn that have no result yet)");
	decode_bad("[" A_USER "," A_TURN "," A_RESULT_1
	           ",{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"12C\"}]}]",
	           TD_DIALECT_AUTO,
	           "no tool calls found: a conversation of 4 messages whose last assistant turn "
	           "(message 4) holds no Anthropic tool_use blocks");
	decode_bad(A_USER, TD_DIALECT_AUTO,
	           "no tool calls found in a user message; expected tool_use blocks (Anthropic), "
	           "tool_calls (OpenAI Chat) or function_call items (OpenAI Responses): an array "
	           "of them, an assistant message, a response, or the last assistant turn of a "
	           "conversation (a messages or input list, or a request body)");
	ck_assert_int_eq(decode("{\"model\":\"m\",\"max_tokens\":5}", TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_ptr_nonnull(
	    strstr(diag.items[0].message, "in a request body without 'messages' or 'input';"));
	ck_assert_int_eq(decode("{\"model\":\"m\",\"input\":\"hi\"}", TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_ptr_nonnull(strstr(diag.items[0].message, "whose 'input' is a string"));
	decode_bad("[" A_USER "," A_TURN "]", TD_DIALECT_OPENAI,
	           "the conversation holds Anthropic tool_use blocks, but dialect 'openai' was "
	           "asked for (expected an array of OpenAI tool_calls, an assistant message with "
	           "tool_calls, a chat completion or one of its choices, or a conversation)");
}
END_TEST

START_TEST(chat_choice)
{
	decode_ok(
	    "{\"index\":0,\"message\":{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\","
	    "\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]},"
	    "\"finish_reason\":\"tool_calls\"}",
	    TD_DIALECT_AUTO);
	ck_assert_str_eq(ids(), "c1");
	ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_OPENAI);
	ck_assert_uint_eq(td_batch_conversation_length(b), 0);
}
END_TEST

/* The text of one request body of a recorded exchange: entries[i].request.body (Anthropic
 * SDK) or Entries[i].RequestBody (.NET SDK). */
static char *recorded_body(const char *file, int i)
{
	char *f = tr_slurp(file, NULL), *text;
	cJSON *root = cJSON_Parse(f), *e;

	ck_assert_ptr_nonnull(root);
	e = cJSON_GetObjectItem(root, "Entries");
	e = cJSON_GetArrayItem(e ? e : root, i);
	e = cJSON_GetObjectItem(e, "RequestBody")
	        ? cJSON_GetObjectItem(e, "RequestBody")
	        : cJSON_GetObjectItem(cJSON_GetObjectItem(e, "request"), "body");
	ck_assert_ptr_nonnull(e);
	text = cJSON_PrintUnformatted(e);
	cJSON_Delete(root);
	free(f);
	return text;
}

/* Recorded: the Anthropic API refused this request ("unexpected tool_use_id found in
 * tool_result blocks"); tooldag says so before anything runs. */
START_TEST(recorded_anthropic_orphan_result)
{
	char *text = recorded_body("anthropic-runner-f59a9391-643b-422c-96dc-1f28bc7ea4d7.json", 1);

	decode_bad(text, TD_DIALECT_AUTO,
	           "message 2, content block 1: a tool_result answers call id "
	           "'toolu_01GHndag5wQmbzNihYmV2UBj', which no earlier message made (each "
	           "result must follow the call it answers)");
	free(text);
}
END_TEST

/* Recorded: a Responses request that continues a stored response holds only its results. */
START_TEST(recorded_responses_previous_response)
{
	char *text = recorded_body("openai-dotnet-FunctionCallWorks.json", 1);

	decode_bad(text, TD_DIALECT_AUTO,
	           "no call pending: the input continues a stored response "
	           "(previous_response_id) and holds only the results of its calls");
	free(text);
}
END_TEST

static char *append(const char *conv, const char *results)
{
	char *out = NULL;

	ck_assert_int_eq(
	    td_conversation_append(conv, strlen(conv), results, strlen(results), &out, &diag), 0);
	return out;
}

START_TEST(append_results)
{
	char *o;

	/* Anthropic: one user message after the last; everything else kept as written */
	o = append("{\"model\":\"m\",\"temperature\":0.70,\"messages\":[{\"role\":\"user\","
	           "\"content\":\"a ] } [\"}],\"max_tokens\":9}\n",
	           "{\"role\":\"user\",\"content\":[]}");
	ck_assert_str_eq(o,
	                 "{\"model\":\"m\",\"temperature\":0.70,\"messages\":[{\"role\":\"user\","
	                 "\"content\":\"a ] } [\"},{\"role\":\"user\",\"content\":[]}],"
	                 "\"max_tokens\":9}\n");
	free(o);
	/* Chat and Responses: the array's elements, into a bare list */
	o = append("[ {\"role\":\"user\"} ]", "[{\"role\":\"tool\"},{\"role\":\"tool\"}]");
	ck_assert_str_eq(o, "[ {\"role\":\"user\"},{\"role\":\"tool\"},{\"role\":\"tool\"} ]");
	free(o);
	o = append("{\"input\":[],\"model\":\"m\"}", "[\n  {\"type\":\"x\"}\n]");
	ck_assert_str_eq(o, "{\"input\":[{\"type\":\"x\"}],\"model\":\"m\"}");
	free(o);
	/* "messages" wins over "input", wherever it stands; other lists are left alone */
	o = append("{\"input\":[1],\"meta\":{\"messages\":[2]},\"messages\":[3]}", "[4]");
	ck_assert_str_eq(o, "{\"input\":[1],\"meta\":{\"messages\":[2]},\"messages\":[3,4]}");
	free(o);
	o = append("[1]", "[]");
	ck_assert_str_eq(o, "[1]");
	free(o);
	ck_assert_int_eq(td_conversation_append("{\"tool_calls\":[]}", 17, "[]", 2, &o, &diag),
	                 TD_EINVAL);
	ck_assert_ptr_null(o);
	ck_assert_ptr_nonnull(strstr(diag.items[0].message, "not a conversation"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("decode_conversation");
	TCase *tc = tcase_create("conversation");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, anthropic_pending_and_answered);
	tcase_add_test(tc, conversation_decode_none_pending);
	tcase_add_test(tc, chat_conversation);
	tcase_add_test(tc, responses_input_list);
	tcase_add_test(tc, depends_on_answered_call);
	tcase_add_test(tc, nothing_to_run_messages);
	tcase_add_test(tc, chat_choice);
	tcase_add_test(tc, recorded_anthropic_orphan_result);
	tcase_add_test(tc, recorded_responses_previous_response);
	tcase_add_test(tc, append_results);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_decode.c - call batches in every dialect and shape, auto-detected and forced, the
 * depends_on extension, call-level errors, and every batch-level error with its message.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "calls/batch.h"
#include "td_test_graph.h"
#include "td_test_cpu.h"

static struct td_graph *g;
static struct td_batch *b;
static struct td_diag diag;

static void setup(void)
{
	int w, l;

	g = tg_new();
	w = tg_tool(
	    g, "fetch_weather",
	    "{\"type\":\"object\",\"required\":[\"city\"],\"properties\":{\"city\":{\"type\":"
	    "\"string\"},\"units\":{\"enum\":[\"metric\",\"imperial\"]}}}");
	l = tg_tool(g, "lookup_pollen", NULL);
	tg_tool(g, "get_price", NULL);
	tg_dep(g, l, w);
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
	return td_batch_decode(g, json, strlen(json), dl, "calls.json", &b, &diag);
}

static void decode_ok(const char *json, enum td_dialect dl)
{
	int r = decode(json, dl);

	ck_assert_msg(r == 0, "decode failed: %d %s", r, diag.count ? diag.items[0].message : "");
	ck_assert_uint_eq(diag.count, 0);
}

/* Fails with one diagnostic: code and exact message. */
static void decode_bad(const char *json, enum td_dialect dl, int code, const char *msg)
{
	ck_assert_int_eq(decode(json, dl), code);
	ck_assert_ptr_null(b);
	ck_assert_uint_ge(diag.count, 1);
	ck_assert_int_eq(diag.items[0].code, code);
	ck_assert_str_eq(diag.items[0].file, "calls.json");
	ck_assert_str_eq(diag.items[0].message, msg);
}

static void call_is(size_t i, const char *id, const char *tool, const char *input, const char *err)
{
	ck_assert_str_eq(td_batch_call_id(b, i), id);
	ck_assert_str_eq(td_batch_call_tool(b, i), tool);
	ck_assert_str_eq(td_batch_call_input(b, i), input);
	if (err)
		ck_assert_str_eq(td_batch_call_error(b, i), err);
	else
		ck_assert_ptr_null(td_batch_call_error(b, i));
}

#define TOOL_USE_1                                                                                 \
	"{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"fetch_weather\",\"input\":{"        \
	"\"city\":"                                                                                \
	"\"Paris\"}}"
#define TOOL_USE_2                                                                                 \
	"{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"lookup_pollen\",\"input\":{}}"
#define TEXT_BLOCK "{\"type\":\"text\",\"text\":\"Let me check.\"}"

static void check_anthropic_pair(enum td_dialect dl)
{
	(void)dl;
	ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_ANTHROPIC);
	ck_assert_uint_eq(td_batch_count(b), 2);
	call_is(0, "toolu_01", "fetch_weather", "{\"city\":\"Paris\"}", NULL);
	call_is(1, "toolu_02", "lookup_pollen", "{}", NULL);
}

/* Decodes every shape auto-detected and with its dialect forced; check() looks at each. */
static void each_shape(const char *const *shapes, size_t n, enum td_dialect dl,
                       void (*check)(enum td_dialect))
{
	size_t i;

	for (i = 0; i < n; i++) {
		decode_ok(shapes[i], TD_DIALECT_AUTO);
		check(dl);
		td_batch_free(b);
		decode_ok(shapes[i], dl);
		check(dl);
		td_batch_free(b);
		b = NULL;
	}
}

START_TEST(anthropic_shapes)
{
	static const char *const shapes[] = {
	    "[" TEXT_BLOCK "," TOOL_USE_1 "," TOOL_USE_2 "]",
	    "{\"role\":\"assistant\",\"content\":[" TEXT_BLOCK "," TOOL_USE_1 "," TOOL_USE_2 "]}",
	    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\","
	    "\"content\":[" TEXT_BLOCK "," TOOL_USE_1 "," TOOL_USE_2 "],\"stop_reason\":"
	    "\"tool_use\",\"usage\":{\"input_tokens\":1}}",
	};
	each_shape(shapes, TD__ARRAY_SIZE(shapes), TD_DIALECT_ANTHROPIC, check_anthropic_pair);
}
END_TEST

#define TOOL_CALL_1                                                                                \
	"{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"fetch_weather\","       \
	"\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}"
#define TOOL_CALL_2                                                                                \
	"{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","           \
	"\"arguments\":\"{}\"}}"

static void check_openai_pair(enum td_dialect dl)
{
	const char *id1 = dl == TD_DIALECT_OPENAI ? "call_1" : "call_a";

	ck_assert_int_eq(td_batch_dialect(b), dl);
	ck_assert_uint_eq(td_batch_count(b), 2);
	call_is(0, id1, "fetch_weather", "{\"city\":\"Paris\"}", NULL);
	call_is(1, dl == TD_DIALECT_OPENAI ? "call_2" : "call_b", "get_price", "{}", NULL);
}

START_TEST(openai_shapes)
{
	static const char *const shapes[] = {
	    "[" TOOL_CALL_1 "," TOOL_CALL_2 "]",
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" TOOL_CALL_1 "," TOOL_CALL_2
	    "]}",
	    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" TOOL_CALL_1
	    "," TOOL_CALL_2 "]},\"finish_reason\":\"tool_calls\"}]}",
	};
	each_shape(shapes, TD__ARRAY_SIZE(shapes), TD_DIALECT_OPENAI, check_openai_pair);
}
END_TEST

#define FUNCTION_CALL_1                                                                            \
	"{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_a\",\"name\":"             \
	"\"fetch_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\",\"status\":"             \
	"\"completed\"}"
#define FUNCTION_CALL_2                                                                            \
	"{\"type\":\"function_call\",\"id\":\"fc_2\",\"call_id\":\"call_b\",\"name\":\"get_"       \
	"price\","                                                                                 \
	"\"arguments\":\"{}\"}"
#define REASONING "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]}"
#define MESSAGE_ITEM                                                                               \
	"{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","     \
	"\"text\":\"hi\"}]}"

START_TEST(responses_shapes)
{
	static const char *const shapes[] = {
	    "[" REASONING "," FUNCTION_CALL_1 "," MESSAGE_ITEM "," FUNCTION_CALL_2 "]",
	    "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"output\":"
	    "[" REASONING "," FUNCTION_CALL_1 "," FUNCTION_CALL_2 "]}",
	};
	each_shape(shapes, TD__ARRAY_SIZE(shapes), TD_DIALECT_RESPONSES, check_openai_pair);
}
END_TEST

START_TEST(forced_wrong_dialect)
{
	decode_bad("[" TOOL_USE_1 "]", TD_DIALECT_OPENAI, TD_EBATCH,
	           "the input holds Anthropic tool_use blocks, but dialect 'openai' was asked for "
	           "(expected an array of OpenAI tool_calls, an assistant message with tool_calls, "
	           "a chat completion or one of its choices, or a conversation)");
	td_diag_clear(&diag);
	decode_bad("{\"tool_calls\":[" TOOL_CALL_1 "]}", TD_DIALECT_RESPONSES, TD_EBATCH,
	           "the input holds OpenAI Chat tool_calls, but dialect 'responses' was asked for "
	           "(expected an array of OpenAI Responses function_call items, a response "
	           "holding them in 'output', or a conversation (an input list))");
	td_diag_clear(&diag);
	decode_bad("[" FUNCTION_CALL_1 "]", TD_DIALECT_ANTHROPIC, TD_EBATCH,
	           "the input holds OpenAI Responses function_call items, but dialect 'anthropic' "
	           "was asked for (expected an array of Anthropic tool_use blocks, an assistant "
	           "message, a Messages API response or a conversation)");
	td_diag_clear(&diag);
	decode_bad("{\"foo\":1}", TD_DIALECT_ANTHROPIC, TD_EBATCH,
	           "no tool calls found in an object with none of 'messages', 'input', 'choices', "
	           "'output', 'content', 'tool_calls'; expected an array of Anthropic tool_use "
	           "blocks, an assistant message, a Messages API response or a conversation");
	td_diag_clear(&diag);
	decode_bad("[" TEXT_BLOCK "]", TD_DIALECT_OPENAI, TD_EBATCH,
	           "no tool calls found: no OpenAI Chat tool_calls in an array of 1 item");
	ck_assert_int_eq(decode("[]", (enum td_dialect)9), TD_EINVAL);
}
END_TEST

START_TEST(no_calls)
{
	decode_bad(
	    "[]", TD_DIALECT_AUTO, TD_EBATCH,
	    "no tool calls found in an empty array; expected "
	    "tool_use blocks (Anthropic), tool_calls (OpenAI Chat) or function_call items (OpenAI "
	    "Responses): an array of them, an assistant message, a response, or the last "
	    "assistant turn of a conversation (a messages or input list, or a request body)");
	td_diag_clear(&diag);
	decode_bad("{\"role\":\"assistant\",\"content\":[" TEXT_BLOCK "]}", TD_DIALECT_AUTO,
	           TD_EBATCH,
	           "no tool calls found: no Anthropic tool_use blocks in an assistant message");
	td_diag_clear(&diag);
	decode_bad("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"hi\"}}]}",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "no tool calls found: no OpenAI Chat tool_calls in a chat completion");
	td_diag_clear(&diag);
	decode_bad("{\"choices\":[]}", TD_DIALECT_AUTO, TD_EBATCH,
	           "no tool calls found: no OpenAI Chat tool_calls in a chat completion");
	td_diag_clear(&diag);
	decode_bad(
	    "\"hello\"", TD_DIALECT_AUTO, TD_EBATCH,
	    "no tool calls found in a string; expected "
	    "tool_use blocks (Anthropic), tool_calls (OpenAI Chat) or function_call items (OpenAI "
	    "Responses): an array of them, an assistant message, a response, or the last "
	    "assistant turn of a conversation (a messages or input list, or a request body)");
}
END_TEST

START_TEST(bad_arguments)
{
	decode_ok("[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"{\\\"sku\\\": \"}},"
	          "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"{sku: 1}\"}},"
	          "{\"id\":\"c3\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"[1]\"}},"
	          "{\"id\":\"c4\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"7\"}},"
	          "{\"id\":\"c5\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":{\"sku\":2}}},"
	          "{\"id\":\"c6\",\"type\":\"function\",\"function\":{\"name\":\"get_price\"}},"
	          "{\"id\":\"c7\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":3}},"
	          "{\"id\":\"c8\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"{} x\"}}]",
	          TD_DIALECT_AUTO);
	ck_assert_uint_eq(td_batch_count(b), 8);
	call_is(0, "c1", "get_price", "{}",
	        "arguments are not valid JSON: unexpected end of input");
	call_is(1, "c2", "get_price", "{}", "arguments are not valid JSON: error near 'sku: 1}'");
	call_is(2, "c3", "get_price", "{}", "arguments must be a JSON object, got an array");
	call_is(3, "c4", "get_price", "{}", "arguments must be a JSON object, got a number");
	call_is(4, "c5", "get_price", "{\"sku\":2}", NULL);
	call_is(5, "c6", "get_price", "{}", NULL);
	call_is(6, "c7", "get_price", "{}", "arguments must be a JSON string");
	call_is(7, "c8", "get_price", "{}", "arguments are not valid JSON: error near 'x'");
}
END_TEST

START_TEST(call_level_errors)
{
	decode_ok(
	    "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"fetch_wether\",\"input\":{}},"
	    "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"fetch_weather\",\"input\":{\"city\":"
	    "5}},"
	    "{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"fetch_weather\",\"input\":{\"city\":"
	    "\"Oslo\",\"units\":\"kelvin\"}},"
	    "{\"type\":\"tool_use\",\"id\":\"d\",\"name\":\"fetch_weather\",\"input\":[1]},"
	    "{\"type\":\"tool_use\",\"id\":\"e\",\"name\":\"fetch_weather\"},"
	    "{\"type\":\"tool_use\",\"id\":\"f\",\"name\":\"no such tool\"}]",
	    TD_DIALECT_AUTO);
	call_is(0, "a", "fetch_wether", "{}",
	        "unknown tool 'fetch_wether' (did you mean 'fetch_weather'?)");
	call_is(1, "b", "fetch_weather", "{\"city\":5}", "input.city: expected string, got number");
	call_is(2, "c", "fetch_weather", "{\"city\":\"Oslo\",\"units\":\"kelvin\"}",
	        "input.units: 'kelvin' is not one of 'metric', 'imperial'");
	call_is(3, "d", "fetch_weather", "{}", "input must be a JSON object, got an array");
	call_is(4, "e", "fetch_weather", "{}", "input: missing required property 'city'");
	call_is(5, "f", "no such tool", "{}", "unknown tool 'no such tool'");
}
END_TEST

START_TEST(depends_on)
{
	static const char *const shapes[] = {
	    "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"get_price\",\"input\":{},"
	    "\"depends_on\":[\"c\"]},"
	    "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"get_price\",\"input\":{},"
	    "\"depends_on\":[\"a\",\"c\"]},"
	    "{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"get_price\",\"input\":{},"
	    "\"depends_on\":[]}]",
	    "[{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	    "\"arguments\":\"{}\"},\"depends_on\":[\"c\"]},"
	    "{\"id\":\"b\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	    "\"arguments\":\"{}\"},\"depends_on\":[\"a\",\"c\"]},"
	    "{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	    "\"arguments\":\"{}\"}}]",
	    "[{\"type\":\"function_call\",\"call_id\":\"a\",\"name\":\"get_price\","
	    "\"arguments\":\"{}\",\"depends_on\":[\"c\"]},"
	    "{\"type\":\"function_call\",\"call_id\":\"b\",\"name\":\"get_price\","
	    "\"arguments\":\"{}\",\"depends_on\":[\"a\",\"c\"]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"get_price\","
	    "\"arguments\":\"{}\"}]",
	};
	size_t i;

	for (i = 0; i < TD__ARRAY_SIZE(shapes); i++) {
		decode_ok(shapes[i], TD_DIALECT_AUTO);
		ck_assert_uint_eq(b->nedges, 3);
		/* grouped by call (no edge_from[]), an offset for every call */
		ck_assert_ptr_null(b->edge_from);
		ck_assert_uint_eq(b->edge_ncalls, 3);
		ck_assert_uint_eq(b->edge_off[0], 0);
		ck_assert_uint_eq(b->edge_off[1], 1);
		ck_assert_uint_eq(b->edge_off[2], 3);
		ck_assert_uint_eq(b->edge_off[3], 3);
		ck_assert_uint_eq(b->edge_to[0], 2);
		ck_assert_uint_eq(b->edge_to[1], 0);
		ck_assert_uint_eq(b->edge_to[2], 2);
		td_batch_free(b);
		b = NULL;
	}
}
END_TEST

START_TEST(bad_depends_on)
{
	decode_bad("[" TOOL_USE_1 ",{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":"
	           "\"get_price\",\"depends_on\":[\"toolu_09\"]}]",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "call 2 (toolu_02): depends_on names unknown call id 'toolu_09' (did you mean "
	           "'toolu_01'?)");
	td_diag_clear(&diag);
	decode_bad("[" TOOL_USE_1 ",{\"type\":\"tool_use\",\"id\":\"x\",\"name\":"
	           "\"get_price\",\"depends_on\":[\"zzzzzzzzzzzz\"]}]",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "call 2 (x): depends_on names unknown call id 'zzzzzzzzzzzz'");
	td_diag_clear(&diag);
	decode_bad("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"get_price\",\"depends_on\":"
	           "\"b\"}]",
	           TD_DIALECT_AUTO, TD_EBATCH, "call 1 (a): depends_on must be a list of call ids");
	td_diag_clear(&diag);
	decode_bad("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"get_price\",\"depends_on\":"
	           "[1]}]",
	           TD_DIALECT_AUTO, TD_EBATCH, "call 1 (a): depends_on must be a list of call ids");
}
END_TEST

START_TEST(identity_errors)
{
	decode_bad("[" TOOL_USE_1 "," TOOL_USE_2 ",{\"type\":\"tool_use\",\"id\":\"toolu_01\","
	           "\"name\":\"get_price\"}]",
	           TD_DIALECT_AUTO, TD_EBATCH, "duplicate call id 'toolu_01' (calls 1 and 3)");
	td_diag_clear(&diag);
	decode_bad("[" TEXT_BLOCK "," TOOL_USE_1 ",{\"type\":\"tool_use\",\"name\":\"get_price\"}]",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "call 2 (get_price): missing 'id' (a non-empty string)");
	td_diag_clear(&diag);
	decode_bad("[{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"input\":{}}]", TD_DIALECT_AUTO,
	           TD_EBATCH, "call 1 (toolu_01): missing 'name' (a non-empty string)");
	td_diag_clear(&diag);
	decode_bad("[{\"type\":\"tool_use\",\"id\":\"\",\"name\":\"\"}]", TD_DIALECT_AUTO,
	           TD_EBATCH, "call 1: 'id' must be a non-empty string, got an empty string");
	td_diag_clear(&diag);
	decode_bad("[{\"type\":\"tool_use\",\"id\":7,\"name\":\"get_price\"}]", TD_DIALECT_AUTO,
	           TD_EBATCH, "call 1 (get_price): 'id' must be a non-empty string, got a number");
	td_diag_clear(&diag);
	decode_bad("[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}]",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "call 1 (c1): missing 'function.name' (a non-empty string)");
	td_diag_clear(&diag);
	decode_bad("[{\"type\":\"function_call\",\"id\":\"fc_1\",\"name\":\"get_price\"}]",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "call 1 (get_price): missing 'call_id' (a non-empty string)");
	td_diag_clear(&diag);
	decode_bad("[" TOOL_USE_1 "," FUNCTION_CALL_1 "]", TD_DIALECT_AUTO, TD_EBATCH,
	           "call 2: mixed dialects: OpenAI Responses function_call items among Anthropic "
	           "tool_use blocks");
}
END_TEST

/* Every batch-level problem is reported in one pass. */
START_TEST(all_errors_reported)
{
	ck_assert_int_eq(decode("[" TOOL_USE_1
	                        ",{\"type\":\"tool_use\",\"name\":\"get_price\"}," TOOL_USE_1
	                        ",{\"type\":\"tool_use\",\"id\":\"z\",\"name\":\"get_price\","
	                        "\"depends_on\":[\"nope\"]}]",
	                        TD_DIALECT_AUTO),
	                 TD_EBATCH);
	ck_assert_uint_eq(diag.count, 3);
	ck_assert_str_eq(diag.items[0].message,
	                 "call 2 (get_price): missing 'id' (a non-empty string)");
	ck_assert_str_eq(diag.items[1].message, "duplicate call id 'toolu_01' (calls 1 and 3)");
	ck_assert_str_eq(diag.items[2].message,
	                 "call 4 (z): depends_on names unknown call id 'nope'");
	ck_assert_int_eq(diag.code, TD_EBATCH);
}
END_TEST

static void syntax(const char *json, unsigned line, unsigned col, const char *msg)
{
	decode_bad(json, TD_DIALECT_AUTO, TD_ESYNTAX, msg);
	ck_assert_uint_eq(diag.items[0].line, line);
	ck_assert_uint_eq(diag.items[0].column, col);
	td_diag_clear(&diag);
}

START_TEST(syntax_errors)
{
	syntax("[{\"type\":", 1, 10, "not valid JSON: unexpected end of input");
	syntax("[\n  {\"type\": \"tool_use\",\n   \"id\": x1}\n]", 3, 10,
	       "not valid JSON: error near 'x1}'");
	syntax("[\n  {\"name\": \"\xc3\xa9t\xc3\xa9\", bad}]", 2, 19,
	       "not valid JSON: error near 'bad}]'");
	syntax("[] x", 1, 4, "unexpected data after the JSON value");
	syntax("{\"a\":1}{}", 1, 8, "unexpected data after the JSON value");
	syntax("", 0, 0, "empty input: expected a JSON array or object holding tool calls");
	syntax(" \n\t ", 0, 0, "empty input: expected a JSON array or object holding tool calls");
	syntax("nul", 1, 1, "not valid JSON: error near 'nul'");
}
END_TEST

START_TEST(nesting_bound)
{
	char *deep = malloc(2 * 1002 + 1);
	size_t i;

	for (i = 0; i < 1001; i++) {
		deep[i] = '[';
		deep[1001 + i] = ']';
	}
	deep[2002] = '\0';
	syntax(deep, 1, 1001, "JSON nested deeper than 1000 levels");
	/* exactly 1000 levels parse: then it is only a batch without calls */
	deep[1000] = ' ';
	deep[1001] = ' ';
	ck_assert_int_eq(decode(deep, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_ptr_nonnull(strstr(diag.items[0].message, "no tool calls found"));
	free(deep);
}
END_TEST

/*
 * An array is decoded element by element (each parsed alone); whatever that path cannot take
 * as it is must come out exactly as from the whole document.
 */
START_TEST(element_by_element)
{
	static const char head[] = "[" TOOL_USE_1 ",{\"type\":\"tool_use\",\"id\":\"d\",\"name\":"
	                           "\"get_price\",\"input\":{\"x\":";
	size_t k, n = strlen(head), depth = 998; /* array + call + input + 998 = 1001 levels */
	char *deep = malloc(n + 2 * depth + 8);

	/* an element parsed alone is one level shallower than in the document */
	memcpy(deep, head, n);
	for (k = 0; k < depth; k++) {
		deep[n + k] = '[';
		deep[n + depth + k] = ']';
	}
	memcpy(deep + n + 2 * depth, "}}]", 4);
	syntax(deep, 1, (unsigned)(n + depth), "JSON nested deeper than 1000 levels");
	free(deep);
	/* a syntax error after good calls, and data after the array */
	syntax("[" TOOL_USE_1 ",\n" TOOL_USE_2 ",\n {\"id\": x}]", 3, 9,
	       "not valid JSON: error near 'x}]'");
	syntax("[" TOOL_USE_1 "," TOOL_USE_2 "] x", 1,
	       (unsigned)strlen("[" TOOL_USE_1 "," TOOL_USE_2 "] ") + 1,
	       "unexpected data after the JSON value");
	syntax("[" TOOL_USE_1 " " TOOL_USE_2 "]", 1, (unsigned)strlen("[" TOOL_USE_1 " ") + 1,
	       "not valid JSON: error near '{\"type\":\"tool_use\",\"id\":'");
	/* cJSON's whitespace (any control byte) between elements, a trailing NUL, a text block */
	ck_assert_int_eq(
	    td_batch_decode(g, "[\x01" TOOL_USE_1 "\x02,\x1f" TEXT_BLOCK "]\n\0",
	                    strlen("[\x01" TOOL_USE_1 "\x02,\x1f" TEXT_BLOCK "]\n") + 1,
	                    TD_DIALECT_AUTO, "calls.json", &b, &diag),
	    0);
	ck_assert_uint_eq(td_batch_count(b), 1);
	ck_assert_str_eq(td_batch_call_input(b, 0), "{\"city\":\"Paris\"}");
}
END_TEST

START_TEST(size_and_length)
{
	static const char text[] = "[" TOOL_USE_1 "] trailing garbage that is not read";

	ck_assert_int_eq(td_batch_decode(g, "[]", TD_BATCH_MAX_BYTES + (size_t)1, TD_DIALECT_AUTO,
	                                 NULL, &b, &diag),
	                 TD_ETOOBIG);
	ck_assert_str_eq(diag.items[0].message,
	                 "call batch is 268435457 bytes, more than the limit of 256 MiB");
	ck_assert_str_eq(diag.items[0].file, "<calls>");
	td_diag_clear(&diag);
	/* not NUL-terminated: only len bytes count */
	ck_assert_int_eq(
	    td_batch_decode(g, text, strlen("[" TOOL_USE_1 "]"), TD_DIALECT_AUTO, NULL, &b, &diag),
	    0);
	ck_assert_uint_eq(td_batch_count(b), 1);
	td_batch_free(b);
	b = NULL;
	decode_ok("\xef\xbb\xbf[" TOOL_USE_1 "]", TD_DIALECT_AUTO); /* byte order mark */
	ck_assert_uint_eq(td_batch_count(b), 1);
	td_batch_free(b);
	b = NULL;
	ck_assert_int_eq(td_batch_decode(NULL, "[]", 2, TD_DIALECT_AUTO, NULL, &b, &diag),
	                 TD_EINVAL);
	ck_assert_int_eq(td_batch_decode(g, NULL, 2, TD_DIALECT_AUTO, NULL, &b, &diag), TD_EINVAL);
	ck_assert_int_eq(td_batch_decode(g, "[]", 2, TD_DIALECT_AUTO, NULL, NULL, &diag),
	                 TD_EINVAL);
	ck_assert_int_eq(td_batch_decode(g, NULL, 0, TD_DIALECT_AUTO, NULL, &b, NULL), TD_ESYNTAX);
}
END_TEST

START_TEST(from_graph)
{
	ck_assert_int_eq(td_batch_from_graph(g, &b, &diag), TD_ENOTFOUND);
	ck_assert_int_eq(td_batch_from_graph(NULL, &b, &diag), TD_EINVAL);
	g->calls = cJSON_Parse(
	    "[{\"type\":\"tool_use\",\"id\":\"w\",\"name\":\"fetch_weather\",\"input\":{\"city\":"
	    "\"Oslo\"}},"
	    "{\"type\":\"tool_use\",\"id\":\"p\",\"name\":\"lookup_pollen\",\"input\":{},"
	    "\"depends_on\":[\"w\"]}]");
	g->calls_line = 12;
	ck_assert_int_eq(td_batch_from_graph(g, &b, &diag), 0);
	ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_ANTHROPIC);
	ck_assert_uint_eq(td_batch_count(b), 2);
	call_is(0, "w", "fetch_weather", "{\"city\":\"Oslo\"}", NULL);
	ck_assert_uint_eq(b->nedges, 1);
	td_batch_free(b);
	b = NULL;
	cJSON_Delete(g->calls);
	g->calls = cJSON_Parse("[{\"type\":\"tool_use\",\"id\":\"w\",\"name\":\"x\","
	                       "\"depends_on\":[\"v\"]}]");
	ck_assert_int_eq(td_batch_from_graph(g, &b, &diag), TD_EBATCH);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(diag.items[0].file, "test.yaml");
	ck_assert_uint_eq(diag.items[0].line, 12);
	ck_assert_str_eq(diag.items[0].message,
	                 "call 1 (w): depends_on names unknown call id 'v' (did you mean 'w'?)");
}
END_TEST

START_TEST(dialect_names)
{
	enum td_dialect d = TD_DIALECT_AUTO;

	ck_assert_str_eq(td_dialect_name(TD_DIALECT_AUTO), "auto");
	ck_assert_str_eq(td_dialect_name(TD_DIALECT_ANTHROPIC), "anthropic");
	ck_assert_str_eq(td_dialect_name(TD_DIALECT_OPENAI), "openai");
	ck_assert_str_eq(td_dialect_name(TD_DIALECT_RESPONSES), "responses");
	ck_assert_str_eq(td_dialect_name((enum td_dialect)42), "unknown");
	ck_assert_int_eq(td_dialect_parse("responses", &d), 0);
	ck_assert_int_eq(d, TD_DIALECT_RESPONSES);
	ck_assert_int_eq(td_dialect_parse("auto", &d), 0);
	ck_assert_int_eq(d, TD_DIALECT_AUTO);
	ck_assert_int_eq(td_dialect_parse("gemini", &d), TD_EINVAL);
	ck_assert_int_eq(td_dialect_parse(NULL, &d), TD_EINVAL);
}
END_TEST

/*
 * NUL characters would end cJSON's C strings silently: two ids "x\u0000a" and "x\u0000b" read
 * as a duplicate "x", a tool name "get_price\u0000zz" as the tool get_price. Refused with
 * their position; escaped backslashes and a NUL after the JSON value are fine.
 */
START_TEST(nul_characters)
{
	static const char raw[] =
	    "[{\"type\":\"tool_use\",\"id\":\"x\0a\",\"name\":\"get_price\"}]";
	static const char tail[] =
	    "[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"get_price\"}]\0zz";

	syntax("[{\"type\":\"tool_use\",\"id\":\"x\\u0000a\",\"name\":\"get_price\"},\n"
	       " {\"type\":\"tool_use\",\"id\":\"x\\u0000b\",\"name\":\"get_price\"}]",
	       1, 28,
	       "\\u0000 (a NUL character) in the JSON text: ids, tool names and inputs cannot hold "
	       "NUL");
	syntax("[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"get_price\\u0000zz\"}]", 1, 47,
	       "\\u0000 (a NUL character) in the JSON text: ids, tool names and inputs cannot hold "
	       "NUL");
	syntax("[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"get_price\",\"input\":{\"s\":"
	       "\"ab\\u0000\"}}]",
	       1, 65,
	       "\\u0000 (a NUL character) in the JSON text: ids, tool names and inputs cannot hold "
	       "NUL");
	ck_assert_int_eq(
	    td_batch_decode(g, raw, sizeof(raw) - 1, TD_DIALECT_AUTO, "calls.json", &b, &diag),
	    TD_ESYNTAX);
	ck_assert_str_eq(diag.items[0].message,
	                 "a NUL byte in the JSON text: ids, tool names and inputs cannot hold NUL");
	ck_assert_uint_eq(diag.items[0].column, 28);
	td_diag_clear(&diag);
	/* a NUL outside any string ends the text, as before */
	ck_assert_int_eq(
	    td_batch_decode(g, tail, sizeof(tail) - 1, TD_DIALECT_AUTO, "calls.json", &b, &diag),
	    0);
	td_batch_free(b);
	b = NULL;
	/* an escaped backslash before "u0000" is not an escape */
	decode_ok("[{\"type\":\"tool_use\",\"id\":\"x\\\\u0000\",\"name\":\"get_price\"}]",
	          TD_DIALECT_AUTO);
	call_is(0, "x\\u0000", "get_price", "{}", NULL);
	td_batch_free(b);
	b = NULL;
	/* arguments are JSON inside a string: a NUL there is the call's error */
	decode_ok("[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"{\\\"sku\\\":\\\"a\\\\u0000\\\"}\"}}]",
	          TD_DIALECT_AUTO);
	call_is(0, "c1", "get_price", "{}",
	        "arguments hold \\u0000 (a NUL character), which cannot be passed to a tool");
}
END_TEST

/* JSON is UTF-8: an id or name in another encoding could not be echoed back in the results. */
START_TEST(invalid_utf8)
{
	syntax("[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"\xff\xfe\"}]", 1, 38,
	       "not valid JSON: invalid UTF-8 (byte 0xff); JSON text must be UTF-8");
	syntax("[{\"type\":\"tool_use\",\n\"id\":\"\xc3\",\"name\":\"get_price\"}]", 2, 7,
	       "not valid JSON: invalid UTF-8 (byte 0xc3); JSON text must be UTF-8");
	syntax("[\"\xed\xa0\x80\"]", 1, 3,
	       "not valid JSON: invalid UTF-8 (byte 0xed); JSON text must be UTF-8");
	/* valid multi-byte names decode, and are simply unknown tools */
	decode_ok("[{\"type\":\"tool_use\",\"id\":\"\xc3\xa9\",\"name\":\"m\xc3\xa9t\xc3\xa9o\"}]",
	          TD_DIALECT_AUTO);
	call_is(0, "\xc3\xa9", "m\xc3\xa9t\xc3\xa9o", "{}", "unknown tool 'm\xc3\xa9t\xc3\xa9o'");
}
END_TEST

/*
 * Duplicate keys. cJSON keeps both members and its lookups find the first; a tool's parser
 * may take the last. In an input that is the call's error (the model can correct it); in the
 * call's own object a batch-level error, like a missing id.
 */
START_TEST(duplicate_keys)
{
	decode_ok("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"fetch_weather\","
	          "\"input\":{\"city\":\"Paris\",\"city\":\"Rome\"}},"
	          "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"get_price\","
	          "\"input\":{\"o\":{\"k\":[{\"x\":1,\"y\":2,\"x\":3}]}}}]",
	          TD_DIALECT_AUTO);
	call_is(0, "a", "fetch_weather", "{\"city\":\"Paris\",\"city\":\"Rome\"}",
	        "input: key 'city' appears twice");
	call_is(1, "b", "get_price", "{\"o\":{\"k\":[{\"x\":1,\"y\":2,\"x\":3}]}}",
	        "input.o.k[0]: key 'x' appears twice");
	td_batch_free(b);
	b = NULL;
	decode_bad("[{\"type\":\"tool_use\",\"id\":\"a\",\"id\":\"b\",\"name\":\"get_price\"}]",
	           TD_DIALECT_AUTO, TD_EBATCH, "call 1: key 'id' appears twice");
	td_diag_clear(&diag);
	decode_bad("[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	           "\"arguments\":\"{}\",\"arguments\":\"{\\\"a\\\":1}\"}}]",
	           TD_DIALECT_AUTO, TD_EBATCH,
	           "call 1: key 'arguments' appears twice in 'function'");
	td_diag_clear(&diag);
	/* inside OpenAI arguments too */
	decode_ok("[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	          "\"arguments\":\"{\\\"a\\\":1,\\\"a\\\":1}\"}}]",
	          TD_DIALECT_AUTO);
	call_is(0, "c1", "get_price", "{\"a\":1,\"a\":1}", "input: key 'a' appears twice");
}
END_TEST

/* An object of many members is searched with a hash: 100,000 keys, one repeated at the end. */
START_TEST(duplicate_keys_large)
{
	struct td__buf t = {0};
	int i;

	td__buf_puts(&t, "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"get_price\",\"input\":{");
	for (i = 0; i < 100000; i++)
		td__buf_printf(&t, "\"k%d\":%d,", i, i);
	td__buf_puts(&t, "\"k17\":0}}]");
	ck_assert(!t.oom);
	decode_ok(t.data, TD_DIALECT_AUTO);
	ck_assert_str_eq(td_batch_call_error(b, 0), "input: key 'k17' appears twice");
	td__buf_free(&t);
}
END_TEST

/* cJSON reads 1e400 as infinity and would hand the tool null: the call's error instead. */
START_TEST(numbers_out_of_range)
{
	decode_ok(
	    "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"get_price\",\"input\":{\"n\":1e400}},"
	    "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"get_price\",\"input\":{\"l\":[1,"
	    "-1e999]}},"
	    "{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"get_price\",\"input\":{\"n\":1e308,"
	    "\"m\":1e-400}}]",
	    TD_DIALECT_AUTO);
	ck_assert_str_eq(td_batch_call_error(b, 0),
	                 "input.n: number out of range (a JSON number must fit a double, about "
	                 "1.8e308 at most)");
	ck_assert_str_eq(td_batch_call_error(b, 1),
	                 "input.l[1]: number out of range (a JSON number must fit a double, about "
	                 "1.8e308 at most)");
	ck_assert_ptr_null(td_batch_call_error(b, 2)); /* 1e-400 reads as 0: in range */
}
END_TEST

/* Nesting inside OpenAI arguments is named as such, not as an error near '[[[['. */
START_TEST(arguments_nesting)
{
	struct td__buf t = {0};
	int i;

	td__buf_puts(&t,
	             "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_price\","
	             "\"arguments\":\"{\\\"a\\\":");
	for (i = 0; i < 1001; i++)
		td__buf_putc(&t, '[');
	for (i = 0; i < 1001; i++)
		td__buf_putc(&t, ']');
	td__buf_puts(&t, "}\"}}]");
	decode_ok(t.data, TD_DIALECT_AUTO);
	ck_assert_str_eq(td_batch_call_error(b, 0),
	                 "arguments are not valid JSON: nested deeper than 1000 levels");
	td__buf_free(&t);
}
END_TEST

/*
 * Batch-level messages quote what the model wrote: control characters are blanked so each is
 * one line, and ids are cut at 80 bytes.
 */
START_TEST(messages_one_line)
{
	struct td__buf t = {0};
	int i;

	decode_bad("[{\"type\":\"tool_use\",\"id\":\"a\\nb\\u001b[2J\",\"name\":\"get_price\"},"
	           "{\"type\":\"tool_use\",\"id\":\"a\\nb\\u001b[2J\",\"name\":\"get_price\"}]",
	           TD_DIALECT_AUTO, TD_EBATCH, "duplicate call id 'a b [2J' (calls 1 and 2)");
	td_diag_clear(&diag);
	td__buf_puts(&t, "[{\"type\":\"tool_use\",\"id\":\"");
	for (i = 0; i < 1000; i++)
		td__buf_putc(&t, 'x');
	td__buf_puts(&t, "\",\"name\":\"get_price\",\"depends_on\":[\"nope\"]}]");
	ck_assert_int_eq(decode(t.data, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_uint_eq(strlen(diag.items[0].message),
	                  strlen("call 1 (): depends_on names unknown call id 'nope'") + 80);
	td__buf_free(&t);
}
END_TEST

/*
 * 10,000 calls each naming 100 absent ids: did-you-mean is searched for the first 100 only,
 * so this is a fraction of a second, not 10^10 comparisons. Every id is still reported (the
 * diag keeps 100 and counts the rest).
 */
START_TEST(unknown_deps_bounded)
{
	struct td__buf t = {0};
	int64_t t0;
	int i, k;

	td__buf_putc(&t, '[');
	for (i = 0; i < 10000; i++) {
		td__buf_printf(&t,
		               "%s{\"type\":\"tool_use\",\"id\":\"c%d\",\"name\":\"get_price\","
		               "\"depends_on\":[",
		               i ? "," : "", i);
		for (k = 0; k < 100; k++)
			td__buf_printf(&t, "%s\"c%dx%d\"", k ? "," : "", i, k);
		td__buf_puts(&t, "]}");
	}
	td__buf_putc(&t, ']');
	ck_assert(!t.oom);
	t0 = cpu_us();
	ck_assert_int_eq(decode(t.data, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_int_lt(cpu_us() - t0, 5 * 1000000);
	ck_assert_uint_eq(diag.count + diag.dropped, 1000000);
	ck_assert_str_eq(
	    diag.items[0].message,
	    "call 1 (c0): depends_on names unknown call id 'c0x0' (did you mean 'c0'?)");
	td__buf_free(&t);
}
END_TEST

/*
 * cJSON spends ~80 bytes per JSON value: a batch of "[0,0,0,..." is refused above 2^24 values
 * (before parsing), and so are `arguments` strings that would pass the batch's budget.
 */
START_TEST(value_budget)
{
	static const char head[] = "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
	                           "\"get_price\",\"arguments\":\"{\\\"l\\\":[";
	size_t n = (size_t)1 << 24, i, len = sizeof(head) + 2 * n + 16;
	char *t = malloc(len), *p = t;

	ck_assert_ptr_nonnull(t);
	*p++ = '[';
	for (i = 0; i < n; i++, p += 2)
		memcpy(p, "0,", 2);
	memcpy(p, "0]", 3);
	decode_bad(t, TD_DIALECT_AUTO, TD_ETOOBIG,
	           "call batch holds more than 16777216 JSON values, the limit (about 1.3 GB once "
	           "parsed): split it");
	td_diag_clear(&diag);
	p = t + sizeof(head) - 1;
	memcpy(t, head, sizeof(head) - 1);
	for (i = 0; i < n; i++, p += 2)
		memcpy(p, "0,", 2);
	memcpy(p, "0]}\"}}]", 8);
	decode_ok(t, TD_DIALECT_AUTO);
	call_is(0, "c1", "get_price", "{}",
	        "arguments too large: the batch would hold more than 16777216 JSON values");
	free(t);
}
END_TEST

/* Every allocation failing in turn: TD_ENOMEM or success, never a crash or a leak. */
START_TEST(alloc_failures)
{
	static const char json[] =
	    "[" TOOL_USE_1 ",{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"lookup_pollen\","
	    "\"depends_on\":[\"toolu_01\"]},{\"type\":\"tool_use\",\"id\":\"y\",\"name\":\"nope\"}"
	    "]";
	long i;
	int r;

	for (i = 1; i < 200; i++) {
		td__alloc_fail_at(i);
		r = decode(json, TD_DIALECT_AUTO);
		td__alloc_fail_at(0);
		td_diag_clear(&diag);
		if (r == 0)
			break;
		ck_assert_int_eq(r, TD_ENOMEM);
		ck_assert_ptr_null(b);
	}
	ck_assert_int_lt(i, 200);
	ck_assert_uint_eq(td_batch_count(b), 3);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("decode");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, anthropic_shapes);
	tcase_add_test(tc, openai_shapes);
	tcase_add_test(tc, responses_shapes);
	tcase_add_test(tc, forced_wrong_dialect);
	tcase_add_test(tc, no_calls);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, call_level_errors);
	tcase_add_test(tc, depends_on);
	tcase_add_test(tc, bad_depends_on);
	tcase_add_test(tc, identity_errors);
	tcase_add_test(tc, all_errors_reported);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, nesting_bound);
	tcase_add_test(tc, size_and_length);
	tcase_add_test(tc, from_graph);
	tcase_add_test(tc, dialect_names);
	tcase_add_test(tc, element_by_element);
	tcase_add_test(tc, alloc_failures);
	tcase_add_test(tc, nul_characters);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_test(tc, numbers_out_of_range);
	tcase_add_test(tc, arguments_nesting);
	tcase_add_test(tc, messages_one_line);
	suite_add_tcase(s, tc);
	/* big inputs: seconds under ASan on a busy machine */
	tc = tcase_create("bounds");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, duplicate_keys_large);
	tcase_add_test(tc, unknown_deps_bounded);
	tcase_add_test(tc, value_budget);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

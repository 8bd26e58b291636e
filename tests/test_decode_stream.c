/* SPDX-License-Identifier: MIT */
/*
 * test_decode_stream.c - streamed responses (Server-Sent Events) of the three APIs, replayed
 * from the SDKs' recordings (tests/data/recorded/) in every chunking: the calls they make,
 * the same as the message they amount to; what real streams hold (ping, usage-only chunks,
 * ids only in a call's first fragment, text before the calls); interleaved fragments, a stream
 * cut at every byte, API error events, line endings, and the bounds on memory.
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
	tg_tool(g, "GetWeatherArgs", NULL);
	tg_tool(g, "get_stock_price", NULL);
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

/* A stream held inside a JSON recording as a string (or a list of lines) at `path`. */
static char *recorded_stream(const char *file, const char *const *path, size_t *len)
{
	size_t n;
	char *f = tr_slurp(file, &n), *out;
	cJSON *root = cJSON_Parse(f), *v = root, *line, *lines;
	struct td__buf buf = {0};

	for (; *path; path++)
		v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(*path))
		                     : cJSON_GetObjectItem(v, *path);
	ck_assert_ptr_nonnull(v);
	if (cJSON_IsString(v))
		td__buf_puts(&buf, v->valuestring);
	lines = cJSON_IsArray(v) ? v : NULL;
	cJSON_ArrayForEach(line, lines) td__buf_puts(&buf, line->valuestring);
	out = td__buf_take(&buf);
	*len = strlen(out);
	cJSON_Delete(root);
	free(f);
	return out;
}

/* Feeds text in pieces of `chunk` bytes (0: all at once); the finish's return. */
static int feed(const char *text, size_t len, size_t chunk, enum td_dialect dl)
{
	struct td_stream *s;
	size_t off, n;
	int r;

	td_batch_free(b);
	b = NULL;
	td_diag_clear(&diag);
	ck_assert_int_eq(td_stream_new(dl, "s.sse", &s), 0);
	for (off = 0; off < len; off += n) {
		n = chunk && len - off > chunk ? chunk : len - off;
		if (td_stream_feed(s, text + off, n) < 0)
			break;
	}
	r = td_stream_finish(s, g, &b, &diag);
	td_stream_free(s);
	return r;
}

static int feed_str(const char *text, enum td_dialect dl)
{
	return feed(text, strlen(text), 0, dl);
}

static void call_is(size_t i, const char *id, const char *tool, const char *input)
{
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(td_batch_call_id(b, i), id);
	ck_assert_str_eq(td_batch_call_tool(b, i), tool);
	ck_assert_str_eq(td_batch_call_input(b, i), input);
}

/* The batch equals the one decoded from doc (the same calls as one JSON document). */
static void same_as_document(const char *doc, enum td_dialect dl)
{
	struct td_batch *d = NULL;
	size_t i;

	ck_assert_int_eq(td_batch_decode(g, doc, strlen(doc), dl, "doc", &d, NULL), 0);
	ck_assert_int_eq(td_batch_dialect(b), td_batch_dialect(d));
	ck_assert_uint_eq(td_batch_count(b), td_batch_count(d));
	for (i = 0; i < td_batch_count(d); i++) {
		ck_assert_str_eq(td_batch_call_id(b, i), td_batch_call_id(d, i));
		ck_assert_str_eq(td_batch_call_tool(b, i), td_batch_call_tool(d, i));
		ck_assert_str_eq(td_batch_call_input(b, i), td_batch_call_input(d, i));
	}
	td_batch_free(d);
}

static const size_t chunkings[] = {0, 1, 2, 7, 64, 1000};

static bool feed_ok(const char *text, size_t len, size_t chunk, enum td_dialect dl)
{
	int r = feed(text, len, chunk, dl);

	ck_assert_msg(r == 0, "in pieces of %zu: %d %s", chunk, r,
	              diag.count ? diag.items[0].message : "");
	return true;
}

/* The statement after it runs once per chunking, on that chunking's batch. */
#define EACH_CHUNKING(text, len, dl)                                                               \
	for (size_t k_ = 0; k_ < sizeof(chunkings) / sizeof(chunkings[0]) &&                       \
	                    feed_ok(text, len, chunkings[k_], dl);                                 \
	     k_++)

#define CHAT_DOC                                                                                   \
	"[{\"id\":\"call_JMW1whyEaYG438VE1OIflxA2\",\"type\":\"function\",\"function\":{\"name\":" \
	"\"GetWeatherArgs\",\"arguments\":\"{\\\"city\\\":\\\"Edinburgh\\\",\\\"country\\\":"      \
	"\\\"GB\\\",\\\"units\\\":\\\"c\\\"}\"}},"                                                 \
	"{\"id\":\"call_DNYTawLBoN8fj3KN6qU9N1Ou\",\"type\":\"function\",\"function\":{\"name\":"  \
	"\"get_stock_price\",\"arguments\":\"{\\\"ticker\\\":\\\"AAPL\\\",\\\"exchange\\\":"       \
	"\\\"NASDAQ\\\"}\"}}]"

/* Anthropic: a text block, a ping, then the call; the recording lacks the last blank line. */
START_TEST(anthropic_recorded)
{
	size_t len;
	char *t = tr_slurp("anthropic-stream-tool_use_response.txt", &len);

	EACH_CHUNKING(t, len, TD_DIALECT_AUTO)
	{
		ck_assert_uint_eq(td_batch_count(b), 1);
		call_is(0, "toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather",
		        "{\"location\":\"Paris\"}");
		ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_ANTHROPIC);
	}
	same_as_document(
	    "[{\"type\":\"tool_use\",\"id\":\"toolu_01NRLabsLyVHZPKxbKvkfSMn\",\"name\":"
	    "\"get_weather\",\"input\":{\"location\": \"Paris\"}}]",
	    TD_DIALECT_AUTO);
	free(t);
}
END_TEST

/* Anthropic, recorded by the SDK's tool runner: padding after the JSON of each event. */
START_TEST(anthropic_runner_recorded)
{
	static const char *const path[] = {"0", "response", "body", NULL};
	size_t len;
	char *t = recorded_stream("anthropic-runner-555fb399-a54c-455b-9ac5-2c9673f18e12.json",
	                          path, &len);

	EACH_CHUNKING(t, len, TD_DIALECT_ANTHROPIC)
	call_is(0, "toolu_018acGYLtfR52q9yDbWaEdQZ", "get_weather",
	        "{\"location\":\"San Francisco, CA\",\"units\":\"f\"}");
	free(t);
}
END_TEST

/* Chat: two parallel calls, ids only in the first fragment, a usage-only chunk, [DONE]. */
START_TEST(chat_recorded)
{
	size_t len;
	char *t = tr_slurp("openai-chat-stream-f82268f2fefd.sse", &len);

	EACH_CHUNKING(t, len, TD_DIALECT_AUTO) same_as_document(CHAT_DOC, TD_DIALECT_OPENAI);
	free(t);
	t = tr_slurp("openai-chat-stream-c6aa7e397b71.sse", &len);
	EACH_CHUNKING(t, len, TD_DIALECT_OPENAI)
	call_is(0, "call_c91SqDXlYFuETYv8mUHzz6pp", "GetWeatherArgs",
	        "{\"city\":\"Edinburgh\",\"country\":\"UK\",\"units\":\"c\"}");
	free(t);
}
END_TEST

/* Responses, recorded by the .NET SDK: one event per list element, as the API sent them. */
START_TEST(responses_recorded)
{
	static const char *const path[] = {"Entries", "0", "ResponseBody", NULL};
	size_t len;
	char *t = recorded_stream("openai-dotnet-FunctionCallStreamingWorks.json", path, &len);

	EACH_CHUNKING(t, len, TD_DIALECT_AUTO)
	{
		ck_assert_int_eq(td_batch_dialect(b), TD_DIALECT_RESPONSES);
		call_is(0, "call_0UFGPwrziw5rbinYp7rthrTb", "get_weather_at_location",
		        "{\"location\":\"San Francisco, CA\"}");
	}
	free(t);
}
END_TEST

/* The Chat recording with the two calls' fragments alternating, as a provider may send them. */
START_TEST(interleaved_fragments)
{
	size_t len, i, n0 = 0, n1 = 0;
	char *t = tr_slurp("openai-chat-stream-f82268f2fefd.sse", &len), *line, *save = NULL;
	char *ev0[64], *ev1[64], *rest[16];
	size_t nrest = 0;
	struct td__buf out = {0};

	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "\"tool_calls\":[{\"index\":0"))
			ev0[n0++] = line;
		else if (strstr(line, "\"tool_calls\":[{\"index\":1"))
			ev1[n1++] = line;
		else
			rest[nrest++] = line;
	}
	ck_assert_uint_ge(n0, 3);
	ck_assert_uint_ge(n1, 3);
	td__buf_printf(&out, "%s\n\n", rest[0]); /* the role chunk */
	for (i = 0; i < n0 || i < n1; i++) {
		if (i < n0)
			td__buf_printf(&out, "%s\n\n", ev0[i]);
		if (i < n1)
			td__buf_printf(&out, "%s\n\n", ev1[i]);
	}
	for (i = 1; i < nrest; i++)
		td__buf_printf(&out, "%s\n\n", rest[i]);
	EACH_CHUNKING(out.data, out.len, TD_DIALECT_AUTO)
	same_as_document(CHAT_DOC, TD_DIALECT_AUTO);
	td__buf_free(&out);
	free(t);
}
END_TEST

/* Every prefix of a recording: never a call that was not complete, never a different one. */
START_TEST(cut_at_every_byte)
{
	static const char *const files[] = {"anthropic-stream-tool_use_response.txt",
	                                    "openai-chat-stream-f82268f2fefd.sse"};
	size_t f, len, cut, i, whole;
	struct td_batch *full;
	char *t;
	int r;

	for (f = 0; f < 2; f++) {
		t = tr_slurp(files[f], &len);
		ck_assert_int_eq(feed(t, len, 0, TD_DIALECT_AUTO), 0);
		full = b;
		b = NULL;
		whole = 0;
		for (cut = 0; cut < len; cut++) {
			r = feed(t, cut, 0, TD_DIALECT_AUTO);
			ck_assert_msg(r == TD_EBATCH || r == 0, "cut at %zu: %d", cut, r);
			whole += r == 0;
			if (r == TD_EBATCH)
				ck_assert_msg(
				    diag.count >= 1 && strstr(diag.items[0].message, "cut off"),
				    "cut at %zu: %s", cut, diag.count ? diag.items[0].message : "");
			for (i = 0; b && i < td_batch_count(b); i++) {
				ck_assert_str_eq(td_batch_call_id(b, i), td_batch_call_id(full, i));
				ck_assert_str_eq(td_batch_call_input(b, i),
				                 td_batch_call_input(full, i));
			}
		}
		/* whole only with the end event in: Anthropic's message_stop is the last line (no
		 * line end after it), Chat's [DONE] is followed by its line ends */
		ck_assert_uint_le(whole, f == 0 ? 0 : 2);
		td_batch_free(full);
		free(t);
	}
}
END_TEST

/* A cut call is named; the calls complete before it are kept. */
START_TEST(cut_call_reported)
{
	size_t len;
	char *t = tr_slurp("openai-chat-stream-f82268f2fefd.sse", &len);
	char *second = strstr(t, "\"index\":1,\"id\"");
	size_t cut = (size_t)(strstr(second, "\n\n") - t) + 2; /* the second call's first chunk */

	ck_assert_int_eq(feed(t, cut, 5, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_uint_eq(td_batch_count(b), 1);
	ck_assert_str_eq(td_batch_call_id(b, 0), "call_JMW1whyEaYG438VE1OIflxA2");
	ck_assert_uint_eq(diag.count, 2);
	ck_assert_str_eq(
	    diag.items[0].message,
	    "the stream stopped before its end (finish_reason and [DONE]): it was cut off");
	ck_assert_str_eq(
	    diag.items[1].message,
	    "call 'call_DNYTawLBoN8fj3KN6qU9N1Ou' (get_stock_price) was cut off before "
	    "its input was complete: it does not run");
	free(t);
}
END_TEST

/* The Responses recording ended by the output limit while its call was written. */
START_TEST(ended_mid_call)
{
	static const char *const path[] = {"Entries", "0", "ResponseBody", NULL};
	size_t len;
	char *t = recorded_stream("openai-dotnet-FunctionCallStreamingWorks.json", path, &len);
	char *done = strstr(t, "event: response.function_call_arguments.done");
	struct td__buf s = {0};

	ck_assert_ptr_nonnull(done);
	td__buf_append(&s, t, (size_t)(done - t));
	td__buf_puts(&s, "event: response.incomplete\ndata: {\"type\":\"response.incomplete\","
	                 "\"response\":{\"status\":\"incomplete\",\"incomplete_details\":{"
	                 "\"reason\":\"max_output_tokens\"}}}\n\n");
	ck_assert_int_eq(feed(s.data, s.len, 0, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(diag.items[0].message, "the response ended with a call unfinished");
	ck_assert_str_eq(
	    diag.items[1].message,
	    "call 'call_0UFGPwrziw5rbinYp7rthrTb' (get_weather_at_location) was cut off "
	    "before its input was complete: it does not run");
	td__buf_free(&s);
	free(t);
}
END_TEST

/* An error event: what the API said; only what was complete before it is kept. */
START_TEST(error_events)
{
	size_t len;
	char *t = tr_slurp("anthropic-stream-tool_use_response.txt", &len);
	char *stop = strstr(t, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
	                       "\"index\":1}");
	struct td__buf s = {0};

	/* Anthropic: an overload before the call's block closed */
	td__buf_append(&s, t, (size_t)(stop - t));
	td__buf_puts(&s, "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": "
	                 "\"overloaded_error\", \"message\": \"Overloaded\"}}\n\n");
	ck_assert_int_eq(feed(s.data, s.len, 3, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(diag.items[0].message,
	                 "the API reported an error: overloaded_error: Overloaded");
	ck_assert_ptr_nonnull(strstr(diag.items[1].message, "toolu_01NRLabsLyVHZPKxbKvkfSMn"));
	/* after the block closed: the call is whole, the stream still failed */
	s.len = 0;
	td__buf_append(&s, t, (size_t)(strstr(stop, "\n\n") + 2 - t));
	td__buf_puts(&s, "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": "
	                 "\"api_error\", \"message\": \"Internal server error\"}}\n\n");
	ck_assert_int_eq(feed(s.data, s.len, 0, TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_uint_eq(td_batch_count(b), 1);
	/* Chat Completions puts the error in a data chunk of its own */
	ck_assert_int_eq(feed_str("data: {\"error\":{\"message\":\"The server had an error\","
	                          "\"type\":\"server_error\"}}\n\n",
	                          TD_DIALECT_AUTO),
	                 TD_EBATCH);
	ck_assert_str_eq(diag.items[0].message,
	                 "the API reported an error: server_error: The server had an error");
	td__buf_free(&s);
	free(t);
}
END_TEST

/* \r\n and \r line ends, a thinking block before the call, comments. */
START_TEST(line_ends_and_blocks)
{
	size_t len, i, n;
	char *t = tr_slurp("anthropic-stream-tool_use_response.txt", &len);
	struct td__buf s = {0};

	td__buf_puts(&s,
	             ": a comment\r\n\r\nevent: content_block_start\r\ndata: {\"type\":"
	             "\"content_block_start\",\"index\":7,\"content_block\":{\"type\":\"thinking\","
	             "\"thinking\":\"\"}}\r\n\r\nevent: content_block_delta\r\ndata: {\"type\":"
	             "\"content_block_delta\",\"index\":7,\"delta\":{\"type\":\"thinking_delta\","
	             "\"thinking\":\"Paris first.\"}}\r\n\r\n");
	for (i = 0; i < len; i++) {
		if (t[i] == '\n')
			td__buf_puts(&s, "\r\n");
		else
			td__buf_putc(&s, t[i]);
	}
	for (n = 1; n < 4; n++) {
		ck_assert_int_eq(feed(s.data, s.len, n, TD_DIALECT_AUTO), 0);
		call_is(0, "toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather",
		        "{\"location\":\"Paris\"}");
	}
	for (i = 0; i < s.len; i++)
		if (s.data[i] == '\n')
			s.data[i] = '\r';
	ck_assert_int_eq(feed(s.data, s.len, 2, TD_DIALECT_AUTO), 0);
	ck_assert_uint_eq(td_batch_count(b), 1);
	td__buf_free(&s);
	free(t);
}
END_TEST

START_TEST(bounds_and_bad_input)
{
	static const char delta[] =
	    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
	    "\"type\":\"input_json_delta\",\"partial_json\":\"";
	struct td_stream *s;
	char *big = malloc((1u << 20) + 256);
	int i, r = 0;

	/* a call's input over 16 MiB, in 1 MiB fragments */
	ck_assert_int_eq(td_stream_new(TD_DIALECT_AUTO, "s", &s), 0);
	snprintf(big, 256,
	         "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	         "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"get_weather\"}}\n\n");
	ck_assert_int_eq(td_stream_feed(s, big, strlen(big)), 0);
	memcpy(big, delta, sizeof(delta) - 1);
	memset(big + sizeof(delta) - 1, 'x', 1u << 20);
	memcpy(big + sizeof(delta) - 1 + (1u << 20), "\"}}\n\n", 6);
	for (i = 0; i < 20 && r >= 0; i++)
		r = td_stream_feed(s, big, strlen(big));
	ck_assert_int_eq(r, TD_EBATCH);
	ck_assert_int_eq(td_stream_finish(s, g, &b, &diag), TD_EBATCH);
	ck_assert_str_eq(diag.items[0].message,
	                 "call 't' (get_weather): its input is longer than 16 MiB");
	td_stream_free(s);
	td_diag_clear(&diag);
	/* a line that never ends */
	ck_assert_int_eq(td_stream_new(TD_DIALECT_AUTO, "s", &s), 0);
	memcpy(big, "data: ", 6);
	for (i = 0, r = 0; i < 20 && r >= 0; i++)
		r = td_stream_feed(s, i ? big + 6 : big, 1u << 20);
	ck_assert_int_eq(r, TD_EBATCH);
	td_stream_free(s);
	free(big);
	/* data that is not JSON, a forced dialect the stream is not in, a stream with no call */
	ck_assert_int_eq(feed_str("data: {oops\n\n", TD_DIALECT_AUTO), TD_EBATCH);
	ck_assert_str_eq(diag.items[0].message, "an event's data is not JSON: '{oops'");
	ck_assert_int_eq(feed_str("data: {\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\n",
	                          TD_DIALECT_ANTHROPIC),
	                 TD_EBATCH);
	ck_assert_str_eq(diag.items[0].message,
	                 "the stream is in the openai dialect, but 'anthropic' was asked for");
	ck_assert_int_eq(feed_str("data: {\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\n"
	                          "data: [DONE]\n\n",
	                          TD_DIALECT_AUTO),
	                 TD_EBATCH);
	ck_assert_str_eq(
	    diag.items[0].message,
	    "no tool calls found: the stream ended (finish_reason and [DONE]) without a "
	    "call");
	ck_assert_int_eq(td_stream_detect("event: x", 8), 1);
	ck_assert_int_eq(td_stream_detect("\xef\xbb\xbf\ndata: x", 11), 1);
	ck_assert_int_eq(td_stream_detect("[{\"data\":1}]", 12), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("decode_stream");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, anthropic_recorded);
	tcase_add_test(tc, anthropic_runner_recorded);
	tcase_add_test(tc, chat_recorded);
	tcase_add_test(tc, responses_recorded);
	tcase_add_test(tc, interleaved_fragments);
	tcase_add_test(tc, cut_at_every_byte);
	tcase_add_test(tc, cut_call_reported);
	tcase_add_test(tc, error_events);
	tcase_add_test(tc, ended_mid_call);
	tcase_add_test(tc, line_ends_and_blocks);
	tcase_add_test(tc, bounds_and_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_stream.c - libFuzzer target: streamed responses (Server-Sent Events) fed in pieces of
 * a size the first byte picks, in every dialect, then planned; and the same bytes as a
 * conversation that results are appended to.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tooldag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char graph_yaml[] = "version: 1\n"
                                 "tools:\n"
                                 "  get_weather: {builtin: echo, input_schema: {type: object}}\n"
                                 "  get_stock_price: {builtin: echo, depends_on: [get_weather]}\n"
                                 "  GetWeatherArgs: {builtin: echo}\n"
                                 "  get_weather_at_location: {builtin: echo}\n";

static struct td_graph *graph;

static void one(const char *s, size_t len, size_t piece, enum td_dialect dl)
{
	struct td_diag diag = {0};
	struct td_stream *st;
	struct td_batch *b = NULL;
	struct td_plan *p;
	size_t off, n;

	if (td_stream_new(dl, "fuzz.sse", &st) != 0)
		abort();
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		if (td_stream_feed(st, s + off, n) < 0)
			break;
	}
	td_stream_finish(st, graph, &b, &diag);
	if (b && td_plan_new(b, &p, &diag) == 0)
		td_plan_free(p);
	td_batch_free(b);
	td_stream_free(st);
	td_diag_clear(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum td_dialect dialects[] = {TD_DIALECT_AUTO, TD_DIALECT_ANTHROPIC,
	                                           TD_DIALECT_OPENAI, TD_DIALECT_RESPONSES};
	const char *s = (const char *)data + (size ? 1 : 0);
	size_t len = size ? size - 1 : 0, piece = size ? (size_t)data[0] % 17 + 1 : 1, i;
	char *out = NULL;

	if (!graph &&
	    td_graph_load_buffer(graph_yaml, strlen(graph_yaml), "g.yaml", NULL, &graph, NULL) != 0)
		abort();
	for (i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
		one(s, len, i ? len + 1 : piece, dialects[i]);
	if (td_conversation_append(s, len, "[{\"role\":\"tool\"}]", 17, &out, NULL) == 0)
		free(out);
	return 0;
}

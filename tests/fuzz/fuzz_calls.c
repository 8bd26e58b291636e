/* SPDX-License-Identifier: MIT */
/*
 * fuzz_calls.c - libFuzzer target: the call decoder in every dialect and the planner, against
 * a fixed graph with schemas and tool-level dependencies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tooldag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char graph_yaml[] =
    "version: 1\n"
    "tools:\n"
    "  a: {builtin: echo, input_schema: {type: object, required: [x],\n"
    "      properties: {x: {type: integer, minimum: 0}, y: {enum: [p, q]}},\n"
    "      additionalProperties: false}}\n"
    "  b: {builtin: echo, depends_on: [a]}\n"
    "  c: {builtin: sleep, depends_on: [a, b]}\n"
    /* the travel example's names, so its call batches in the corpus reach the validator */
    "  get_flight_prices: {builtin: echo, input_schema: {type: object,\n"
    "      required: [airline, from, to], additionalProperties: false, properties: {\n"
    "      airline: {type: string, enum: [aa, ua, dl]}, from: {type: string, minLength: 3,\n"
    "      maxLength: 3}, to: {type: string}, date: {type: string}}}}\n"
    "  fetch_weather: {builtin: echo, input_schema: {type: object, required: [city]}}\n"
    "  lookup_pollen: {builtin: echo, depends_on: [fetch_weather]}\n"
    "  check_inventory: {builtin: echo, input_schema: {properties: {sku: {type: string}}}}\n"
    "  recommend_product: {builtin: echo, depends_on: [check_inventory]}\n"
    "  n: {builtin: echo, input_schema: {type: object, properties: {v: {type: [number, \"null\"],\n"
    "      minimum: -1e300, maximum: 1e300}, l: {type: array, items: {type: integer},\n"
    "      maxItems: 3}}}}\n";

static struct td_graph *graph;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum td_dialect dialects[] = {TD_DIALECT_AUTO, TD_DIALECT_ANTHROPIC,
	                                           TD_DIALECT_OPENAI, TD_DIALECT_RESPONSES};
	struct td_diag diag = {0};
	struct td_batch *b;
	struct td_plan *p;
	char *out;
	size_t i;

	if (!graph &&
	    td_graph_load_buffer(graph_yaml, strlen(graph_yaml), "g.yaml", NULL, &graph, NULL) != 0)
		abort();
	for (i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++) {
		if (td_batch_decode(graph, (const char *)data, size, dialects[i], "fuzz.json", &b,
		                    &diag) == 0) {
			if (td_plan_new(b, &p, &diag) == 0) {
				if (td_plan_json(p, 0, &out) == 0)
					free(out);
				td_plan_free(p);
			}
			td_batch_free(b);
		}
		td_diag_clear(&diag);
	}
	return 0;
}

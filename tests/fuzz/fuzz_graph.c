/* SPDX-License-Identifier: MIT */
/* fuzz_graph.c - libFuzzer target: the YAML graph loader, and tools_json on what loads. */
#include <stdint.h>
#include <stdlib.h>

#include "tooldag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_diag diag = {0};
	struct td_graph *g = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	char *out = NULL;

	if (td_graph_load_buffer((const char *)data, size, "fuzz.yaml", "/nonexistent", &g,
	                         &diag) == 0) {
		td_graph_tools_json(g, TD_DIALECT_OPENAI, 0, &out);
		free(out);
		if (td_graph_has_calls(g) && td_batch_from_graph(g, &b, &diag) == 0 &&
		    td_plan_new(b, &p, &diag) == 0 && td_plan_json(p, 0, &out) == 0)
			free(out);
		td_plan_free(p);
		td_batch_free(b);
		td_graph_free(g);
	}
	td_diag_clear(&diag);
	return 0;
}

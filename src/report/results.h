/* SPDX-License-Identifier: MIT */
/*
 * results.h - the results encoder shared by a run (td_run_results_json()) and a recording
 * (td_recording_results_json()), so a replay prints the bytes the run printed.
 */
#ifndef TD_REPORT_RESULTS_H
#define TD_REPORT_RESULTS_H

#include <stddef.h>

#include "tooldag.h"

/* One call's result as the encoder sees it; strings borrowed for the call of get(). */
struct td__result_item {
	const char *id;      /* NUL-terminated */
	const char *content; /* content_len bytes (NUL bytes allowed), may be NULL when 0 */
	size_t content_len;
	int is_error;
	const char *blocks; /* content blocks (Anthropic's form, a JSON array) or NULL */
};
typedef void (*td__result_get)(const void *ctx, size_t i, struct td__result_item *out);

/* n results, item i from get(ctx, i), in `dialect` (AUTO: Anthropic). *out is the caller's
 * to free(). 0 or TD_ENOMEM. */
int td__results_encode(enum td_dialect dialect, int pretty, size_t n, td__result_get get,
                       const void *ctx, char **out);

/* record.c: the graph's "tools_hash" in a recording (FNV-1a 64 over the tools' non-secret
 * definitions and their MCP servers as written). */
uint64_t td__tools_hash(const struct td_graph *g);

#endif /* TD_REPORT_RESULTS_H */

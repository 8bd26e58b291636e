/* SPDX-License-Identifier: MIT */
/*
 * fuzz_recording.c - libFuzzer target: a recording file (`tooldag run --record`) read back,
 * every batch replayed in every dialect, every call and attempt read, and the batch rebuilt
 * against a graph, as `tooldag replay` and `tooldag-bench import log` do.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tooldag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char graph_yaml[] = "version: 1\n"
                                 "tools:\n"
                                 "  t: {builtin: echo}\n"
                                 "  u: {builtin: echo, depends_on: [t]}\n";

static struct td_graph *graph;

static void one_batch(const struct td_recording *rec, size_t i)
{
	static const enum td_dialect dialects[] = {TD_DIALECT_AUTO, TD_DIALECT_ANTHROPIC,
	                                           TD_DIALECT_OPENAI, TD_DIALECT_RESPONSES};
	struct td_recorded_call call;
	struct td_recorded_attempt at;
	struct td_diag diag = {0};
	struct td_batch *b = NULL;
	size_t c, d, k;
	char *out, *copy;
	int n;

	for (d = 0; d < sizeof(dialects) / sizeof(dialects[0]); d++)
		if (td_recording_results_json(rec, i, dialects[d], (int)(d & 1), &out) == 0)
			free(out);
	for (c = 0; c < td_recording_call_count(rec, i); c++) {
		if (td_recording_call(rec, i, c, &call) != 0)
			abort();
		copy = malloc(call.content_len + 1); /* every byte it claims is there to read */
		if (!copy)
			abort();
		memcpy(copy, call.content, call.content_len);
		free(copy);
		n = td_recording_attempt_count(rec, i, c);
		for (k = 0; n > 0 && k < (size_t)n; k++)
			td_recording_attempt(rec, i, c, k, &at);
	}
	td_recording_same_tools(rec, i, graph);
	if (td_recording_batch(rec, i, graph, &b, &diag) == 0)
		td_batch_free(b);
	td_diag_clear(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_recording *rec;
	struct td_diag diag = {0};
	char path[64];
	size_t i;
	int fd;

	if (!graph && td_graph_load_buffer(graph_yaml, sizeof(graph_yaml) - 1, "fuzz.yaml", NULL,
	                                   &graph, NULL) != 0)
		abort();
	fd = memfd_create("recording", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (td_recording_open(path, &rec, &diag) >= 0) {
		for (i = 0; i < td_recording_count(rec); i++)
			one_batch(rec, i);
		td_recording_free(rec);
	}
	td_diag_clear(&diag);
	close(fd);
	return 0;
}

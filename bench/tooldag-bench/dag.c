/* SPDX-License-Identifier: MIT */
/*
 * dag.c - the task graph every subcommand works on (struct dag), written out as a tooldag graph
 * file plus an Anthropic call batch, or built into a batch in memory.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tooldag-bench/bench.h"

/* ---------------------------------------------------------------------------------------- */
/* The task graph every subcommand works on */

void dag_free(struct dag *d)
{
	size_t i;

	for (i = 0; d->id && i < d->n; i++)
		free(d->id[i]);
	free(d->id);
	free(d->ms);
	free(d->us);
	free(d->pred_off);
	free(d->pred);
	free(d->e_task);
	free(d->e_pred);
	memset(d, 0, sizeof(*d));
}

size_t dag_add_task(struct dag *d, const char *id, int64_t ms)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->id = xrealloc(d->id, d->cap, sizeof(*d->id));
		d->ms = xrealloc(d->ms, d->cap, sizeof(*d->ms));
	}
	d->id[d->n] = xstrdup(id);
	d->ms[d->n] = ms;
	return d->n++;
}

void dag_add_edge(struct dag *d, size_t task, size_t pred)
{
	if (d->ne == d->e_cap) {
		d->e_cap = d->e_cap ? d->e_cap * 2 : 256;
		d->e_task = xrealloc(d->e_task, d->e_cap, sizeof(*d->e_task));
		d->e_pred = xrealloc(d->e_pred, d->e_cap, sizeof(*d->e_pred));
	}
	d->e_task[d->ne] = (uint32_t)task;
	d->e_pred[d->ne] = (uint32_t)pred;
	d->ne++;
}

/*
 * Turns the edge list into the predecessor CSR: a counting sort by task that keeps insertion
 * order within a task (so depends_on lists the predecessors in the order the file gave them),
 * dropping repeated edges.
 */
void dag_finalize(struct dag *d)
{
	uint32_t *fill, *seen;
	size_t t, e, k;

	d->pred_off = xcalloc(d->n + 1, sizeof(*d->pred_off));
	d->pred = xcalloc(d->ne, sizeof(*d->pred));
	for (e = 0; e < d->ne; e++)
		d->pred_off[d->e_task[e] + 1]++;
	for (t = 0; t < d->n; t++)
		d->pred_off[t + 1] += d->pred_off[t];
	fill = xcalloc(d->n, sizeof(*fill));
	memcpy(fill, d->pred_off, d->n * sizeof(*fill));
	for (e = 0; e < d->ne; e++)
		d->pred[fill[d->e_task[e]]++] = d->e_pred[e];
	/* compact away duplicates: seen[p] == t + 1 when p is already a predecessor of t */
	seen = fill;
	memset(seen, 0, d->n * sizeof(*seen));
	for (t = 0, k = 0; t < d->n; t++) {
		uint32_t start = d->pred_off[t], end = d->pred_off[t + 1];

		d->pred_off[t] = (uint32_t)k;
		for (e = start; e < end; e++) {
			if (seen[d->pred[e]] == t + 1)
				continue;
			seen[d->pred[e]] = (uint32_t)(t + 1);
			d->pred[k++] = d->pred[e];
		}
	}
	d->pred_off[d->n] = (uint32_t)k;
	d->npred = k;
	free(seen);
	free(d->e_task);
	free(d->e_pred);
	d->e_task = d->e_pred = NULL;
	d->ne = d->e_cap = 0;
}

/* The id of task i: its own, or "<prefix><i>" for generated graphs. */
const char *dag_id(const struct dag *d, size_t i, char *buf, size_t len)
{
	if (d->id)
		return d->id[i];
	snprintf(buf, len, "toolu_%08zu", i);
	return buf;
}

/* ---------------------------------------------------------------------------------------- */
/* Writing a dag as a tooldag graph file and an Anthropic call batch */

/* One `task` tool that sleeps for input.ms; timeout above the longest task. */
static void write_graph(FILE *f, const struct dag *d, unsigned concurrency)
{
	int64_t max_ms = 0;
	const unsigned char *p;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->ms[i] > max_ms)
			max_ms = d->ms[i];
	fputs("# Written by tooldag-bench from ", f);
	/* a comment ends at a newline: keep odd bytes of the path from breaking the file */
	for (p = (const unsigned char *)d->source; *p; p++)
		fputc(*p < 0x20 ? '?' : *p, f);
	fprintf(f, " (%s: %zu tasks, %zu edges)\n", d->format, d->n, d->npred);
	fprintf(f, "version: 1\nconcurrency: %u\ntools:\n", concurrency);
	fputs("  task:\n"
	      "    description: One task of the imported graph; sleeps for its runtime in ms.\n"
	      "    builtin: sleep\n",
	      f);
	fprintf(f, "    timeout: %llds\n", (long long)(max_ms / 1000 + 60));
	fputs("    input_schema:\n"
	      "      type: object\n"
	      "      required: [ms]\n"
	      "      properties:\n"
	      "        ms: {type: number}\n",
	      f);
}

/* An array of tool_use blocks, one per line, with explicit depends_on (left out when empty). */
static void write_calls(FILE *f, const struct dag *d, const char *tool)
{
	char a[32], b[32];
	size_t i, e;

	fputs("[\n", f);
	for (i = 0; i < d->n; i++) {
		fputs("{\"type\":\"tool_use\",\"id\":", f);
		json_str(f, dag_id(d, i, a, sizeof(a)));
		fputs(",\"name\":", f);
		json_str(f, tool);
		if (d->us)
			fprintf(f, ",\"input\":{\"ms\":%lld.%03lld}", (long long)(d->us[i] / 1000),
			        (long long)(d->us[i] % 1000));
		else
			fprintf(f, ",\"input\":{\"ms\":%lld}", (long long)d->ms[i]);
		if (d->pred_off[i + 1] > d->pred_off[i]) {
			fputs(",\"depends_on\":[", f);
			for (e = d->pred_off[i]; e < d->pred_off[i + 1]; e++) {
				if (e > d->pred_off[i])
					fputc(',', f);
				json_str(f, dag_id(d, d->pred[e], b, sizeof(b)));
			}
			fputc(']', f);
		}
		fputs(i + 1 < d->n ? "},\n" : "}\n", f);
	}
	fputs("]\n", f);
}

int write_pair(const struct dag *d, const char *graph_path, const char *calls_path,
               unsigned concurrency)
{
	FILE *f = open_out(graph_path);

	if (!f)
		return -1;
	write_graph(f, d, concurrency);
	if (close_out(f, graph_path) < 0)
		return -1;
	if (!(f = open_out(calls_path)))
		return -1;
	write_calls(f, d, "task");
	return close_out(f, calls_path);
}

int build_batch(const struct td_graph *graph, const struct dag *d, struct td_batch **out)
{
	struct td_batch *b;
	char id[32];
	size_t v, e;
	int r;

	if ((r = td_batch_new(graph, TD_DIALECT_ANTHROPIC, &b)) < 0)
		return r;
	for (v = 0; v < d->n; v++)
		if ((r = td_batch_add(b, dag_id(d, v, id, sizeof(id)), "task", NULL)) < 0)
			goto fail;
	for (v = 0; v < d->n; v++)
		for (e = d->pred_off[v]; e < d->pred_off[v + 1]; e++)
			if ((r = td_batch_depend(b, v, d->pred[e])) < 0)
				goto fail;
	*out = b;
	return 0;
fail:
	td_batch_free(b);
	return r;
}

int write_dir(struct dag *d, const char *outdir, unsigned concurrency)
{
	char gpath[PATH_MAX], cpath[PATH_MAX];
	int rc = -1;

	if (make_dirs(outdir) == 0) {
		snprintf(gpath, sizeof(gpath), "%s/graph.yaml", outdir);
		snprintf(cpath, sizeof(cpath), "%s/calls.json", outdir);
		rc = write_pair(d, gpath, cpath, concurrency);
	}
	dag_free(d);
	return rc < 0 ? EXIT_FAIL : 0;
}

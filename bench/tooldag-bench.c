/* SPDX-License-Identifier: MIT */
/*
 * tooldag-bench.c - real task graphs and benchmarks for tooldag.
 *
 *   tooldag-bench import stg|wf FILE (-o OUTDIR | --graph G.yaml --calls C.json) [options]
 *   tooldag-bench level [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]
 *   tooldag-bench gen calls [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED] -o OUTDIR
 *   tooldag-bench gen tools [-n TOOLS] [-s SEED] -o FILE
 *   tooldag-bench gen dag | simulate | real | sweep   (bench/tooldag-bench/: issue 6)
 *
 * Every subcommand works on one in-memory shape, struct dag (tasks with an id, a duration and
 * their predecessors as CSR), so that the importers and the generator can feed later
 * subcommands (simulation, real runs) unchanged. This file uses only the public API of
 * tooldag.h; simulate and real (bench/tooldag-bench/) reach the scheduler's internals.
 *
 * Exit codes: 0 success, 1 usage error, 2 invalid or unreadable input, 3 any other failure
 * (cannot write the output, a library error, a level check that failed).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "tooldag.h"
#include "tooldag-bench/bench.h"

/* Largest input file read (WfCommons instances are a few MB; STG files a few hundred KB). */
#define MAX_INPUT_BYTES (512u << 20)
/* Largest task count accepted from a file (call indices are 32-bit in the library). */
#define MAX_TASKS 50000000L

const char *prog = "tooldag-bench";

__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	return p;
}

void *xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	p = realloc(p, n && size ? n * size : 1);
	if (!p) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	return d;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------------------------- */
/* Numbers on the command line */

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

long opt_long(const char *opt, const char *s, long lo, long hi)
{
	long v;

	if (parse_long(s, lo, hi, &v) < 0) {
		say("%s: expected an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
		exit(EXIT_USAGE);
	}
	return v;
}

double opt_double(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0) {
		say("%s: expected a positive number, got '%s'", opt, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static void opt_range(const char *s, int *lo, int *hi)
{
	const char *colon = strchr(s, ':');
	char buf[64];
	long a, b;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		goto bad;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (parse_long(buf, 1, 1000, &a) < 0 || parse_long(colon + 1, 1, 1000, &b) < 0 || a > b)
		goto bad;
	*lo = (int)a;
	*hi = (int)b;
	return;
bad:
	say("-d: expected LO:HI with 1 <= LO <= HI <= 1000, got '%s'", s);
	exit(EXIT_USAGE);
}

/* ---------------------------------------------------------------------------------------- */
/* Files */

/* Reads a whole regular file, NUL-terminated. Returns NULL after saying why. */
char *read_file(const char *path, size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		say("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		say("%s: not a regular file", path);
		fclose(f);
		return NULL;
	}
	if ((uint64_t)st.st_size > MAX_INPUT_BYTES) {
		say("%s: file too large (%lld bytes, limit %u MiB)", path, (long long)st.st_size,
		    MAX_INPUT_BYTES >> 20);
		fclose(f);
		return NULL;
	}
	buf = xcalloc((size_t)st.st_size + 1, 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		say("%s: read error", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* mkdir -p; returns 0 or -1 after saying why. */
int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		say("%s: bad output directory", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
			say("%s: %s", buf, strerror(errno));
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		say("%s: %s", path, strerror(errno));
	else
		setvbuf(f, NULL, _IOFBF, 1 << 16);
	return f;
}

int close_out(FILE *f, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		say("%s: write error", path);
		return -1;
	}
	return 0;
}

/* Writes s as a JSON string literal. */
void json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* ---------------------------------------------------------------------------------------- */
/* The task graph every subcommand works on */

void dag_free(struct dag *d)
{
	size_t i;

	for (i = 0; d->id && i < d->n; i++)
		free(d->id[i]);
	free(d->id);
	free(d->ms);
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

/* ---------------------------------------------------------------------------------------- */
/* STG (Standard Task Graph Set): whitespace-separated integers, '#' starts a comment */

struct stg_lexer {
	const char *path;
	const char *p;
	unsigned line;     /* line of the read position */
	unsigned tok_line; /* line of the last token */
	char tok[48];      /* the last token, cut short if longer */
};

static int stg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Next token into lx->tok, or NULL at the end of the file. */
static const char *stg_token(struct stg_lexer *lx)
{
	const char *start;
	size_t len;

	for (;;) {
		for (; stg_space(*lx->p); lx->p++)
			if (*lx->p == '\n')
				lx->line++;
		if (*lx->p != '#')
			break;
		while (*lx->p && *lx->p != '\n')
			lx->p++;
	}
	if (!*lx->p)
		return NULL;
	start = lx->p;
	while (*lx->p && *lx->p != '#' && !stg_space(*lx->p))
		lx->p++;
	len = (size_t)(lx->p - start);
	if (len >= sizeof(lx->tok))
		len = sizeof(lx->tok) - 1;
	memcpy(lx->tok, start, len);
	lx->tok[len] = '\0';
	lx->tok_line = lx->line;
	return lx->tok;
}

/*
 * Reads one integer in lo..hi described by `what` (e.g. "the processing time of task 3").
 * Returns 0, or -1 after printing FILE:LINE: message.
 */
static int stg_int(struct stg_lexer *lx, long lo, long hi, long *out, const char *what)
{
	const char *tok = stg_token(lx);

	if (!tok) {
		say("%s:%u: unexpected end of file: expected %s", lx->path, lx->line, what);
		return -1;
	}
	if (parse_long(tok, lo, hi, out) < 0) {
		say("%s:%u: expected %s (an integer in %ld..%ld), found '%s'", lx->path,
		    lx->tok_line, what, lo, hi, tok);
		return -1;
	}
	return 0;
}

/* One task line: number, time, predecessor count, predecessors. Edges to 0 are dropped. */
static int stg_task(struct stg_lexer *lx, struct dag *d, long k, long n, double unit_ms)
{
	char what[96], id[32];
	long v, time, npred, j;

	snprintf(what, sizeof(what), "the number of task %ld", k);
	if (stg_int(lx, 0, n + 1, &v, what) < 0)
		return -1;
	if (v != k) {
		say("%s:%u: expected task %ld, found task %ld (tasks are numbered 0..%ld in order)",
		    lx->path, lx->tok_line, k, v, n + 1);
		return -1;
	}
	snprintf(what, sizeof(what), "the processing time of task %ld", k);
	if (stg_int(lx, 0, INT32_MAX, &time, what) < 0)
		return -1;
	snprintf(what, sizeof(what), "the predecessor count of task %ld", k);
	if (stg_int(lx, 0, n + 1, &npred, what) < 0)
		return -1;
	if (k >= 1 && k <= n) {
		snprintf(id, sizeof(id), "%ld", k);
		dag_add_task(d, id, llround((double)time * unit_ms));
	}
	for (j = 0; j < npred; j++) {
		snprintf(what, sizeof(what), "predecessor %ld of %ld of task %ld", j + 1, npred, k);
		if (stg_int(lx, 0, n + 1, &v, what) < 0)
			return -1;
		if (v == k || (v == n + 1 && k <= n)) {
			say("%s:%u: task %ld cannot depend on task %ld", lx->path, lx->tok_line, k,
			    v);
			return -1;
		}
		if (k >= 1 && k <= n && v >= 1)
			dag_add_edge(d, (size_t)(k - 1), (size_t)(v - 1));
	}
	return 0;
}

int import_stg(const char *path, double unit_ms, struct dag *d)
{
	struct stg_lexer lx = {path, NULL, 1, 1, ""};
	size_t len;
	char *buf = read_file(path, &len);
	long n, k;
	int rc = -1;

	if (!buf)
		return -1;
	if (strlen(buf) != len) {
		say("%s: not a text file (NUL byte)", path);
		goto out;
	}
	lx.p = buf;
	if (stg_int(&lx, 1, MAX_TASKS, &n, "the task count on the first line") < 0)
		goto out;
	for (k = 0; k <= n + 1; k++)
		if (stg_task(&lx, d, k, n, unit_ms) < 0)
			goto out;
	if (stg_token(&lx)) {
		say("%s:%u: unexpected '%s' after the exit task %ld (only '#' comments may follow)",
		    path, lx.tok_line, lx.tok, n + 1);
		goto out;
	}
	d->format = "STG";
	dag_finalize(d);
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* WfCommons (WfFormat JSON, schema 1.4 and 1.5) */

/* Task id -> index, open addressing; slots hold index + 1, 0 = empty. */
struct idmap {
	uint32_t *slot;
	size_t mask;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void idmap_init(struct idmap *m, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	m->slot = xcalloc(cap, sizeof(*m->slot));
	m->mask = cap - 1;
}

/* Index of id, or -1; with `insert` >= 0 adds id -> insert when absent (returns -1 then). */
static long idmap_get(struct idmap *m, char *const *ids, const char *id, long insert)
{
	size_t h = (size_t)hash_str(id) & m->mask;

	for (; m->slot[h]; h = (h + 1) & m->mask)
		if (!strcmp(ids[m->slot[h] - 1], id))
			return (long)m->slot[h] - 1;
	if (insert >= 0)
		m->slot[h] = (uint32_t)insert + 1;
	return -1;
}

/* "FILE:LINE:COL" of a position in buf. */
static void json_where(const char *buf, const char *at, unsigned *line, unsigned *col)
{
	const char *p;

	*line = 1;
	*col = 1;
	for (p = buf; p < at && *p; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static const cJSON *json_path(const cJSON *root, const char *a, const char *b, const char *c)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, a);

	if (j && b)
		j = cJSON_GetObjectItemCaseSensitive(j, b);
	if (j && c)
		j = cJSON_GetObjectItemCaseSensitive(j, c);
	return j;
}

/* Runtime in seconds -> ms; 1.3 called the field `runtime`. -1 when absent or invalid. */
static int64_t wf_runtime_ms(const cJSON *task)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(task, "runtimeInSeconds");

	if (!r)
		r = cJSON_GetObjectItemCaseSensitive(task, "runtime");
	if (!cJSON_IsNumber(r) || !isfinite(r->valuedouble) || r->valuedouble < 0 ||
	    r->valuedouble > 1e12)
		return -1;
	return llround(r->valuedouble * 1000.0);
}

struct wf_ctx {
	const char *path;
	struct dag *d;
	struct idmap ids;
	const char *where; /* "workflow.specification.tasks" or "workflow.tasks" */
};

/* Adds every task of `tasks` by its key (1.5: `id`; 1.4: `name`, which parents refer to). */
static int wf_add_tasks(struct wf_ctx *w, const cJSON *tasks, const char *key,
                        const cJSON *exec_tasks)
{
	struct idmap exec = {0};
	char **exec_ids = NULL;
	const cJSON *t, *k;
	size_t i = 0, nexec = 0;
	int rc = -1;

	if (exec_tasks) { /* 1.5: runtimes live in workflow.execution.tasks, matched by id */
		nexec = (size_t)cJSON_GetArraySize(exec_tasks);
		idmap_init(&exec, nexec);
		exec_ids = xcalloc(nexec, sizeof(*exec_ids));
		cJSON_ArrayForEach(t, exec_tasks)
		{
			k = cJSON_GetObjectItemCaseSensitive(t, "id");
			if (!cJSON_IsString(k)) {
				say("%s: workflow.execution.tasks[%zu]: no string \"id\"", w->path,
				    i);
				goto out;
			}
			exec_ids[i] = k->valuestring;
			idmap_get(&exec, exec_ids, k->valuestring, (long)i);
			i++;
		}
	}
	idmap_init(&w->ids, (size_t)cJSON_GetArraySize(tasks));
	i = 0;
	cJSON_ArrayForEach(t, tasks)
	{
		const cJSON *rt = t;
		int64_t ms;
		long e;

		k = cJSON_GetObjectItemCaseSensitive(t, key);
		if (!cJSON_IsString(k) || !*k->valuestring) {
			say("%s: %s[%zu]: no string \"%s\"", w->path, w->where, i, key);
			goto out;
		}
		if (exec_tasks) {
			e = idmap_get(&exec, exec_ids, k->valuestring, -1);
			if (e < 0) {
				say("%s: task '%s' has no entry in workflow.execution.tasks",
				    w->path, k->valuestring);
				goto out;
			}
			rt = cJSON_GetArrayItem(exec_tasks, (int)e);
		}
		ms = wf_runtime_ms(rt);
		if (ms < 0) {
			say("%s: task '%s': \"runtimeInSeconds\" missing or not a number >= 0",
			    w->path, k->valuestring);
			goto out;
		}
		if (idmap_get(&w->ids, w->d->id, k->valuestring, (long)w->d->n) >= 0) {
			say("%s: duplicate task \"%s\" '%s'", w->path, key, k->valuestring);
			goto out;
		}
		dag_add_task(w->d, k->valuestring, ms);
		i++;
	}
	rc = 0;
out:
	free(exec.slot);
	free(exec_ids);
	return rc;
}

/*
 * Adds the edges of one list field of every task: `parents` (task depends on each) or
 * `children` (each depends on task). Both are read; repeated edges collapse in dag_finalize.
 */
static int wf_add_edges(struct wf_ctx *w, const cJSON *tasks, const char *field)
{
	const cJSON *t, *list, *x;
	size_t i = 0;
	long j;

	cJSON_ArrayForEach(t, tasks)
	{
		list = cJSON_GetObjectItemCaseSensitive(t, field);
		if (list && !cJSON_IsArray(list)) {
			say("%s: task '%s': \"%s\" is not an array", w->path, w->d->id[i], field);
			return -1;
		}
		cJSON_ArrayForEach(x, list)
		{
			if (!cJSON_IsString(x)) {
				say("%s: task '%s': \"%s\" holds a non-string", w->path,
				    w->d->id[i], field);
				return -1;
			}
			j = idmap_get(&w->ids, w->d->id, x->valuestring, -1);
			if (j < 0) {
				say("%s: task '%s' names unknown %s '%s'", w->path, w->d->id[i],
				    field[0] == 'p' ? "parent" : "child", x->valuestring);
				return -1;
			}
			if ((size_t)j == i) {
				say("%s: task '%s' names itself in \"%s\"", w->path, w->d->id[i],
				    field);
				return -1;
			}
			if (field[0] == 'p')
				dag_add_edge(w->d, i, (size_t)j);
			else
				dag_add_edge(w->d, (size_t)j, i);
		}
		i++;
	}
	return 0;
}

static int wf_convert(struct wf_ctx *w, const cJSON *root)
{
	const cJSON *spec = json_path(root, "workflow", "specification", "tasks");
	const cJSON *exec = json_path(root, "workflow", "execution", "tasks");
	const cJSON *old = json_path(root, "workflow", "tasks", NULL);
	const cJSON *tasks;

	if (cJSON_IsArray(spec)) {
		if (!cJSON_IsArray(exec)) {
			say("%s: schema 1.5 file without a workflow.execution.tasks array",
			    w->path);
			return -1;
		}
		tasks = spec;
		w->where = "workflow.specification.tasks";
		w->d->format = "WfCommons 1.5";
		if (wf_add_tasks(w, tasks, "id", exec) < 0)
			return -1;
	} else if (cJSON_IsArray(old)) {
		tasks = old;
		w->where = "workflow.tasks";
		w->d->format = "WfCommons 1.4";
		if (wf_add_tasks(w, tasks, "name", NULL) < 0)
			return -1;
	} else {
		say("%s: not a WfCommons instance: no workflow.specification.tasks (schema 1.5) "
		    "or workflow.tasks (schema 1.4) array",
		    w->path);
		return -1;
	}
	if (w->d->n == 0) {
		say("%s: %s is empty", w->path, w->where);
		return -1;
	}
	if (wf_add_edges(w, tasks, "parents") < 0 || wf_add_edges(w, tasks, "children") < 0)
		return -1;
	dag_finalize(w->d);
	return 0;
}

int import_wf(const char *path, struct dag *d)
{
	struct wf_ctx w = {path, d, {0}, NULL};
	const char *end = NULL;
	unsigned line, col;
	size_t len;
	char *buf = read_file(path, &len);
	cJSON *root;
	int rc;

	if (!buf)
		return -1;
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (!root) {
		json_where(buf, end ? end : buf, &line, &col);
		say("%s:%u:%u: not valid JSON", path, line, col);
		free(buf);
		return -1;
	}
	rc = wf_convert(&w, root);
	cJSON_Delete(root);
	free(w.ids.slot);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* import */

static void usage_import(FILE *f)
{
	fputs(
	    "usage: tooldag-bench import stg|wf FILE (-o OUTDIR | --graph G.yaml --calls C.json)\n"
	    "                            [--unit-ms F] [-j N]\n"
	    "Writes a tooldag graph (one `task` tool, builtin: sleep) and an Anthropic call batch\n"
	    "(one tool_use per task, input {\"ms\": runtime}, explicit depends_on).\n"
	    "  stg FILE      Standard Task Graph Set file; call ids t1..tN, entry/exit dropped\n"
	    "  wf FILE       WfCommons WfFormat JSON, schema 1.5 or 1.4; call ids = task ids\n"
	    "  -o OUTDIR     write OUTDIR/graph.yaml and OUTDIR/calls.json (created if needed)\n"
	    "  --graph G     write the graph file to G (with --calls, instead of -o)\n"
	    "  --calls C     write the call batch to C\n"
	    "  --unit-ms F   STG: milliseconds per time unit (default 1)\n"
	    "  -j N          the graph's concurrency (default 8)\n"
	    "WfCommons runtimes are runtimeInSeconds x 1000, rounded to whole ms.\n",
	    f);
}

static int cmd_import(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"graph", required_argument, NULL, 'g'},
	    {"calls", required_argument, NULL, 'c'},
	    {"unit-ms", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *outdir = NULL, *graph = NULL, *calls = NULL;
	char gbuf[PATH_MAX], cbuf[PATH_MAX];
	struct dag d = {0};
	double unit_ms = 1;
	unsigned conc = 8;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:j:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			outdir = optarg;
			break;
		case 'g':
			graph = optarg;
			break;
		case 'c':
			calls = optarg;
			break;
		case 'u':
			unit_ms = opt_double("--unit-ms", optarg);
			break;
		case 'j':
			conc = (unsigned)opt_long("-j", optarg, 1, 1000000);
			break;
		case 'h':
			usage_import(stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || (!outdir && !(graph && calls)) || (outdir && (graph || calls)))
		goto usage;
	if (strcmp(argv[optind], "stg") && strcmp(argv[optind], "wf")) {
		say("import: unknown format '%s' (expected stg or wf)", argv[optind]);
		return EXIT_USAGE;
	}
	d.source = argv[optind + 1];
	if (argv[optind][0] == 's')
		rc = import_stg(d.source, unit_ms, &d);
	else
		rc = import_wf(d.source, &d);
	if (rc < 0) {
		dag_free(&d);
		return EXIT_INPUT;
	}
	if (outdir) {
		if (make_dirs(outdir) < 0) {
			dag_free(&d);
			return EXIT_FAIL;
		}
		snprintf(gbuf, sizeof(gbuf), "%s/graph.yaml", outdir);
		snprintf(cbuf, sizeof(cbuf), "%s/calls.json", outdir);
		graph = gbuf;
		calls = cbuf;
	}
	rc = write_pair(&d, graph, calls, conc);
	dag_free(&d);
	return rc < 0 ? EXIT_FAIL : 0;
usage:
	say("import: expected FORMAT FILE and -o OUTDIR or --graph G --calls C (try 'import "
	    "--help')");
	return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------- */
/* The layered generator of bench/ref/kahn_ref.c, bit for bit (same RNG, same draws) */

struct layered {
	long n, levels, width;
	int lo, hi;
	uint64_t rng;
};

static uint32_t rnd(uint64_t *s) /* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

/*
 * n/levels calls per level; every call of level > 0 depends on lo..hi distinct random calls of
 * the previous level. Durations are 1 ms. Call v's level is v / width.
 */
static void gen_layered(struct layered *g, struct dag *d)
{
	long w = g->n / g->levels, n = w * g->levels, v, t, m = 0;

	g->width = w;
	g->n = n;
	d->n = (size_t)n;
	d->pred_off = xcalloc((size_t)n + 1, sizeof(*d->pred_off));
	d->pred = xcalloc((size_t)n * (size_t)g->hi, sizeof(*d->pred));
	d->ms = xcalloc((size_t)n, sizeof(*d->ms));
	for (v = 0; v < n; v++) {
		long lvl = v / w, base = (lvl - 1) * w;
		int k, j, dup;
		uint32_t u;

		d->pred_off[v] = (uint32_t)m;
		d->ms[v] = 1;
		if (lvl == 0)
			continue;
		k = g->lo + (int)(rnd(&g->rng) % (uint32_t)(g->hi - g->lo + 1));
		if (k > w)
			k = (int)w;
		for (j = 0; j < k; j++) {
			do {
				u = (uint32_t)(base + rnd(&g->rng) % (uint32_t)w);
				dup = 0;
				for (t = d->pred_off[v]; t < m; t++)
					dup |= d->pred[t] == u;
			} while (dup);
			d->pred[m++] = u;
		}
	}
	d->pred_off[n] = (uint32_t)m;
	d->npred = (size_t)m;
}

/* Parses -n -l -d -s (kahn_ref's options and defaults); returns the next argv index or -1. */
static int layered_opts(int argc, char **argv, struct layered *g, const char **outp)
{
	int opt;

	g->n = 100000;
	g->levels = 10;
	g->lo = 1;
	g->hi = 3;
	g->rng = 42;
	optind = 1;
	while ((opt = getopt(argc, argv, outp ? "n:l:d:s:o:" : "n:l:d:s:")) != -1) {
		switch (opt) {
		case 'n':
			g->n = opt_long("-n", optarg, 1, MAX_TASKS);
			break;
		case 'l':
			g->levels = opt_long("-l", optarg, 1, MAX_TASKS);
			break;
		case 'd':
			opt_range(optarg, &g->lo, &g->hi);
			break;
		case 's':
			g->rng = strtoull(optarg, NULL, 10) | 1;
			break;
		case 'o':
			*outp = optarg;
			break;
		default:
			return -1;
		}
	}
	if (g->n / g->levels < 1) {
		say("-n %ld gives no call per level with -l %ld", g->n, g->levels);
		exit(EXIT_USAGE);
	}
	return optind;
}

/* ---------------------------------------------------------------------------------------- */
/* level: td_plan_new() on the layered graph, built in-process */

static const char LEVEL_GRAPH[] = "version: 1\ntools:\n  task:\n    builtin: sleep\n";

void print_diag(struct td_diag *diag, int err, const char *what)
{
	char line[1024];
	size_t i;

	say("%s: %s", what, td_strerror(err));
	for (i = 0; i < diag->count; i++) {
		td_diag_format(&diag->items[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	td_diag_clear(diag);
}

/* Resident and peak resident kB from /proc/self/status (-1 when unreadable). */
static void read_rss(long *rss_kb, long *hwm_kb)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*rss_kb = *hwm_kb = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			*rss_kb = strtol(line + 6, NULL, 10);
		else if (!strncmp(line, "VmHWM:", 6))
			*hwm_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* Resets the peak RSS (VmHWM) to the current RSS, so the next peak is the plan's own. */
static int reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
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

/* Every call must sit on level v / width and there must be exactly `levels` levels. */
static int check_levels(const struct td_plan *plan, const struct layered *g)
{
	long v, lvl;

	if ((long)td_plan_level_count(plan) != g->levels) {
		say("level: expected %ld levels, the plan has %zu", g->levels,
		    td_plan_level_count(plan));
		return -1;
	}
	for (v = 0; v < g->n; v++) {
		lvl = td_plan_call_level(plan, (size_t)v);
		if (lvl != v / g->width) {
			say("level: call %ld is on level %ld, expected %ld", v, lvl, v / g->width);
			return -1;
		}
	}
	return 0;
}

struct level_stats {
	double build_s, plan_s;
	long batch_kb, plan_peak_kb; /* RSS with the batch built; peak added by the plan */
	size_t edges, levels;
};

/* Builds the batch (timed apart), then times td_plan_new() alone and checks its levels. */
static int level_run(const struct td_graph *graph, struct dag *d, const struct layered *g,
                     struct level_stats *st)
{
	struct td_diag diag = {0};
	struct td_batch *batch = NULL;
	struct td_plan *plan = NULL;
	long hwm, rss_after;
	int r, peak_ok, rc = -1;
	double t0 = now_s();

	if ((r = build_batch(graph, d, &batch)) < 0) {
		say("level: building the batch: %s", td_strerror(r));
		return -1;
	}
	st->build_s = now_s() - t0;
	st->edges = d->npred;
	/* the generator's arrays are not the library's: drop them before measuring memory, and
	 * give their pages back - malloc keeps freed heap memory resident, and arrays that ended
	 * up on the heap (glibc raises its mmap threshold as big blocks are freed) would count
	 * as the batch's (6 MB at a million calls) */
	dag_free(d);
	malloc_trim(0);
	peak_ok = reset_peak_rss() == 0;
	read_rss(&st->batch_kb, &hwm);
	t0 = now_s();
	r = td_plan_new(batch, &plan, &diag);
	st->plan_s = now_s() - t0;
	read_rss(&rss_after, &hwm);
	st->plan_peak_kb = peak_ok && hwm >= 0 && st->batch_kb >= 0 ? hwm - st->batch_kb : -1;
	if (r < 0) {
		print_diag(&diag, r, "level: td_plan_new");
		goto out;
	}
	st->levels = td_plan_level_count(plan);
	rc = check_levels(plan, g);
out:
	td_plan_free(plan);
	td_batch_free(batch);
	return rc;
}

static int cmd_level(int argc, char **argv)
{
	struct td_diag diag = {0};
	struct td_graph *graph = NULL;
	struct level_stats st = {0};
	struct layered g;
	struct dag d = {0};
	struct rusage ru;
	int r;

	if (layered_opts(argc, argv, &g, NULL) != argc) {
		say("usage: tooldag-bench level [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]");
		return EXIT_USAGE;
	}
	gen_layered(&g, &d);
	r = td_graph_load_buffer(LEVEL_GRAPH, sizeof(LEVEL_GRAPH) - 1, "level", NULL, &graph,
	                         &diag);
	if (r < 0) {
		print_diag(&diag, r, "level: loading the one-tool graph");
		dag_free(&d);
		return EXIT_FAIL;
	}
	r = level_run(graph, &d, &g, &st);
	td_graph_free(graph);
	dag_free(&d);
	if (r < 0)
		return EXIT_FAIL;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"tool\":\"tooldag\",\"calls\":%ld,\"edges\":%zu,\"levels\":%zu,"
	       "\"leveling_s\":%.6f,\"ns_per_call\":%.1f,\"build_s\":%.6f,\"maxrss_mb\":%.1f,"
	       "\"batch_mb\":%.1f,\"plan_peak_mb\":%.1f}\n",
	       g.n, st.edges, st.levels, st.plan_s, st.plan_s * 1e9 / (double)g.n, st.build_s,
	       (double)ru.ru_maxrss / 1024.0, (double)st.batch_kb / 1024.0,
	       (double)st.plan_peak_kb / 1024.0);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* gen: inputs for the end-to-end targets */

static int gen_calls(int argc, char **argv)
{
	const char *outdir = NULL;
	char gpath[PATH_MAX], cpath[PATH_MAX];
	struct layered g;
	struct dag d = {0};
	int rc;

	if (layered_opts(argc, argv, &g, &outdir) != argc || !outdir) {
		say("usage: tooldag-bench gen calls [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED] "
		    "-o OUTDIR");
		return EXIT_USAGE;
	}
	gen_layered(&g, &d);
	d.source = "gen calls";
	d.format = "layered";
	if (make_dirs(outdir) < 0) {
		dag_free(&d);
		return EXIT_FAIL;
	}
	snprintf(gpath, sizeof(gpath), "%s/graph.yaml", outdir);
	snprintf(cpath, sizeof(cpath), "%s/calls.json", outdir);
	rc = write_pair(&d, gpath, cpath, 16);
	dag_free(&d);
	return rc < 0 ? EXIT_FAIL : 0;
}

/* One synthetic tool: every kind of limit the loader parses shows up across the file. */
static void gen_one_tool(FILE *f, long i, long n, uint64_t *rng)
{
	static const char *const timeouts[] = {"250ms", "5s", "2m", "30s"};
	uint32_t r = rnd(rng);
	long k, ndeps = i ? (long)(rnd(rng) % 4) : 0;

	fprintf(f, "  tool_%05ld:\n    description: Synthetic tool %ld of %ld\n", i, i, n);
	fprintf(f, "    builtin: %s\n", r & 1 ? "echo" : "sleep");
	fprintf(f, "    timeout: %s\n", timeouts[(r >> 1) & 3]);
	if (r & 8)
		fprintf(f, "    retries: %u\n    backoff: 100ms\n", (r >> 4) & 3);
	if (r & 64)
		fprintf(f, "    concurrency: %u\n    rate: %u/s\n", 1 + ((r >> 7) & 7),
		        10 + ((r >> 10) & 63));
	if (r & 0x10000)
		fputs("    max_output: 64KiB\n    on_dependency_failure: run\n", f);
	fputs("    input_schema:\n      type: object\n      required: [query]\n"
	      "      properties:\n        query: {type: string}\n        limit: {type: integer}\n"
	      "        mode: {type: string, enum: [fast, exact]}\n"
	      "      additionalProperties: false\n",
	      f);
	if (ndeps == 0)
		return;
	/* only on earlier tools, so the tool graph stays acyclic */
	fputs("    depends_on: [", f);
	for (k = 0; k < ndeps; k++)
		fprintf(f, "%stool_%05ld", k ? ", " : "", (long)(rnd(rng) % (uint32_t)i));
	fputs("]\n", f);
}

static int gen_tools(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t rng = 42;
	long n = 10000, i;
	FILE *f;
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, "n:s:o:")) != -1) {
		switch (opt) {
		case 'n':
			n = opt_long("-n", optarg, 1, 99999);
			break;
		case 's':
			rng = strtoull(optarg, NULL, 10) | 1;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || !out)
		goto usage;
	if (!(f = open_out(out)))
		return EXIT_FAIL;
	fprintf(f,
	        "# Written by tooldag-bench gen tools -n %ld\nversion: 1\nconcurrency: 64\n"
	        "defaults: {timeout: 30s, max_output: 1MiB}\ntools:\n",
	        n);
	for (i = 0; i < n; i++)
		gen_one_tool(f, i, n, &rng);
	return close_out(f, out) < 0 ? EXIT_FAIL : 0;
usage:
	say("usage: tooldag-bench gen tools [-n TOOLS] [-s SEED] -o FILE");
	return EXIT_USAGE;
}

static int cmd_gen(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "calls"))
		return gen_calls(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "tools"))
		return gen_tools(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "dag"))
		return gen_dag(argc - 1, argv + 1);
	say("usage: tooldag-bench gen calls|tools|dag [options] (see --help)");
	return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------- */
/* time: wall time and peak RSS of one command */

extern char **environ;

/*
 * Runs CMD and writes {"wall_s","maxrss_mb","status"} to FILE. Why not measure from the
 * harness: Linux carries the peak RSS of the parent's address space into a child across
 * fork + exec, so a command started by a 15 MB Python reports at least 15 MB. Spawned from this
 * small program (posix_spawn shares our fresh address space), the figure is the command's own.
 */
static int cmd_time(int argc, char **argv)
{
	const char *out = NULL;
	struct rusage ru;
	double t0, wall;
	int opt, status;
	pid_t pid;
	FILE *f;

	optind = 1;
	while ((opt = getopt(argc, argv, "+o:")) != -1) {
		if (opt != 'o')
			goto usage;
		out = optarg;
	}
	if (!out || optind >= argc)
		goto usage;
	t0 = now_s();
	if ((errno = posix_spawnp(&pid, argv[optind], NULL, NULL, argv + optind, environ))) {
		say("time: %s: %s", argv[optind], strerror(errno));
		return EXIT_FAIL;
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		say("time: wait4: %s", strerror(errno));
		return EXIT_FAIL;
	}
	wall = now_s() - t0;
	if (!(f = open_out(out)))
		return EXIT_FAIL;
	fprintf(f, "{\"wall_s\":%.6f,\"maxrss_mb\":%.1f,\"status\":%d}\n", wall,
	        (double)ru.ru_maxrss / 1024.0,
	        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (close_out(f, out) < 0)
		return EXIT_FAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
usage:
	say("usage: tooldag-bench time -o FILE CMD [ARGS...]");
	return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("usage: tooldag-bench COMMAND [options]\n"
	      "  import stg|wf FILE -o OUTDIR   convert a real task graph to graph.yaml + "
	      "calls.json\n"
	      "  level [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED]\n"
	      "                                 time td_plan_new() on a layered graph built\n"
	      "                                 in-process (the graph of kahn_ref); one JSON line\n"
	      "  gen calls [-n CALLS] [-l LEVELS] [-d LO:HI] [-s SEED] -o OUTDIR\n"
	      "                                 the same graph as graph.yaml + calls.json\n"
	      "  gen tools [-n TOOLS] [-s SEED] -o FILE\n"
	      "  gen dag --shape S [--dist D] [-n N] [-w W] [--mean MS] [-s SEED] -o OUTDIR\n"
	      "                                 layered|forkjoin|chain|diamond|er|agent graphs\n"
	      "                                 with fixed|uniform|lognormal|bimodal durations\n"
	      "                                 a graph file with TOOLS synthetic tools\n"
	      "  time -o FILE CMD [ARGS...]     run CMD; write its wall time and peak RSS to FILE\n"
	      "  simulate GRAPH CALLS [--policy P] [-j N] [--json|--csv] [--svg F] [--gantt F]\n"
	      "                                 tooldag's scheduler in virtual time\n"
	      "  real GRAPH CALLS [--policy P] [-j N] [--scale F]\n"
	      "                                 real sleeps; overhead over the simulation\n"
	      "  sweep [--policy all] [-j 2,4,8] [--optima TSV] [--summary] FILE...\n"
	      "                                 simulate STG / WfCommons files imported in memory\n"
	      "Defaults: -n 100000 -l 10 -d 1:3 -s 42 (kahn_ref's); gen tools -n 10000.\n"
	      "Exit codes: 0 ok, 1 usage, 2 invalid input, 3 other failure.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("tooldag-bench (tooldag %s)\n", td_version());
		return 0;
	}
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc - 1, argv + 1);
	if (argc >= 3 && !strcmp(argv[2], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "level"))
		return cmd_level(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "time"))
		return cmd_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "simulate"))
		return cmd_simulate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "real"))
		return cmd_real(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return cmd_sweep(argc - 1, argv + 1);
	say("unknown command '%s' (try --help)", argv[1]);
	return EXIT_USAGE;
}

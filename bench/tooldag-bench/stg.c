/* SPDX-License-Identifier: MIT */
/*
 * stg.c - reading a Standard Task Graph Set file into a dag.
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

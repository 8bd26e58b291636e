/* SPDX-License-Identifier: MIT */
/*
 * optima.c - reading OPTIMA.tsv: a header line naming at least the columns graph, m, optimum,
 * lower, upper and status (any order, others ignored), then one row per graph and m. status
 * `published` or `proven` makes `optimum` an optimum; `bounds` means only lower and upper are
 * known (optimum empty). Every malformed row is an error naming FILE:LINE.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tooldag-bench/bench.h"
#include "tooldag-bench/optima.h"

enum { C_GRAPH, C_M, C_OPT, C_LO, C_HI, C_STATUS, C_N };
static const char *const COLS[C_N] = {"graph", "m", "optimum", "lower", "upper", "status"};

/* Splits line at tabs into at most max cells; returns the count. */
static size_t cells(char *line, char **cell, size_t max)
{
	size_t n = 0;
	char *p = line, *tab;

	while (n < max) {
		cell[n++] = p;
		if (!(tab = strchr(p, '\t')))
			break;
		*tab = '\0';
		p = tab + 1;
	}
	return n;
}

/* "" -> 0 (allowed when blank_ok); else a finite number > 0. */
static int number(const char *s, int blank_ok, double *out)
{
	char *end;

	*out = 0;
	if (!*s)
		return blank_ok ? 0 : -1;
	*out = strtod(s, &end);
	return *end || !isfinite(*out) || *out <= 0 ? -1 : 0;
}

/* Why a row is malformed, or NULL when it is fine (e filled in). */
static const char *row_error(char **cell, const int *col, struct optimum *e)
{
	const char *st = cell[col[C_STATUS]];
	int known = !strcmp(st, "published") || !strcmp(st, "proven");
	long m;

	if (!*cell[col[C_GRAPH]] || parse_long(cell[col[C_M]], 1, 1000000, &m) < 0)
		return "expected a graph and an m in 1..1000000";
	if (!known && strcmp(st, "bounds"))
		return "expected the status published, proven or bounds";
	if ((!known && *cell[col[C_OPT]]) || number(cell[col[C_OPT]], !known, &e->optimum) < 0 ||
	    number(cell[col[C_LO]], known, &e->lower) < 0 ||
	    number(cell[col[C_HI]], known, &e->upper) < 0)
		return "optimum, lower and upper must be numbers > 0 (no optimum with status "
		       "bounds; lower and upper may be left empty when the optimum is known)";
	if (known && !e->lower)
		e->lower = e->optimum;
	if (known && !e->upper)
		e->upper = e->optimum;
	if (e->lower > e->upper || (known && (e->optimum < e->lower || e->optimum > e->upper)))
		return "needs lower <= optimum <= upper";
	e->m = (unsigned)m;
	return NULL;
}

static int row(struct optima *o, char **cell, const int *col, unsigned line)
{
	struct optimum e = {0};
	const char *err = row_error(cell, col, &e);

	if (err) {
		say("%s:%u: %s", o->path, line, err);
		return -1;
	}
	e.graph = xstrdup(cell[col[C_GRAPH]]);
	o->e = xrealloc(o->e, o->n + 1, sizeof(*o->e));
	o->e[o->n++] = e;
	return 0;
}

int optima_load(const char *path, struct optima *o)
{
	char *buf, *line, *next, *cell[32], dir[PATH_MAX], *slash;
	int col[C_N], rc = -1;
	unsigned lineno = 0;
	size_t len, n, k, c;

	memset(o, 0, sizeof(*o));
	o->path = path;
	if (!(buf = read_file(path, &len)))
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	o->dir = realpath(slash ? (*dir ? dir : "/") : ".", NULL);
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (line[strcspn(line, "\r")] == '\r')
			line[strcspn(line, "\r")] = '\0';
		if (!*line)
			continue;
		n = cells(line, cell, sizeof(cell) / sizeof(cell[0]));
		if (lineno == 1) {
			for (k = 0; k < C_N; k++) {
				for (c = 0; c < n && strcmp(cell[c], COLS[k]); c++)
					;
				if (c == n) {
					say("%s:1: not an optima table: no column '%s' in the "
					    "header "
					    "(needs graph, m, optimum, lower, upper, status)",
					    path, COLS[k]);
					goto out;
				}
				col[k] = (int)c;
			}
			continue;
		}
		for (k = 0; k < C_N; k++)
			if ((size_t)col[k] >= n) {
				say("%s:%u: %zu columns, the header has more", path, lineno, n);
				goto out;
			}
		if (row(o, cell, col, lineno) < 0)
			goto out;
	}
	if (lineno == 0)
		say("%s: empty: not an optima table", path);
	else if (!o->dir)
		say("%s: cannot resolve its folder", path);
	else
		rc = 0;
out:
	free(buf);
	if (rc < 0)
		optima_free(o);
	return rc;
}

void optima_free(struct optima *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->e[i].graph);
	free(o->e);
	free(o->dir);
	memset(o, 0, sizeof(*o));
}

char *optima_key(const struct optima *o, const char *graph_path)
{
	char *abs = realpath(graph_path, NULL), *key = NULL;
	size_t d = o->dir ? strlen(o->dir) : 0;

	if (abs && d && !strncmp(abs, o->dir, d) && abs[d] == '/')
		key = xstrdup(abs + d + 1);
	else if (abs && d == 1 && abs[0] == '/')
		key = xstrdup(abs + 1);
	free(abs);
	return key;
}

const struct optimum *optima_find(const struct optima *o, const char *key, unsigned m)
{
	size_t i;

	for (i = 0; key && i < o->n; i++)
		if (o->e[i].m == m && !strcmp(o->e[i].graph, key))
			return &o->e[i];
	return NULL;
}

int optima_has(const struct optima *o, const char *key)
{
	size_t i;

	for (i = 0; key && i < o->n; i++)
		if (!strcmp(o->e[i].graph, key))
			return 1;
	return 0;
}

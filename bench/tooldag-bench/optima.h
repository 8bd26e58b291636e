/* SPDX-License-Identifier: MIT */
/*
 * optima.h - a table of optimum schedule lengths and bounds (data/stg/OPTIMA.tsv): one row per
 * graph and processor count, the graph named by its path relative to the table's folder.
 */
#ifndef TD_BENCH_OPTIMA_H
#define TD_BENCH_OPTIMA_H

#include <stddef.h>

struct optimum {
	char *graph; /* relative to the table's folder */
	unsigned m;
	double optimum, lower, upper; /* in the table's units; optimum 0 when only bounds */
};

struct optima {
	const char *path;
	char *dir; /* the table's folder, resolved */
	struct optimum *e;
	size_t n;
};

/* Reads the table; says why and returns -1 when it cannot be read or a row is malformed. */
int optima_load(const char *path, struct optima *o);
void optima_free(struct optima *o);
/* The graph file's path relative to the table's folder (malloc'd), NULL when outside it. */
char *optima_key(const struct optima *o, const char *graph_path);
/* The row for key at m, or NULL. */
const struct optimum *optima_find(const struct optima *o, const char *key, unsigned m);
/* Whether any row names key. */
int optima_has(const struct optima *o, const char *key);

#endif /* TD_BENCH_OPTIMA_H */

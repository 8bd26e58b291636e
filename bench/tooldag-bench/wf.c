/* SPDX-License-Identifier: MIT */
/*
 * wf.c - reading a WfCommons instance (WfFormat JSON, schema 1.4 and 1.5) into a dag.
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

#include <cjson/cJSON.h>

#include "tooldag-bench/bench.h"

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

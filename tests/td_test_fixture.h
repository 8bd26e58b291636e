/* SPDX-License-Identifier: MIT */
/*
 * td_test_fixture.h - hand-built graphs, batches and plans for executor tests (no YAML, no JSON
 * decoding, no planner: those modules are tested on their own), and a fake backend that runs
 * no process: jobs complete when the test says, or after a scripted duration on the run's
 * clock (virtual time: no ring, no kernel timer).
 *
 *   struct fx f; fx_init(&f, "/tmp");
 *   int t = fx_tool(&f, "a", TD_KIND_BUILTIN);       f.g.tools[t].lim.concurrency = 2; ...
 *   fx_tool_dep(&f, t2, t);                             tool-level edge (through a barrier)
 *   int c = fx_call(&f, "id1", "a", "{\"ms\":5}");   fx_call_dep(&f, c2, c);
 *   fx_plan(&f);                                        CSR + levels like plan.c builds them
 *   ... td_run_new(&f.p, ...) ...
 *   fx_free(&f);
 */
#ifndef TD_TEST_FIXTURE_H
#define TD_TEST_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "calls/batch.h"
#include "load/graph.h"
#include "plan/plan.h"
#include "run/backend.h"
#include "run/run.h"

#define FX_MAX_TOOLS 16
#define FX_MAX_EDGES 65536

struct fx {
	struct td_graph g;
	struct td_batch b;
	struct td_plan p;
	size_t cap;
	uint32_t tdep_from[64], tdep_to[64]; /* tool-level: tools[from] depends on tools[to] */
	size_t ntdeps;
};

/* td_run_result(): 0 for a call with its result, TD_ESTATE (out still filled: pending or
 * running) for one without. */
static inline void fx_result(const struct td_run *r, size_t c, struct td_result *out)
{
	int rc = td_run_result(r, c, out);

	ck_assert_int_eq(rc, out->status == TD_STATUS_PENDING || out->status == TD_STATUS_RUNNING
	                         ? TD_ESTATE
	                         : 0);
}

static inline void fx_init_cap(struct fx *f, const char *dir, size_t cap)
{
	memset(f, 0, sizeof(*f));
	f->cap = cap;
	f->g.name = strdup("fixture.yaml");
	f->g.dir = dir ? strdup(dir) : NULL;
	f->g.concurrency = TD_DEFAULT_CONCURRENCY;
	f->g.tools = calloc(FX_MAX_TOOLS, sizeof(*f->g.tools));
	f->b.graph = &f->g;
	f->b.dialect = TD_DIALECT_ANTHROPIC;
	f->b.calls = calloc(cap, sizeof(*f->b.calls));
	f->b.edge_from = calloc(FX_MAX_EDGES, sizeof(uint32_t));
	f->b.edge_to = calloc(FX_MAX_EDGES, sizeof(uint32_t));
}

static inline void fx_init(struct fx *f, const char *dir)
{
	fx_init_cap(f, dir, 4096);
}

/* A tool with default limits; run tools get argv from fx_argv(). */
static inline int fx_tool(struct fx *f, const char *name, enum td__kind kind)
{
	struct td__tool *t = &f->g.tools[f->g.ntools];

	t->name = strdup(name);
	t->kind = kind;
	t->lim.timeout_us = TD_DEFAULT_TIMEOUT_US;
	t->lim.max_output = TD_DEFAULT_MAX_OUTPUT;
	t->lim.backoff_us = TD_DEFAULT_BACKOFF_US;
	return (int)f->g.ntools++;
}

/* argv from a NULL-terminated list */
static inline void fx_argv(struct fx *f, int tool, const char *const *argv)
{
	struct td__tool *t = &f->g.tools[tool];
	size_t n = 0, i;

	while (argv[n])
		n++;
	t->argv = calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		t->argv[i] = strdup(argv[i]);
	t->argc = n;
}

static inline void fx_env(struct fx *f, int tool, const char *key, const char *value)
{
	struct td__tool *t = &f->g.tools[tool];

	t->env = realloc(t->env, (t->nenv + 1) * sizeof(*t->env));
	t->env[t->nenv].key = strdup(key);
	t->env[t->nenv].value = strdup(value);
	t->nenv++;
}

static inline void fx_tool_dep(struct fx *f, int tool, int dep)
{
	f->tdep_from[f->ntdeps] = (uint32_t)tool;
	f->tdep_to[f->ntdeps++] = (uint32_t)dep;
}

static inline int fx_find_tool(const struct fx *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->g.ntools; i++)
		if (!strcmp(f->g.tools[i].name, name))
			return (int)i;
	return -1;
}

static inline int fx_call_err(struct fx *f, const char *id, const char *tool, const char *input,
                              const char *error)
{
	struct td__call *c = &f->b.calls[f->b.ncalls];
	size_t len;

	/* the batch's layout (td__call_pack), an input of "{}" not stored */
	if (!input || !strcmp(input, "{}"))
		input = NULL;
	len = input ? strlen(input) : 0;
	td__call_pack(c, malloc(td__call_bytes(id, input, len, error)), id, input, len, error);
	c->name = strdup(tool);
	c->tool = fx_find_tool(f, tool);
	return (int)f->b.ncalls++;
}

static inline int fx_call(struct fx *f, const char *id, const char *tool, const char *input)
{
	return fx_call_err(f, id, tool, input, NULL);
}

static inline void fx_call_dep(struct fx *f, int call, int dep)
{
	f->b.edge_from[f->b.nedges] = (uint32_t)call;
	f->b.edge_to[f->b.nedges++] = (uint32_t)dep;
}

/* Edge list -> CSR (pred and succ) over nnodes. */
static inline void fx_csr(struct fx *f, const uint32_t *from, const uint32_t *to, size_t n)
{
	struct td_plan *p = &f->p;
	uint32_t *fill;
	size_t i;

	p->pred_off = calloc(p->nnodes + 1, sizeof(uint32_t));
	p->succ_off = calloc(p->nnodes + 1, sizeof(uint32_t));
	p->pred = calloc(n + 1, sizeof(uint32_t));
	p->succ = calloc(n + 1, sizeof(uint32_t));
	for (i = 0; i < n; i++) {
		p->pred_off[from[i] + 1]++;
		p->succ_off[to[i] + 1]++;
	}
	for (i = 0; i < p->nnodes; i++) {
		p->pred_off[i + 1] += p->pred_off[i];
		p->succ_off[i + 1] += p->succ_off[i];
	}
	fill = calloc(p->nnodes + 1, sizeof(uint32_t));
	for (i = 0; i < n; i++)
		p->pred[p->pred_off[from[i]] + fill[from[i]]++] = to[i];
	memset(fill, 0, (p->nnodes + 1) * sizeof(uint32_t));
	for (i = 0; i < n; i++)
		p->succ[p->succ_off[to[i]] + fill[to[i]]++] = from[i];
	free(fill);
}

/* Levels by relaxation (fine for test sizes): node level = 1 + max over preds (barriers
 * pass their preds' level through unchanged, as calls' dependencies). */
static inline void fx_levels(struct fx *f)
{
	struct td_plan *p = &f->p;
	int32_t *lv = calloc(p->nnodes, sizeof(int32_t));
	uint32_t i, k, changed = 1, maxl = 0, *cnt;

	while (changed) {
		changed = 0;
		for (i = 0; i < p->nnodes; i++) {
			int32_t l = 0;

			for (k = p->pred_off[i]; k < p->pred_off[i + 1]; k++) {
				uint32_t d = p->pred[k];
				int32_t dl = d < p->ncalls ? lv[d] + 1 : lv[d];

				if (dl > l)
					l = dl;
			}
			if (l != lv[i]) {
				lv[i] = l;
				changed = 1;
			}
		}
	}
	p->level = calloc(p->ncalls + 1, sizeof(int32_t));
	for (i = 0; i < p->ncalls; i++) {
		p->level[i] = lv[i];
		if ((uint32_t)lv[i] > maxl)
			maxl = (uint32_t)lv[i];
	}
	p->nlevels = p->ncalls ? maxl + 1 : 0;
	p->level_off = calloc(p->nlevels + 2, sizeof(uint32_t));
	cnt = calloc(p->nlevels + 1, sizeof(uint32_t));
	for (i = 0; i < p->ncalls; i++)
		if (!f->b.calls[i].has_error)
			p->level_off[lv[i] + 1]++;
	for (i = 0; i < p->nlevels; i++)
		p->level_off[i + 1] += p->level_off[i];
	p->order = calloc(p->ncalls + 1, sizeof(uint32_t));
	for (i = 0; i < p->ncalls; i++)
		if (!f->b.calls[i].has_error)
			p->order[p->level_off[lv[i]] + cnt[lv[i]]++] = i;
	free(cnt);
	free(lv);
}

/* Builds the plan: explicit edges between calls, and one barrier per depended-on tool. */
static inline void fx_plan(struct fx *f)
{
	struct td_plan *p = &f->p;
	uint32_t *from = calloc(FX_MAX_EDGES, sizeof(uint32_t));
	uint32_t *to = calloc(FX_MAX_EDGES, sizeof(uint32_t));
	int barrier_of[FX_MAX_TOOLS];
	size_t n = 0, i, c;

	p->batch = &f->b;
	p->ncalls = (uint32_t)f->b.ncalls;
	p->nnodes = p->ncalls;
	p->barrier_tool = calloc(FX_MAX_TOOLS, sizeof(uint32_t));
	for (i = 0; i < FX_MAX_TOOLS; i++)
		barrier_of[i] = -1;
	for (i = 0; i < f->ntdeps; i++) {
		uint32_t t = f->tdep_to[i];

		if (barrier_of[t] >= 0)
			continue;
		barrier_of[t] = (int)p->nnodes;
		p->barrier_tool[p->nnodes - p->ncalls] = t;
		p->nnodes++;
		for (c = 0; c < f->b.ncalls; c++)
			if (f->b.calls[c].tool == (int32_t)t) {
				from[n] = (uint32_t)barrier_of[t];
				to[n++] = (uint32_t)c;
			}
	}
	for (i = 0; i < f->ntdeps; i++)
		for (c = 0; c < f->b.ncalls; c++)
			if (f->b.calls[c].tool == (int32_t)f->tdep_from[i]) {
				from[n] = (uint32_t)c;
				to[n++] = (uint32_t)barrier_of[f->tdep_to[i]];
			}
	for (i = 0; i < f->b.nedges; i++) {
		from[n] = f->b.edge_from[i];
		to[n++] = f->b.edge_to[i];
	}
	fx_csr(f, from, to, n);
	fx_levels(f);
	free(from);
	free(to);
}

static inline void fx_free(struct fx *f)
{
	size_t i, k;

	for (i = 0; i < f->g.ntools; i++) {
		struct td__tool *t = &f->g.tools[i];

		free(t->name);
		for (k = 0; t->argv && t->argv[k]; k++)
			free(t->argv[k]);
		free(t->argv);
		for (k = 0; k < t->nenv; k++) {
			free(t->env[k].key);
			free(t->env[k].value);
		}
		free(t->env);
		free(t->cwd);
	}
	for (i = 0; i < f->b.ncalls; i++) {
		free((void *)f->b.calls[i].id);
		free((void *)f->b.calls[i].name);
	}
	free(f->g.tools);
	free(f->g.name);
	free(f->g.dir);
	free(f->b.calls);
	free(f->b.edge_from);
	free(f->b.edge_to);
	free(f->p.barrier_tool);
	free(f->p.pred_off);
	free(f->p.pred);
	free(f->p.succ_off);
	free(f->p.succ);
	free(f->p.level);
	free(f->p.level_off);
	free(f->p.order);
}

/* ---- the fake backend ---- */

struct fake_event {
	uint32_t call;
	int start; /* 1 start, 0 end */
	int64_t at_us;
};

struct fake {
	struct td__backend be;
	int manual;                /* 1: jobs wait for fake_complete(); 0: end after duration */
	int64_t dur_us[4096];      /* per call, auto mode (default 1 ms) */
	unsigned fail_first[4096]; /* per call: this many attempts fail (exit 1) */
	int timeout_first[4096];   /* per call: failing attempts time out instead */
	struct td__job *running[4096];
	size_t nrunning;
	unsigned inflight, max_inflight;
	unsigned tool_inflight[FX_MAX_TOOLS], tool_max[FX_MAX_TOOLS];
	struct fake_event ev[16384];
	size_t nev;
	unsigned kills;
	char stdin_seen[4096][512]; /* first bytes of each call's last stdin */
};

static inline void fake_event(struct fake *fk, uint32_t call, int start)
{
	if (fk->nev < sizeof(fk->ev) / sizeof(fk->ev[0])) {
		fk->ev[fk->nev].call = call;
		fk->ev[fk->nev].start = start;
		fk->ev[fk->nev].at_us = td__clock_now(fk->be.clock);
		fk->nev++;
	}
}

/* Ends a running job with status and content (manual mode, or from the timer). */
static inline void fake_complete(struct fake *fk, struct td__job *j, enum td_status st,
                                 const char *content)
{
	size_t i;

	for (i = 0; i < fk->nrunning && fk->running[i] != j; i++)
		;
	if (i == fk->nrunning)
		return;
	fk->running[i] = fk->running[--fk->nrunning];
	fk->inflight--;
	fk->tool_inflight[j->tool - j->graph->tools]--;
	fake_event(fk, j->call, 0);
	td__job_set_content(j, st, content, strlen(content));
	j->exit_code = st == TD_STATUS_OK ? 0 : st == TD_STATUS_ERROR ? 1 : -1;
	j->signal = st == TD_STATUS_TIMEOUT ? 15 : 0;
	fk->be.done(fk->be.ud, j);
}

static inline void fake_timer(struct td__timer *t)
{
	struct td__job *j = (struct td__job *)((char *)t - offsetof(struct td__job, timer));
	struct fake *fk = (struct fake *)j->be;
	char text[64];
	enum td_status st = TD_STATUS_OK;

	if (j->attempt <= fk->fail_first[j->call])
		st = fk->timeout_first[j->call] ? TD_STATUS_TIMEOUT : TD_STATUS_ERROR;
	snprintf(text, sizeof(text), "%s#%u", j->input, j->attempt);
	fake_complete(fk, j, st, st == TD_STATUS_OK ? j->input : text);
}

static inline int fake_start(struct td__backend *be, struct td__job *j)
{
	struct fake *fk = (struct fake *)be;
	size_t t = (size_t)(j->tool - j->graph->tools);
	size_t n = j->stdin_len < 511 ? j->stdin_len : 511;

	memcpy(fk->stdin_seen[j->call], j->stdin_data, n);
	fk->stdin_seen[j->call][n] = '\0';
	fk->running[fk->nrunning++] = j;
	if (++fk->inflight > fk->max_inflight)
		fk->max_inflight = fk->inflight;
	if (++fk->tool_inflight[t] > fk->tool_max[t])
		fk->tool_max[t] = fk->tool_inflight[t];
	fake_event(fk, j->call, 1);
	j->timer.fn = fake_timer;
	if (!fk->manual)
		td__clock_arm(be->clock, &j->timer,
		              td__clock_now(be->clock) +
		                  (fk->dur_us[j->call] ? fk->dur_us[j->call] : 1000));
	return 0;
}

static inline void fake_kill(struct td__backend *be, struct td__job *j)
{
	struct fake *fk = (struct fake *)be;

	fk->kills++;
	td__clock_disarm(be->clock, &j->timer);
	fake_complete(fk, j, TD_STATUS_ERROR, "killed");
}

static inline void fake_free(struct td__backend *be)
{
	(void)be;
}

static inline struct fake *fake_new(int manual)
{
	struct fake *fk = calloc(1, sizeof(*fk));

	fk->manual = manual;
	fk->be.start = fake_start;
	fk->be.kill = fake_kill;
	fk->be.kill_now = fake_kill;
	fk->be.free = fake_free;
	return fk;
}

/* Running job of call c, or NULL. */
static inline struct td__job *fake_job(struct fake *fk, uint32_t c)
{
	size_t i;

	for (i = 0; i < fk->nrunning; i++)
		if (fk->running[i]->call == c)
			return fk->running[i];
	return NULL;
}

/* Time of call c's n-th start (1-based) or end event, -1 if absent. */
static inline int64_t fake_when(const struct fake *fk, uint32_t c, int start, unsigned nth)
{
	size_t i;

	for (i = 0; i < fk->nev; i++)
		if (fk->ev[i].call == c && fk->ev[i].start == start && !--nth)
			return fk->ev[i].at_us;
	return -1;
}

#endif /* TD_TEST_FIXTURE_H */

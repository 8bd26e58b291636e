/* SPDX-License-Identifier: MIT */
/*
 * history.c - td_history: what each tool's calls took, learned from runs (an exponentially
 * weighted mean and the 95th percentile of its recent durations), per tool and per tool and
 * input (where the same input comes back, its own duration says more than the tool's mean),
 * kept in a small file that every run using it updates, and given to the level and critical
 * policies as call durations (td__sched_set_costs(), the path the simulator's durations take).
 *
 * The file is bounded: at most HIST_TOOLS tools (the least recently updated go first) with
 * HIST_RECENT recent durations each, and HIST_INPUTS inputs (inputs seen once go first, then
 * the least recently updated) with HIST_INPUT_RECENT each; a run adds at most HIST_INPUTS new
 * inputs. Runs update it under flock() on "FILE.lock": read the file as it is now, merge this
 * run's durations, write "FILE.tmp.PID", rename() it over FILE. So two runs finishing at once
 * both land (the second reads what the first wrote), and a reader (or a crash) sees the old
 * file or the new one, never half of one.
 *
 * Format, one JSON object per line: {"tooldag_durations":2} first, then per tool
 * {"tool","n","ewma_us","p95_us","seq","recent":[us...]} (seq: the update that last touched
 * it, for eviction; recent: oldest first), then per tool and input
 * {"input_of":TOOL,"input":"<16 hex>",...the same} (input: input_key(), a hash of the tool's
 * name and the call's compact input). Version 1 files (tools only) are read as they are.
 */
#include <cjson/cJSON.h>
#include <endian.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "run/run.h"

#define HIST_VERSION      2 /* 1: tools only */
#define HIST_TOOLS        1024u
#define HIST_RECENT       64u
#define HIST_INPUTS       4096u
#define HIST_INPUT_RECENT 16u
#define HIST_ALPHA        0.25 /* weight of a new duration in the mean */

/* A tool's durations, or (key != 0) those of its calls with one input. */
struct hist_tool {
	char *name;   /* the tool's */
	uint64_t key; /* input_key(); 0: the tool's own entry */
	uint64_t n, seq;
	double ewma;
	int64_t recent[HIST_RECENT]; /* a ring of cap: the oldest at head once full */
	uint32_t nrecent, head, cap;
};

struct hist_table {
	struct hist_tool *v; /* per tool */
	size_t n;
	struct hist_tool *in; /* per tool and input */
	size_t nin, in_cap;
	uint32_t *idx; /* open addressing over in[] by key: index + 1, 0 empty */
	size_t idx_mask;
	uint64_t seq; /* the highest seq in the table */
};

struct td_history {
	struct td__run_hook hook; /* first: td_run_opts.history is read through it */
	char *path;
	pthread_mutex_t lock; /* runs on several threads share one history */
	struct hist_table t;  /* as last read or written */
	int err;
};

/* One run using the history. */
struct hist_run {
	struct td_history *h;
	const struct td_run *run;
	int64_t *cost_us; /* [ncalls], handed to the scheduler; NULL under eager */
	uint64_t *keys;   /* [nkeys]: input_key() of each call, when set_costs() made them */
	uint32_t nkeys;   /* the calls the run had then (a streamed run's grow) */
	int done;
};

/* ---- the table ---- */

static void table_free(struct hist_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	for (i = 0; i < t->nin; i++)
		free(t->in[i].name);
	free(t->v);
	free(t->in);
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

/* ---- inputs: hashed, indexed ---- */

#define KEY_MUL 0x9e3779b97f4a7c15ull

/* A 64-bit hash of n bytes, eight at a time (little-endian words: the same on every host). */
static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ le64toh(w)) * KEY_MUL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ le64toh(w) ^ (uint64_t)n << 61) * KEY_MUL;
	return h ^ h >> 29;
}

/* The key of a tool's calls with one input: its name's hash (name_key()), then the compact
 * input's bytes; never 0. */
static uint64_t name_key(const char *name)
{
	return hash_bytes(0x5bd1e9955bd1e995ull, name, strlen(name) + 1);
}

static uint64_t input_key(uint64_t name_key, const char *input, size_t len)
{
	uint64_t k = hash_bytes(name_key, input, len);

	return k ? k : 1;
}

static struct hist_tool *input_find(const struct hist_table *t, uint64_t key)
{
	size_t i;

	if (!t->idx)
		return NULL;
	for (i = (size_t)(key * KEY_MUL >> 32) & t->idx_mask; t->idx[i]; i = (i + 1) & t->idx_mask)
		if (t->in[t->idx[i] - 1].key == key)
			return &t->in[t->idx[i] - 1];
	return NULL;
}

/* The index over in[] made again, with room for twice as many; 0 or TD_ENOMEM. */
static int index_build(struct hist_table *t)
{
	size_t cap = 16, i, k;

	while (cap < 2 * t->nin + 2)
		cap *= 2;
	free(t->idx);
	t->idx = calloc(cap, sizeof(*t->idx));
	t->idx_mask = cap - 1;
	if (!t->idx)
		return TD_ENOMEM;
	for (i = 0; i < t->nin; i++) {
		for (k = (size_t)(t->in[i].key * KEY_MUL >> 32) & t->idx_mask; t->idx[k];
		     k = (k + 1) & t->idx_mask)
			;
		t->idx[k] = (uint32_t)i + 1;
	}
	return 0;
}

/* A new entry for tool `name` with this input key; NULL: no memory. */
static struct hist_tool *input_new(struct hist_table *t, const char *name, uint64_t key)
{
	struct hist_tool *v, *e;
	char *copy = strdup(name);
	size_t k;

	if (!copy)
		return NULL;
	if (t->nin == t->in_cap) { /* room doubles: a run may add thousands */
		v = realloc(t->in, (t->in_cap ? 2 * t->in_cap : 16) * sizeof(*v));
		if (!v) {
			free(copy);
			return NULL;
		}
		t->in = v;
		t->in_cap = t->in_cap ? 2 * t->in_cap : 16;
	}
	e = &t->in[t->nin++];
	memset(e, 0, sizeof(*e));
	e->name = copy;
	e->key = key;
	e->cap = HIST_INPUT_RECENT;
	if (!t->idx || 2 * t->nin + 2 > t->idx_mask + 1) /* the build places it too */
		return index_build(t) < 0 ? NULL : e;
	for (k = (size_t)(key * KEY_MUL >> 32) & t->idx_mask; t->idx[k]; k = (k + 1) & t->idx_mask)
		;
	t->idx[k] = (uint32_t)t->nin;
	return e;
}

/* Kept first: inputs seen more than once, then the most recently updated. */
static int cmp_keep(const void *a, const void *b)
{
	const struct hist_tool *x = a, *y = b;
	int rx = x->n > 1, ry = y->n > 1;

	if (rx != ry)
		return ry - rx;
	return (y->seq > x->seq) - (y->seq < x->seq);
}

/* Back to HIST_INPUTS inputs at most; 0 or TD_ENOMEM. */
static int inputs_bound(struct hist_table *t)
{
	size_t i;

	if (t->nin <= HIST_INPUTS)
		return 0;
	qsort(t->in, t->nin, sizeof(*t->in), cmp_keep);
	for (i = HIST_INPUTS; i < t->nin; i++)
		free(t->in[i].name);
	t->nin = HIST_INPUTS;
	return index_build(t);
}

static struct hist_tool *table_find(const struct hist_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

/* The tool's entry, made (in the place of the least recently updated one when full: entries
 * never move but for realloc, so an index into v stays good); NULL: no memory. */
static struct hist_tool *table_get(struct hist_table *t, const char *name)
{
	struct hist_tool *e = table_find(t, name), *v;
	char *copy;
	size_t i, old = 0;

	if (e)
		return e;
	if (!(copy = strdup(name)))
		return NULL;
	if (t->n == HIST_TOOLS) {
		for (i = 1; i < t->n; i++)
			if (t->v[i].seq < t->v[old].seq)
				old = i;
		e = &t->v[old];
		free(e->name);
	} else {
		v = realloc(t->v, (t->n + 1) * sizeof(*v));
		if (!v) {
			free(copy);
			return NULL;
		}
		t->v = v;
		e = &t->v[t->n++];
	}
	memset(e, 0, sizeof(*e));
	e->name = copy;
	e->cap = HIST_RECENT;
	return e;
}

static void tool_add(struct hist_tool *e, int64_t us, uint64_t seq)
{
	e->ewma = e->n ? e->ewma + HIST_ALPHA * ((double)us - e->ewma) : (double)us;
	e->n++;
	e->seq = seq;
	if (e->nrecent < e->cap) {
		e->recent[e->nrecent++] = us;
		return;
	}
	e->recent[e->head] = us;
	if (++e->head == e->cap) /* not %: a division per call would be most of a merge's time */
		e->head = 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The 95th percentile of the recent durations (nearest rank). */
static int64_t tool_p95(const struct hist_tool *e)
{
	int64_t s[HIST_RECENT];
	uint32_t k;

	if (!e->nrecent)
		return 0;
	memcpy(s, e->recent, e->nrecent * sizeof(s[0]));
	qsort(s, e->nrecent, sizeof(s[0]), cmp_i64);
	k = (e->nrecent * 95 + 99) / 100;
	return s[k ? k - 1 : 0];
}

/* ---- the file ---- */

/* An input entry's key from its "input" member (16 hex digits, not 0); 0 when it is not one. */
static uint64_t key_of(const cJSON *v)
{
	char *end;
	uint64_t k;

	if (!cJSON_IsString(v) || strlen(v->valuestring) != 16)
		return 0;
	errno = 0;
	k = strtoull(v->valuestring, &end, 16);
	return errno || *end ? 0 : k;
}

/* Whether v is a count or a duration: a whole number from 0 to 2^53 */
static int whole(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
	       v->valuedouble == (double)(int64_t)v->valuedouble;
}

/* Why entry o is not one (NULL: it is): a member missing or out of its range. */
static const char *refused(const cJSON *o, const cJSON *name, int input_of, uint64_t key)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
	const cJSON *ewma = cJSON_GetObjectItemCaseSensitive(o, "ewma_us");
	const cJSON *recent = cJSON_GetObjectItemCaseSensitive(o, "recent"), *r;

	if (!cJSON_IsString(name))
		return input_of ? "\"input_of\" is not a tool name" : "no \"tool\" name";
	if (input_of && !key)
		return "\"input\" is not 16 hexadecimal digits";
	if (!whole(n) || n->valuedouble < 1)
		return "\"n\" is not a count of 1 or more";
	if (!cJSON_IsNumber(ewma) || !(ewma->valuedouble >= 0))
		return "\"ewma_us\" is not a duration";
	if (!whole(cJSON_GetObjectItemCaseSensitive(o, "seq")))
		return "\"seq\" is not a count";
	if (recent && !cJSON_IsArray(recent))
		return "\"recent\" is not a list of durations";
	cJSON_ArrayForEach(r, recent)
	{
		if (!whole(r))
			return "\"recent\" holds a value that is not a duration";
	}
	return NULL;
}

/* One line after the first: a tool's entry, or with "input_of" an input's; *why says what is
 * wrong with one that is refused (TD_ESYNTAX). */
static int read_tool(struct hist_table *t, const cJSON *o, const char **why)
{
	const cJSON *input_of = cJSON_GetObjectItemCaseSensitive(o, "input_of");
	const cJSON *name = input_of ? input_of : cJSON_GetObjectItemCaseSensitive(o, "tool");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
	const cJSON *ewma = cJSON_GetObjectItemCaseSensitive(o, "ewma_us");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
	uint64_t key = input_of ? key_of(cJSON_GetObjectItemCaseSensitive(o, "input")) : 0;
	const cJSON *r;
	struct hist_tool *e;

	if ((*why = refused(o, name, input_of != NULL, key)))
		return TD_ESYNTAX;
	if (input_of && input_find(t, key)) {
		*why = "an input twice";
		return TD_ESYNTAX;
	}
	e = input_of ? input_new(t, name->valuestring, key) : table_get(t, name->valuestring);
	if (!e)
		return TD_ENOMEM;
	e->n = (uint64_t)n->valuedouble;
	e->ewma = ewma->valuedouble;
	e->seq = (uint64_t)seq->valuedouble;
	if (e->seq > t->seq)
		t->seq = e->seq;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(o, "recent"))
	{
		if (e->nrecent < e->cap)
			e->recent[e->nrecent++] = (int64_t)r->valuedouble;
	}
	return 0;
}

/* The first line: {"tooldag_durations":1 or 2}; *why says what else it is. */
static int read_head(const cJSON *o, const char **why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "tooldag_durations");

	*why = !cJSON_IsNumber(v) ? "no \"tooldag_durations\" version"
	       : v->valuedouble != 1 && v->valuedouble != HIST_VERSION
	           ? "a version this tooldag does not read (1 and 2)"
	           : NULL;
	return *why ? TD_ESYNTAX : 0;
}

/* Reads path into t (empty when the file does not exist). */
static int table_read(struct hist_table *t, const char *path, struct td_diag *diag)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;
	const char *why = NULL;
	int err = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!err && getline(&line, &cap, f) > 0) {
		cJSON *o = cJSON_Parse(line);

		no++;
		why = NULL;
		if (!o || !cJSON_IsObject(o))
			err = TD_ESYNTAX;
		else if (no == 1)
			err = read_head(o, &why);
		else
			err = read_tool(t, o, &why);
		cJSON_Delete(o);
	}
	free(line);
	fclose(f);
	if (err)
		td__diag_add(diag, err, path, no, 0, "not a tooldag durations file (%s)",
		             why ? why : td_strerror(err));
	return err;
}

static void put_tool(struct td__buf *b, const struct hist_tool *e)
{
	uint32_t i;

	td__buf_puts(b, e->key ? "{\"input_of\":" : "{\"tool\":");
	td__buf_json_string(b, e->name, strlen(e->name));
	if (e->key)
		td__buf_printf(b, ",\"input\":\"%016llx\"", (unsigned long long)e->key);
	td__buf_printf(b, ",\"n\":%llu,\"ewma_us\":%.0f,\"p95_us\":%lld,\"seq\":%llu,\"recent\":[",
	               (unsigned long long)e->n, e->ewma, (long long)tool_p95(e),
	               (unsigned long long)e->seq);
	for (i = 0; i < e->nrecent; i++)
		td__buf_printf(b, i ? ",%lld" : "%lld",
		               (long long)e->recent[(e->head + i) % e->cap]);
	td__buf_puts(b, "]}\n");
}

/* Writes t to path through a temporary file renamed over it. */
static int table_write(const struct hist_table *t, const char *path)
{
	struct td__buf b = {0}, tmp = {0};
	size_t i;
	int fd, err = 0;

	td__buf_printf(&b, "{\"tooldag_durations\":%d}\n", HIST_VERSION);
	for (i = 0; i < t->n; i++)
		put_tool(&b, &t->v[i]);
	for (i = 0; i < t->nin; i++)
		put_tool(&b, &t->in[i]);
	td__buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if (b.oom || tmp.oom) {
		err = TD_ENOMEM;
	} else if ((fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		err = -errno;
	} else {
		if (write(fd, b.data, b.len) != (ssize_t)b.len)
			err = -EIO;
		if (close(fd) < 0 && !err)
			err = -errno;
		if (!err && rename(tmp.data, path) < 0)
			err = -errno;
		if (err)
			unlink(tmp.data);
	}
	td__buf_free(&b);
	td__buf_free(&tmp);
	return err;
}

/* ---- a run: durations in, durations out ---- */

/* Each tool's estimate for this graph (ewma, us); tools without one get their declared
 * `estimate`, else the median of the others, or 1 ms when none has one, so they neither
 * dominate nor vanish. */
static void estimates(const struct hist_table *t, const struct td_graph *g, int64_t *est)
{
	int64_t known[64], fallback = 1000;
	size_t k, nknown = 0;

	for (k = 0; k < g->ntools; k++) {
		const struct hist_tool *e = table_find(t, g->tools[k].name);

		est[k] = e ? (int64_t)e->ewma + 1 : -1;
		if (e && nknown < 64)
			known[nknown++] = est[k];
	}
	if (nknown) {
		qsort(known, nknown, sizeof(known[0]), cmp_i64);
		fallback = known[nknown / 2];
	}
	for (k = 0; k < g->ntools; k++)
		if (est[k] < 0)
			est[k] = g->tools[k].lim.estimate_us > 0 ? g->tools[k].lim.estimate_us
			                                         : fallback;
}

/* hr->keys: each call's input_key() (0 for a call of no known tool); 0 or TD_ENOMEM. */
static int call_keys(struct hist_run *hr, const struct td_run *r)
{
	uint64_t *names;
	uint32_t c;

	if (hr->keys && hr->nkeys == r->plan->ncalls)
		return 0;
	td__free(hr->keys);
	hr->nkeys = r->plan->ncalls;
	names = td__calloc(r->graph->ntools + 1, sizeof(*names));
	hr->keys = td__calloc(r->plan->ncalls + 1, sizeof(*hr->keys));
	if (!names || !hr->keys) {
		td__free(names);
		td__free(hr->keys);
		hr->keys = NULL;
		return TD_ENOMEM;
	}
	for (c = 0; c < r->graph->ntools; c++)
		names[c] = name_key(r->graph->tools[c].name);
	for (c = 0; c < r->plan->ncalls; c++) {
		const struct td__call *call = &r->batch->calls[c];

		hr->keys[c] = call->tool < 0 ? 0
		                             : input_key(names[call->tool], td__call_input(call),
		                                         call->input_len);
	}
	td__free(names);
	return 0;
}

/* Call c's weight: its input's mean when the history knows it, else its tool's (est[]). */
static int64_t cost_of(const struct hist_table *t, const struct hist_run *hr, const int64_t *est,
                       const struct td_run *r, uint32_t c)
{
	int32_t tool = r->batch->calls[c].tool;
	const struct hist_tool *e = t->nin ? input_find(t, hr->keys[c]) : NULL;

	return e ? (int64_t)e->ewma + 1 : tool >= 0 ? est[tool] : 1;
}

/* Call c's weight in calls' order: the call before it (*last) lends its own when they have
 * the same key (tool and input), without a lookup. */
static int64_t cost_next(const struct hist_table *t, const struct hist_run *hr, const int64_t *est,
                         const struct td_run *r, uint32_t c, int64_t *last)
{
	if (!c || hr->keys[c] != hr->keys[c - 1])
		*last = cost_of(t, hr, est, r, c);
	return *last;
}

/* Under `level` with every call as long as the others the batch order stays: no ranks, and no
 * array of costs is made (a 100,000-call batch of one tool and one input, or a history that
 * knows none of them). */
static int set_costs(struct hist_run *hr, struct td_run *r)
{
	const struct hist_table *t = &hr->h->t;
	int64_t *est = td__calloc(r->graph->ntools + 1, sizeof(*est)), first, last = 0;
	uint32_t c, n = r->plan->ncalls;
	int same = r->opts.schedule == TD_SCHEDULE_LEVEL;

	if (!est || call_keys(hr, r) < 0) {
		td__free(est);
		return TD_ENOMEM;
	}
	pthread_mutex_lock(&hr->h->lock);
	estimates(t, r->graph, est);
	first = n ? cost_next(t, hr, est, r, 0, &last) : 0;
	for (c = 1; same && c < n; c++)
		same = cost_next(t, hr, est, r, c, &last) == first;
	if (!same && (hr->cost_us = td__calloc((size_t)n + 1, sizeof(*hr->cost_us))))
		for (c = 0; c < n; c++)
			hr->cost_us[c] = cost_next(t, hr, est, r, c, &last);
	pthread_mutex_unlock(&hr->h->lock);
	td__free(est);
	if (same)
		return 0;
	return hr->cost_us ? td__sched_set_costs(r, hr->cost_us) : TD_ENOMEM;
}

/* This run's durations merged into t: each call that ended ok, its last attempt's time
 * (r->took_us: td__sched_learn()), into its tool's entry and its input's (keys: call_keys()).
 * The entries of the graph's tools are looked up once (at[]), not per call, and a call with
 * the input of the call before it (the same key) goes to the same entry without a lookup. */
static int merge_run(struct hist_table *t, const struct td_run *r, const uint64_t *keys)
{
	uint64_t seq = ++t->seq, last = 0;
	uint32_t *at = td__calloc(r->graph->ntools + 1, sizeof(*at)), c, added = 0;
	struct hist_tool *e, *in = NULL; /* in: keys[c] == last's entry (NULL: none yet) */
	int err = at ? 0 : TD_ENOMEM;
	int64_t us;

	for (c = 0; !err && r->took_us && c < r->plan->ncalls; c++) {
		int32_t tool = r->batch->calls[c].tool;

		if (tool < 0 || (us = r->took_us[c] - 1) < 0)
			continue;
		if (!at[tool]) { /* index + 1; table_get() may move the entries */
			e = table_get(t, r->graph->tools[tool].name);
			if (!e) {
				err = TD_ENOMEM;
				break;
			}
			at[tool] = (uint32_t)(e - t->v) + 1;
		}
		tool_add(&t->v[at[tool] - 1], us, seq);
		if (!in || keys[c] != last) { /* input_new() may move in[]: in is its result */
			last = keys[c];
			in = input_find(t, last);
			if (!in && added < HIST_INPUTS) {
				added++;
				if (!(in = input_new(t, r->graph->tools[tool].name, last)))
					err = TD_ENOMEM;
			}
		}
		if (in)
			tool_add(in, us, seq);
	}
	td__free(at);
	return err ? err : inputs_bound(t);
}

static int update_file(struct hist_run *hr, const struct td_run *r)
{
	struct td_history *h = hr->h;
	struct hist_table t = {0};
	struct td__buf lk = {0};
	int fd = -1, err = call_keys(hr, r); /* outside the lock */

	if (!err) {
		td__buf_printf(&lk, "%s.lock", h->path);
		fd = lk.oom ? -1 : open(lk.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		err = fd < 0 ? (lk.oom ? TD_ENOMEM : -errno) : 0;
		td__buf_free(&lk);
	}
	while (!err && flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			err = -errno;
	if (!err)
		err = table_read(&t, h->path, NULL);
	if (!err)
		err = merge_run(&t, r, hr->keys);
	if (!err)
		err = table_write(&t, h->path);
	if (fd >= 0)
		close(fd); /* releases the lock */
	pthread_mutex_lock(&h->lock);
	if (!err) {
		table_free(&h->t);
		h->t = t;
	} else {
		table_free(&t);
		if (!h->err)
			h->err = err;
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

static void on_event(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct hist_run *hr = ud;

	if (ev->type == TD_EVENT_RUN_FINISHED && !hr->done) {
		hr->done = 1;
		update_file(hr, run);
	}
}

static void hist_run_fini(void *ud)
{
	struct hist_run *hr = ud;

	td__free(hr->cost_us);
	td__free(hr->keys);
	td__free(hr);
}

static int attach(const void *self, struct td_run *r)
{
	struct hist_run *hr = td__calloc(1, sizeof(*hr));
	int err;

	if (!hr)
		return TD_ENOMEM;
	hr->h = (struct td_history *)self;
	hr->run = r;
	err = td__sched_learn(r);
	if (!err && r->opts.schedule != TD_SCHEDULE_EAGER)
		err = set_costs(hr, r);
	if (!err)
		err = td__run_observe_end(r, on_event, hist_run_fini, hr);
	if (err) {
		if (hr->cost_us)
			td__sched_set_costs(r, NULL);
		hist_run_fini(hr);
	}
	return err;
}

/* ---- public ---- */

int td_history_open(const char *path, struct td_history **out, struct td_diag *diag)
{
	struct td_history *h;
	int err;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!path)
		return TD_EINVAL;
	h = td__calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		td__free(h);
		return TD_ENOMEM;
	}
	h->hook.attach = attach;
	pthread_mutex_init(&h->lock, NULL);
	err = table_read(&h->t, path, diag);
	if (err) {
		if (err != TD_ESYNTAX)
			td__diag_add(diag, err, path, 0, 0, "cannot read the durations: %s",
			             td_strerror(err));
		td_history_free(h);
		return err;
	}
	*out = h;
	return 0;
}

int td_history_estimate(struct td_history *h, const char *tool, struct td_duration *out)
{
	const struct hist_tool *e;
	int err = 0;

	if (!h || !tool || !out)
		return TD_EINVAL;
	pthread_mutex_lock(&h->lock);
	e = table_find(&h->t, tool);
	if (e) {
		out->count = e->n;
		out->ewma_us = (int64_t)e->ewma;
		out->p95_us = tool_p95(e);
	} else {
		err = TD_ENOTFOUND;
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

int td_history_error(struct td_history *h)
{
	int err;

	if (!h)
		return TD_EINVAL;
	pthread_mutex_lock(&h->lock);
	err = h->err;
	pthread_mutex_unlock(&h->lock);
	return err;
}

void td_history_free(struct td_history *h)
{
	if (!h)
		return;
	table_free(&h->t);
	pthread_mutex_destroy(&h->lock);
	free(h->path);
	td__free(h);
}

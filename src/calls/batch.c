/* SPDX-License-Identifier: MIT */
/*
 * batch.c - the batch object: appending calls (shared by the JSON decoder and the public
 * builder API), tool lookup, input validation, explicit edges and accessors.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "calls/batch.h"
#include "schema/schema.h"

struct td_batch *td__batch_alloc(const struct td_graph *graph, enum td_dialect dialect,
                                 const char *name)
{
	struct td_batch *b = td__calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->graph = graph;
	b->dialect = dialect;
	if (name && !(b->name = td__arena_strdup(&b->arena, name))) {
		td_batch_free(b);
		return NULL;
	}
	return b;
}

int td_batch_new(const struct td_graph *graph, enum td_dialect dialect, struct td_batch **out)
{
	if (!graph || !out)
		return TD_EINVAL;
	*out = td__batch_alloc(graph, dialect == TD_DIALECT_AUTO ? TD_DIALECT_ANTHROPIC : dialect,
	                       NULL);
	return *out ? 0 : TD_ENOMEM;
}

/*
 * Reports an unknown tool (with a suggestion) or checks the input: first what any input must
 * satisfy (td__input_check), then the tool's schema. Returns 1 and a message in msg when the
 * call has a call-level error, 0 when it is fine, TD_ENOMEM.
 */
static int check_call(const struct td_graph *g, const char *name, const struct cJSON *input,
                      int32_t tool, char *msg, size_t len)
{
	const struct td__tool *t;
	const char *near = NULL;
	const char **names;
	size_t i;
	int r;

	if (tool < 0) {
		names = td__malloc((g->ntools ? g->ntools : 1) * sizeof(*names));
		if (names) {
			for (i = 0; i < g->ntools; i++)
				names[i] = g->tools[i].name;
			near = td__did_you_mean(name, names, g->ntools);
			td__free(names);
		}
		if (near)
			snprintf(msg, len, "unknown tool '%s' (did you mean '%s'?)", name, near);
		else
			snprintf(msg, len, "unknown tool '%s'", name);
		return 1;
	}
	t = &g->tools[tool];
	if ((r = td__input_check(input, msg, len)) != 0)
		return r == TD_ENOMEM ? r : 1;
	return t->schema && td__schema_validate(t->schema, input, msg, len) != 0;
}

static int grow_calls(struct td_batch *b)
{
	size_t cap = b->cap ? b->cap * 2 : 16;
	struct td__call *c = td__reallocarray(b->calls, cap, sizeof(*c));

	if (!c)
		return TD_ENOMEM;
	b->calls = c;
	b->cap = cap;
	return 0;
}

/* ---- call ids ---- */

static size_t id_home(const struct td_batch *b, const char *id)
{
	return td__hash(id, strlen(id)) & (b->id_cap - 1);
}

int td__batch_find(const struct td_batch *b, const char *id, uint32_t *idx)
{
	size_t j;

	if (!b->id_cap)
		return 0;
	for (j = id_home(b, id); b->id_slot[j]; j = (j + 1) & (b->id_cap - 1))
		if (strcmp(b->calls[b->id_slot[j] - 1].id, id) == 0) {
			*idx = b->id_slot[j] - 1;
			return 1;
		}
	return 0;
}

/* Inserts calls[idx].id, known to be absent; keeps the load under 1/2 so probes stay short. */
static int id_insert(struct td_batch *b, uint32_t idx)
{
	size_t cap = b->id_cap, i, j;
	uint32_t *old = b->id_slot;

	if ((b->ncalls + 1) * 2 > cap) {
		cap = cap ? cap * 2 : 32;
		if (!(b->id_slot = td__calloc(cap, sizeof(*b->id_slot)))) {
			b->id_slot = old;
			return TD_ENOMEM;
		}
		b->id_cap = cap;
		for (i = 0; i < b->ncalls; i++) {
			for (j = id_home(b, b->calls[i].id); b->id_slot[j]; j = (j + 1) & (cap - 1))
				;
			b->id_slot[j] = (uint32_t)i + 1;
		}
		td__free(old);
	}
	for (j = id_home(b, b->calls[idx].id); b->id_slot[j]; j = (j + 1) & (b->id_cap - 1))
		;
	b->id_slot[j] = idx + 1;
	return 0;
}

/* Stores the call's strings in one arena block (td__call_pack(); see struct td__call). */
static int store_strings(struct td_batch *b, struct td__call *c, const char *id, const char *input,
                         size_t input_len, const char *error)
{
	char *s = td__arena_bytes(&b->arena, td__call_bytes(id, input, input_len, error));

	if (!s)
		return TD_ENOMEM;
	td__call_pack(c, s, id, input, input_len, error);
	return 0;
}

/* The input as compact JSON text in *text (cJSON_free it), or NULL for the empty input. */
static int print_input(const struct cJSON *input, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (!input || !cJSON_IsObject(input) || !input->child)
		return 0;
	if (!(*text = cJSON_PrintUnformatted(input)))
		return TD_ENOMEM;
	*len = strlen(*text);
	if (*len <= TD__CALL_INPUT_MAX)
		return 0;
	cJSON_free(*text);
	*text = NULL;
	return TD_ETOOBIG;
}

int td__batch_add_call(struct td_batch *b, const char *id, const char *name,
                       const struct cJSON *input, const char *error, uint32_t *dup)
{
	struct td__call *c;
	char msg[512], *text;
	size_t len;
	uint32_t idx = (uint32_t)b->ncalls;
	int r;

	if (b->ncalls >= UINT32_MAX - 1)
		return TD_ETOOBIG;
	/* look before inserting: a call that fails half-way must leave no id behind */
	if (td__batch_find(b, id, dup))
		return TD_EBATCH;
	if (b->ncalls == b->cap && grow_calls(b) < 0)
		return TD_ENOMEM;
	c = &b->calls[idx];
	memset(c, 0, sizeof(*c));
	c->tool = td__graph_find(b->graph, name);
	/* a known tool's name is the graph's string (the batch borrows the graph) */
	c->name = c->tool >= 0 ? b->graph->tools[c->tool].name : td__arena_strdup(&b->arena, name);
	if (!c->name)
		return TD_ENOMEM;
	if (!error && (r = check_call(b->graph, name, input, c->tool, msg, sizeof(msg))) != 0) {
		if (r < 0)
			return r;
		error = msg;
	}
	if ((r = print_input(input, &text, &len)) < 0)
		return r;
	r = store_strings(b, c, id, text, len, error);
	cJSON_free(text);
	if (r < 0 || (r = id_insert(b, idx)) < 0)
		return r;
	b->ncalls++;
	return (int)idx;
}

/* ---- explicit edges ---- */

/* At least need entries: doubled, or need itself when that is more. */
static int grow_u32(uint32_t **a, size_t *cap, size_t need)
{
	size_t c = *cap * 2;
	uint32_t *p;

	if (need <= *cap)
		return 0;
	if (c < need)
		c = need;
	if (!(p = td__reallocarray(*a, c, sizeof(*p))))
		return TD_ENOMEM;
	*a = p;
	*cap = c;
	return 0;
}

/*
 * Offsets for calls up to v (those not yet covered have no edges): edge_off[0 .. v + 1].
 * Room for every call so far at once: edges usually follow all their calls, and an array
 * grown by doubling on the heap leaves its old copies behind as holes (4 MB at a million).
 */
static int cover_calls(struct td_batch *b, size_t v)
{
	size_t i;

	if (v < b->edge_ncalls)
		return 0;
	if (v + 2 > b->off_cap &&
	    grow_u32(&b->edge_off, &b->off_cap, v + 2 > b->ncalls + 1 ? v + 2 : b->ncalls + 1) < 0)
		return TD_ENOMEM;
	if (!b->edge_ncalls)
		b->edge_off[0] = 0;
	for (i = b->edge_ncalls + 1; i <= v + 1; i++)
		b->edge_off[i] = (uint32_t)b->nedges;
	b->edge_ncalls = v + 1;
	return 0;
}

/* An edge out of call order: from now on the edges are a plain list, edge_from[] too. */
static int ungroup(struct td_batch *b)
{
	uint32_t *from = td__reallocarray(NULL, b->edge_cap, sizeof(*from));
	size_t v, e;

	if (!from)
		return TD_ENOMEM;
	for (v = 0; v < b->edge_ncalls; v++)
		for (e = b->edge_off[v]; e < b->edge_off[v + 1]; e++)
			from[e] = (uint32_t)v;
	b->edge_from = from;
	td__free(b->edge_off);
	b->edge_off = NULL;
	b->edge_ncalls = b->off_cap = 0;
	return 0;
}

/* Whether an edge of call keeps the edges grouped: no later call has edges yet. */
static bool in_order(struct td_batch *b, uint32_t call)
{
	if (call >= b->edge_ncalls)
		return true;
	if (b->edge_off[call + 1] != b->nedges)
		return false;
	b->edge_ncalls = (size_t)call + 1; /* the calls after it have none: implied again */
	return true;
}

/* Room for one more edge; edge_from[], when there is one, grows first, so it never has
 * fewer than edge_cap entries. */
static int grow_edges(struct td_batch *b)
{
	size_t cap = b->edge_cap ? b->edge_cap * 2 : 16;
	uint32_t *p;

	if (b->nedges < b->edge_cap)
		return 0;
	if (b->edge_from) {
		if (!(p = td__reallocarray(b->edge_from, cap, sizeof(*p))))
			return TD_ENOMEM;
		b->edge_from = p;
	}
	if (!(p = td__reallocarray(b->edge_to, cap, sizeof(*p))))
		return TD_ENOMEM;
	b->edge_to = p;
	b->edge_cap = cap;
	return 0;
}

int td__batch_add_edge(struct td_batch *b, uint32_t call, uint32_t dep)
{
	if (grow_edges(b) < 0)
		return TD_ENOMEM;
	if (!b->edge_from && (!in_order(b, call) ? ungroup(b) : cover_calls(b, call)) < 0)
		return TD_ENOMEM;
	b->edge_to[b->nedges++] = dep;
	if (b->edge_from)
		b->edge_from[b->nedges - 1] = call;
	else
		b->edge_off[call + 1]++;
	return 0;
}

int td__batch_edges_done(struct td_batch *b)
{
	if (b->edge_from || !b->ncalls)
		return 0;
	return cover_calls(b, b->ncalls - 1);
}

int td_batch_add(struct td_batch *batch, const char *id, const char *tool, const char *input_json)
{
	cJSON *input = NULL;
	const char *err = NULL;
	uint32_t dup;
	int r;

	if (!batch || !id || !*id || !tool)
		return TD_EINVAL; /* the decoder refuses an empty id too */
	if (input_json) {
		input = cJSON_Parse(input_json);
		if (!input)
			err = "input is not valid JSON";
		else if (!cJSON_IsObject(input))
			err = "input must be a JSON object";
	}
	r = td__batch_add_call(batch, id, tool, input, err, &dup);
	cJSON_Delete(input);
	return r;
}

int td_batch_depend(struct td_batch *batch, size_t call, size_t dep)
{
	if (!batch || call >= batch->ncalls || dep >= batch->ncalls)
		return TD_EINVAL;
	return td__batch_add_edge(batch, (uint32_t)call, (uint32_t)dep);
}

void td_batch_free(struct td_batch *b)
{
	if (!b)
		return;
	td__free(b->calls);
	td__free(b->edge_from);
	td__free(b->edge_to);
	td__free(b->edge_off);
	td__free(b->id_slot);
	td__arena_free(&b->arena);
	td__free(b);
}

enum td_dialect td_batch_dialect(const struct td_batch *b)
{
	return b ? b->dialect : TD_DIALECT_AUTO;
}

size_t td_batch_count(const struct td_batch *b)
{
	return b ? b->ncalls : 0;
}

const char *td_batch_call_id(const struct td_batch *b, size_t i)
{
	return b && i < b->ncalls ? b->calls[i].id : NULL;
}

const char *td_batch_call_tool(const struct td_batch *b, size_t i)
{
	return b && i < b->ncalls ? b->calls[i].name : NULL;
}

const char *td_batch_call_input(const struct td_batch *b, size_t i)
{
	return b && i < b->ncalls ? td__call_input(&b->calls[i]) : NULL;
}

const char *td_batch_call_error(const struct td_batch *b, size_t i)
{
	return b && i < b->ncalls ? td__call_error(&b->calls[i]) : NULL;
}

int td_batch_call_position(const struct td_batch *b, size_t i, unsigned *line, unsigned *column)
{
	if (!b || !b->pos || i >= b->ncalls || i >= b->npos)
		return TD_ENOTFOUND;
	if (line)
		*line = b->pos[i].line;
	if (column)
		*column = b->pos[i].column;
	return 0;
}

bool td__batch_answered(const struct td_batch *b, const char *id)
{
	size_t i;

	for (i = 0; i < b->nanswered; i++)
		if (strcmp(b->answered[i].id, id) == 0)
			return true;
	return false;
}

size_t td_batch_conversation_length(const struct td_batch *b)
{
	return b ? b->conv_len : 0;
}

size_t td_batch_answered_count(const struct td_batch *b)
{
	return b ? b->nanswered : 0;
}

int td_batch_answered(const struct td_batch *b, size_t i, struct td_answered *out)
{
	const struct td__answered *a;

	if (!b || !out || i >= b->nanswered)
		return TD_EINVAL;
	a = &b->answered[i];
	out->id = a->id;
	out->tool = a->name;
	out->call_at = a->call_at;
	out->result_at = a->result_at;
	return 0;
}

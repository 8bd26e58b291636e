/* SPDX-License-Identifier: MIT */
/*
 * decl_calls.c - the graph's own batch: the optional top-level `calls:` list of
 * {id, tool, input, depends_on}, turned into Anthropic tool_use blocks for the decoder.
 */
#include <stdio.h>
#include <string.h>

#include "load/decl.h"

static cJSON *call_string(struct td__loader *L, uint32_t val, const char *what, size_t idx)
{
	const char *s = td__decl_text(L, val);
	cJSON *j;

	if (!s || !*s) {
		char buf[64];

		td__load_error(L, val, "'%s' of call #%zu must be a string, got %s", what, idx + 1,
		               td__decl_describe(L, val, buf, sizeof(buf)));
		return NULL;
	}
	j = cJSON_CreateString(s);
	if (!j)
		L->oom = true;
	return j;
}

static cJSON *call_input(struct td__loader *L, uint32_t val, size_t idx)
{

	if (NODE(L, val)->type != TD_Y_MAP) {
		char buf[64];

		td__load_error(L, val, "'input' of call #%zu must be a mapping, got %s", idx + 1,
		               td__decl_describe(L, val, buf, sizeof(buf)));
		return NULL;
	}
	return td__decl_json(L, val);
}

static cJSON *call_depends(struct td__loader *L, uint32_t val, size_t idx)
{
	const struct td__ynode *n = NODE(L, val);
	cJSON *list, *id;
	uint32_t k;

	for (k = 0; n->type == TD_Y_SEQ && k < n->len; k++)
		if (!td__decl_text(L, KID(L, val, k)))
			break;
	if (n->type != TD_Y_SEQ || k < n->len) {
		char buf[64];

		td__load_error(L, val,
		               "'depends_on' of call #%zu must be a list of call ids, got %s",
		               idx + 1, td__decl_describe(L, val, buf, sizeof(buf)));
		return NULL;
	}
	/* ids are strings even when written as plain numbers */
	list = cJSON_CreateArray();
	for (k = 0; list && k < n->len; k++) {
		id = cJSON_CreateString(td__decl_text(L, KID(L, val, k)));
		if (!id || !cJSON_AddItemToArray(list, id)) {
			cJSON_Delete(id);
			cJSON_Delete(list);
			list = NULL;
		}
	}
	if (!list)
		L->oom = true;
	return list;
}

static const char *const call_keys[] = {"id", "tool", "input", "depends_on", NULL};

/* What the model APIs call them: a graph's calls written from an API transcript use these. */
static const char *const call_wire_keys[][2] = {
    {"name", "tool"}, {"arguments", "input"}, {"call_id", "id"}, {"type", NULL}};

static void unknown_call_key(struct td__loader *L, uint32_t key)
{
	const char *k = td__decl_key(L, key);
	size_t i;

	for (i = 0; i < TD__ARRAY_SIZE(call_wire_keys); i++)
		if (strcmp(k, call_wire_keys[i][0]) == 0) {
			if (call_wire_keys[i][1])
				td__load_error(
				    L, key,
				    "unknown key '%s' in call (did you mean '%s'? a graph's "
				    "calls are {id, tool, input, depends_on})",
				    k, call_wire_keys[i][1]);
			else
				td__load_error(
				    L, key,
				    "unknown key '%s' in call (a graph's calls are {id, tool, "
				    "input, depends_on}, not API blocks)",
				    k);
			return;
		}
	td__decl_unknown_key(L, key, "in call", call_keys);
}

/* One {id, tool, input, depends_on} item into a tool_use block; NULL after reporting. */
static cJSON *parse_call(struct td__loader *L, uint32_t item, size_t idx)
{
	cJSON *block = cJSON_CreateObject(), *v[4] = {NULL};
	uint32_t k;
	int which, ok = 1;

	if (!block || !cJSON_AddStringToObject(block, "type", "tool_use")) {
		L->oom = true;
		cJSON_Delete(block);
		return NULL;
	}
	for (k = 0; k < PAIRS(L, item); k++) {
		uint32_t key = KID(L, item, 2 * k), val = KID(L, item, 2 * k + 1);

		which = td__decl_word(td__decl_key(L, key), call_keys);
		if (which < 0) {
			unknown_call_key(L, key);
			ok = 0;
			continue;
		}
		if (which == 0 || which == 1)
			v[which] = call_string(L, val, call_keys[which], idx);
		else
			v[which] = which == 2 ? call_input(L, val, idx) : call_depends(L, val, idx);
		ok &= v[which] != NULL;
	}
	if (!v[0] && ok)
		td__load_error(L, item, "call #%zu needs an 'id'", idx + 1);
	if (!v[1] && ok)
		td__load_error(L, item, "call #%zu needs a 'tool'", idx + 1);
	if (!v[2] && ok && v[0] && v[1] && !(v[2] = cJSON_CreateObject()))
		L->oom = true;
	if (!ok || !v[0] || !v[1] || !v[2]) {
		for (which = 0; which < 4; which++)
			cJSON_Delete(v[which]);
		cJSON_Delete(block);
		return NULL;
	}
	/* constant keys: adding cannot fail, so nothing leaks */
	cJSON_AddItemToObjectCS(block, "id", v[0]);
	cJSON_AddItemToObjectCS(block, "name", v[1]);
	cJSON_AddItemToObjectCS(block, "input", v[2]);
	if (v[3])
		cJSON_AddItemToObjectCS(block, "depends_on", v[3]);
	return block;
}

void td__decl_calls(struct td__loader *L, uint32_t key, uint32_t val)
{
	const struct td__ynode *n = NODE(L, val);
	struct td_graph *g = L->g;
	cJSON *block;
	uint32_t k;
	char buf[64];

	g->calls_line = NODE(L, key)->line;
	if (n->type != TD_Y_SEQ) {
		td__load_error(L, val, "'calls' must be a list of {id, tool, input}, got %s",
		               td__decl_describe(L, val, buf, sizeof(buf)));
		return;
	}
	if (n->len == 0) {
		td__load_error(L, val,
		               "'calls' is an empty list: give at least one call, or leave 'calls' "
		               "out and pass the calls on the command line");
		return;
	}
	g->calls = cJSON_CreateArray();
	g->call_pos = td__malloc(n->len * sizeof(*g->call_pos));
	if (!g->calls || !g->call_pos) {
		L->oom = true;
		return;
	}
	for (k = 0; k < n->len && !L->oom; k++) {
		uint32_t item = KID(L, val, k);

		g->call_pos[k].line = NODE(L, item)->line;
		g->call_pos[k].column = NODE(L, item)->column;
		if (NODE(L, item)->type != TD_Y_MAP) {
			td__load_error(L, item,
			               "call #%u must be a mapping {id, tool, input}, got %s",
			               k + 1, td__decl_describe(L, item, buf, sizeof(buf)));
			continue;
		}
		block = parse_call(L, item, k);
		if (block)
			cJSON_AddItemToArray(g->calls, block);
	}
}

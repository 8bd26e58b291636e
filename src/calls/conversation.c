/* SPDX-License-Identifier: MIT */
/*
 * conversation.c - a whole conversation as the input: a messages list (Anthropic, OpenAI
 * Chat), a Responses input list, or a request body holding one. The calls to run are those of
 * the last assistant turn that have no result later in the list; the others are recorded as
 * answered and never run (running them again would repeat their side effects). A result that
 * answers no call made before it is an error in the input: the API refuses such a request,
 * and it means a message was lost or reordered.
 */
#include <stdio.h>
#include <string.h>

#include "calls/decode_int.h"
#include "schema/schema.h"

/* Answered calls named in the "no call pending" message; the rest are counted. */
#define NAMED_ANSWERED 5

struct conv {
	struct dctx *d;
	const cJSON *list;
	enum td_dialect dl;
	const char *unit;          /* "message" or "item" (Responses) */
	bool prev_response;        /* a Responses request continuing a stored response */
	struct td__strmap calls;   /* call id -> index of its message (the first one) */
	struct td__strmap results; /* call id -> index of its first result's message */
	size_t nresults;           /* results that answer a call (or a stored response's call) */
	struct td__answered *answered;
	size_t nanswered, cap;
};

static bool is_role(const cJSON *m, const char *role)
{
	return td__str_is(m, "role", role);
}

bool td__convo_marker(const cJSON *item)
{
	const char *role = td__str_member(item, "role");

	if (td__str_is(item, "type", "function_call_output"))
		return true;
	/* a Responses output array holds assistant message items: those alone are no
	 * conversation */
	return role && !(strcmp(role, "assistant") == 0 && td__str_is(item, "type", "message"));
}

/* The conversation's list, or NULL when root is not a conversation. */
static const cJSON *conv_list(const cJSON *root, bool *prev)
{
	const cJSON *it, *l, *arr = cJSON_IsArray(root) ? root : NULL;

	*prev = false;
	if (cJSON_IsObject(root)) {
		if ((l = td__array_member(root, "messages")))
			return l;
		if ((l = td__array_member(root, "input")))
			*prev = cJSON_IsString(
			    cJSON_GetObjectItemCaseSensitive(root, "previous_response_id"));
		return l;
	}
	cJSON_ArrayForEach(it, arr)
	{
		if (td__convo_marker(it))
			return root;
	}
	return NULL;
}

static enum td_dialect item_dialect(const cJSON *m)
{
	const cJSON *b;

	if (td__str_is(m, "type", "function_call") || td__str_is(m, "type", "function_call_output"))
		return TD_DIALECT_RESPONSES;
	if (is_role(m, "tool") || (is_role(m, "assistant") && td__array_member(m, "tool_calls")))
		return TD_DIALECT_OPENAI;
	cJSON_ArrayForEach(b, td__array_member(m, "content"))
	{
		if (td__str_is(b, "type", "tool_use") || td__str_is(b, "type", "tool_result"))
			return TD_DIALECT_ANTHROPIC;
	}
	return TD_DIALECT_AUTO;
}

/* ---- calls and results, message by message ---- */

static const char *call_id(const struct conv *c, const cJSON *call)
{
	return td__str_member(call, c->dl == TD_DIALECT_RESPONSES ? "call_id" : "id");
}

static int on_call(struct conv *c, size_t at, const cJSON *call)
{
	const char *id = call_id(c, call);
	uint32_t old;

	/* a call without an id is reported when it is to run; an earlier one cannot be answered */
	if (!id || !id[0])
		return 0;
	return td__strmap_put(&c->calls, id, (uint32_t)at, &old) < 0 ? TD_ENOMEM : 0;
}

/* A result (block: 1-based content block, 0 when the message is the result). */
static int on_result(struct conv *c, size_t at, size_t block, const cJSON *res, const char *key)
{
	const char *id = td__str_member(res, key);
	const char *what = c->dl == TD_DIALECT_ANTHROPIC ? "tool_result"
	                   : c->dl == TD_DIALECT_OPENAI  ? "tool message"
	                                                 : "function_call_output";
	char where[64];
	uint32_t old;

	if (block)
		snprintf(where, sizeof(where), "%s %zu, content block %zu", c->unit, at + 1, block);
	else
		snprintf(where, sizeof(where), "%s %zu", c->unit, at + 1);
	if (!id || !id[0]) {
		td__decode_error(c->d, 0, "%s: a %s without '%s' answers no call", where, what,
		                 key);
		return 0;
	}
	c->nresults++;
	if (td__strmap_get(&c->calls, id, &old))
		return td__strmap_put(&c->results, id, (uint32_t)at, &old) < 0 ? TD_ENOMEM : 0;
	/* continuing a stored response: its calls are on the server, not in the list */
	if (!c->prev_response)
		td__decode_error(c->d, 0,
		                 "%s: a %s answers call id '%.80s', which no earlier %s made "
		                 "(each result must follow the call it answers)",
		                 where, what, id, c->unit);
	return 0;
}

static int visit(struct conv *c, size_t at, const cJSON *m)
{
	const cJSON *b, *calls = is_role(m, "assistant") ? td__array_member(m, "tool_calls") : NULL;
	size_t k = 0;
	int r = 0;

	if (c->dl == TD_DIALECT_RESPONSES) {
		if (td__str_is(m, "type", "function_call"))
			return on_call(c, at, m);
		if (td__str_is(m, "type", "function_call_output"))
			return on_result(c, at, 0, m, "call_id");
		return 0;
	}
	if (c->dl == TD_DIALECT_OPENAI) {
		if (is_role(m, "tool"))
			return on_result(c, at, 0, m, "tool_call_id");
		cJSON_ArrayForEach(b, calls)
		{
			if ((r = on_call(c, at, b)) < 0)
				return r;
		}
		return 0;
	}
	cJSON_ArrayForEach(b, td__array_member(m, "content"))
	{
		k++;
		if (is_role(m, "assistant") && td__str_is(b, "type", "tool_use"))
			r = on_call(c, at, b);
		else if (td__str_is(b, "type", "tool_result"))
			r = on_result(c, at, k, b, "tool_use_id");
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the last assistant turn ---- */

/*
 * Where the last assistant turn starts: the last assistant message (Anthropic, Chat), or the
 * first item after the last message of the user, system or developer (Responses, where a
 * turn is a run of items). n when there is none.
 */
static size_t turn_start(const struct conv *c, size_t n)
{
	const cJSON *m;
	size_t i = 0, at = c->dl == TD_DIALECT_RESPONSES ? 0 : n;

	cJSON_ArrayForEach(m, c->list)
	{
		if (c->dl != TD_DIALECT_RESPONSES && is_role(m, "assistant"))
			at = i;
		else if (c->dl == TD_DIALECT_RESPONSES && td__str_member(m, "role") &&
		         !is_role(m, "assistant"))
			at = i + 1;
		i++;
	}
	return at;
}

static int answered(struct conv *c, const cJSON *call, uint32_t call_at, uint32_t result_at)
{
	struct td__answered *a;
	size_t cap;

	if (c->nanswered == c->cap) {
		cap = c->cap ? c->cap * 2 : 8;
		if (!(a = td__reallocarray(c->answered, cap, sizeof(*a))))
			return TD_ENOMEM;
		c->answered = a;
		c->cap = cap;
	}
	a = &c->answered[c->nanswered++];
	a->id = call_id(c, call);
	a->name = td__str_member(
	    c->dl == TD_DIALECT_OPENAI ? cJSON_GetObjectItemCaseSensitive(call, "function") : call,
	    "name");
	a->call_at = call_at;
	a->result_at = result_at;
	return 0;
}

/* One call of the turn: answered when a result follows it, else to run (a reference in
 * pending). */
static int sort_call(struct conv *c, cJSON *pending, const cJSON *call, size_t at)
{
	const char *id = call_id(c, call);
	uint32_t res;

	if (id && td__strmap_get(&c->results, id, &res) && res > at)
		return answered(c, call, (uint32_t)at, res);
	return cJSON_AddItemReferenceToArray(pending, (cJSON *)call) ? 0 : TD_ENOMEM;
}

/* Splits the turn's calls into pending (references to the call items) and answered. */
static int sort_turn(struct conv *c, size_t start, cJSON *pending)
{
	const cJSON *m, *b;
	size_t i = 0;
	int r = 0;

	cJSON_ArrayForEach(m, c->list)
	{
		if (i >= start && c->dl == TD_DIALECT_RESPONSES &&
		    td__classify(m) == TD_DIALECT_RESPONSES)
			r = sort_call(c, pending, m, i);
		else if (i == start && c->dl != TD_DIALECT_RESPONSES)
			cJSON_ArrayForEach(b, td__array_member(m, c->dl == TD_DIALECT_OPENAI
			                                              ? "tool_calls"
			                                              : "content"))
			{
				if (td__classify(b) == c->dl &&
				    (r = sort_call(c, pending, b, i)) < 0)
					return r;
			}
		if (r < 0)
			return r;
		i++;
	}
	return 0;
}

/* ---- what to say when nothing is to run ---- */

static void no_calls(struct conv *c, size_t n, size_t start)
{
	const char *s = n == 1 ? "" : "s";

	if (c->prev_response && c->nresults)
		td__decode_error(c->d, 0,
		                 "no call pending: the input continues a stored response "
		                 "(previous_response_id) and holds only the results of its calls");
	else if (start >= n)
		td__decode_error(
		    c->d, 0,
		    "no tool calls found: a conversation of %zu %s%s with no assistant "
		    "turn (tooldag runs the calls of the last assistant turn that have "
		    "no result yet)",
		    n, c->unit, s);
	else
		td__decode_error(c->d, 0,
		                 "no tool calls found: a conversation of %zu %s%s whose last "
		                 "assistant turn (%s %zu) holds no %s",
		                 n, c->unit, s, c->unit, start + 1, td__dialect_calls[c->dl]);
}

static void none_pending(struct conv *c, size_t start)
{
	char list[NAMED_ANSWERED * 200 + 64] = "";
	const struct td__answered *a;
	size_t i, used = 0;

	for (i = 0; i < c->nanswered && i < NAMED_ANSWERED; i++) {
		a = &c->answered[i];
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		                         "%s'%.80s' (%.80s) in %s %u", i ? ", " : "", a->id,
		                         a->name ? a->name : "?", c->unit, a->result_at + 1);
	}
	if (c->nanswered > NAMED_ANSWERED)
		snprintf(list + used, sizeof(list) - used, " and %zu more",
		         c->nanswered - NAMED_ANSWERED);
	td__decode_error(c->d, 0,
	                 "no call pending: the last assistant turn (%s %zu) made %zu call%s, "
	                 "%s answered: %s",
	                 c->unit, start + 1, c->nanswered, c->nanswered == 1 ? "" : "s",
	                 c->nanswered == 1 ? "already" : "all already", list);
}

/* ---- the whole conversation ---- */

static int keep_answered(struct conv *c, size_t n, size_t start)
{
	struct td_batch *b = c->d->b;
	size_t i;

	b->conv_len = n;
	b->turn_at = start;
	if (!c->nanswered)
		return 0;
	b->answered = td__arena_alloc(&b->arena, c->nanswered * sizeof(*b->answered));
	if (!b->answered)
		return TD_ENOMEM;
	for (i = 0; i < c->nanswered; i++) {
		b->answered[i] = c->answered[i];
		b->answered[i].id = td__arena_strdup(&b->arena, c->answered[i].id);
		b->answered[i].name =
		    c->answered[i].name ? td__arena_strdup(&b->arena, c->answered[i].name) : NULL;
		if (!b->answered[i].id || (c->answered[i].name && !b->answered[i].name))
			return TD_ENOMEM;
	}
	b->nanswered = c->nanswered;
	return 0;
}

static int walk(struct conv *c, size_t *n)
{
	const cJSON *m;
	int r;

	*n = 0;
	cJSON_ArrayForEach(m, c->list)
	{
		if ((r = visit(c, (*n)++, m)) < 0)
			return r;
	}
	return 0;
}

static int conv_decode(struct conv *c, enum td_dialect want, cJSON *pending)
{
	size_t n, start;
	int r;

	if (want != TD_DIALECT_AUTO && c->dl != TD_DIALECT_AUTO && c->dl != want) {
		td__decode_error(
		    c->d, 0,
		    "the conversation holds %s, but dialect '%s' was asked for (expected "
		    "%s)",
		    td__dialect_calls[c->dl], td_dialect_name(want), td__dialect_shapes[want]);
		return TD_EBATCH;
	}
	if (c->dl == TD_DIALECT_AUTO)
		c->dl = want;
	c->unit = c->dl == TD_DIALECT_RESPONSES ? "item" : "message";
	if ((r = walk(c, &n)) < 0)
		return r;
	start = turn_start(c, n);
	if (c->dl != TD_DIALECT_AUTO && start < n && (r = sort_turn(c, start, pending)) < 0)
		return r;
	if ((r = keep_answered(c, n, start)) < 0)
		return r;
	c->d->b->dialect = c->dl == TD_DIALECT_AUTO ? TD_DIALECT_ANTHROPIC : c->dl;
	if (c->d->err)
		return c->d->err; /* a result answering nothing: what runs would be a guess */
	if (cJSON_GetArraySize(pending) == 0 && !c->nanswered)
		no_calls(c, n, start);
	else if (cJSON_GetArraySize(pending) == 0 && !c->d->allow_none)
		none_pending(c, start);
	if (c->d->err)
		return c->d->err;
	return td__add_calls(c->d, pending, c->dl);
}

int td__convo_decode(struct dctx *d, const cJSON *root, enum td_dialect want)
{
	struct conv c = {.d = d};
	cJSON *pending;
	int r;

	if (!(c.list = conv_list(root, &c.prev_response)))
		return TD__NOT_CONVERSATION;
	c.dl = td__first_dialect(c.list, item_dialect);
	if (!(pending = cJSON_CreateArray()))
		return TD_ENOMEM;
	r = conv_decode(&c, want, pending);
	cJSON_Delete(pending);
	td__strmap_free(&c.calls);
	td__strmap_free(&c.results);
	td__free(c.answered);
	return r;
}

/* ---- what the input was, when it holds no calls ---- */

static void describe_object(const cJSON *root, char *buf, size_t len)
{
	const char *role = td__str_member(root, "role");
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");

	if (role)
		snprintf(buf, len, "a%s %.40s message", strcmp(role, "assistant") ? "" : "n", role);
	else if (td__array_member(root, "choices"))
		snprintf(buf, len, "a chat completion");
	else if (td__array_member(root, "output"))
		snprintf(buf, len, "a response");
	else if (cJSON_IsString(input))
		snprintf(buf, len, "a request body whose 'input' is a string, not a list of items");
	else if (cJSON_GetObjectItemCaseSensitive(root, "model"))
		snprintf(buf, len, "a request body without 'messages' or 'input'");
	else
		snprintf(buf, len,
		         "an object with none of 'messages', 'input', 'choices', "
		         "'output', 'content', 'tool_calls'");
}

void td__describe_input(const cJSON *root, char *buf, size_t len)
{
	int n = cJSON_GetArraySize(root);

	if (cJSON_IsArray(root) && n == 0)
		snprintf(buf, len, "an empty array");
	else if (cJSON_IsArray(root))
		snprintf(buf, len, "an array of %d item%s", n, n == 1 ? "" : "s");
	else if (cJSON_IsObject(root))
		describe_object(root, buf, len);
	else
		snprintf(buf, len, "%s", td__json_type(root, true));
}

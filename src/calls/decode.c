/* SPDX-License-Identifier: MIT */
/*
 * decode.c - JSON call batches in the three model dialects -> td_batch.
 *
 * Two kinds of problems are kept apart on purpose: a batch-level problem (not JSON, no calls,
 * a call without id or name, duplicate ids, a depends_on naming an absent call) means there is
 * no well-formed batch to answer, so decoding fails with every such problem in the diag. A
 * call-level problem (unknown tool, arguments that do not parse, schema violations) still
 * leaves a call the model expects one result for, so it is recorded on the call.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "calls/decode_int.h"
#include "schema/schema.h"

/*
 * A did-you-mean search for an unknown depends_on id costs O(calls); only this many are done
 * per batch (the diag keeps 100 items by default anyway), so that a batch of 10,000 calls
 * each naming 100 absent ids is not 10^10 string comparisons.
 */
#define MAX_SUGGESTIONS 100

const char *const td__dialect_calls[] = {
    [TD_DIALECT_AUTO] = "tool calls",
    [TD_DIALECT_ANTHROPIC] = "Anthropic tool_use blocks",
    [TD_DIALECT_OPENAI] = "OpenAI Chat tool_calls",
    [TD_DIALECT_RESPONSES] = "OpenAI Responses function_call items",
};

const char *const td__dialect_shapes[] = {
    [TD_DIALECT_AUTO] = "tool_use blocks (Anthropic), tool_calls (OpenAI Chat) or "
                        "function_call items (OpenAI Responses): an array of them, an "
                        "assistant message, a response, or the last assistant turn of a "
                        "conversation (a messages or input list, or a request body)",
    [TD_DIALECT_ANTHROPIC] = "an array of Anthropic tool_use blocks, an assistant message, "
                             "a Messages API response or a conversation",
    [TD_DIALECT_OPENAI] = "an array of OpenAI tool_calls, an assistant message with "
                          "tool_calls, a chat completion or one of its choices, or a "
                          "conversation",
    [TD_DIALECT_RESPONSES] = "an array of OpenAI Responses function_call items, a response "
                             "holding them in 'output', or a conversation (an input list)",
};

/* The position of a call is known for the graph's own calls. */
void td__decode_error(struct dctx *d, uint32_t ord, const char *fmt, ...)
{
	va_list ap;
	size_t before = d->diag ? d->diag->count : 0;
	bool at = d->pos && ord >= 1 && ord <= d->npos;
	char *p;

	if (!d->err)
		d->err = TD_EBATCH;
	va_start(ap, fmt);
	td__diag_vadd(d->diag, TD_EBATCH, d->name, at ? d->pos[ord - 1].line : d->line,
	              at ? d->pos[ord - 1].column : 0, fmt, ap);
	va_end(ap);
	/* messages quote ids and names the model wrote: keep them to one line on a terminal */
	if (d->diag && d->diag->count > before)
		for (p = d->diag->items[d->diag->count - 1].message; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
}

/* ---- shapes ---- */

const char *td__str_member(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

bool td__str_is(const cJSON *o, const char *key, const char *want)
{
	const char *v = td__str_member(o, key);

	return v && strcmp(v, want) == 0;
}

/* Which dialect's call an array item is, or AUTO when it is not a call (text, reasoning...). */
enum td_dialect td__classify(const cJSON *item)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");

	if (!cJSON_IsObject(item))
		return TD_DIALECT_AUTO;
	if (td__str_is(item, "type", "tool_use"))
		return TD_DIALECT_ANTHROPIC;
	if (td__str_is(item, "type", "function_call"))
		return TD_DIALECT_RESPONSES;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(item, "function")) &&
	    (!type || td__str_is(item, "type", "function")))
		return TD_DIALECT_OPENAI;
	return TD_DIALECT_AUTO;
}

enum td_dialect td__first_dialect(const cJSON *arr, enum td_dialect (*of)(const cJSON *))
{
	const cJSON *it;
	enum td_dialect dl;

	cJSON_ArrayForEach(it, arr)
	{
		if ((dl = of(it)) != TD_DIALECT_AUTO)
			return dl;
	}
	return TD_DIALECT_AUTO;
}

const cJSON *td__array_member(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsArray(m) ? m : NULL;
}

/*
 * Finds the array that holds the calls and the dialect its shape implies (AUTO when the shape
 * is unknown, or an array with no call items).
 */
static enum td_dialect locate(const cJSON *root, const cJSON **items)
{
	const cJSON *msg;

	*items = NULL;
	if (cJSON_IsArray(root)) {
		*items = root;
		return td__first_dialect(root, td__classify);
	}
	if (!cJSON_IsObject(root))
		return TD_DIALECT_AUTO;
	if (td__array_member(root, "choices")) {
		msg = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(td__array_member(root, "choices"), 0), "message");
		*items = td__array_member(msg, "tool_calls");
		return TD_DIALECT_OPENAI;
	}
	if ((*items = td__array_member(root, "tool_calls")))
		return TD_DIALECT_OPENAI;
	msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (cJSON_IsObject(msg) && (*items = td__array_member(msg, "tool_calls")))
		return TD_DIALECT_OPENAI; /* one choice of a chat completion: choices[0] */
	if ((*items = td__array_member(root, "output")))
		return TD_DIALECT_RESPONSES;
	if ((*items = td__array_member(root, "content")) &&
	    (td__str_is(root, "type", "message") || td__str_is(root, "role", "assistant")))
		return TD_DIALECT_ANTHROPIC;
	*items = NULL;
	return TD_DIALECT_AUTO;
}

/* ---- one call ---- */

/* "a number", "null"...: what a JSON value is, for "must be X, got Y" messages. */
static const char *json_kind(const cJSON *x)
{
	return cJSON_IsString(x) && !x->valuestring[0] ? "an empty string" : td__json_type(x, true);
}

struct raw_call {
	const char *id, *name;
	const char *id_key, *name_key;    /* what the dialect calls them, for messages */
	const cJSON *id_item, *name_item; /* the members as given, whatever their type */
	const cJSON *input;               /* NULL: {} */
	cJSON *owned;                     /* parsed arguments, freed after the call is added */
	char error[256];                  /* call-level error, "" if none */
	const cJSON *deps;
};

/*
 * `arguments` of OpenAI dialects: a JSON string (usually), parsed here, its values counted
 * against the batch's budget.
 */
static void parse_arguments(struct raw_call *rc, const cJSON *args, size_t *budget)
{
	const char *end = NULL, *what = NULL;
	size_t len, values;
	struct scan sc;
	char why[64];

	if (!args || (cJSON_IsString(args) && !args->valuestring[0]))
		return; /* no arguments: {} */
	if (cJSON_IsObject(args)) {
		rc->input = args; /* some proxies send the object itself */
		return;
	}
	if (!cJSON_IsString(args)) {
		snprintf(rc->error, sizeof(rc->error), "arguments must be a JSON string");
		return;
	}
	len = strlen(args->valuestring);
	if (td__json_first_unfit(args->valuestring, len, &what, &values) < len) {
		snprintf(rc->error, sizeof(rc->error),
		         "arguments hold %s, which cannot be passed to a tool", what);
		return;
	}
	if (values > *budget) {
		snprintf(rc->error, sizeof(rc->error),
		         "arguments too large: the batch would hold more than %u JSON values",
		         MAX_JSON_VALUES);
		return;
	}
	*budget -= values;
	rc->owned = cJSON_ParseWithOpts(args->valuestring, &end, 1);
	if (!rc->owned) {
		td__json_scan(args->valuestring, len, &sc);
		if (sc.deep_at < len)
			snprintf(why, sizeof(why), "nested deeper than %d levels",
			         CJSON_NESTING_LIMIT);
		else
			td__json_describe_at(args->valuestring, len,
			                     end ? (size_t)(end - args->valuestring) : 0, why,
			                     sizeof(why));
		snprintf(rc->error, sizeof(rc->error), "arguments are not valid JSON: %s", why);
		return;
	}
	if (!cJSON_IsObject(rc->owned))
		snprintf(rc->error, sizeof(rc->error), "arguments must be a JSON object, got %s",
		         json_kind(rc->owned));
	else
		rc->input = rc->owned;
}

static void read_call(const cJSON *item, enum td_dialect dl, size_t *budget, struct raw_call *rc)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(item, "function");
	const cJSON *in;

	memset(rc, 0, sizeof(*rc));
	rc->deps = cJSON_GetObjectItemCaseSensitive(item, "depends_on");
	rc->id_key = dl == TD_DIALECT_RESPONSES ? "call_id" : "id";
	rc->name_key = dl == TD_DIALECT_OPENAI ? "function.name" : "name";
	rc->id_item = cJSON_GetObjectItemCaseSensitive(item, rc->id_key);
	rc->name_item =
	    cJSON_GetObjectItemCaseSensitive(dl == TD_DIALECT_OPENAI ? fn : item, "name");
	rc->id = td__str_member(item, rc->id_key);
	if (dl == TD_DIALECT_OPENAI) {
		rc->name = td__str_member(fn, "name");
		parse_arguments(rc, cJSON_GetObjectItemCaseSensitive(fn, "arguments"), budget);
	} else if (dl == TD_DIALECT_RESPONSES) {
		rc->name = td__str_member(item, "name");
		parse_arguments(rc, cJSON_GetObjectItemCaseSensitive(item, "arguments"), budget);
	} else {
		rc->name = td__str_member(item, "name");
		in = cJSON_GetObjectItemCaseSensitive(item, "input");
		if (in && !cJSON_IsObject(in))
			snprintf(rc->error, sizeof(rc->error),
			         "input must be a JSON object, got %s", json_kind(in));
		else
			rc->input = in;
	}
}

static void bad_member(struct dctx *d, uint32_t ord, const char *tag, const char *key,
                       const cJSON *given)
{
	if (given)
		td__decode_error(d, ord, "call %u%s: '%s' must be a non-empty string, got %s", ord,
		                 tag, key, json_kind(given));
	else
		td__decode_error(d, ord, "call %u%s: missing '%s' (a non-empty string)", ord, tag,
		                 key);
}

/* A call without a usable id or name cannot be answered: batch-level. */
static bool call_identified(struct dctx *d, const struct raw_call *rc, uint32_t ord)
{
	const char *who = rc->id && rc->id[0] ? rc->id : rc->name;
	char tag[96] = "";

	if (who && who[0])
		snprintf(tag, sizeof(tag), " (%.80s)", who);
	if (!rc->id || !rc->id[0]) {
		bad_member(d, ord, tag, rc->id_key, rc->id_item);
		return false;
	}
	if (!rc->name || !rc->name[0]) {
		bad_member(d, ord, tag, rc->name_key, rc->name_item);
		return false;
	}
	return true;
}

static bool deps_valid(const cJSON *deps)
{
	const cJSON *e;

	if (!cJSON_IsArray(deps))
		return false;
	cJSON_ArrayForEach(e, deps)
	{
		if (!cJSON_IsString(e))
			return false;
	}
	return true;
}

/* Copies p's depends_on ids out of the element's tree, which is freed after the call. */
static int keep_deps(struct dctx *d, struct pending *p)
{
	const cJSON *e;

	p->dep_off = d->dep_ids.len;
	cJSON_ArrayForEach(e, p->deps)
	{
		td__buf_append(&d->dep_ids, e->valuestring, strlen(e->valuestring) + 1);
		p->ndeps++;
	}
	p->deps = NULL;
	return d->dep_ids.oom ? TD_ENOMEM : 0;
}

static int remember(struct dctx *d, uint32_t call, uint32_t ord, const cJSON *deps)
{
	struct pending *p;
	uint32_t *o;
	size_t cap;

	if (call >= d->ord_cap) {
		cap = d->ord_cap ? d->ord_cap * 2 : 16;
		o = td__reallocarray(d->ordinal, cap, sizeof(*o));
		if (!o)
			return TD_ENOMEM;
		d->ordinal = o;
		d->ord_cap = cap;
	}
	d->ordinal[call] = ord;
	if (!deps)
		return 0;
	if (d->npend == d->pend_cap) {
		cap = d->pend_cap ? d->pend_cap * 2 : 16;
		p = td__reallocarray(d->pend, cap, sizeof(*p));
		if (!p)
			return TD_ENOMEM;
		d->pend = p;
		d->pend_cap = cap;
	}
	p = &d->pend[d->npend++];
	*p = (struct pending){.call = call, .ordinal = ord, .deps = deps};
	if (d->each)
		return keep_deps(d, p);
	return 0;
}

/*
 * A key given twice in a call's own object (or its `function`): cJSON would read the first
 * "id" or "arguments" and ignore the second, so which call the model meant is unclear.
 * Batch-level, like a missing id. Returns 1 when reported, 0, or TD_ENOMEM.
 */
static int envelope_dup(struct dctx *d, const cJSON *item, enum td_dialect dl, uint32_t ord)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(item, "function"), *m;
	const char *where = "";
	bool oom;

	m = td__json_dup_member(item, &oom);
	if (!m && !oom && dl == TD_DIALECT_OPENAI) {
		m = td__json_dup_member(fn, &oom);
		where = " in 'function'";
	}
	if (oom)
		return TD_ENOMEM;
	if (!m)
		return 0;
	td__decode_error(d, ord, "call %u: key '%.80s' appears twice%s", ord, m->string, where);
	return 1;
}

static int add_call(struct dctx *d, const cJSON *item, enum td_dialect dl, uint32_t ord)
{
	struct raw_call rc;
	uint32_t dup = 0;
	int r;

	if ((r = envelope_dup(d, item, dl, ord)) != 0)
		return r < 0 ? r : 0;
	read_call(item, dl, &d->values, &rc);
	if (!call_identified(d, &rc, ord))
		goto out;
	if (rc.deps && !deps_valid(rc.deps)) {
		td__decode_error(d, ord, "call %u (%.80s): depends_on must be a list of call ids",
		                 ord, rc.id);
		rc.deps = NULL;
	}
	r = td__batch_add_call(d->b, rc.id, rc.name, rc.input, rc.error[0] ? rc.error : NULL, &dup);
	if (r == TD_EBATCH) {
		td__decode_error(d, ord, "duplicate call id '%.80s' (calls %u and %u)", rc.id,
		                 d->ordinal[dup], ord);
		r = 0;
	} else if (r >= 0) {
		r = remember(d, (uint32_t)r, ord, rc.deps);
	}
out:
	cJSON_Delete(rc.owned);
	return r;
}

int td__add_calls(struct dctx *d, const cJSON *items, enum td_dialect dl)
{
	const cJSON *it;
	enum td_dialect got;
	uint32_t ord = 0;
	int r;

	cJSON_ArrayForEach(it, items)
	{
		got = td__classify(it);
		if (got == TD_DIALECT_AUTO)
			continue; /* text, thinking, reasoning, message items */
		ord++;
		if (got != dl) {
			td__decode_error(d, ord, "call %u: mixed dialects: %s among %s", ord,
			                 td__dialect_calls[got], td__dialect_calls[dl]);
			continue;
		}
		if ((r = add_call(d, it, dl, ord)) < 0)
			return r;
	}
	return 0;
}

/* ---- explicit edges ---- */

static void unknown_dep(struct dctx *d, const struct pending *p, const char *id)
{
	const struct td_batch *b = d->b;
	const char **ids;
	const char *near = NULL;
	size_t i;

	if (d->each) {
		d->err = TD_EBATCH; /* the whole-tree pass says it, suggestion included */
		return;
	}
	/* a suggestion costs O(calls) per bad id: only for batches a person reads */
	if (b->ncalls <= 10000 && d->suggestions++ < MAX_SUGGESTIONS &&
	    (ids = td__malloc(b->ncalls * sizeof(*ids)))) {
		for (i = 0; i < b->ncalls; i++)
			ids[i] = b->calls[i].id;
		near = td__did_you_mean(id, ids, b->ncalls);
		td__free(ids);
	}
	td__decode_error(d, p->ordinal,
	                 "call %u (%.80s): depends_on names unknown call id '%.80s'%s%s%s",
	                 p->ordinal, b->calls[p->call].id, id, near ? " (did you mean '" : "",
	                 near ? near : "", near ? "'?)" : "");
}

static int add_edge(struct dctx *d, const struct pending *p, const char *id)
{
	uint32_t dep;

	if (!td__batch_find(d->b, id, &dep) && !td__batch_answered(d->b, id))
		unknown_dep(d, p, id);
	else if (!td__batch_find(d->b, id, &dep))
		return 0; /* answered earlier in the conversation: nothing to wait for */
	else if (td__batch_add_edge(d->b, p->call, dep) < 0)
		return TD_ENOMEM;
	return 0;
}

static int add_edges(struct dctx *d)
{
	const struct pending *p;
	const cJSON *e;
	const char *id;
	size_t i, k;

	for (i = 0; i < d->npend; i++) {
		p = &d->pend[i];
		cJSON_ArrayForEach(e, p->deps)
		{
			if (add_edge(d, p, e->valuestring) < 0)
				return TD_ENOMEM;
		}
		if (!p->ndeps)
			continue; /* dep_ids.data may be NULL: no arithmetic on it (UB) */
		for (k = 0, id = d->dep_ids.data + p->dep_off; k < p->ndeps;
		     k++, id += strlen(id) + 1)
			if (add_edge(d, p, id) < 0)
				return TD_ENOMEM;
	}
	return td__batch_edges_done(d->b);
}

/* ---- the batch ---- */

static int check_shape(struct dctx *d, const cJSON *root, enum td_dialect want,
                       enum td_dialect found, const cJSON *items)
{
	char what[160];

	if (found == TD_DIALECT_AUTO && !(items && want != TD_DIALECT_AUTO)) {
		td__describe_input(root, what, sizeof(what));
		td__decode_error(d, 0, "no tool calls found in %s; expected %s", what,
		                 td__dialect_shapes[want]);
		return TD_EBATCH;
	}
	if (want != TD_DIALECT_AUTO && found != TD_DIALECT_AUTO && found != want) {
		td__decode_error(
		    d, 0, "the input holds %s, but dialect '%s' was asked for (expected %s)",
		    td__dialect_calls[found], td_dialect_name(want), td__dialect_shapes[want]);
		return TD_EBATCH;
	}
	return 0;
}

static int decode_calls(struct dctx *d, const cJSON *root, enum td_dialect want)
{
	const cJSON *items;
	enum td_dialect dl = locate(root, &items);
	char what[160];
	int r;

	if ((r = check_shape(d, root, want, dl, items)))
		return r;
	if (dl == TD_DIALECT_AUTO)
		dl = want;
	d->b->dialect = dl;
	if ((r = td__add_calls(d, items, dl)) < 0)
		return r;
	if (!d->err && d->b->ncalls == 0) {
		td__describe_input(root, what, sizeof(what));
		td__decode_error(d, 0, "no tool calls found: no %s in %s", td__dialect_calls[dl],
		                 what);
	}
	return 0;
}

static int decode_root(struct dctx *d, const cJSON *root, enum td_dialect want)
{
	int r = td__convo_decode(d, root, want);

	if (r == TD__NOT_CONVERSATION)
		r = decode_calls(d, root, want);
	if (r < 0 || (r = add_edges(d)) < 0)
		return r;
	return d->err;
}

/* values: what parsing `arguments` strings may still add to the tree (MAX_JSON_VALUES...). */
static int decode_tree(const struct td_graph *graph, const cJSON *root, enum td_dialect dialect,
                       const char *name, unsigned line, size_t values, bool allow_none,
                       struct td_batch **out, struct td_diag *diag)
{
	struct dctx d = {
	    .diag = diag, .name = name, .line = line, .values = values, .allow_none = allow_none};
	int r;

	if (graph && root == graph->calls) { /* the graph's own: each call's place is known */
		d.pos = graph->call_pos;
		d.npos = (size_t)cJSON_GetArraySize(root);
	}

	d.b = td__batch_alloc(graph, dialect, name);
	if (!d.b)
		return TD_ENOMEM;
	d.b->pos = d.pos;
	d.b->npos = d.npos;
	r = decode_root(&d, root, dialect);
	td__free(d.ordinal);
	td__free(d.pend);
	if (r < 0) {
		if (r == TD_ENOMEM)
			td__diag_add(diag, r, name, 0, 0, "out of memory decoding the calls");
		td_batch_free(d.b);
		return r;
	}
	*out = d.b;
	return 0;
}

/* ---- the common case, call by call ---- */

/* decode_each() found something only the whole-tree pass words exactly. */
#define WHOLE_TREE 1

/* Skips what cJSON takes for whitespace between values (every byte up to ' '). */
static size_t skip_json_space(const char *s, size_t len, size_t off)
{
	while (off < len && (unsigned char)s[off] <= ' ')
		off++;
	return off;
}

/* One array element: like td__add_calls() for one item, the dialect fixed by the first call. */
static int each_item(struct dctx *d, const cJSON *it, enum td_dialect want, enum td_dialect *dl,
                     uint32_t *ord)
{
	enum td_dialect got = td__classify(it);
	int r;

	if (td__convo_marker(it))
		return WHOLE_TREE; /* a conversation: only the whole list says which calls run */
	if (got == TD_DIALECT_AUTO)
		return 0;
	if (*dl == TD_DIALECT_AUTO) {
		if (want != TD_DIALECT_AUTO && got != want)
			return WHOLE_TREE; /* the dialect asked for is not there */
		*dl = d->b->dialect = got;
	}
	++*ord;
	if (got != *dl)
		return WHOLE_TREE; /* mixed dialects */
	if ((r = add_call(d, it, *dl, *ord)) < 0)
		return r;
	return d->err ? WHOLE_TREE : 0;
}

/*
 * A batch of 100,000 calls is ~15 MB of JSON, and cJSON's tree of all of it ~9 times that (a
 * 64-byte node plus a malloc for each key and string). Every fresh page costs a fault (~19 us
 * on the VMs we measured), so building that tree was most of `tooldag plan`'s time. When the
 * document is an array, its elements are parsed one at a time instead - each added to the
 * batch and freed, so malloc hands the same memory back for the next - which is the whole
 * document parsed once, at a peak near the batch's own size.
 *
 * Only the clean case is done here. A syntax error, nesting past cJSON's limit (an element
 * parsed alone sits one level shallower), or any batch-level problem returns WHOLE_TREE, and
 * the caller decodes the document again as one tree, which reports exactly as it always has.
 */
static int decode_each(struct dctx *d, const char *s, size_t len, enum td_dialect want)
{
	enum td_dialect dl = TD_DIALECT_AUTO;
	const char *end = NULL;
	size_t off = skip_json_space(s, len, 0);
	uint32_t ord = 0;
	struct scan sc;
	cJSON *it;
	int r;

	if (off >= len || s[off] != '[')
		return WHOLE_TREE;
	td__json_scan(s, len, &sc);
	if (sc.deep_at < len)
		return WHOLE_TREE;
	off = skip_json_space(s, len, off + 1);
	while (off < len && s[off] != ']') {
		/* cJSON skips a byte order mark at the start of what it is given: not inside */
		if ((unsigned char)s[off] == 0xef)
			return WHOLE_TREE;
		if (!(it = cJSON_ParseWithLengthOpts(s + off, len - off, &end, 0)))
			return WHOLE_TREE;
		r = each_item(d, it, want, &dl, &ord);
		cJSON_Delete(it);
		if (r)
			return r;
		off = skip_json_space(s, len, (size_t)(end - s));
		if (off < len && s[off] == ',')
			off = skip_json_space(s, len, off + 1);
		else if (off >= len || s[off] != ']')
			return WHOLE_TREE;
	}
	if (off >= len)
		return WHOLE_TREE;
	off++;
	/* what td__json_parse() accepts after the value */
	if (!td__json_only_space(s, len, &off) && s[off] != '\0')
		return WHOLE_TREE;
	if (dl == TD_DIALECT_AUTO)
		return WHOLE_TREE; /* no calls */
	if ((r = add_edges(d)) < 0)
		return r;
	return d->err ? WHOLE_TREE : 0;
}

/* decode_each() into a new batch: 0 (*out set), WHOLE_TREE or TD_ENOMEM (said in diag). */
static int decode_array(const struct td_graph *graph, const char *json, size_t len,
                        enum td_dialect dialect, const char *name, struct td_batch **out,
                        struct td_diag *diag)
{
	struct dctx d = {.name = name, .each = true};
	int r;

	/* the same text checks as td__json_parse() (UTF-8, NUL, the JSON value budget, which
	 * read_call spends on `arguments`): text that fails them goes the whole-tree way, which
	 * says why */
	if (td__json_unfit_text(&d, json, len))
		return WHOLE_TREE;
	d.b = td__batch_alloc(graph, dialect, name);
	if (!d.b)
		return TD_ENOMEM;
	r = decode_each(&d, json, len, dialect);
	td__free(d.ordinal);
	td__free(d.pend);
	td__buf_free(&d.dep_ids);
	if (r) {
		if (r == TD_ENOMEM)
			td__diag_add(diag, r, name, 0, 0, "out of memory decoding the calls");
		td_batch_free(d.b);
		return r;
	}
	*out = d.b;
	return 0;
}

static int decode_text(const struct td_graph *graph, const char *json, size_t len,
                       enum td_dialect dialect, const char *name, bool allow_none,
                       struct td_batch **out, struct td_diag *diag)
{
	struct dctx d = {.diag = diag, .name = name ? name : "<calls>"};
	cJSON *root = NULL;
	int r;

	if (out)
		*out = NULL;
	if (!graph || !out || (!json && len) || (unsigned)dialect > TD_DIALECT_RESPONSES)
		return TD_EINVAL;
	if (len > TD_BATCH_MAX_BYTES) {
		td__diag_add(diag, TD_ETOOBIG, d.name, 0, 0,
		             "call batch is %zu bytes, more than the limit of %u MiB", len,
		             TD_BATCH_MAX_BYTES >> 20);
		return TD_ETOOBIG;
	}
	if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0) {
		json += 3; /* a UTF-8 byte order mark, as some editors write */
		len -= 3;
	}
	if ((r = decode_array(graph, json ? json : "", len, dialect, d.name, out, diag)) !=
	    WHOLE_TREE)
		return r;
	if ((r = td__json_parse(&d, json ? json : "", len, &root)))
		return r;
	r = decode_tree(graph, root, dialect, d.name, 0, d.values, allow_none, out, diag);
	cJSON_Delete(root);
	return r;
}

int td_batch_decode(const struct td_graph *graph, const char *json, size_t len,
                    enum td_dialect dialect, const char *name, struct td_batch **out,
                    struct td_diag *diag)
{
	return decode_text(graph, json, len, dialect, name, false, out, diag);
}

int td_conversation_decode(const struct td_graph *graph, const char *json, size_t len,
                           enum td_dialect dialect, const char *name, struct td_batch **out,
                           struct td_diag *diag)
{
	int r = decode_text(graph, json, len, dialect, name, true, out, diag);

	return r < 0 ? r : (int)td_batch_count(*out);
}

int td_batch_from_graph(const struct td_graph *graph, struct td_batch **out, struct td_diag *diag)
{
	if (out)
		*out = NULL;
	if (!graph || !out)
		return TD_EINVAL;
	if (!graph->calls)
		return TD_ENOTFOUND;
	/* the loader bounds the graph's calls (alias expansion); they hold no `arguments` */
	return decode_tree(graph, graph->calls, TD_DIALECT_ANTHROPIC,
	                   graph->name ? graph->name : "<graph>", graph->calls_line,
	                   MAX_JSON_VALUES, false, out, diag);
}

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

#include "calls/batch.h"
#include "schema/schema.h"

/* Calls are numbered from 1 in messages, in the order they appear in the input. */
struct pending {
	uint32_t call;     /* batch index */
	uint32_t ordinal;  /* 1-based number of the call in the input */
	const cJSON *deps; /* the call's depends_on, or NULL when copied to dctx.dep_ids */
	size_t dep_off; /* with deps NULL: ndeps NUL-terminated ids from dep_ids.data + dep_off */
	uint32_t ndeps;
};

struct dctx {
	struct td_batch *b;
	struct td_diag *diag;
	const char *name;          /* input name for diagnostics */
	unsigned line;             /* position for every item (graph calls), 0 for JSON input */
	const struct td__pos *pos; /* the graph's calls: where each one is (npos of them) */
	size_t npos;
	int err;           /* first batch-level error */
	uint32_t *ordinal; /* [batch index] -> 1-based input call number */
	size_t ord_cap;
	struct pending *pend;
	size_t npend, pend_cap;
	size_t suggestions; /* did-you-mean searches done for unknown depends_on ids */
	size_t values;      /* JSON values still allowed (MAX_JSON_VALUES at first) */
	/* Call by call (decode_each): the element trees are gone by the time edges are added, so
	 * depends_on ids are copied here. Batch-level problems only set err there (diag is NULL):
	 * the whole-tree pass that follows words them. */
	bool each;
	struct td__buf dep_ids;
};

/*
 * A did-you-mean search for an unknown depends_on id costs O(calls); only this many are done
 * per batch (the diag keeps 100 items by default anyway), so that a batch of 10,000 calls
 * each naming 100 absent ids is not 10^10 string comparisons.
 */
#define MAX_SUGGESTIONS 100

/*
 * JSON values one batch may parse into, counting those inside OpenAI `arguments` strings.
 * cJSON spends about 80 bytes per value, so a 256 MiB batch of "[0,0,0,..." would be 10 GB;
 * this keeps the parse tree near 1.3 GB at worst, while a million ordinary calls (6 to 10
 * values each) fit.
 */
#define MAX_JSON_VALUES (1u << 24)

static const char *const dialect_calls[] = {
    [TD_DIALECT_AUTO] = "tool calls",
    [TD_DIALECT_ANTHROPIC] = "Anthropic tool_use blocks",
    [TD_DIALECT_OPENAI] = "OpenAI Chat tool_calls",
    [TD_DIALECT_RESPONSES] = "OpenAI Responses function_call items",
};

static const char *const dialect_shapes[] = {
    [TD_DIALECT_AUTO] = "tool_use blocks (Anthropic), tool_calls (OpenAI Chat) or "
                        "function_call items (OpenAI Responses), in an array or inside a "
                        "message or response",
    [TD_DIALECT_ANTHROPIC] = "an array of Anthropic tool_use blocks, an assistant message or "
                             "a Messages API response",
    [TD_DIALECT_OPENAI] = "an array of OpenAI tool_calls, an assistant message with "
                          "tool_calls or a chat completion",
    [TD_DIALECT_RESPONSES] = "an array of OpenAI Responses function_call items or a response "
                             "holding them in 'output'",
};

/* A batch-level problem; ord is the 1-based input call it is about (its position is known for
 * the graph's own calls), or 0. */
static void batch_error(struct dctx *d, uint32_t ord, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void batch_error(struct dctx *d, uint32_t ord, const char *fmt, ...)
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

/* ---- syntax errors ---- */

/* 1-based line and column (in code points) of byte offset off. */
static void position(const char *s, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

struct scan {
	size_t deep_at; /* offset of the bracket past cJSON's nesting limit, or len */
	size_t depth;   /* brackets still open at the end */
	bool in_string; /* the text ends inside a string */
};

/*
 * cJSON fails without saying why. A bracket count tells the two failures worth naming apart:
 * its nesting limit (the text there is valid) and a text that simply stops too early.
 */
static void scan(const char *s, size_t len, struct scan *sc)
{
	size_t i;

	memset(sc, 0, sizeof(*sc));
	sc->deep_at = len;
	for (i = 0; i < len; i++) {
		if (sc->in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				sc->in_string = false;
		} else if (s[i] == '"') {
			sc->in_string = true;
		} else if (s[i] == '[' || s[i] == '{') {
			if (++sc->depth > CJSON_NESTING_LIMIT && sc->deep_at == len)
				sc->deep_at = i;
		} else if ((s[i] == ']' || s[i] == '}') && sc->depth) {
			sc->depth--;
		}
	}
}

/*
 * cJSON's error offset is approximate: at the end of the input it points at the last byte,
 * and in a bad key or string one past its first byte. Moves it to the start of the token, or
 * to the end of the input (*eof) when the text stops inside a string or an open bracket.
 */
static size_t error_offset(const char *s, size_t len, size_t off, bool *eof)
{
	struct scan sc;

	*eof = false;
	if (off + 1 >= len) {
		scan(s, len, &sc);
		if (sc.depth || sc.in_string) {
			*eof = true;
			return len;
		}
	}
	while (off > 0 && off < len && !strchr(" \t\r\n,:[]{}\"", s[off - 1]))
		off--;
	return off;
}

/* "unexpected end of input" or "error near 'snippet'" for the text at off. */
static void describe_at(const char *s, size_t len, size_t off, char *buf, size_t buflen)
{
	size_t n = 0;
	bool eof;

	off = error_offset(s, len, off, &eof);
	if (eof || off >= len) {
		snprintf(buf, buflen, "unexpected end of input");
		return;
	}
	while (off + n < len && n < 24 && (unsigned char)s[off + n] >= 0x20)
		n++;
	snprintf(buf, buflen, "error near '%.*s'", (int)n, s + off);
}

static int syntax_error(struct dctx *d, const char *s, size_t len, size_t off, const char *what)
{
	unsigned line, col;
	struct scan sc;
	char why[64];
	bool eof;

	scan(s, len, &sc);
	if (sc.deep_at < len) {
		position(s, sc.deep_at, &line, &col);
		td__diag_add(d->diag, TD_ESYNTAX, d->name, line, col,
		             "JSON nested deeper than %d levels", CJSON_NESTING_LIMIT);
		return TD_ESYNTAX;
	}
	if (!what) {
		describe_at(s, len, off, why, sizeof(why));
		off = error_offset(s, len, off, &eof);
	}
	position(s, off, &line, &col);
	td__diag_add(d->diag, TD_ESYNTAX, d->name, line, col, "%s%s",
	             what ? "" : "not valid JSON: ", what ? what : why);
	return TD_ESYNTAX;
}

/* Length of the UTF-8 sequence at s[i] (1 for ASCII), or 0 when it is not valid UTF-8. */
static size_t utf8_at(const char *s, size_t len, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	if (c < 0x80)
		return 1;
	return n <= len - i && td__valid_utf8(s + i, n) ? n : 0;
}

/*
 * What cJSON lets through but a batch must not hold. Text that is not UTF-8 (RFC 8259 8.1):
 * an id in another encoding could not be echoed back in the results, which are UTF-8. And NUL
 * characters, raw or as \u0000: cJSON decodes strings into C strings, which would end there
 * silently - the ids "a\u0000x" and "a\u0000y" would both become "a", the tool name
 * "echo\u0000x" the tool "echo", and an input value would lose its tail. Returns the offset
 * of the first such byte (*what says which), or len. On the way, *values gets a bound on the
 * number of JSON values the text parses into: a comma, or twice an opening bracket (the
 * container and its first element), plus the root.
 */
static size_t first_unfit(const char *s, size_t len, const char **what, size_t *values)
{
	bool in_string = false;
	size_t i = 0, n;

	*values = 1;
	while (i < len) {
		if (s[i] == '\0' && !in_string)
			break; /* the parser takes a NUL outside a string for the end of the text */
		if (s[i] == '\0') {
			*what = "a NUL byte";
			return i;
		}
		if (!(n = utf8_at(s, len, i))) {
			*what = "invalid UTF-8";
			return i;
		}
		if (in_string && s[i] == '\\' && i + 1 < len && s[i + 1] == 'u' && len - i >= 6 &&
		    memcmp(s + i + 2, "0000", 4) == 0) {
			*what = "\\u0000 (a NUL character)";
			return i;
		}
		if (in_string && s[i] == '\\')
			n = 2; /* the escaped character cannot end the string */
		else if (s[i] == '"')
			in_string = !in_string;
		else if (!in_string && (s[i] == '[' || s[i] == '{'))
			*values += 2;
		else if (!in_string && s[i] == ',')
			*values += 1;
		i += n;
	}
	return len;
}

static int unfit_text(struct dctx *d, const char *s, size_t len)
{
	const char *what = NULL;
	size_t values, off = first_unfit(s, len, &what, &values);
	unsigned line, col;

	if (off >= len && values > MAX_JSON_VALUES) {
		td__diag_add(d->diag, TD_ETOOBIG, d->name, 0, 0,
		             "call batch holds more than %u JSON values, the limit (about 1.3 GB "
		             "once parsed): split it",
		             MAX_JSON_VALUES);
		return TD_ETOOBIG;
	}
	d->values = MAX_JSON_VALUES - (values < MAX_JSON_VALUES ? values : MAX_JSON_VALUES);
	if (off >= len)
		return 0;
	position(s, off, &line, &col);
	if (s[off] != '\\' && s[off] != '\0')
		td__diag_add(d->diag, TD_ESYNTAX, d->name, line, col,
		             "not valid JSON: invalid UTF-8 (byte 0x%02x); JSON text must be UTF-8",
		             (unsigned char)s[off]);
	else
		td__diag_add(d->diag, TD_ESYNTAX, d->name, line, col,
		             "%s in the JSON text: ids, tool names and inputs cannot hold NUL",
		             what);
	return TD_ESYNTAX;
}

static bool only_space(const char *s, size_t len, size_t *first)
{
	size_t i = *first;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	*first = i;
	return i >= len;
}

/* Parses the whole text as one JSON value, or reports where it stops being JSON. */
static int parse(struct dctx *d, const char *s, size_t len, cJSON **root)
{
	const char *end = NULL;
	size_t off = 0;
	int r;

	if (only_space(s, len, &off)) {
		td__diag_add(d->diag, TD_ESYNTAX, d->name, 0, 0,
		             "empty input: expected a JSON array or object holding tool calls");
		return TD_ESYNTAX;
	}
	if ((r = unfit_text(d, s, len)))
		return r;
	*root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	off = end ? (size_t)(end - s) : 0;
	if (!*root)
		return syntax_error(d, s, len, off, NULL);
	if (!only_space(s, len, &off) && s[off] != '\0') {
		cJSON_Delete(*root);
		*root = NULL;
		return syntax_error(d, s, len, off, "unexpected data after the JSON value");
	}
	return 0;
}

/* ---- shapes ---- */

static const char *str_member(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

static bool str_is(const cJSON *o, const char *key, const char *want)
{
	const char *v = str_member(o, key);

	return v && strcmp(v, want) == 0;
}

/* Which dialect's call an array item is, or AUTO when it is not a call (text, reasoning...). */
static enum td_dialect classify(const cJSON *item)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");

	if (!cJSON_IsObject(item))
		return TD_DIALECT_AUTO;
	if (str_is(item, "type", "tool_use"))
		return TD_DIALECT_ANTHROPIC;
	if (str_is(item, "type", "function_call"))
		return TD_DIALECT_RESPONSES;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(item, "function")) &&
	    (!type || str_is(item, "type", "function")))
		return TD_DIALECT_OPENAI;
	return TD_DIALECT_AUTO;
}

static enum td_dialect array_dialect(const cJSON *arr)
{
	const cJSON *it;
	enum td_dialect dl;

	cJSON_ArrayForEach(it, arr)
	{
		if ((dl = classify(it)) != TD_DIALECT_AUTO)
			return dl;
	}
	return TD_DIALECT_AUTO;
}

static const cJSON *array_member(const cJSON *o, const char *key)
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
		return array_dialect(root);
	}
	if (!cJSON_IsObject(root))
		return TD_DIALECT_AUTO;
	if (array_member(root, "choices")) {
		msg = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetArrayItem(array_member(root, "choices"), 0), "message");
		*items = array_member(msg, "tool_calls");
		return TD_DIALECT_OPENAI;
	}
	if ((*items = array_member(root, "tool_calls")))
		return TD_DIALECT_OPENAI;
	if ((*items = array_member(root, "output")))
		return TD_DIALECT_RESPONSES;
	if ((*items = array_member(root, "content")) &&
	    (str_is(root, "type", "message") || str_is(root, "role", "assistant")))
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
	if (first_unfit(args->valuestring, len, &what, &values) < len) {
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
		scan(args->valuestring, len, &sc);
		if (sc.deep_at < len)
			snprintf(why, sizeof(why), "nested deeper than %d levels",
			         CJSON_NESTING_LIMIT);
		else
			describe_at(args->valuestring, len,
			            end ? (size_t)(end - args->valuestring) : 0, why, sizeof(why));
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
	rc->id = str_member(item, rc->id_key);
	if (dl == TD_DIALECT_OPENAI) {
		rc->name = str_member(fn, "name");
		parse_arguments(rc, cJSON_GetObjectItemCaseSensitive(fn, "arguments"), budget);
	} else if (dl == TD_DIALECT_RESPONSES) {
		rc->name = str_member(item, "name");
		parse_arguments(rc, cJSON_GetObjectItemCaseSensitive(item, "arguments"), budget);
	} else {
		rc->name = str_member(item, "name");
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
		batch_error(d, ord, "call %u%s: '%s' must be a non-empty string, got %s", ord, tag,
		            key, json_kind(given));
	else
		batch_error(d, ord, "call %u%s: missing '%s' (a non-empty string)", ord, tag, key);
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
	batch_error(d, ord, "call %u: key '%.80s' appears twice%s", ord, m->string, where);
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
		batch_error(d, ord, "call %u (%.80s): depends_on must be a list of call ids", ord,
		            rc.id);
		rc.deps = NULL;
	}
	r = td__batch_add_call(d->b, rc.id, rc.name, rc.input, rc.error[0] ? rc.error : NULL, &dup);
	if (r == TD_EBATCH) {
		batch_error(d, ord, "duplicate call id '%.80s' (calls %u and %u)", rc.id,
		            d->ordinal[dup], ord);
		r = 0;
	} else if (r >= 0) {
		r = remember(d, (uint32_t)r, ord, rc.deps);
	}
out:
	cJSON_Delete(rc.owned);
	return r;
}

static int add_calls(struct dctx *d, const cJSON *items, enum td_dialect dl)
{
	const cJSON *it;
	enum td_dialect got;
	uint32_t ord = 0;
	int r;

	cJSON_ArrayForEach(it, items)
	{
		got = classify(it);
		if (got == TD_DIALECT_AUTO)
			continue; /* text, thinking, reasoning, message items */
		ord++;
		if (got != dl) {
			batch_error(d, ord, "call %u: mixed dialects: %s among %s", ord,
			            dialect_calls[got], dialect_calls[dl]);
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
	batch_error(d, p->ordinal,
	            "call %u (%.80s): depends_on names unknown call id '%.80s'%s%s%s", p->ordinal,
	            b->calls[p->call].id, id, near ? " (did you mean '" : "", near ? near : "",
	            near ? "'?)" : "");
}

static int add_edge(struct dctx *d, const struct pending *p, const char *id)
{
	uint32_t dep;

	if (!td__batch_find(d->b, id, &dep))
		unknown_dep(d, p, id);
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

static int check_shape(struct dctx *d, enum td_dialect want, enum td_dialect found,
                       const cJSON *items)
{
	if (found == TD_DIALECT_AUTO && !(items && want != TD_DIALECT_AUTO)) {
		batch_error(d, 0, "no tool calls found: expected %s", dialect_shapes[want]);
		return TD_EBATCH;
	}
	if (want != TD_DIALECT_AUTO && found != TD_DIALECT_AUTO && found != want) {
		batch_error(d, 0,
		            "the input holds %s, but dialect '%s' was asked for (expected %s)",
		            dialect_calls[found], td_dialect_name(want), dialect_shapes[want]);
		return TD_EBATCH;
	}
	return 0;
}

static int decode_root(struct dctx *d, const cJSON *root, enum td_dialect want)
{
	const cJSON *items;
	enum td_dialect dl = locate(root, &items);
	int r;

	if ((r = check_shape(d, want, dl, items)))
		return r;
	if (dl == TD_DIALECT_AUTO)
		dl = want;
	d->b->dialect = dl;
	if ((r = add_calls(d, items, dl)) < 0 || (r = add_edges(d)) < 0)
		return r;
	if (!d->err && d->b->ncalls == 0)
		batch_error(d, 0, "no tool calls found: no %s in the input", dialect_calls[dl]);
	return d->err;
}

/* values: what parsing `arguments` strings may still add to the tree (MAX_JSON_VALUES...). */
static int decode_tree(const struct td_graph *graph, const cJSON *root, enum td_dialect dialect,
                       const char *name, unsigned line, size_t values, struct td_batch **out,
                       struct td_diag *diag)
{
	struct dctx d = {.diag = diag, .name = name, .line = line, .values = values};
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

/* One array element: like add_calls() for one item, the dialect fixed by the first call. */
static int each_item(struct dctx *d, const cJSON *it, enum td_dialect want, enum td_dialect *dl,
                     uint32_t *ord)
{
	enum td_dialect got = classify(it);
	int r;

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
	scan(s, len, &sc);
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
	/* what parse() accepts after the value */
	if (!only_space(s, len, &off) && s[off] != '\0')
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

	/* the same text checks as parse() (UTF-8, NUL, the JSON value budget, which read_call
	 * spends on `arguments`): text that fails them goes the whole-tree way, which says why */
	if (unfit_text(&d, json, len))
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

int td_batch_decode(const struct td_graph *graph, const char *json, size_t len,
                    enum td_dialect dialect, const char *name, struct td_batch **out,
                    struct td_diag *diag)
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
	if ((r = parse(&d, json ? json : "", len, &root)))
		return r;
	r = decode_tree(graph, root, dialect, d.name, 0, d.values, out, diag);
	cJSON_Delete(root);
	return r;
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
	                   MAX_JSON_VALUES, out, diag);
}

/* SPDX-License-Identifier: MIT */
/*
 * stream.c - a streamed model response (Server-Sent Events) -> the calls it made. Each
 * dialect streams a call in fragments: Anthropic content_block_start / input_json_delta /
 * content_block_stop; Chat Completions chat.completion.chunk with tool_calls deltas keyed by
 * index (the id and name only in the first) and [DONE]; Responses output_item.added /
 * function_call_arguments.delta / output_item.done. Fragments of several calls may
 * interleave. At the end the complete calls are written as the same calls in one JSON
 * document of the dialect and decoded like one, so a stream and the message it amounts to
 * give the same batch, errors included.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "calls/sse.h"
#include "calls/stream.h"
#include "util/util.h"

/* A call's input or arguments, and one event's data, are kept to this many bytes. */
#define CALL_MAX (16u << 20)

struct scall {
	long index; /* content block, tool_calls index or output_index */
	char *id, *name;
	struct td__buf args;
	bool done;
	bool taken; /* handed to a run (td__stream_take) */
};

struct td_stream {
	enum td_dialect want, dl;
	char *name;
	struct td__sse sse;
	struct scall *calls;
	size_t ncalls, cap;
	bool ended;   /* the dialect's end event arrived */
	char *error;  /* the API's error event, or what made the stream unreadable */
	bool failed;  /* error is ours (the stream cannot be read further), not the API's */
	long last;    /* index of the call that received the last fragment (Chat), -1 */
	bool at_end;  /* the input has ended: a last event that is not JSON was cut */
	bool no_take; /* a call could not be taken: later ones wait for the end too */
};

/* ---- calls ---- */

static struct scall *find(struct td_stream *s, long index)
{
	size_t i;

	for (i = 0; i < s->ncalls; i++)
		if (s->calls[i].index == index)
			return &s->calls[i];
	return NULL;
}

static char *dup_or_null(const char *v)
{
	return v ? td__strdup(v) : NULL;
}

static struct scall *add(struct td_stream *s, long index, const char *id, const char *name)
{
	struct scall *c;
	size_t cap;

	if ((c = find(s, index)))
		return c; /* a repeated start: the first one stands */
	if (s->ncalls == s->cap) {
		cap = s->cap ? s->cap * 2 : 8;
		if (!(c = td__reallocarray(s->calls, cap, sizeof(*c))))
			return NULL;
		s->calls = c;
		s->cap = cap;
	}
	c = &s->calls[s->ncalls++];
	memset(c, 0, sizeof(*c));
	c->index = index;
	c->id = dup_or_null(id);
	c->name = dup_or_null(name);
	return c;
}

static int fail(struct td_stream *s, bool ours, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct td_stream *s, bool ours, const char *fmt, ...)
{
	struct td__buf b = {0};
	va_list ap;
	char tmp[512];

	if (s->error)
		return TD_EBATCH;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	td__buf_puts(&b, tmp);
	s->error = td__buf_take(&b);
	s->failed = ours;
	return s->error ? TD_EBATCH : TD_ENOMEM;
}

static int append(struct td_stream *s, struct scall *c, const char *frag)
{
	size_t n = frag ? strlen(frag) : 0;

	if (!c)
		return 0; /* a fragment of a block that is no call (text, thinking) */
	if (c->args.len + n > CALL_MAX)
		return fail(s, true, "call '%.80s' (%.80s): its input is longer than %u MiB",
		            c->id ? c->id : "?", c->name ? c->name : "?", CALL_MAX >> 20);
	td__buf_append(&c->args, frag, n);
	return c->args.oom ? TD_ENOMEM : 0;
}

static int replace(struct td_stream *s, struct scall *c, const char *whole)
{
	if (!c || !whole)
		return 0;
	c->args.len = 0;
	return append(s, c, whole);
}

/* ---- the three dialects ---- */

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

static long num(const cJSON *o, const char *key, long dflt)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(m) ? (long)td__num_i64(m->valuedouble, INT32_MIN, INT32_MAX, dflt)
	                         : dflt;
}

static const cJSON *obj(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* {"type":"error","error":{"type":..., "message":...}} (Anthropic, Responses) or
 * {"error":{"message":..., "type"|"code":...}} (Chat Completions). */
static int api_error(struct td_stream *s, const cJSON *ev)
{
	const cJSON *e = obj(ev, "error");
	const char *kind = str(e, "type") ? str(e, "type") : str(e, "code");
	const char *msg = str(e, "message") ? str(e, "message") : str(ev, "message");

	return fail(s, false, "the API reported an error: %.80s%s%.300s", kind ? kind : "error",
	            msg ? ": " : "", msg ? msg : "");
}

static int anthropic(struct td_stream *s, const char *type, const cJSON *ev)
{
	const cJSON *cb = obj(ev, "content_block"), *d = obj(ev, "delta");
	long i = num(ev, "index", -1);
	struct scall *c;

	if (strcmp(type, "content_block_start") == 0 && cJSON_IsString(obj(cb, "type")) &&
	    strcmp(str(cb, "type"), "tool_use") == 0)
		return add(s, i, str(cb, "id"), str(cb, "name")) ? 0 : TD_ENOMEM;
	if (strcmp(type, "content_block_delta") == 0 && str(d, "partial_json"))
		return append(s, find(s, i), str(d, "partial_json"));
	if (strcmp(type, "content_block_stop") == 0 && (c = find(s, i)))
		c->done = true;
	else if (strcmp(type, "message_stop") == 0)
		s->ended = true;
	return 0; /* message_start, message_delta, ping, text and thinking blocks */
}

static int chat_call(struct td_stream *s, const cJSON *tc, long pos)
{
	const cJSON *fn = obj(tc, "function");
	long i = num(tc, "index", pos);
	struct scall *c = find(s, i);

	if (!c && !(c = add(s, i, str(tc, "id"), str(fn, "name"))))
		return TD_ENOMEM;
	/* the id and name come in the first fragment; a later one may repeat them */
	if (!c->id && str(tc, "id") && !(c->id = td__strdup(str(tc, "id"))))
		return TD_ENOMEM;
	if (!c->name && str(fn, "name") && !(c->name = td__strdup(str(fn, "name"))))
		return TD_ENOMEM;
	s->last = i;
	return append(s, c, str(fn, "arguments"));
}

static int chat(struct td_stream *s, const cJSON *ev)
{
	const cJSON *ch, *tc;
	long pos = 0;
	size_t k;
	int r;

	/* usage-only chunks have no choices; only the first choice holds the calls */
	cJSON_ArrayForEach(ch, obj(ev, "choices"))
	{
		if (num(ch, "index", 0) != 0)
			continue;
		cJSON_ArrayForEach(tc, obj(obj(ch, "delta"), "tool_calls"))
		{
			if ((r = chat_call(s, tc, pos++)) < 0)
				return r;
		}
		if (cJSON_IsString(obj(ch, "finish_reason")))
			for (k = 0; k < s->ncalls; k++)
				s->calls[k].done = true;
	}
	return 0;
}

static int responses(struct td_stream *s, const char *type, const cJSON *ev)
{
	const cJSON *item = obj(ev, "item");
	long i = num(ev, "output_index", -1);
	bool fc =
	    cJSON_IsString(obj(item, "type")) && strcmp(str(item, "type"), "function_call") == 0;
	struct scall *c;

	if (strcmp(type, "response.output_item.added") == 0 && fc)
		return (c = add(s, i, str(item, "call_id"), str(item, "name")))
		           ? replace(s, c, str(item, "arguments"))
		           : TD_ENOMEM;
	if (strcmp(type, "response.function_call_arguments.delta") == 0)
		return append(s, find(s, i), str(ev, "delta"));
	if (strcmp(type, "response.function_call_arguments.done") == 0)
		return replace(s, find(s, i), str(ev, "arguments"));
	if (strcmp(type, "response.output_item.done") == 0 && fc) {
		if (!(c = add(s, i, str(item, "call_id"), str(item, "name"))))
			return TD_ENOMEM;
		c->done = true;
		return replace(s, c, str(item, "arguments"));
	}
	if (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0)
		s->ended = true;
	else if (strcmp(type, "response.failed") == 0)
		return api_error(s, obj(ev, "response"));
	return 0;
}

/* Which dialect an event belongs to, or AUTO when it says nothing (ping). */
static enum td_dialect event_dialect(const char *type, const cJSON *ev)
{
	if (type && (strncmp(type, "message_", 8) == 0 || strncmp(type, "content_block_", 14) == 0))
		return TD_DIALECT_ANTHROPIC;
	if (type && strncmp(type, "response.", 9) == 0)
		return TD_DIALECT_RESPONSES;
	if (obj(ev, "choices") ||
	    (str(ev, "object") && strcmp(str(ev, "object"), "chat.completion.chunk") == 0))
		return TD_DIALECT_OPENAI;
	return TD_DIALECT_AUTO;
}

static int on_json(struct td_stream *s, const cJSON *ev)
{
	const char *type = str(ev, "type");
	enum td_dialect dl = event_dialect(type, ev);

	if ((type && strcmp(type, "error") == 0) || (!type && cJSON_IsObject(obj(ev, "error"))))
		return api_error(s, ev); /* Anthropic, Responses: an error event; Chat: a chunk */
	if (dl != TD_DIALECT_AUTO && s->dl == TD_DIALECT_AUTO) {
		if (s->want != TD_DIALECT_AUTO && dl != s->want)
			return fail(s, true,
			            "the stream is in the %s dialect, but '%s' was asked for",
			            td_dialect_name(dl), td_dialect_name(s->want));
		s->dl = dl;
	}
	if (s->dl == TD_DIALECT_ANTHROPIC && type)
		return anthropic(s, type, ev);
	if (s->dl == TD_DIALECT_RESPONSES && type)
		return responses(s, type, ev);
	if (s->dl == TD_DIALECT_OPENAI)
		return chat(s, ev);
	return 0;
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
	struct td_stream *s = ud;
	cJSON *ev;
	int r;

	(void)event; /* every event's data says its type: the name adds nothing */
	if (s->error)
		return s->failed ? TD_EBATCH : 0; /* after an API error only the end matters */
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->ended = true;
		return 0;
	}
	if (!(ev = cJSON_ParseWithLength(data, len)))
		return s->at_end ? 0 : fail(s, true, "an event's data is not JSON: '%.60s'", data);
	r = on_json(s, ev);
	cJSON_Delete(ev);
	return r;
}

/* ---- the public API ---- */

int td_stream_detect(const char *bytes, size_t len)
{
	return bytes ? td__sse_detect(bytes, len) : 0;
}

int td_stream_new(enum td_dialect dialect, const char *name, struct td_stream **out)
{
	struct td_stream *s;

	if (!out || (unsigned)dialect > TD_DIALECT_RESPONSES)
		return TD_EINVAL;
	if (!(s = td__calloc(1, sizeof(*s))))
		return TD_ENOMEM;
	s->want = dialect;
	s->dl = TD_DIALECT_AUTO;
	s->last = -1;
	if (!(s->name = td__strdup(name ? name : "<stream>"))) {
		td__free(s);
		return TD_ENOMEM;
	}
	td__sse_init(&s->sse, CALL_MAX + 65536, on_event, s);
	*out = s;
	return 0;
}

int td_stream_feed(struct td_stream *s, const char *bytes, size_t len)
{
	size_t i, n = 0;
	int r;

	if (!s || (!bytes && len))
		return TD_EINVAL;
	if (s->failed)
		return TD_EBATCH;
	if ((r = td__sse_feed(&s->sse, bytes, len)) == TD_ETOOBIG)
		r = fail(s, true, "an event longer than %u MiB", (CALL_MAX >> 20) + 1);
	if (r < 0)
		return r;
	for (i = 0; i < s->ncalls; i++)
		n += s->calls[i].done;
	return (int)n;
}

void td_stream_free(struct td_stream *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ncalls; i++) {
		td__free(s->calls[i].id);
		td__free(s->calls[i].name);
		td__buf_free(&s->calls[i].args);
	}
	td__free(s->calls);
	td__free(s->error);
	td__free(s->name);
	td__sse_free(&s->sse);
	td__free(s);
}

/* ---- the end: the complete calls as one document ---- */

static int by_index(const void *a, const void *b)
{
	const struct scall *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* Chat streams mark no call's end but the finish_reason: at [DONE] every call is whole, and
 * in a stream cut short every call but the one still being written is (calls come one after
 * the other). */
static void settle(struct td_stream *s)
{
	size_t i;

	if (s->dl != TD_DIALECT_OPENAI)
		return;
	for (i = 0; i < s->ncalls; i++)
		if (s->ended || s->calls[i].index != s->last)
			s->calls[i].done = true;
}

static void put_member(struct td__buf *b, const char *key, const char *v)
{
	if (!v)
		return; /* the decoder says what is missing */
	td__buf_printf(b, "\"%s\":", key);
	td__buf_json_string(b, v, strlen(v));
	td__buf_putc(b, ',');
}

static bool is_json(const char *a, size_t n)
{
	cJSON *v = cJSON_ParseWithLength(a, n);

	cJSON_Delete(v);
	return v != NULL;
}

static void write_call(struct td__buf *b, enum td_dialect dl, const struct scall *c)
{
	const char *a = c->args.len ? c->args.data : "";
	size_t n = c->args.len;

	if (dl == TD_DIALECT_ANTHROPIC) {
		td__buf_puts(b, "{\"type\":\"tool_use\",");
		put_member(b, "id", c->id);
		put_member(b, "name", c->name);
		td__buf_puts(b, "\"input\":");
		if (!n) /* the API streams an empty input as "" */
			td__buf_puts(b, "{}");
		else if (is_json(a, n))
			td__buf_append(b, a, n);
		else /* not JSON: the decoder refuses it as the call's input, with its type */
			td__buf_json_string(b, a, n);
		td__buf_putc(b, '}');
		return;
	}
	td__buf_puts(b, dl == TD_DIALECT_OPENAI ? "{\"type\":\"function\","
	                                        : "{\"type\":\"function_call\",");
	put_member(b, dl == TD_DIALECT_OPENAI ? "id" : "call_id", c->id);
	if (dl == TD_DIALECT_OPENAI)
		td__buf_puts(b, "\"function\":{");
	put_member(b, "name", c->name);
	td__buf_puts(b, "\"arguments\":");
	td__buf_json_string(b, a, n);
	td__buf_puts(b, dl == TD_DIALECT_OPENAI ? "}}" : "}");
}

static const char *end_event(enum td_dialect dl)
{
	return dl == TD_DIALECT_ANTHROPIC   ? "message_stop"
	       : dl == TD_DIALECT_RESPONSES ? "response.completed"
	       : dl == TD_DIALECT_OPENAI    ? "finish_reason and [DONE]"
	                                    : "its end event";
}

/* What makes the stream incomplete, and each call it cut. */
static void say_incomplete(const struct td_stream *s, struct td_diag *diag)
{
	size_t i;

	if (s->error)
		td__diag_add(diag, TD_EBATCH, s->name, 0, 0, "%s", s->error);
	else if (s->ended) /* e.g. response.incomplete: the output limit, in the middle of a call */
		td__diag_add(diag, TD_EBATCH, s->name, 0, 0,
		             "the response ended with a call unfinished");
	else
		td__diag_add(diag, TD_EBATCH, s->name, 0, 0,
		             "the stream stopped before its end (%s): it was cut off",
		             end_event(s->dl));
	for (i = 0; i < s->ncalls; i++)
		if (!s->calls[i].done)
			td__diag_add(
			    diag, TD_EBATCH, s->name, 0, 0,
			    "call '%.80s' (%.80s) was cut off before its input was complete: "
			    "it does not run",
			    s->calls[i].id ? s->calls[i].id : "?",
			    s->calls[i].name ? s->calls[i].name : "?");
}

int td_stream_finish(struct td_stream *s, const struct td_graph *graph, struct td_batch **out,
                     struct td_diag *diag)
{
	struct td__buf b = {0};
	bool incomplete;
	size_t i, n = 0;
	int r;

	if (out)
		*out = NULL;
	if (!s || !graph || !out)
		return TD_EINVAL;
	s->at_end = true;
	if (!s->failed && td__sse_end(&s->sse) == TD_ENOMEM)
		return TD_ENOMEM;
	settle(s);
	if (s->ncalls) /* qsort(NULL, 0, ...) is undefined */
		qsort(s->calls, s->ncalls, sizeof(*s->calls), by_index);
	for (i = 0, incomplete = s->error || !s->ended; i < s->ncalls; i++)
		incomplete |= !s->calls[i].done;
	if (incomplete)
		say_incomplete(s, diag);
	td__buf_putc(&b, '[');
	for (i = 0; i < s->ncalls; i++)
		if (s->calls[i].done) {
			if (n++)
				td__buf_putc(&b, ',');
			write_call(&b, s->dl, &s->calls[i]);
		}
	td__buf_putc(&b, ']');
	if (b.oom) {
		td__buf_free(&b);
		return TD_ENOMEM;
	}
	if (!n && !incomplete)
		td__diag_add(diag, TD_EBATCH, s->name, 0, 0,
		             "no tool calls found: the stream ended (%s) without a call",
		             end_event(s->dl));
	r = n ? td_batch_decode(graph, b.data, b.len, s->dl, s->name, out, diag) : TD_EBATCH;
	td__buf_free(&b);
	if (r < 0)
		return r;
	return incomplete ? TD_EBATCH : 0;
}

/* ---- taking calls while the stream goes on (a run fed by it) ---- */

enum td_dialect td__stream_dialect(const struct td_stream *s)
{
	return s->dl;
}

/* The call not taken yet with the lowest block index, or NULL. */
static struct scall *next_untaken(struct td_stream *s)
{
	struct scall *best = NULL;
	size_t i;

	for (i = 0; i < s->ncalls; i++)
		if (!s->calls[i].taken && (!best || s->calls[i].index < best->index))
			best = &s->calls[i];
	return best;
}

/* Chat Completions write calls one after the other: once a later call has begun and this
 * one's arguments parse, nothing can be added to them and still parse. */
static bool whole(const struct td_stream *s, const struct scall *c)
{
	size_t i;

	if (c->done)
		return true;
	if (s->dl != TD_DIALECT_OPENAI || !c->args.len || !is_json(c->args.data, c->args.len))
		return false;
	for (i = 0; i < s->ncalls; i++)
		if (s->calls[i].index > c->index)
			return true;
	return false;
}

/* The call decoded alone, as td_stream_finish() writes it, then copied into `into`. */
static int take_one(struct td_stream *s, const struct scall *c, struct td_batch *into)
{
	struct td_batch *one = NULL;
	struct td__buf b = {0};
	const struct td__call *k;
	cJSON *in = NULL;
	uint32_t dup;
	int r;

	td__buf_putc(&b, '[');
	write_call(&b, s->dl, c);
	td__buf_putc(&b, ']');
	r = b.oom ? TD_ENOMEM
	          : td_batch_decode(into->graph, b.data, b.len, s->dl, s->name, &one, NULL);
	td__buf_free(&b);
	if (r < 0)
		return r == TD_ENOMEM ? r : TD_EBATCH; /* no id or name: the finish says so */
	k = &one->calls[0];
	if (k->input_len != 2 && !(in = cJSON_Parse(td__call_input(k))))
		r = TD_ENOMEM;
	else /* a duplicate id is TD_EBATCH: the whole batch will be refused */
		r = td__batch_add_call(into, k->id, k->name, in, td__call_error(k), &dup);
	cJSON_Delete(in);
	td_batch_free(one);
	return r;
}

int td__stream_take(struct td_stream *s, struct td_batch *into)
{
	struct scall *c;
	int r;

	/* after an error event too: what was whole before it runs, as at the finish */
	if (s->no_take || !(c = next_untaken(s)) || !whole(s, c))
		return 0;
	r = take_one(s, c, into);
	if (r == TD_ENOMEM)
		return r;
	if (r < 0) {
		s->no_take = true;
		return 0;
	}
	c->taken = true;
	return 1;
}

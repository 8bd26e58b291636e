/* SPDX-License-Identifier: MIT */
/*
 * conversation_out.c - the next request of an agent loop: a conversation with the run's
 * results appended to its list. Done on the text, not through a parse tree, so that
 * everything else in the request (numbers cJSON would round, key order, spacing) reaches the
 * API exactly as the caller wrote it.
 */
#include <stdbool.h>
#include <string.h>

#include "calls/decode_int.h"

static size_t skip_space(const char *s, size_t len, size_t off)
{
	while (off < len && (s[off] == ' ' || s[off] == '\t' || s[off] == '\r' || s[off] == '\n'))
		off++;
	return off;
}

/* The offset just past the JSON value at off (the text was decoded, so it is valid). */
static size_t skip_value(const char *s, size_t len, size_t off)
{
	size_t depth = 0;
	bool str = false;

	for (; off < len; off++) {
		if (str) {
			if (s[off] == '\\') {
				off++;
			} else if (s[off] == '"') {
				str = false;
				if (!depth)
					return off + 1;
			}
		} else if (s[off] == '"') {
			str = true;
		} else if (s[off] == '[' || s[off] == '{') {
			depth++;
		} else if (s[off] == ']' || s[off] == '}') {
			if (depth <= 1)
				return depth ? off + 1 : off;
			depth--;
		} else if (!depth && strchr(", \t\r\n:", s[off])) {
			return off; /* the end of a number, true, false or null */
		}
	}
	return off;
}

static bool key_is(const char *s, size_t at, size_t end, const char *key)
{
	size_t n = strlen(key);

	return end - at == n + 2 && memcmp(s + at + 1, key, n) == 0;
}

/* Where the list of a request body starts ("messages", else "input"), or len. */
static size_t body_list(const char *s, size_t len, size_t off)
{
	size_t key, key_end, val, found = len;

	off = skip_space(s, len, off + 1);
	while (off < len && s[off] == '"') {
		key = off;
		key_end = skip_value(s, len, off);
		val = skip_space(s, len, skip_space(s, len, key_end) + 1); /* past ':' */
		if (val < len && s[val] == '[' && key_is(s, key, key_end, "messages"))
			return val;
		if (val < len && s[val] == '[' && key_is(s, key, key_end, "input") && found == len)
			found = val;
		off = skip_space(s, len, skip_value(s, len, val));
		if (off < len && s[off] == ',')
			off = skip_space(s, len, off + 1);
	}
	return found;
}

/* The results' bytes to insert: an array's elements, or the one message object. */
static void results_inner(const char *r, size_t len, size_t *from, size_t *to)
{
	size_t off = skip_space(r, len, 0), end = skip_value(r, len, off);

	*from = off;
	*to = end;
	if (off < len && r[off] == '[') {
		*from = skip_space(r, len, off + 1);
		*to = end - 1; /* the closing bracket */
		while (*to > *from && strchr(" \t\r\n", r[*to - 1]))
			(*to)--;
	}
}

int td_conversation_append(const char *conversation, size_t len, const char *results,
                           size_t results_len, char **out, struct td_diag *diag)
{
	const char *s = conversation;
	size_t off, list, end, from, to;
	struct td__buf b = {0};

	if (!out || (!s && len) || (!results && results_len))
		return TD_EINVAL;
	*out = NULL;
	off = len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	off = skip_space(s, len, off);
	list = off < len && s[off] == '['   ? off
	       : off < len && s[off] == '{' ? body_list(s, len, off)
	                                    : len;
	if (list >= len) {
		td__diag_add(diag, TD_EINVAL, NULL, 0, 0,
		             "cannot append the results: the input is not a conversation (expected "
		             "a messages or input list, or a request body holding one)");
		return TD_EINVAL;
	}
	end = skip_value(s, len, list) - 1; /* the list's closing bracket */
	while (end > list + 1 && strchr(" \t\r\n", s[end - 1]))
		end--; /* right after the last element, the way the list was laid out */
	results_inner(results, results_len, &from, &to);
	td__buf_append(&b, s, end);
	if (to > from && end > list + 1)
		td__buf_putc(&b, ',');
	td__buf_append(&b, results + from, to - from);
	td__buf_append(&b, s + end, len - end);
	if (b.oom) {
		td__buf_free(&b);
		return TD_ENOMEM;
	}
	*out = td__buf_take(&b);
	return *out ? 0 : TD_ENOMEM;
}

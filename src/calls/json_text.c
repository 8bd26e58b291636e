/* SPDX-License-Identifier: MIT */
/*
 * json_text.c - the call batch as text, before and while cJSON reads it: what cJSON lets
 * through but a batch must not hold (not UTF-8, NUL), the value budget, and syntax errors
 * placed at line:column with a word on why.
 */
#include <stdio.h>
#include <string.h>

#include "calls/decode_int.h"
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

/*
 * cJSON fails without saying why. A bracket count tells the two failures worth naming apart:
 * its nesting limit (the text there is valid) and a text that simply stops too early.
 */
void td__json_scan(const char *s, size_t len, struct scan *sc)
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
		td__json_scan(s, len, &sc);
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
void td__json_describe_at(const char *s, size_t len, size_t off, char *buf, size_t buflen)
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

int td__json_syntax_error(struct dctx *d, const char *s, size_t len, size_t off, const char *what)
{
	unsigned line, col;
	struct scan sc;
	char why[64];
	bool eof;

	td__json_scan(s, len, &sc);
	if (sc.deep_at < len) {
		position(s, sc.deep_at, &line, &col);
		td__diag_add(d->diag, TD_ESYNTAX, d->name, line, col,
		             "JSON nested deeper than %d levels", CJSON_NESTING_LIMIT);
		return TD_ESYNTAX;
	}
	if (!what) {
		td__json_describe_at(s, len, off, why, sizeof(why));
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
size_t td__json_first_unfit(const char *s, size_t len, const char **what, size_t *values)
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

int td__json_unfit_text(struct dctx *d, const char *s, size_t len)
{
	const char *what = NULL;
	size_t values, off = td__json_first_unfit(s, len, &what, &values);
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

bool td__json_only_space(const char *s, size_t len, size_t *first)
{
	size_t i = *first;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	*first = i;
	return i >= len;
}

/* Parses the whole text as one JSON value, or reports where it stops being JSON. */
int td__json_parse(struct dctx *d, const char *s, size_t len, cJSON **root)
{
	const char *end = NULL;
	size_t off = 0;
	int r;

	if (td__json_only_space(s, len, &off)) {
		td__diag_add(d->diag, TD_ESYNTAX, d->name, 0, 0,
		             "empty input: expected a JSON array or object holding tool calls");
		return TD_ESYNTAX;
	}
	if ((r = td__json_unfit_text(d, s, len)))
		return r;
	*root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	off = end ? (size_t)(end - s) : 0;
	if (!*root)
		return td__json_syntax_error(d, s, len, off, NULL);
	if (!td__json_only_space(s, len, &off) && s[off] != '\0') {
		cJSON_Delete(*root);
		*root = NULL;
		return td__json_syntax_error(d, s, len, off,
		                             "unexpected data after the JSON value");
	}
	return 0;
}

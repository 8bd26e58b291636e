/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h - fast JSON writing into a td__buf for the per-event writers (trace.c,
 * event_json.c), which run for every event of every call: the caller reserves room for the
 * fixed parts once (td__buf_reserve(b, JW_ROOM)), then copies them without checks. Strings
 * from the batch go through jw_inner()/jw_str(), which check for themselves and reserve
 * JW_ROOM again after.
 */
#ifndef TD_JSONW_H
#define TD_JSONW_H

#include <string.h>

#include "util/util.h"

#define JW_ROOM 512u
/* a string literal, length known at compile time */
#define JW_LIT(b, s) jw_raw(b, s, sizeof(s) - 1)

static inline void jw_raw(struct td__buf *b, const char *s, size_t n)
{
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static inline void jw_i64(struct td__buf *b, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	jw_raw(b, tmp + sizeof(tmp) - n, (size_t)n);
}

/* Microseconds as milliseconds with three decimals ("12.345"); negative: null. */
static inline void jw_ms(struct td__buf *b, int64_t us)
{
	char frac[4];

	if (us < 0) {
		JW_LIT(b, "null");
		return;
	}
	jw_i64(b, us / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + us % 1000 / 100);
	frac[2] = (char)('0' + us % 100 / 10);
	frac[3] = (char)('0' + us % 10);
	jw_raw(b, frac, 4);
}

/* s JSON-escaped without its quotes (to build one string out of several parts). Ids are
 * nearly always plain ASCII: those are copied as they are. */
static inline void jw_inner(struct td__buf *b, const char *s)
{
	size_t at = b->len, n = strlen(s), i;

	for (i = 0; i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 &&
	            s[i] != '"' && s[i] != '\\';
	     i++)
		;
	if (i == n) {
		td__buf_append(b, s, n);
	} else {
		td__buf_json_string(b, s, n);
		if (!b->oom && b->len >= at + 2) {
			memmove(b->data + at, b->data + at + 1, b->len - at - 2);
			b->len -= 2;
		}
	}
	td__buf_reserve(b, JW_ROOM);
}

static inline void jw_str(struct td__buf *b, const char *s)
{
	JW_LIT(b, "\"");
	jw_inner(b, s);
	JW_LIT(b, "\"");
}

#endif /* TD_JSONW_H */

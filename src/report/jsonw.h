/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h - fast JSON writing into a td__buf for the per-event writers (trace.c,
 * event_json.c), which run for every event of every call.
 *
 * Contract: the caller makes room for an event's fixed parts once (jw_room()), then copies
 * them without checks; a fixed part never exceeds JW_ROOM bytes in all between two strings.
 * Strings from the batch go through jw_inner()/jw_str(), which make room for themselves and
 * leave JW_ROOM after, so the fixed parts that follow fit too. Out of memory, a string is left
 * out and b->oom is set (the room already there still holds the fixed parts): the caller
 * drops what it built.
 */
#ifndef TD_JSONW_H
#define TD_JSONW_H

#include <string.h>

#include "util/util.h"

#define JW_ROOM 512u
/* a string literal, length known at compile time */
#define JW_LIT(b, s) jw_raw(b, s, sizeof(s) - 1)

/* Room for n more bytes plus JW_ROOM: no call into util unless the buffer must grow. */
static inline int jw_room(struct td__buf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->cap - b->len <= n + JW_ROOM) {
		td__buf_reserve(b, n + JW_ROOM);
		if (b->oom)
			return -1;
	}
	return 0;
}

static inline void jw_raw(struct td__buf *b, const char *s, size_t n)
{
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Decimal, two digits per step: the trace's timestamps have 6-9 digits. */
static inline void jw_u64(struct td__buf *b, uint64_t u)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
	                            "25262728293031323334353637383940414243444546474849"
	                            "50515253545556575859606162636465666768697071727374"
	                            "75767778798081828384858687888990919293949596979899";
	char tmp[24], *p = tmp + sizeof(tmp);

	while (u >= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	jw_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static inline void jw_i64(struct td__buf *b, int64_t v)
{
	if (v < 0) {
		JW_LIT(b, "-");
		jw_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		jw_u64(b, (uint64_t)v);
	}
}

/* Microseconds as milliseconds with three decimals ("12.345"); negative: null. */
static inline void jw_ms(struct td__buf *b, int64_t us)
{
	char frac[4];
	unsigned f;

	if (us < 0) {
		JW_LIT(b, "null");
		return;
	}
	jw_u64(b, (uint64_t)us / 1000);
	f = (unsigned)((uint64_t)us % 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + f / 100);
	frac[2] = (char)('0' + f / 10 % 10);
	frac[3] = (char)('0' + f % 10);
	jw_raw(b, frac, 4);
}

/* s JSON-escaped without its quotes (to build one string out of several parts). Ids are
 * nearly always plain ASCII: those are copied as they are. 6n: the longest escape, \u00XX. */
static inline void jw_inner(struct td__buf *b, const char *s)
{
	size_t at, n = strlen(s), i;

	for (i = 0; i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 &&
	            s[i] != '"' && s[i] != '\\';
	     i++)
		;
	if (jw_room(b, 6 * n + 2) < 0)
		return;
	if (i == n) {
		jw_raw(b, s, n);
		return;
	}
	at = b->len;
	td__buf_json_string(b, s, n);
	memmove(b->data + at, b->data + at + 1, b->len - at - 2);
	b->len -= 2;
}

static inline void jw_str(struct td__buf *b, const char *s)
{
	JW_LIT(b, "\"");
	jw_inner(b, s);
	JW_LIT(b, "\"");
}

#endif /* TD_JSONW_H */

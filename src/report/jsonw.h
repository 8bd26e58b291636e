/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h - fast JSON writing for the per-event writers (trace.c, event_json.c), which run
 * for every event of every call (400,000 JSON lines or 200,000 trace events on a
 * 100,000-call run).
 *
 * Usage: jw_open() makes room for one event (JW_ROOM for its fixed parts plus the worst
 * escaping of the strings it names) and returns a cursor; the jw_* writers advance it without
 * checks; jw_close() commits it. A cursor in a register instead of b->len in memory (a char
 * store may alias it) halves the instructions per event.
 */
#ifndef TD_JSONW_H
#define TD_JSONW_H

#include <string.h>

#include "run/run.h"
#include "util/util.h"

#define JW_ROOM 512u

/* Room for JW_ROOM plus the strings: their lengths, escaping at worst 6 bytes each (\u00XX);
 * NULL when out of memory (b->oom set). */
static inline char *jw_open(struct td__buf *b, size_t strings)
{
	size_t need = JW_ROOM + 6 * strings;

	if (b->oom)
		return NULL;
	if (b->cap - b->len <= need) {
		td__buf_reserve(b, need);
		if (b->oom)
			return NULL;
	}
	return b->data + b->len;
}

static inline void jw_close(struct td__buf *b, char *p)
{
	b->len = (size_t)(p - b->data);
}

static inline char *jw_raw(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* a string literal, length known at compile time */
#define JW_LIT(p, s) jw_raw(p, s, sizeof(s) - 1)

/* Copies n bytes where most strings are 4-32 bytes (ids, tool names): two overlapping
 * fixed-size moves instead of a call into libc's memcpy. */
static inline char *jw_copy(char *p, const char *s, size_t n)
{
	if (n >= 16 && n <= 32) {
		memcpy(p, s, 16);
		memcpy(p + n - 16, s + n - 16, 16);
	} else if (n >= 8 && n < 16) {
		memcpy(p, s, 8);
		memcpy(p + n - 8, s + n - 8, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(p, s, 4);
		memcpy(p + n - 4, s + n - 4, 4);
	} else {
		memcpy(p, s, n);
	}
	return p + n;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* u < 10^8 as eight decimal digits (0-9, not yet ASCII) in a word, the first in its lowest
 * byte: split into two halves of four digits, each into two pairs, each into two digits, all
 * halves, pairs and digits side by side in the word's lanes (multiplications by a reciprocal
 * that are exact in this range: v * 10486 >> 20 is v / 100 below 10^4, v * 103 >> 10 is v / 10
 * below 100). */
static inline uint64_t jw_digits8(uint32_t u)
{
	uint64_t x = (uint64_t)(u / 10000) | (uint64_t)(u % 10000) << 32;
	uint64_t y = (x * 10486 >> 20) & 0x0000007f0000007full;

	y |= (x - y * 100) << 16;
	x = (y * 103 >> 10) & 0x000f000f000f000full;
	return x | (y - x * 10) << 8;
}

/* 10 <= u < 10^8: its digits with no branch per digit, stored exactly (two overlapping moves) */
static inline char *jw_u8digits(char *p, uint32_t u)
{
	uint64_t d = jw_digits8(u);
	unsigned lead = (unsigned)__builtin_ctzll(d) >> 3, n = 8 - lead;
	uint32_t w;
	uint16_t h;

	d = (d >> (8 * lead)) + 0x3030303030303030ull;
	if (n >= 4) {
		w = (uint32_t)d;
		memcpy(p, &w, 4);
		w = (uint32_t)(d >> (8 * (n - 4)));
		memcpy(p + n - 4, &w, 4);
	} else {
		h = (uint16_t)d;
		memcpy(p, &h, 2);
		h = (uint16_t)(d >> (8 * (n - 2)));
		memcpy(p + n - 2, &h, 2);
	}
	return p + n;
}
#endif

/* Decimal: below 10^8 (indices, microseconds of a run) eight digits at once, larger numbers
 * from the last digit back, two digits per step. Writes exactly the digits. */
static inline char *jw_u64(char *p, uint64_t u)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
	                            "25262728293031323334353637383940414243444546474849"
	                            "50515253545556575859606162636465666768697071727374"
	                            "75767778798081828384858687888990919293949596979899";
	static const uint64_t pow10[20] = {1u,
	                                   10u,
	                                   100u,
	                                   1000u,
	                                   10000u,
	                                   100000u,
	                                   1000000u,
	                                   10000000u,
	                                   100000000u,
	                                   1000000000u,
	                                   10000000000u,
	                                   100000000000u,
	                                   1000000000000u,
	                                   10000000000000u,
	                                   100000000000000u,
	                                   1000000000000000u,
	                                   10000000000000000u,
	                                   100000000000000000u,
	                                   1000000000000000000u,
	                                   10000000000000000000u};
	unsigned t;
	char *end;

	if (u < 10) {
		*p = (char)('0' + u);
		return p + 1;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (u < 100000000u)
		return jw_u8digits(p, (uint32_t)u);
#endif
	/* digits: floor(log10(2) * bits) (1233 / 4096), plus one unless below that power */
	t = (unsigned)(64 - __builtin_clzll(u)) * 1233 >> 12;
	end = p + t + (u >= pow10[t]);
	p = end;
	while (u >= 100) {
		p -= 2;
		memcpy(p, pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10)
		memcpy(p - 2, pairs + 2 * u, 2);
	else
		p[-1] = (char)('0' + u);
	return end;
}

static inline char *jw_i64(char *p, int64_t v)
{
	if (v >= 0)
		return jw_u64(p, (uint64_t)v);
	*p++ = '-';
	return jw_u64(p, (uint64_t)0 - (uint64_t)v);
}

/* Microseconds as milliseconds with three decimals ("12.345"); negative: null. */
static inline char *jw_ms(char *p, int64_t us)
{
	unsigned f;

	if (us < 0)
		return JW_LIT(p, "null");
	p = jw_u64(p, (uint64_t)us / 1000);
	f = (unsigned)((uint64_t)us % 1000);
	p[0] = '.';
	p[1] = (char)('0' + f / 100);
	p[2] = (char)('0' + f / 10 % 10);
	p[3] = (char)('0' + f % 10);
	return p + 4;
}

/* s JSON-escaped, without its quotes, the way td__buf_json_string() escapes (invalid UTF-8
 * replaced): the rare path, through a scratch buffer. Out of memory: left out. */
static inline char *jw_escaped(char *p, const char *s)
{
	struct td__buf tmp = {0};

	td__buf_json_string(&tmp, s, strlen(s));
	if (!tmp.oom && tmp.len >= 2)
		p = jw_raw(p, tmp.data + 1, tmp.len - 2);
	td__buf_free(&tmp);
	return p;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Bit 7 of the byte lanes of w that JSON cannot take as they are (below 0x20, '"', '\\', and
 * 0x80 and up, which need a UTF-8 check): exact for the lowest such byte, which is all the
 * writer asks (a borrow out of a byte below 0x20 or equal to one of the two may flag the byte
 * above it). */
static inline uint64_t jw_special8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w) & high;
}
#endif

/* s (n bytes) as a quoted JSON string, byte for byte what td__buf_json_string() writes
 * (control characters escaped, invalid UTF-8 replaced by U+FFFD per byte); room: 6 * n + 2.
 * Plain bytes go eight at a time (a word stored whole while 2 or more bytes are left: within
 * the room, which is 6 bytes a byte), the last ones as the string's last word shifted down.
 * '"' and '\\' (JSON text inside a string has many) are escaped without leaving the words. */
static inline char *jw_string_any(char *p, const char *s, size_t n)
{
	/* bytes JSON takes as they are: printable ASCII but '"' and '\\' */
	static const uint8_t plain[256] = {
	    [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1};
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	*p++ = '"';
	while (i < n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint64_t w, m;
		size_t left;

		/* a word at i, or the string's last word shifted past what is done */
		while (n >= 8 && (left = n - i) >= 2) {
			if (left >= 8) {
				memcpy(&w, s + i, 8);
				m = jw_special8(w);
				left = 8;
			} else {
				k = 8 * (8 - left);
				memcpy(&w, s + n - 8, 8);
				w >>= k;
				m = jw_special8(w) & (~0ull >> k);
			}
			memcpy(p, &w, 8); /* room: 6 bytes for each of the 2 or more left */
			if (m == 0) {
				i += left;
				p += left;
				continue;
			}
			k = (size_t)__builtin_ctzll(m) >> 3;
			i += k;
			p += k;
			if (u[i] != '"' && u[i] != '\\')
				goto special;
			p[0] = '\\';
			p[1] = s[i++];
			p += 2;
		}
#endif
		for (; i < n && plain[u[i]]; i++)
			*p++ = s[i];
		if (i >= n)
			break;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	special:
#endif
		switch (u[i]) {
		case '"':
			p = JW_LIT(p, "\\\"");
			break;
		case '\\':
			p = JW_LIT(p, "\\\\");
			break;
		case '\n':
			p = JW_LIT(p, "\\n");
			break;
		case '\r':
			p = JW_LIT(p, "\\r");
			break;
		case '\t':
			p = JW_LIT(p, "\\t");
			break;
		default:
			if (u[i] < 0x20) {
				p = JW_LIT(p, "\\u00");
				*p++ = hex[u[i] >> 4];
				*p++ = hex[u[i] & 15];
				break;
			}
			k = u[i] >= 0xc2 && u[i] <= 0xdf   ? 2
			    : u[i] >= 0xe0 && u[i] <= 0xef ? 3
			    : u[i] >= 0xf0 && u[i] <= 0xf4 ? 4
			                                   : 0;
			if (k && k <= n - i && td__valid_utf8(s + i, k)) {
				p = jw_raw(p, s + i, k);
				i += k;
				continue;
			}
			p = JW_LIT(p, "\xef\xbf\xbd"); /* U+FFFD for each bad byte */
		}
		i++;
	}
	*p++ = '"';
	return p;
}

/* jw_string_any(), with the strings of 8 to 32 plain bytes most ids and names are (tool
 * names, "toolu_01A09q90qw90lq917835lq9", "call_abc123") written inline, as two or four
 * overlapping words. For a string likely to need escapes, call jw_string_any(). */
static inline __attribute__((always_inline)) char *jw_string(char *p, const char *s, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w[4];

	if (n >= 8 && n <= 16) {
		memcpy(&w[0], s, 8);
		memcpy(&w[1], s + n - 8, 8);
		if ((jw_special8(w[0]) | jw_special8(w[1])) == 0) {
			*p = '"';
			memcpy(p + 1, &w[0], 8);
			memcpy(p + n - 7, &w[1], 8);
			p[n + 1] = '"';
			return p + n + 2;
		}
	} else if (n > 16 && n <= 32) {
		memcpy(&w[0], s, 8);
		memcpy(&w[1], s + n - 8, 8);
		memcpy(&w[2], s + 8, 8);
		memcpy(&w[3], s + n - 16, 8);
		if ((jw_special8(w[0]) | jw_special8(w[1]) | jw_special8(w[2]) |
		     jw_special8(w[3])) == 0) {
			*p = '"';
			memcpy(p + 1, &w[0], 8);
			memcpy(p + 9, &w[2], 8);
			memcpy(p + n - 15, &w[3], 8);
			memcpy(p + n - 7, &w[1], 8);
			p[n + 1] = '"';
			return p + n + 2;
		}
	}
#endif
	return jw_string_any(p, s, n);
}

/* A string whose length and need of escaping are known (td__observe_lens()). */
static inline char *jw_known(char *p, const char *s, uint32_t len)
{
	if (len & TD__LEN_ESCAPE)
		return jw_escaped(p, s);
	return jw_copy(p, s, len);
}

/* What jw_open() must reserve for a string of td__observe_lens() length len. */
static inline size_t jw_room_for(const char *s, uint32_t len)
{
	return len & TD__LEN_ESCAPE ? strlen(s) : len;
}

/* "id":..,"tool":..,"level":..  of a call event, for both writers (room: jw_room_for() both) */
static inline char *jw_call_fields(char *p, const struct td__call *call, struct td__call_lens lens,
                                   uint32_t level)
{
	p = JW_LIT(p, "\"id\":\"");
	p = jw_known(p, call->id, lens.id);
	p = JW_LIT(p, "\",\"tool\":\"");
	p = jw_known(p, call->name, lens.name);
	p = JW_LIT(p, "\",\"level\":");
	return jw_u64(p, level);
}

/* SIGNAME ("SIGTERM"; "SIG?" for a number libc cannot name), unquoted */
static inline char *jw_signame(char *p, int sig)
{
	const char *name = sigabbrev_np(sig);

	name = name ? name : "?";
	p = JW_LIT(p, "SIG");
	return jw_raw(p, name, strlen(name)); /* a short plain word from libc */
}

/* ,"exit_code":N when the event has one */
static inline char *jw_exit_code(char *p, int code)
{
	if (code < 0)
		return p;
	p = JW_LIT(p, ",\"exit_code\":");
	return jw_i64(p, code);
}

/* NAME, unquoted: "ok" with no lookup */
static inline char *jw_status_name(char *p, enum td_status s)
{
	const char *name;

	if (s == TD_STATUS_OK)
		return JW_LIT(p, "ok");
	name = td_status_name(s);
	return jw_raw(p, name, strlen(name)); /* a short plain word */
}

/* ,"status":"NAME" */
static inline char *jw_status(char *p, enum td_status s)
{
	p = JW_LIT(p, ",\"status\":\"");
	p = jw_status_name(p, s);
	return JW_LIT(p, "\"");
}

#endif /* TD_JSONW_H */

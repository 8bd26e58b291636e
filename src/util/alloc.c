/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - the one allocation wrapper (so a test can make the N-th allocation fail, as curl
 * and SQLite do), growable buffers and a string arena.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util.h"

/* Fault injection: countdown to the failing allocation; 0 = off. Per thread, so runs on other
 * threads (and their worker threads) neither race on it nor see another thread's countdown. */
static _Thread_local long fail_countdown;
static _Thread_local long alloc_count;

long td__alloc_fail_at(long n)
{
	long seen = alloc_count;

	alloc_count = 0;
	fail_countdown = n;
	return seen;
}

static bool should_fail(void)
{
	alloc_count++;
	if (fail_countdown > 0 && --fail_countdown == 0)
		return true;
	return false;
}

bool td__alloc_injected(void)
{
	return should_fail();
}

void *td__malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *td__calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *td__realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void *td__reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return td__realloc(p, n * size);
}

void td__free(void *p)
{
	free(p);
}

char *td__strndup(const char *s, size_t n)
{
	char *d = td__malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *td__strdup(const char *s)
{
	return td__strndup(s, strlen(s));
}

/* fmt and ap appended to b (NUL-terminated); on failure b->oom is set. */
__attribute__((format(printf, 2, 0))) static void buf_vprintf(struct td__buf *b, const char *fmt,
                                                              va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0)
		b->oom = true;
	else
		td__buf_reserve(b, (size_t)n);
	if (!b->oom) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
}

char *td__asprintf(const char *fmt, ...)
{
	struct td__buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (b.oom) {
		td__free(b.data);
		return NULL;
	}
	return b.data;
}

/* ---- buffers ---- */

/* Room for extra more bytes and the NUL: capacity doubles from 64, or is exactly that. */
static void grow(struct td__buf *b, size_t extra, bool exact)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return;
	if (extra > SIZE_MAX - b->len - 1) {
		b->oom = true;
		return;
	}
	want = b->len + extra + 1;
	if (want <= b->cap)
		return;
	cap = exact ? want : b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = td__realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->data = p;
	b->cap = cap;
}

void td__buf_reserve(struct td__buf *b, size_t extra)
{
	grow(b, extra, false);
}

void td__buf_reserve_exact(struct td__buf *b, size_t extra)
{
	grow(b, extra, true);
}

void td__buf_append(struct td__buf *b, const void *data, size_t len)
{
	td__buf_reserve(b, len);
	if (b->oom)
		return;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void td__buf_puts(struct td__buf *b, const char *s)
{
	td__buf_append(b, s, strlen(s));
}

void td__buf_putc(struct td__buf *b, char c)
{
	td__buf_append(b, &c, 1);
}

void td__buf_printf(struct td__buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	return n;
}

bool td__valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq(p + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

void td__buf_json_string(struct td__buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, n;

	td__buf_reserve(b, len + 2);
	td__buf_putc(b, '"');
	while (i < len) {
		/* copy runs of plain characters at once */
		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
		              p[run] != '\\';
		     run++)
			;
		td__buf_append(b, p + i, run - i);
		i = run;
		if (i >= len)
			break;
		switch (p[i]) {
		case '"':
			td__buf_puts(b, "\\\"");
			i++;
			continue;
		case '\\':
			td__buf_puts(b, "\\\\");
			i++;
			continue;
		case '\n':
			td__buf_puts(b, "\\n");
			i++;
			continue;
		case '\r':
			td__buf_puts(b, "\\r");
			i++;
			continue;
		case '\t':
			td__buf_puts(b, "\\t");
			i++;
			continue;
		default:
			break;
		}
		if (p[i] < 0x20) {
			td__buf_printf(b, "\\u%04x", p[i]);
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n) {
			td__buf_append(b, p + i, n);
			i += n;
		} else {
			td__buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD for each bad byte */
			i++;
		}
	}
	td__buf_putc(b, '"');
}

char *td__buf_take(struct td__buf *b)
{
	char *d = b->data;

	if (b->oom) {
		td__free(d);
		d = NULL;
	} else if (!d) {
		d = td__strdup("");
	}
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
	return d;
}

void td__buf_free(struct td__buf *b)
{
	td__free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

/* ---- arena ---- */

struct td__arena_block {
	struct td__arena_block *next;
	size_t used, cap;
	_Alignas(16) char mem[];
};

#define ARENA_BLOCK (64u * 1024u)

/*
 * n bytes aligned to align (a power of two up to 16). Strings take align 1: rounding every
 * one up to 16 bytes made the ids of a million-call batch ("toolu_00000000", 15 bytes with
 * the NUL) cost 16 MB where 15 do, and short YAML scalars ("type", "string") twice their size.
 */
static void *arena_get(struct td__arena *a, size_t n, size_t align)
{
	struct td__arena_block *blk = a->head;
	size_t pad = blk ? (align - blk->used % align) % align : 0, need = n + pad, cap;

	if (need < n || n > SIZE_MAX - sizeof(*blk))
		return NULL;
	if (!blk || blk->cap - blk->used < need) {
		need = n; /* a new block starts aligned */
		cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
		blk = td__malloc(sizeof(*blk) + cap);
		if (!blk)
			return NULL;
		blk->used = 0;
		blk->cap = cap;
		/* a big one-off allocation goes behind the current block so it keeps filling */
		if (a->head && cap != ARENA_BLOCK) {
			blk->next = a->head->next;
			a->head->next = blk;
		} else {
			blk->next = a->head;
			a->head = blk;
		}
	}
	blk->used += need;
	return blk->mem + blk->used - n;
}

void *td__arena_alloc(struct td__arena *a, size_t n)
{
	return arena_get(a, n, 16);
}

char *td__arena_strndup(struct td__arena *a, const char *s, size_t n)
{
	char *d = n < SIZE_MAX ? arena_get(a, n + 1, 1) : NULL;

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void td__huge_pages(void *p, size_t bytes)
{
	uintptr_t page = 4096, lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(page - 1);

	if (p && bytes >= (4u << 20))
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

char *td__arena_bytes(struct td__arena *a, size_t n)
{
	return arena_get(a, n, 1);
}

char *td__arena_strdup(struct td__arena *a, const char *s)
{
	return td__arena_strndup(a, s, strlen(s));
}

void td__arena_free(struct td__arena *a)
{
	struct td__arena_block *blk = a->head, *next;

	for (; blk; blk = next) {
		next = blk->next;
		td__free(blk);
	}
	a->head = NULL;
}

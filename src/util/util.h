/* SPDX-License-Identifier: MIT */
/*
 * util.h - the small pieces every module shares: allocation (one wrapper, so tests can make
 * the N-th allocation fail), growable buffers, a string arena, a string -> index map, the
 * duration/size/rate parsers and diagnostics.
 */
#ifndef TD_UTIL_H
#define TD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tooldag.h"

#define TD__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation: every library allocation goes through these ---- */
void *td__malloc(size_t n);
void *td__calloc(size_t n, size_t size);
void *td__realloc(void *p, size_t n);
/* realloc of an array with overflow check */
void *td__reallocarray(void *p, size_t n, size_t size);
char *td__strdup(const char *s);
/* The n bytes at s (all of them: unlike strndup(), NULs in them are copied, so s must hold
 * n bytes) and a NUL after them */
char *td__strndup(const char *s, size_t n);
void td__free(void *p);
/* printf into a new string; NULL on allocation failure */
char *td__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Test hook: make the n-th allocation from now fail (1 = the next one), 0 to disable.
 * Returns the count of allocations since the last call. Not thread-safe; tests only.
 */
long td__alloc_fail_at(long n);
/* Counts one allocation made by another library's allocator (glibc's posix_spawn file
 * actions): true when the fault injection fails it, so callers take their ENOMEM path. */
bool td__alloc_injected(void);

/* ---- growable byte buffer, always NUL-terminated when len > 0 or after td__buf_cstr ---- */
struct td__buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom; /* a growth failed: contents are incomplete; check once at the end */
};
void td__buf_reserve(struct td__buf *b, size_t extra);
/* The same, but grows to exactly len + extra + 1: for text that is kept once written. */
void td__buf_reserve_exact(struct td__buf *b, size_t extra);
void td__buf_append(struct td__buf *b, const void *data, size_t len);
void td__buf_puts(struct td__buf *b, const char *s);
void td__buf_putc(struct td__buf *b, char c);
void td__buf_printf(struct td__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (len bytes) as a JSON string literal with quotes; invalid UTF-8 becomes U+FFFD. */
void td__buf_json_string(struct td__buf *b, const char *s, size_t len);
/* Takes the data out (caller frees), or NULL if oom; the buffer is reset. */
char *td__buf_take(struct td__buf *b);
void td__buf_free(struct td__buf *b);

/* ---- arena: many small strings freed at once (td__arena_alloc is 16-byte aligned, the
 * strings are packed without alignment) ---- */
struct td__arena {
	struct td__arena_block *head;
};
void *td__arena_alloc(struct td__arena *a, size_t n);
char *td__arena_strndup(struct td__arena *a, const char *s, size_t n);
/* n bytes without alignment, for several strings packed into one (NULL when out of memory) */
char *td__arena_bytes(struct td__arena *a, size_t n);
char *td__arena_strdup(struct td__arena *a, const char *s);
void td__arena_free(struct td__arena *a);

/*
 * Asks for transparent huge pages over [p, p + bytes) when it is 4 MiB or more: on the VMs we
 * measured a first-touch fault of a 4 KiB page cost ~19 us, more than the work done on a big
 * array. A hint: nothing happens where THP is off, and the memory stays the caller's.
 */
void td__huge_pages(void *p, size_t bytes);

/* ---- string -> uint32 map (open addressing); keys are borrowed, must outlive the map ---- */
struct td__strmap {
	const char **keys;
	uint32_t *vals;
	size_t cap; /* power of two */
	size_t count;
};
/* 0 if inserted, 1 if the key was present (*old set, value unchanged), -ENOMEM */
int td__strmap_put(struct td__strmap *m, const char *key, uint32_t val, uint32_t *old);
/* 1 and *val if found, else 0 */
int td__strmap_get(const struct td__strmap *m, const char *key, uint32_t *val);
void td__strmap_free(struct td__strmap *m);
uint64_t td__hash(const char *s, size_t len);

/* ---- value parsers (strict: the whole string, no sign, no overflow) ---- */
/* "250ms", "5s", "2m", "1h", "1.5s", "0"; a bare number is seconds. -> microseconds */
int td__parse_duration(const char *s, int64_t *us);
/* "64KiB", "1MiB", "2GiB", "100KB", "512", "1.5MiB" -> bytes */
int td__parse_size(const char *s, uint64_t *bytes);
/* "10/s", "100/m", "5/h", "3/250ms" -> count per period in microseconds */
int td__parse_rate(const char *s, uint32_t *count, int64_t *period_us);
/* A JSON number read from outside (a model, a server, a file) as an integer: d truncated when
 * it is finite and fits in [lo, hi], else dflt. A plain cast of an out-of-range double is
 * undefined behaviour, and 1e300 is valid JSON. */
int64_t td__num_i64(double d, int64_t lo, int64_t hi, int64_t dflt);
/* Formats a duration for people: "5s", "250ms", "2m", "1.5s". */
void td__format_duration(int64_t us, char *buf, size_t len);

/* Levenshtein distance, capped: returns > max as soon as it exceeds max. */
size_t td__edit_distance(const char *a, const char *b, size_t max);
/* The closest of `n` candidates to `s` within a sensible distance, or NULL. */
const char *td__did_you_mean(const char *s, const char *const *candidates, size_t n);

/* Tool names: ^[a-zA-Z0-9_-]{1,64}$ */
bool td__valid_tool_name(const char *s);
/* Valid UTF-8 (no overlongs, no surrogates)? */
bool td__valid_utf8(const char *s, size_t len);

/* ---- diagnostics ---- */
/* Appends an item (message printf-style). file may be NULL. Allocation failure is swallowed
 * (the diag just has fewer items) but diag->code is still set. diag may be NULL. */
void td__diag_add(struct td_diag *diag, int code, const char *file, unsigned line, unsigned col,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void td__diag_vadd(struct td_diag *diag, int code, const char *file, unsigned line, unsigned col,
                   const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* ---- time ---- */
int64_t td__now_us(void); /* CLOCK_MONOTONIC */

#endif /* TD_UTIL_H */

/* SPDX-License-Identifier: MIT */
/*
 * test_record_writer.c - the recording line's writers (report/jsonw.h) against the library's
 * own: strings against td__buf_json_string() byte for byte, numbers against printf.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report/jsonw.h"

/* jw_string(), the line's string writer, writes what td__buf_json_string() writes: every
 * byte value alone, UTF-8 valid, overlong, truncated, surrogates, random bytes, and random
 * strings of JSON text's bytes, where quotes and backslashes come every few bytes. */
START_TEST(string_writer_matches_library)
{
	static const char *const cases[] = {
	    "",
	    "plain",
	    "q\"b\\s/",
	    "\n\r\t\b\f\x01\x1f\x7f",
	    "h\xc3\xa9",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xc0\xaf",
	    "\xe0\x80\xaf",
	    "\xed\xa0\x80",
	    "\xf4\x90\x80\x80",
	    "\xc3",
	    "\xe2\x82",
	    "\xf0\x9f\x98",
	    "\x80\xbf",
	    "\xff\xfe",
	    "a\xc3(b",
	};
	static const char json[] = "\"\\{}:,a1\n";
	char in[64], out[6 * 64 + 2];
	unsigned seed = 1;
	size_t i, n, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]) + 256 + 4000; i++) {
		struct td__buf want = {0};

		if (i < sizeof(cases) / sizeof(cases[0])) {
			n = strlen(cases[i]);
			memcpy(in, cases[i], n);
		} else if (i < sizeof(cases) / sizeof(cases[0]) + 256) {
			n = 1;
			in[0] = (char)(i - sizeof(cases) / sizeof(cases[0]));
		} else {
			n = (seed = seed * 1103515245u + 12345u) >> 16 & 63;
			for (k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				in[k] = i % 2 ? (char)(seed >> 16)
				              : json[(seed >> 16) % (sizeof(json) - 1)];
			}
		}
		td__buf_json_string(&want, in, n);
		k = (size_t)(jw_string(out, in, n) - out);
		ck_assert_uint_eq(k, want.len);
		ck_assert_msg(memcmp(out, want.data, k) == 0, "case %zu differs", i);
		td__buf_free(&want);
	}
}
END_TEST

/* The writer's eight-bytes-at-a-time path (and its inline path for 8 to 16 plain bytes, by
 * jw_string() against jw_string_any()): every byte value at every place of a word, and
 * after each of the bytes whose borrow could flag the byte above it; UTF-8 sequences, valid
 * and cut short, across a word's end; plain strings of every length up to four words. */
START_TEST(string_writer_words_match_library)
{
	static const char *const seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	                                   "\xe2\x82", "\xf0\x9f\x98", "\xc3"};
	static const char after[] = {'\0', '\x1f', '"', '\\', '\x7f', (char)0x80};
	char in[48], out[6 * 48 + 2];
	size_t len, at, v, a, q, k, cases = 0;

	for (len = 0; len <= 33; len++) {
		for (at = 0; at < (len ? len : 1); at++) {
			for (v = 0; v < 256 + sizeof(seqs) / sizeof(seqs[0]); v++) {
				for (a = 0; a <= sizeof(after); a++) {
					struct td__buf want = {0};
					size_t n = len;

					for (k = 0; k < len; k++)
						in[k] = (char)('a' + k % 26);
					if (len && v < 256) {
						in[at] = (char)v;
						if (a < sizeof(after) && at + 1 < len)
							in[at + 1] = after[a];
					} else if (len && a == 0) {
						q = strlen(seqs[v - 256]);
						memcpy(in + at, seqs[v - 256], q);
						n = at + q > len ? at + q : len;
					} else {
						continue;
					}
					td__buf_json_string(&want, in, n);
					k = (size_t)(jw_string(out, in, n) - out);
					ck_assert_uint_eq(k, want.len);
					ck_assert_msg(memcmp(out, want.data, k) == 0,
					              "length %zu, byte %zu at %zu then %zu", n, v,
					              at, a);
					k = (size_t)(jw_string_any(out, in, n) - out);
					ck_assert_uint_eq(k, want.len);
					ck_assert_msg(memcmp(out, want.data, k) == 0,
					              "any: length %zu, byte %zu at %zu then %zu",
					              n, v, at, a);
					td__buf_free(&want);
					cases++;
				}
			}
		}
	}
	ck_assert_uint_gt(cases, 50000);
}
END_TEST

/* jw_u64(), the line's numbers: every value below 10^6, random ones up to 10^10, and both sides
 * of every power of ten, against printf, and nothing written past the digits. */
START_TEST(numbers_match_printf)
{
	char a[32], b[32];
	uint64_t u, pow = 1;
	unsigned seed = 7;
	size_t i, n;

	for (i = 0; i < 1000000 + 1000000 + 3 * 20; i++) {
		if (i < 1000000) {
			u = i;
		} else if (i < 2000000) {
			seed = seed * 1103515245u + 12345u;
			u = ((uint64_t)seed << 16 ^ (seed >> 8)) %
			    (i & 1 ? 100000000u : 10000000000u);
		} else {
			u = pow + (i % 3) - 1; /* pow - 1, pow, pow + 1 */
			if (i % 3 == 2)
				pow = pow > UINT64_MAX / 10 ? 1 : pow * 10;
		}
		memset(a, '#', sizeof(a));
		n = (size_t)(jw_u64(a, u) - a);
		snprintf(b, sizeof(b), "%llu", (unsigned long long)u);
		ck_assert_uint_eq(n, strlen(b));
		ck_assert_msg(memcmp(a, b, n) == 0 && a[n] == '#', "%s written as %.*s", b, (int)n,
		              a);
	}
}
END_TEST

static Suite *writer_suite(void)
{
	Suite *s = suite_create("record_writer");
	TCase *tc = tcase_create("writer");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, string_writer_matches_library);
	tcase_add_test(tc, string_writer_words_match_library);
	tcase_add_test(tc, numbers_match_printf);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(writer_suite());
}

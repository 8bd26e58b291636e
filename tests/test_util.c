/* SPDX-License-Identifier: MIT */
/*
 * test_util.c - the shared pieces of src/util: value parsers (good, bad, overflow),
 * did-you-mean, tool names, UTF-8, the string map, JSON string escaping, buffers, the arena,
 * diagnostics and allocation failure injection.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "td_test_cpu.h"

/* ---- durations ---- */

START_TEST(num_i64_range)
{
	/* JSON numbers from outside: out of range, huge or NaN fall back, never cast blindly */
	ck_assert_int_eq(td__num_i64(7.9, 0, 10, -1), 7);
	ck_assert_int_eq(td__num_i64(-3.0, -5, 5, 9), -3);
	ck_assert_int_eq(td__num_i64(11.0, 0, 10, -1), -1);
	ck_assert_int_eq(td__num_i64(-1.0, 0, 10, -2), -2);
	ck_assert_int_eq(td__num_i64(4.44444e+65, 0, INT64_MAX, -1), -1);
	ck_assert_int_eq(td__num_i64(-1e300, INT64_MIN, INT64_MAX, 5), 5);
	ck_assert_int_eq(td__num_i64(9223372036854775808.0, 0, INT64_MAX, -1), -1);
	ck_assert_int_eq(td__num_i64(NAN, 0, 10, -1), -1);
}
END_TEST

START_TEST(duration_good)
{
	static const struct {
		const char *s;
		int64_t us;
	} cases[] = {
	    {"250ms", 250000},   {"5s", 5000000}, {"2m", 120000000}, {"1h", 3600000000LL},
	    {"1.5s", 1500000},   {"0", 0},        {"5", 5000000},    {"10us", 10},
	    {"3min", 180000000}, {".5s", 500000}, {"0.25ms", 250},   {"365h", 1314000000000LL},
	};
	size_t i;
	int64_t us;

	for (i = 0; i < TD__ARRAY_SIZE(cases); i++) {
		us = -1;
		ck_assert_msg(td__parse_duration(cases[i].s, &us) == 0, "%s", cases[i].s);
		ck_assert_msg(us == cases[i].us, "%s -> %lld", cases[i].s, (long long)us);
	}
}
END_TEST

START_TEST(duration_bad)
{
	static const char *const bad[] = {"",   "fast", "-1s", "5 s",   "5sec",  "1e3s", "s",
	                                  "5S", "5ms ", " 5s", "1..5s", "0x10s", "5d"};
	size_t i;
	int64_t us = 42;

	for (i = 0; i < TD__ARRAY_SIZE(bad); i++)
		ck_assert_msg(td__parse_duration(bad[i], &us) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(td__parse_duration(NULL, &us), -EINVAL);
	ck_assert_int_eq(us, 42); /* untouched on failure */
	ck_assert_int_eq(td__parse_duration("99999999999999999999999h", &us), -ERANGE);
	ck_assert_int_eq(td__parse_duration("366000h", &us), -ERANGE);
	ck_assert_int_eq(us, 42);
}
END_TEST

START_TEST(duration_format)
{
	static const struct {
		int64_t us;
		const char *s;
	} cases[] = {
	    {5000000, "5s"},   {250000, "250ms"}, {120000000, "2m"}, {3600000000LL, "1h"},
	    {1500000, "1.5s"}, {0, "0s"},         {1500, "1.5ms"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < TD__ARRAY_SIZE(cases); i++) {
		td__format_duration(cases[i].us, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].s);
	}
}
END_TEST

/* ---- sizes ---- */

START_TEST(size_good)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} cases[] = {
	    {"64KiB", 65536},  {"1MiB", 1048576},     {"2GiB", 2147483648ULL},
	    {"100KB", 100000}, {"512", 512},          {"1.5MiB", 1572864},
	    {"0", 0},          {"10B", 10},           {"1MB", 1000000},
	    {"4k", 4096},      {"1G", 1073741824ULL},
	};
	size_t i;
	uint64_t b;

	for (i = 0; i < TD__ARRAY_SIZE(cases); i++) {
		ck_assert_msg(td__parse_size(cases[i].s, &b) == 0, "%s", cases[i].s);
		ck_assert_msg(b == cases[i].bytes, "%s -> %llu", cases[i].s, (unsigned long long)b);
	}
}
END_TEST

START_TEST(size_bad)
{
	static const char *const bad[] = {"", "lots", "-1", "1 MiB", "1mib", "MiB", "1TiB"};
	size_t i;
	uint64_t b = 7;

	for (i = 0; i < TD__ARRAY_SIZE(bad); i++)
		ck_assert_msg(td__parse_size(bad[i], &b) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(td__parse_size("2000000GiB", &b), -ERANGE);
	ck_assert_int_eq(td__parse_size("99999999999999999999999999", &b), -ERANGE);
	ck_assert_int_eq(b, 7);
}
END_TEST

/* ---- rates ---- */

START_TEST(rate_good)
{
	static const struct {
		const char *s;
		uint32_t count;
		int64_t period;
	} cases[] = {
	    {"10/s", 10, 1000000},
	    {"100/m", 100, 60000000},
	    {"5/h", 5, 3600000000LL},
	    {"3/250ms", 3, 250000},
	    {"1/2s", 1, 2000000},
	    {"7/min", 7, 60000000},
	    {"1000000000/s", 1000000000, 1000000},
	};
	size_t i;
	uint32_t c;
	int64_t p;

	for (i = 0; i < TD__ARRAY_SIZE(cases); i++) {
		ck_assert_msg(td__parse_rate(cases[i].s, &c, &p) == 0, "%s", cases[i].s);
		ck_assert_uint_eq(c, cases[i].count);
		ck_assert_int_eq(p, cases[i].period);
	}
}
END_TEST

START_TEST(rate_bad)
{
	/* "abc/s" used to read an uninitialised count (fixed in parse.c) */
	static const char *const bad[] = {"",
	                                  "fast",
	                                  "10",
	                                  "/s",
	                                  "0/s",
	                                  "1.5/s",
	                                  "-1/s",
	                                  "10/",
	                                  "10/0",
	                                  "10/x",
	                                  "abc/s",
	                                  "10/-1s",
	                                  "123456789012345678901234567890123/s"};
	size_t i;
	uint32_t c = 9;
	int64_t p = 9;

	for (i = 0; i < TD__ARRAY_SIZE(bad); i++)
		ck_assert_msg(td__parse_rate(bad[i], &c, &p) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(td__parse_rate(NULL, &c, &p), -EINVAL);
	ck_assert_int_eq(td__parse_rate("2000000000/s", &c, &p), -ERANGE);
	ck_assert_uint_eq(c, 9);
	ck_assert_int_eq(p, 9);
}
END_TEST

/* ---- did you mean, names, UTF-8 ---- */

START_TEST(did_you_mean)
{
	static const char *const keys[] = {"timeout", "concurrency", "rate",
	                                   "retries", "backoff",     "max_output"};
	static const char *const tools[] = {"fetch_weather", "lookup_pollen"};

	ck_assert_str_eq(td__did_you_mean("timout", keys, 6), "timeout");
	ck_assert_str_eq(td__did_you_mean("TIMEOUT", keys, 6), "timeout");
	ck_assert_str_eq(td__did_you_mean("retris", keys, 6), "retries");
	ck_assert_str_eq(td__did_you_mean("max-output", keys, 6), "max_output");
	ck_assert_str_eq(td__did_you_mean("fetch_wether", tools, 2), "fetch_weather");
	ck_assert_ptr_null(td__did_you_mean("color", keys, 6));
	ck_assert_ptr_null(td__did_you_mean("x", keys, 6));
	ck_assert_ptr_null(td__did_you_mean("timout", keys, 0));
	ck_assert_uint_eq(td__edit_distance("kitten", "sitting", 10), 3);
	ck_assert_uint_eq(td__edit_distance("", "abc", 10), 3);
	ck_assert_uint_gt(td__edit_distance("aaaaaaaa", "bbbbbbbb", 2), 2);
}
END_TEST

START_TEST(tool_names)
{
	char long_name[66];

	ck_assert(td__valid_tool_name("fetch_weather"));
	ck_assert(td__valid_tool_name("A-b_9"));
	ck_assert(td__valid_tool_name("1"));
	ck_assert(!td__valid_tool_name(""));
	ck_assert(!td__valid_tool_name("a b"));
	ck_assert(!td__valid_tool_name("a.b"));
	ck_assert(!td__valid_tool_name("caf\xc3\xa9"));
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	ck_assert(td__valid_tool_name(long_name));
	long_name[64] = 'a';
	long_name[65] = '\0';
	ck_assert(!td__valid_tool_name(long_name));
}
END_TEST

START_TEST(utf8)
{
	ck_assert(td__valid_utf8("", 0));
	ck_assert(td__valid_utf8("plain", 5));
	ck_assert(td__valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	ck_assert(td__valid_utf8("a\0b", 3));              /* NUL is valid UTF-8 */
	ck_assert(!td__valid_utf8("\xff", 1));             /* never valid */
	ck_assert(!td__valid_utf8("\xc3", 1));             /* truncated */
	ck_assert(!td__valid_utf8("\xc0\xaf", 2));         /* overlong '/' */
	ck_assert(!td__valid_utf8("\xe0\x80\xaf", 3));     /* overlong, 3 bytes */
	ck_assert(!td__valid_utf8("\xed\xa0\x80", 3));     /* surrogate U+D800 */
	ck_assert(!td__valid_utf8("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	ck_assert(!td__valid_utf8("\x80", 1));             /* lone continuation */
	ck_assert(!td__valid_utf8("\xe2\x82", 2));         /* truncated euro */
}
END_TEST

/* ---- string map ---- */

START_TEST(strmap_growth)
{
	struct td__strmap m = {0};
	char(*keys)[16] = calloc(10000, sizeof(*keys));
	uint32_t v, old = 0;
	size_t i;

	ck_assert_ptr_nonnull(keys);
	ck_assert_int_eq(td__strmap_get(&m, "absent", &v), 0); /* empty map */
	for (i = 0; i < 10000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%zu", i);
		ck_assert_int_eq(td__strmap_put(&m, keys[i], (uint32_t)i, NULL), 0);
	}
	ck_assert_uint_eq(m.count, 10000);
	ck_assert_uint_ge(m.cap, 20000); /* load factor stays under 1/2 */
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(td__strmap_get(&m, keys[i], &v), 1);
		ck_assert_uint_eq(v, i);
	}
	ck_assert_int_eq(td__strmap_put(&m, "key42", 7, &old), 1);
	ck_assert_uint_eq(old, 42);
	ck_assert_int_eq(td__strmap_get(&m, "key42", &v), 1);
	ck_assert_uint_eq(v, 42); /* unchanged */
	ck_assert_int_eq(td__strmap_get(&m, "key10000", &v), 0);
	td__strmap_free(&m);
	ck_assert_uint_eq(m.count, 0);
	free(keys);
}
END_TEST

START_TEST(strmap_oom)
{
	struct td__strmap m = {0};

	td__alloc_fail_at(1);
	ck_assert_int_eq(td__strmap_put(&m, "a", 1, NULL), -ENOMEM);
	td__alloc_fail_at(0);
	ck_assert_int_eq(td__strmap_put(&m, "a", 1, NULL), 0);
	td__strmap_free(&m);
}
END_TEST

/* ---- JSON strings and buffers ---- */

static char *json_string(const char *s, size_t len)
{
	struct td__buf b = {0};

	td__buf_json_string(&b, s, len);
	return td__buf_take(&b);
}

START_TEST(json_escaping)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
	    {"plain", 5, "\"plain\""},
	    {"", 0, "\"\""},
	    {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
	    {"\n\r\t", 3, "\"\\n\\r\\t\""},
	    {"\x01\x1f", 2, "\"\\u0001\\u001f\""},
	    {"a\0b", 3, "\"a\\u0000b\""},
	    {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""},
	    {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""},
	    {"a\xffz", 3, "\"a\xef\xbf\xbdz\""},
	    {"\xc3", 1, "\"\xef\xbf\xbd\""},
	    {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
	    {"/\x7f", 2, "\"/\x7f\""},
	};
	size_t i;
	char *s;

	for (i = 0; i < TD__ARRAY_SIZE(cases); i++) {
		s = json_string(cases[i].in, cases[i].len);
		ck_assert_ptr_nonnull(s);
		ck_assert_msg(strcmp(s, cases[i].out) == 0, "case %zu: %s", i, s);
		td__free(s);
	}
}
END_TEST

START_TEST(buffers)
{
	struct td__buf b = {0};
	char *s;
	size_t i;

	s = td__buf_take(&b);
	ck_assert_str_eq(s, ""); /* empty, never NULL */
	td__free(s);
	for (i = 0; i < 1000; i++)
		td__buf_printf(&b, "%zu,", i);
	td__buf_puts(&b, "end");
	td__buf_putc(&b, '!');
	ck_assert(!b.oom);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	ck_assert_str_eq(b.data + b.len - 8, "999,end!");
	td__buf_free(&b);
	ck_assert_ptr_null(b.data);

	td__alloc_fail_at(1);
	td__buf_puts(&b, "x");
	td__alloc_fail_at(0);
	ck_assert(b.oom);
	td__buf_puts(&b, "more"); /* stays failed */
	ck_assert_ptr_null(td__buf_take(&b));
	ck_assert(!b.oom); /* take resets */
}
END_TEST

START_TEST(asprintf_and_dup)
{
	char *s = td__asprintf("%s-%d", "a", 42);

	ck_assert_str_eq(s, "a-42");
	td__free(s);
	s = td__strndup("abcdef", 3);
	ck_assert_str_eq(s, "abc");
	td__free(s);
	td__alloc_fail_at(1);
	ck_assert_ptr_null(td__strdup("x"));
	td__alloc_fail_at(0);
	ck_assert_ptr_null(td__reallocarray(NULL, SIZE_MAX / 2, 4)); /* overflow */
}
END_TEST

START_TEST(arena)
{
	struct td__arena a = {0};
	char *big, *s[100];
	size_t i;

	for (i = 0; i < 100; i++) {
		/* the rest is 16-byte aligned, strings are packed without alignment */
		if (i % 2 == 0)
			ck_assert_uint_eq((uintptr_t)td__arena_alloc(&a, 1) % 16, 0);
		s[i] = td__arena_strdup(&a, "hello");
		ck_assert_ptr_nonnull(s[i]);
		if (i % 2)
			ck_assert_ptr_eq(s[i], s[i - 1] + 6);
	}
	big = td__arena_alloc(&a, 200000);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq((uintptr_t)big % 16, 0);
	memset(big, 'x', 200000);
	ck_assert_str_eq(td__arena_strndup(&a, "worldwide", 5), "world");
	for (i = 0; i < 100; i++)
		ck_assert_str_eq(s[i], "hello");
	td__arena_free(&a);
	ck_assert_ptr_null(a.head);
}
END_TEST

/* ---- diagnostics ---- */

START_TEST(diagnostics)
{
	struct td_diag d = {.limit = 2};
	char buf[128];

	td__diag_add(&d, TD_EGRAPH, "g.yaml", 3, 5, "bad %s", "thing");
	td__diag_add(&d, TD_ECYCLE, NULL, 7, 0, "second");
	td__diag_add(&d, TD_EGRAPH, "g.yaml", 1, 1, "dropped");
	ck_assert_int_eq(d.code, TD_EGRAPH);
	ck_assert_uint_eq(d.count, 2);
	ck_assert_uint_eq(d.dropped, 1);
	td_diag_format(&d.items[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "g.yaml:3:5: bad thing");
	td_diag_format(&d.items[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "7: second");
	ck_assert_int_eq(td_diag_format(&d.items[0], buf, 4), 21);
	ck_assert_str_eq(buf, "g.y");
	td_diag_clear(&d);
	ck_assert_uint_eq(d.count, 0);
	ck_assert_uint_eq(d.limit, 2);
	td__diag_add(NULL, TD_EGRAPH, NULL, 0, 0, "no diag is fine");
	ck_assert_str_eq(td_strerror(TD_ECYCLE), "dependency cycle");
	ck_assert_str_eq(td_errname(TD_ETOOBIG), "TD_ETOOBIG");
	ck_assert_str_eq(td_errname(-12345), "unknown");
	ck_assert_str_eq(td_errname(-ENOENT), "ENOENT");
	ck_assert_str_eq(td_errname(-EMFILE), "EMFILE");
	ck_assert_str_eq(td_errname(TD_ENOMEM), "TD_ENOMEM");
}
END_TEST

/*
 * A name longer than 64 bytes is never close to anything, and must not cost its length per
 * candidate: a 16 MiB name against 100,000 candidates answers at once.
 */
START_TEST(did_you_mean_long)
{
	size_t n = 16u << 20, i;
	char *big = malloc(n + 1);
	const char **cands = malloc(100000 * sizeof(*cands));
	int64_t t0;

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(cands);
	memset(big, 'a', n);
	big[n] = '\0';
	for (i = 0; i < 100000; i++)
		cands[i] = i % 2 ? big : "aaa";
	t0 = cpu_us();
	ck_assert_ptr_null(td__did_you_mean(big, cands, 100000));
	ck_assert_ptr_null(td__did_you_mean("aab", cands + 1, 1)); /* only a long one */
	ck_assert_ptr_eq(td__did_you_mean("aab", cands, 100000), cands[0]);
	ck_assert_int_lt(cpu_us() - t0, 2000000);
	ck_assert_uint_eq(td__edit_distance(big, "a", 3), 4);
	free(cands);
	free(big);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("parsers");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, num_i64_range);
	tcase_add_test(tc, duration_good);
	tcase_add_test(tc, duration_bad);
	tcase_add_test(tc, duration_format);
	tcase_add_test(tc, size_good);
	tcase_add_test(tc, size_bad);
	tcase_add_test(tc, rate_good);
	tcase_add_test(tc, rate_bad);
	tcase_add_test(tc, did_you_mean);
	tcase_add_test(tc, did_you_mean_long);
	tcase_add_test(tc, tool_names);
	tcase_add_test(tc, utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("containers");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, strmap_growth);
	tcase_add_test(tc, strmap_oom);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, buffers);
	tcase_add_test(tc, asprintf_and_dup);
	tcase_add_test(tc, arena);
	tcase_add_test(tc, diagnostics);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(util_suite());
}

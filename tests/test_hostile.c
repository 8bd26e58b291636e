/* SPDX-License-Identifier: MIT */
/*
 * test_hostile.c - what a model or a graph author could throw at the planning path: deep
 * nesting, enormous strings, 100,000 calls, repeated keys, alias bombs, graph files that are
 * symlinks to /dev/zero or FIFOs, names that are not UTF-8, numbers past a double. Each must
 * end in a clear error (or a correct result) within a CPU-time bound and, outside the
 * sanitizer build, a memory bound (peak RSS of the test's own process: Check forks one per
 * test). The figures printed go to tests/README.md; the million-call case is
 * tests/cli/million.sh, run by hand.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/util.h"
#include "td_test_cpu.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ASan makes code ~3x slower and memory meaningless: time bounds grow, RSS is not checked. */
#define CPU_BOUND(us) ((int64_t)(us) * (UNDER_ASAN ? 4 : 1))

static const char graph_yaml[] =
    "version: 1\n"
    "tools:\n"
    "  t: {builtin: echo, input_schema: {type: object, properties: {\n"
    "      s: {type: string, maxLength: 10}, n: {type: number, minimum: 0, maximum: 10},\n"
    "      i: {type: integer, maximum: 9007199254740992}}}}\n"
    "  u: {builtin: echo, depends_on: [t]}\n";

static struct td_graph *g;
static struct td_batch *b;
static struct td_plan *p;
static struct td_diag diag;
static int64_t t0;

static void setup(void)
{
	ck_assert_int_eq(
	    td_graph_load_buffer(graph_yaml, strlen(graph_yaml), "g.yaml", NULL, &g, &diag), 0);
	b = NULL;
	p = NULL;
	t0 = cpu_us();
}

static void teardown(void)
{
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	td_diag_clear(&diag);
}

static long peak_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

/* Prints the figures and checks the bounds: CPU seconds since setup, peak RSS in MiB. */
static void bounded(const char *what, double cpu_s, long rss_mb)
{
	int64_t used = cpu_us() - t0;

	printf("hostile %s: %.2f s CPU, %ld MiB peak RSS%s\n", what, (double)used / 1e6,
	       peak_rss_mb(), UNDER_ASAN ? " (ASan)" : "");
	ck_assert_msg(used < CPU_BOUND(cpu_s * 1e6), "%s: %.2f s of CPU", what, (double)used / 1e6);
	if (!UNDER_ASAN)
		ck_assert_msg(peak_rss_mb() < rss_mb, "%s: %ld MiB", what, peak_rss_mb());
}

static int decode(const char *json, size_t len)
{
	return td_batch_decode(g, json, len, TD_DIALECT_AUTO, "calls.json", &b, &diag);
}

/* ---- nesting ---- */

/* 100,000 open brackets: refused where cJSON's limit is passed, without recursing that deep. */
START_TEST(deep_nesting)
{
	size_t n = 100000, head;
	char *s = malloc(n + 64);

	memset(s, '[', n);
	ck_assert_int_eq(decode(s, n), TD_ESYNTAX);
	ck_assert_str_eq(diag.items[0].message, "JSON nested deeper than 1000 levels");
	ck_assert_uint_eq(diag.items[0].column, 1001);
	td_diag_clear(&diag);
	/* inside a call's input: the same, at its place */
	head = (size_t)snprintf(s, 64,
	                        "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"t\",\"input\":");
	memset(s + head, '[', n - head);
	ck_assert_int_eq(decode(s, n), TD_ESYNTAX);
	ck_assert_str_eq(diag.items[0].message, "JSON nested deeper than 1000 levels");
	ck_assert_uint_eq(diag.items[0].column, 1000 + head - 1);
	free(s);
	bounded("100,000 brackets", 1, 64);
}
END_TEST

/* ---- enormous strings ---- */

/* pre + n x's + mid + n x's + post, as one new string. */
static char *big_call(const char *pre, const char *mid, const char *post, size_t n)
{
	size_t a = strlen(pre), m = strlen(mid), z = strlen(post);
	char *json = malloc(a + m + z + 2 * n + 1), *w = json;

	ck_assert_ptr_nonnull(json);
	memcpy(w, pre, a);
	memset(w += a, 'x', n);
	memcpy(w += n, mid, m);
	memset(w += m, 'x', n);
	memcpy(w += n, post, z + 1);
	return json;
}

/*
 * A 50 MiB string argument decodes (it is the tool's business), its schema check names the
 * length, and a run of the planner over it costs a few copies of it, not more.
 */
START_TEST(fifty_mib_argument)
{
	size_t n = 50u << 20;
	char *out,
	    *json = big_call("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"u\",\"input\":{"
	                     "\"s\":\"",
	                     "\"}},{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"t\","
	                     "\"input\":{\"s\":\"",
	                     "\"}}]", n);

	ck_assert_int_eq(decode(json, strlen(json)), 0);
	free(json);
	ck_assert_uint_eq(strlen(td_batch_call_input(b, 0)), n + 8);
	ck_assert_ptr_null(td_batch_call_error(b, 0));
	ck_assert_str_eq(td_batch_call_error(b, 1),
	                 "input.s: length 52428800 is greater than maxLength 10");
	ck_assert_int_eq(td_plan_new(b, &p, &diag), 0);
	ck_assert_int_eq(td_plan_json(p, 0, &out), 0);
	free(out);
	bounded("50 MiB argument", 10, 700);
}
END_TEST

/* 50 MiB ids and tool names: every message quoting them stays short. */
START_TEST(fifty_mib_names)
{
	size_t n = 50u << 20;
	char *json = big_call("[{\"type\":\"tool_use\",\"id\":\"",
	                      "\",\"name\":\"t\"},{\"type\":\"tool_use\",\"id\":\"",
	                      "\",\"name\":\"t\"}]", n);

	ck_assert_int_eq(decode(json, strlen(json)), TD_EBATCH);
	ck_assert_uint_eq(strlen(diag.items[0].message),
	                  strlen("duplicate call id '' (calls 1 and 2)") + 80);
	td_diag_clear(&diag);
	free(json);
	json = big_call("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"u\"},"
	                "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"",
	                "\",\"depends_on\":[\"", "\"]}]", n);
	ck_assert_int_eq(decode(json, strlen(json)), TD_EBATCH);
	ck_assert_uint_lt(strlen(diag.items[0].message), 200);
	td_diag_clear(&diag);
	free(json);
	json = big_call("[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"",
	                "\",\"input\":{\"z\":\"", "\"}}]", n);
	ck_assert_int_eq(decode(json, strlen(json)), 0);
	ck_assert_uint_lt(strlen(td_batch_call_error(b, 0)), 512);
	ck_assert_ptr_nonnull(strstr(td_batch_call_error(b, 0), "unknown tool 'xxxx"));
	free(json);
	bounded("50 MiB ids and names", 15, 900);
}
END_TEST

/* ---- many calls ---- */

/*
 * 100,000 calls, half of them of a tool that depends on the other half's: decode, plan, the
 * levels, and a few dependencies of every call. The JSON of that plan would list 2.5 billion
 * ids: refused (tests/cli/million.sh takes a million calls through the command).
 */
START_TEST(hundred_thousand_calls)
{
	struct td__buf t = {0};
	uint32_t deps[8];
	char *out = NULL;
	int i;

	td__buf_putc(&t, '[');
	for (i = 0; i < 100000; i++)
		td__buf_printf(&t,
		               "%s{\"type\":\"tool_use\",\"id\":\"toolu_%07d\",\"name\":\"%s\","
		               "\"input\":{\"n\":%d}}",
		               i ? "," : "", i, i % 2 ? "u" : "t", i % 10);
	td__buf_putc(&t, ']');
	ck_assert(!t.oom);
	ck_assert_int_eq(decode(t.data, t.len), 0);
	td__buf_free(&t);
	ck_assert_uint_eq(td_batch_count(b), 100000);
	ck_assert_int_eq(td_plan_new(b, &p, &diag), 0);
	ck_assert_uint_eq(td_plan_level_count(p), 2);
	ck_assert_int_eq(td_plan_level(p, 1, NULL), 50000);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(td_plan_call_deps(p, (size_t)i, deps, 8), i % 2 ? 50000 : 0);
	ck_assert_int_eq(td_plan_json(p, 0, &out), TD_ETOOBIG);
	bounded("100,000 calls", 5, 300);
}
END_TEST

/* The same count of independent calls: the plan JSON is written, linear in the calls. */
START_TEST(hundred_thousand_json)
{
	struct td__buf t = {0};
	char *out = NULL;
	int i;

	td__buf_putc(&t, '[');
	for (i = 0; i < 100000; i++)
		td__buf_printf(&t, "%s{\"type\":\"tool_use\",\"id\":\"c%d\",\"name\":\"t\"}",
		               i ? "," : "", i);
	td__buf_putc(&t, ']');
	ck_assert_int_eq(decode(t.data, t.len), 0);
	td__buf_free(&t);
	ck_assert_int_eq(td_plan_new(b, &p, &diag), 0);
	ck_assert_int_eq(td_plan_json(p, 0, &out), 0);
	ck_assert_uint_gt(strlen(out), 100000u * 40);
	free(out);
	bounded("100,000 calls, plan JSON", 5, 300);
}
END_TEST

/* ---- repeated keys outside calls ---- */

/*
 * Where the calls are found, cJSON's lookups take the first of repeated keys: deterministic,
 * and documented (inside a call's own object or its input a repeated key is an error).
 */
START_TEST(repeated_wrapper_keys)
{
	static const char json[] =
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"first\","
	    "\"name\":\"t\"}],\"content\":[{\"type\":\"tool_use\",\"id\":\"second\",\"name\":\"t\"}"
	    "]}";

	ck_assert_int_eq(decode(json, strlen(json)), 0);
	ck_assert_uint_eq(td_batch_count(b), 1);
	ck_assert_str_eq(td_batch_call_id(b, 0), "first");
}
END_TEST

/* ---- graph files ---- */

static char tmpdir[PATH_MAX];

static void make_path(char *out, size_t len, const char *name)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "%s/td-hostile-XXXXXX",
		         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	}
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void expect_file(const char *path, int code, const char *msg)
{
	struct td_graph *h = NULL;

	ck_assert_int_eq(td_graph_load_file(path, &h, &diag), code);
	ck_assert_ptr_null(h);
	ck_assert_str_eq(diag.items[0].message, msg);
	td_diag_clear(&diag);
}

/* Symlinks to /dev/zero, a FIFO with no writer, a directory, themselves: refused at once. */
START_TEST(graph_symlinks)
{
	char link[PATH_MAX + 16], fifo[PATH_MAX + 16];

	make_path(link, sizeof(link), "zero.yaml");
	ck_assert_int_eq(symlink("/dev/zero", link), 0);
	expect_file(link, TD_EINVAL,
	            "not a regular file (a FIFO, device or socket): give a graph file");
	make_path(fifo, sizeof(fifo), "fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	make_path(link, sizeof(link), "fifo.yaml");
	ck_assert_int_eq(symlink(fifo, link), 0);
	expect_file(link, TD_EINVAL,
	            "not a regular file (a FIFO, device or socket): give a graph file");
	make_path(link, sizeof(link), "dir.yaml");
	ck_assert_int_eq(symlink("/", link), 0);
	expect_file(link, TD_EINVAL, "is a directory, not a graph file");
	make_path(link, sizeof(link), "loop.yaml");
	ck_assert_int_eq(symlink(link, link), 0);
	expect_file(link, -ELOOP, "cannot open graph file: Too many levels of symbolic links");
	bounded("graph symlinks", 1, 64);
}
END_TEST

/* The billion-laughs file of graphs/invalid: refused within the expansion budget. */
START_TEST(alias_bomb_file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/graphs/invalid/billion-laughs.yaml", getenv("TD_SRC"));
	expect_file(path, TD_EGRAPH, "alias expansion too large");
	bounded("billion laughs", 3, 300);
}
END_TEST

/* ---- names and numbers ---- */

/*
 * The builder API takes any bytes (the decoder refuses non-UTF-8 text up front): names that
 * are not UTF-8 are unknown tools, and the plan JSON stays valid UTF-8 (U+FFFD stands in).
 */
START_TEST(non_utf8_names)
{
	char *out;
	cJSON *j;

	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_AUTO, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "id\xff", "t\xc3", NULL), 0);
	ck_assert_int_eq(td_batch_add(b, "ok", "t", "{\"s\":\"\xed\xa0\x80\"}"), 1);
	ck_assert_str_eq(td_batch_call_error(b, 0), "unknown tool 't\xc3' (did you mean 't'?)");
	ck_assert_int_eq(td_plan_new(b, &p, &diag), 0);
	ck_assert_int_eq(td_plan_json(p, 0, &out), 0);
	ck_assert(td__valid_utf8(out, strlen(out)));
	ck_assert_ptr_nonnull(strstr(out, "\"id\xef\xbf\xbd\""));
	j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	cJSON_Delete(j);
	free(out);
}
END_TEST

/*
 * Numbers are IEEE doubles (cJSON): past about 1.8e308 they are refused rather than passed on
 * as null; within range, bounds compare as doubles, so integers past 2^53 round first.
 */
START_TEST(huge_numbers)
{
	static const char json[] =
	    "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"t\",\"input\":{\"n\":1e308}},"
	    "{\"type\":\"tool_use\",\"id\":\"b\",\"name\":\"t\",\"input\":{\"n\":-1e400}},"
	    "{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"t\",\"input\":{\"n\":-0}},"
	    "{\"type\":\"tool_use\",\"id\":\"d\",\"name\":\"t\",\"input\":{\"n\":10."
	    "0000000000000001}},"
	    "{\"type\":\"tool_use\",\"id\":\"e\",\"name\":\"t\",\"input\":{\"i\":9007199254740993}}"
	    ","
	    "{\"type\":\"tool_use\",\"id\":\"f\",\"name\":\"t\",\"input\":{\"i\":9007199254740994}}"
	    ","
	    "{\"type\":\"tool_use\",\"id\":\"g\",\"name\":\"t\",\"input\":{\"i\":1e20}}]";

	ck_assert_int_eq(decode(json, strlen(json)), 0);
	ck_assert_str_eq(td_batch_call_error(b, 0), "input.n: 1e+308 is greater than maximum 10");
	ck_assert_str_eq(td_batch_call_error(b, 1),
	                 "input.n: number out of range (a JSON number must fit a double, about "
	                 "1.8e308 at most)");
	ck_assert_ptr_null(td_batch_call_error(b, 2));
	ck_assert_ptr_null(td_batch_call_error(b, 3)); /* rounds to 10 */
	ck_assert_ptr_null(td_batch_call_error(b, 4)); /* rounds to 2^53 */
	/*
	 * KNOWN LIMITATION (tests/README.md): cJSON prints a number with 15 significant digits
	 * whenever they read back within one ulp or so, so the tool is handed 9007199254740990
	 * for 2^53. Pass integers past 15 digits (ids, snowflakes) as strings.
	 */
	ck_assert_str_eq(td_batch_call_input(b, 4), "{\"i\":9.00719925474099e+15}");
	ck_assert_str_eq(
	    td_batch_call_error(b, 5),
	    "input.i: 9.00719925474099e+15 is greater than maximum 9.00719925474099e+15");
	ck_assert_str_eq(td_batch_call_error(b, 6),
	                 "input.i: 1e+20 is greater than maximum 9.00719925474099e+15");
}
END_TEST

static void rmtree(void)
{
	const char *names[] = {"zero.yaml", "fifo", "fifo.yaml", "dir.yaml", "loop.yaml"};
	char path[PATH_MAX + 16];
	size_t i;

	if (!tmpdir[0])
		return;
	for (i = 0; i < TD__ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static void teardown_files(void)
{
	rmtree();
	teardown();
}

static Suite *suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");

	tcase_add_checked_fixture(tc, setup, teardown_files);
	tcase_set_timeout(tc, UNDER_ASAN ? 240 : 60);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, fifty_mib_argument);
	tcase_add_test(tc, fifty_mib_names);
	tcase_add_test(tc, hundred_thousand_calls);
	tcase_add_test(tc, hundred_thousand_json);
	tcase_add_test(tc, repeated_wrapper_keys);
	tcase_add_test(tc, graph_symlinks);
	tcase_add_test(tc, alias_bomb_file);
	tcase_add_test(tc, non_utf8_names);
	tcase_add_test(tc, huge_numbers);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_remote_load.c - `remote:` in graph files and the Redis URL forms (load/remote.c).
 */
#include <check.h>
#include <stdlib.h>

#include "load/remote.h"
#include "td_test_load.h"

static struct td__redis_url url_ok(const char *s)
{
	struct td__redis_url u;
	char why[200] = "";

	ck_assert_msg(td__redis_url_parse(s, &u, why, sizeof(why)) == 0, "%s: %s", s, why);
	return u;
}

START_TEST(url_forms)
{
	struct td__redis_url u = url_ok("redis://localhost");

	ck_assert_str_eq(u.host, "localhost");
	ck_assert_int_eq(u.port, 6379);
	ck_assert_str_eq(u.path, "");
	ck_assert_str_eq(u.pass, "");
	ck_assert_uint_eq(u.db, 0);
	u = url_ok("redis://alice:p%40ss%3Aw@10.0.0.1:6380/3");
	ck_assert_str_eq(u.user, "alice");
	ck_assert_str_eq(u.pass, "p@ss:w");
	ck_assert_str_eq(u.host, "10.0.0.1");
	ck_assert_int_eq(u.port, 6380);
	ck_assert_uint_eq(u.db, 3);
	u = url_ok("redis://:secret@[::1]:7000/");
	ck_assert_str_eq(u.user, "");
	ck_assert_str_eq(u.pass, "secret");
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 7000);
	u = url_ok("unix:///run/redis/redis.sock?db=5");
	ck_assert_str_eq(u.path, "/run/redis/redis.sock");
	ck_assert_str_eq(u.host, "");
	ck_assert_uint_eq(u.db, 5);
	u = url_ok("unix://:pw@/tmp/r.sock");
	ck_assert_str_eq(u.path, "/tmp/r.sock");
	ck_assert_str_eq(u.pass, "pw");
}
END_TEST

static void url_bad(const char *s, const char *want)
{
	struct td__redis_url u;
	char why[200] = "";

	ck_assert_msg(td__redis_url_parse(s, &u, why, sizeof(why)) < 0, "%s parsed", s);
	ck_assert_msg(strstr(why, want) != NULL, "%s: '%s' lacks '%s'", s, why, want);
	ck_assert_msg(!strstr(why, "hunter2"), "the message quotes the password: %s", why);
}

START_TEST(url_refused)
{
	url_bad("rediss://:hunter2@host:6379", "TLS");
	url_bad("http://host", "redis:// or unix://");
	url_bad("redis://alice@host", "user without a password");
	url_bad("redis://a:hunter2@host:0", "port");
	url_bad("redis://a:hunter2@host:65536", "port");
	url_bad("redis://a:hunter2@host:6379/x", "database");
	url_bad("redis://a:%zzhunter2@host", "bad user or password");
	url_bad("redis://:hunter2@", "no host");
	url_bad("redis://[::1:6379", "']'");
	url_bad("unix://relative/sock", "absolute");
	url_bad("unix:///tmp/s?dbx=1", "?db=N");
	url_bad("redis://host name", "spaces");
	url_bad("", "empty");
}
END_TEST

START_TEST(defaults_and_tools)
{
	struct td_graph *g;

	setenv("TD_TEST_REDIS_PW", "pw", 1);
	g = load_ok("version: 1\n"
	            "defaults: {remote: {redis: 'redis://:${TD_TEST_REDIS_PW}@h:1', queue: q}}\n"
	            "tools:\n"
	            "  a: {builtin: echo}\n"
	            "  b: {builtin: echo, remote: none}\n"
	            "  c: {run: [x], remote: {redis: 'unix:///s', claim_after: 2s}}\n");
	ck_assert_uint_eq(g->nremotes, 2);
	ck_assert_uint_eq(tool(g, "a")->lim.remote, 1);
	ck_assert_uint_eq(tool(g, "b")->lim.remote, 0);
	ck_assert_uint_eq(tool(g, "c")->lim.remote, 2);
	ck_assert_str_eq(g->remotes[0].url, "redis://:pw@h:1");
	ck_assert_str_eq(g->remotes[0].queue, "q");
	ck_assert_int_eq(g->remotes[0].claim_after_us, TD_REMOTE_DEFAULT_CLAIM_US);
	ck_assert_str_eq(g->remotes[1].queue, TD_REMOTE_DEFAULT_QUEUE);
	ck_assert_int_eq(g->remotes[1].claim_after_us, 2000000);
	ck_assert_uint_eq(g->remotes[1].line, 6);
	td_graph_free(g);
}
END_TEST

START_TEST(mistakes_with_positions)
{
	const char *head = "version: 1\ntools:\n  a:\n    builtin: echo\n";
	char yaml[512];

	snprintf(yaml, sizeof(yaml), "%s    remote: {redis: 'rediss://h'}\n", head);
	expect_one(yaml, TD_EGRAPH,
	           "g.yaml:5:21: tool 'a': bad redis URL: rediss:// (TLS) is not supported: the "
	           "hiredis tooldag is built with (Debian's 0.14) has no TLS; use a unix socket, "
	           "loopback or a TLS tunnel");
	snprintf(yaml, sizeof(yaml), "%s    remote: {redis: 'redis://h', queu: x}\n", head);
	expect_one(yaml, TD_EGRAPH,
	           "g.yaml:5:34: unknown key 'queu' in 'remote' of tool 'a' (did you mean "
	           "'queue'?)");
	snprintf(yaml, sizeof(yaml), "%s    remote: {queue: x}\n", head);
	expect_one(yaml, TD_EGRAPH, "g.yaml:5:5: tool 'a': 'remote' needs 'redis: URL'");
	snprintf(yaml, sizeof(yaml), "%s    remote: {redis: 'redis://h', claim_after: 0}\n", head);
	expect_one(yaml, TD_EGRAPH,
	           "g.yaml:5:47: 'claim_after' must be a duration above 0 like 500ms, 30s or 2m, "
	           "got '0'");
	snprintf(yaml, sizeof(yaml), "%s    remote: {redis: 'redis://h', queue: 'a b'}\n", head);
	expect_one(yaml, TD_EGRAPH,
	           "g.yaml:5:41: 'queue' must be a queue name of 1 to 64 letters, digits, '_', "
	           "'-', '.' or ':', got 'a b'");
	unsetenv("TD_TEST_REDIS_NOPE");
	snprintf(yaml, sizeof(yaml), "%s    remote: {redis: 'redis://:${TD_TEST_REDIS_NOPE}@h'}\n",
	         head);
	expect_one(yaml, TD_EGRAPH,
	           "g.yaml:5:21: tool 'a': redis URL uses ${TD_TEST_REDIS_NOPE}, which is not set "
	           "in the environment");
	expect_one("version: 1\ndefaults: {remote: [x]}\ntools: {a: {builtin: echo}}\n", TD_EGRAPH,
	           "g.yaml:2:20: 'remote' must be a mapping like {redis: redis://host:6379, queue: "
	           "NAME, claim_after: 30s}, or none, got a list");
}
END_TEST

static Suite *remote_load_suite(void)
{
	Suite *s = suite_create("remote_load");
	TCase *tc = tcase_create("remote");

	tcase_add_test(tc, url_forms);
	tcase_add_test(tc, url_refused);
	tcase_add_test(tc, defaults_and_tools);
	tcase_add_test(tc, mistakes_with_positions);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(remote_load_suite());
}

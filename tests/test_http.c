/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - the parts of http: tools that need no server: the declaration as loaded
 * (defaults of body and query per method, ${VAR} expansion and its errors, header checks)
 * and the query string built from a call's input, and a call that cannot open its socket.
 * Requests against a real server are in tests/cli/test_http.sh.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "exec/http_query.h"
#include "load/graph.h"

/* ---- loading ---- */

static char dump_buf[8192];

static const char *dump(const struct td_diag *d)
{
	size_t i, off = 0;

	dump_buf[0] = '\0';
	for (i = 0; i < d->count && off + 1 < sizeof(dump_buf); i++) {
		off += (size_t)td_diag_format(&d->items[i], dump_buf + off, sizeof(dump_buf) - off);
		if (off + 1 < sizeof(dump_buf)) {
			dump_buf[off++] = '\n';
			dump_buf[off] = '\0';
		}
	}
	return dump_buf;
}

static struct td_graph *load(const char *yaml, struct td_diag *d, int want_rc)
{
	struct td_graph *g = NULL;
	int rc = td_graph_load_buffer(yaml, strlen(yaml), "g.yaml", "/tmp", &g, d);

	ck_assert_msg(rc == want_rc, "load gave %s, want %s:\n%s", td_errname(rc),
	              td_errname(want_rc), dump(d));
	return g;
}

static const struct td__tool *tool(const struct td_graph *g, const char *name)
{
	int i = td__graph_find(g, name);

	ck_assert_int_ge(i, 0);
	return &g->tools[i];
}

START_TEST(defaults_per_method)
{
	struct td_diag d = {0};
	struct td_graph *g = load("version: 1\ntools:\n"
	                          "  p: {http: {url: 'http://h/p'}}\n"
	                          "  g: {http: {url: 'http://h/g', method: get}}\n"
	                          "  d: {http: {url: 'http://h/d', method: DELETE}}\n"
	                          "  u: {http: {url: 'http://h/u', method: PUT, body: none}}\n"
	                          "  q: {http: {url: 'http://h/q', method: GET, query: none, "
	                          "body: input}}\n",
	                          &d, 0);
	const struct td__tool *t;

	t = tool(g, "p");
	ck_assert_str_eq(t->http.method, "POST");
	ck_assert(t->http.body_input && !t->http.query_input);
	t = tool(g, "g");
	ck_assert_str_eq(t->http.method, "GET");
	ck_assert(!t->http.body_input && t->http.query_input);
	t = tool(g, "d");
	ck_assert(!t->http.body_input && t->http.query_input);
	t = tool(g, "u");
	ck_assert(!t->http.body_input && !t->http.query_input);
	t = tool(g, "q");
	ck_assert(t->http.body_input && !t->http.query_input);
	td_graph_free(g);
}
END_TEST

START_TEST(env_expanded)
{
	struct td_diag d = {0};
	struct td_graph *g;
	const struct td__tool *t;

	setenv("TD_T_BASE", "https://api.example", 1);
	setenv("TD_T_KEY", "k3y", 1);
	setenv("TD_T_EMPTY", "", 1);
	g = load("version: 1\ntools:\n"
	         "  a:\n    http:\n      url: '${TD_T_BASE}/v1/${TD_T_KEY}${TD_T_EMPTY}?x=$y'\n"
	         "      headers: {Authorization: 'Bearer ${TD_T_KEY}', X-Lit: '$TD_T_KEY {}'}\n",
	         &d, 0);
	t = tool(g, "a");
	ck_assert_str_eq(t->http.url, "https://api.example/v1/k3y?x=$y");
	ck_assert_uint_eq(t->http.nheaders, 2);
	ck_assert_str_eq(t->http.headers[0].value, "Bearer k3y");
	ck_assert_str_eq(t->http.headers[1].value, "$TD_T_KEY {}"); /* only ${...} expands */
	td_graph_free(g);
}
END_TEST

/* every message names the variable, and none holds a variable's value */
START_TEST(env_errors)
{
	struct td_diag d = {0};
	const char *text;

	unsetenv("TD_T_UNSET");
	setenv("TD_T_KEY", "k3y-secret", 1);
	setenv("TD_T_NL", "a\r\nInjected: 1", 1);
	setenv("TD_T_FTP", "ftp://k3y-secret@h/", 1);
	load("version: 1\ntools:\n"
	     "  a: {http: {url: 'http://h/${TD_T_UNSET}'}}\n"
	     "  b: {http: {url: 'http://h/', headers: {X-K: '${TD_T_UNSET}'}}}\n"
	     "  c: {http: {url: 'http://h/${TD_T_KEY'}}\n"
	     "  d: {http: {url: 'http://h/${}'}}\n"
	     "  e: {http: {url: 'http://h/', headers: {X-K: '${TD_T_NL}'}}}\n"
	     "  f: {http: {url: '${TD_T_FTP}'}}\n"
	     "  g: {http: {url: 'http://h/${TD_T_KEY} x'}}\n"
	     "  h: {http: {url: 'http://h/', headers: {'X:Y': v}}}\n"
	     "  i: {http: {url: 'http://h/', query: yes}}\n"
	     "  j: {http: {url: 'ftp://h/'}}\n",
	     &d, TD_EGRAPH);
	text = dump(&d);
	ck_assert_msg(strstr(text, "g.yaml:3:19: tool 'a': url uses ${TD_T_UNSET}, which is not "
	                           "set in the environment\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:4:41: tool 'b': header 'X-K' uses ${TD_T_UNSET}, which "
	                           "is not set in the environment\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:5:19: tool 'c': url has a bad variable reference: "
	                           "write ${NAME} (letters, digits, '_')\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:6:19: tool 'd': url has a bad variable reference"), "%s",
	              text);
	ck_assert_msg(strstr(text, "g.yaml:7:41: tool 'e': header 'X-K' has a line break in its "
	                           "value\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:8:19: tool 'f': url must start with http:// or "
	                           "https://\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:9:19: tool 'g': url must not contain spaces or line "
	                           "breaks\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:10:41: tool 'h': 'X:Y' is not a valid HTTP header "
	                           "name\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:11:39: 'query' must be 'from_input' (the input's fields "
	                           "become query parameters) or 'none', got 'yes'\n"),
	              "%s", text);
	ck_assert_msg(strstr(text, "g.yaml:12:19: 'url' must be a URL starting with http:// or "
	                           "https://, got 'ftp://h/'\n"),
	              "%s", text);
	ck_assert_uint_eq(d.count, 10);
	ck_assert_msg(!strstr(text, "k3y") && !strstr(text, "Injected"), "a value leaked:\n%s",
	              text);
	td_diag_clear(&d);
}
END_TEST

/* ---- query strings ---- */

static void check_url(const char *base, const char *input, const char *want)
{
	struct td__buf b = {0};

	ck_assert_int_eq(td__http_query_url(&b, base, input, strlen(input)), 0);
	ck_assert_str_eq(b.data ? b.data : "", want);
	td__buf_free(&b);
}

/*
 * TD_LOAD_KEEP_ENV: the graph as written, for looking at without the secrets (tools, plan,
 * dot); a bad reference is still an error, and such a graph cannot run.
 */
START_TEST(env_kept)
{
	static const char yaml[] = "version: 1\ntools:\n"
	                           "  a: {http: {url: '${TD_T_UNSET}/v1', headers: {Authorization: "
	                           "'Bearer ${TD_T_KEY}'}}}\n"
	                           "calls: [{id: c, tool: a}]\n";
	char path[] = "/tmp/td_http_keepXXXXXX";
	struct td_diag d = {0};
	struct td_graph *g = NULL;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	unsetenv("TD_T_UNSET");
	setenv("TD_T_KEY", "k3y-secret", 1);
	ck_assert_int_eq(td_graph_load_file(path, &g, &d), TD_EGRAPH);
	td_diag_clear(&d);
	ck_assert_int_eq(td_graph_load_file_flags(path, TD_LOAD_KEEP_ENV, &g, &d), 0);
	ck_assert_str_eq(tool(g, "a")->http.url, "${TD_T_UNSET}/v1");
	ck_assert_str_eq(tool(g, "a")->http.headers[0].value, "Bearer ${TD_T_KEY}");
	ck_assert_int_eq(td_batch_from_graph(g, &b, &d), 0);
	ck_assert_int_eq(td_plan_new(b, &p, &d), 0);
	ck_assert_int_eq(td_run_new(p, NULL, &r, &d), TD_EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(dump(&d), "cannot run"), "%s", dump(&d));
	td_diag_clear(&d);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	/* the references are still checked */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "version: 1\ntools: {a: {http: {url: 'http://h/${1x}'}}}\n", 55),
	                 55);
	close(fd);
	ck_assert_int_eq(td_graph_load_file_flags(path, TD_LOAD_KEEP_ENV, &g, &d), TD_EGRAPH);
	ck_assert_msg(strstr(dump(&d), "url has a bad variable reference"), "%s", dump(&d));
	td_diag_clear(&d);
	unlink(path);
}
END_TEST

START_TEST(query_encoding)
{
	check_url("http://h/p", "{}", "http://h/p");
	check_url("http://h/p", "{\"city\":\"Saint-Étienne & co\",\"n\":3}",
	          "http://h/p?city=Saint-%C3%89tienne%20%26%20co&n=3");
	check_url("http://h/p?k=1", "{\"a\":true,\"b\":null,\"c\":1.5}",
	          "http://h/p?k=1&a=true&c=1.5");
	check_url("http://h/p", "{\"t\":[\"x\",2,null],\"o\":{\"k\":\"v\"}}",
	          "http://h/p?t=x&t=2&o=%7B%22k%22%3A%22v%22%7D");
	check_url("http://h/p#frag", "{\"a=b\":\"~._-\"}", "http://h/p?a%3Db=~._-#frag");
}
END_TEST

START_TEST(query_needs_object)
{
	struct td__buf b = {0};

	ck_assert_int_eq(td__http_query_url(&b, "http://h/", "[1]", 3), -EINVAL);
	ck_assert_int_eq(td__http_query_url(&b, "http://h/", "\"s\"", 3), -EINVAL);
	ck_assert_int_eq(td__http_query_url(&b, "http://h/", "{", 1), -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	td__buf_free(&b);
}
END_TEST

/* ---- running: a socket that cannot be opened ---- */

/* Descriptors the host took after the run was set up: the call says it could not open a
 * socket (no server is needed: socket() fails before any connect). */
START_TEST(no_descriptor_left)
{
	struct td_graph *g = load("version: 1\ntools:\n"
	                          "  t: {http: {url: 'http://127.0.0.1:9/x'}, retries: 0}\n"
	                          "calls:\n  - {id: c, tool: t, input: {}}\n",
	                          NULL, 0);
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	struct td_result res;
	struct rlimit rl;
	int fds[4096], n = 0, i;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = 256;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(td_batch_from_graph(g, &b, NULL), 0);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, NULL, &r, NULL), 0);
	while (n < (int)(sizeof(fds) / sizeof(fds[0])) && (fds[n] = dup(0)) >= 0)
		n++;
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_int_eq(td_run_wait(r), 0);
	for (i = 0; i < n; i++)
		close(fds[i]);
	ck_assert_int_eq(td_run_result(r, 0, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_ERROR);
	ck_assert_str_eq(res.content, "cannot open a socket: too many open files (the descriptor "
	                              "limit, RLIMIT_NOFILE)");
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("declaration");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, defaults_per_method);
	tcase_add_test(tc, env_expanded);
	tcase_add_test(tc, env_errors);
	tcase_add_test(tc, env_kept);
	suite_add_tcase(s, tc);
	tc = tcase_create("query");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, query_encoding);
	tcase_add_test(tc, query_needs_object);
	suite_add_tcase(s, tc);
	tc = tcase_create("run");
	tcase_add_test(tc, no_descriptor_left);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

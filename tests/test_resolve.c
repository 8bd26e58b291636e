/* SPDX-License-Identifier: MIT */
/*
 * test_resolve.c - host names in Redis URLs, looked up off the loop (exec/resolve.c): the
 * resolver on a loop of its own (names, unknown names, a lookup given up while out), then
 * scheduler and worker on `redis://localhost:PORT` against a real redis-server this suite
 * starts on a free loopback port (and kills when it ends, failed or not), the worker in a
 * child process. A slow lookup is made with the test hook TD_TEST_RESOLVE_DELAY_MS.
 */
#include <arpa/inet.h>
#include <check.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/loop.h"
#include "exec/resolve.h"
#include "tooldag.h"

static char dir[] = "/tmp/td-resolve-XXXXXX";
static char logfile[128];
static int port;
static pid_t redis_pid;

/* A loopback port nobody listens on now (redis-server takes it right after). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), p = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static int listening(int p)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)p),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* redis-server on 127.0.0.1:*port (a free one when *port is 0), logging to log, killed with
 * the process that started it; its pid, or 0 when it did not come up. */
static pid_t redis_on(int *port_io, const char *log)
{
	char ports[16];
	char *argv[] = {"redis-server", "--port",    ports,       "--bind", "127.0.0.1",
	                "--dir",        dir,         "--save",    "",       "--appendonly",
	                "no",           "--logfile", (char *)log, NULL};
	int tries, i;
	pid_t pid;

	/* the port may be taken between free_port() and redis-server's bind: try another */
	for (tries = 0; tries < 5; tries++) {
		int p = *port_io ? *port_io : free_port();

		snprintf(ports, sizeof(ports), "%d", p);
		if ((pid = fork()) == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execvp("redis-server", argv);
			fprintf(stderr, "test_resolve: redis-server is needed (apt-get install "
			                "redis-server)\n");
			_exit(127);
		}
		for (i = 0; pid > 0 && i < 200 && !listening(p); i++) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				pid = 0;
				break;
			}
			usleep(20000);
		}
		if (pid > 0 && listening(p)) {
			*port_io = p;
			return pid;
		}
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	return 0;
}

static void redis_down_pid(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void redis_up(void)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(logfile, sizeof(logfile), "%s/redis.log", dir);
	port = 0;
	redis_pid = redis_on(&port, logfile);
}

static void redis_down(void)
{
	char log2[160];

	redis_down_pid(redis_pid);
	snprintf(log2, sizeof(log2), "%s/redis2.log", dir);
	unlink(log2);
	unlink(logfile);
	rmdir(dir);
}

/* The lookup threads end by themselves once getaddrinfo answered: within a few seconds. */
static void no_thread_left(void)
{
	int i;

	for (i = 0; i < 500 && td__resolve_threads(); i++)
		usleep(10000);
	ck_assert_uint_eq(td__resolve_threads(), 0);
}

/* ---- the resolver on a loop ---- */

struct answer {
	int ran;
	char addr[TD__ADDR_LEN];
	char why[200];
};

static void on_answer(void *priv, const char *addr, const char *why)
{
	struct answer *a = priv;

	a->ran++;
	snprintf(a->addr, sizeof(a->addr), "%s", addr ? addr : "");
	snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
}

static void look_up(const char *host, struct answer *a)
{
	struct td__loop *l = NULL;
	struct td__lookup *lk = NULL;
	int i;

	memset(a, 0, sizeof(*a));
	ck_assert_int_eq(td__loop_new(&l, 64, NULL), 0);
	ck_assert_int_eq(td__resolve_start(l, host, on_answer, a, &lk), 0);
	ck_assert_ptr_nonnull(lk);
	ck_assert_int_eq(a->ran, 0); /* never inside start */
	for (i = 0; i < 1000 && !a->ran; i++)
		ck_assert_int_ge(td__loop_run(l, 1), 0);
	ck_assert_int_eq(a->ran, 1);
	td__loop_free(l);
	no_thread_left();
}

START_TEST(names_and_addresses)
{
	struct answer a;

	ck_assert_int_eq(td__resolve_numeric("127.0.0.1"), 1);
	ck_assert_int_eq(td__resolve_numeric("::1"), 1);
	ck_assert_int_eq(td__resolve_numeric("localhost"), 0);
	ck_assert_int_eq(td__resolve_numeric("10.0.0"), 0);
	look_up("localhost", &a);
	ck_assert_msg(!strcmp(a.addr, "127.0.0.1") || !strcmp(a.addr, "::1"), "localhost -> '%s'",
	              a.addr);
	look_up("nosuch.invalid", &a);
	ck_assert_str_eq(a.addr, "");
	ck_assert_msg(a.why[0], "no reason given");
}
END_TEST

/* Given up while its thread is slow: the answer never comes, the loop may go at once, and
 * the thread ends on its own (under ASan and TSan: nothing it touches was freed). */
START_TEST(cancelled_while_out)
{
	struct td__loop *l = NULL;
	struct td__lookup *lk = NULL;
	struct answer a = {0};
	char addr[TD__ADDR_LEN], why[160];
	int i;

	setenv("TD_TEST_RESOLVE_DELAY_MS", "300", 1);
	ck_assert_int_eq(td__loop_new(&l, 64, NULL), 0);
	ck_assert_int_eq(td__resolve_start(l, "localhost", on_answer, &a, &lk), 0);
	ck_assert_uint_eq(td__resolve_threads(), 1);
	td__resolve_cancel(lk);
	td__loop_free(l);
	ck_assert_uint_eq(td__resolve_threads(), 1); /* still sleeping: not waited for */
	/* the blocking form gives up after its timeout the same way */
	ck_assert_int_eq(td__resolve_wait("localhost", 50, addr, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "no answer within 50ms");
	no_thread_left();
	ck_assert_int_eq(a.ran, 0);
	unsetenv("TD_TEST_RESOLVE_DELAY_MS");
	ck_assert_int_eq(td__resolve_wait("localhost", 5000, addr, why, sizeof(why)), 0);
	ck_assert_msg(!strcmp(addr, "127.0.0.1") || !strcmp(addr, "::1"), "%s", addr);
	ck_assert_int_eq(td__resolve_wait("nosuch.invalid", 5000, addr, why, sizeof(why)), -1);
	for (i = 0; why[i]; i++)
		;
	ck_assert_int_gt(i, 0);
	no_thread_left();
}
END_TEST

/* ---- scheduler and worker on a host name ---- */

static struct td_graph *graph_on(const char *host, int at, const char *tools)
{
	char text[2048], url[128];
	struct td_graph *g = NULL;
	struct td_diag d = {0};

	ck_assert_msg(redis_pid > 0, "redis-server did not start");
	snprintf(url, sizeof(url), "redis://%s:%d", host, at);
	/* every URL in tools is this one */
	snprintf(text, sizeof(text), "version: 1\ntools:\n");
	for (const char *p = tools; *p; p++) {
		size_t n = strlen(text);

		if (!strncmp(p, "URL", 3)) {
			snprintf(text + n, sizeof(text) - n, "%s", url);
			p += 2;
		} else if (n + 1 < sizeof(text)) {
			text[n] = *p;
			text[n + 1] = '\0';
		}
	}
	ck_assert_msg(td_graph_load_buffer(text, strlen(text), "g.yaml", "/tmp", &g, &d) == 0, "%s",
	              d.count ? d.items[0].message : "?");
	return g;
}

static struct td_graph *graph(const char *host, const char *tools)
{
	return graph_on(host, port, tools);
}

/* A worker serving g in a child process (killed with its parent if a test fails); its
 * connection and its lookup are done before this returns. */
static pid_t worker_start(const struct td_graph *g)
{
	char c = 0, name[32];
	int ready[2];
	pid_t pid;

	/* a name of its own: the one a killed worker held stays taken until its key expires */
	snprintf(name, sizeof(name), "r%ld", (long)getpid());
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct td_worker_opts o = {.jobs = 4, .name = name};
		struct td_worker *w = NULL;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		if (td_worker_new(g, &o, &w, NULL) < 0)
			_exit(3);
		if (write(ready[1], "1", 1) != 1)
			_exit(3);
		close(ready[1]);
		_exit(td_worker_serve(w, NULL) ? 4 : 0);
	}
	close(ready[1]);
	ck_assert_msg(read(ready[0], &c, 1) == 1, "the worker did not start");
	close(ready[0]);
	return pid;
}

static void worker_stop(pid_t pid)
{
	int st = 0;

	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0); /* still serving */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* What the observer saw: the order calls finished in, and whether the lookup was still out
 * when the local call finished. */
struct seen {
	uint32_t order[4];
	int n;
	int lookup_out_at_local_end;
};

static void observe(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct seen *s = ud;

	(void)run;
	if (ev->type != TD_EVENT_CALL_FINISHED || s->n >= 4)
		return;
	s->order[s->n++] = ev->call;
	if (ev->call == 1)
		s->lookup_out_at_local_end = td__resolve_threads() > 0;
}

struct both {
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
};

/* Calls: "there" (remote) then "here" (local, 50 ms), one level; waited for. */
static void run_both(struct both *j, const struct td_graph *g, struct seen *seen)
{
	memset(j, 0, sizeof(*j));
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &j->b), 0);
	ck_assert_int_eq(td_batch_add(j->b, "a", "there", "{\"x\":1}"), 0);
	ck_assert_int_eq(td_batch_add(j->b, "b", "here", "{\"ms\":50}"), 1);
	ck_assert_int_eq(td_plan_new(j->b, &j->p, NULL), 0);
	ck_assert_int_eq(td_run_new(j->p, NULL, &j->r, NULL), 0);
	if (seen)
		ck_assert_int_eq(td_run_observe(j->r, observe, seen), 0);
	ck_assert_int_eq(td_run_wait(j->r), 0);
}

/* The result of call i: its status, and its content (unless want is NULL). */
static void result_is(const struct both *j, size_t i, enum td_status st, const char *want)
{
	struct td_result res;

	ck_assert_int_eq(td_run_result(j->r, i, &res), 0);
	ck_assert_msg(res.status == st, "call %zu: %s: %s", i, td_status_name(res.status),
	              res.content);
	if (want)
		ck_assert_msg(strstr(res.content, want), "call %zu: '%s' lacks '%s'", i,
		              res.content, want);
}

static void both_free(struct both *j)
{
	td_run_free(j->r);
	td_plan_free(j->p);
	td_batch_free(j->b);
}

static const char *tools = "  there: {builtin: echo, timeout: 10s, remote: {redis: 'URL', "
                           "queue: qn}}\n"
                           "  here: {builtin: sleep}\n";

START_TEST(by_name_end_to_end)
{
	struct td_graph *g = graph("localhost", tools);
	pid_t worker = worker_start(g);
	struct both j;

	run_both(&j, g, NULL);
	result_is(&j, 0, TD_STATUS_OK, "{\"x\":1}");
	result_is(&j, 1, TD_STATUS_OK, NULL);
	both_free(&j);
	worker_stop(worker);
	td_graph_free(g);
	no_thread_left();
}
END_TEST

/* The lookup takes 1s on its thread: the local 50 ms call ends while it is still out, long
 * before the remote call is even queued; then the remote call goes through. */
START_TEST(loop_runs_during_lookup)
{
	struct td_graph *g = graph("localhost", tools);
	pid_t worker = worker_start(g); /* connected before the delay is set */
	struct seen seen = {0};
	struct both j;

	setenv("TD_TEST_RESOLVE_DELAY_MS", "1000", 1);
	run_both(&j, g, &seen);
	unsetenv("TD_TEST_RESOLVE_DELAY_MS");
	ck_assert_int_eq(seen.n, 2);
	ck_assert_uint_eq(seen.order[0], 1); /* "here" first */
	ck_assert_uint_eq(seen.order[1], 0);
	ck_assert_int_eq(seen.lookup_out_at_local_end, 1);
	result_is(&j, 0, TD_STATUS_OK, "{\"x\":1}");
	both_free(&j);
	worker_stop(worker);
	td_graph_free(g);
	no_thread_left();
}
END_TEST

/* A run freed while its lookup is out: td_run_free() does not wait for the thread. */
START_TEST(run_freed_during_lookup)
{
	struct td_graph *g = graph("localhost", tools);
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;
	int i;

	setenv("TD_TEST_RESOLVE_DELAY_MS", "500", 1);
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "a", "there", "{}"), 0);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, NULL, &r, NULL), 0);
	for (i = 0; i < 100 && !td__resolve_threads(); i++) {
		ck_assert_int_ge(td_run_step(r), 0);
		usleep(10000);
	}
	ck_assert_uint_ge(td__resolve_threads(), 1);
	td_run_free(r);
	ck_assert_uint_ge(td__resolve_threads(), 1); /* still sleeping: not waited for */
	unsetenv("TD_TEST_RESOLVE_DELAY_MS");
	td_plan_free(p);
	td_batch_free(b);
	td_graph_free(g);
	no_thread_left();
}
END_TEST

/* Steps r until cond(arg) holds, for 5 s at most. */
static int step_until(struct td_run *r, int (*cond)(void *), void *arg)
{
	int i;

	for (i = 0; i < 500 && !cond(arg); i++) {
		ck_assert_int_ge(td_run_step(r), 0);
		usleep(10000);
	}
	return cond(arg);
}

static int queued(void *c)
{
	redisReply *rep = redisCommand(c, "XLEN tooldag:queue:qr");
	int n = rep && rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : 0;

	freeReplyObject(rep);
	return n == 1;
}

static int looked_up_since(void *n0)
{
	return td__resolve_started() > *(unsigned *)n0;
}

/* Redis restarted while a call waits on its queue: the scheduler connects again, looking the
 * name up again, and the call still ends on its timeout. */
START_TEST(reconnect_looks_up_again)
{
	char log2[160];
	int at = 0;
	pid_t r2;
	struct td_graph *g;
	struct both j = {0};
	redisContext *c;
	unsigned n0;

	snprintf(log2, sizeof(log2), "%s/redis2.log", dir);
	ck_assert_int_gt(r2 = redis_on(&at, log2), 0);
	g = graph_on("localhost", at,
	             "  q: {builtin: echo, timeout: 3s, remote: {redis: 'URL', queue: qr}}\n");
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &j.b), 0);
	ck_assert_int_eq(td_batch_add(j.b, "a", "q", "{}"), 0);
	ck_assert_int_eq(td_plan_new(j.b, &j.p, NULL), 0);
	ck_assert_int_eq(td_run_new(j.p, NULL, &j.r, NULL), 0);
	ck_assert_ptr_nonnull(c = redisConnect("127.0.0.1", at));
	ck_assert_msg(step_until(j.r, queued, c), "the call was never queued");
	redisFree(c);
	n0 = td__resolve_started();
	redis_down_pid(r2);
	ck_assert_int_gt(r2 = redis_on(&at, log2), 0); /* the same port */
	ck_assert_msg(step_until(j.r, looked_up_since, &n0), "no new lookup after the restart");
	ck_assert_int_eq(td_run_wait(j.r), 0);
	result_is(&j, 0, TD_STATUS_TIMEOUT, "timed out after 3s");
	both_free(&j);
	redis_down_pid(r2);
	td_graph_free(g);
	no_thread_left();
}
END_TEST

START_TEST(unknown_host_named)
{
	struct td_graph *g = graph("nosuch.invalid", tools);
	struct td_worker_opts o = {.name = "r2"};
	struct td_worker *w = NULL;
	struct td_diag d = {0};
	struct both j;

	run_both(&j, g, NULL);
	result_is(&j, 0, TD_STATUS_ERROR, "redis: cannot resolve the host name: ");
	result_is(&j, 0, TD_STATUS_ERROR, "(nosuch.invalid)");
	result_is(&j, 1, TD_STATUS_OK, NULL); /* the local call is not affected */
	both_free(&j);
	ck_assert_int_lt(td_worker_new(g, &o, &w, &d), 0);
	ck_assert_ptr_null(w);
	ck_assert_uint_ge(d.count, 1);
	ck_assert_msg(strstr(d.items[0].message, "redis: cannot resolve 'nosuch.invalid': "), "%s",
	              d.items[0].message);
	td_diag_clear(&d);
	td_graph_free(g);
	no_thread_left();
}
END_TEST

static Suite *resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("resolver");
	TCase *tr = tcase_create("redis");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, names_and_addresses);
	tcase_add_test(tc, cancelled_while_out);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(tr, redis_up, redis_down);
	tcase_set_timeout(tr, 60);
	tcase_add_test(tr, by_name_end_to_end);
	tcase_add_test(tr, loop_runs_during_lookup);
	tcase_add_test(tr, run_freed_during_lookup);
	tcase_add_test(tr, unknown_host_named);
	tcase_add_test(tr, reconnect_looks_up_again);
	suite_add_tcase(s, tr);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(resolve_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_remote.c - the remote backend and the worker API in one process, on a real
 * redis-server this suite starts on a unix socket in a temporary directory (and kills when it
 * ends, failed or not: an unchecked fixture runs in the parent, outside the forked tests).
 * The command-level cases (several workers, kill -9, SIGTERM, AUTH, restarts) are in
 * tests/redis/.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tooldag.h"

extern char **environ;

static char dir[] = "/tmp/td-remote-XXXXXX";
static char sock[128], logfile[128];
static pid_t redis_pid;

static void redis_up(void)
{
	char *argv[] = {
	    "redis-server", "--port", "0",         "--unixsocket", sock, "--dir", dir, "--save", "",
	    "--appendonly", "no",     "--logfile", logfile,        NULL};
	struct stat st;
	int i;

	if (!mkdtemp(dir))
		abort();
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(logfile, sizeof(logfile), "%s/redis.log", dir);
	if (posix_spawnp(&redis_pid, "redis-server", NULL, NULL, argv, environ) != 0) {
		fprintf(stderr,
		        "test_remote: redis-server is needed (apt-get install redis-server)\n");
		redis_pid = 0;
		return;
	}
	for (i = 0; i < 200 && stat(sock, &st) != 0; i++)
		usleep(20000);
	usleep(50000); /* listening once the socket exists; a moment for the first accept */
}

static void redis_down(void)
{
	char path[256];

	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/redis.sock", dir);
	unlink(path);
	unlink(logfile);
	rmdir(dir);
}

static struct td_graph *graph(const char *tools)
{
	char text[2048];
	struct td_graph *g = NULL;
	struct td_diag d = {0};

	ck_assert_msg(redis_pid > 0, "redis-server did not start");
	snprintf(text, sizeof(text), "version: 1\ntools:\n%s", tools);
	/* every unix:// in tools is this suite's server */
	for (char *p = strstr(text, "SOCK"); p; p = strstr(text, "SOCK")) {
		char rest[2048];

		snprintf(rest, sizeof(rest), "%s", p + 4);
		snprintf(p, sizeof(text) - (size_t)(p - text), "%s%s", sock, rest);
	}
	ck_assert_msg(td_graph_load_buffer(text, strlen(text), "g.yaml", "/tmp", &g, &d) == 0, "%s",
	              d.count ? d.items[0].message : "?");
	return g;
}

struct served {
	struct td_worker *w;
	pthread_t thread;
	int rc;
};

static void *serve(void *p)
{
	struct served *s = p;

	s->rc = td_worker_serve(s->w, NULL);
	return NULL;
}

static void worker_start(struct served *s, const struct td_graph *g, unsigned jobs)
{
	struct td_worker_opts o = {.jobs = jobs, .name = "t1"};
	struct td_diag d = {0};

	ck_assert_msg(td_worker_new(g, &o, &s->w, &d) == 0, "%s",
	              d.count ? d.items[0].message : "?");
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void worker_drain(struct served *s)
{
	td_worker_stop(s->w, TD_WORKER_DRAIN);
	pthread_join(s->thread, NULL);
	ck_assert_int_eq(s->rc, 0);
	td_worker_free(s->w);
}

struct job {
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
};

/* A run of n calls of tool with input in, waited for. */
static void run(struct job *j, const struct td_graph *g, const char *tool, int n, const char *in)
{
	char id[16];
	int i;

	memset(j, 0, sizeof(*j));
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &j->b), 0);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		ck_assert_int_ge(td_batch_add(j->b, id, tool, in), 0);
	}
	ck_assert_int_eq(td_plan_new(j->b, &j->p, NULL), 0);
	ck_assert_int_eq(td_run_new(j->p, NULL, &j->r, NULL), 0);
	ck_assert_int_eq(td_run_wait(j->r), 0);
}

static void job_free(struct job *j)
{
	td_run_free(j->r);
	td_plan_free(j->p);
	td_batch_free(j->b);
}

/* One worker taking one call at a time: the queue wait of each call is reported. */
START_TEST(queue_wait_reported)
{
	struct td_graph *g =
	    graph("  slow: {builtin: sleep, remote: {redis: 'unix://SOCK', queue: q1}}\n");
	struct served s;
	struct td_result res[3];
	struct job j;
	int i;

	worker_start(&s, g, 1);
	run(&j, g, "slow", 3, "{\"ms\": 200}");
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(td_run_result(j.r, (size_t)i, &res[i]), 0);
		ck_assert_int_eq(res[i].status, TD_STATUS_OK);
		ck_assert_str_eq(res[i].content, "slept 200ms");
	}
	/* calls wait their turn on the queue, behind the ones before them */
	ck_assert_int_lt(res[0].queue_us, 150000);
	ck_assert_int_ge(res[1].queue_us + res[2].queue_us, 550000);
	job_free(&j);
	worker_drain(&s);
	td_graph_free(g);
}
END_TEST

/* A tool on the remote queue next to one that runs here, in one batch. */
START_TEST(local_and_remote)
{
	struct td_graph *g =
	    graph("  there: {builtin: echo, remote: {redis: 'unix://SOCK', queue: q2}}\n"
	          "  here: {builtin: echo}\n");
	struct served s;
	struct td_worker_stats st;
	struct td_result res;
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	struct td_run *r = NULL;

	worker_start(&s, g, 4);
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	ck_assert_int_eq(td_batch_add(b, "a", "there", "{\"x\":1}"), 0);
	ck_assert_int_eq(td_batch_add(b, "b", "here", "{\"y\":2}"), 1);
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, NULL, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	ck_assert_int_eq(td_run_result(r, 0, &res), 0);
	ck_assert_str_eq(res.content, "{\"x\":1}");
	ck_assert_int_eq(td_run_result(r, 1, &res), 0);
	ck_assert_str_eq(res.content, "{\"y\":2}");
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
	td_worker_stats(s.w, &st);
	ck_assert_uint_eq(st.taken, 1); /* "here" never went to the queue */
	ck_assert_uint_eq(st.answered, 1);
	worker_drain(&s);
	td_graph_free(g);
}
END_TEST

static void worker_refused(const struct td_graph *g, const char *tools, const char *redis,
                           const char *want)
{
	struct td_worker_opts o = {.tools = tools, .redis = redis};
	struct td_worker *w = NULL;
	struct td_diag d = {0};

	ck_assert_int_lt(td_worker_new(g, &o, &w, &d), 0);
	ck_assert_ptr_null(w);
	ck_assert_uint_ge(d.count, 1);
	ck_assert_msg(strstr(d.items[0].message, want), "'%s' lacks '%s'", d.items[0].message,
	              want);
	td_diag_clear(&d);
}

START_TEST(worker_set_up_errors)
{
	struct td_graph *g =
	    graph("  there: {builtin: echo, remote: {redis: 'unix://SOCK', queue: q3}}\n"
	          "  here: {builtin: echo}\n");

	worker_refused(g, "nope", NULL, "--tools: no tool 'nope' in the graph");
	worker_refused(g, "here", NULL, "--tools: tool 'here' has no 'remote:'");
	worker_refused(g, NULL, "rediss://h:1", "bad redis URL: rediss:// (TLS) is not supported");
	worker_refused(g, NULL, "unix:///nonexistent/td.sock", "redis: cannot connect to");
	unsetenv("TD_TEST_NO_SUCH_VAR");
	worker_refused(g, NULL, "redis://:${TD_TEST_NO_SUCH_VAR}@h", "${TD_TEST_NO_SUCH_VAR}");
	td_graph_free(g);
}
END_TEST

static Suite *remote_suite(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("redis");

	tcase_add_unchecked_fixture(tc, redis_up, redis_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, queue_wait_reported);
	tcase_add_test(tc, local_and_remote);
	tcase_add_test(tc, worker_set_up_errors);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(remote_suite());
}

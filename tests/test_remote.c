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
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

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

static void worker_start_fns(struct served *s, const struct td_graph *g, unsigned jobs,
                             const struct td_functions *fns)
{
	struct td_worker_opts o = {.jobs = jobs, .name = "t1", .functions = fns};
	struct td_diag d = {0};

	ck_assert_msg(td_worker_new(g, &o, &s->w, &d) == 0, "%s",
	              d.count ? d.items[0].message : "?");
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void worker_start(struct served *s, const struct td_graph *g, unsigned jobs)
{
	worker_start_fns(s, g, jobs, NULL);
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

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A function that runs until it is cancelled (10s at most), and says whether it was. */
static int fn_started, fn_saw_cancel, fn_ended;

static void until_cancelled(struct td_fn_call *call, void *ud)
{
	int i;

	(void)ud;
	__atomic_store_n(&fn_started, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 1000 && !td_fn_call_cancelled(call); i++)
		usleep(10000);
	__atomic_store_n(&fn_saw_cancel, td_fn_call_cancelled(call), __ATOMIC_SEQ_CST);
	__atomic_store_n(&fn_ended, 1, __ATOMIC_SEQ_CST);
	td_fn_complete(call, 0, "ran", 3);
}

/* Cancelling a remote call a worker runs reaches it: its function sees
 * td_fn_call_cancelled() within a second or two, the worker answers and serves on. */
START_TEST(cancel_reaches_worker)
{
	struct td_graph *g = graph(
	    "  waits: {function: until_cancelled, remote: {redis: 'unix://SOCK', queue: q4}}\n"
	    "  echo_r: {builtin: echo, remote: {redis: 'unix://SOCK', queue: q4}}\n");
	struct td_functions *fns = NULL;
	struct td_worker_stats st;
	struct td_result res;
	struct served s;
	struct job j;
	int64_t t0;
	int i;

	ck_assert_int_eq(td_functions_new(&fns), 0);
	ck_assert_int_eq(
	    td_functions_add(fns, "until_cancelled", TD_FN_BLOCKING, until_cancelled, NULL), 0);
	worker_start_fns(&s, g, 2, fns);
	memset(&j, 0, sizeof(j));
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &j.b), 0);
	ck_assert_int_eq(td_batch_add(j.b, "w", "waits", "{}"), 0);
	ck_assert_int_eq(td_plan_new(j.b, &j.p, NULL), 0);
	ck_assert_int_eq(td_run_new(j.p, NULL, &j.r, NULL), 0);
	for (i = 0; i < 1000 && !__atomic_load_n(&fn_started, __ATOMIC_SEQ_CST); i++) {
		td_run_step(j.r);
		usleep(10000);
	}
	ck_assert_msg(fn_started, "the worker never ran the function");
	t0 = now_us();
	ck_assert_int_eq(td_run_cancel_call(j.r, 0), 0);
	ck_assert_int_eq(td_run_wait(j.r), 0);
	ck_assert_int_eq(td_run_result(j.r, 0, &res), 0);
	ck_assert_int_eq(res.status, TD_STATUS_CANCELLED);
	/* the worker's run has the call's result as soon as it cancels it; the function, on
	 * a thread of its own, notices a moment later */
	for (i = 0; i < 500; i++) {
		td_worker_stats(s.w, &st);
		if (st.answered == 1 && __atomic_load_n(&fn_ended, __ATOMIC_SEQ_CST))
			break;
		usleep(10000);
	}
	ck_assert_msg(__atomic_load_n(&fn_saw_cancel, __ATOMIC_SEQ_CST),
	              "the function did not see the cancel");
	ck_assert_uint_eq(st.cancelled, 1);
	ck_assert_uint_eq(st.answered, 1);
	ck_assert_int_lt(now_us() - t0, 2000000);
	job_free(&j);
	/* and the worker serves the next call */
	run(&j, g, "echo_r", 1, "{\"n\":1}");
	ck_assert_int_eq(td_run_result(j.r, 0, &res), 0);
	ck_assert_str_eq(res.content, "{\"n\":1}");
	job_free(&j);
	worker_drain(&s);
	td_functions_free(fns);
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

/*
 * Answers as a worker of another version, or a broken one, writes them: the test takes the
 * calls from the queue itself (XREADGROUP, like `tooldag worker`) and answers each with the
 * fields its input names, after a known delay.
 */
struct crafter {
	pthread_t thread;
	int ncalls, delay_ms, rc;
};

/* The answer for case n: field/value pairs after v, type, call. */
static int craft(int n, const char **kv)
{
	static const char *const cases[][12] = {
	    /* an old worker: no held_us, no run_us */
	    {"worker", "old1", "status", "ok", "content", "c0"},
	    /* held_us not a number: run_us instead */
	    {"worker", "w2", "status", "ok", "held_us", "abc", "run_us", "200000", "content", "c1"},
	    /* held longer than the attempt took here (a clock gone wrong): no wait */
	    {"worker", "w3", "status", "ok", "held_us", "999999999", "content", "c2"},
	    /* a negative held_us is malformed: the whole time is the wait */
	    {"worker", "w4", "status", "ok", "held_us", "-5", "content", "c3"},
	    /* no name: still a result, and no worker to report */
	    {"status", "ok", "content", "c4"},
	    /* a loss names the worker that fell silent */
	    {"worker", "gone \"w\"\n6", "reason", "silent"},
	    /* a result with a status no version writes */
	    {"worker", "w6", "status", "maybe", "content", "c6"},
	};
	int k;

	for (k = 0; k < 12 && cases[n][k]; k++)
		kv[k] = cases[n][k];
	return k;
}

/* One message taken: its reply stream and token kept under the case its input names. */
static int keep(const redisReply *f, char reply[][160], char token[][48])
{
	const char *rep = NULL, *tok = NULL, *in = NULL;
	size_t j;
	int n;

	for (j = 0; j + 1 < f->elements; j += 2) {
		if (!strcmp(f->element[j]->str, "reply"))
			rep = f->element[j + 1]->str;
		if (!strcmp(f->element[j]->str, "call"))
			tok = f->element[j + 1]->str;
		if (!strcmp(f->element[j]->str, "input"))
			in = f->element[j + 1]->str;
	}
	if (!rep || !tok || !in || sscanf(in, "{\"n\":%d}", &n) != 1 || n < 0 || n >= 7)
		return 0;
	snprintf(reply[n], 160, "%s", rep);
	snprintf(token[n], 48, "%s", tok);
	return 1;
}

static void *answer_crafted(void *p)
{
	struct crafter *cr = p;
	const char *rd[] = {"XREADGROUP", "GROUP", "tooldag", "crafter",          "COUNT", "100",
	                    "BLOCK",      "5000",  "STREAMS", "tooldag:queue:qa", ">"};
	char reply[7][160], token[7][48];
	int got = 0, i, k;
	redisContext *rc = redisConnectUnix(sock);
	redisReply *r;

	cr->rc = -1;
	while (rc && !rc->err && got < cr->ncalls) {
		r = redisCommandArgv(rc, 11, rd, NULL);
		if (!r)
			break;
		for (i = 0; r->type == REDIS_REPLY_ARRAY && i < (int)r->elements; i++) {
			const redisReply *es = r->element[i]->element[1];

			for (k = 0; k < (int)es->elements; k++)
				got += keep(es->element[k]->element[1], reply, token);
		}
		freeReplyObject(r);
	}
	usleep((useconds_t)cr->delay_ms * 1000);
	for (i = 0; rc && !rc->err && got == cr->ncalls && i < cr->ncalls; i++) {
		const char *argv[20] = {
		    "XADD", reply[i], "*", "v", "1", "type", i == 5 ? "lost" : "result",
		    "call", token[i]};
		int argc = 9 + craft(i, argv + 9);

		freeReplyObject(redisCommandArgv(rc, argc, argv, NULL));
	}
	if (rc && !rc->err && got == cr->ncalls)
		cr->rc = 0;
	if (rc)
		redisFree(rc);
	return NULL;
}

static void on_event(void *ud, const struct td_run *r, const struct td_event *ev)
{
	char line[1024];

	if (ev->type == TD_EVENT_ATTEMPT_FINISHED && ev->call < 7 &&
	    td_event_json(r, ev, line, sizeof(line)) > 0)
		snprintf(((char(*)[1024])ud)[ev->call], 1024, "%s", line);
}

/* The trace of answers_crafted: the worker and its wait in the run's slices, and a track per
 * worker in process 3 with that worker's slices on it. */
static void trace_names_workers(FILE *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	cJSON *doc, *e, *args, *name;
	int c;
	int tid_old1 = -1, on_old1 = 0, run_old1 = 0, nameless = 0;

	rewind(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	doc = cJSON_Parse(text);
	ck_assert_msg(doc != NULL, "the trace is not JSON: %.300s", text);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "traceEvents"))
	{
		int pid = cJSON_GetObjectItem(e, "pid")->valueint;
		const char *ph = cJSON_GetObjectItem(e, "ph")->valuestring;

		args = cJSON_GetObjectItem(e, "args");
		name = cJSON_GetObjectItem(e, "name");
		if (pid == 3 && !strcmp(ph, "M") && !strcmp(name->valuestring, "thread_name") &&
		    !strcmp(cJSON_GetObjectItem(args, "name")->valuestring, "old1"))
			tid_old1 = cJSON_GetObjectItem(e, "tid")->valueint;
		if (pid == 3 && !strcmp(ph, "X") && !strcmp(name->valuestring, "t c0"))
			on_old1 = cJSON_GetObjectItem(e, "tid")->valueint;
		if (pid == 1 && !strcmp(ph, "X") && !strcmp(name->valuestring, "t c0") &&
		    !strcmp(cJSON_GetObjectItem(args, "worker")->valuestring, "old1") &&
		    cJSON_GetObjectItem(args, "worker_wait_us")->valuedouble >= 300000)
			run_old1 = 1;
		if (pid == 1 && !strcmp(ph, "X") && !strcmp(name->valuestring, "t c4"))
			nameless = cJSON_GetObjectItem(args, "worker") == NULL;
	}
	ck_assert_int_ge(tid_old1, 1);
	ck_assert_int_eq(on_old1, tid_old1);
	ck_assert(run_old1);
	ck_assert(nameless);
	cJSON_Delete(doc);
	free(text);
}

/* Answers from older or broken workers: what they lack falls back, what is malformed is
 * ignored or refused, and the report, the events and td_run_result_worker() name who ran
 * what. */
START_TEST(answers_crafted)
{
	struct td_graph *g =
	    graph("  t: {builtin: echo, remote: {redis: 'unix://SOCK', queue: qa}}\n");
	const char *mk[] = {"XGROUP", "CREATE", "tooldag:queue:qa", "tooldag", "0", "MKSTREAM"};
	struct crafter cr = {.ncalls = 7, .delay_ms = 300};
	static char events[7][1024];
	struct td_result res[7];
	redisContext *rc = redisConnectUnix(sock);
	struct job j = {0};
	FILE *tf = tmpfile();
	cJSON *rep, *calls, *c, *ev;
	char id[8], in[16], *json;
	int i;

	ck_assert(rc && !rc->err);
	freeReplyObject(redisCommandArgv(rc, 6, mk, NULL));
	redisFree(rc);
	ck_assert_int_eq(pthread_create(&cr.thread, NULL, answer_crafted, &cr), 0);
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &j.b), 0);
	for (i = 0; i < 7; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		snprintf(in, sizeof(in), "{\"n\":%d}", i);
		ck_assert_int_ge(td_batch_add(j.b, id, "t", in), 0);
	}
	ck_assert_int_eq(td_plan_new(j.b, &j.p, NULL), 0);
	ck_assert_int_eq(td_run_new(j.p, NULL, &j.r, NULL), 0);
	ck_assert_int_eq(td_run_observe(j.r, on_event, events), 0);
	ck_assert_ptr_nonnull(tf);
	ck_assert_int_eq(td_run_trace(j.r, tf), 0);
	ck_assert_int_eq(td_run_wait(j.r), 0);
	pthread_join(cr.thread, NULL);
	ck_assert_int_eq(cr.rc, 0);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(td_run_result(j.r, (size_t)i, &res[i]), 0);

	/* an old worker's answer: its whole round trip is the wait */
	ck_assert_int_eq(res[0].status, TD_STATUS_OK);
	ck_assert_str_eq(res[0].content, "c0");
	ck_assert_str_eq(td_run_result_worker(j.r, 0), "old1");
	ck_assert_int_ge(res[0].queue_us, 300000);
	/* a malformed held_us: run_us is subtracted instead */
	ck_assert_str_eq(res[1].content, "c1");
	ck_assert_str_eq(td_run_result_worker(j.r, 1), "w2");
	ck_assert_int_ge(res[1].queue_us, 100000);
	ck_assert_int_le(res[1].queue_us + 200000, res[1].end_us - res[1].start_us);
	/* held longer than it took: no wait, never a negative one */
	ck_assert_str_eq(res[2].content, "c2");
	ck_assert_int_eq(res[2].queue_us, 0);
	ck_assert_str_eq(res[3].content, "c3");
	ck_assert_int_ge(res[3].queue_us, 300000);
	/* no name */
	ck_assert_int_eq(res[4].status, TD_STATUS_OK);
	ck_assert_str_eq(res[4].content, "c4");
	ck_assert_ptr_null(td_run_result_worker(j.r, 4));
	/* a loss names the silent worker, in the error and through the API */
	ck_assert_int_eq(res[5].status, TD_STATUS_ERROR);
	ck_assert_msg(strstr(res[5].content, "lost: worker gone \"w\"\n6 took this call"), "%s",
	              res[5].content);
	ck_assert_str_eq(td_run_result_worker(j.r, 5), "gone \"w\"\n6");
	ck_assert_int_eq(res[5].queue_us, 0);
	/* an unknown status is refused, naming the worker */
	ck_assert_int_eq(res[6].status, TD_STATUS_ERROR);
	ck_assert_str_eq(res[6].content, "malformed answer from worker w6: unknown status");
	ck_assert_str_eq(td_run_result_worker(j.r, 6), "w6");

	/* the report: each call's worker and queue wait, escaped as JSON */
	ck_assert_int_eq(td_run_report_json(j.r, 0, &json), 0);
	rep = cJSON_Parse(json);
	ck_assert_ptr_nonnull(rep);
	calls = cJSON_GetObjectItem(rep, "calls");
	ck_assert_int_eq(cJSON_GetArraySize(calls), 7);
	c = cJSON_GetArrayItem(calls, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(c, "worker")->valuestring, "old1");
	ck_assert_double_ge(cJSON_GetObjectItem(c, "queue_ms")->valuedouble, 300.0);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "attempts_detail"), 0),
	                        "worker")
	        ->valuestring,
	    "old1");
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 4), "worker"));
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 5), "worker")->valuestring,
	                 "gone \"w\"\n6");
	cJSON_Delete(rep);
	free(json);

	/* the events */
	ev = cJSON_Parse(events[1]);
	ck_assert_msg(ev != NULL, "%s", events[1]);
	ck_assert_str_eq(cJSON_GetObjectItem(ev, "worker")->valuestring, "w2");
	ck_assert_double_ge(cJSON_GetObjectItem(ev, "queue_ms")->valuedouble, 100.0);
	cJSON_Delete(ev);
	ev = cJSON_Parse(events[4]);
	ck_assert_msg(ev != NULL, "%s", events[4]);
	ck_assert_ptr_null(cJSON_GetObjectItem(ev, "worker"));
	cJSON_Delete(ev);
	trace_names_workers(tf);
	job_free(&j);
	td_graph_free(g);
}
END_TEST

/* A call that ran here has no worker. */
START_TEST(local_call_has_no_worker)
{
	struct td_graph *g = graph("  here: {builtin: echo}\n");
	struct job j;

	run(&j, g, "here", 1, "{}");
	ck_assert_ptr_null(td_run_result_worker(j.r, 0));
	ck_assert_ptr_null(td_run_result_worker(j.r, 1));
	ck_assert_ptr_null(td_run_result_worker(NULL, 0));
	job_free(&j);
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
	tcase_add_test(tc, answers_crafted);
	tcase_add_test(tc, local_call_has_no_worker);
	tcase_add_test(tc, cancel_reaches_worker);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(remote_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * host.c - an example program that embeds tooldag: it registers three C function tools, one
 * per mode, runs a travel graph that mixes them with process tools, and drives the run from
 * its own poll() loop, streaming each result as it finishes.
 *
 *   embed_host GRAPH      results JSON (call order) on stdout, one line per finished call on
 *                         stderr as the calls finish
 *   embed_host --many TRAVEL DESK
 *                         100 runs in flight on one host (td_host_*), 20 of TRAVEL and 80 of
 *                         DESK: one call cancelled by id, one run cancelled, one run freed
 *                         with calls in flight (its asynchronous calls complete after it is
 *                         gone); every other run must give the same results as the others of
 *                         its graph. The first TRAVEL run's results on stdout, then a summary.
 *
 * It uses only <tooldag.h> and is built against the installed package (find_package or
 * pkg-config); it parses JSON with a few string functions so it needs no JSON library.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tooldag.h>

/* The string value of "key" in a flat JSON object (no escapes: enough for this example). */
static void json_str(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(json, pat);
	for (p = p ? p + strlen(pat) : ""; *p && *p != '"' && n + 1 < cap; p++)
		out[n++] = *p;
	out[n] = '\0';
}

/* Many-runs mode: each run's user data is its session; functions check they get theirs. */
#define MAGIC 0x5e55u
struct session {
	unsigned magic;
	int index;
	const struct td_batch *batch;
	struct td_run *run;
	int streamed;
};
static struct td_functions *FNS;
static int MANY, WRONG_USERDATA;
static int POLLEN_MS = 30;
static long SERVICE_NS = 20000000;

static void check_userdata(struct td_fn_call *call)
{
	const struct session *s = td_fn_call_run_userdata(call);

	if (MANY && (!s || s->magic != MAGIC || !s->run))
		WRONG_USERDATA++; /* loop thread only (inline and async functions start there) */
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* INLINE, on the loop thread: cheap and in memory. */
static void weather(struct td_fn_call *call, void *ud)
{
	static const char *const sky[] = {"clear", "cloudy", "light rain", "windy"};
	char city[64], out[128];
	int n;

	(void)ud;
	check_userdata(call);
	json_str(td_fn_call_input(call, NULL), "city", city, sizeof(city));
	n = snprintf(out, sizeof(out), "%s: %uC, %s", city, 8 + hash(city) % 15,
	             sky[hash(city) % 4]);
	td_fn_complete(call, 0, out, (size_t)n);
}

/* BLOCKING, on a worker thread: may take its time, checks for cancellation. */
static void pollen(struct td_fn_call *call, void *ud)
{
	const char *env = td_fn_call_envelope(call, NULL);
	char city[64], out[160];
	int n, i;

	(void)ud;
	for (i = 0; i < POLLEN_MS && !td_fn_call_cancelled(call); i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL); /* a slow lookup */
	json_str(strstr(env, "\"input\""), "city", city, sizeof(city));
	if (strstr(env, "\"is_error\":true")) {
		td_fn_complete(call, 1, "no weather: cannot forecast pollen", 34);
		return;
	}
	n = snprintf(out, sizeof(out), "%s: pollen %s", city,
	             strstr(env, "rain") || strstr(env, "cloudy") ? "low" : "high");
	td_fn_complete(call, 0, out, (size_t)n);
}

/* ASYNC: the call is queued to the host's own thread, which completes it later. */
struct job {
	struct td_fn_call *call;
	char sku[64];
	struct job *next;
};
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *queue;
static int stopping;

static void inventory(struct td_fn_call *call, void *ud)
{
	struct job *j = calloc(1, sizeof(*j));

	(void)ud;
	check_userdata(call);
	j->call = call; /* the input is read now: after return the handle only completes */
	json_str(td_fn_call_input(call, NULL), "sku", j->sku, sizeof(j->sku));
	pthread_mutex_lock(&mu);
	j->next = queue;
	queue = j;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void *inventory_service(void *arg)
{
	char out[128];
	struct job *j;
	int n;

	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping || queue) {
		if (!(j = queue)) {
			pthread_cond_wait(&cv, &mu);
			continue;
		}
		queue = j->next;
		pthread_mutex_unlock(&mu);
		nanosleep(&(struct timespec){0, SERVICE_NS}, NULL); /* a remote stock service */
		n = snprintf(out, sizeof(out), "{\"sku\": \"%s\", \"in_stock\": %u}", j->sku,
		             hash(j->sku) % 7);
		td_fn_complete(j->call, 0, out, (size_t)n); /* from this thread: allowed */
		free(j);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* The host's loop: the run's fd and deadline next to whatever else the host waits on. */
static int drive(struct td_run *run, const struct td_batch *batch)
{
	struct pollfd p = {.fd = td_run_fd(run), .events = POLLIN};
	struct td_result res;
	int more, c;

	do {
		more = td_run_step(run); /* never blocks; always drains */
		if (more < 0)
			return more;
		while ((c = td_run_next_finished(run)) >= 0) { /* stream them as they finish */
			td_run_result(run, (size_t)c, &res);
			fprintf(stderr, "finished %s %s %s\n", td_batch_call_id(batch, (size_t)c),
			        td_batch_call_tool(batch, (size_t)c), td_status_name(res.status));
		}
		if (more)
			while (poll(&p, 1, td_run_timeout(run)) < 0) /* a signal: poll again */
				if (errno != EINTR)
					return -errno;
	} while (more);
	return 0;
}

/* The error and every diagnostic line (file:line:col: ...) on stderr. */
static void report(const char *who, int err, const struct td_diag *diag)
{
	char line[512];

	fprintf(stderr, "%s: %s\n", who, td_strerror(err));
	for (size_t i = 0; i < diag->count; i++) {
		td_diag_format(&diag->items[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
}

/* ---- many runs on one host ---- */

#define NSESSIONS 100
enum { CANCEL_CALL = 1, CANCEL_RUN = 2, FREED = 3 }; /* sessions treated apart (DESK runs) */

static int load(const char *path, struct td_graph **g, struct td_batch **b, struct td_plan **p,
                struct td_diag *diag)
{
	int err = td_graph_load_file(path, g, diag);

	if (!err)
		err = td_batch_from_graph(*g, b, diag);
	if (!err)
		err = td_plan_new(*b, p, diag);
	return err;
}

static int call_status(const struct session *s, const char *id)
{
	struct td_result res = {0};
	int c = td_run_find(s->run, id);

	/* a call still running has no result (TD_ESTATE) but its status says so */
	if (c < 0 ||
	    (td_run_result(s->run, (size_t)c, &res) < 0 && res.status == TD_STATUS_PENDING))
		return -1;
	return (int)res.status;
}

/* The host's loop: one descriptor and one timeout for all the runs, retried on EINTR. */
static int drive_host(struct td_host *host, struct session *s)
{
	struct pollfd p = {.fd = td_host_fd(host), .events = POLLIN};
	int more, i, ms;

	for (;;) {
		more = td_host_step(host); /* every run moves; never blocks */
		if (more < 0)
			return more;
		for (i = 0; i < NSESSIONS; i++)
			while (s[i].run && td_run_next_finished(s[i].run) >= 0)
				s[i].streamed++;
		if (!more)
			return 0;
		ms = td_host_timeout(host);
		if (ms < -1)
			return ms; /* TD_ESTATE: nothing could finish the calls left */
		while (poll(&p, 1, ms) < 0)
			if (errno != EINTR)
				return -errno;
	}
}

/* Every run not treated apart gives the results of the first run of its graph. */
static int verify(struct session *s, char **ref_json)
{
	int i, bad = 0;

	for (i = 0; i < NSESSIONS; i++) {
		char *json = NULL;
		int ref = i % 5 == 0 ? 0 : 1;

		if (i == FREED || i == CANCEL_CALL || i == CANCEL_RUN)
			continue;
		if (td_run_results_json(s[i].run, TD_DIALECT_AUTO, 0, &json) < 0)
			return -1;
		if (!ref_json[ref])
			ref_json[ref] = json;
		else if (strcmp(json, ref_json[ref]))
			bad++, fprintf(stderr, "run %d: results differ\n", i);
		if (json != ref_json[ref])
			free(json);
		if (s[i].streamed != (int)td_batch_count(s[i].batch))
			bad++, fprintf(stderr, "run %d: %d streamed\n", i, s[i].streamed);
	}
	if (call_status(&s[CANCEL_CALL], "d2") != TD_STATUS_CANCELLED ||
	    call_status(&s[CANCEL_CALL], "d3") != TD_STATUS_OK)
		bad++, fprintf(stderr, "the call cancelled by id did not end as expected\n");
	if (call_status(&s[CANCEL_RUN], "d2") != TD_STATUS_CANCELLED)
		bad++, fprintf(stderr, "the cancelled run's last call is not cancelled\n");
	if (WRONG_USERDATA)
		bad++, fprintf(stderr, "%d function calls saw another run's user data\n",
		               WRONG_USERDATA);
	return bad;
}

static int many(const char *travel_path, const char *desk_path)
{
	struct td_graph *g[2] = {0};
	struct td_batch *b[2] = {0};
	struct td_plan *p[2] = {0};
	static struct session s[NSESSIONS];
	struct td_host_opts ho = {.concurrency = 64, .fn_workers = 8};
	struct td_host *host = NULL;
	struct td_diag diag = {0};
	char *ref[2] = {0};
	int err, i;

	MANY = 1;
	POLLEN_MS = 3;
	SERVICE_NS = 1000000;
	err = load(travel_path, &g[0], &b[0], &p[0], &diag);
	if (!err)
		err = load(desk_path, &g[1], &b[1], &p[1], &diag);
	if (!err)
		err = td_host_new(&ho, &host, &diag);
	for (i = 0; !err && i < NSESSIONS; i++) {
		struct td_run_opts opts = {.functions = FNS, .userdata = &s[i]};

		s[i] = (struct session){.magic = MAGIC, .index = i, .batch = b[i % 5 ? 1 : 0]};
		err = td_host_run_new(host, p[i % 5 ? 1 : 0], &opts, &s[i].run, &diag);
	}
	/* each when its stock calls are out with the service: d2 (the next level) has not started
	 */
	for (i = 0; !err && i < 100000 && s[FREED].run; i++) {
		if (s[CANCEL_CALL].streamed >= 0 &&
		    call_status(&s[CANCEL_CALL], "d3") == TD_STATUS_RUNNING)
			s[CANCEL_CALL].streamed = -1,
			err = td_run_cancel_id(s[CANCEL_CALL].run, "d2");
		if (s[CANCEL_RUN].streamed >= 0 &&
		    call_status(&s[CANCEL_RUN], "d3") == TD_STATUS_RUNNING)
			s[CANCEL_RUN].streamed = -1, td_run_cancel(s[CANCEL_RUN].run);
		if (s[CANCEL_CALL].streamed < 0 && s[CANCEL_RUN].streamed < 0 &&
		    call_status(&s[FREED], "d4") == TD_STATUS_RUNNING) {
			td_run_free(
			    s[FREED].run); /* never waits: the service completes its calls later */
			s[FREED].run = NULL;
		}
		if (!err && td_host_step(host) < 0)
			err = TD_ESTATE;
	}
	if (!err)
		err = drive_host(host, s);
	if (!err && (err = verify(s, ref)) > 0)
		err = TD_EINVAL;
	if (!err)
		printf("%s\nmany: %d runs on one host (%s): %d as expected, 1 call cancelled, "
		       "1 run cancelled, 1 run freed in flight\n",
		       ref[0], NSESSIONS, td_host_loop(host), NSESSIONS - 3);
	if (err)
		report("embed_host --many", err, &diag);
	for (i = 0; i < NSESSIONS; i++)
		if (i % 7 == 0) /* some freed one by one, the rest with the host */
			td_run_free(s[i].run);
	td_host_free(host);
	for (i = 0; i < 2; i++) {
		free(ref[i]);
		td_plan_free(p[i]);
		td_batch_free(b[i]);
		td_graph_free(g[i]);
	}
	td_diag_clear(&diag);
	return err ? 1 : 0;
}

/* ---- one run ---- */

static int one(const char *path)
{
	struct td_graph *graph = NULL;
	struct td_batch *batch = NULL;
	struct td_plan *plan = NULL;
	struct td_run *run = NULL;
	struct td_diag diag = {0};
	struct td_run_opts opts = {.functions = FNS};
	char *json = NULL;
	int err;

	err = td_graph_load_file(path, &graph, &diag);
	if (!err)
		err = td_batch_from_graph(graph, &batch, &diag);
	if (!err)
		err = td_plan_new(batch, &plan, &diag);
	if (!err)
		err = td_run_new(plan, &opts, &run, &diag);
	if (!err)
		err = drive(run, batch);
	if (!err)
		err = td_run_results_json(run, TD_DIALECT_AUTO, 0, &json);
	if (err)
		report("embed_host", err, &diag);
	else
		printf("%s\n", json);
	free(json);
	td_run_free(run);
	td_plan_free(plan);
	td_batch_free(batch);
	td_graph_free(graph);
	td_diag_clear(&diag);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	pthread_t service;
	int rc;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[1], "--many"))) {
		fprintf(stderr, "usage: embed_host GRAPH | embed_host --many TRAVEL DESK\n");
		return 2;
	}
	td_functions_new(&FNS);
	td_functions_add(FNS, "weather", TD_FN_INLINE, weather, NULL);
	td_functions_add(FNS, "pollen", TD_FN_BLOCKING, pollen, NULL);
	td_functions_add(FNS, "inventory", TD_FN_ASYNC, inventory, NULL);
	td_functions_set_workers(FNS, 2);
	pthread_create(&service, NULL, inventory_service, NULL);
	rc = argc == 2 ? one(argv[1]) : many(argv[2], argv[3]);
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(service, NULL); /* late completions, after their runs are gone, end here */
	td_functions_free(FNS);
	return rc;
}

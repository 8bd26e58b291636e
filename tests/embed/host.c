/* SPDX-License-Identifier: MIT */
/*
 * host.c - an example program that embeds tooldag: it registers three C function tools, one
 * per mode, runs a travel graph that mixes them with process tools, and drives the run from
 * its own poll() loop, streaming each result as it finishes.
 *
 *   embed_host GRAPH      results JSON (call order) on stdout, one line per finished call on
 *                         stderr as the calls finish
 *
 * It uses only <tooldag.h> and is built against the installed package (find_package or
 * pkg-config); it parses JSON with a few string functions so it needs no JSON library.
 */
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
	for (i = 0; i < 30 && !td_fn_call_cancelled(call); i++)
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
		nanosleep(&(struct timespec){0, 20000000}, NULL); /* a remote stock service */
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
	} while (more && poll(&p, 1, td_run_timeout(run)) >= 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct td_functions *fns = NULL;
	struct td_graph *graph = NULL;
	struct td_batch *batch = NULL;
	struct td_plan *plan = NULL;
	struct td_run *run = NULL;
	struct td_diag diag = {0};
	struct td_run_opts opts = {0};
	pthread_t service;
	char *json = NULL;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: embed_host GRAPH\n");
		return 2;
	}
	td_functions_new(&fns);
	td_functions_add(fns, "weather", TD_FN_INLINE, weather, NULL);
	td_functions_add(fns, "pollen", TD_FN_BLOCKING, pollen, NULL);
	td_functions_add(fns, "inventory", TD_FN_ASYNC, inventory, NULL);
	td_functions_set_workers(fns, 2);
	opts.functions = fns;
	pthread_create(&service, NULL, inventory_service, NULL);

	err = td_graph_load_file(argv[1], &graph, &diag);
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
	if (err) {
		char line[512];

		fprintf(stderr, "embed_host: %s\n", td_strerror(err));
		for (size_t i = 0; i < diag.count; i++) {
			td_diag_format(&diag.items[i], line, sizeof(line));
			fprintf(stderr, "  %s\n", line);
		}
	} else {
		printf("%s\n", json);
	}
	free(json);
	td_run_free(run); /* joins the worker pool */
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(service, NULL);
	td_plan_free(plan);
	td_batch_free(batch);
	td_graph_free(graph);
	td_functions_free(fns);
	td_diag_clear(&diag);
	return err ? 1 : 0;
}

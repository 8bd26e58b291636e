/* SPDX-License-Identifier: MIT */
/*
 * test_fn_hooks.c - the worker-thread hooks of a function registry: start runs once on each
 * worker thread before its first function, stop once on the same thread after its last, and
 * every blocking function runs on a thread that has been started and not yet stopped.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "tooldag.h"

static const char GRAPH[] = "version: 1\n"
                            "tools:\n"
                            "  blk: {function: blk}\n"
                            "  inl: {function: inl}\n";

#define MAXT 16

static pthread_mutex_t MU = PTHREAD_MUTEX_INITIALIZER;
static pthread_t STARTED[MAXT], STOPPED[MAXT];
static int NSTARTED, NSTOPPED, CALLS, CALLS_OUTSIDE;
static int HOOK_UD;

static int index_of(const pthread_t *v, int n, pthread_t t)
{
	for (int i = 0; i < n; i++)
		if (pthread_equal(v[i], t))
			return i;
	return -1;
}

static void on_start(void *ud)
{
	ck_assert_ptr_eq(ud, &HOOK_UD);
	pthread_mutex_lock(&MU);
	ck_assert_int_lt(NSTARTED, MAXT);
	ck_assert_int_eq(index_of(STARTED, NSTARTED, pthread_self()), -1);
	STARTED[NSTARTED++] = pthread_self();
	pthread_mutex_unlock(&MU);
}

static void on_stop(void *ud)
{
	ck_assert_ptr_eq(ud, &HOOK_UD);
	pthread_mutex_lock(&MU);
	ck_assert_int_ge(index_of(STARTED, NSTARTED, pthread_self()), 0);
	ck_assert_int_eq(index_of(STOPPED, NSTOPPED, pthread_self()), -1);
	STOPPED[NSTOPPED++] = pthread_self();
	pthread_mutex_unlock(&MU);
}

static void fn(struct td_fn_call *call, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&MU);
	CALLS++;
	if (strcmp(td_fn_call_tool(call), "blk") == 0 &&
	    (index_of(STARTED, NSTARTED, pthread_self()) < 0 ||
	     index_of(STOPPED, NSTOPPED, pthread_self()) >= 0))
		CALLS_OUTSIDE++;
	pthread_mutex_unlock(&MU);
	td_fn_complete(call, 0, "ok", 2);
}

static void run_batch(struct td_graph *g, struct td_functions *fns, int nblk, int ninl)
{
	struct td_batch *b;
	struct td_plan *p;
	struct td_run *r;
	struct td_run_opts opts = {.functions = fns};
	char id[32];

	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	for (int i = 0; i < nblk + ninl; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		ck_assert_int_ge(td_batch_add(b, id, i < nblk ? "blk" : "inl", NULL), 0);
	}
	ck_assert_int_eq(td_plan_new(b, &p, NULL), 0);
	ck_assert_int_eq(td_run_new(p, &opts, &r, NULL), 0);
	ck_assert_int_eq(td_run_wait(r), 0);
	td_run_free(r);
	td_plan_free(p);
	td_batch_free(b);
}

static void reset(void)
{
	NSTARTED = NSTOPPED = CALLS = CALLS_OUTSIDE = 0;
}

START_TEST(hooks_once_per_worker_thread)
{
	struct td_graph *g;
	struct td_functions *fns;

	reset();
	ck_assert_int_eq(td_graph_load_buffer(GRAPH, sizeof(GRAPH) - 1, "h.yaml", NULL, &g, NULL),
	                 0);
	ck_assert_int_eq(td_functions_new(&fns), 0);
	ck_assert_int_eq(td_functions_add(fns, "blk", TD_FN_BLOCKING, fn, NULL), 0);
	ck_assert_int_eq(td_functions_add(fns, "inl", TD_FN_INLINE, fn, NULL), 0);
	ck_assert_int_eq(td_functions_set_workers(fns, 3), 0);
	ck_assert_int_eq(td_functions_set_thread_hooks(fns, on_start, on_stop, &HOOK_UD), 0);

	run_batch(g, fns, 50, 5);
	ck_assert_int_eq(CALLS, 55);
	ck_assert_int_eq(CALLS_OUTSIDE, 0);
	ck_assert_int_eq(NSTARTED, 3); /* the whole pool, each thread once */
	ck_assert_int_eq(NSTOPPED, 3); /* all stopped by td_run_free() */

	reset(); /* a run with no blocking call starts no pool: no hook runs */
	run_batch(g, fns, 0, 4);
	ck_assert_int_eq(CALLS, 4);
	ck_assert_int_eq(NSTARTED, 0);
	ck_assert_int_eq(NSTOPPED, 0);

	reset(); /* hooks removed */
	ck_assert_int_eq(td_functions_set_thread_hooks(fns, NULL, NULL, NULL), 0);
	run_batch(g, fns, 5, 0);
	ck_assert_int_eq(CALLS, 5);
	ck_assert_int_eq(NSTARTED, 0);
	ck_assert_int_eq(td_functions_set_thread_hooks(NULL, on_start, on_stop, NULL), TD_EINVAL);
	td_functions_free(fns);
	td_graph_free(g);
}
END_TEST

static Suite *hooks_suite(void)
{
	Suite *s = suite_create("fn_hooks");
	TCase *t = tcase_create("fn_hooks");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, hooks_once_per_worker_thread);
	suite_add_tcase(s, t);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(hooks_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_sim.c - the scheduler in virtual time (loop's virtual mode + simulation backend), as
 * tooldag-bench simulate drives it: exact makespans computed by hand, hours of simulated sleep
 * in no real time, and the critical policy's ready order (unit costs and given costs).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/loop.h"
#include "exec/sim.h"
#include "run/run.h"

static const char GRAPH[] = "version: 1\ntools:\n  task:\n    builtin: sleep\n";

struct simfx {
	struct td_graph *g;
	struct td_batch *b;
	struct td_plan *p;
	int64_t dur[16];
	size_t n;
};

static struct simfx S;

static void setup(void)
{
	memset(&S, 0, sizeof(S));
	ck_assert_int_eq(td_graph_load_buffer(GRAPH, sizeof(GRAPH) - 1, "sim", NULL, &S.g, NULL),
	                 0);
	ck_assert_int_eq(td_batch_new(S.g, TD_DIALECT_ANTHROPIC, &S.b), 0);
}

static void teardown(void)
{
	td_plan_free(S.p);
	td_batch_free(S.b);
	td_graph_free(S.g);
}

static size_t add(const char *id, int64_t ms)
{
	ck_assert_int_eq(td_batch_add(S.b, id, "task", NULL), (int)S.n);
	S.dur[S.n] = ms * 1000;
	return S.n++;
}

static void dep(size_t call, size_t on)
{
	ck_assert_int_eq(td_batch_depend(S.b, call, on), 0);
}

/* Runs in virtual time; start times into start[] (may be NULL); returns the makespan in us. */
static int64_t simulate(enum td_schedule pol, unsigned j, int costs, int64_t *start)
{
	struct td_run_opts o = {.concurrency = j, .schedule = pol, .seed = 1};
	struct td__backend *be;
	struct td_run *r;
	struct td_result res;
	int64_t span;
	size_t c;

	if (!S.p)
		ck_assert_int_eq(td_plan_new(S.b, &S.p, NULL), 0);
	ck_assert_int_eq(td__sim_backend_new(S.dur, &be), 0);
	ck_assert_int_eq(td__run_new_fake(S.p, &o, be, &r, NULL), 0);
	if (costs)
		td__sched_set_costs(r, S.dur);
	ck_assert_int_eq(td_run_wait(r), 0);
	for (c = 0; c < S.n; c++) {
		ck_assert_int_eq(td_run_result(r, c, &res), 0);
		ck_assert_int_eq(res.status, TD_STATUS_OK);
		ck_assert_int_eq(res.end_us - res.start_us, S.dur[c]);
		if (start)
			start[c] = res.start_us;
	}
	span = td_run_makespan_us(r);
	td_run_free(r);
	be->free(be);
	return span;
}

/* a(10) b(2) -> c(5); d(1) -> e(7) after b and d: levels {a,b,d} {c,e} */
static void small_graph(void)
{
	size_t a = add("a", 10), b = add("b", 2), c = add("c", 5), d = add("d", 1), e = add("e", 7);

	(void)a;
	dep(c, b);
	dep(e, b);
	dep(e, d);
}

START_TEST(exact_makespans)
{
	small_graph();
	/* level: max(10,2,1) + max(5,7) = 17; eager: critical path max(10, 2+5, 2+7) = 10 */
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 100, 0, NULL), 17000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_EAGER, 100, 0, NULL), 10000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 100, 1, NULL), 10000);
	/* one slot: the total work, whatever the policy */
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 1, 0, NULL), 25000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_EAGER, 1, 0, NULL), 25000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 1, 1, NULL), 25000);
	/* two slots, eager in batch order: a,b | b ends 2: c | c ends 7: d | d ends 8: e -> 15;
	 * critical with costs ranks a 10, b 9, d 8: same start set, then e (7) before c (5):
	 * a,b | 2: d | 3: e | 10: c -> 15 as well; level: a,b | 2: d | 10: c,e -> 17 */
	ck_assert_int_eq(simulate(TD_SCHEDULE_EAGER, 2, 0, NULL), 15000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 2, 1, NULL), 15000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 2, 0, NULL), 17000);
}
END_TEST

START_TEST(virtual_time_takes_no_time)
{
	int64_t t0 = td__now_us();
	size_t i;

	for (i = 0; i < 10; i++) {
		char id[8];

		snprintf(id, sizeof(id), "c%zu", i);
		add(id, 3600 * 1000); /* an hour each */
		if (i)
			dep(i, i - 1);
	}
	ck_assert_int_eq(simulate(TD_SCHEDULE_EAGER, 4, 0, NULL), 10LL * 3600 * 1000 * 1000);
	ck_assert_int_lt(td__now_us() - t0, 5 * 1000 * 1000);
}
END_TEST

/* x(1) alone; y(1) -> z(1) -> w(1): critical starts y first at j=1, eager x. */
START_TEST(critical_order)
{
	int64_t st[4];
	size_t x = add("x", 1), y = add("y", 1), z = add("z", 1), w = add("w", 1);

	dep(z, y);
	dep(w, z);
	simulate(TD_SCHEDULE_EAGER, 1, 0, st);
	ck_assert_int_lt(st[x], st[y]);
	simulate(TD_SCHEDULE_CRITICAL, 1, 0, st); /* unit costs: y's chain is 3 long */
	ck_assert_int_eq(st[y], 0);
	ck_assert_int_eq(st[z], 1000);
	/* then x and w both have 1 call left: the tie goes to batch order */
	ck_assert_int_eq(st[x], 2000);
	ck_assert_int_eq(st[w], 3000);
}
END_TEST

/* With costs, a long lone call outranks a chain of short ones. */
START_TEST(critical_costs)
{
	int64_t st[3];
	size_t a = add("a", 2), b = add("b", 2), big = add("big", 50);

	dep(b, a);
	simulate(TD_SCHEDULE_CRITICAL, 1, 0, st); /* unit: a's chain (2 calls) first */
	ck_assert_int_eq(st[a], 0);
	ck_assert_int_eq(st[b], 2000);
	ck_assert_int_eq(st[big], 4000);
	simulate(TD_SCHEDULE_CRITICAL, 1, 1, st); /* costs: big (50) before a's 4 */
	ck_assert_int_eq(st[big], 0);
	ck_assert_int_eq(st[a], 50000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 2, 1, st), 50000);
}
END_TEST

/* Zero-length calls start and end at the same instant, and the run still finishes. */
START_TEST(zero_durations)
{
	size_t a = add("a", 0), b = add("b", 0), c = add("c", 3);

	dep(b, a);
	dep(c, b);
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 0, 0, NULL), 3000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 0, 1, NULL), 3000);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, exact_makespans);
	tcase_add_test(tc, virtual_time_takes_no_time);
	tcase_add_test(tc, critical_order);
	tcase_add_test(tc, critical_costs);
	tcase_add_test(tc, zero_durations);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_sim.c - the scheduler in virtual time (loop's virtual mode + simulation backend), as
 * tooldag-bench simulate drives it: exact makespans computed by hand, hours of simulated sleep
 * in no real time, the critical policy's ready order (unit costs and given costs) and its
 * choice among priority rules, and longest-first inside a level when durations are known.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/loop.h"
#include "exec/sim.h"
#include "run/prio.h"
#include "run/run.h"

static const char GRAPH[] = "version: 1\ntools:\n  task:\n    builtin: sleep\n";

struct simfx {
	struct td_graph *g;
	struct td_batch *b;
	struct td_plan *p;
	int64_t dur[16]; /* the small graphs' durations */
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
	 * b-level ranks a 10, b 9, d 8: same start set, then e (7) before c (5): a,b | 2: d |
	 * 3: e | 10: c -> 15 as well; critical finds better (next test): 14. Level in batch
	 * order: a,b | 2: d | 10: c,e -> 17; longest first: the same (a and b are the longest) */
	ck_assert_int_eq(simulate(TD_SCHEDULE_EAGER, 2, 0, NULL), 15000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 2, 1, NULL), 14000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 2, 0, NULL), 17000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 2, 1, NULL), 17000);
}
END_TEST

/* Beyond HLFET: on the small graph at j = 2, b-level gives 15; starting b and d first (the
 * earliest-start rule) gives 14: d | b | a at 1, c at 2, e at 7 -> 14. The search finds it,
 * its prediction is the makespan the scheduler then gets, and b-level stays when no rule is
 * strictly better (j = 1: every order gives the total work). */
START_TEST(critical_beats_blevel)
{
	struct td__prio_info info;
	int64_t rank[8], st[5];

	small_graph();
	ck_assert_int_eq(td_plan_new(S.b, &S.p, NULL), 0);
	ck_assert_int_eq(td__prio_rank(S.p, 1, S.dur, 2, rank, &info), 0);
	ck_assert_int_eq(info.blevel_us, 15000);
	ck_assert_int_eq(info.makespan_us, 14000);
	ck_assert_int_ne(info.rule, TD_PRIO_BLEVEL);
	ck_assert_int_ge(info.evaluated, 2);
	ck_assert_int_eq(td__prio_play(S.p, S.dur, 2, rank, st), 14000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_CRITICAL, 2, 1, NULL), 14000);
	/* the same batch, the same choice */
	{
		int64_t again[8];

		ck_assert_int_eq(td__prio_rank(S.p, 1, S.dur, 2, again, NULL), 0);
		ck_assert_mem_eq(rank, again, S.n * sizeof(rank[0]));
	}
	ck_assert_int_eq(td__prio_rank(S.p, 1, S.dur, 1, rank, &info), 0);
	ck_assert_int_eq(info.rule, TD_PRIO_BLEVEL);
	ck_assert_int_eq(info.makespan_us, 25000);
	/* a slot per call: nothing to choose, nothing played */
	ck_assert_int_eq(td__prio_rank(S.p, 1, S.dur, 5, rank, &info), 0);
	ck_assert_int_eq(info.evaluated, 0);
	ck_assert_int_eq(rank[0], 10000); /* b-level: a's own 10 ms */
}
END_TEST

/* Level: with durations a level's calls take the slots longest first (LPT), ties in batch
 * order; without, batch order. One level of 2, 1, 1, 4 ms at j = 2: batch order gives
 * 2 | 1, 1 | 4 at 2 -> 6; LPT 4 | 2, 1, 1 -> 4. */
START_TEST(level_longest_first)
{
	static const int ms[] = {2, 1, 1, 4};
	int64_t st[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		char id[32];

		snprintf(id, sizeof(id), "c%zu", i);
		add(id, ms[i]);
	}
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 2, 0, st), 6000);
	ck_assert_int_eq(st[1], 0);
	ck_assert_int_eq(st[3], 2000);
	ck_assert_int_eq(simulate(TD_SCHEDULE_LEVEL, 2, 1, st), 4000);
	ck_assert_int_eq(st[3], 0);
	ck_assert_int_eq(st[0], 0);
	ck_assert_int_eq(st[1], 2000); /* 1 ms each: batch order */
	ck_assert_int_eq(st[2], 3000);
}
END_TEST

/* A layered random batch of n calls, each depending on `deps` earlier ones; durations 1-10 ms
 * into *dur (the caller frees it). */
static void random_batch(size_t n, size_t deps, int64_t **dur)
{
	uint64_t x = 7;
	size_t i, k;

	*dur = calloc(n, sizeof(**dur));
	ck_assert_ptr_nonnull(*dur);
	for (i = 0; i < n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "c%zu", i);
		ck_assert_int_eq(td_batch_add(S.b, id, "task", NULL), (int)i);
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		(*dur)[i] = 1000 + (int64_t)(x >> 33) % 9000;
		for (k = 0; i > 8 && k < deps; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			td_batch_depend(S.b, i, (x >> 33) % i);
		}
	}
	ck_assert_int_eq(td_plan_new(S.b, &S.p, NULL), 0);
}

/* The search spends at most TD__PRIO_BUDGET node and edge visits: on 3,000 calls with 4
 * dependencies each it plays fewer jittered schedules than on a small batch, and what it
 * predicts is what the play of its ranks gives. */
START_TEST(critical_bounded)
{
	struct td__prio_info info;
	int64_t *dur, *rank;
	uint64_t per;

	random_batch(3000, 4, &dur);
	rank = calloc(S.p->nnodes, sizeof(*rank));
	ck_assert_int_eq(td__prio_rank(S.p, 1, dur, 4, rank, &info), 0);
	per = S.p->nnodes + S.p->succ_off[S.p->nnodes] + 1;
	ck_assert_uint_gt(info.evaluated, 5);
	ck_assert_uint_lt(info.evaluated, 5 + TD__PRIO_RANDOM_PLAYS);
	ck_assert_uint_le(5 * per + 3 * per * (info.evaluated - 5), TD__PRIO_BUDGET);
	ck_assert_int_le(info.makespan_us, info.blevel_us);
	ck_assert_int_eq(td__prio_play(S.p, dur, 4, rank, NULL), info.makespan_us);
	free(rank);
	free(dur);
}
END_TEST

/* Over 2^17 nodes and edges: b-level alone, nothing played. */
START_TEST(critical_large_is_blevel)
{
	struct td__prio_info info;
	int64_t *dur, *rank;

	random_batch(30000, 4, &dur);
	rank = calloc(S.p->nnodes, sizeof(*rank));
	ck_assert_uint_gt(S.p->nnodes + S.p->succ_off[S.p->nnodes], 1u << 17);
	ck_assert_int_eq(td__prio_rank(S.p, 1, dur, 4, rank, &info), 0);
	ck_assert_int_eq(info.evaluated, 0);
	ck_assert_int_eq(info.rule, TD_PRIO_BLEVEL);
	free(rank);
	free(dur);
}
END_TEST

START_TEST(virtual_time_takes_no_time)
{
	int64_t t0 = td__now_us();
	size_t i;

	for (i = 0; i < 10; i++) {
		char id[32];

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

/* Declared estimates: with no durations from the host, level and critical order calls by the
 * tools' `estimate`, a tool without one at the median of those that have one. */
START_TEST(declared_estimates)
{
	static const char G2[] = "version: 1\n"
	                         "tools:\n"
	                         "  fast: {builtin: sleep, estimate: 1ms}\n"
	                         "  slow: {builtin: sleep, estimate: 80ms}\n"
	                         "  plain: {builtin: sleep}\n";
	struct td_graph *g;
	struct td_batch *b;
	int64_t st[3];

	ck_assert_int_eq(td_graph_load_buffer(G2, sizeof(G2) - 1, "g2", NULL, &g, NULL), 0);
	ck_assert_int_eq(td_batch_new(g, TD_DIALECT_ANTHROPIC, &b), 0);
	td_batch_free(S.b);
	td_graph_free(S.g);
	S.b = b;
	S.g = g;
	/* one level, batch order fast, plain, slow; real durations 1, 5, 10 ms */
	ck_assert_int_eq(td_batch_add(S.b, "f", "fast", NULL), 0);
	ck_assert_int_eq(td_batch_add(S.b, "p", "plain", NULL), 1);
	ck_assert_int_eq(td_batch_add(S.b, "s", "slow", NULL), 2);
	S.dur[0] = 1000;
	S.dur[1] = 5000;
	S.dur[2] = 10000;
	S.n = 3;
	/* estimates 1, 80 (the median of 1 and 80 is the larger), 80 ms: p and s (ties in batch
	 * order), then f */
	simulate(TD_SCHEDULE_LEVEL, 1, 0, st);
	ck_assert_int_eq(st[1], 0);
	ck_assert_int_eq(st[2], 5000);
	ck_assert_int_eq(st[0], 15000);
	simulate(TD_SCHEDULE_CRITICAL, 1, 0, st);
	ck_assert_int_eq(st[1], 0);
	ck_assert_int_eq(st[0], 15000);
	/* durations from the host win over the estimates: s (10), p (5), f (1) */
	simulate(TD_SCHEDULE_LEVEL, 1, 1, st);
	ck_assert_int_eq(st[2], 0);
	ck_assert_int_eq(st[1], 10000);
	ck_assert_int_eq(st[0], 15000);
	/* eager ignores them */
	simulate(TD_SCHEDULE_EAGER, 1, 0, st);
	ck_assert_int_eq(st[0], 0);
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
	tcase_add_test(tc, critical_beats_blevel);
	tcase_add_test(tc, level_longest_first);
	tcase_add_test(tc, critical_bounded);
	tcase_add_test(tc, critical_large_is_blevel);
	tcase_add_test(tc, declared_estimates);
	tcase_add_test(tc, zero_durations);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(suite());
}

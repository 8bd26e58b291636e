/* SPDX-License-Identifier: MIT */
/*
 * td_run_fixture.h - what the run suites share: the fixture graph F, the fake backend FK, the
 * run R under test, a state-machine checker on every transition, and result accessors.
 * Include once per suite, after td_test_fixture.h.
 */
#ifndef TD_RUN_FIXTURE_H
#define TD_RUN_FIXTURE_H

#include <check.h>

#include "td_test_fixture.h"

static struct fx F;
static struct fake *FK;
static struct td_run *R;

static inline void setup(void)
{
	fx_init(&F, "/tmp");
	FK = fake_new(0);
}

static inline void teardown(void)
{
	td_run_free(R);
	R = NULL;
	fx_free(&F);
	free(FK);
}

/* The state machine's legal moves (run.h); anything else is a scheduler bug. */
static inline void check_transition(void *ud, uint32_t call, enum td__cstate from,
                                    enum td__cstate to)
{
	static const char legal[6][6] = {
	    /* to:        WAIT READY PARK RUN BACK DONE */
	    /* WAITING */ {0, 1, 0, 0, 0, 1},
	    /* READY   */ {0, 0, 1, 1, 0, 1},
	    /* PARKED  */ {0, 1, 0, 0, 0, 1},
	    /* RUNNING */ {0, 0, 0, 0, 1, 1},
	    /* BACKOFF */ {0, 1, 0, 0, 0, 1},
	    /* DONE    */ {0, 0, 0, 0, 0, 0},
	};
	unsigned *count = ud;

	ck_assert_msg(legal[from][to], "call %u: illegal transition %d -> %d", call, from, to);
	(*count)++;
}

static unsigned TRANSITIONS;

static inline void run_fake(unsigned concurrency, enum td_schedule sched)
{
	struct td_run_opts o = {.concurrency = concurrency, .schedule = sched, .seed = 42};
	struct td_diag d = {0};

	fx_plan(&F);
	ck_assert_int_eq(td__run_new_fake(&F.p, &o, &FK->be, &R, &d), 0);
	R->trace = check_transition;
	R->trace_ud = &TRANSITIONS;
	td_diag_clear(&d);
}

static inline void run_all(unsigned concurrency, enum td_schedule sched)
{
	run_fake(concurrency, sched);
	ck_assert_int_eq(td_run_wait(R), 0);
}

static inline const char *content(size_t c)
{
	static struct td_result res;

	fx_result(R, c, &res);
	return res.content;
}

static inline enum td_status status(size_t c)
{
	struct td_result res;

	fx_result(R, c, &res);
	return res.status;
}

/* a1 (20ms), a2 (40ms) at level 0 with c1 (1ms); b1 depends on tool a; d1 on c1 explicitly */
static inline void barrier_graph(void)
{
	int a = fx_tool(&F, "a", TD_KIND_BUILTIN), b = fx_tool(&F, "b", TD_KIND_BUILTIN);
	int c1, d1;

	fx_tool(&F, "c", TD_KIND_BUILTIN);
	fx_tool_dep(&F, b, a);
	fx_call(&F, "a1", "a", "{\"n\":1}");
	fx_call(&F, "a2", "a", "{\"n\":2}");
	c1 = fx_call(&F, "c1", "c", "{\"n\":3}");
	fx_call(&F, "b1", "b", "{\"n\":4}");
	d1 = fx_call(&F, "d1", "c", "{\"n\":5}");
	fx_call_dep(&F, d1, c1);
	FK->dur_us[0] = 20000;
	FK->dur_us[1] = 40000;
}

#endif /* TD_RUN_FIXTURE_H */

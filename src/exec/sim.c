/* SPDX-License-Identifier: MIT */
/*
 * sim.c - the simulation backend: a job is one timer, armed for the call's duration from
 * when it starts on the run's clock; when it fires the job succeeds with empty content. No
 * process, no ring: it runs on the scheduler's clock alone.
 */
#include <stddef.h>

#include "exec/sim.h"

struct sim {
	struct td__backend be; /* first: the scheduler's pointer is ours */
	const int64_t *dur_us;
};

static void finished(struct td__timer *t)
{
	struct td__job *j = (struct td__job *)((char *)t - offsetof(struct td__job, timer));

	j->status = TD_STATUS_OK;
	j->be->done(j->be->ud, j);
}

static int sim_start(struct td__backend *be, struct td__job *j)
{
	const struct sim *s = (const struct sim *)be;
	int64_t d = s->dur_us[j->call];

	j->timer.fn = finished;
	return td__clock_arm(be->clock, &j->timer, td__clock_now(be->clock) + (d > 0 ? d : 0));
}

/* A killed job ends at once, as an error: the scheduler decides what the call becomes. */
static void sim_kill(struct td__backend *be, struct td__job *j)
{
	if (!j->timer.slot)
		return;
	td__clock_disarm(be->clock, &j->timer);
	j->status = TD_STATUS_ERROR;
	be->done(be->ud, j);
}

static void sim_free(struct td__backend *be)
{
	td__free(be);
}

int td__sim_backend_new(const int64_t *dur_us, struct td__backend **out)
{
	struct sim *s = td__calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return TD_ENOMEM;
	s->be.start = sim_start;
	s->be.kill = sim_kill;
	s->be.kill_now = sim_kill;
	s->be.free = sim_free;
	s->dur_us = dur_us;
	*out = &s->be;
	return 0;
}

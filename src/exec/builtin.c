/* SPDX-License-Identifier: MIT */
/*
 * builtin.c - tools that need no process: `sleep` (a timer in the loop's heap: simulated
 * latency for tests and benchmarks) and `echo` (returns its input).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "exec/backends.h"

static void job_init_outcome(struct td__job *job)
{
	job->exit_code = -1;
	job->signal = 0;
	job->truncated = 0;
	job->no_retry = 0;
}

static void finish(struct td__timer *t)
{
	struct td__job *job = (struct td__job *)((char *)t - offsetof(struct td__job, timer));

	job->be->done(job->be->ud, job);
}

/* input.ms as microseconds; -EINVAL when absent or not a non-negative number. */
static int sleep_duration(const struct td__job *job, int64_t *us)
{
	cJSON *in = cJSON_ParseWithLength(job->input, job->input_len);
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(in, "ms");
	int r = -EINVAL;

	if (cJSON_IsNumber(ms) && ms->valuedouble >= 0 && ms->valuedouble < 1e12) {
		*us = (int64_t)llround(ms->valuedouble * 1000.0);
		r = 0;
	}
	cJSON_Delete(in);
	return r;
}

static int start_sleep(struct td__backend *be, struct td__job *job)
{
	char msg[64], dur[32];
	int64_t us = 0;

	if (sleep_duration(job, &us) < 0) {
		job->no_retry = 1;
		if (td__job_set_content(job, TD_STATUS_ERROR,
		                        "builtin sleep: input.ms must be a non-negative number",
		                        53) < 0)
			return TD_ENOMEM;
		td__loop_defer(be->loop, &job->timer);
		return 0;
	}
	if (job->timeout_us > 0 && us > job->timeout_us) {
		/* sleeping past the deadline is a timeout, decided now, reported at the deadline */
		td__format_duration(job->timeout_us, dur, sizeof(dur));
		snprintf(msg, sizeof(msg), "timed out after %s", dur);
		us = job->timeout_us;
		if (td__job_set_content(job, TD_STATUS_TIMEOUT, msg, strlen(msg)) < 0)
			return TD_ENOMEM;
	} else {
		td__format_duration(us, dur, sizeof(dur));
		snprintf(msg, sizeof(msg), "slept %s", dur);
		if (td__job_set_content(job, TD_STATUS_OK, msg, strlen(msg)) < 0)
			return TD_ENOMEM;
	}
	return td__loop_timer_arm(be->loop, &job->timer, td__loop_now(be->loop) + us);
}

static int builtin_start(struct td__backend *be, struct td__job *job)
{
	job_init_outcome(job);
	job->timer.fn = finish;
	job->timer.slot = 0;
	if (job->tool->builtin == TD_BUILTIN_SLEEP)
		return start_sleep(be, job);
	if (td__job_set_content(job, TD_STATUS_OK, job->input, job->input_len) < 0)
		return TD_ENOMEM;
	td__loop_defer(be->loop, &job->timer);
	return 0;
}

/* A sleeping job ends at once; a deferred one is about to end anyway. */
static void builtin_kill(struct td__backend *be, struct td__job *job)
{
	if (!job->timer.slot)
		return;
	td__loop_timer_disarm(be->loop, &job->timer);
	td__loop_defer(be->loop, &job->timer);
}

static void builtin_free(struct td__backend *be)
{
	td__free(be);
}

int td__builtin_backend_new(struct td__loop *loop, struct td__backend **out)
{
	struct td__backend *be = td__calloc(1, sizeof(*be));

	*out = be;
	if (!be)
		return TD_ENOMEM;
	be->start = builtin_start;
	be->kill = builtin_kill;
	be->kill_now = builtin_kill;
	be->free = builtin_free;
	be->loop = loop;
	return 0;
}

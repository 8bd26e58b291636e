/* SPDX-License-Identifier: MIT */
/*
 * log.c - recordings (`tooldag run --record`, td_recording_*) as task graphs with the
 * durations the calls really took, for `import log` and `sweep`: "what would level, eager or
 * critical have given on my last batches".
 *
 * A batch's dependencies are its plan's: the recorded calls rebuilt against the graph they ran
 * on (the recorded path, or one given), planned, every call's direct dependencies (explicit and
 * tool-level) as edges. A call's duration is the time its attempts ran, summed over retries
 * (the backoff between them held no slot); a call that never ran (skipped, cancelled while
 * waiting) takes no time.
 */
#include <stdlib.h>
#include <string.h>

#include "tooldag-bench/bench.h"

int log_open(struct logfile *lf, const char *path, const char *graph)
{
	struct td_diag diag = {0};
	int r;

	memset(lf, 0, sizeof(*lf));
	lf->path = path;
	lf->graph = graph;
	r = td_recording_open(path, &lf->rec, &diag);
	if (r < 0) {
		print_diag(&diag, r, path);
		return -1;
	}
	if (td_recording_torn(lf->rec))
		say("%s:%u: warning: an unfinished last line (a writer cut short) was ignored",
		    path, td_recording_torn(lf->rec));
	lf->n = (size_t)r;
	if (!lf->n) {
		say("%s: no batch recorded", path);
		return -1;
	}
	return 0;
}

void log_close(struct logfile *lf)
{
	td_recording_free(lf->rec);
	td_graph_free(lf->g);
	free(lf->gpath);
	memset(lf, 0, sizeof(*lf));
}

/* The graph batch i ran on, loaded once for consecutive batches of the same graph. Its
 * ${NAME} secrets are not needed to read its dependencies: they are left unread. */
static int log_graph(struct logfile *lf, size_t i)
{
	const char *want = lf->graph ? lf->graph : td_recording_graph(lf->rec, i);
	struct td_diag diag = {0};
	int r;

	if (lf->g && !strcmp(lf->gpath, want))
		return 0;
	td_graph_free(lf->g);
	free(lf->gpath);
	lf->g = NULL;
	lf->gpath = NULL;
	r = td_graph_load_file_flags(want, TD_LOAD_KEEP_ENV, &lf->g, &diag);
	if (r < 0) {
		print_diag(&diag, r, want);
		say("%s: batch %zu: cannot read the graph it ran on%s", lf->path, i + 1,
		    lf->graph ? "" : " (name it with --from GRAPH)");
		return -1;
	}
	lf->gpath = xstrdup(want);
	return 0;
}

/* Call c's attempts, their run times summed, in *us. 0 or -1 (said). */
static int call_us(const struct logfile *lf, size_t i, size_t c, int64_t *us)
{
	int n = td_recording_attempt_count(lf->rec, i, c), k, r = n < 0 ? n : 0;
	struct td_recorded_attempt a;

	*us = 0;
	for (k = 0; k < n && !r; k++) {
		r = td_recording_attempt(lf->rec, i, c, (size_t)k, &a);
		if (!r && a.end_us > a.start_us)
			*us += a.end_us - a.start_us;
	}
	if (r < 0)
		say("%s: batch %zu, call %zu: its attempts cannot be read: %s", lf->path, i + 1,
		    c + 1, td_strerror(r));
	return r < 0 ? -1 : 0;
}

/* Every call of the planned batch as a task, its plan dependencies as edges. */
static int fill_dag(const struct logfile *lf, size_t i, const struct td_plan *p, struct dag *d)
{
	const struct td_batch *b = td_plan_batch(p);
	size_t n = td_batch_count(b), c, cap = 64;
	uint32_t *deps = xcalloc(cap, sizeof(*deps));
	int nd, e, rc = 0;

	d->us = xcalloc(n ? n : 1, sizeof(*d->us));
	for (c = 0; c < n && !rc; c++) {
		if (td_batch_call_error(b, c)) {
			say("%s: batch %zu, call %s: %s (against %s)", lf->path, i + 1,
			    td_batch_call_id(b, c), td_batch_call_error(b, c), lf->gpath);
			rc = -1;
		} else if ((rc = call_us(lf, i, c, &d->us[c])) == 0) {
			dag_add_task(d, td_batch_call_id(b, c), (d->us[c] + 500) / 1000);
		}
	}
	for (c = 0; c < n && !rc; c++) {
		while ((size_t)(nd = td_plan_call_deps(p, c, deps, cap)) > cap) {
			cap = (size_t)nd;
			deps = xrealloc(deps, cap, sizeof(*deps));
		}
		for (e = 0; e < nd; e++)
			dag_add_edge(d, c, deps[e]);
	}
	free(deps);
	return rc;
}

int log_dag(struct logfile *lf, size_t i, struct dag *d)
{
	struct td_diag diag = {0};
	struct td_batch *b = NULL;
	struct td_plan *p = NULL;
	int r;

	if (log_graph(lf, i) < 0)
		return -1;
	r = td_recording_batch(lf->rec, i, lf->g, &b, &diag);
	if (r >= 0)
		r = td_plan_new(b, &p, &diag);
	if (r < 0) {
		print_diag(&diag, r, lf->path);
		td_batch_free(b);
		return -1;
	}
	d->source = lf->path;
	d->format = "tooldag recording";
	r = fill_dag(lf, i, p, d);
	if (!r)
		dag_finalize(d);
	td_plan_free(p);
	td_batch_free(b);
	return r;
}

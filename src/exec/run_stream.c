/* SPDX-License-Identifier: MIT */
/*
 * run_stream.c - td_run_new_stream(): a run over the loop and the backends, as td_run_new()
 * makes it, created open over a streamed response (run/feed.c).
 */
#include "run/run.h"

int td_run_new_stream(const struct td_graph *graph, enum td_dialect dialect, const char *name,
                      const struct td_run_opts *opts, struct td_run **out, struct td_diag *diag)
{
	struct td__feed *f;
	int err;

	if (out)
		*out = NULL;
	if (!graph || !out || (unsigned)dialect > TD_DIALECT_RESPONSES)
		return TD_EINVAL;
	if ((err = td__feed_new(graph, dialect, name, &f)) < 0)
		return err;
	if ((err = td_run_new(td__feed_plan(f), opts, out, diag)) < 0) {
		td__feed_free(f);
		return err;
	}
	(*out)->feed = f;
	(*out)->open = 1;
	return 0;
}

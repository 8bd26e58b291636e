/* SPDX-License-Identifier: MIT */
/*
 * run_stream.c - td_run_new_stream() and td_host_run_new_stream(): a run as td_run_new() or
 * td_host_run_new() makes it, created open over a streamed response (run/feed.c).
 */
#include "run/run.h"

/* On the host, or on a private one (host NULL: td_run_new()). */
static int new_stream(struct td_host *host, const struct td_graph *graph, enum td_dialect dialect,
                      const char *name, const struct td_run_opts *opts, struct td_run **out,
                      struct td_diag *diag)
{
	struct td__feed *f;
	int err;

	if (out)
		*out = NULL;
	if (!graph || !out || (unsigned)dialect > TD_DIALECT_RESPONSES)
		return TD_EINVAL;
	if ((err = td__feed_new(graph, dialect, name, &f)) < 0)
		return err;
	err = host ? td_host_run_new(host, td__feed_plan(f), opts, out, diag)
	           : td_run_new(td__feed_plan(f), opts, out, diag);
	if (err < 0) {
		td__feed_free(f);
		return err;
	}
	(*out)->feed = f;
	(*out)->open = 1;
	return 0;
}

int td_run_new_stream(const struct td_graph *graph, enum td_dialect dialect, const char *name,
                      const struct td_run_opts *opts, struct td_run **out, struct td_diag *diag)
{
	return new_stream(NULL, graph, dialect, name, opts, out, diag);
}

int td_host_run_new_stream(struct td_host *host, const struct td_graph *graph,
                           enum td_dialect dialect, const char *name,
                           const struct td_run_opts *opts, struct td_run **out,
                           struct td_diag *diag)
{
	if (out)
		*out = NULL;
	return host ? new_stream(host, graph, dialect, name, opts, out, diag) : TD_EINVAL;
}

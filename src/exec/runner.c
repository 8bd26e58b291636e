/* SPDX-License-Identifier: MIT */
/*
 * runner.c - td_run_new(): a run (the scheduler, run/) driven by the event loop and served by
 * the backends tooldag ships, with the descriptor budget of this process.
 */
#include <dirent.h>
#include <sys/resource.h>

#include "exec/backends.h"
#include "exec/fn.h"
#include "run/run.h"

/* Ring size: requests in flight are about four per running process. */
#define TD_RING_ENTRIES 1024u

/* Kept free for the host and for the ring itself. */
#define TD_FDS_SPARE 16

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 64; /* no /proc: a guess on the safe side */
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The descriptors left to the run's tools under RLIMIT_NOFILE (UINT64_MAX: no limit). */
static uint64_t fd_room(void)
{
	struct rlimit rl;
	uint64_t used = open_fds() + TD_FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur > used ? rl.rlim_cur - used : 0;
}

/* ---- the loop as the run's driver ---- */

static int loop_turn(void *ctx, int wait)
{
	return td__loop_run(ctx, wait);
}

static int loop_submit(void *ctx)
{
	return td__loop_submit(ctx);
}

static int loop_fd(const void *ctx)
{
	return td__loop_fd(ctx);
}

static unsigned loop_inflight(const void *ctx)
{
	return td__loop_inflight(ctx);
}

static void loop_free(void *ctx)
{
	td__loop_free(ctx);
}

static const struct td__driver loop_driver = {
    .turn = loop_turn,
    .submit = loop_submit,
    .fd = loop_fd,
    .inflight = loop_inflight,
    .free = loop_free,
};

/* Hands be (just made, or not: err) to r, which frees it from then on. */
static int add(struct td_run *r, enum td__kind k, int err, struct td__backend **be)
{
	if (err)
		return err;
	err = td__run_set_backend(r, k, *be);
	if (err)
		(*be)->free(*be);
	return err;
}

static int make_backends(struct td_run *r, struct td__loop *l)
{
	struct td__backend *be = NULL;
	int err;

	err = td__proc_backend_new(l, &be);
	err = add(r, TD_KIND_RUN, err, &be);
	if (!err)
		err = add(r, TD_KIND_BUILTIN, td__builtin_backend_new(l, &be), &be);
	if (!err)
		err = add(r, TD_KIND_FUNCTION,
		          td__fn_backend_new(l, r->opts.functions, r->graph, &be), &be);
	if (!err)
		err =
		    add(r, TD_KIND_HTTP, td__http_backend_new(l, r->graph, &r->fd_room, &be), &be);
	if (!err)
		err = add(r, TD_KIND_MCP, td__mcp_backend_new(l, r->graph, &be), &be);
	return err;
}

int td_run_new(const struct td_plan *plan, const struct td_run_opts *opts, struct td_run **out,
               struct td_diag *diag)
{
	struct td__loop *l = NULL;
	struct td_run *r;
	int err;

	if (out)
		*out = NULL;
	if (!out || !plan) /* the rest is checked by td__run_create() */
		return TD_EINVAL;
	err = td__loop_open(&l, TD_RING_ENTRIES, opts ? opts->loop : TD_LOOP_AUTO, diag);
	if (err)
		return err;
	err = td__run_create(plan, opts, td__loop_clock(l), &r, diag);
	if (err) {
		td__loop_free(l);
		return err;
	}
	td__run_set_driver(r, &loop_driver, l);
	r->fd_room = fd_room();
	err = make_backends(r, l);
	if (err) {
		td_run_free(r);
		return err;
	}
	*out = r;
	return 0;
}

const char *td_run_loop(const struct td_run *run)
{
	return run && run->drv == &loop_driver ? td__loop_name(run->drv_ctx) : NULL;
}

const char *td_run_loop_why(const struct td_run *run)
{
	return run && run->drv == &loop_driver ? td__loop_why(run->drv_ctx) : NULL;
}

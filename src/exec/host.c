/* SPDX-License-Identifier: MIT */
/*
 * host.c - a host: one event loop, the backends tooldag ships (one of each, shared by every run
 * on the host: one worker pool, one curl multi handle) and the limits of all its runs together
 * (a pool, run/run.h). td_run_new() is a run on a private host that it owns.
 */
#include <dirent.h>
#include <sys/resource.h>

#include "exec/backends.h"
#include "exec/fn.h"
#include "run/run.h"

struct td_host {
	struct td__pool pool;
	struct td__loop *loop;
};

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

/* The descriptors left to the runs' tools under RLIMIT_NOFILE (UINT64_MAX: no limit). */
static uint64_t fd_room(void)
{
	struct rlimit rl;
	uint64_t used = open_fds() + TD_FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur > used ? rl.rlim_cur - used : 0;
}

/* ---- the loop as the runs' driver ---- */

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

static void host_release(struct td__pool *p)
{
	td__pool_fini(p); /* the backends, then the loop */
	td__free(p);
}

static int shared_backends(struct td_host *h, const struct td_host_opts *o)
{
	struct td__backend *be[5] = {0};
	enum td__kind kind[5] = {TD_KIND_RUN, TD_KIND_BUILTIN, TD_KIND_FUNCTION, TD_KIND_HTTP,
	                         TD_KIND_MCP};
	int err;
	size_t i;

	err = td__proc_backend_new(h->loop, &be[0]);
	if (!err)
		err = td__builtin_backend_new(h->loop, &be[1]);
	if (!err)
		err = td__fn_backend_new(h->loop, o->fn_workers, &be[2]);
	if (!err)
		err = td__http_backend_new(h->loop, &h->pool.fd_room, &be[3]);
	if (!err)
		err = td__mcp_backend_new(h->loop, &h->pool.fd_room, &be[4]);
	for (i = 0; i < 5; i++)
		if (be[i])
			td__pool_set_backend(&h->pool, kind[i], be[i]);
	return err;
}

int td_host_new(const struct td_host_opts *opts, struct td_host **out, struct td_diag *diag)
{
	struct td_host_opts none = {0};
	const struct td_host_opts *o = opts ? opts : &none;
	struct td__loop *l = NULL;
	struct td_host *h;
	int err;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	err = td__loop_open(&l, TD_RING_ENTRIES, o->loop, diag);
	if (err)
		return err;
	h = td__calloc(1, sizeof(*h));
	if (!h) {
		td__loop_free(l);
		return TD_ENOMEM;
	}
	h->loop = l;
	td__pool_init(&h->pool, td__loop_clock(l));
	h->pool.drv = &loop_driver;
	h->pool.drv_ctx = l;
	h->pool.release = host_release;
	h->pool.limit = o->concurrency;
	h->pool.fd_room = o->fd_budget ? o->fd_budget : fd_room();
	err = shared_backends(h, o);
	if (err) {
		host_release(&h->pool);
		return err;
	}
	*out = h;
	return 0;
}

void td_host_free(struct td_host *host)
{
	if (!host)
		return;
	while (host->pool.cursor)
		td_run_free(host->pool.cursor);
	host_release(&host->pool);
}

int td_host_fd(const struct td_host *host)
{
	return host ? td__loop_fd(host->loop) : TD_EINVAL;
}

int td_host_timeout(const struct td_host *host)
{
	return host ? td__pool_timeout(&host->pool) : TD_EINVAL;
}

int td_host_step(struct td_host *host)
{
	return host ? td__pool_step(&host->pool) : TD_EINVAL;
}

const char *td_host_loop(const struct td_host *host)
{
	return host ? td__loop_name(host->loop) : NULL;
}

static int has_http(const struct td_graph *g)
{
	size_t i;

	for (i = 0; i < g->ntools; i++)
		if (g->tools[i].kind == TD_KIND_HTTP)
			return 1;
	return 0;
}

int td_host_run_new(struct td_host *host, const struct td_plan *plan,
                    const struct td_run_opts *opts, struct td_run **out, struct td_diag *diag)
{
	struct td__backend *be = NULL;
	struct td_run *r;
	int err;

	if (out)
		*out = NULL;
	if (!host || !out || !plan) /* the rest is checked by td__run_create() */
		return TD_EINVAL;
	err = td__run_create(plan, opts, &host->pool, &r, diag);
	if (err)
		return err;
	td__functions_freeze(r->opts.functions);
	/* libcurl's global set-up costs tens of ms: paid now, not inside the run's makespan */
	if (has_http(r->graph))
		err = td__http_backend_ready(host->pool.backend[TD_KIND_HTTP]);
	if (!err && r->graph->nremotes && !r->opts.remote_here) {
		err = td__remote_backend_new(host->loop, r->graph, &be);
		if (!err &&
		    (err = td__run_set_backend(r, (enum td__kind)TD__BACKEND_REMOTE, be)) < 0)
			be->free(be);
	}
	if (err) {
		td_run_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int td_run_new(const struct td_plan *plan, const struct td_run_opts *opts, struct td_run **out,
               struct td_diag *diag)
{
	struct td_host_opts ho = {.loop = opts ? opts->loop : TD_LOOP_AUTO};
	struct td_host *h;
	int err;

	if (out)
		*out = NULL;
	if (!out || !plan)
		return TD_EINVAL;
	err = td_host_new(&ho, &h, diag);
	if (err)
		return err;
	err = td_host_run_new(h, plan, opts, out, diag);
	if (err) {
		td_host_free(h);
		return err;
	}
	h->pool.owner = *out; /* freed with the run */
	return 0;
}

const char *td_run_loop(const struct td_run *run)
{
	return run && run->pool->drv == &loop_driver ? td__loop_name(run->pool->drv_ctx) : NULL;
}

const char *td_run_loop_why(const struct td_run *run)
{
	return run && run->pool->drv == &loop_driver ? td__loop_why(run->pool->drv_ctx) : NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * backends.h - the backends tooldag ships (internal): each implements the scheduler's backend
 * interface (run/backend.h) over the event loop (exec/loop.h).
 */
#ifndef TD_BACKENDS_H
#define TD_BACKENDS_H

#include "exec/loop.h"
#include "run/backend.h"

/* Processes (run:) and built-ins (builtin:). */
int td__proc_backend_new(struct td__loop *loop, struct td__backend **out);
int td__builtin_backend_new(struct td__loop *loop, struct td__backend **out);
/* http: tools through libcurl's multi interface on the same ring (http.c). One per host: its
 * multi handle is the connection cache of every run on the host. Its share of the host's
 * descriptor budget (*fd_room: curl's total connections are capped from it, so excess calls
 * wait in the scheduler) is taken, and libcurl (and its TLS library) initialised, by
 * td__http_backend_ready(): at the first http call, or before, for a run that has http tools,
 * so that cost is not inside its makespan. */
int td__http_backend_new(struct td__loop *loop, uint64_t *fd_room, struct td__backend **out);
int td__http_backend_ready(struct td__backend *be);
/* mcp: tools: one connection per server declaration, started on first use and shared by the
 * host's runs (mcp.c). Its free shuts the servers down through the loop, so it must come
 * before other backends' frees (the highest kind: freed first). A server's descriptors are
 * taken from *fd_room (the host's budget) while it runs. */
int td__mcp_backend_new(struct td__loop *loop, uint64_t *fd_room, struct td__backend **out);

/* remote: tools (remote.c): their calls queued on Redis for tooldag worker processes; one
 * backend per run, connecting to each Redis server of g on first use. */
int td__remote_backend_new(struct td__loop *loop, const struct td_graph *g,
                           struct td__backend **out);

#endif /* TD_BACKENDS_H */

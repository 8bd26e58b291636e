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
/* http: tools through libcurl's multi interface on the same ring (http.c). One per run: its
 * multi handle is the run's connection cache. When g has http tools, libcurl (and its TLS
 * library) is initialised here, before the run starts, not inside its makespan, and the
 * connection cache's descriptors are taken from *fd_room (the run's descriptor budget: curl's
 * total connections are capped from it, so excess calls wait in the scheduler). */
int td__http_backend_new(struct td__loop *loop, const struct td_graph *g, uint64_t *fd_room,
                         struct td__backend **out);
/* mcp: tools: one connection per server of g, started on first use (mcp.c). Its free shuts
 * the servers down through the loop, so it must come before other backends' frees. */
int td__mcp_backend_new(struct td__loop *loop, const struct td_graph *g, struct td__backend **out);

#endif /* TD_BACKENDS_H */

/* SPDX-License-Identifier: MIT */
/*
 * resolve.h - host names looked up off the loop (internal), as curl's threaded resolver does:
 * getaddrinfo runs on a short-lived thread of its own, and its answer reaches the loop through
 * an eventfd whose read sits on the loop, so the loop never waits for DNS. The Redis
 * connections (remote_conn.c, the worker's) resolve a host name with it and connect to the
 * numeric address; an address or a unix socket needs no lookup.
 *
 * One lookup is one record, held by its thread and by its owner. The owner lets go either
 * when fn has run (the lookup is over) or with td__resolve_cancel(); the thread lets go when
 * getaddrinfo has answered. Whoever lets go last frees it, so a lookup the owner gave up on
 * (a run freed while it was out) ends on its thread, touching nothing but its record.
 *
 * Test hook: the environment variable TD_TEST_RESOLVE_DELAY_MS=N, read when a lookup starts,
 * makes its thread wait N ms before getaddrinfo (a slow DNS server).
 */
#ifndef TD_EXEC_RESOLVE_H
#define TD_EXEC_RESOLVE_H

#include <stddef.h>

#include "exec/loop.h"

#define TD__ADDR_LEN 46 /* INET6_ADDRSTRLEN */

struct td__lookup;

/* The answer: addr (the first IPv4 address, else the first IPv6 one, as hiredis picks) or
 * NULL with why (getaddrinfo's reason: "Name or service not known"; the caller names the
 * host). Runs once, on the loop, never inside td__resolve_start(); the lookup is over then. */
typedef void (*td__resolved_fn)(void *priv, const char *addr, const char *why);

/* 1 when host is an IPv4 or IPv6 address (nothing to look up). */
int td__resolve_numeric(const char *host);
/* Starts looking host up; 0 (fn will run) or -errno (it never will). */
int td__resolve_start(struct td__loop *loop, const char *host, td__resolved_fn fn, void *priv,
                      struct td__lookup **out);
/* Gives the lookup up before fn ran: fn never runs. Turns the loop until its read came back
 * (at once: the thread is not waited for), so the loop may be freed afterwards. */
void td__resolve_cancel(struct td__lookup *lk);
/* The same lookup for a caller without a loop (a worker's blocking connection), waited for
 * timeout_ms at most: 0 with addr, or -1 with why (as above, or "no answer within Nms"). */
int td__resolve_wait(const char *host, int timeout_ms, char addr[TD__ADDR_LEN], char *why,
                     size_t whylen);
/* Lookup threads still running in this process (tests: none is left behind for long), and
 * lookups started since it began (tests: a reconnection looks the name up again). */
unsigned td__resolve_threads(void);
unsigned td__resolve_started(void);

#endif /* TD_EXEC_RESOLVE_H */

/* SPDX-License-Identifier: MIT */
/*
 * loop_impl.h - what the loop's two implementations share (internal to src/exec/loop*.c).
 * loop.c holds the clock (run/clock.h) and the choice of implementation; loop_uring.c and
 * loop_epoll.c each provide the requests (poll, read, send, cancel), the wait and the reaping of
 * completions through struct td__loop_impl.
 */
#ifndef TD_LOOP_IMPL_H
#define TD_LOOP_IMPL_H

#include "exec/loop.h"

struct td__loop_impl {
	const char *name; /* "io_uring", "epoll" */
	int (*poll)(struct td__loop *l, struct td__op *op, int fd, unsigned events);
	int (*read)(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len);
	int (*send)(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len);
	int (*cancel)(struct td__loop *l, struct td__op *op);
	int (*fd)(const struct td__loop *l);
	/* hands queued requests to the kernel without waiting */
	int (*submit)(struct td__loop *l);
	/* submits, then waits up to timeout_us (-1: until a completion) for one */
	int (*wait)(struct td__loop *l, int64_t timeout_us);
	/* runs the callbacks of every completion that is ready; their number */
	int (*reap)(struct td__loop *l);
	void (*free)(struct td__loop *l);
};

struct td__loop {
	const struct td__loop_impl *impl;
	unsigned inflight;      /* requests submitted or queued, not yet completed */
	struct td__clock clock; /* time, timers and deferred callbacks (run/clock.c) */
	char why[200];          /* why io_uring is not running (see td__loop_why()), or "" */
};

/* Each allocates and sets up its implementation (the common fields zeroed): 0, or an error
 * with one diag line. td__uring_new: TD_ENOURING when the kernel refuses the ring or lacks a
 * feature; *setup_errno is then io_uring_setup's errno, or 0 for a missing feature. */
int td__uring_new(struct td__loop **out, unsigned entries, int *setup_errno, struct td_diag *diag);
int td__epoll_new(struct td__loop **out, unsigned entries, struct td_diag *diag);

#endif /* TD_LOOP_IMPL_H */

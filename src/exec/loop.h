/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the event loop (internal): one clock (run/clock.h: time, timers, deferred work) and
 * requests to the kernel through one of two implementations chosen at set-up: an io_uring ring
 * (loop_uring.c, the only file that includes liburing.h) where the kernel allows it and has
 * every feature tooldag needs, epoll (loop_epoll.c) otherwise. Both end every request in the
 * same op callback with the same result; nothing above this header knows which one runs.
 *
 * Usage:
 *   1. td__loop_open() sets up the loop: TD_LOOP_AUTO tries io_uring and falls back to epoll
 *      (td__loop_why() then says why), TD_LOOP_URING refuses with TD_ENOURING and a one-line
 *      diag naming the cause, TD_LOOP_EPOLL never tries the ring. TOOLDAG_BACKEND=uring|epoll
 *      in the environment stands for AUTO.
 *   2. Backends embed a struct td__op per outstanding request and call td__loop_read(),
 *      td__loop_poll_in(), ...; the op's fn runs once with the request's result (-errno or a
 *      count). An op record must have at most one request in flight and must stay alive until
 *      its fn ran (cancelled requests still complete, with -ECANCELED); a descriptor has at
 *      most one request in flight at a time.
 *   3. Timers (struct td__timer, run/clock.h) sit in the clock's min-heap; the kernel is woken
 *      for the earliest deadline only, never one kernel timer per timer.
 *   4. td__loop_run() submits what was queued, optionally waits, then runs completions, expired
 *      timers and deferred callbacks.
 *
 * Test hook: the environment variable TD_TEST_URING_FAIL=EPERM|ENOSYS|ENOMEM|EINVAL makes the
 * ring's set-up fail with that error; TD_TEST_URING_FAIL=FEAT_EXT_ARG,OP_SEND,... makes it find
 * those features missing (loop_uring.c).
 */
#ifndef TD_LOOP_H
#define TD_LOOP_H

#include <stdint.h>

#include "run/clock.h"
#include "util/util.h"

struct td__loop;
struct td__op;

/* res: the CQE result (-errno or a byte count / poll mask). */
typedef void (*td__op_fn)(struct td__op *op, int res);

struct td__op {
	td__op_fn fn;
	int fd; /* set by the loop: the descriptor of the request in flight */
};

int td__loop_open(struct td__loop **out, unsigned entries, enum td_loop kind, struct td_diag *diag);
/* td__loop_open(out, entries, TD_LOOP_AUTO, diag) */
int td__loop_new(struct td__loop **out, unsigned entries, struct td_diag *diag);
void td__loop_free(struct td__loop *l);
/* "io_uring" or "epoll". */
const char *td__loop_name(const struct td__loop *l);
/* Why AUTO runs on epoll ("io_uring refused by the kernel (Operation not permitted)"), or NULL
 * when the ring runs or epoll was asked for. */
const char *td__loop_why(const struct td__loop *l);

/* The ring's or the epoll instance's descriptor: readable when completions wait (a hint;
 * always drain). */
int td__loop_fd(const struct td__loop *l);
/* The clock the loop runs after each round of completions (its timers are the ones below). */
struct td__clock *td__loop_clock(struct td__loop *l);
/* The loop's clock, refreshed at each td__loop_run() (monotonic microseconds). */
int64_t td__loop_now(const struct td__loop *l);
/* Refreshes the cached clock and returns it. */
int64_t td__loop_update_now(struct td__loop *l);
/*
 * Virtual time (tooldag-bench simulate): from now on the clock stands still at its current
 * value, and td__loop_run(l, 1) moves it to the earliest timer deadline instead of sleeping
 * until then. Timers and everything that reads the clock (the scheduler's start and end
 * stamps, rate limits, backoff) then see simulated time, and a run over backends that finish
 * jobs by timers takes no real time. Ring requests still work but do not move the clock.
 */
void td__loop_set_virtual(struct td__loop *l);

/* Requests; 0 or -errno (the fn then never runs). */
int td__loop_poll_in(struct td__loop *l, struct td__op *op, int fd);
/* A one-shot poll for `events` (POLLIN, POLLOUT; errors and hang-up are always reported). */
int td__loop_poll(struct td__loop *l, struct td__op *op, int fd, unsigned events);
int td__loop_read(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len);
int td__loop_send(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len);
/* Cancels op's request; op->fn still runs, later, never inside this call (with -ECANCELED or
 * its result when it had already completed). */
int td__loop_cancel(struct td__loop *l, struct td__op *op);

/* Arms (or re-arms) t for the absolute monotonic time `when`. Never allocates once the heap
 * has grown to the number of timers armed at once; -ENOMEM if it cannot grow. */
int td__loop_timer_arm(struct td__loop *l, struct td__timer *t, int64_t when);
void td__loop_timer_disarm(struct td__loop *l, struct td__timer *t);
/* Grows the heap for n timers armed at once, so arming up to n never fails. 0 or -ENOMEM. */
int td__loop_timer_reserve(struct td__loop *l, uint32_t n);
/* Runs t->fn at the next td__loop_run(), after the completions (t must not be armed). */
void td__loop_defer(struct td__loop *l, struct td__timer *t);
/* Earliest timer deadline, 0 if something is deferred, -1 if nothing is armed. */
int64_t td__loop_next_deadline(const struct td__loop *l);
/* Requests submitted but not completed. */
unsigned td__loop_inflight(const struct td__loop *l);

/*
 * Submits queued requests; if `wait`, blocks until a completion arrives or the earliest timer
 * is due (returns at once when there is nothing to wait for); then runs completions, expired
 * timers and deferred callbacks. Returns the number of callbacks run, or -errno.
 */
int td__loop_run(struct td__loop *l, int wait);
/* Submits queued requests without waiting (the embedding path calls this before polling). */
int td__loop_submit(struct td__loop *l);

#endif /* TD_LOOP_H */

/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the event loop (internal): one io_uring ring, one deadline heap, one deferred list.
 * This is the only module that includes liburing.h; backends submit through the wrappers here.
 *
 * Usage:
 *   1. td__loop_new() sets up the ring (TD_ENOURING with a one-line diag naming the cause when
 *      the kernel refuses io_uring).
 *   2. Backends embed a struct td__op per outstanding request and call td__loop_read(),
 *      td__loop_poll_in(), ...; the op's fn runs once with the request's result (-errno or a
 *      count). An op record must have at most one request in flight and must stay alive until
 *      its fn ran (cancelled requests still complete, with -ECANCELED).
 *   3. Timers (struct td__timer, run/clock.h) sit in the clock's min-heap; the ring is woken
 *      for the earliest deadline only, never one kernel timer per timer.
 *   4. td__loop_run() submits what was queued, optionally waits, then runs completions, expired
 *      timers and deferred callbacks.
 *
 * Test hook: the environment variable TD_TEST_URING_FAIL=EPERM|ENOSYS|ENOMEM makes
 * td__loop_new() behave as if io_uring_queue_init() had failed with that error.
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
};

int td__loop_new(struct td__loop **out, unsigned entries, struct td_diag *diag);
void td__loop_free(struct td__loop *l);

/* The ring's descriptor: readable when completions wait (a hint; always drain). */
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

/* Ring requests; 0 or -errno (the fn then never runs). */
int td__loop_poll_in(struct td__loop *l, struct td__op *op, int fd);
/* A one-shot poll for `events` (POLLIN, POLLOUT; errors and hang-up are always reported). */
int td__loop_poll(struct td__loop *l, struct td__op *op, int fd, unsigned events);
int td__loop_read(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len);
int td__loop_send(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len);
/* Asks the kernel to cancel op's request; op->fn still runs (with -ECANCELED or its result). */
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

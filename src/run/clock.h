/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the scheduler's clock (internal): the current time, one deadline min-heap of
 * timers and one deferred list. No kernel facility: the time is either the monotonic clock
 * (read when td__clock_update() is called) or virtual, moved only by td__clock_turn() to the
 * earliest deadline. A loop in exec owns one and runs it after each round of completions; a
 * run with no loop (tests, simulation) runs on one alone, in virtual time.
 *
 * Timers (struct td__timer, embedded by their owner) sit in the heap; whoever waits on the
 * clock wakes for the earliest deadline only, never one kernel timer per timer.
 */
#ifndef TD_CLOCK_H
#define TD_CLOCK_H

#include <stdint.h>

#include "util/util.h"

struct td__timer;
typedef void (*td__timer_fn)(struct td__timer *t);

struct td__timer {
	int64_t when;    /* microseconds on the clock */
	uint32_t slot;   /* heap index + 1; 0 when not armed */
	td__timer_fn fn; /* runs once when the deadline passes (or at the next turn for defer) */
	struct td__timer *next; /* deferred list link */
};

struct td__clock {
	int64_t now;
	int virt; /* virtual time: the clock moves only to the next deadline */
	struct td__timer **heap;
	uint32_t nheap, heap_cap;
	struct td__timer *defer_head, *defer_tail;
};

/* Starts at the monotonic clock's time; td__clock_set_virtual() freezes it there. */
void td__clock_init(struct td__clock *c);
void td__clock_fini(struct td__clock *c);
/*
 * Virtual time: from now on the clock stands still at its current value, and a waiting
 * td__clock_turn() moves it to the earliest timer deadline instead of sleeping until then.
 * Everything that reads the clock (the scheduler's start and end stamps, rate limits,
 * backoff) then sees simulated time, and a run over backends that finish jobs by timers takes
 * no real time.
 */
void td__clock_set_virtual(struct td__clock *c);

/* The cached time (refreshed by td__clock_update() and each turn). */
static inline int64_t td__clock_now(const struct td__clock *c)
{
	return c->now;
}
/* Refreshes the cached time (no change in virtual time) and returns it. */
int64_t td__clock_update(struct td__clock *c);

/* Arms (or re-arms) t for the absolute time `when`. Never allocates once the heap has grown
 * to the number of timers armed at once; TD_ENOMEM if it cannot grow. */
int td__clock_arm(struct td__clock *c, struct td__timer *t, int64_t when);
void td__clock_disarm(struct td__clock *c, struct td__timer *t);
/* Grows the heap for n timers armed at once, so arming up to n never fails. 0 or TD_ENOMEM. */
int td__clock_reserve(struct td__clock *c, uint32_t n);
/* Runs t->fn at the next turn, after what is due (t must not be armed). */
void td__clock_defer(struct td__clock *c, struct td__timer *t);
/* Earliest timer deadline, 0 if something is deferred, -1 if nothing is armed. */
int64_t td__clock_next_deadline(const struct td__clock *c);

/*
 * Virtual time and `wait`: when nothing is deferred, moves the clock to the earliest
 * deadline (the caller waits only once nothing more can happen at the current instant, which
 * keeps simulated starts exact). No effect in real time: the loop does the waiting there.
 */
void td__clock_advance(struct td__clock *c, int wait);
/* Refreshes the time, runs the expired timers, then the deferred callbacks (those they defer
 * run at the next turn); returns the number of callbacks run. */
int td__clock_run(struct td__clock *c);
/* td__clock_advance(c, wait) then td__clock_run(c): a whole turn of a run with no loop. */
int td__clock_turn(struct td__clock *c, int wait);

#endif /* TD_CLOCK_H */

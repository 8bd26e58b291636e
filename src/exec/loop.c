/* SPDX-License-Identifier: MIT */
/*
 * loop.c - what both implementations of the loop share: the clock (run/clock.c: time, timers,
 * deferred callbacks), the wait for its earliest deadline, and the choice of implementation at
 * set-up (io_uring in loop_uring.c where the kernel allows it, epoll in loop_epoll.c otherwise).
 * Requests (poll, read, send, cancel) go to the implementation through struct td__loop_impl.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/loop_impl.h"

/* ---- choosing the implementation ---- */

/* TOOLDAG_BACKEND=uring|epoll when kind is TD_LOOP_AUTO; -1 for anything else. */
static int kind_from_env(enum td_loop kind)
{
	const char *s = getenv("TOOLDAG_BACKEND");

	if (kind != TD_LOOP_AUTO || !s || !*s)
		return (int)kind;
	if (!strcmp(s, "uring") || !strcmp(s, "io_uring"))
		return TD_LOOP_URING;
	if (!strcmp(s, "epoll"))
		return TD_LOOP_EPOLL;
	return -1;
}

int td__loop_open(struct td__loop **out, unsigned entries, enum td_loop kind, struct td_diag *diag)
{
	struct td_diag ud = {0};
	int k = kind_from_env(kind), err, setup_errno;

	*out = NULL;
	if (k < 0) {
		td__diag_add(diag, TD_EINVAL, NULL, 0, 0,
		             "TOOLDAG_BACKEND='%s': expected 'uring' or 'epoll'",
		             getenv("TOOLDAG_BACKEND"));
		return TD_EINVAL;
	}
	if (k == TD_LOOP_EPOLL)
		err = td__epoll_new(out, entries, diag);
	else if (k == TD_LOOP_URING)
		err = td__uring_new(out, entries, &setup_errno, diag);
	else {
		err = td__uring_new(out, entries, &setup_errno, &ud);
		if (err == TD_ENOURING) {
			char why[sizeof((*out)->why)];

			if (setup_errno)
				snprintf(why, sizeof(why), "io_uring refused by the kernel (%s)",
				         strerror(setup_errno));
			else
				snprintf(why, sizeof(why), "%s",
				         ud.count ? ud.items[0].message : "io_uring refused");
			err = td__epoll_new(out, entries, diag);
			if (!err)
				memcpy((*out)->why, why, sizeof(why));
		}
		td_diag_clear(&ud);
	}
	if (err)
		return err;
	td__clock_init(&(*out)->clock);
	return 0;
}

int td__loop_new(struct td__loop **out, unsigned entries, struct td_diag *diag)
{
	return td__loop_open(out, entries, TD_LOOP_AUTO, diag);
}

void td__loop_free(struct td__loop *l)
{
	if (!l)
		return;
	l->impl->free(l);
	td__clock_fini(&l->clock);
	td__free(l);
}

const char *td__loop_name(const struct td__loop *l)
{
	return l->impl->name;
}

const char *td__loop_why(const struct td__loop *l)
{
	return l->why[0] ? l->why : NULL;
}

int td__loop_fd(const struct td__loop *l)
{
	return l->impl->fd(l);
}

struct td__clock *td__loop_clock(struct td__loop *l)
{
	return &l->clock;
}

int64_t td__loop_now(const struct td__loop *l)
{
	return td__clock_now(&l->clock);
}

int64_t td__loop_update_now(struct td__loop *l)
{
	return td__clock_update(&l->clock);
}

void td__loop_set_virtual(struct td__loop *l)
{
	td__clock_set_virtual(&l->clock);
}

unsigned td__loop_inflight(const struct td__loop *l)
{
	return l->inflight;
}

/* ---- requests ---- */

int td__loop_poll_in(struct td__loop *l, struct td__op *op, int fd)
{
	return l->impl->poll(l, op, fd, POLLIN);
}

int td__loop_poll(struct td__loop *l, struct td__op *op, int fd, unsigned events)
{
	return l->impl->poll(l, op, fd, events);
}

int td__loop_read(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len)
{
	return l->impl->read(l, op, fd, buf, len);
}

int td__loop_send(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len)
{
	return l->impl->send(l, op, fd, buf, len);
}

int td__loop_cancel(struct td__loop *l, struct td__op *op)
{
	return l->impl->cancel(l, op);
}

/* ---- timers: the clock's (run/clock.c) ---- */

void td__loop_timer_disarm(struct td__loop *l, struct td__timer *t)
{
	td__clock_disarm(&l->clock, t);
}

int td__loop_timer_reserve(struct td__loop *l, uint32_t n)
{
	return td__clock_reserve(&l->clock, n);
}

int td__loop_timer_arm(struct td__loop *l, struct td__timer *t, int64_t when)
{
	return td__clock_arm(&l->clock, t, when);
}

void td__loop_defer(struct td__loop *l, struct td__timer *t)
{
	td__clock_defer(&l->clock, t);
}

int64_t td__loop_next_deadline(const struct td__loop *l)
{
	return td__clock_next_deadline(&l->clock);
}

/* ---- running ---- */

int td__loop_submit(struct td__loop *l)
{
	return l->impl->submit(l);
}

static int wait_for_work(struct td__loop *l)
{
	int64_t due = td__loop_next_deadline(l), d;

	if (due == 0 || (due < 0 && !l->inflight))
		return l->impl->submit(l);
	if (due < 0)
		return l->impl->wait(l, -1);
	d = due - td__now_us();
	if (d <= 0)
		return l->impl->submit(l);
	return l->impl->wait(l, d);
}

int td__loop_run(struct td__loop *l, int wait)
{
	int r;

	td__clock_advance(&l->clock, wait); /* virtual time: jump instead of sleeping */
	r = !wait || l->clock.virt ? l->impl->submit(l) : wait_for_work(l);
	if (r < 0 && r != -EBUSY && r != -EINTR && r != -ETIME)
		return r;
	r = l->impl->reap(l);
	return r + td__clock_run(&l->clock);
}

int td_loop_check(enum td_loop loop, struct td_diag *diag)
{
	struct td__loop *l;
	int err;

	if (loop != TD_LOOP_URING && loop != TD_LOOP_EPOLL)
		return TD_EINVAL;
	err = td__loop_open(&l, 8, loop, diag);
	if (!err)
		td__loop_free(l);
	return err;
}

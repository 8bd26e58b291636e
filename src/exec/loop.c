/* SPDX-License-Identifier: MIT */
/*
 * loop.c - one io_uring ring, one deadline min-heap, one deferred list. The only file that
 * includes liburing.h.
 *
 * Waiting: td__loop_run(l, 1) waits with io_uring_submit_and_wait_timeout() for the earliest
 * heap deadline, so at most one kernel timeout is ever armed whatever the number of timers
 * (10,000 concurrent sleeps cost 10,000 heap entries, not 10,000 hrtimers).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "exec/loop.h"

#define TD_LOOP_BATCH 64

struct td__loop {
	struct io_uring ring;
	unsigned inflight;      /* requests submitted or queued, not yet completed */
	struct td__clock clock; /* time, timers and deferred callbacks (run/clock.c) */
};

/* The user_data of cancel requests: their own completion carries nothing we need. */
static void ignore_op(struct td__op *op, int res)
{
	(void)op;
	(void)res;
}
static struct td__op cancel_op = {ignore_op};

/* ---- io_uring setup and its failure message ---- */

static int injected_failure(void)
{
	const char *s = getenv("TD_TEST_URING_FAIL");

	if (!s || !*s)
		return 0;
	if (!strcmp(s, "EPERM"))
		return -EPERM;
	if (!strcmp(s, "ENOSYS"))
		return -ENOSYS;
	if (!strcmp(s, "ENOMEM"))
		return -ENOMEM;
	return -EINVAL;
}

/* kernel.io_uring_disabled: 0 allowed, 1 only for io_uring_group, 2 off; -1 unreadable. */
static int read_disabled_sysctl(void)
{
	char buf[16] = {0};
	int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || buf[0] < '0' || buf[0] > '2')
		return -1;
	return buf[0] - '0';
}

static void explain_refusal(int err, struct td_diag *diag)
{
	int sysctl = read_disabled_sysctl();
	const char *why;

	if (err == -EPERM || err == -ENOSYS) {
		if (sysctl == 2)
			why = "io_uring is disabled (kernel.io_uring_disabled=2 sysctl)";
		else if (sysctl == 1)
			why =
			    "io_uring is disabled for this user (kernel.io_uring_disabled=1 sysctl "
			    "allows only the io_uring_group)";
		else
			why = "io_uring is disabled (kernel.io_uring_disabled sysctl, or a seccomp "
			      "filter in this container)";
		td__diag_add(diag, TD_ENOURING, NULL, 0, 0, "%s: io_uring_setup failed with %s",
		             why, err == -EPERM ? "EPERM" : "ENOSYS");
	} else if (err == -ENOMEM) {
		td__diag_add(diag, TD_ENOURING, NULL, 0, 0,
		             "io_uring setup failed: cannot allocate the ring (ENOMEM; check "
		             "RLIMIT_MEMLOCK, `ulimit -l`)");
	} else {
		td__diag_add(diag, TD_ENOURING, NULL, 0, 0, "io_uring setup failed: %s",
		             strerror(-err));
	}
}

int td__loop_new(struct td__loop **out, unsigned entries, struct td_diag *diag)
{
	struct io_uring_params p;
	struct td__loop *l;
	int r;

	*out = NULL;
	l = td__calloc(1, sizeof(*l));
	if (!l)
		return TD_ENOMEM;
	memset(&p, 0, sizeof(p));
	/* a large CQ: completions of many pipes may land between two runs */
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = entries * 4;
	r = injected_failure();
	if (!r)
		r = io_uring_queue_init_params(entries, &l->ring, &p);
	if (r < 0) {
		explain_refusal(r, diag);
		td__free(l);
		return TD_ENOURING;
	}
	td__clock_init(&l->clock);
	*out = l;
	return 0;
}

void td__loop_free(struct td__loop *l)
{
	if (!l)
		return;
	io_uring_queue_exit(&l->ring);
	td__clock_fini(&l->clock);
	td__free(l);
}

int td__loop_fd(const struct td__loop *l)
{
	return l->ring.ring_fd;
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

/* A free SQE, flushing the queue to the kernel when it is full. */
static struct io_uring_sqe *get_sqe(struct td__loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static void queued(struct td__loop *l, struct io_uring_sqe *sqe, struct td__op *op)
{
	io_uring_sqe_set_data(sqe, op);
	l->inflight++;
}

int td__loop_poll_in(struct td__loop *l, struct td__op *op, int fd)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	queued(l, sqe, op);
	return 0;
}

int td__loop_poll(struct td__loop *l, struct td__op *op, int fd, unsigned events)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, events);
	queued(l, sqe, op);
	return 0;
}

int td__loop_read(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	/* offset -1: the file position, as read(2) does; pipes have none */
	io_uring_prep_read(sqe, fd, buf, len, (__u64)-1);
	queued(l, sqe, op);
	return 0;
}

int td__loop_send(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	/* MSG_NOSIGNAL: a peer that went away must give EPIPE, never SIGPIPE to the host */
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
	queued(l, sqe, op);
	return 0;
}

int td__loop_cancel(struct td__loop *l, struct td__op *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (__u64)(uintptr_t)op, 0);
	queued(l, sqe, &cancel_op);
	return 0;
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
	int r = io_uring_submit(&l->ring);

	return r < 0 ? r : 0;
}

static int wait_for_work(struct td__loop *l)
{
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts;
	int64_t due = td__loop_next_deadline(l), d;
	int r;

	if (due == 0 || (due < 0 && !l->inflight))
		return io_uring_submit(&l->ring);
	if (due < 0)
		return io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, NULL, NULL);
	d = due - td__now_us();
	if (d <= 0)
		return io_uring_submit(&l->ring);
	ts.tv_sec = d / 1000000;
	ts.tv_nsec = (d % 1000000) * 1000;
	r = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
	return (r == -ETIME || r == -EINTR) ? 0 : r;
}

/* Copies completions out before running callbacks: a callback may queue new requests. */
static int reap(struct td__loop *l)
{
	struct io_uring_cqe *cqes[TD_LOOP_BATCH];
	struct td__op *ops[TD_LOOP_BATCH];
	int res[TD_LOOP_BATCH];
	unsigned n, i;
	int total = 0;

	do {
		n = io_uring_peek_batch_cqe(&l->ring, cqes, TD_LOOP_BATCH);
		for (i = 0; i < n; i++) {
			ops[i] = io_uring_cqe_get_data(cqes[i]);
			res[i] = cqes[i]->res;
		}
		io_uring_cq_advance(&l->ring, n);
		l->inflight -= n;
		for (i = 0; i < n; i++)
			if (ops[i])
				ops[i]->fn(ops[i], res[i]);
		total += (int)n;
	} while (n == TD_LOOP_BATCH);
	return total;
}

int td__loop_run(struct td__loop *l, int wait)
{
	int r;

	td__clock_advance(&l->clock, wait); /* virtual time: jump instead of sleeping */
	r = !wait || l->clock.virt ? io_uring_submit(&l->ring) : wait_for_work(l);
	if (r < 0 && r != -EBUSY && r != -EINTR && r != -ETIME)
		return r;
	r = reap(l);
	return r + td__clock_run(&l->clock);
}

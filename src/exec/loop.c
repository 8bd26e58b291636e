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
	int64_t now;
	int virt;          /* virtual time: see td__loop_set_virtual() */
	unsigned inflight; /* requests submitted or queued, not yet completed */
	struct td__timer **heap;
	uint32_t nheap, heap_cap;
	struct td__timer *defer_head, *defer_tail;
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
	l->now = td__now_us();
	*out = l;
	return 0;
}

void td__loop_free(struct td__loop *l)
{
	if (!l)
		return;
	io_uring_queue_exit(&l->ring);
	td__free(l->heap);
	td__free(l);
}

int td__loop_fd(const struct td__loop *l)
{
	return l->ring.ring_fd;
}

int64_t td__loop_now(const struct td__loop *l)
{
	return l->now;
}

int64_t td__loop_update_now(struct td__loop *l)
{
	if (!l->virt)
		l->now = td__now_us();
	return l->now;
}

void td__loop_set_virtual(struct td__loop *l)
{
	l->virt = 1;
}

/* Virtual time: instead of sleeping until the earliest deadline, jump there. Only when there
 * is nothing to do now (no deferred callback) and waiting was asked for: the caller waits only
 * once nothing more can start at the current instant, which keeps simulated starts exact. */
static int virtual_wait(struct td__loop *l)
{
	if (!l->defer_head && l->nheap && l->heap[0]->when > l->now)
		l->now = l->heap[0]->when;
	return io_uring_submit(&l->ring);
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

/* ---- timers: a binary min-heap of pointers, each timer knowing its slot ---- */

static void heap_set(struct td__loop *l, uint32_t i, struct td__timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void sift_up(struct td__loop *l, uint32_t i)
{
	struct td__timer *t = l->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (l->heap[parent]->when <= t->when)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void sift_down(struct td__loop *l, uint32_t i)
{
	struct td__timer *t = l->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[c]->when)
			c++;
		if (t->when <= l->heap[c]->when)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void td__loop_timer_disarm(struct td__loop *l, struct td__timer *t)
{
	uint32_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	l->heap[i]->slot = i + 1;
	sift_up(l, i);
	sift_down(l, l->heap[i]->slot - 1);
}

int td__loop_timer_reserve(struct td__loop *l, uint32_t n)
{
	struct td__timer **h;

	if (n <= l->heap_cap)
		return 0;
	h = td__reallocarray(l->heap, n, sizeof(*h));
	if (!h)
		return TD_ENOMEM;
	l->heap = h;
	l->heap_cap = n;
	return 0;
}

int td__loop_timer_arm(struct td__loop *l, struct td__timer *t, int64_t when)
{
	td__loop_timer_disarm(l, t);
	if (l->nheap == l->heap_cap &&
	    td__loop_timer_reserve(l, l->heap_cap ? l->heap_cap * 2 : 64) < 0)
		return TD_ENOMEM;
	t->when = when;
	l->heap[l->nheap] = t;
	sift_up(l, l->nheap++);
	return 0;
}

void td__loop_defer(struct td__loop *l, struct td__timer *t)
{
	t->next = NULL;
	if (l->defer_tail)
		l->defer_tail->next = t;
	else
		l->defer_head = t;
	l->defer_tail = t;
}

int64_t td__loop_next_deadline(const struct td__loop *l)
{
	if (l->defer_head)
		return 0;
	return l->nheap ? l->heap[0]->when : -1;
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

static int expire_timers(struct td__loop *l)
{
	int total = 0;

	while (l->nheap && l->heap[0]->when <= l->now) {
		struct td__timer *t = l->heap[0];

		td__loop_timer_disarm(l, t);
		t->fn(t);
		total++;
	}
	return total;
}

static int run_deferred(struct td__loop *l)
{
	struct td__timer *t = l->defer_head;
	int total = 0;

	/* callbacks may defer more: those run at the next turn, so take the list first */
	l->defer_head = l->defer_tail = NULL;
	while (t) {
		struct td__timer *next = t->next;

		t->fn(t);
		t = next;
		total++;
	}
	return total;
}

int td__loop_run(struct td__loop *l, int wait)
{
	int r = !wait ? io_uring_submit(&l->ring) : l->virt ? virtual_wait(l) : wait_for_work(l);

	if (r < 0 && r != -EBUSY && r != -EINTR && r != -ETIME)
		return r;
	r = reap(l);
	td__loop_update_now(l);
	r += expire_timers(l);
	r += run_deferred(l);
	return r;
}

/* SPDX-License-Identifier: MIT */
/*
 * loop_epoll.c - the loop's epoll implementation, for kernels and sandboxes that refuse
 * io_uring (Docker's default seccomp profile, gVisor, kernel.io_uring_disabled). Every request
 * is a one-shot readiness wait (EPOLLONESHOT) on its descriptor; when the descriptor is ready
 * the request's own system call (read, send) runs here and its result goes to the same op
 * callback, with the same value, as the ring's completion would.
 *
 * Descriptors: a table indexed by descriptor holds the request in flight on it (one at a time)
 * and whether the descriptor is registered with the epoll instance; a completed one-shot stays
 * registered, disarmed, and the next request on it re-arms it (EPOLL_CTL_MOD) instead of adding
 * it again. The table is a hint about registration only: MOD falls back to ADD (ENOENT, the
 * descriptor was closed and its number reused) and ADD to MOD (EEXIST). Each arming gets a
 * generation number that travels in the event, so an event for a request that was cancelled
 * (or completed and replaced) in the same batch is dropped.
 *
 * Cancellation is synchronous: the descriptor leaves the epoll set at once (so its owner may
 * close it) and the op's callback runs at the next turn with -ECANCELED, as the ring's would,
 * as a deferred callback of the clock (so the host's timeout is 0 until it has run).
 * Descriptors epoll cannot watch (regular files) are ready at once: the request's system call
 * runs at arming time and its result is delivered at the next turn.
 *
 * Waiting: epoll_pwait2 (Linux 5.11) with the exact deadline, else epoll_wait in milliseconds
 * rounded up; one wait for the earliest heap deadline, as the ring has.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "exec/loop_impl.h"

#define TD_EPOLL_BATCH               256
#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

enum kind { K_POLL, K_READ, K_SEND };

struct slot {
	struct td__op *op; /* the request in flight on this descriptor, or NULL */
	void *buf;
	unsigned len;
	unsigned events; /* K_POLL: what was asked for */
	uint32_t gen;
	uint8_t kind;
	uint8_t registered;
};

struct done {
	struct td__op *op;
	int res;
};

struct eloop {
	struct td__loop base;
	int epfd;
	int no_pwait2; /* epoll_pwait2 missing or refused: milliseconds */
	struct slot *slots;
	size_t nslots;
	struct done *done; /* completions for the next turn (cancels, unwatchable descriptors) */
	size_t ndone, done_cap;
	struct td__timer done_timer; /* deferred on the clock while done[] is not empty */
	struct epoll_event ev[TD_EPOLL_BATCH];
	int nev; /* events fetched by the wait, not yet run */
};

#define E(l) ((struct eloop *)(l))

static const struct td__loop_impl epoll_impl;
static void run_done(struct td__timer *t);

int td__epoll_new(struct td__loop **out, unsigned entries, struct td_diag *diag)
{
	struct eloop *l;

	(void)entries;
	*out = NULL;
	l = td__calloc(1, sizeof(*l));
	if (!l)
		return TD_ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;

		td__diag_add(diag, e == ENOMEM ? TD_ENOMEM : TD_ENOURING, NULL, 0, 0,
		             "epoll_create1 failed: %s", strerror(e));
		td__free(l);
		return e == ENOMEM ? TD_ENOMEM : TD_ENOURING;
	}
	l->done_timer.fn = run_done;
	l->base.impl = &epoll_impl;
	*out = &l->base;
	return 0;
}

static void epoll_free(struct td__loop *base)
{
	struct eloop *l = E(base);

	close(l->epfd);
	td__free(l->slots);
	td__free(l->done);
}

static int epoll_fd(const struct td__loop *l)
{
	return ((const struct eloop *)l)->epfd;
}

/* ---- completions for the next turn ---- */

static int push_done(struct eloop *l, struct td__op *op, int res)
{
	if (l->ndone == l->done_cap) {
		size_t cap = l->done_cap ? l->done_cap * 2 : 16;
		struct done *d = td__reallocarray(l->done, cap, sizeof(*d));

		if (!d)
			return TD_ENOMEM;
		l->done = d;
		l->done_cap = cap;
	}
	l->done[l->ndone].op = op;
	l->done[l->ndone].res = res;
	if (l->ndone++ == 0) /* the clock's next deadline is now: the host steps at once */
		td__clock_defer(&l->base.clock, &l->done_timer);
	return 0;
}

/* ---- the request's own system call, once the descriptor is ready ---- */

/* The result the ring would have given, or -EAGAIN when the readiness was spurious. */
static int perform(const struct slot *s, int fd, unsigned revents)
{
	ssize_t n;

	switch (s->kind) {
	case K_READ:
		n = read(fd, s->buf, s->len);
		break;
	case K_SEND:
		/* MSG_NOSIGNAL: a peer that went away must give EPIPE, never SIGPIPE to the host */
		n = send(fd, s->buf, s->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		break;
	default:
		return (int)(revents & (s->events | POLLERR | POLLHUP | POLLNVAL | EPOLLRDHUP));
	}
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (int)n;
}

/* ---- arming ---- */

static int grow(struct eloop *l, int fd)
{
	size_t n = l->nslots ? l->nslots : 64;
	struct slot *s;

	while (n <= (size_t)fd)
		n *= 2;
	s = td__reallocarray(l->slots, n, sizeof(*s));
	if (!s)
		return TD_ENOMEM;
	memset(s + l->nslots, 0, (n - l->nslots) * sizeof(*s));
	l->slots = s;
	l->nslots = n;
	return 0;
}

static unsigned wanted(const struct slot *s)
{
	if (s->kind == K_READ)
		return EPOLLIN;
	if (s->kind == K_SEND)
		return EPOLLOUT;
	return s->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
}

/* (Re-)arms the one-shot wait of fd's slot: 0, -EPERM when epoll cannot watch fd, or -errno. */
static int ctl_arm(struct eloop *l, int fd, struct slot *s)
{
	struct epoll_event ev;
	int op = s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, i;

	memset(&ev, 0, sizeof(ev));
	ev.events = wanted(s) | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
	for (i = 0; i < 2; i++) {
		if (epoll_ctl(l->epfd, op, fd, &ev) == 0) {
			s->registered = 1;
			return 0;
		}
		if (errno == ENOENT && op == EPOLL_CTL_MOD)
			op = EPOLL_CTL_ADD;
		else if (errno == EEXIST && op == EPOLL_CTL_ADD)
			op = EPOLL_CTL_MOD;
		else
			break;
	}
	s->registered = 0;
	return -errno;
}

static int arm(struct td__loop *base, struct td__op *op, int fd, enum kind kind, void *buf,
               unsigned len, unsigned events)
{
	struct eloop *l = E(base);
	struct slot *s;
	int r;

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= l->nslots && grow(l, fd) < 0)
		return -ENOMEM;
	s = &l->slots[fd];
	if (s->op)
		return -EBUSY; /* one request per descriptor at a time */
	s->kind = (uint8_t)kind;
	s->buf = buf;
	s->len = len;
	s->events = events;
	s->gen++;
	op->fd = fd;
	r = ctl_arm(l, fd, s);
	if (r == -EPERM) {
		/* a regular file or the like: always ready, the call cannot block */
		if (push_done(l, op, perform(s, fd, events & (POLLIN | POLLOUT))) < 0)
			return -ENOMEM;
		base->inflight++;
		return 0;
	}
	if (r < 0)
		return r;
	s->op = op;
	base->inflight++;
	return 0;
}

static int epoll_poll(struct td__loop *l, struct td__op *op, int fd, unsigned events)
{
	return arm(l, op, fd, K_POLL, NULL, 0, events);
}

static int epoll_read(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len)
{
	return arm(l, op, fd, K_READ, buf, len, 0);
}

static int epoll_send(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len)
{
	return arm(l, op, fd, K_SEND, (void *)buf, len, 0);
}

/* Synchronous: fd leaves the epoll set now; op's callback runs at the next turn. A request
 * that already completed (its result waiting for the next turn) keeps its result. */
static int epoll_cancel(struct td__loop *base, struct td__op *op)
{
	struct eloop *l = E(base);
	struct slot *s;

	if (op->fd < 0 || (size_t)op->fd >= l->nslots || l->slots[op->fd].op != op)
		return 0;
	s = &l->slots[op->fd];
	if (push_done(l, op, -ECANCELED) < 0)
		return -ENOMEM;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, op->fd, NULL);
	s->registered = 0;
	s->op = NULL;
	s->gen++;
	return 0;
}

/* ---- running ---- */

static int epoll_submit(struct td__loop *l)
{
	(void)l;
	return 0; /* every request went to the kernel when it was armed */
}

static int fetch(struct eloop *l, int64_t timeout_us)
{
	int n;

	if (timeout_us >= 0 && !l->no_pwait2) {
#ifdef SYS_epoll_pwait2
		struct timespec ts = {(time_t)(timeout_us / 1000000),
		                      (long)(timeout_us % 1000000) * 1000};

		n = (int)syscall(SYS_epoll_pwait2, l->epfd, l->ev, TD_EPOLL_BATCH, &ts, NULL, 0);
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return n < 0 ? -errno : n;
#endif
		l->no_pwait2 = 1;
	}
	n = epoll_wait(l->epfd, l->ev, TD_EPOLL_BATCH,
	               timeout_us < 0 ? -1 : (int)((timeout_us + 999) / 1000));
	return n < 0 ? -errno : n;
}

static int epoll_wait_for(struct td__loop *base, int64_t timeout_us)
{
	struct eloop *l = E(base);
	int n = fetch(l, l->ndone ? 0 : timeout_us);

	if (n == -EINTR)
		return 0;
	if (n < 0)
		return n;
	l->nev = n;
	return 0;
}

/* The deferred turn: runs the completions known without the kernel; those queued meanwhile
 * (a callback cancels another request) wait for the next turn. */
static void run_done(struct td__timer *t)
{
	struct eloop *l = CONTAINER(t, struct eloop, done_timer);
	size_t n = l->ndone, cap = l->done_cap, i;
	struct done *d = l->done;

	l->done = NULL;
	l->ndone = l->done_cap = 0;
	for (i = 0; i < n; i++) {
		l->base.inflight--;
		d[i].op->fn(d[i].op, d[i].res);
	}
	if (!l->done) { /* keep the array for next time */
		l->done = d;
		l->done_cap = cap;
	} else {
		td__free(d);
	}
}

static int run_events(struct eloop *l, int n)
{
	int i, total = 0;

	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)l->ev[i].data.u64;
		uint32_t gen = (uint32_t)(l->ev[i].data.u64 >> 32);
		struct slot *s = (size_t)fd < l->nslots ? &l->slots[fd] : NULL;
		struct td__op *op;
		int res;

		if (!s || !s->op || s->gen != gen)
			continue; /* cancelled or replaced since the event was queued */
		res = perform(s, fd, l->ev[i].events);
		if (res == -EAGAIN && ctl_arm(l, fd, s) == 0)
			continue; /* spurious readiness: wait again */
		op = s->op;
		s->op = NULL;
		/* end of file, an error or a hang-up: its owner is about to close it, and the next
		 * descriptor with this number is a new registration (ADD first, not MOD) */
		if (res < 0 || (s->kind == K_READ && res == 0) ||
		    (s->kind == K_POLL && (res & (POLLHUP | POLLERR))))
			s->registered = 0;
		l->base.inflight--;
		op->fn(op, res);
		total++;
	}
	return total;
}

static int epoll_reap(struct td__loop *base)
{
	struct eloop *l = E(base);
	int total = 0, n = l->nev;

	l->nev = 0;
	for (;;) {
		if (n == 0 && base->inflight > (unsigned)l->ndone)
			n = fetch(l, 0);
		if (n <= 0)
			break;
		total += run_events(l, n);
		if (n < TD_EPOLL_BATCH)
			break;
		n = 0;
	}
	return total;
}

static const struct td__loop_impl epoll_impl = {
    .name = "epoll",
    .poll = epoll_poll,
    .read = epoll_read,
    .send = epoll_send,
    .cancel = epoll_cancel,
    .fd = epoll_fd,
    .submit = epoll_submit,
    .wait = epoll_wait_for,
    .reap = epoll_reap,
    .free = epoll_free,
};

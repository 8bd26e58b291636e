/* SPDX-License-Identifier: MIT */
/*
 * loop_uring.c - the loop's io_uring implementation, the only file that includes liburing.h.
 * Requests are SQEs whose user_data is the op; td__loop_run() waits with
 * io_uring_submit_and_wait_timeout() for the earliest heap deadline, so at most one kernel
 * timeout is ever armed whatever the number of timers (10,000 concurrent sleeps cost 10,000
 * heap entries, not 10,000 hrtimers).
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

#include "exec/loop_impl.h"

#define TD_LOOP_BATCH 64

struct uloop {
	struct td__loop base;
	struct io_uring ring;
};

#define U(l) ((struct uloop *)(l))

/* The user_data of cancel requests: their own completion carries nothing we need. */
static void ignore_op(struct td__op *op, int res)
{
	(void)op;
	(void)res;
}
static struct td__op cancel_op = {ignore_op, -1};

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
	if (!strcmp(s, "EINVAL"))
		return -EINVAL;
	return 0; /* a feature name: see probe() */
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

/*
 * What tooldag needs of the ring beyond io_uring_setup itself, each with the kernel that
 * brought it. A ring without one of them is refused with a line naming it. The test hook
 * TD_TEST_URING_FAIL=<name>[,<name>...] (e.g. FEAT_EXT_ARG, OP_SEND, SETUP_COOP_TASKRUN)
 * makes set-up or the probe find those missing.
 */
struct need {
	const char *name; /* as in the kernel's headers, without IORING_ */
	const char *what;
	const char *kernel;
	int op;        /* an opcode to probe, or -1 */
	unsigned feat; /* a features bit, or 0 */
};

static const struct need needs[] = {
    {"FEAT_NODROP", "completions kept when the queue overflows", "5.5", -1, IORING_FEAT_NODROP},
    {"FEAT_EXT_ARG", "waiting with a timeout", "5.11", -1, IORING_FEAT_EXT_ARG},
    {"OP_POLL_ADD", "polling a descriptor", "5.1", IORING_OP_POLL_ADD, 0},
    {"OP_READ", "reading a pipe", "5.6", IORING_OP_READ, 0},
    {"OP_SEND", "writing a tool's stdin", "5.6", IORING_OP_SEND, 0},
    {"OP_ASYNC_CANCEL", "cancelling a request", "5.5", IORING_OP_ASYNC_CANCEL, 0},
};

/* name is one of the comma-separated words of TD_TEST_URING_FAIL */
static int injected(const char *name)
{
	const char *s = getenv("TD_TEST_URING_FAIL");
	size_t n = strlen(name);

	while (s && *s) {
		if (!strncmp(s, name, n) && (s[n] == ',' || !s[n]))
			return 1;
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
	return 0;
}

static void refuse_missing(struct td_diag *diag, const char *name, const char *what,
                           const char *kernel)
{
	td__diag_add(diag, TD_ENOURING, NULL, 0, 0,
	             "io_uring lacks IORING_%s (%s, Linux %s): this kernel is too old", name, what,
	             kernel);
}

/* 0 when the ring has everything in needs[], else TD_ENOURING with the first missing one. */
static int probe(struct uloop *l, unsigned features, struct td_diag *diag)
{
	struct io_uring_probe *pr = injected("PROBE") ? NULL : io_uring_get_probe_ring(&l->ring);
	size_t i;
	int ok;

	if (!pr) {
		refuse_missing(diag, "REGISTER_PROBE", "asking which operations exist", "5.6");
		return TD_ENOURING;
	}
	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		const struct need *n = &needs[i];

		ok = n->op >= 0 ? io_uring_opcode_supported(pr, n->op) : !!(features & n->feat);
		if (!ok || injected(n->name)) {
			io_uring_free_probe(pr);
			refuse_missing(diag, n->name, n->what, n->kernel);
			return TD_ENOURING;
		}
	}
	io_uring_free_probe(pr);
	return 0;
}

/*
 * Task-run modes, best first. COOP_TASKRUN (5.19) spares a running thread the interrupt that
 * delivers finished I/O; a thread asleep in its own epoll_wait or poll is still woken with
 * EINTR (the README's loop retries). DEFER_TASKRUN (6.1) would spare that too, but a host
 * polling the ring's descriptor is then not woken when I/O finishes, and the ring is tied to
 * one thread: not used.
 */
static const unsigned taskrun_modes[] = {
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    0,
};
static const char *const taskrun_names[] = {"SETUP_COOP_TASKRUN", ""};

/* 0, 1 when the kernel refuses IORING_SETUP_CQSIZE, or -errno. */
static int ring_init(struct uloop *l, unsigned entries, struct io_uring_params *p)
{
	size_t i;
	int r = -EINVAL;

	for (i = 0; i < sizeof(taskrun_modes) / sizeof(taskrun_modes[0]); i++) {
		if (*taskrun_names[i] && injected(taskrun_names[i]))
			continue;
		memset(p, 0, sizeof(*p));
		/* a large CQ: completions of many pipes may land between two runs */
		p->flags = IORING_SETUP_CQSIZE | taskrun_modes[i];
		p->cq_entries = entries * 4;
		r = injected("SETUP_CQSIZE") ? -EINVAL
		                             : io_uring_queue_init_params(entries, &l->ring, p);
		if (r != -EINVAL)
			return r;
	}
	return 1;
}

static const struct td__loop_impl uring_impl;

int td__uring_new(struct td__loop **out, unsigned entries, int *setup_errno, struct td_diag *diag)
{
	struct io_uring_params p;
	struct uloop *l;
	int r;

	*out = NULL;
	*setup_errno = 0;
	l = td__calloc(1, sizeof(*l));
	if (!l)
		return TD_ENOMEM;
	r = injected_failure();
	if (!r)
		r = ring_init(l, entries, &p);
	if (r == 1) {
		refuse_missing(diag, "SETUP_CQSIZE",
		               "a completion queue larger than the submission queue", "5.5");
		td__free(l);
		return TD_ENOURING;
	}
	if (r < 0) {
		*setup_errno = -r;
		explain_refusal(r, diag);
		td__free(l);
		return TD_ENOURING;
	}
	if (probe(l, p.features, diag) < 0) {
		io_uring_queue_exit(&l->ring);
		td__free(l);
		return TD_ENOURING;
	}
	/* test hook: wait as liburing does on a kernel before 5.11 (its own timeout request) */
	if (injected("USE_NO_EXT_ARG"))
		l->ring.features &= ~IORING_FEAT_EXT_ARG;
	l->base.impl = &uring_impl;
	*out = &l->base;
	return 0;
}

static void uring_free(struct td__loop *l)
{
	io_uring_queue_exit(&U(l)->ring);
}

static int uring_fd(const struct td__loop *l)
{
	return ((const struct uloop *)l)->ring.ring_fd;
}

/* ---- requests ---- */

/* A free SQE, flushing the queue to the kernel when it is full. */
static struct io_uring_sqe *get_sqe(struct uloop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static void queued(struct uloop *l, struct io_uring_sqe *sqe, struct td__op *op)
{
	io_uring_sqe_set_data(sqe, op);
	l->base.inflight++;
}

static int uring_poll(struct td__loop *l, struct td__op *op, int fd, unsigned events)
{
	struct io_uring_sqe *sqe = get_sqe(U(l));

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, events);
	queued(U(l), sqe, op);
	return 0;
}

static int uring_read(struct td__loop *l, struct td__op *op, int fd, void *buf, unsigned len)
{
	struct io_uring_sqe *sqe = get_sqe(U(l));

	if (!sqe)
		return -EBUSY;
	/* offset -1: the file position, as read(2) does; pipes have none */
	io_uring_prep_read(sqe, fd, buf, len, (__u64)-1);
	queued(U(l), sqe, op);
	return 0;
}

static int uring_send(struct td__loop *l, struct td__op *op, int fd, const void *buf, unsigned len)
{
	struct io_uring_sqe *sqe = get_sqe(U(l));

	if (!sqe)
		return -EBUSY;
	/* MSG_NOSIGNAL: a peer that went away must give EPIPE, never SIGPIPE to the host */
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
	queued(U(l), sqe, op);
	return 0;
}

static int uring_cancel(struct td__loop *l, struct td__op *op)
{
	struct io_uring_sqe *sqe = get_sqe(U(l));

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (__u64)(uintptr_t)op, 0);
	queued(U(l), sqe, &cancel_op);
	return 0;
}

/* ---- running ---- */

static int uring_submit(struct td__loop *l)
{
	int r = io_uring_submit(&U(l)->ring);

	return r < 0 ? r : 0;
}

static int uring_wait(struct td__loop *l, int64_t timeout_us)
{
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts;
	int r;

	if (timeout_us < 0)
		return io_uring_submit_and_wait_timeout(&U(l)->ring, &cqe, 1, NULL, NULL);
	ts.tv_sec = timeout_us / 1000000;
	ts.tv_nsec = (timeout_us % 1000000) * 1000;
	r = io_uring_submit_and_wait_timeout(&U(l)->ring, &cqe, 1, &ts, NULL);
	return (r == -ETIME || r == -EINTR) ? 0 : r;
}

/* Copies completions out before running callbacks: a callback may queue new requests. */
static int uring_reap(struct td__loop *base)
{
	struct uloop *l = U(base);
	struct io_uring_cqe *cqes[TD_LOOP_BATCH];
	struct td__op *ops[TD_LOOP_BATCH];
	int res[TD_LOOP_BATCH];
	unsigned n, i;
	int total = 0;

	do {
		n = io_uring_peek_batch_cqe(&l->ring, cqes, TD_LOOP_BATCH);
		for (i = 0; i < n; i++) {
			/* liburing's own timeout (a kernel without EXT_ARG) is not one of ours */
			if (cqes[i]->user_data == LIBURING_UDATA_TIMEOUT) {
				ops[i] = NULL;
				continue;
			}
			ops[i] = io_uring_cqe_get_data(cqes[i]);
			res[i] = cqes[i]->res;
			l->base.inflight--;
		}
		io_uring_cq_advance(&l->ring, n);
		for (i = 0; i < n; i++)
			if (ops[i])
				ops[i]->fn(ops[i], res[i]);
		total += (int)n;
	} while (n == TD_LOOP_BATCH);
	return total;
}

static const struct td__loop_impl uring_impl = {
    .name = "io_uring",
    .poll = uring_poll,
    .read = uring_read,
    .send = uring_send,
    .cancel = uring_cancel,
    .fd = uring_fd,
    .submit = uring_submit,
    .wait = uring_wait,
    .reap = uring_reap,
    .free = uring_free,
};

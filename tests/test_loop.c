/* SPDX-License-Identifier: MIT */
/*
 * test_loop.c - the io_uring loop: the deadline heap (order, disarm, re-arm, many timers behind
 * one wait), deferred callbacks, ring requests (poll, read, send, cancel), the bounded output
 * buffer, and the io_uring setup failure messages (TD_TEST_URING_FAIL).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include "exec/capbuf.h"
#include "exec/loop.h"
#include "run/run.h"

static struct td__loop *L;

static void setup(void)
{
	ck_assert_int_eq(td__loop_new(&L, 64, NULL), 0);
}

static void teardown(void)
{
	td__loop_free(L);
	L = NULL;
}

/* ---- timers ---- */

#define NT 2000
static struct td__timer T[NT];
static int fired[NT], nfired;
static int64_t last_when;
static int out_of_order;

static void on_fire(struct td__timer *t)
{
	int i = (int)(t - T);

	if (t->when < last_when)
		out_of_order++;
	last_when = t->when;
	fired[nfired++] = i;
}

START_TEST(heap_fires_in_deadline_order)
{
	int64_t now = td__loop_update_now(L);
	int i;

	srand(7);
	for (i = 0; i < NT; i++) {
		T[i].fn = on_fire;
		ck_assert_int_eq(td__loop_timer_arm(L, &T[i], now + rand() % 20000), 0);
	}
	/* disarm every third, re-arm every fifth later */
	for (i = 0; i < NT; i += 3)
		td__loop_timer_disarm(L, &T[i]);
	for (i = 0; i < NT; i += 5)
		td__loop_timer_arm(L, &T[i], now + 25000 + i);
	while (td__loop_next_deadline(L) >= 0)
		ck_assert_int_ge(td__loop_run(L, 1), 0);
	ck_assert_int_eq(out_of_order, 0);
	ck_assert_int_eq(nfired, NT - (NT + 2) / 3 + (NT + 14) / 15);
	for (i = 0; i < NT; i++)
		ck_assert_uint_eq(T[i].slot, 0);
	ck_assert_int_ge(td__loop_now(L), now + 25000);
}
END_TEST

START_TEST(wait_sleeps_until_deadline)
{
	int64_t t0 = td__loop_update_now(L);

	T[0].fn = on_fire;
	td__loop_timer_arm(L, &T[0], t0 + 30000);
	ck_assert_int_eq(td__loop_next_deadline(L), t0 + 30000);
	ck_assert_int_eq(td__loop_run(L, 1), 1);
	ck_assert_int_ge(td__now_us() - t0, 30000);
	ck_assert_int_eq(td__loop_next_deadline(L), -1);
	/* nothing to wait for: returns at once */
	ck_assert_int_eq(td__loop_run(L, 1), 0);
}
END_TEST

static struct td__timer D[3];
static int order[3], norder;

static void on_defer(struct td__timer *t)
{
	order[norder++] = (int)(t - D);
	if (t == &D[0]) /* deferring from a deferred callback: runs at the next turn */
		td__loop_defer(L, &D[2]);
}

START_TEST(defer_runs_next_turn_in_order)
{
	D[0].fn = D[1].fn = D[2].fn = on_defer;
	td__loop_defer(L, &D[0]);
	td__loop_defer(L, &D[1]);
	ck_assert_int_eq(td__loop_next_deadline(L), 0);
	ck_assert_int_eq(td__loop_run(L, 0), 2);
	ck_assert_int_eq(norder, 2);
	ck_assert_int_eq(td__loop_run(L, 1), 1);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 2);
}
END_TEST

/* ---- requests ---- */

struct rec {
	struct td__op op;
	int res, calls;
};

static void on_op(struct td__op *op, int res)
{
	struct rec *r = (struct rec *)op;

	r->res = res;
	r->calls++;
}

START_TEST(poll_read_send_cancel)
{
	struct rec p = {{on_op, -1}, 0, 0}, rd = {{on_op, -1}, 0, 0}, s = {{on_op, -1}, 0, 0},
	           c = {{on_op, -1}, 0, 0};
	char buf[16] = {0};
	int fds[2], sv[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(td__loop_poll_in(L, &p.op, fds[0]), 0);
	ck_assert_uint_eq(td__loop_inflight(L), 1);
	ck_assert_int_eq(td__loop_run(L, 0), 0);
	ck_assert_int_eq(write(fds[1], "hey", 3), 3);
	while (!p.calls)
		td__loop_run(L, 1);
	ck_assert_int_ne(p.res & POLLIN, 0);
	ck_assert_int_eq(td__loop_read(L, &rd.op, fds[0], buf, sizeof(buf)), 0);
	while (!rd.calls)
		td__loop_run(L, 1);
	ck_assert_int_eq(rd.res, 3);
	ck_assert_str_eq(buf, "hey");

	/* send to a closed peer: EPIPE, and no SIGPIPE kills us */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(td__loop_send(L, &s.op, sv[0], "x", 1), 0);
	while (!s.calls)
		td__loop_run(L, 1);
	ck_assert_int_eq(s.res, -EPIPE);

	/* a read nobody will satisfy, cancelled */
	ck_assert_int_eq(td__loop_read(L, &c.op, fds[0], buf, sizeof(buf)), 0);
	td__loop_run(L, 0);
	ck_assert_int_eq(td__loop_cancel(L, &c.op), 0);
	while (!c.calls)
		td__loop_run(L, 1);
	ck_assert_int_eq(c.res, -ECANCELED);
	while (td__loop_inflight(L))
		td__loop_run(L, 1);
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
}
END_TEST

START_TEST(fd_is_pollable)
{
	struct rec p = {{on_op, -1}, 0, 0};
	struct pollfd pfd = {.events = POLLIN};
	int fds[2];

	pfd.fd = td__loop_fd(L);
	ck_assert_int_ge(pfd.fd, 0);
	ck_assert_int_eq(pipe(fds), 0);
	td__loop_poll_in(L, &p.op, fds[0]);
	td__loop_submit(L);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	td__loop_run(L, 0);
	ck_assert_int_eq(p.calls, 1);
	/* reaped: no longer readable, or a host's loop would spin */
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* ---- io_uring refused ---- */

static void assert_refusal(const char *err, const char *want)
{
	struct td__loop *l = NULL;
	struct td_diag d = {0};

	setenv("TD_TEST_URING_FAIL", err, 1);
	ck_assert_int_eq(td__loop_open(&l, 8, TD_LOOP_URING, &d), TD_ENOURING);
	unsetenv("TD_TEST_URING_FAIL");
	ck_assert_ptr_null(l);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_int_eq(d.code, TD_ENOURING);
	ck_assert_str_eq(d.items[0].message, want);
	td_diag_clear(&d);
}

START_TEST(uring_refused_messages)
{
	/* this machine's sysctl decides the EPERM wording; 0 here means seccomp is suspected */
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int v = f ? fgetc(f) : '0';

	if (f)
		fclose(f);
	if (v == '0' || v == EOF)
		assert_refusal("EPERM",
		               "io_uring is disabled (kernel.io_uring_disabled sysctl, or a "
		               "seccomp filter in this container): io_uring_setup failed "
		               "with EPERM");
	assert_refusal("ENOMEM", "io_uring setup failed: cannot allocate the ring (ENOMEM; check "
	                         "RLIMIT_MEMLOCK, `ulimit -l`)");
	assert_refusal("EINVAL", "io_uring setup failed: Invalid argument");
	if (v == '0' || v == EOF)
		assert_refusal("ENOSYS",
		               "io_uring is disabled (kernel.io_uring_disabled sysctl, or "
		               "a seccomp filter in this container): io_uring_setup "
		               "failed with ENOSYS");
}
END_TEST

/* Each feature the loop needs, reported missing by the probe: one line naming it. */
START_TEST(uring_missing_features)
{
	static const char *const want[][2] = {
	    {"PROBE", "io_uring lacks IORING_REGISTER_PROBE (asking which operations exist, Linux "
	              "5.6): this kernel is too old"},
	    {"SETUP_CQSIZE", "io_uring lacks IORING_SETUP_CQSIZE (a completion queue larger than "
	                     "the submission queue, Linux 5.5): this kernel is too old"},
	    {"FEAT_NODROP", "io_uring lacks IORING_FEAT_NODROP (completions kept when the queue "
	                    "overflows, Linux 5.5): this kernel is too old"},
	    {"FEAT_EXT_ARG", "io_uring lacks IORING_FEAT_EXT_ARG (waiting with a timeout, Linux "
	                     "5.11): this kernel is too old"},
	    {"OP_POLL_ADD", "io_uring lacks IORING_OP_POLL_ADD (polling a descriptor, Linux 5.1): "
	                    "this kernel is too old"},
	    {"OP_READ", "io_uring lacks IORING_OP_READ (reading a pipe, Linux 5.6): this kernel is "
	                "too old"},
	    {"OP_SEND", "io_uring lacks IORING_OP_SEND (writing a tool's stdin, Linux 5.6): this "
	                "kernel is too old"},
	    {"OP_ASYNC_CANCEL", "io_uring lacks IORING_OP_ASYNC_CANCEL (cancelling a request, "
	                        "Linux 5.5): this kernel is too old"},
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_refusal(want[i][0], want[i][1]);
}
END_TEST

/* Without the cooperative task-run mode (before 5.19) the ring still works. */
START_TEST(uring_older_taskrun_modes)
{
	static const char *const missing[] = {"SETUP_COOP_TASKRUN"};
	struct rec p = {{on_op, -1}, 0, 0};
	int fds[2];
	size_t i;

	for (i = 0; i < 1; i++) {
		struct td__loop *l = NULL;

		setenv("TD_TEST_URING_FAIL", missing[i], 1);
		ck_assert_int_eq(td__loop_open(&l, 8, TD_LOOP_URING, NULL), 0);
		unsetenv("TD_TEST_URING_FAIL");
		ck_assert_int_eq(pipe(fds), 0);
		p.calls = 0;
		ck_assert_int_eq(td__loop_poll_in(l, &p.op, fds[0]), 0);
		ck_assert_int_eq(write(fds[1], "x", 1), 1);
		while (!p.calls)
			ck_assert_int_ge(td__loop_run(l, 1), 0);
		ck_assert_int_eq(p.res & POLLIN, POLLIN);
		td__loop_free(l);
		close(fds[0]);
		close(fds[1]);
	}
}
END_TEST

/* A host waiting in its own epoll_wait on other descriptors is not interrupted (EINTR) when a
 * request of the epoll loop completes meanwhile (the ring's task work does interrupt it). */
static int late_fd = -1;

static void *write_late(void *arg)
{
	(void)arg;
	usleep(30000);
	if (write(late_fd, "x", 1) != 1)
		abort();
	return NULL;
}

START_TEST(host_wait_not_interrupted)
{
	struct rec p = {{on_op, -1}, 0, 0};
	struct epoll_event ev = {.events = EPOLLIN}, got;
	int fds[2], other[2], ep, n;
	pthread_t t;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(other), 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, other[0], &ev), 0);
	ck_assert_int_eq(td__loop_poll_in(L, &p.op, fds[0]), 0);
	ck_assert_int_eq(td__loop_submit(L), 0);
	late_fd = fds[1];
	ck_assert_int_eq(pthread_create(&t, NULL, write_late, NULL), 0);
	n = epoll_wait(ep, &got, 1, 150);
	ck_assert_msg(n == 0, "the host's epoll_wait returned %d (%s)", n,
	              n < 0 ? strerror(errno) : "an event");
	pthread_join(t, NULL);
	while (!p.calls)
		ck_assert_int_ge(td__loop_run(L, 1), 0);
	ck_assert_int_eq(p.res & POLLIN, POLLIN);
	close(ep);
	close(fds[0]);
	close(fds[1]);
	close(other[0]);
	close(other[1]);
}
END_TEST

START_TEST(uring_refused_through_run_new)
{
	struct td_run_opts o = {.loop = TD_LOOP_URING};
	struct td_diag d = {0};
	struct td_run *r = (struct td_run *)1;
	struct td_plan p;
	struct td_batch b;
	struct td_graph g;

	memset(&p, 0, sizeof(p));
	memset(&b, 0, sizeof(b));
	memset(&g, 0, sizeof(g));
	b.graph = &g;
	p.batch = &b;
	setenv("TD_TEST_URING_FAIL", "EPERM", 1);
	ck_assert_int_eq(td_run_new(&p, &o, &r, &d), TD_ENOURING);
	unsetenv("TD_TEST_URING_FAIL");
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(d.items[0].message, "io_uring is disabled"));
	td_diag_clear(&d);
}
END_TEST

/* ---- bounded output ---- */

START_TEST(capbuf_head_tail_marker)
{
	struct td__capbuf cb;
	struct td__buf out = {0};
	char chunk[7];
	int i;

	td__capbuf_init(&cb, 10);
	for (i = 0; i < 10; i++) { /* 70 bytes: "0000000111111122222..." */
		memset(chunk, '0' + i, sizeof(chunk));
		ck_assert_int_eq(td__capbuf_append(&cb, chunk, sizeof(chunk)), 0);
	}
	ck_assert_uint_eq(td__capbuf_dropped(&cb), 60);
	td__capbuf_render(&cb, &out);
	ck_assert_str_eq(out.data, "00000[\xe2\x80\xa6 60 bytes truncated \xe2\x80\xa6]99999");
	td__buf_free(&out);
	td__capbuf_free(&cb);

	td__capbuf_init(&cb, 10);
	td__capbuf_append(&cb, "abcdefgh", 8);
	td__capbuf_append(&cb, "ij", 2);
	td__capbuf_render(&cb, &out);
	ck_assert_str_eq(out.data, "abcdefghij");
	td__buf_free(&out);
	td__capbuf_free(&cb);

	td__capbuf_init(&cb, 10); /* one big write past both */
	td__capbuf_append(&cb, "abcdefghijklmnopqrstuvwxyz", 26);
	td__capbuf_render(&cb, &out);
	ck_assert_str_eq(out.data, "abcde[\xe2\x80\xa6 16 bytes truncated \xe2\x80\xa6]vwxyz");
	td__buf_free(&out);
	td__capbuf_free(&cb);

	td__capbuf_init(&cb, 0); /* unlimited */
	for (i = 0; i < 1000; i++)
		td__capbuf_append(&cb, "0123456789", 10);
	ck_assert_uint_eq(cb.head.len, 10000);
	ck_assert_uint_eq(td__capbuf_dropped(&cb), 0);
	td__capbuf_free(&cb);

	td__capbuf_init_tail(&cb, 4); /* stderr: tail only */
	td__capbuf_append(&cb, "hello", 5);
	td__capbuf_append(&cb, " world", 6);
	td__capbuf_render(&cb, &out);
	ck_assert_str_eq(out.data, "[\xe2\x80\xa6 7 bytes truncated \xe2\x80\xa6]orld");
	td__buf_free(&out);
	td__capbuf_free(&cb);
}
END_TEST

/* results are kept until the run ends: exactly their size, and no buffer for no output */
START_TEST(capbuf_renders_exact_size)
{
	struct td__capbuf cb;
	struct td__buf out = {0};

	td__capbuf_init(&cb, 1000);
	td__capbuf_render(&cb, &out);
	ck_assert_ptr_null(out.data);
	td__capbuf_append(&cb, "abcdefghij", 10);
	td__capbuf_render(&cb, &out);
	ck_assert_str_eq(out.data, "abcdefghij");
	ck_assert_uint_eq(out.cap, 11);
	td__buf_free(&out);
	td__capbuf_free(&cb);

	td__capbuf_init(&cb, 4);
	td__capbuf_append(&cb, "abcdefghij", 10);
	td__capbuf_render(&cb, &out);
	ck_assert_uint_eq(out.cap, out.len + 1);
	ck_assert_str_eq(out.data, "ab[\xe2\x80\xa6 6 bytes truncated \xe2\x80\xa6]ij");
	td__buf_free(&out);
	td__capbuf_free(&cb);
}
END_TEST

/* ---- the choice of implementation ---- */

static void assert_chosen(enum td_loop kind, const char *env, const char *fail, const char *name,
                          const char *why)
{
	struct td__loop *l = NULL;
	struct td_diag d = {0};

	if (env)
		setenv("TOOLDAG_BACKEND", env, 1);
	else
		unsetenv("TOOLDAG_BACKEND");
	if (fail)
		setenv("TD_TEST_URING_FAIL", fail, 1);
	ck_assert_int_eq(td__loop_open(&l, 8, kind, &d), 0);
	unsetenv("TD_TEST_URING_FAIL");
	unsetenv("TOOLDAG_BACKEND");
	ck_assert_uint_eq(d.count, 0);
	ck_assert_str_eq(td__loop_name(l), name);
	if (why)
		ck_assert_str_eq(td__loop_why(l), why);
	else
		ck_assert_ptr_null(td__loop_why(l));
	td__loop_free(l);
}

START_TEST(auto_falls_back_to_epoll)
{
	assert_chosen(TD_LOOP_AUTO, NULL, NULL, "io_uring", NULL);
	assert_chosen(TD_LOOP_AUTO, NULL, "EPERM", "epoll",
	              "io_uring refused by the kernel (Operation not permitted)");
	assert_chosen(TD_LOOP_AUTO, NULL, "ENOSYS", "epoll",
	              "io_uring refused by the kernel (Function not implemented)");
	assert_chosen(TD_LOOP_AUTO, NULL, "FEAT_EXT_ARG", "epoll",
	              "io_uring lacks IORING_FEAT_EXT_ARG (waiting with a timeout, Linux 5.11): "
	              "this kernel is too old");
	assert_chosen(TD_LOOP_AUTO, NULL, "OP_SEND", "epoll",
	              "io_uring lacks IORING_OP_SEND (writing a tool's stdin, Linux 5.6): this "
	              "kernel is too old");
	/* asked for: no reason to give */
	assert_chosen(TD_LOOP_EPOLL, NULL, NULL, "epoll", NULL);
	assert_chosen(TD_LOOP_AUTO, "epoll", NULL, "epoll", NULL);
	assert_chosen(TD_LOOP_AUTO, "uring", NULL, "io_uring", NULL);
	/* the options win over the environment */
	assert_chosen(TD_LOOP_URING, "epoll", NULL, "io_uring", NULL);
	assert_chosen(TD_LOOP_EPOLL, "uring", NULL, "epoll", NULL);
}
END_TEST

START_TEST(backend_env_forces_or_refuses)
{
	struct td__loop *l = NULL;
	struct td_diag d = {0};

	/* uring forced where it is refused: the refusal, not a fallback */
	setenv("TOOLDAG_BACKEND", "uring", 1);
	setenv("TD_TEST_URING_FAIL", "EPERM", 1);
	ck_assert_int_eq(td__loop_new(&l, 8, &d), TD_ENOURING);
	unsetenv("TD_TEST_URING_FAIL");
	ck_assert_ptr_null(l);
	ck_assert_ptr_nonnull(strstr(d.items[0].message, "io_uring_setup failed with EPERM"));
	td_diag_clear(&d);
	setenv("TOOLDAG_BACKEND", "kqueue", 1);
	ck_assert_int_eq(td__loop_new(&l, 8, &d), TD_EINVAL);
	unsetenv("TOOLDAG_BACKEND");
	ck_assert_str_eq(d.items[0].message,
	                 "TOOLDAG_BACKEND='kqueue': expected 'uring' or 'epoll'");
	td_diag_clear(&d);
	ck_assert_int_eq(td_loop_check(TD_LOOP_EPOLL, NULL), 0);
	ck_assert_int_eq(td_loop_check(TD_LOOP_AUTO, NULL), TD_EINVAL);
	setenv("TD_TEST_URING_FAIL", "ENOSYS", 1);
	ck_assert_int_eq(td_loop_check(TD_LOOP_URING, &d), TD_ENOURING);
	unsetenv("TD_TEST_URING_FAIL");
	ck_assert_uint_eq(d.count, 1);
	td_diag_clear(&d);
}
END_TEST

/* A kernel before 5.11 (no EXT_ARG): liburing waits with a timeout request of its own, whose
 * completion (LIBURING_UDATA_TIMEOUT) lands behind the one that ended the wait and must not be
 * taken for an op. */
START_TEST(uring_internal_timeout_skipped)
{
	struct td__loop *l = NULL;
	int fds[2], i;

	setenv("TD_TEST_URING_FAIL", "USE_NO_EXT_ARG", 1);
	ck_assert_int_eq(td__loop_open(&l, 8, TD_LOOP_URING, NULL), 0);
	unsetenv("TD_TEST_URING_FAIL");
	ck_assert_int_eq(pipe(fds), 0);
	T[0].fn = on_fire;
	for (i = 0; i < 5; i++) {
		struct rec p = {{on_op, -1}, 0, 0};

		/* a far deadline: the wait passes a timeout; the poll ends it first */
		td__loop_timer_arm(l, &T[0], td__loop_update_now(l) + 10000000);
		ck_assert_int_eq(td__loop_poll_in(l, &p.op, fds[0]), 0);
		ck_assert_int_eq(td__loop_run(l, 0), 0);
		ck_assert_int_eq(write(fds[1], "x", 1), 1);
		while (!p.calls)
			ck_assert_int_ge(td__loop_run(l, 1), 0);
		ck_assert_int_eq(p.res & POLLIN, POLLIN);
		ck_assert_int_eq(read(fds[0], &p.res, 1), 1);
		td__loop_timer_disarm(l, &T[0]);
		ck_assert_int_ge(td__loop_run(l, 0), 0);
		ck_assert_uint_eq(td__loop_inflight(l), 0);
	}
	td__loop_free(l);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* ---- epoll: cancellation and what epoll cannot watch ---- */

START_TEST(epoll_cancel_is_synchronous)
{
	struct rec c = {{on_op, -1}, 0, 0}, p = {{on_op, -1}, 0, 0};
	char buf[8];
	int fds[2], other[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(other), 0);
	ck_assert_int_eq(td__loop_read(L, &c.op, fds[0], buf, sizeof(buf)), 0);
	ck_assert_int_eq(td__loop_poll_in(L, &p.op, other[0]), 0);
	ck_assert_int_eq(td__loop_run(L, 0), 0);
	/* data arrives, but the cancel comes first: the read never happens */
	ck_assert_int_eq(write(fds[1], "late", 4), 4);
	ck_assert_int_eq(td__loop_cancel(L, &c.op), 0);
	ck_assert_int_eq(c.calls, 0); /* never inside the cancel */
	ck_assert_int_eq(td__loop_next_deadline(L), 0);
	ck_assert_int_eq(td__loop_run(L, 1), 1);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.res, -ECANCELED);
	ck_assert_int_eq(read(fds[0], buf, sizeof(buf)), 4); /* still there */
	/* the descriptor can be re-armed at once, and a second cancel is a no-op */
	ck_assert_int_eq(td__loop_cancel(L, &c.op), 0);
	ck_assert_int_eq(td__loop_read(L, &c.op, fds[0], buf, sizeof(buf)), 0);
	ck_assert_int_eq(write(fds[1], "ok", 2), 2);
	while (c.calls < 2)
		ck_assert_int_ge(td__loop_run(L, 1), 0);
	ck_assert_int_eq(c.res, 2);
	/* a second request on a descriptor with one in flight is refused */
	ck_assert_int_eq(td__loop_poll(L, &c.op, other[0], POLLIN), -EBUSY);
	ck_assert_int_eq(td__loop_cancel(L, &p.op), 0);
	close(other[0]); /* closed right after the cancel: nothing arrives for it */
	close(other[1]);
	while (td__loop_inflight(L))
		ck_assert_int_ge(td__loop_run(L, 1), 0);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_int_eq(p.res, -ECANCELED);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* Two requests ready in the same turn: the first one's callback cancels the second, which
 * then completes once, cancelled, and its descriptor is not read. */
static struct rec pair[2];
static void cancel_other(struct td__op *op, int res)
{
	struct rec *r = (struct rec *)op;

	r->res = res;
	r->calls++;
	td__loop_cancel(L, &pair[r == &pair[0] ? 1 : 0].op);
}

START_TEST(epoll_cancel_within_a_batch)
{
	char b0[4], b1[4];
	int a[2], b[2];

	pair[0] = (struct rec){{cancel_other, -1}, 0, 0};
	pair[1] = (struct rec){{cancel_other, -1}, 0, 0};
	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	ck_assert_int_eq(td__loop_read(L, &pair[0].op, a[0], b0, sizeof(b0)), 0);
	ck_assert_int_eq(td__loop_read(L, &pair[1].op, b[0], b1, sizeof(b1)), 0);
	ck_assert_int_eq(write(a[1], "x", 1), 1);
	ck_assert_int_eq(write(b[1], "y", 1), 1);
	while (td__loop_inflight(L))
		ck_assert_int_ge(td__loop_run(L, 1), 0);
	ck_assert_int_eq(pair[0].calls, 1);
	ck_assert_int_eq(pair[1].calls, 1);
	/* one was read, the other cancelled (which one depends on the kernel's order) */
	ck_assert_int_eq((pair[0].res == 1) + (pair[1].res == 1), 1);
	ck_assert_int_eq((pair[0].res == -ECANCELED) + (pair[1].res == -ECANCELED), 1);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}
END_TEST

/* epoll cannot watch a regular file: the read happens at once, its result comes next turn */
START_TEST(read_regular_file)
{
	struct rec r = {{on_op, -1}, 0, 0};
	char path[] = "/tmp/td_loop_XXXXXX", buf[16] = {0};
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, "file", 4), 4);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(td__loop_read(L, &r.op, fd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(r.calls, 0);
	while (!r.calls)
		ck_assert_int_ge(td__loop_run(L, 1), 0);
	ck_assert_int_eq(r.res, 4);
	ck_assert_str_eq(buf, "file");
	ck_assert_uint_eq(td__loop_inflight(L), 0);
	close(fd);
}
END_TEST

static void setup_epoll(void)
{
	ck_assert_int_eq(td__loop_open(&L, 64, TD_LOOP_EPOLL, NULL), 0);
	ck_assert_str_eq(td__loop_name(L), "epoll");
}

static Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, heap_fires_in_deadline_order);
	tcase_add_test(tc, wait_sleeps_until_deadline);
	tcase_add_test(tc, defer_runs_next_turn_in_order);
	tcase_add_test(tc, poll_read_send_cancel);
	tcase_add_test(tc, fd_is_pollable);
	tcase_add_test(tc, uring_refused_messages);
	tcase_add_test(tc, uring_refused_through_run_new);
	tcase_add_test(tc, uring_missing_features);
	tcase_add_test(tc, uring_older_taskrun_modes);
	tcase_add_test(tc, capbuf_head_tail_marker);
	tcase_add_test(tc, capbuf_renders_exact_size);
	tcase_add_test(tc, auto_falls_back_to_epoll);
	tcase_add_test(tc, backend_env_forces_or_refuses);
	tcase_add_test(tc, uring_internal_timeout_skipped);
	tcase_add_test(tc, read_regular_file);
	suite_add_tcase(s, tc);
	/* the same requests, timers and waits on the epoll loop, whatever TOOLDAG_BACKEND says */
	tc = tcase_create("epoll");
	tcase_add_checked_fixture(tc, setup_epoll, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, heap_fires_in_deadline_order);
	tcase_add_test(tc, wait_sleeps_until_deadline);
	tcase_add_test(tc, defer_runs_next_turn_in_order);
	tcase_add_test(tc, poll_read_send_cancel);
	tcase_add_test(tc, fd_is_pollable);
	tcase_add_test(tc, host_wait_not_interrupted);
	tcase_add_test(tc, epoll_cancel_is_synchronous);
	tcase_add_test(tc, epoll_cancel_within_a_batch);
	tcase_add_test(tc, read_regular_file);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(loop_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test_loop.c - the io_uring loop: the deadline heap (order, disarm, re-arm, many timers behind
 * one wait), deferred callbacks, ring requests (poll, read, send, cancel), the bounded output
 * buffer, and the io_uring setup failure messages (TD_TEST_URING_FAIL).
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	struct rec p = {{on_op}, 0, 0}, rd = {{on_op}, 0, 0}, s = {{on_op}, 0, 0},
	           c = {{on_op}, 0, 0};
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
	struct rec p = {{on_op}, 0, 0};
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
	ck_assert_int_eq(td__loop_new(&l, 8, &d), TD_ENOURING);
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
	assert_refusal("bogus", "io_uring setup failed: Invalid argument");
	if (v == '0' || v == EOF)
		assert_refusal("ENOSYS",
		               "io_uring is disabled (kernel.io_uring_disabled sysctl, or "
		               "a seccomp filter in this container): io_uring_setup "
		               "failed with ENOSYS");
}
END_TEST

START_TEST(uring_refused_through_run_new)
{
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
	ck_assert_int_eq(td_run_new(&p, NULL, &r, &d), TD_ENOURING);
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
	tcase_add_test(tc, capbuf_head_tail_marker);
	tcase_add_test(tc, capbuf_renders_exact_size);
	suite_add_tcase(s, tc);
	return s;
}

#include "td_check_main.h"

int main(void)
{
	return td_check_run(loop_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * resolve.c - host names looked up on a thread of their own, answered through an eventfd
 * (resolve.h). The record's mutex orders what the thread writes (the answer, done) before
 * what the loop reads, and guards refs; everything else is the owner's (the loop thread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exec/resolve.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct td__lookup {
	pthread_mutex_t mu;
	int refs; /* the thread's and the owner's (under mu) */
	int efd;
	unsigned delay_ms;
	char host[256];
	/* the answer (under mu) */
	bool done;
	int gai, sys_errno;
	char addr[TD__ADDR_LEN];
	/* the owner's, on the loop */
	struct td__loop *loop;
	struct td__op op;
	uint64_t count;
	bool reading, cancelled;
	td__resolved_fn fn;
	void *priv;
};

static atomic_uint threads, started;

unsigned td__resolve_threads(void)
{
	return atomic_load(&threads);
}

unsigned td__resolve_started(void)
{
	return atomic_load(&started);
}

int td__resolve_numeric(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void release(struct td__lookup *lk)
{
	bool last;

	pthread_mutex_lock(&lk->mu);
	last = --lk->refs == 0;
	pthread_mutex_unlock(&lk->mu);
	if (!last)
		return;
	close(lk->efd);
	pthread_mutex_destroy(&lk->mu);
	td__free(lk);
}

static void *lookup_thread(void *p)
{
	struct td__lookup *lk = p;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai, *pick = NULL;
	char addr[TD__ADDR_LEN] = "";
	uint64_t one = 1;
	int gai, sys_errno = 0;

	if (lk->delay_ms) {
		struct timespec ts = {lk->delay_ms / 1000, (long)(lk->delay_ms % 1000) * 1000000};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	gai = getaddrinfo(lk->host, NULL, &hints, &res);
	if (gai == EAI_SYSTEM)
		sys_errno = errno;
	for (ai = gai ? NULL : res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		} else if (ai->ai_family == AF_INET6 && !pick)
			pick = ai;
	if (pick) {
		const void *a =
		    pick->ai_family == AF_INET
		        ? (const void *)&((struct sockaddr_in *)pick->ai_addr)->sin_addr
		        : (const void *)&((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr;

		inet_ntop(pick->ai_family, a, addr, sizeof(addr));
	} else if (!gai)
		gai = EAI_NONAME; /* only addresses of other families */
	if (res)
		freeaddrinfo(res);
	pthread_mutex_lock(&lk->mu);
	lk->gai = gai;
	lk->sys_errno = sys_errno;
	memcpy(lk->addr, addr, sizeof(addr));
	lk->done = true;
	pthread_mutex_unlock(&lk->mu);
	/* an eventfd write of 1 cannot block or fail short of a counter overflow */
	if (write(lk->efd, &one, sizeof(one)) < 0)
		(void)0;
	release(lk);
	atomic_fetch_sub(&threads, 1);
	return NULL;
}

/* The answer, read under the mutex: 0 with addr, -1 with why, or -2 when there is none yet. */
static int answer(struct td__lookup *lk, char *addr, char *why, size_t whylen)
{
	int gai, sys_errno;
	bool done;

	pthread_mutex_lock(&lk->mu);
	done = lk->done;
	gai = lk->gai;
	sys_errno = lk->sys_errno;
	memcpy(addr, lk->addr, TD__ADDR_LEN);
	pthread_mutex_unlock(&lk->mu);
	if (!done)
		return -2;
	if (gai)
		snprintf(why, whylen, "%s",
		         gai == EAI_SYSTEM ? strerror(sys_errno) : gai_strerror(gai));
	return gai ? -1 : 0;
}

static struct td__lookup *lookup_new(const char *host)
{
	struct td__lookup *lk;
	const char *delay = getenv("TD_TEST_RESOLVE_DELAY_MS");

	if (strlen(host) >= sizeof(lk->host)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (!(lk = td__calloc(1, sizeof(*lk)))) {
		errno = ENOMEM;
		return NULL;
	}
	if ((lk->efd = eventfd(0, EFD_CLOEXEC)) < 0) {
		int err = errno;

		td__free(lk);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&lk->mu, NULL);
	snprintf(lk->host, sizeof(lk->host), "%s", host);
	lk->delay_ms = delay ? (unsigned)strtoul(delay, NULL, 10) : 0;
	lk->refs = 2;
	return lk;
}

/* The thread, detached, with every signal blocked (they are the host's to take). */
static int thread_start(struct td__lookup *lk)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int err;

	if ((err = pthread_attr_init(&attr)))
		return -err;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_fetch_add(&threads, 1);
	atomic_fetch_add(&started, 1);
	err = pthread_create(&t, &attr, lookup_thread, lk);
	if (err)
		atomic_fetch_sub(&threads, 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -err;
}

static void on_read(struct td__op *op, int res)
{
	struct td__lookup *lk = CONTAINER(op, struct td__lookup, op);
	char addr[TD__ADDR_LEN], why[160] = "";
	td__resolved_fn fn = lk->fn;
	void *priv = lk->priv;
	int ok;

	lk->reading = false;
	if (lk->cancelled)
		return; /* td__resolve_cancel() lets go */
	/* the read fails only if the eventfd does: then there is no answer either */
	if ((ok = answer(lk, addr, why, sizeof(why))) == -2)
		snprintf(why, sizeof(why), "%s", strerror(res < 0 ? -res : EIO));
	release(lk);
	fn(priv, ok == 0 ? addr : NULL, why);
}

int td__resolve_start(struct td__loop *loop, const char *host, td__resolved_fn fn, void *priv,
                      struct td__lookup **out)
{
	struct td__lookup *lk = lookup_new(host);
	int err;

	*out = NULL;
	if (!lk)
		return errno == ENOMEM ? TD_ENOMEM : -errno;
	lk->loop = loop;
	lk->fn = fn;
	lk->priv = priv;
	lk->op.fn = on_read;
	if ((err = thread_start(lk))) {
		lk->refs = 1;
		release(lk);
		return err;
	}
	if ((err = td__loop_read(loop, &lk->op, lk->efd, &lk->count, sizeof(lk->count)))) {
		release(lk); /* the thread still holds it */
		return err;
	}
	lk->reading = true;
	*out = lk;
	return 0;
}

void td__resolve_cancel(struct td__lookup *lk)
{
	int i;

	if (!lk)
		return;
	lk->cancelled = true;
	if (lk->reading && td__loop_cancel(lk->loop, &lk->op) == 0)
		for (i = 0; lk->reading && i < 1000; i++)
			if (td__loop_run(lk->loop, 1) < 0)
				break;
	if (lk->reading)
		return; /* the loop still holds the op: leaked rather than freed under it */
	release(lk);
}

int td__resolve_wait(const char *host, int timeout_ms, char addr[TD__ADDR_LEN], char *why,
                     size_t whylen)
{
	struct td__lookup *lk = lookup_new(host);
	struct timespec t0, t1;
	struct pollfd pfd;
	int err, left = timeout_ms, rc;

	if (!lk) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if ((err = thread_start(lk))) {
		lk->refs = 1;
		release(lk);
		snprintf(why, whylen, "%s", strerror(-err));
		return -1;
	}
	pfd.fd = lk->efd;
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((rc = poll(&pfd, 1, left)) < 0 && errno == EINTR) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms -
		       (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left < 0)
			left = 0;
	}
	if ((rc = answer(lk, addr, why, whylen)) == -2)
		snprintf(why, whylen, "no answer within %dms", timeout_ms);
	release(lk);
	return rc < 0 ? -1 : 0;
}

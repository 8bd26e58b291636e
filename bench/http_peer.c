/* SPDX-License-Identifier: MIT */
/*
 * http_peer.c - the benchmark's HTTP server: one thread, epoll, HTTP/1.1 keep-alive, on
 * 127.0.0.1 only. Fast enough that the clients being compared, not the server, set the pace.
 *
 *   http_peer [--lifetime SECONDS]     prints "PORT <n>", serves until the lifetime ends
 *
 * Every request gets a 2-byte JSON body "{}"; a path /delay/MS answers after MS milliseconds
 * (requests wait in a FIFO: one delay per server run keeps it ordered by due time). Request
 * bodies (Content-Length) are read and dropped. Not a general server: no chunked requests,
 * no pipelining beyond what the buffer holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFD  65536
#define BUFCAP 65536

struct conn {
	char buf[BUFCAP];
	size_t len;
	size_t skip; /* body bytes still to drop */
};

static struct conn *conns[MAXFD];

struct pending {
	int fd;
	long long due;
};
static struct pending *queue;
static size_t qhead, qtail, qcap;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void reply(int fd)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                        "Content-Length: 2\r\n\r\n{}";

	if (write(fd, r, sizeof(r) - 1) < 0 && errno != EAGAIN)
		return;
}

static void push(int fd, long long due)
{
	if (qtail == qcap) {
		memmove(queue, queue + qhead, (qtail - qhead) * sizeof(*queue));
		qtail -= qhead;
		qhead = 0;
		if (qtail == qcap) {
			qcap = qcap ? qcap * 2 : 1024;
			queue = realloc(queue, qcap * sizeof(*queue));
			if (!queue)
				exit(1);
		}
	}
	queue[qtail].fd = fd;
	queue[qtail++].due = due;
}

/* One complete request at the start of c->buf: handles it, returns its length or 0. */
static size_t one_request(int fd, struct conn *c)
{
	char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	size_t hlen, body = 0;
	char *cl, *p;
	long ms = 0;

	if (!end)
		return 0;
	hlen = (size_t)(end - c->buf) + 4;
	*end = '\0';
	cl = strcasestr(c->buf, "\r\ncontent-length:");
	if (cl)
		body = strtoul(cl + 17, NULL, 10);
	p = strstr(c->buf, " /delay/");
	if (p && p < strchr(c->buf, '\r'))
		ms = strtol(p + 8, NULL, 10);
	c->skip = body;
	if (ms > 0)
		push(fd, now_ms() + ms);
	else
		reply(fd);
	return hlen;
}

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

static void readable(int ep, int fd)
{
	struct conn *c = conns[fd];
	ssize_t n;
	size_t used;

	for (;;) {
		n = read(fd, c->buf + c->len, BUFCAP - c->len);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			drop(ep, fd);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		for (;;) {
			if (c->skip) {
				size_t k = c->skip < c->len ? c->skip : c->len;

				memmove(c->buf, c->buf + k, c->len - k);
				c->len -= k;
				c->skip -= k;
				if (c->skip)
					break;
			}
			used = one_request(fd, c);
			if (!used)
				break;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
		}
		if (c->len == BUFCAP) {
			drop(ep, fd);
			return;
		}
	}
}

static void accept_all(int ep, int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (fd >= MAXFD || !(conns[fd] = calloc(1, sizeof(struct conn)))) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static int listen_local(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		perror("http_peer: listen");
		exit(1);
	}
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256], ev = {.events = EPOLLIN};
	long long stop = now_ms() + 300 * 1000LL;
	int lfd, ep, n, i, wait;

	if (argc == 3 && !strcmp(argv[1], "--lifetime"))
		stop = now_ms() + strtol(argv[2], NULL, 10) * 1000LL;
	lfd = listen_local();
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (now_ms() < stop) {
		wait = qhead < qtail ? (int)(queue[qhead].due - now_ms()) : 1000;
		n = epoll_wait(ep, evs, 256, wait < 0 ? 0 : wait);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd)
				accept_all(ep, lfd);
			else if (conns[evs[i].data.fd])
				readable(ep, evs[i].data.fd);
		}
		while (qhead < qtail && queue[qhead].due <= now_ms()) {
			if (conns[queue[qhead].fd])
				reply(queue[qhead].fd);
			qhead++;
		}
	}
	return 0;
}

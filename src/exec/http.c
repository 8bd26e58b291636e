/* SPDX-License-Identifier: MIT */
/*
 * http.c - the HTTP backend: `http:` tools through libcurl's multi interface, driven by the
 * run's own io_uring loop. The only file that includes curl/curl.h.
 *
 * How curl and the ring meet (no second event loop, no thread per request):
 *   - CURLMOPT_SOCKETFUNCTION: curl names a socket and what it waits for; the socket gets a
 *     struct hsock whose one-shot poll sits on the ring. When the poll completes we call
 *     curl_multi_socket_action() for that socket and arm a new poll if curl still wants one.
 *     If curl changes its interest while a poll is out, the poll is cancelled and its
 *     completion (-ECANCELED) arms the new mask. A socket curl is done with keeps its record
 *     until its last poll came back: the ring holds a pointer to it.
 *   - CURLMOPT_TIMERFUNCTION: one td__timer in the run's deadline heap; when it fires,
 *     curl_multi_socket_action(CURL_SOCKET_TIMEOUT). Per-request deadlines are curl's
 *     (CURLOPT_TIMEOUT_MS), so they live behind that one timer too.
 *   - After each socket_action, finished transfers (curl_multi_info_read) become outcomes and
 *     done() (which only queues: scheduler code never runs inside a curl callback, so it may
 *     call kill() -> curl_multi_remove_handle() safely).
 *
 * One multi handle per backend, one backend per run: every call of the run shares its
 * connection cache (keep-alive, HTTP/2 multiplexing) and DNS cache.
 *
 * Retries: only connection errors, 429 and 5xx are worth another attempt; everything else is
 * marked no_retry. A Retry-After header becomes job->retry_after_us, which the scheduler uses
 * as the delay (a delay past the call's timeout is not waited for: no retry).
 *
 * The same machinery carries other components' transfers (td__curl_*, exec/http.h: the MCP
 * Streamable HTTP transport): a transfer's CURLOPT_PRIVATE is its struct td__curl_xfer, whose
 * done() is called when it ends; an http: call's record is one of them.
 *
 * Secrets: URLs and header values may hold API keys (${VAR} expanded at load time), so no
 * message built here contains the URL or a header; curl's error texts name host and port.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "exec/backends.h"
#include "exec/capbuf.h"
#include "exec/http.h"
#include "exec/http_query.h"

#define TD_HTTP_MAX_REDIRS 10L
/* Descriptors an HTTP call holds in flight: its socket, and while a host name resolves the
 * threaded resolver's socket pair. */
#define TD_FDS_PER_HTTP 3u
/* Idle connections kept for reuse: an eighth of the descriptor budget, at most this many. */
#define TD_HTTP_IDLE_MAX 32u
/* how much of an error response's body goes into the error result */
#define TD_HTTP_ERROR_BODY 512u

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct http_backend;

struct hsock {
	struct td__op op;
	struct http_backend *hb;
	curl_socket_t fd;
	unsigned want;             /* POLLIN|POLLOUT curl asked for */
	unsigned armed;            /* the mask of the poll in flight */
	bool inflight;             /* a poll (or its cancellation) is on the ring */
	bool cancelling;           /* a cancel was asked for that poll */
	bool busy;                 /* inside socket_action for this socket: do not free */
	bool gone;                 /* curl said CURL_POLL_REMOVE */
	bool failed;               /* its poll could not be armed: in http_backend.failed */
	struct hsock *prev, *next; /* live list (all records not in the free list) */
	struct hsock *next_failed;
};

struct hjob {
	struct td__curl_xfer x; /* x.easy is easy */
	struct td__job *job;
	struct http_backend *hb;
	CURL *easy; /* kept across jobs (curl_easy_reset) */
	struct td__capbuf body;
	char status[128]; /* the last response's status line, e.g. "HTTP/1.1 503 Busy" */
	int64_t retry_after_us;
	int sock_err;            /* errno of a socket() that failed (EMFILE: no descriptor left) */
	struct curl_slist *hdrs; /* the request's headers (curl reads them until it ends) */
	char errbuf[CURL_ERROR_SIZE];
	struct hjob *next_free;
};

struct http_backend {
	struct td__backend be;
	CURLM *multi; /* created at the first http call */
	struct td__timer timer;
	struct hsock *live, *free_socks;
	struct hjob *free_jobs;
	uint64_t *fd_room; /* the host's descriptor budget: the connection cache takes its share */
	bool closing;
	/* sockets whose poll the ring refused, handled at the next loop turn (outside curl) */
	struct hsock *failed;
	struct td__timer retry;
	bool retry_queued;
	bool test_poll_fail;      /* TD_TEST_HTTP_POLL_FAIL: every poll is refused (tests) */
	long max_idle, max_total; /* curl's connection caps from the descriptor budget; 0: none */
};

/* ---- process-wide setup ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in every curl version: once per process */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- sockets on the ring ---- */

static void hsock_release(struct hsock *hs)
{
	struct http_backend *hb = hs->hb;

	if (hs->prev)
		hs->prev->next = hs->next;
	else
		hb->live = hs->next;
	if (hs->next)
		hs->next->prev = hs->prev;
	hs->next = hb->free_socks;
	hb->free_socks = hs;
}

static void sock_arm(struct hsock *hs);
static void check_done(struct http_backend *hb);

static int curl_events(int res)
{
	int ev = 0;

	if (res < 0)
		return res == -ECANCELED ? 0 : CURL_CSELECT_ERR;
	if (res & (POLLIN | POLLHUP))
		ev |= CURL_CSELECT_IN;
	if (res & POLLOUT)
		ev |= CURL_CSELECT_OUT;
	if (res & POLLERR)
		ev |= CURL_CSELECT_ERR;
	return ev;
}

static void on_sock(struct td__op *op, int res)
{
	struct hsock *hs = CONTAINER(op, struct hsock, op);
	struct http_backend *hb = hs->hb;
	int ev = curl_events(res), running;

	hs->inflight = hs->cancelling = false;
	if (!hs->gone && ev) {
		hs->busy = true;
		curl_multi_socket_action(hb->multi, hs->fd, ev, &running);
		hs->busy = false;
	}
	if (hs->gone)
		hsock_release(hs);
	else
		sock_arm(hs);
	check_done(hb);
}

/* A poll for what curl wants, or a cancel of the one out when curl changed its mind. */
static void sock_arm(struct hsock *hs)
{
	struct td__loop *l = hs->hb->be.loop;

	if (hs->inflight) {
		if (hs->armed != hs->want && !hs->cancelling && td__loop_cancel(l, &hs->op) == 0)
			hs->cancelling = true;
		return;
	}
	if (!hs->want || hs->busy)
		return; /* busy: on_sock arms when socket_action returns */
	if (!hs->hb->test_poll_fail && td__loop_poll(l, &hs->op, hs->fd, hs->want) == 0) {
		hs->armed = hs->want;
		hs->inflight = true;
		return;
	}
	/* Nothing else would look at this socket again (curl waits for us to report it): the
	 * next loop turn tries once more, then tells curl it failed. Not from here: this may be
	 * inside a curl callback, where socket_action must not be called. */
	if (hs->failed)
		return;
	hs->failed = true;
	hs->next_failed = hs->hb->failed;
	hs->hb->failed = hs;
	if (!hs->hb->retry_queued) {
		hs->hb->retry_queued = true;
		td__loop_defer(l, &hs->hb->retry);
	}
}

/* The sockets whose poll was refused: armed now, or reported to curl as failed. */
static void on_retry(struct td__timer *t)
{
	struct http_backend *hb = CONTAINER(t, struct http_backend, retry);
	struct hsock *hs = hb->failed, *next;
	int running;

	hb->failed = NULL;
	hb->retry_queued = false;
	for (; hs; hs = next) {
		next = hs->next_failed;
		hs->failed = false;
		if (!hs->gone && !hs->inflight && hs->want && !hb->test_poll_fail &&
		    td__loop_poll(hb->be.loop, &hs->op, hs->fd, hs->want) == 0) {
			hs->armed = hs->want;
			hs->inflight = true;
			continue;
		}
		if (!hs->gone && !hs->inflight) {
			hs->busy = true;
			curl_multi_socket_action(hb->multi, hs->fd, CURL_CSELECT_ERR, &running);
			hs->busy = false;
		}
		if (hs->gone && !hs->inflight)
			hsock_release(hs);
	}
	check_done(hb);
}

static struct hsock *hsock_new(struct http_backend *hb, curl_socket_t fd)
{
	struct hsock *hs = hb->free_socks;

	if (hs)
		hb->free_socks = hs->next;
	else if (!(hs = td__malloc(sizeof(*hs))))
		return NULL;
	memset(hs, 0, sizeof(*hs));
	hs->op.fn = on_sock;
	hs->hb = hb;
	hs->fd = fd;
	hs->next = hb->live;
	if (hb->live)
		hb->live->prev = hs;
	hb->live = hs;
	return hs;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *sockp)
{
	struct http_backend *hb = ud;
	struct hsock *hs = sockp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (!hs)
			return 0;
		curl_multi_assign(hb->multi, fd, NULL);
		hs->gone = true;
		hs->want = 0;
		if (hs->inflight && !hs->cancelling && !hb->closing &&
		    td__loop_cancel(hb->be.loop, &hs->op) == 0)
			hs->cancelling = true;
		if (!hs->inflight && !hs->busy && !hs->failed) /* else released where that ends */
			hsock_release(hs);
		return 0;
	}
	if (!hs) {
		if (!(hs = hsock_new(hb, fd)))
			return -1; /* curl fails the transfer */
		curl_multi_assign(hb->multi, fd, hs);
	}
	hs->want = (what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0);
	sock_arm(hs);
	return 0;
}

/* ---- curl's timer in the run's deadline heap ---- */

static void on_timer(struct td__timer *t)
{
	struct http_backend *hb = CONTAINER(t, struct http_backend, timer);
	int running;

	curl_multi_socket_action(hb->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(hb);
}

static int on_curl_timer(CURLM *multi, long ms, void *ud)
{
	struct http_backend *hb = ud;

	(void)multi;
	if (hb->closing) /* curl_multi_cleanup() may still ask; no loop turn follows */
		return 0;
	if (ms < 0)
		td__loop_timer_disarm(hb->be.loop, &hb->timer);
	else if (td__loop_timer_arm(hb->be.loop, &hb->timer, td__now_us() + (int64_t)ms * 1000))
		return -1;
	return 0;
}

/* ---- receiving ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct hjob *hj = ud;

	/* past max_output the buffer keeps head and tail only; an allocation failure loses
	 * bytes, not the transfer */
	td__capbuf_append(&hj->body, p, size * n);
	return size * n;
}

/* Retry-After: delta-seconds or an HTTP date; 0 when absent or unreadable. */
static int64_t parse_retry_after(const char *p, size_t len)
{
	char buf[64];
	long long secs = 0;
	size_t i = 0;
	time_t when;

	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == len || len - i >= sizeof(buf))
		return 0;
	if (p[i] >= '0' && p[i] <= '9') {
		for (; i < len && p[i] >= '0' && p[i] <= '9' && secs < 100000000; i++)
			secs = secs * 10 + (p[i] - '0');
		return i == len ? (secs ? secs * 1000000 : 1) : 0;
	}
	memcpy(buf, p + i, len - i);
	buf[len - i] = '\0';
	when = curl_getdate(buf, NULL);
	if (when < 0)
		return 0;
	secs = (long long)(when - time(NULL));
	return secs > 0 ? secs * 1000000 : 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct hjob *hj = ud;
	size_t len = size * n, k;

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100 Continue): forget the previous one */
		for (k = len; k && (p[k - 1] == '\r' || p[k - 1] == '\n' || p[k - 1] == ' '); k--)
			;
		if (k >= sizeof(hj->status))
			k = sizeof(hj->status) - 1;
		memcpy(hj->status, p, k);
		hj->status[k] = '\0';
		hj->retry_after_us = 0;
	} else if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		hj->retry_after_us = parse_retry_after(p + 12, len - 12);
	}
	return len;
}

/* ---- outcomes ---- */

static bool connection_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* The first bytes of the body, cut at a line end or a UTF-8 boundary, trailing space gone. */
static void body_start(const struct hjob *hj, struct td__buf *b)
{
	const struct td__buf *h = &hj->body.head;
	size_t n = h->len < TD_HTTP_ERROR_BODY ? h->len : TD_HTTP_ERROR_BODY;

	while (n < h->len && n && ((unsigned char)h->data[n] & 0xc0) == 0x80)
		n--;
	while (n && (h->data[n - 1] == '\n' || h->data[n - 1] == '\r' || h->data[n - 1] == ' '))
		n--;
	if (!n)
		return;
	td__buf_puts(b, ": ");
	td__buf_append(b, h->data, n);
	if (n < h->len)
		td__buf_puts(b, "...");
}

static void status_error(struct hjob *hj, long code, struct td__buf *b)
{
	struct td__job *job = hj->job;
	char d1[32], d2[32];

	job->status = TD_STATUS_ERROR;
	if (hj->status[0])
		td__buf_puts(b, hj->status);
	else
		td__buf_printf(b, "HTTP status %ld", code);
	body_start(hj, b);
	if (code != 429 && code < 500) {
		job->no_retry = 1;
		return;
	}
	job->retry_after_us = hj->retry_after_us;
	if (hj->retry_after_us > 0 && job->timeout_us > 0 && hj->retry_after_us > job->timeout_us) {
		td__format_duration(hj->retry_after_us, d1, sizeof(d1));
		td__format_duration(job->timeout_us, d2, sizeof(d2));
		td__buf_printf(b, " (Retry-After %s is past the %s timeout: not retried)", d1, d2);
		job->no_retry = 1;
	}
}

static void transfer_error(struct hjob *hj, CURLcode rc, struct td__buf *b)
{
	struct td__job *job = hj->job;
	const char *why = hj->errbuf[0] ? hj->errbuf : curl_easy_strerror(rc);
	char dur[32];

	if (rc == CURLE_COULDNT_CONNECT && (hj->sock_err == EMFILE || hj->sock_err == ENFILE)) {
		/* the server may be fine: we could not open a socket to reach it */
		job->status = TD_STATUS_ERROR;
		td__buf_printf(b, "cannot open a socket: too many open files (%s)",
		               hj->sock_err == EMFILE ? "the descriptor limit, RLIMIT_NOFILE"
		                                      : "the system's file table");
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		job->status = TD_STATUS_TIMEOUT;
		job->no_retry = 1; /* a deadline overrun is not a connection error */
		td__format_duration(job->timeout_us, dur, sizeof(dur));
		td__buf_printf(b, "timed out after %s", dur);
		return;
	}
	job->status = TD_STATUS_ERROR;
	job->no_retry = !connection_error(rc);
	td__buf_printf(b, "%s: %s", connection_error(rc) ? "connection error" : "request failed",
	               why);
}

static void set_outcome(struct hjob *hj, CURLcode rc)
{
	struct td__job *job = hj->job;
	struct td__buf b = {0};
	long code = 0;

	curl_easy_getinfo(hj->easy, CURLINFO_RESPONSE_CODE, &code);
	job->http_status = code > 0 && code < 1000 ? (int)code : 0;
	job->truncated = 0;
	if (rc != CURLE_OK) {
		transfer_error(hj, rc, &b);
	} else if (code >= 400) {
		status_error(hj, code, &b);
	} else {
		job->status = TD_STATUS_OK;
		job->truncated = td__capbuf_dropped(&hj->body) > 0;
		td__capbuf_render(&hj->body, &b);
	}
	td__free(job->content);
	job->content_len = b.len;
	job->content = td__buf_take(&b);
	if (!job->content && td__job_set_content(job, job->status, "", 0) < 0)
		td__job_set_content(job, TD_STATUS_ERROR, "out of memory", 13);
}

/* ---- job records (pooled, each keeping its easy handle) ---- */

static void hjob_put(struct http_backend *hb, struct hjob *hj)
{
	td__capbuf_free(&hj->body);
	curl_slist_free_all(hj->hdrs);
	hj->hdrs = NULL;
	hj->job = NULL;
	hj->next_free = hb->free_jobs;
	hb->free_jobs = hj;
}

static void hjob_done(struct td__curl_xfer *x, int rc);

static struct hjob *hjob_get(struct http_backend *hb)
{
	struct hjob *hj = hb->free_jobs;

	if (hj) {
		hb->free_jobs = hj->next_free;
		curl_easy_reset(hj->easy);
		return hj;
	}
	if (!(hj = td__calloc(1, sizeof(*hj))))
		return NULL;
	if (!(hj->easy = curl_easy_init())) {
		td__free(hj);
		return NULL;
	}
	hj->x.easy = hj->easy;
	hj->x.done = hjob_done;
	hj->hb = hb;
	return hj;
}

static void deferred_done(struct td__timer *t)
{
	struct td__job *job = CONTAINER(t, struct td__job, timer);

	job->be->done(job->be->ud, job);
}

static void finish(struct hjob *hj, CURLcode rc)
{
	struct http_backend *hb = hj->hb;
	struct td__job *job = hj->job;

	set_outcome(hj, rc);
	curl_multi_remove_handle(hb->multi, hj->easy);
	job->priv = NULL;
	hjob_put(hb, hj);
	hb->be.done(hb->be.ud, job);
}

static void hjob_done(struct td__curl_xfer *x, int rc)
{
	struct hjob *hj = CONTAINER(x, struct hjob, x);

	if (hj->job)
		finish(hj, (CURLcode)rc);
}

static void check_done(struct http_backend *hb)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(hb->multi, &left))) {
		struct td__curl_xfer *x = NULL;
		CURLcode rc = msg->data.result;
		CURL *easy = msg->easy_handle;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(hb->multi, easy);
		if (x)
			x->done(x, (int)rc);
	}
}

/* ---- setting up a request ---- */

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct hjob *hj = ud;
	curl_socket_t fd;

	(void)purpose;
	/* CLOEXEC atomically: a process tool spawned meanwhile must not inherit it */
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd < 0 && hj)
		hj->sock_err = errno; /* curl reports only "couldn't connect" */
	return fd;
}

static bool has_header(const struct td__tool *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->http.nheaders; i++)
		if (!strcasecmp(t->http.headers[i].key, name))
			return true;
	return false;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h, bool *oom)
{
	struct curl_slist *n = curl_slist_append(l, h);

	if (!n)
		*oom = true;
	return n ? n : l;
}

/* The tool's headers: its own, a JSON Content-Type for a body, no Expect. Built per request: a
 * host's runs come from graphs that may be freed and replaced at any time. */
static int tool_headers(const struct td__tool *t, struct curl_slist **out)
{
	struct curl_slist *list = NULL;
	bool oom = false;
	size_t i;

	for (i = 0; i < t->http.nheaders && !oom; i++) {
		char *h = td__asprintf("%s: %s", t->http.headers[i].key, t->http.headers[i].value);

		if (!h) {
			oom = true;
			break;
		}
		list = add_header(list, h, &oom);
		memset(h, 0, strlen(h)); /* may hold a key: do not leave it in freed memory */
		td__free(h);
	}
	if (t->http.body_input && !has_header(t, "Content-Type"))
		list = add_header(list, "Content-Type: application/json", &oom);
	/* "Expect: 100-continue" would cost a round trip (or a 1 s wait) per large body */
	list = add_header(list, "Expect:", &oom);
	if (oom) {
		curl_slist_free_all(list);
		return TD_ENOMEM;
	}
	*out = list;
	return 0;
}

static CURLcode set_method(CURL *e, const struct td__job *job)
{
	const struct td__tool *t = job->tool;
	CURLcode rc = CURLE_OK;

	if (t->http.body_input) {
		rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->input_len);
		if (!rc) /* not copied: the input outlives the job */
			rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, job->input);
	} else if (strcmp(t->http.method, "GET") && strcmp(t->http.method, "DELETE")) {
		rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	}
	if (!rc && strcmp(t->http.method, "POST"))
		rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->http.method);
	return rc;
}

#define SETOPT(e, rc, opt, val)                                                                    \
	do {                                                                                       \
		if ((rc) == CURLE_OK)                                                              \
			(rc) = curl_easy_setopt((e), (opt), (val));                                \
	} while (0)

/* What every transfer on the ring needs: its record, no signals (the library installs no
 * handlers), close-on-exec sockets (sock_ud: the hjob for EMFILE, or NULL), http(s) only. */
static CURLcode common_opts(CURL *e, struct td__curl_xfer *x, struct hjob *sock_ud)
{
	CURLcode rc = CURLE_OK;

	SETOPT(e, rc, CURLOPT_PRIVATE, x);
	SETOPT(e, rc, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, rc, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SETOPT(e, rc, CURLOPT_OPENSOCKETDATA, sock_ud);
	SETOPT(e, rc, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, rc, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	return rc;
}

static CURLcode setup_easy(struct hjob *hj, const char *url, struct curl_slist *hdrs)
{
	const struct td__job *job = hj->job;
	CURL *e = hj->easy;
	CURLcode rc = CURLE_OK;

	SETOPT(e, rc, CURLOPT_URL, url); /* copied */
	rc = rc == CURLE_OK ? common_opts(e, &hj->x, hj) : rc;
	SETOPT(e, rc, CURLOPT_ERRORBUFFER, hj->errbuf);
	SETOPT(e, rc, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(e, rc, CURLOPT_WRITEDATA, hj);
	SETOPT(e, rc, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(e, rc, CURLOPT_HEADERDATA, hj);
	SETOPT(e, rc, CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(e, rc, CURLOPT_MAXREDIRS, TD_HTTP_MAX_REDIRS);
	SETOPT(e, rc, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl was built with */
	SETOPT(e, rc, CURLOPT_USERAGENT, "tooldag/" TD_VERSION_STRING);
	SETOPT(e, rc, CURLOPT_HTTPHEADER, hdrs);
	if (job->timeout_us > 0)
		SETOPT(e, rc, CURLOPT_TIMEOUT_MS,
		       (long)(job->timeout_us >= 1000 ? job->timeout_us / 1000 : 1));
	if (rc == CURLE_OK)
		rc = set_method(e, job);
	return rc;
}

/* An outcome decided before any request (bad input for the query): reported next turn. */
static int fail_early(struct td__backend *be, struct td__job *job, const char *msg)
{
	job->no_retry = 1;
	if (td__job_set_content(job, TD_STATUS_ERROR, msg, strlen(msg)) < 0)
		return TD_ENOMEM;
	job->timer.fn = deferred_done;
	td__loop_defer(be->loop, &job->timer);
	return 0;
}

static void take_budget(struct http_backend *hb, uint64_t *fd_room);

int td__http_backend_ready(struct td__backend *be)
{
	struct http_backend *hb = (struct http_backend *)be;

	if (hb->multi)
		return 0;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return TD_ENOMEM;
	take_budget(hb, hb->fd_room);
	if (!(hb->multi = curl_multi_init()))
		return TD_ENOMEM;
	curl_multi_setopt(hb->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(hb->multi, CURLMOPT_SOCKETDATA, hb);
	curl_multi_setopt(hb->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(hb->multi, CURLMOPT_TIMERDATA, hb);
	if (hb->max_total) {
		curl_multi_setopt(hb->multi, CURLMOPT_MAXCONNECTS, hb->max_idle);
		curl_multi_setopt(hb->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, hb->max_total);
	}
	return 0;
}

static int make_url(const struct td__job *job, struct td__buf *url)
{
	const struct td__tool *t = job->tool;

	if (!t->http.query_input) {
		td__buf_puts(url, t->http.url);
		return url->oom ? TD_ENOMEM : 0;
	}
	return td__http_query_url(url, t->http.url, job->input, job->input_len);
}

static void init_job(struct hjob *hj, struct td__job *job)
{
	hj->job = job;
	hj->status[0] = '\0';
	hj->errbuf[0] = '\0';
	hj->retry_after_us = 0;
	hj->sock_err = 0;
	td__capbuf_init(&hj->body, job->tool->lim.max_output);
	job->exit_code = -1;
	job->signal = job->truncated = job->no_retry = job->http_status = 0;
	job->retry_after_us = 0;
	job->timer.fn = deferred_done;
	job->timer.slot = 0;
	job->priv = hj;
}

static int http_start(struct td__backend *be, struct td__job *job)
{
	struct http_backend *hb = (struct http_backend *)be;
	struct td__buf url = {0};
	struct curl_slist *hdrs;
	struct hjob *hj;
	int r;

	if (!job->tool->http.url || !job->tool->http.method) /* only a hand-made graph lacks them */
		return fail_early(be, job, "http tool without a url");
	if ((r = td__http_backend_ready(be)) < 0 || (r = tool_headers(job->tool, &hdrs)) < 0)
		return r;
	r = make_url(job, &url);
	if (r == -EINVAL) {
		td__buf_free(&url);
		curl_slist_free_all(hdrs);
		return fail_early(be, job, "query parameters need an input that is a JSON object");
	}
	if (r < 0 || !(hj = hjob_get(hb))) {
		td__buf_free(&url);
		curl_slist_free_all(hdrs);
		return TD_ENOMEM;
	}
	init_job(hj, job);
	hj->hdrs = hdrs;
	r = setup_easy(hj, url.data, hdrs) == CURLE_OK ? 0 : TD_ENOMEM;
	memset(url.data, 0, url.len); /* the URL may hold a key */
	td__buf_free(&url);
	/* adding arms curl's timer at 0: the request starts at the loop's next turn */
	if (!r && curl_multi_add_handle(hb->multi, hj->easy) != CURLM_OK)
		r = TD_ENOMEM;
	if (r < 0) {
		job->priv = NULL;
		hjob_put(hb, hj);
	}
	return r;
}

/* Cancelling a request is immediate: the transfer leaves the multi handle at once (its
 * connection is closed or kept by curl), and done() follows at the loop's next turn. */
static void http_kill(struct td__backend *be, struct td__job *job)
{
	struct http_backend *hb = (struct http_backend *)be;
	struct hjob *hj = job->priv;

	if (!hj)
		return;
	curl_multi_remove_handle(hb->multi, hj->easy);
	job->priv = NULL;
	hjob_put(hb, hj);
	job->no_retry = 1;
	if (td__job_set_content(job, TD_STATUS_ERROR, "cancelled", 9) < 0)
		job->status = TD_STATUS_ERROR;
	td__loop_defer(be->loop, &job->timer);
}

static void http_free(struct td__backend *be)
{
	struct http_backend *hb = (struct http_backend *)be;
	struct hjob *hj;
	struct hsock *hs;

	/* no loop turn follows: polls still on the ring are dropped with it */
	hb->closing = true;
	td__loop_timer_disarm(be->loop, &hb->timer);
	hb->failed = NULL; /* their records are on the live list, freed below */
	while ((hj = hb->free_jobs)) {
		hb->free_jobs = hj->next_free;
		curl_easy_cleanup(hj->easy);
		td__free(hj);
	}
	if (hb->multi)
		curl_multi_cleanup(hb->multi);
	while (hb->live)
		hsock_release(hb->live);
	while ((hs = hb->free_socks)) {
		hb->free_socks = hs->next;
		td__free(hs);
	}
	td__free(hb);
}

/*
 * The connection cache's share of the run's descriptor budget: idle connections (at most
 * max_idle) hold descriptors no call accounts for, so they are taken from the budget up
 * front; every call in flight holds its own (fds_per_job). curl's total connections are
 * capped at what those allow, so a call never fails for want of a descriptor: the scheduler
 * holds it back instead.
 */
static void take_budget(struct http_backend *hb, uint64_t *fd_room)
{
	uint64_t room = fd_room ? *fd_room : UINT64_MAX, idle, total;

	if (room == UINT64_MAX)
		return; /* no descriptor limit: curl's defaults */
	idle = room / 8;
	idle = idle < 1 ? 1 : idle > TD_HTTP_IDLE_MAX ? TD_HTTP_IDLE_MAX : idle;
	*fd_room = room > idle ? room - idle : 0;
	total = idle + *fd_room / TD_FDS_PER_HTTP;
	hb->max_idle = (long)idle;
	hb->max_total = total > 0x7fffffff ? 0x7fffffff : (long)total;
}

int td__http_backend_new(struct td__loop *loop, uint64_t *fd_room, struct td__backend **out)
{
	const char *hook = getenv("TD_TEST_HTTP_POLL_FAIL");

	struct http_backend *hb = td__calloc(1, sizeof(*hb));

	*out = hb ? &hb->be : NULL;
	if (!hb)
		return TD_ENOMEM;
	hb->be.start = http_start;
	hb->be.kill = http_kill;
	hb->be.kill_now = http_kill;
	hb->be.free = http_free;
	hb->be.loop = loop;
	hb->be.fds_per_job = TD_FDS_PER_HTTP;
	hb->timer.fn = on_timer;
	hb->retry.fn = on_retry;
	hb->test_poll_fail = hook && *hook;
	hb->fd_room = fd_room;
	return 0;
}

/* ---- other components' transfers (exec/http.h) ---- */

int td__curl_new(struct td__loop *loop, long max_conns, struct td__curl **out)
{
	struct td__backend *be;
	int r = td__http_backend_new(loop, NULL, &be);

	*out = NULL;
	if (r < 0)
		return r;
	((struct http_backend *)be)->max_total = max_conns;
	((struct http_backend *)be)->max_idle = max_conns;
	if ((r = td__http_backend_ready(be)) < 0) {
		http_free(be);
		return r;
	}
	*out = (struct td__curl *)be;
	return 0;
}

int td__curl_add(struct td__curl *cu, struct td__curl_xfer *x)
{
	struct http_backend *hb = (struct http_backend *)cu;

	if (common_opts(x->easy, x, NULL) != CURLE_OK ||
	    curl_multi_add_handle(hb->multi, x->easy) != CURLM_OK)
		return TD_ENOMEM;
	return 0;
}

void td__curl_remove(struct td__curl *cu, struct td__curl_xfer *x)
{
	curl_multi_remove_handle(((struct http_backend *)cu)->multi, x->easy);
}

void td__curl_free(struct td__curl *cu)
{
	if (cu)
		http_free((struct td__backend *)cu);
}

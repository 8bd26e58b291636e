/* SPDX-License-Identifier: MIT */
/*
 * mcp_conn.c - one MCP server's connection: its life, and over stdio the child process and
 * its three pipes (a url: server's transport is mcp_http.c, reached from the functions here).
 *
 *   IDLE --start--> INIT --initialize answered--> READY
 *     ^               |                             |
 *     +--- exited, restarts left ---+---------------+--> DEAD (exited, none left)
 *   any --end of run--> CLOSING (stdin closed, wait, SIGTERM, SIGKILL)
 *
 * Messages are single lines of JSON (the stdio transport forbids embedded newlines). One
 * writer: messages queue in wq and go out through one send at a time, so concurrent requests
 * never interleave on the pipe. stdin is a socket (send with MSG_NOSIGNAL: a server that went
 * away gives EPIPE, never SIGPIPE to the host). stderr is drained into a bounded tail.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/mcp.h"
#include "exec/proc_tool.h"
#include "exec/spawn.h"
#include "load/graph.h"

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define READ_CHUNK   (64u * 1024u)
#define DRAIN_US     (500LL * 1000) /* after an exit: how long a grandchild may hold a pipe */
#define MAX_NOTES    4
#define NOTE_EXCERPT 120

/* The one place a connection changes state. */
void td__mcp_conn_set_state(struct td__mcp_conn *c, enum td__mcp_cstate s)
{
	c->state = s;
}

#define set_state td__mcp_conn_set_state

void td__mcp_conn_init(struct td__mcp_conn *c, const struct td_graph *g, uint32_t server,
                       struct td__loop *loop, const struct td__mcp_events *ev, void *ud)
{
	memset(c, 0, sizeof(*c));
	c->g = g;
	c->server = server;
	c->srv = &g->servers[server];
	c->loop = loop;
	c->ev = ev;
	c->ud = ud;
	c->pidfd = c->in_fd = c->out_fd = c->err_fd = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* ---- the child's environment, program and directory ---- */

/* argv[0] found over the child's PATH; NULL with c->why set. */
static char *find_program(struct td__mcp_conn *c, char **envp)
{
	const char *a0 = c->srv->argv[0];
	char *path;
	int rc = td__child_program(a0, c->g->dir, envp, &path);

	if (rc == 0)
		return path;
	if (rc == TD_ENOMEM)
		snprintf(c->why, sizeof(c->why), "mcp server '%s': out of memory", c->srv->name);
	else
		snprintf(c->why, sizeof(c->why), "mcp server '%s': cannot start '%s': %s",
		         c->srv->name, a0,
		         rc == -EACCES ? "permission denied" : "program not found in PATH");
	return NULL;
}

static char *server_cwd(const struct td__mcp_conn *c)
{
	const char *cwd = c->srv->cwd;

	if (!cwd)
		return td__strdup(c->g->dir ? c->g->dir : ".");
	return cwd[0] == '/' || !c->g->dir ? td__strdup(cwd)
	                                   : td__asprintf("%s/%s", c->g->dir, cwd);
}

/* ---- roots/list ---- */

/* A root as an absolute path: against the graph's directory when relative, with "..", "."
 * and symbolic links resolved when it exists. */
static char *root_path(const struct td__mcp_conn *c, const char *r)
{
	char *joined =
	    r[0] == '/' || !c->g->dir ? td__strdup(r) : td__asprintf("%s/%s", c->g->dir, r);
	char *real = joined ? realpath(joined, NULL) : NULL;

	if (!real)
		return joined;
	td__free(joined);
	joined = td__strdup(real);
	free(real); /* realpath's malloc */
	return joined;
}

void td__mcp_roots_result(const struct td__mcp_conn *c, struct td__buf *b)
{
	size_t i;

	td__buf_puts(b, "{\"roots\":[");
	for (i = 0; i < c->srv->nroots; i++) {
		char *path = root_path(c, c->srv->roots[i]);
		struct td__buf uri = {0};
		const char *p, *base;

		if (!path) {
			b->oom = true;
			break;
		}
		td__buf_puts(&uri, "file://");
		for (p = path; *p; p++) /* RFC 3986: unreserved characters and '/' as they are */
			if (strchr("-._~/", *p) || (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
				td__buf_putc(&uri, *p);
			else
				td__buf_printf(&uri, "%%%02X", (unsigned char)*p);
		base = strrchr(path, '/');
		base = base && base[1] ? base + 1 : path;
		td__buf_puts(b, i ? ",{\"uri\":" : "{\"uri\":");
		td__buf_json_string(b, uri.data ? uri.data : "", uri.len);
		td__buf_puts(b, ",\"name\":");
		td__buf_json_string(b, base, strlen(base));
		td__buf_putc(b, '}');
		b->oom |= uri.oom;
		td__buf_free(&uri);
		td__free(path);
	}
	td__buf_puts(b, "]}");
}

/* ---- ring I/O ---- */

static void maybe_down(struct td__mcp_conn *c);
static void on_line(struct td__mcp_conn *c, char *line, size_t len);

static int read_out(struct td__mcp_conn *c)
{
	td__buf_reserve(&c->rbuf, READ_CHUNK);
	if (c->rbuf.oom || td__loop_read(c->loop, &c->out_op, c->out_fd, c->rbuf.data + c->rbuf.len,
	                                 READ_CHUNK) < 0)
		return -1;
	c->ops++;
	return 0;
}

static int read_err(struct td__mcp_conn *c)
{
	if (td__loop_read(c->loop, &c->err_op, c->err_fd, c->err_chunk, sizeof(c->err_chunk)) < 0)
		return -1;
	c->ops++;
	return 0;
}

/* Splits what arrived into lines; keeps an unfinished last line for the next read. */
static void split_lines(struct td__mcp_conn *c)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(c->rbuf.data + start, '\n', c->rbuf.len - start))) {
		size_t end = (size_t)(nl - c->rbuf.data);

		*nl = '\0';
		if (c->state != TD_MCP_CLOSING && !c->exited)
			on_line(c, c->rbuf.data + start, end - start);
		start = end + 1;
	}
	if (start) {
		memmove(c->rbuf.data, c->rbuf.data + start, c->rbuf.len - start);
		c->rbuf.len -= start;
	}
	if (c->rbuf.len > TD_MCP_MAX_MESSAGE) {
		c->rbuf.len = 0;
		td__mcp_conn_fail(c, "sent a message larger than 16 MiB on stdout");
	}
}

static void on_out(struct td__op *op, int res)
{
	struct td__mcp_conn *c = CONTAINER(op, struct td__mcp_conn, out_op);

	c->ops--;
	if (res > 0) {
		c->rbuf.len += (size_t)res;
		split_lines(c);
		if (read_out(c) == 0)
			return;
	}
	c->stdout_eof = 1;
	close_fd(&c->out_fd);
	maybe_down(c);
}

static void on_err(struct td__op *op, int res)
{
	struct td__mcp_conn *c = CONTAINER(op, struct td__mcp_conn, err_op);

	c->ops--;
	if (res > 0) {
		td__capbuf_append(&c->err, c->err_chunk, (size_t)res);
		if (read_err(c) == 0)
			return;
	}
	c->stderr_eof = 1;
	close_fd(&c->err_fd);
	maybe_down(c);
}

static void flush(struct td__mcp_conn *c)
{
	size_t left;

	if (c->in_fd < 0 || c->woff < c->wbuf.len || !c->wq.len)
		return;
	/* swap: wq becomes what is written, and new messages queue behind it */
	td__buf_free(&c->wbuf);
	c->wbuf = c->wq;
	memset(&c->wq, 0, sizeof(c->wq));
	c->woff = 0;
	left = c->wbuf.len;
	if (td__loop_send(c->loop, &c->in_op, c->in_fd, c->wbuf.data,
	                  left > (1u << 20) ? 1u << 20 : (unsigned)left) == 0)
		c->ops++;
	else
		c->woff =
		    c->wbuf.len; /* a full ring: the server will miss it; its call times out */
}

static void on_in(struct td__op *op, int res)
{
	struct td__mcp_conn *c = CONTAINER(op, struct td__mcp_conn, in_op);
	size_t left;

	c->ops--;
	if (res <= 0 || c->in_fd < 0) { /* EPIPE: the server is gone; its exit says the rest */
		c->woff = c->wbuf.len;
		maybe_down(c);
		return;
	}
	c->woff += (size_t)res;
	left = c->wbuf.len - c->woff;
	if (left) {
		if (td__loop_send(c->loop, &c->in_op, c->in_fd, c->wbuf.data + c->woff,
		                  left > (1u << 20) ? 1u << 20 : (unsigned)left) == 0)
			c->ops++;
		return;
	}
	flush(c);
}

void td__mcp_conn_send(struct td__mcp_conn *c, const char *msg, size_t len)
{
	td__mcp_conn_request(c, -1, msg, len);
}

void td__mcp_conn_request(struct td__mcp_conn *c, int64_t id, const char *msg, size_t len)
{
	if (c->srv->url) {
		td__mcp_http_send(c, id, msg, len);
		return;
	}
	td__buf_append(&c->wq, msg, len);
	td__buf_putc(&c->wq, '\n');
	flush(c);
}

void td__mcp_conn_fds(struct td__mcp_conn *c, uint64_t n)
{
	if (!c->fd_room || *c->fd_room == UINT64_MAX)
		return;
	if (!n) {
		*c->fd_room += c->fds_taken;
		c->fds_taken = 0;
		return;
	}
	n = n < *c->fd_room ? n : *c->fd_room;
	*c->fd_room -= n;
	c->fds_taken += n;
}

void td__mcp_conn_forget(struct td__mcp_conn *c, int64_t id)
{
	if (c->srv->url)
		td__mcp_http_forget(c, id);
}

/* ---- exit ---- */

static void exit_text(struct td__mcp_conn *c, const siginfo_t *si)
{
	const char *during = c->state == TD_MCP_INIT ? " during initialize" : "";

	if (c->why[0])
		return; /* a failure of ours killed it: that is the news */
	if (si->si_code == CLD_EXITED)
		snprintf(c->why, sizeof(c->why), "mcp server '%s' exited with code %d%s",
		         c->srv->name, si->si_status, during);
	else
		snprintf(c->why, sizeof(c->why),
		         "mcp server '%s' was killed by signal %d (SIG%s)%s", c->srv->name,
		         si->si_status,
		         sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?", during);
}

static void on_exit_ready(struct td__op *op, int res)
{
	struct td__mcp_conn *c = CONTAINER(op, struct td__mcp_conn, pid_op);
	siginfo_t si;

	(void)res;
	c->ops--;
	memset(&si, 0, sizeof(si));
	kill(-c->pid, SIGKILL); /* what is left of its group: the zombie leader holds the id */
	while (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	exit_text(c, &si);
	c->exited = 1;
	c->pid = 0;
	close_fd(&c->pidfd);
	close_fd(&c->in_fd);
	td__loop_timer_arm(c->loop, &c->timer, td__loop_now(c->loop) + DRAIN_US);
	maybe_down(c);
}

/* Once exited, all read and nothing of ours on the ring: the connection is down. */
static void maybe_down(struct td__mcp_conn *c)
{
	if (!c->exited || c->out_fd >= 0 || c->err_fd >= 0 || c->ops)
		return;
	td__loop_timer_disarm(c->loop, &c->timer);
	td__mcp_conn_fds(c, 0);
	if (c->state == TD_MCP_CLOSING)
		return;
	set_state(c, c->starts <= c->srv->restarts ? TD_MCP_IDLE : TD_MCP_DEAD);
	c->ev->down(c);
}

/* timer: after an exit, stop waiting for pipes a grandchild holds; at shutdown, escalate */
static void on_timer(struct td__timer *t)
{
	struct td__mcp_conn *c = CONTAINER(t, struct td__mcp_conn, timer);

	if (c->exited) {
		if (c->out_fd >= 0)
			td__loop_cancel(c->loop, &c->out_op);
		if (c->err_fd >= 0)
			td__loop_cancel(c->loop, &c->err_op);
		return;
	}
	kill(-c->pid, c->close_step++ ? SIGKILL : SIGTERM);
	td__loop_timer_arm(c->loop, t, td__loop_now(c->loop) + TD_MCP_CLOSE_WAIT_US);
}

void td__mcp_conn_fail(struct td__mcp_conn *c, const char *why)
{
	if (!c->why[0])
		snprintf(c->why, sizeof(c->why), "mcp server '%s' %s", c->srv->name, why);
	if (c->srv->url)
		td__mcp_http_fail(c);
	else if (c->pid > 0)
		kill(-c->pid, SIGKILL);
}

void td__mcp_conn_tail(const struct td__mcp_conn *c, struct td__buf *b)
{
	struct td__buf t = {0};

	td__capbuf_render(&c->err, &t);
	while (t.len && (t.data[t.len - 1] == '\n' || t.data[t.len - 1] == '\r'))
		t.len--;
	if (t.len) {
		td__buf_puts(b, ": ");
		td__buf_append(b, t.data, t.len);
	}
	td__buf_free(&t);
	if (c->notes.len)
		td__buf_append(b, c->notes.data, c->notes.len);
}

/* ---- messages ---- */

static void note(struct td__mcp_conn *c, const char *what, const char *line, size_t len)
{
	if (c->nnotes++ >= MAX_NOTES)
		return;
	td__buf_printf(&c->notes, "\n(server %s: '", what);
	td__buf_append(&c->notes, line, len > NOTE_EXCERPT ? NOTE_EXCERPT : len);
	td__buf_puts(&c->notes, len > NOTE_EXCERPT ? "...')" : "')");
}

static int is_jsonrpc(const cJSON *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "jsonrpc");

	return cJSON_IsObject(m) && cJSON_IsString(v) && !strcmp(v->valuestring, "2.0");
}

static void on_line(struct td__mcp_conn *c, char *line, size_t len)
{
	cJSON *m, *item;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!len)
		return;
	m = cJSON_ParseWithLength(line, len);
	if (cJSON_IsArray(m)) { /* a batch (2025-03-26 allowed them) */
		cJSON_ArrayForEach(item, m) if (is_jsonrpc(item)) c->ev->message(c, item);
	} else if (is_jsonrpc(m)) {
		c->ev->message(c, m);
	} else {
		note(c, "wrote a line on stdout that is not JSON-RPC", line, len);
	}
	cJSON_Delete(m);
}

void td__mcp_conn_note(struct td__mcp_conn *c, const char *what, const char *text)
{
	note(c, what, text, strlen(text));
}

/* ---- starting ---- */

static const char *const known_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                             "2024-11-05"};

int td__mcp_conn_initialized(struct td__mcp_conn *c, const cJSON *result)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, "protocolVersion");
	size_t i;

	for (i = 0; cJSON_IsString(v) && i < TD__ARRAY_SIZE(known_versions); i++) {
		if (!strcmp(v->valuestring, known_versions[i])) {
			c->protocol = known_versions[i];
			set_state(c, TD_MCP_READY);
			td__mcp_conn_send(
			    c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
			    54);
			return 0;
		}
	}
	snprintf(c->why, sizeof(c->why),
	         "mcp server '%s' answered initialize with protocol version %.40s%s%s; tooldag "
	         "speaks 2024-11-05 to 2025-11-25",
	         c->srv->name, cJSON_IsString(v) ? "'" : "",
	         cJSON_IsString(v) ? v->valuestring : "none", cJSON_IsString(v) ? "'" : "");
	return -1;
}

static int pipes(int in[2], int out[2], int err[2])
{
	in[0] = in[1] = out[0] = out[1] = err[0] = err[1] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static void close_all(int in[2], int out[2], int err[2])
{
	int k;

	for (k = 0; k < 2; k++) {
		close_fd(&in[k]);
		close_fd(&out[k]);
		close_fd(&err[k]);
	}
}

static int spawn_server(struct td__mcp_conn *c, char **envp, const char *path, const char *cwd)
{
	int in[2], out[2], err[2], r;
	enum td__spawn_step step = TD_SPAWN_EXEC;
	struct td__spawn s = {.path = path, .argv = c->srv->argv, .envp = envp, .cwd = cwd};

	if ((r = pipes(in, out, err)) < 0) {
		close_all(in, out, err);
		return r;
	}
	s.fd[0] = in[1];
	s.fd[1] = out[1];
	s.fd[2] = err[1];
	r = td__spawn(&s, &c->pid, &step);
	c->in_fd = in[0];
	c->out_fd = out[0];
	c->err_fd = err[0];
	in[0] = out[0] = err[0] = -1;
	close_all(in, out, err);
	if (r < 0 && step == TD_SPAWN_CWD)
		snprintf(c->why, sizeof(c->why),
		         "mcp server '%s': cannot start '%s': cannot change to its cwd '%s': %s",
		         c->srv->name, c->srv->argv[0], cwd, strerror(-r));
	else if (r < 0)
		snprintf(c->why, sizeof(c->why), "mcp server '%s': cannot start '%s': %s (%s)",
		         c->srv->name, c->srv->argv[0], strerror(-r), path);
	return r;
}

static int watch(struct td__mcp_conn *c)
{
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0 || td__loop_poll_in(c->loop, &c->pid_op, c->pidfd) < 0)
		return -1;
	c->ops++;
	if (read_out(c) < 0 || read_err(c) < 0)
		return -1;
	return 0;
}

static void reset(struct td__mcp_conn *c)
{
	c->rbuf.len = c->wq.len = c->wbuf.len = c->woff = 0;
	c->exited = c->stdout_eof = c->stderr_eof = c->close_step = 0;
	c->why[0] = '\0';
	c->protocol = NULL;
	td__capbuf_free(&c->err);
	td__capbuf_init_tail(&c->err, TD_MCP_STDERR_TAIL);
	c->pid_op.fn = on_exit_ready;
	c->out_op.fn = on_out;
	c->err_op.fn = on_err;
	c->in_op.fn = on_in;
	c->timer.fn = on_timer;
}

/* A started child that cannot be watched: kill it, reap it here (rare: no pidfd, ring full). */
static void abandon(struct td__mcp_conn *c)
{
	kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
	snprintf(c->why, sizeof(c->why), "mcp server '%s': cannot watch its process: %s",
	         c->srv->name, strerror(errno ? errno : EAGAIN));
}

/* Capabilities: roots only for a server whose declaration lists them. */
void td__mcp_initialize_msg(const struct td__mcp_conn *c, struct td__buf *b, int64_t id)
{
	td__buf_printf(b,
	               "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"initialize\",\"params\":{"
	               "\"protocolVersion\":\"" TD_MCP_PROTOCOL "\",\"capabilities\":{%s},"
	               "\"clientInfo\":{\"name\":\"tooldag\",\"version\":\"%s\"}}}",
	               (long long)id, c->srv->nroots ? "\"roots\":{\"listChanged\":false}" : "",
	               td_version());
}

/* initialize, sent once the transport is up */
static void send_initialize(struct td__mcp_conn *c, int64_t init_id)
{
	struct td__buf msg = {0};

	if (!c->srv->url && !c->fds_taken)
		td__mcp_conn_fds(c, TD_MCP_STDIO_FDS);
	set_state(c, TD_MCP_INIT);
	c->init_id = init_id;
	td__mcp_initialize_msg(c, &msg, init_id);
	td__mcp_conn_request(c, init_id, msg.data, msg.len);
	td__buf_free(&msg);
}

static int start_http(struct td__mcp_conn *c, int64_t init_id)
{
	c->starts++;
	c->why[0] = '\0';
	c->protocol = NULL;
	if (td__mcp_http_start(c) < 0) {
		snprintf(c->why, sizeof(c->why), "mcp server '%s': out of memory", c->srv->name);
		set_state(c, c->starts <= c->srv->restarts ? TD_MCP_IDLE : TD_MCP_DEAD);
		return -1;
	}
	send_initialize(c, init_id);
	return 0;
}

static int start_stdio(struct td__mcp_conn *c, int64_t init_id)
{
	char **envp = td__child_env(c->srv->env, c->srv->nenv, false), *path = NULL,
	     *cwd = server_cwd(c);
	int r = -1;

	reset(c);
	c->starts++;
	if (!envp || !cwd) {
		snprintf(c->why, sizeof(c->why), "mcp server '%s': out of memory", c->srv->name);
		goto out;
	}
	if (!(path = find_program(c, envp)) || spawn_server(c, envp, path, cwd) < 0)
		goto out;
	if (c->ops || watch(c) < 0) { /* c->ops: the ring refused part of it (counted) */
		if (!c->ops)
			abandon(c);
		goto out;
	}
	send_initialize(c, init_id);
	r = 0;
out:
	td__child_env_free(envp);
	td__free(path);
	td__free(cwd);
	if (r < 0) {
		close_fd(&c->in_fd);
		close_fd(&c->out_fd);
		close_fd(&c->err_fd);
		set_state(c, c->starts <= c->srv->restarts ? TD_MCP_IDLE : TD_MCP_DEAD);
	}
	return r;
}

int td__mcp_conn_start(struct td__mcp_conn *c, int64_t init_id)
{
	return c->srv->url ? start_http(c, init_id) : start_stdio(c, init_id);
}

/* ---- shutdown ---- */

static int all_down(struct td__mcp_conn **c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] && (c[i]->pid > 0 || c[i]->ops || (c[i]->http && td__mcp_http_busy(c[i]))))
			return 0;
	return 1;
}

void td__mcp_conn_close(struct td__loop *loop, struct td__mcp_conn **c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!c[i])
			continue;
		set_state(c[i], TD_MCP_CLOSING);
		if (c[i]->http)
			td__mcp_http_close(c[i]);
		if (c[i]->pid <= 0)
			continue;
		/* the stdio transport's shutdown: EOF on its stdin first, signals only after */
		if (c[i]->in_fd >= 0)
			shutdown(c[i]->in_fd, SHUT_WR);
		td__loop_timer_arm(c[i]->loop, &c[i]->timer,
		                   td__loop_now(c[i]->loop) + TD_MCP_CLOSE_WAIT_US);
	}
	while (!all_down(c, n) && td__loop_run(loop, 1) >= 0)
		;
	for (i = 0; i < n; i++) {
		if (!c[i])
			continue;
		td__loop_timer_disarm(c[i]->loop, &c[i]->timer);
		close_fd(&c[i]->in_fd);
		td__buf_free(&c[i]->rbuf);
		td__buf_free(&c[i]->wq);
		td__buf_free(&c[i]->wbuf);
		td__buf_free(&c[i]->notes);
		td__capbuf_free(&c[i]->err);
		td__mcp_http_free(c[i]);
		td__mcp_conn_fds(c[i], 0);
	}
}

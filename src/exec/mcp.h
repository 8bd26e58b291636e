/* SPDX-License-Identifier: MIT */
/*
 * mcp.h - MCP servers as a backend (internal). A server of the graph's `servers:` is one
 * long-lived connection (a stdio child process, or a Streamable HTTP session) that carries many
 * tools/call requests at once, matched to their calls by JSON-RPC id:
 *
 *   mcp_conn.c    the connection: start on first use, initialize; for stdio the child process
 *                 and its pipes, line framing, one writer, stderr into a bounded tail, exit,
 *                 shutdown;
 *   mcp_http.c    the Streamable HTTP transport: one POST per message, answers as JSON or as
 *                 an event stream, the session, DELETE at shutdown;
 *   mcp.c         the backend: jobs as requests, ids, timeouts and cancellation, answers;
 *   mcp_result.c  a CallToolResult as result text.
 */
#ifndef TD_MCP_H
#define TD_MCP_H

#include <stdint.h>
#include <sys/types.h>

#include "exec/backends.h"
#include "exec/capbuf.h"
#include "util/util.h"

struct cJSON;

/* The protocol revision tooldag asks for; the answers it accepts are in mcp_conn.c. */
#define TD_MCP_PROTOCOL "2025-06-18"
/* One message on stdout may be at most this long; a longer one breaks the connection. */
#define TD_MCP_MAX_MESSAGE (16u << 20)
/* Bytes of a server's stderr kept (the last ones) for error results. */
#define TD_MCP_STDERR_TAIL 2048u
/* Descriptors a running server holds, taken from the run's descriptor budget while it runs:
 * stdio, its three pipes and its pidfd; Streamable HTTP, its connections at most. */
#define TD_MCP_STDIO_FDS  4u
#define TD_MCP_HTTP_CONNS 16u
/* Shutdown: after closing stdin, how long to wait for an exit before SIGTERM, then SIGKILL. */
#define TD_MCP_CLOSE_WAIT_US (1000LL * 1000)

enum td__mcp_cstate {
	TD_MCP_IDLE = 0, /* not started (or exited, and may be started again) */
	TD_MCP_INIT,     /* started, initialize sent */
	TD_MCP_READY,    /* initialized: requests flow */
	TD_MCP_DEAD,     /* exited or failed; not started again in this run */
	TD_MCP_CLOSING,  /* shutting down at the end of the run */
};

struct td__mcp_conn;

/* What mcp_conn.c tells the backend. */
struct td__mcp_events {
	/* a JSON-RPC message from the server (parsed; the callee does not keep it) */
	void (*message)(struct td__mcp_conn *c, struct cJSON *msg);
	/* the connection failed or the server exited; why is in c->why (a full sentence) */
	void (*down)(struct td__mcp_conn *c);
	/* request id will get no answer (an HTTP request of its own failed); why is a full
	 * sentence; retry: whether sending it again may help (5xx, a broken connection) */
	void (*lost)(struct td__mcp_conn *c, int64_t id, const char *why, int retry);
};

struct td__mcp_http;

struct td__mcp_conn {
	const struct td_graph *g;
	uint32_t server; /* index in g->servers */
	const struct td__mcp_server *srv;
	struct td__loop *loop;
	const struct td__mcp_events *ev;
	void *ud;

	enum td__mcp_cstate state;
	uint32_t starts; /* times started in this run */
	pid_t pid;       /* 0 when none */
	int pidfd, in_fd, out_fd, err_fd;
	int exited, stdout_eof, stderr_eof;
	int ops; /* ring requests in flight */
	struct td__op pid_op, out_op, err_op, in_op;
	struct td__timer timer; /* drain after an exit, shutdown steps */
	int close_step;

	struct td__buf rbuf; /* stdout bytes not yet split into lines */
	size_t skip;         /* inside an oversized line: bytes dropped so far (0: not) */
	struct td__buf wq;   /* messages waiting to be written */
	struct td__buf wbuf; /* being written */
	size_t woff;
	char err_chunk[1024];
	struct td__capbuf err; /* stderr tail */
	struct td__buf notes;  /* what the server did wrong on stdout, for error texts */
	unsigned nnotes;

	char why[512];        /* set before ev->down */
	const char *protocol; /* the version the server agreed to (static string) */
	int64_t init_id;
	struct td__mcp_http *http; /* url: servers (mcp_http.c); NULL for stdio */
	uint64_t *fd_room;         /* the descriptor budget (NULL: none), and what c took of it */
	uint64_t fds_taken;
};

/* mcp_conn.c */
void td__mcp_conn_init(struct td__mcp_conn *c, const struct td_graph *g, uint32_t server,
                       struct td__loop *loop, const struct td__mcp_events *ev, void *ud);
/* Starts the child and sends initialize (id init_id). 0, or -1 with c->why set (no event). */
int td__mcp_conn_start(struct td__mcp_conn *c, int64_t init_id);
/* Queues one message (a line without its newline) for the server; copies it. */
void td__mcp_conn_send(struct td__mcp_conn *c, const char *msg, size_t len);
/* The same for a request of id id (over HTTP its own failure is reported as ev->lost). */
void td__mcp_conn_request(struct td__mcp_conn *c, int64_t id, const char *msg, size_t len);
/* Request id was given up on: over HTTP its transfer is dropped. */
void td__mcp_conn_forget(struct td__mcp_conn *c, int64_t id);
/* The one function that changes c->state. */
void td__mcp_conn_set_state(struct td__mcp_conn *c, enum td__mcp_cstate s);
/* The initialize result: 0 and c->protocol, or -1 with c->why (the caller then fails it). */
int td__mcp_conn_initialized(struct td__mcp_conn *c, const struct cJSON *result);
/* Kills the server now (SIGKILL to its group); ev->down follows once it is reaped. */
void td__mcp_conn_fail(struct td__mcp_conn *c, const char *why);
/* "…: <stderr tail>" and notes, appended to a failure text. */
void td__mcp_conn_tail(const struct td__mcp_conn *c, struct td__buf *b);
/* End of run: close stdin, wait, SIGTERM, SIGKILL, through the loop; returns when reaped and
 * nothing of c is left on the ring. Frees c's buffers. */
void td__mcp_conn_close(struct td__loop *loop, struct td__mcp_conn **c, size_t n);
/* Takes n descriptors from c->fd_room (what is left of it, at most), or gives all back (0). */
void td__mcp_conn_fds(struct td__mcp_conn *c, uint64_t n);
/* Remembers a protocol slip of the server (quoted, cut) for later error texts. */
void td__mcp_conn_note(struct td__mcp_conn *c, const char *what, const char *text);

/* The initialize request, id id. */
void td__mcp_initialize_msg(const struct td__mcp_conn *c, struct td__buf *b, int64_t id);
/* The roots/list result for c's server: {"roots":[{"uri":"file:///...","name":...}]}. */
void td__mcp_roots_result(const struct td__mcp_conn *c, struct td__buf *b);

/* mcp_http.c: the Streamable HTTP side of the functions above (c->srv->url set). */
int td__mcp_http_start(struct td__mcp_conn *c);
void td__mcp_http_send(struct td__mcp_conn *c, int64_t id, const char *msg, size_t len);
void td__mcp_http_forget(struct td__mcp_conn *c, int64_t id);
void td__mcp_http_fail(struct td__mcp_conn *c);
/* Shutdown: drops every transfer and DELETEs the session; busy until that ended. */
void td__mcp_http_close(struct td__mcp_conn *c);
int td__mcp_http_busy(const struct td__mcp_conn *c);
void td__mcp_http_free(struct td__mcp_conn *c);

/* mcp_result.c: appends result's text to out; returns 1 when isError is true. */
int td__mcp_result_text(const struct cJSON *result, struct td__buf *out);
/* When result holds an image: appends its content as a JSON array of Anthropic content blocks
 * (images as base64 image blocks, the rest as text blocks) and returns 1; else 0. */
int td__mcp_result_blocks(const struct cJSON *result, struct td__buf *out);

#endif /* TD_MCP_H */

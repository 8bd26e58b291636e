/* SPDX-License-Identifier: MIT */
/*
 * remote.h - where a remote tool's calls go (internal): the Redis URL forms tooldag accepts and
 * the names of the keys it uses on that server. The loader checks `remote:` with these; the
 * remote backend and tooldag worker (exec/remote*.c) connect with them.
 */
#ifndef TD_LOAD_REMOTE_H
#define TD_LOAD_REMOTE_H

#include <stddef.h>

/* Version of the message layout (README "Redis"): the `v` field of every message. */
#define TD_REMOTE_VERSION "1"
/* Key prefixes on the Redis server: a queue's stream, a scheduler's reply stream, a worker's
 * liveness key; the consumer group every worker of a queue joins. */
#define TD_REMOTE_QUEUE_PREFIX "tooldag:queue:"
#define TD_REMOTE_REPLY_PREFIX "tooldag:reply:"
#define TD_REMOTE_ALIVE_PREFIX "tooldag:worker:"
#define TD_REMOTE_GROUP        "tooldag"

/*
 * A parsed Redis URL:
 *   redis://[[user]:password@]host[:port][/db]   (host may be [v6]; port 6379 by default)
 *   unix://[[user]:password@]/absolute/path[?db=N]
 * rediss:// (TLS) is refused: the hiredis tooldag builds with (Debian's 0.14) has no TLS.
 * user and password are percent-decoded and may be secrets: never print them.
 */
struct td__redis_url {
	char host[256]; /* "" for a unix socket */
	int port;
	char path[108]; /* the unix socket, "" for TCP */
	char user[128]; /* "" when absent (AUTH password: the default user) */
	char pass[256]; /* "" when absent: no AUTH */
	unsigned db;
};

/* 0, or -1 with why (a phrase that never quotes the URL, which may hold a password). */
int td__redis_url_parse(const char *url, struct td__redis_url *out, char *why, size_t len);

/* A queue name: 1 to 64 of letters, digits, '_', '-', '.', ':'. */
int td__remote_queue_valid(const char *s);

#endif /* TD_LOAD_REMOTE_H */

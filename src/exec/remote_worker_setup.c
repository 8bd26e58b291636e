/* SPDX-License-Identifier: MIT */
/*
 * remote_worker_setup.c - a worker's set-up: which tools and queues it serves (td_worker_new),
 * its connection to Redis (AUTH, SELECT, reconnection) and its consumer groups.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/remote_worker.h"
#include "exec/resolve.h"

/* ---- Redis ---- */

/* AUTH or SELECT: 0, or err with w->err saying what Redis answered. */
static int hello(struct td_worker *w, redisContext *c, redisReply *r, const char *what, int err)
{
	int ok = r && r->type != REDIS_REPLY_ERROR;

	if (!ok)
		snprintf(w->err, sizeof(w->err), "redis: %s refused: %.180s", what,
		         r ? r->str : c->errstr);
	freeReplyObject(r);
	return ok ? 0 : err;
}

int td__worker_open(struct td_worker *w, redisContext **c)
{
	struct timeval tv = {CMD_TIMEOUT_MS / 1000, 0};
	char addr[TD__ADDR_LEN], why[160];
	redisContext *rc;
	int err = 0;

	/* a host name is looked up again at every connection, bounded like a command; the old
	 * context (failed: its commands fail) stays until there is a new one */
	if (!w->url.path[0] && !td__resolve_numeric(w->url.host) &&
	    td__resolve_wait(w->url.host, CMD_TIMEOUT_MS, addr, why, sizeof(why)) < 0) {
		snprintf(w->err, sizeof(w->err), "redis: cannot resolve '%.200s': %s", w->url.host,
		         why);
		return -EHOSTUNREACH;
	}
	if (*c)
		redisFree(*c);
	*c = rc = w->url.path[0] ? redisConnectUnixWithTimeout(w->url.path, tv)
	          : td__resolve_numeric(w->url.host)
	              ? redisConnectWithTimeout(w->url.host, w->url.port, tv)
	              : redisConnectWithTimeout(addr, w->url.port, tv);
	if (!rc)
		return TD_ENOMEM;
	if (rc->err) {
		snprintf(w->err, sizeof(w->err), "redis: cannot connect to %s: %s",
		         w->url.path[0] ? w->url.path : w->url.host, rc->errstr);
		return -ECONNREFUSED;
	}
	/* a command timeout larger than XREADGROUP's BLOCK, so a dead server is noticed */
	redisSetTimeout(rc, tv);
	if (w->url.pass[0])
		err =
		    hello(w, rc,
		          w->url.user[0] ? redisCommand(rc, "AUTH %s %s", w->url.user, w->url.pass)
		                         : redisCommand(rc, "AUTH %s", w->url.pass),
		          "AUTH", -EACCES);
	if (!err && w->url.db)
		err = hello(w, rc, redisCommand(rc, "SELECT %u", w->url.db), "SELECT", -EINVAL);
	return err;
}

int td__worker_connect(struct td_worker *w)
{
	return td__worker_open(w, &w->rc);
}

/* After a failed command: connects again (Redis restarting), for a few seconds at most. */
int td__worker_reconnect(struct td_worker *w)
{
	int i, err = -EIO;

	for (i = 0; i < RECONNECT_TRIES && !(w->stop & TD_WORKER_CANCEL); i++) {
		usleep(250 * 1000);
		err = td__worker_connect(w);
		if (err == 0 || err == -EACCES)
			return err;
	}
	return err;
}

/* One command, NUL-terminated argv; NULL on a connection error (w->err says why). */
redisReply *td__worker_cmd(struct td_worker *w, int argc, const char **argv, const size_t *lens)
{
	redisReply *r = redisCommandArgv(w->rc, argc, argv, lens);

	if (!r)
		snprintf(w->err, sizeof(w->err), "redis: %s", w->rc->errstr);
	return r;
}

/*
 * The name is one worker's only (another worker's exit would delete its pending calls and its
 * liveness key): the key is taken with SET NX before the worker joins, holding a token of its
 * own. Refused while it exists: a live worker of that name renews it; one killed keeps it
 * until it expires (its calls are then taken back by the others).
 */
static int claim_name(struct td_worker *w)
{
	char px[24], host[64] = "host";
	const char *set[] = {"SET", w->alive_key, w->alive_token, "NX", "PX", px};
	const char *pttl[] = {"PTTL", w->alive_key};
	long long left = -1;
	redisReply *r;
	int taken;

	gethostname(host, sizeof(host) - 1);
	snprintf(w->alive_token, sizeof(w->alive_token), "%.60s:%ld:%" PRId64, host, (long)getpid(),
	         td__now_us());
	snprintf(px, sizeof(px), "%" PRId64, 3 * w->beat_us / 1000);
	if (!(r = td__worker_cmd(w, 6, set, NULL)))
		return -EIO;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(w->err, sizeof(w->err), "redis: SET %s: %.150s", w->alive_key, r->str);
		freeReplyObject(r);
		return -EINVAL;
	}
	taken = r->type == REDIS_REPLY_NIL;
	freeReplyObject(r);
	if (!taken)
		return 0;
	if ((r = td__worker_cmd(w, 2, pttl, NULL)) && r->type == REDIS_REPLY_INTEGER)
		left = r->integer;
	freeReplyObject(r);
	snprintf(w->err, sizeof(w->err),
	         "worker name '%.100s' is in use: a live worker of that name holds %.150s (a "
	         "killed one holds it until it expires, in %lldms); give another --name, or start "
	         "again once it is free",
	         w->name, w->alive_key, left > 0 ? left : 0);
	return TD_EEXIST;
}

bool td__worker_release_name(struct td_worker *w)
{
	static const char script[] = "local v = redis.call('GET', KEYS[1]) "
	                             "if v and v ~= ARGV[1] then return 0 end "
	                             "redis.call('DEL', KEYS[1]) return 1";
	const char *argv[] = {"EVAL", script, "1", w->alive_key, w->alive_token};
	redisReply *r = td__worker_cmd(w, 5, argv, NULL);
	bool ours = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

	freeReplyObject(r);
	return ours;
}

int td__worker_join(struct td_worker *w)
{
	size_t i;

	for (i = 0; i < w->nqueues; i++) {
		/* from the start of the stream: calls queued before any worker are served too */
		const char *argv[] = {"XGROUP",        "CREATE", w->queues[i].key,
		                      TD_REMOTE_GROUP, "0",      "MKSTREAM"};
		redisReply *r = td__worker_cmd(w, 6, argv, NULL);

		if (!r)
			return -EIO;
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)) {
			snprintf(w->err, sizeof(w->err), "redis: XGROUP CREATE %s: %.150s",
			         w->queues[i].key, r->str);
			freeReplyObject(r);
			return -EINVAL;
		}
		freeReplyObject(r);
	}
	return 0;
}

int td__worker_queue(const struct td_worker *w, const char *key)
{
	size_t i;

	for (i = 0; i < w->nqueues; i++)
		if (!strcmp(w->queues[i].key, key))
			return (int)i;
	return -1;
}

/* ---- set-up ---- */

/* ${NAME} in a --redis URL, from the environment (so a password stays off the command line). */
static int expand(const char *s, char *out, size_t cap, char *err, size_t errlen)
{
	size_t o = 0;

	while (*s) {
		const char *end, *val;
		char name[128];
		size_t n;

		if (s[0] != '$' || s[1] != '{') {
			if (o + 1 >= cap)
				goto long_;
			out[o++] = *s++;
			continue;
		}
		end = strchr(s + 2, '}');
		n = end ? (size_t)(end - s - 2) : 0;
		if (!n || n >= sizeof(name)) {
			snprintf(err, errlen,
			         "bad variable reference in the redis URL: write ${NAME}");
			return TD_EINVAL;
		}
		memcpy(name, s + 2, n);
		name[n] = '\0';
		if (!(val = getenv(name))) {
			snprintf(err, errlen, "the redis URL uses ${%s}, which is not set", name);
			return TD_EINVAL;
		}
		if (o + strlen(val) + 1 >= cap)
			goto long_;
		memcpy(out + o, val, strlen(val));
		o += strlen(val);
		s = end + 1;
	}
	out[o] = '\0';
	return 0;
long_:
	snprintf(err, errlen, "the redis URL is too long");
	return TD_EINVAL;
}

static int pick_tools(struct td_worker *w, char *err, size_t errlen)
{
	const struct td_graph *g = w->g;
	const char *s = w->opts.tools;
	size_t i;
	int any = 0;

	if (!s) {
		for (i = 0; i < g->ntools; i++)
			any |= w->served[i] = g->tools[i].lim.remote != 0;
		if (!any)
			snprintf(err, errlen,
			         "no tool of the graph has 'remote:': nothing to serve");
		return any ? 0 : TD_EINVAL;
	}
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		char name[128];
		int t;

		snprintf(name, sizeof(name), "%.*s", (int)(n < 127 ? n : 127), s);
		if ((t = td__graph_find(g, name)) < 0) {
			snprintf(err, errlen, "--tools: no tool '%.100s' in the graph", name);
			return TD_EINVAL;
		}
		if (!g->tools[t].lim.remote) {
			snprintf(err, errlen, "--tools: tool '%.100s' has no 'remote:'", name);
			return TD_EINVAL;
		}
		w->served[t] = true;
		s += n + (comma ? 1 : 0);
	}
	return 0;
}

/* The served tools' queues (each once, with the shortest claim_after among its tools). */
static int pick_queues(struct td_worker *w, const char **url)
{
	const struct td_graph *g = w->g;
	size_t i, q;

	w->queues = td__calloc(g->ntools, sizeof(*w->queues));
	if (!w->queues)
		return TD_ENOMEM;
	*url = NULL;
	w->beat_us = INT64_MAX;
	for (i = 0; i < g->ntools; i++) {
		const struct td__remote *rm;
		char key[128];

		if (!w->served[i])
			continue;
		rm = &g->remotes[g->tools[i].lim.remote - 1];
		if (*url && strcmp(*url, rm->url))
			return TD_EEXIST;
		*url = rm->url;
		snprintf(key, sizeof(key), TD_REMOTE_QUEUE_PREFIX "%s", rm->queue);
		q = (size_t)td__worker_queue(w, key);
		if (q == (size_t)-1) {
			q = w->nqueues++;
			snprintf(w->queues[q].key, sizeof(w->queues[q].key), "%s", key);
			w->queues[q].claim_after_us = rm->claim_after_us;
		}
		if (rm->claim_after_us < w->queues[q].claim_after_us)
			w->queues[q].claim_after_us = rm->claim_after_us;
		if (rm->claim_after_us / 3 < w->beat_us)
			w->beat_us = rm->claim_after_us / 3;
	}
	if (w->nqueues > 64)
		return TD_ETOOBIG;
	return 0;
}

static int setup(struct td_worker *w, char *err, size_t errlen)
{
	struct td_host_opts host = {0};
	struct td_diag d = {0};
	const char *url;
	char buf[1024], name[64] = "host";
	int rc;

	if ((rc = pick_tools(w, err, errlen)))
		return rc;
	rc = pick_queues(w, &url);
	if (rc == TD_EEXIST && !w->opts.redis)
		snprintf(err, errlen,
		         "the tools served name different Redis servers: give --redis");
	if (rc == TD_ETOOBIG)
		snprintf(err, errlen, "more than 64 queues to serve");
	if (rc && (rc != TD_EEXIST || !w->opts.redis))
		return rc;
	if (w->opts.redis) {
		if ((rc = expand(w->opts.redis, buf, sizeof(buf), err, errlen)))
			return rc;
		url = buf;
	}
	if (td__redis_url_parse(url, &w->url, buf, sizeof(buf)) < 0) {
		snprintf(err, errlen, "bad redis URL: %.200s", buf);
		return TD_EINVAL;
	}
	gethostname(name, sizeof(name) - 1);
	if (w->opts.name)
		snprintf(w->name, sizeof(w->name), "%s", w->opts.name);
	else
		snprintf(w->name, sizeof(w->name), "%.60s:%ld", name, (long)getpid());
	snprintf(w->alive_key, sizeof(w->alive_key), TD_REMOTE_ALIVE_PREFIX "%s", w->name);
	if (!w->opts.jobs)
		w->opts.jobs = DEFAULT_JOBS;
	if (w->opts.jobs > MAX_RUNS * 64u)
		w->opts.jobs = MAX_RUNS * 64u;
	if (w->beat_us < 10000)
		w->beat_us = 10000;
	if ((rc = td__worker_connect(w)) || (rc = claim_name(w))) {
		snprintf(err, errlen, "%s", w->err);
		return rc;
	}
	if ((rc = td__worker_join(w)) || (rc = td__cancel_subscribe(w))) {
		snprintf(err, errlen, "%s", w->err);
		td__worker_release_name(w);
		return rc;
	}
	host.loop = w->opts.loop;
	host.concurrency = w->opts.jobs;
	if ((rc = td_host_new(&host, &w->host, &d))) {
		snprintf(err, errlen, "%s", d.count ? d.items[0].message : td_strerror(rc));
		td_diag_clear(&d);
	}
	return rc;
}

int td_worker_new(const struct td_graph *graph, const struct td_worker_opts *opts,
                  struct td_worker **out, struct td_diag *diag)
{
	struct td_worker *w;
	struct td__nopipe g;
	char err[600] = "";
	int rc;

	if (out)
		*out = NULL;
	if (!graph || !out)
		return TD_EINVAL;
	if (graph->env_kept)
		return TD_EINVAL;
	if (!(w = td__calloc(1, sizeof(*w))) ||
	    !(w->served = td__calloc(graph->ntools ? graph->ntools : 1, sizeof(bool)))) {
		td__free(w);
		return TD_ENOMEM;
	}
	w->g = graph;
	if (opts)
		w->opts = *opts;
	td__nopipe_enter(&g);
	rc = setup(w, err, sizeof(err));
	td__nopipe_leave(&g);
	if (rc) {
		td__diag_add(diag, rc, NULL, 0, 0, "%s", err[0] ? err : td_strerror(rc));
		td_worker_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * record.c - td_recorder: one self-contained JSON line per run appended to a file, by an
 * observer of the run's end (no event per call reaches it) that writes when the run finishes
 * (or is freed before).
 *
 * A line of 100,000 calls is 20 MB: it is built in a REC_CHUNK buffer that goes to the file
 * each time it reaches a multiple of REC_CHUNK in the file, so the line is never whole in
 * memory (no 20 MB of fresh pages to fault in, and the kernel copies from cache-warm bytes
 * into page-cache folios it can take whole). Several writes per line need a lock for
 * lines not to interleave: the recorder's mutex (runs on several threads share one) and then
 * flock() on the file (other recorders, other processes), taken for the whole line. A writer
 * killed mid-line leaves a last line without its newline: the next writer, under the lock,
 * cuts it away before appending, and readers ignore it meanwhile (unless it is whole JSON,
 * killed just before its newline: readers take it, and the next writer gives it its
 * newline). A line that cannot be written whole (a full disk) is cut away the same way, so a
 * regular file only ever holds whole lines once its writers are done.
 *
 * Nothing of the tools' definitions is written, only a hash of the parts that are not secret
 * (names, descriptions, schemas, argv, builtin, function name, method, depends_on, and for an
 * MCP tool its name on the server and the server's command, env, cwd and url as written): an
 * HTTP tool's url and headers, where ${NAME} values land, never reach the file.
 * The format is README.md's "Recordings" (version RECORD_VERSION).
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/jsonw.h"
#include "report/results.h"
#include "run/run.h"

#define RECORD_VERSION 1
#define REC_CHUNK      (256u * 1024u) /* bytes per write(2); lines that are longer take several */
#define REC_BIG        (8u * 1024u)   /* strings longer than this are escaped by td__buf */

struct td_recorder {
	struct td__run_hook hook; /* first: td_run_opts.record is read through it */
	int fd;
	int err; /* the first write error; runs on several threads share the recorder */
	pthread_mutex_t lock; /* one line at a time from this descriptor (flock() is per file) */
};

/* One run being recorded. */
struct rec_run {
	struct td_recorder *rec;
	const struct td_run *run;
	int written;
};

/* A line on its way to the file: b holds at most about REC_CHUNK bytes not yet written. */
struct rec_out {
	struct td__buf b;
	int fd, err;
	uint64_t pos; /* where b's first byte goes in the file (0 for what is not a file) */
};

/* Writes b's first n bytes and moves the rest to its front; the first error stays in o->err
 * and stops the line. */
static void out_write(struct rec_out *o, size_t n)
{
	size_t at = 0;
	ssize_t k;

	while (!o->err && at < n) {
		k = write(o->fd, o->b.data + at, n - at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			o->err = k < 0 ? -errno : -ENOSPC;
		else
			at += (size_t)k;
	}
	memmove(o->b.data, o->b.data + n, o->b.len - n);
	o->b.len -= n;
	o->pos += n;
}

static void out_flush(struct rec_out *o)
{
	out_write(o, o->b.len);
}

/* A cursor with room for `need` bytes (jsonw.h); NULL when out of memory or after an error.
 * Once b reaches the next multiple of REC_CHUNK in the file, the bytes up to there are
 * written first and what came past it (a call's bytes) stays: whole aligned chunks cost the
 * kernel less (its page cache takes them in large folios) than chunks across their edges. */
static char *out_room(struct rec_out *o, size_t need)
{
	size_t due = REC_CHUNK - (size_t)(o->pos % REC_CHUNK);

	if (o->b.len >= due)
		out_write(o, o->b.len - due <= REC_CHUNK / 4 ? due : o->b.len);
	if (o->err)
		return NULL;
	if (o->b.cap - o->b.len <= need)
		td__buf_reserve(&o->b, need < REC_CHUNK ? REC_CHUNK : need);
	if (o->b.oom) {
		o->err = TD_ENOMEM;
		return NULL;
	}
	return o->b.data + o->b.len;
}

static void out_lit(struct rec_out *o, const char *s)
{
	size_t n = strlen(s);
	char *p = out_room(o, n);

	if (p)
		jw_close(&o->b, jw_raw(p, s, n));
}

/* s as a JSON string, quoted, escaped as td__buf_json_string() does: a long content (more
 * than REC_BIG bytes), escaped as it is, whatever its size, after what b holds is written. */
static void out_string(struct rec_out *o, const char *s, size_t n)
{
	out_flush(o);
	if (!o->err)
		td__buf_json_string(&o->b, s, n);
	if (o->b.oom)
		o->err = TD_ENOMEM;
}

/* ---- the graph's identity ---- */

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* with its NUL, so "ab","c" and "a","bc" differ */
static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);

	return fnv(h, buf, (size_t)n + 1);
}

/* An MCP tool's server as written in the graph: a recording made against another server
 * command, environment, directory or address is noticed. Its headers are not hashed. */
static uint64_t fnv_server(uint64_t h, const struct td_graph *g, const struct td__tool *tool)
{
	const struct td__mcp_server *s;
	size_t k;

	h = fnv_str(h, tool->mcp_tool);
	if (tool->mcp_server >= g->nservers)
		return h;
	s = &g->servers[tool->mcp_server];
	h = fnv_str(h, s->name);
	for (k = 0; k < s->argc; k++)
		h = fnv_str(h, s->argv[k]);
	h = fnv_u64(h, s->nenv);
	for (k = 0; k < s->nenv; k++) {
		h = fnv_str(h, s->env[k].key);
		h = fnv_str(h, s->env[k].value);
	}
	h = fnv_str(h, s->cwd);
	return fnv_str(h, s->url);
}

/* FNV-1a 64 over each tool's non-secret definition, in declaration order. */
uint64_t td__tools_hash(const struct td_graph *g)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t t, k;

	for (t = 0; t < g->ntools; t++) {
		const struct td__tool *tool = &g->tools[t];
		char *schema = tool->schema ? cJSON_PrintUnformatted(tool->schema) : NULL;

		h = fnv_str(h, tool->name);
		h = fnv_str(h, tool->description);
		h = fnv_str(h, schema);
		free(schema);
		h = fnv_u64(h, (uint64_t)tool->kind);
		for (k = 0; k < tool->argc; k++)
			h = fnv_str(h, tool->argv[k]);
		h = fnv_u64(h, tool->kind == TD_KIND_BUILTIN ? (uint64_t)tool->builtin : 0);
		h = fnv_str(h, tool->function);
		h = fnv_str(h, tool->kind == TD_KIND_HTTP ? tool->http.method : NULL);
		for (k = 0; k < tool->ndeps; k++)
			h = fnv_u64(h, tool->deps[k]);
		if (tool->kind == TD_KIND_MCP)
			h = fnv_server(h, g, tool);
	}
	return h;
}

/* The graph file as an absolute path when it came from a file (dir + its base name). */
static void put_graph(struct td__buf *b, const struct td_graph *g)
{
	const char *name = g->name ? g->name : "";
	const char *base = strrchr(name, '/');
	char hex[17];

	base = base ? base + 1 : name;
	td__buf_puts(b, "\"graph\":{\"path\":");
	if (g->dir && name[0] && name[0] != '<') {
		struct td__buf p = {0};

		td__buf_printf(&p, "%s/%s", g->dir, base);
		td__buf_json_string(b, p.data ? p.data : "", p.len);
		td__buf_free(&p);
	} else {
		td__buf_json_string(b, name, strlen(name));
	}
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)td__tools_hash(g));
	td__buf_puts(b, ",\"tools_hash\":\"fnv1a64:");
	td__buf_puts(b, hex);
	td__buf_puts(b, "\"}");
}

/* ---- calls ---- */

/* The call's explicit depends_on: [from, end) of to[]. Tool-level edges are the graph's, not
 * the batch's. A batch whose edges came out of order keeps an edge list: its edges are grouped
 * once per line (by_call), not searched per call. */
static void call_edges(const struct td_batch *bt, const uint32_t *off, const uint32_t **to,
                       uint32_t c, size_t *from, size_t *end)
{
	*from = *end = 0;
	if (!bt->edge_from && c < bt->edge_ncalls && bt->edge_off) {
		*from = bt->edge_off[c];
		*end = bt->edge_off[c + 1];
		*to = bt->edge_to;
	} else if (bt->edge_from && off) {
		*from = off[c];
		*end = off[c + 1];
	}
}

/* An edge list grouped by dependent call: off [ncalls + 1], to [nedges]; 0 or TD_ENOMEM. */
static int by_call(const struct td_batch *bt, uint32_t **off, uint32_t **to)
{
	size_t e, c;

	*off = NULL;
	*to = NULL;
	if (!bt->edge_from)
		return 0;
	*off = td__calloc(bt->ncalls + 2, sizeof(**off));
	*to = td__calloc(bt->nedges + 1, sizeof(**to));
	if (!*off || !*to)
		return TD_ENOMEM;
	for (e = 0; e < bt->nedges; e++)
		(*off)[bt->edge_from[e] + 2]++;
	for (c = 2; c < bt->ncalls + 2; c++)
		(*off)[c] += (*off)[c - 1];
	for (e = 0; e < bt->nedges; e++)
		(*to)[(*off)[bt->edge_from[e] + 1]++] = bt->edge_to[e];
	return 0;
}

/* ,"depends_on":[indices] as indices into the line's calls (a tenth of a line of 100,000
 * calls with ids); left out when it has none. Room: 12 bytes per edge. */
static char *put_depends(char *p, const uint32_t *to, size_t from, size_t end)
{
	size_t e;

	if (end <= from)
		return p;
	p = JW_LIT(p, ",\"depends_on\":[");
	for (e = from; e < end; e++) {
		if (e > from)
			*p++ = ',';
		p = jw_u64(p, to[e]);
	}
	*p++ = ']';
	return p;
}

/* {"status","start_us","end_us","exit_code"|"signal","http_status"} at most */
#define ATTEMPT_ROOM 160u

static char *put_attempts(char *p, const struct td__callrun *cr)
{
	unsigned i;

	p = JW_LIT(p, ",\"attempts\":[");
	for (i = 0; i < cr->attempts; i++) {
		const struct td__attempt *a = i ? &cr->more[i - 1] : &cr->att0;

		if (i)
			*p++ = ',';
		p = JW_LIT(p, "{\"status\":\"");
		p = jw_status_name(p, a->status);
		p = JW_LIT(p, "\",\"start_us\":");
		p = jw_i64(p, a->start_us);
		p = JW_LIT(p, ",\"end_us\":");
		p = jw_i64(p, a->end_us);
		if (a->signal) {
			p = JW_LIT(p, ",\"signal\":");
			p = jw_i64(p, a->signal);
		} else {
			p = jw_exit_code(p, a->exit_code);
		}
		if (a->http_status) {
			p = JW_LIT(p, ",\"http_status\":");
			p = jw_i64(p, a->http_status);
		}
		*p++ = '}';
	}
	*p++ = ']';
	return p;
}

/* What every call of a line shares. */
struct rec_line {
	const struct td_run *r;
	int finished; /* every call has its result (the last one's state changes just after) */
	const uint32_t *off, *to; /* by_call() */
	/* the graph's tool names as JSON strings, quoted: tool t's at names.data + name_at[t] */
	struct td__buf names;
	uint32_t *name_at;
};

/* 0 or TD_ENOMEM; l->r set. */
static int line_init(struct rec_line *l, uint32_t **off, uint32_t **to)
{
	const struct td_graph *g = l->r->graph;
	size_t t;
	int err = by_call(l->r->batch, off, to);

	l->off = *off;
	l->to = *to;
	l->name_at = td__calloc(g->ntools + 1, sizeof(*l->name_at));
	for (t = 0; l->name_at && t < g->ntools; t++) {
		td__buf_json_string(&l->names, g->tools[t].name, strlen(g->tools[t].name));
		l->name_at[t + 1] = (uint32_t)l->names.len;
	}
	return err || !l->name_at || l->names.oom ? TD_ENOMEM : 0;
}

static void line_fini(struct rec_line *l)
{
	td__buf_free(&l->names);
	td__free(l->name_at);
}

/* Whether the call names its tool with the graph's own string (rendered once per line) */
static int graph_named(const struct rec_line *l, const struct td__call *call)
{
	return call->tool >= 0 && call->name == l->r->graph->tools[call->tool].name;
}

/* The length of the call's tool name as the model wrote it */
static size_t tool_len(const struct rec_line *l, const struct td__call *call)
{
	if (!graph_named(l, call))
		return strlen(call->name);
	return l->name_at[call->tool + 1] - l->name_at[call->tool] - 2; /* escaped: at least */
}

/* "NAME": the graph's tool name is written once per line, another as it comes */
static char *put_tool(char *p, const struct rec_line *l, const struct td__call *call, size_t n)
{
	uint32_t at;

	if (!graph_named(l, call))
		return jw_string(p, call->name, n);
	at = l->name_at[call->tool];
	return jw_copy(p, l->names.data + at, l->name_at[call->tool + 1] - at);
}

/* One reservation per call: its strings at worst escaping, its edges, its attempts, and its
 * content unless that is long (then escaped on its own, out_string()). */
static void put_call(struct rec_out *o, const struct rec_line *l, uint32_t c)
{
	const struct td_run *r = l->r;
	const struct td__call *call = &r->batch->calls[c];
	const struct td__callrun *cr = &r->calls[c];
	enum td_status st = l->finished || cr->state == TD_CS_DONE ? cr->status
	                    : cr->state == TD_CS_RUNNING           ? TD_STATUS_RUNNING
	                                                           : TD_STATUS_PENDING;
	size_t from, end, n = cr->content ? cr->content_len : 0;
	size_t idn = strlen(call->id), namen = tool_len(l, call), inline_n = n > REC_BIG ? 0 : n;
	const char *input = call->input_len == 2 ? "{}" : call->id + idn + 1; /* td__call_input() */
	const uint32_t *to = l->to;
	char *p;

	call_edges(r->batch, l->off, &to, c, &from, &end);
	p = out_room(o, JW_ROOM + 6 * (idn + namen + inline_n) + call->input_len +
	                    12 * (end - from) + (size_t)cr->attempts * ATTEMPT_ROOM);
	if (!p)
		return;
	p = c ? JW_LIT(p, ",{\"id\":") : JW_LIT(p, "{\"id\":");
	p = jw_string(p, call->id, idn);
	p = JW_LIT(p, ",\"tool\":");
	p = put_tool(p, l, call, namen);
	p = JW_LIT(p, ",\"input\":");
	p = jw_copy(p, input, call->input_len);
	p = put_depends(p, to, from, end);
	p = JW_LIT(p, ",\"level\":");
	p = jw_i64(p, r->plan->level[c]);
	p = jw_status(p, st);
	if (cr->truncated)
		p = JW_LIT(p, ",\"truncated\":true");
	if (n && memchr(cr->content, '\0', n)) {
		p = JW_LIT(p, ",\"content_len\":");
		p = jw_u64(p, n);
	}
	p = JW_LIT(p, ",\"content\":");
	if (n > REC_BIG) {
		jw_close(&o->b, p);
		out_string(o, cr->content, n);
		if (!(p = out_room(o, (size_t)cr->attempts * ATTEMPT_ROOM + 32)))
			return;
	} else {
		p = jw_string_any(p, n ? cr->content : "", n);
	}
	jw_close(&o->b, JW_LIT(put_attempts(p, cr), "}"));
}

/* A line is a walk through 100,000 calls' state, most of it no longer in any cache: what
 * call c + PREFETCH_AHEAD will read is asked for now, and the strings that call
 * c + PREFETCH_AHEAD / 2 points to (their pointers asked for before). */
#define PREFETCH_AHEAD 8u

static void prefetch(const struct td_run *r, uint32_t c)
{
	const struct td__callrun *cr;

	if (c + PREFETCH_AHEAD >= r->plan->ncalls)
		return;
	cr = &r->calls[c + PREFETCH_AHEAD];
	__builtin_prefetch(cr);
	__builtin_prefetch((const char *)cr + offsetof(struct td__callrun, att0.exit_code));
	__builtin_prefetch(&r->batch->calls[c + PREFETCH_AHEAD]);
	cr = &r->calls[c + PREFETCH_AHEAD / 2];
	if (cr->content)
		__builtin_prefetch(cr->content);
	__builtin_prefetch(r->batch->calls[c + PREFETCH_AHEAD / 2].id);
}

static const char *schedule_name(enum td_schedule s)
{
	return s == TD_SCHEDULE_EAGER ? "eager" : s == TD_SCHEDULE_CRITICAL ? "critical" : "level";
}

/* The whole line, newline included, through o; makespan_us < 0: the run's so far. */
static void put_line(struct rec_out *o, const struct td_run *r, int finished, int64_t makespan_us)
{
	struct td__buf *b = &o->b;
	struct rec_line l = {.r = r, .finished = finished};
	struct timespec now;
	uint32_t c, *off, *to;

	clock_gettime(CLOCK_REALTIME, &now);
	td__buf_printf(b, "{\"tooldag_record\":%d,\"unix_ms\":%lld,", RECORD_VERSION,
	               (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	put_graph(b, r->graph);
	td__buf_printf(b, ",\"dialect\":\"%s\",\"schedule\":\"%s\",\"concurrency\":%u",
	               td_dialect_name(r->batch->dialect == TD_DIALECT_AUTO ? TD_DIALECT_ANTHROPIC
	                                                                    : r->batch->dialect),
	               schedule_name(r->opts.schedule), r->limit);
	td__buf_printf(b, ",\"finished\":%s,\"cancelled\":%s,\"makespan_us\":%lld,\"calls\":[",
	               finished ? "true" : "false", r->cancelled ? "true" : "false",
	               (long long)(makespan_us < 0 ? td_run_makespan_us(r) : makespan_us));
	if (line_init(&l, &off, &to) == 0)
		for (c = 0; c < r->plan->ncalls && !o->err; c++) {
			prefetch(r, c);
			put_call(o, &l, c);
		}
	else
		o->err = TD_ENOMEM;
	line_fini(&l);
	td__free(off);
	td__free(to);
	out_lit(o, "]}\n");
	if (b->oom && !o->err)
		o->err = TD_ENOMEM;
	out_flush(o);
}

/* ---- the file ---- */

static void set_err(struct td_recorder *rec, int err)
{
	int none = 0;

	__atomic_compare_exchange_n(&rec->err, &none, err, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Where the file's last whole line ends (its size when it ends with a newline, 0 when it has
 * none): what a writer killed mid-line left after it is cut away, if it is the start of a
 * recording line (a file that is something else is appended to, never cut). -errno on a read
 * error. */
/* end when the bytes from there begin a recording line; else size (nothing to cut) */
static off_t ours(int fd, off_t end, off_t size)
{
	static const char head[] = "{\"tooldag_record\":";
	char buf[sizeof(head) - 1];
	size_t len = size - end < (off_t)sizeof(buf) ? (size_t)(size - end) : sizeof(buf);
	ssize_t n;

	if (end == size)
		return end;
	do
		n = pread(fd, buf, len, end);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len && memcmp(buf, head, len) == 0 ? end : size;
}

static off_t whole_lines_end(int fd, off_t size)
{
	char buf[4096];
	off_t at = size;
	ssize_t n, i;

	while (at > 0) {
		off_t from = at > (off_t)sizeof(buf) ? at - (off_t)sizeof(buf) : 0;

		n = pread(fd, buf, (size_t)(at - from), from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EBADF) /* opened write-only: nothing to check with */
			return size;
		if (n != at - from)
			return n < 0 ? -errno : -EIO;
		for (i = n - 1; i >= 0; i--)
			if (buf[i] == '\n')
				return ours(fd, from + i + 1, size);
		at = from;
	}
	return ours(fd, 0, size);
}

/* Whether the bytes from `from` to `size` are one whole JSON value: a line that lost only its
 * newline (readers take it as a batch, so it is kept). Read whole: this happens only after a
 * writer was killed. */
static int whole_json(int fd, off_t from, off_t size)
{
	size_t n = (size_t)(size - from);
	char *buf = td__malloc(n ? n : 1);
	cJSON *v = NULL;
	ssize_t k = 0;
	size_t at = 0;

	while (buf && at < n && (k = pread(fd, buf + at, n - at, from + (off_t)at)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		at += (size_t)k;
	}
	if (buf && at == n)
		v = cJSON_ParseWithLength(buf, n);
	td__free(buf);
	cJSON_Delete(v);
	return v != NULL;
}

/* Takes the file for one line: a regular file's size, its torn tail cut away (or, a whole
 * line without its newline, given one), in *start (-1 for anything else, e.g. a pipe); 0 or
 * -errno. */
static int take_file(int fd, off_t *start)
{
	struct stat sb;
	off_t end;

	*start = -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return 0; /* a file that takes no lock (ENOLCK): written as it comes */
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return 0;
	end = whole_lines_end(fd, sb.st_size);
	if (end < 0)
		return (int)end;
	if (end < sb.st_size && whole_json(fd, end, sb.st_size)) {
		if (write(fd, "\n", 1) != 1)
			return errno ? -errno : -EIO;
		end = sb.st_size + 1;
	} else if (end < sb.st_size && ftruncate(fd, end) < 0) {
		return -errno;
	}
	*start = end;
	return 0;
}

static void write_line(struct rec_run *rr, int finished, int64_t makespan_us)
{
	struct td_recorder *rec = rr->rec;
	struct rec_out o = {.fd = rec->fd};
	off_t start;

	rr->written = 1;
	pthread_mutex_lock(&rec->lock);
	o.err = take_file(rec->fd, &start);
	o.pos = start > 0 ? (uint64_t)start : 0;
	if (!o.err)
		put_line(&o, rr->run, finished, makespan_us);
	if (o.err) {
		set_err(rec, o.err);
		if (start >= 0 &&
		    ftruncate(rec->fd, start) < 0) /* no line rather than half of one */
			set_err(rec, -errno);
	}
	flock(rec->fd, LOCK_UN);
	pthread_mutex_unlock(&rec->lock);
	td__buf_free(&o.b);
}

static void on_event(void *ud, const struct td_run *run, const struct td_event *ev)
{
	(void)run;
	if (ev->type == TD_EVENT_RUN_FINISHED)
		write_line(ud, 1, ev->time_us);
}

static void rec_run_fini(void *ud)
{
	struct rec_run *rr = ud;

	if (!rr->written && rr->run->started)
		write_line(rr, 0, -1);
	td__free(rr);
}

static int attach(const void *self, struct td_run *r)
{
	struct rec_run *rr = td__calloc(1, sizeof(*rr));
	int err;

	if (!rr)
		return TD_ENOMEM;
	rr->rec = (struct td_recorder *)self;
	rr->run = r;
	err = td__run_observe_end(r, on_event, rec_run_fini, rr);
	if (err)
		td__free(rr);
	return err;
}

int td_recorder_open(const char *path, struct td_recorder **out, struct td_diag *diag)
{
	struct td_recorder *rec;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!path)
		return TD_EINVAL;
	rec = td__calloc(1, sizeof(*rec));
	if (!rec)
		return TD_ENOMEM;
	rec->hook.attach = attach;
	/* read too, to find a torn last line; a file we may only write is recorded into all the
	 * same */
	rec->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (rec->fd < 0 && errno == EACCES)
		rec->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (rec->fd < 0) {
		int err = -errno;

		td__diag_add(diag, err, path, 0, 0, "cannot open the recording: %s",
		             strerror(-err));
		td__free(rec);
		return err;
	}
	pthread_mutex_init(&rec->lock, NULL);
	*out = rec;
	return 0;
}

int td_recorder_error(const struct td_recorder *rec)
{
	return rec ? __atomic_load_n(&rec->err, __ATOMIC_RELAXED) : TD_EINVAL;
}

void td_recorder_free(struct td_recorder *rec)
{
	if (!rec)
		return;
	close(rec->fd);
	pthread_mutex_destroy(&rec->lock);
	td__free(rec);
}

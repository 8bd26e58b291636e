/* SPDX-License-Identifier: MIT */
/*
 * record.c - td_recorder: one self-contained JSON line per run appended to a file, by an
 * ordinary observer of the run that writes when the run finishes (or is freed before).
 *
 * Why one write(2) on an O_APPEND descriptor: Linux appends a regular file's write under the
 * inode lock, so lines of runs in other threads or processes never interleave, and a process
 * killed mid-run leaves either nothing or the whole line of each run that finished. Only a
 * crash inside write() itself (or a full disk) can leave a torn last line; readers ignore it.
 *
 * Nothing of the tools' definitions is written, only a hash of the parts that are not secret
 * (names, descriptions, schemas, argv, builtin, function name, method, depends_on): an HTTP
 * tool's url and headers, where ${NAME} values land, never reach the file.
 * The format is README.md's "Recordings" (version RECORD_VERSION).
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report/jsonw.h"
#include "run/run.h"

#define RECORD_VERSION 1

struct td_recorder {
	struct td__run_hook hook; /* first: td_run_opts.record is read through it */
	int fd;
	int err; /* the first write error; runs on several threads share the recorder */
};

/* One run being recorded. */
struct rec_run {
	struct td_recorder *rec;
	const struct td_run *run;
	int written;
};

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

/* FNV-1a 64 over each tool's non-secret definition, in declaration order. */
static uint64_t tools_hash(const struct td_graph *g)
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
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)tools_hash(g));
	td__buf_puts(b, ",\"tools_hash\":\"fnv1a64:");
	td__buf_puts(b, hex);
	td__buf_puts(b, "\"}");
}

/* ---- calls ---- */

/* ,"depends_on":[ before the first index, a comma before the others */
static void put_dep(struct td__buf *b, uint32_t dep, int first)
{
	char *p = jw_open(b, 0);

	if (!p)
		return;
	p = first ? JW_LIT(p, ",\"depends_on\":[") : JW_LIT(p, ",");
	jw_close(b, jw_u64(p, dep));
}

/* The call's explicit depends_on, as indices into the line's calls: a tenth of a line of
 * 100,000 calls with ids (tool-level edges are the graph's, not the batch's);
 * left out when it has none. A batch whose edges came out of order keeps an edge list: its
 * edges are grouped once per line (by_call), not searched per call. */
static void put_depends(struct td__buf *b, const struct td_batch *bt, const uint32_t *off,
                        const uint32_t *to, uint32_t c)
{
	size_t e, from = 0, end = 0;

	if (!bt->edge_from && c < bt->edge_ncalls && bt->edge_off) {
		from = bt->edge_off[c];
		end = bt->edge_off[c + 1];
		to = bt->edge_to;
	} else if (bt->edge_from && off) {
		from = off[c];
		end = off[c + 1];
	}
	for (e = from; e < end; e++)
		put_dep(b, to[e], e == from);
	if (end > from)
		td__buf_putc(b, ']');
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

static char *put_exit(char *p, int exit_code, int sig)
{
	if (sig) {
		p = JW_LIT(p, ",\"signal\":");
		return jw_i64(p, sig);
	}
	return jw_exit_code(p, exit_code);
}

static void put_attempts(struct td__buf *b, const struct td__callrun *cr)
{
	unsigned i;

	td__buf_puts(b, ",\"attempts\":[");
	for (i = 0; i < cr->attempts; i++) {
		const struct td__attempt *a = i ? &cr->more[i - 1] : &cr->att0;
		char *p = jw_open(b, 0);

		if (!p)
			return;
		if (i)
			p = JW_LIT(p, ",");
		p = JW_LIT(p, "{\"status\":\"");
		p = jw_raw(p, td_status_name(a->status), strlen(td_status_name(a->status)));
		p = JW_LIT(p, "\",\"start_us\":");
		p = jw_i64(p, a->start_us);
		p = JW_LIT(p, ",\"end_us\":");
		p = jw_i64(p, a->end_us);
		p = put_exit(p, a->exit_code, a->signal);
		jw_close(b, JW_LIT(p, "}"));
	}
	td__buf_putc(b, ']');
}

/* finished: every call has its result (the last one's state changes just after the event). */
static void put_call(struct td__buf *b, const struct td_run *r, const uint32_t *off,
                     const uint32_t *to, uint32_t c, int finished)
{
	const struct td__call *call = &r->batch->calls[c];
	const struct td__callrun *cr = &r->calls[c];
	enum td_status st = finished || cr->state == TD_CS_DONE ? cr->status
	                    : cr->state == TD_CS_RUNNING        ? TD_STATUS_RUNNING
	                                                        : TD_STATUS_PENDING;
	struct td__call_lens lens = td__observe_lens(r, c);
	char *p = jw_open(b, jw_room_for(call->id, lens.id) + jw_room_for(call->name, lens.name));

	if (!p)
		return;
	p = c ? JW_LIT(p, ",{\"id\":\"") : JW_LIT(p, "{\"id\":\"");
	p = jw_known(p, call->id, lens.id);
	p = JW_LIT(p, "\",\"tool\":\"");
	p = jw_known(p, call->name, lens.name);
	jw_close(b, JW_LIT(p, "\",\"input\":"));
	td__buf_append(b, td__call_input(call), call->input_len);
	put_depends(b, r->batch, off, to, c);
	p = jw_open(b, 0);
	if (!p)
		return;
	p = JW_LIT(p, ",\"level\":");
	p = jw_i64(p, r->plan->level[c]);
	p = JW_LIT(p, ",\"status\":\"");
	p = jw_raw(p, td_status_name(st), strlen(td_status_name(st)));
	p = JW_LIT(p, "\"");
	if (cr->truncated)
		p = JW_LIT(p, ",\"truncated\":true");
	if (cr->content && memchr(cr->content, '\0', cr->content_len)) {
		p = JW_LIT(p, ",\"content_len\":");
		p = jw_u64(p, cr->content_len);
	}
	jw_close(b, JW_LIT(p, ",\"content\":"));
	td__buf_json_string(b, cr->content ? cr->content : "", cr->content ? cr->content_len : 0);
	put_attempts(b, cr);
	td__buf_putc(b, '}');
}

static const char *schedule_name(enum td_schedule s)
{
	return s == TD_SCHEDULE_EAGER ? "eager" : s == TD_SCHEDULE_CRITICAL ? "critical" : "level";
}

/* The whole line, newline included, in b; makespan_us < 0: the run's so far. */
static void build_line(struct td__buf *b, const struct td_run *r, int finished, int64_t makespan_us)
{
	struct timespec now;
	uint32_t c, *off, *to;
	size_t room = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	td__buf_printf(b, "{\"tooldag_record\":%d,\"unix_ms\":%lld,", RECORD_VERSION,
	               (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	put_graph(b, r->graph);
	td__buf_printf(b, ",\"dialect\":\"%s\",\"schedule\":\"%s\",\"concurrency\":%u",
	               td_dialect_name(r->batch->dialect == TD_DIALECT_AUTO ? TD_DIALECT_ANTHROPIC
	                                                                    : r->batch->dialect),
	               schedule_name(r->opts.schedule), r->limit);
	td__buf_printf(b, ",\"finished\":%s,\"cancelled\":%s,\"makespan_us\":%lld",
	               finished ? "true" : "false", r->cancelled ? "true" : "false",
	               (long long)(makespan_us < 0 ? td_run_makespan_us(r) : makespan_us));
	/* the line's size, nearly: one allocation instead of a dozen copies of a growing line */
	for (c = 0; c < r->plan->ncalls; c++)
		room += 160 + r->batch->calls[c].input_len + r->calls[c].content_len;
	td__buf_reserve_exact(b, room);
	td__buf_puts(b, ",\"calls\":[");
	if (by_call(r->batch, &off, &to) == 0)
		for (c = 0; c < r->plan->ncalls; c++)
			put_call(b, r, off, to, c, finished);
	else
		b->oom = 1;
	td__free(off);
	td__free(to);
	td__buf_puts(b, "]}\n");
}

static void set_err(struct td_recorder *rec, int err)
{
	int none = 0;

	__atomic_compare_exchange_n(&rec->err, &none, err, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* One write: a short write (a full disk) is an error, never continued, so no line is ever
 * split by another writer's line. */
static void write_line(struct rec_run *rr, int finished, int64_t makespan_us)
{
	struct td__buf b = {0};
	ssize_t n;

	rr->written = 1;
	build_line(&b, rr->run, finished, makespan_us);
	if (b.oom) {
		set_err(rr->rec, TD_ENOMEM);
	} else {
		do
			n = write(rr->rec->fd, b.data, b.len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			set_err(rr->rec, -errno);
		else if ((size_t)n != b.len)
			set_err(rr->rec, -ENOSPC);
	}
	td__buf_free(&b);
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
	err = td__run_observe(r, on_event, rec_run_fini, rr);
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
	rec->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (rec->fd < 0) {
		int err = -errno;

		td__diag_add(diag, err, path, 0, 0, "cannot open the recording: %s",
		             strerror(-err));
		td__free(rec);
		return err;
	}
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
	td__free(rec);
}

/* SPDX-License-Identifier: MIT */
/*
 * record_read.c - td_recording: a recording file (record.c) read back, for `tooldag replay`.
 *
 * Each line is parsed whole with cJSON and kept as its tree; results are re-encoded by the
 * encoder the run used (report/results.h), so a replay prints the run's bytes. A content with
 * NUL bytes survives: cJSON decodes "\u0000" into its buffer but stops strlen() there, and
 * the buffer is sized for the escaped text, longer than what was decoded into it. For a call
 * whose line has content_len, the content is decoded again from the line's own text into a
 * buffer of its own (raw_contents, decode_string), all of its bytes, and checked against
 * cJSON's up to the first NUL: no byte past what was decoded is ever read.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/results.h"
#include "util/util.h"

#define RECORDING_MAX_BYTES ((size_t)1 << 32)

struct rcall {
	struct td_recorded_call pub;
	const cJSON *attempts; /* the call's "attempts" member, NULL when it has none */
	char *own;             /* a content with NUL bytes, decoded here (pub.content) */
};

struct rbatch {
	cJSON *line;
	const char *graph;
	const char *tools_hash; /* "fnv1a64:<16 hex>", or NULL when the line has none */
	enum td_dialect dialect;
	struct rcall *calls;
	size_t ncalls;
};

struct td_recording {
	struct rbatch *v;
	size_t n;
	unsigned torn;
};

static int parse_status(const char *s, enum td_status *out)
{
	int st;

	for (st = TD_STATUS_PENDING; st <= TD_STATUS_CANCELLED; st++)
		if (strcmp(td_status_name((enum td_status)st), s) == 0) {
			*out = (enum td_status)st;
			return 0;
		}
	return -1;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- a content with NUL bytes, decoded from the line's text ---- */

/* cJSON's whitespace: every byte up to the space */
static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (unsigned char)*p <= ' ')
		p++;
	return p;
}

/* Past the string whose quote is at p (e where it does not end). */
static const char *string_end(const char *p, const char *e)
{
	for (p++; p < e && *p != '"'; p++)
		if (*p == '\\' && p + 1 < e)
			p++;
	return p < e ? p + 1 : e;
}

/* Past the JSON value at p. */
static const char *value_end(const char *p, const char *e)
{
	size_t depth = 0;

	if (p < e && *p == '"')
		return string_end(p, e);
	if (p < e && (*p == '{' || *p == '[')) {
		do {
			if (*p == '"')
				p = string_end(p, e);
			else if (*p == '{' || *p == '[')
				depth++, p++;
			else if (*p == '}' || *p == ']')
				depth--, p++;
			else
				p++;
		} while (depth && p < e);
		return p;
	}
	while (p < e && (unsigned char)*p > ' ' && !strchr(",}]", *p)) /* number, true, ... */
		p++;
	return p;
}

/* The value of the object at p's first member named key (cJSON's choice too), or NULL. */
static const char *member(const char *p, const char *e, const char *key)
{
	size_t klen = strlen(key);
	const char *k;

	if (p >= e || *p != '{')
		return NULL;
	for (p = skip_ws(p + 1, e); p < e && *p == '"'; p = skip_ws(p + 1, e)) {
		k = p;
		p = skip_ws(string_end(p, e), e);
		if (p >= e || *p != ':')
			return NULL;
		p = skip_ws(p + 1, e);
		if ((size_t)(p - k) > klen + 1 && k[klen + 1] == '"' && !memcmp(k + 1, key, klen))
			return p;
		p = skip_ws(value_end(p, e), e);
		if (p >= e || *p != ',')
			return NULL;
	}
	return NULL;
}

/* Where each call's content string starts in the line (its quote), in at[n]; NULL where it
 * cannot be found. */
static void raw_contents(const char *s, size_t len, const char **at, size_t n)
{
	const char *e = s + len, *p = member(skip_ws(s, e), e, "calls"), *c;
	size_t i;

	for (i = 0; i < n; i++)
		at[i] = NULL;
	if (!p || *p != '[')
		return;
	for (i = 0, p = skip_ws(p + 1, e); i < n && p < e && *p == '{'; i++) {
		c = member(p, e, "content");
		at[i] = c && c < e && *c == '"' ? c : NULL;
		p = skip_ws(value_end(p, e), e);
		if (p >= e || *p != ',')
			break;
		p = skip_ws(p + 1, e);
	}
}

static int hex4(const char *p, const char *e, unsigned long *cp)
{
	char h[5] = {0}, *end;

	if (e - p < 4)
		return -1;
	memcpy(h, p, 4);
	*cp = strtoul(h, &end, 16);
	return end == h + 4 && h[0] != '+' && h[0] != '-' && h[0] != ' ' ? 0 : -1;
}

/* The string whose quote is at p, decoded as cJSON decodes it, in a new buffer (*n bytes, a NUL
 * after them); NULL when it is not a JSON string or no memory. */
static char *decode_string(const char *p, const char *e, size_t *n)
{
	const char *end = string_end(p, e) - 1;
	unsigned long cp, lo;
	char *out, *o;

	if (end <= p || *end != '"' || !(out = td__malloc((size_t)(end - p) + 1)))
		return NULL;
	for (o = out, p++; p < end; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'b':
			*o++ = '\b';
			continue;
		case 'f':
			*o++ = '\f';
			continue;
		case 'n':
			*o++ = '\n';
			continue;
		case 'r':
			*o++ = '\r';
			continue;
		case 't':
			*o++ = '\t';
			continue;
		case '"':
		case '\\':
		case '/':
			*o++ = *p;
			continue;
		case 'u':
			break;
		default:
			goto bad;
		}
		if (hex4(p + 1, end, &cp) < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
			goto bad;
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
			if (end - p < 7 || p[1] != '\\' || p[2] != 'u' ||
			    hex4(p + 3, end, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
				goto bad;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (cp < 0x80) {
			*o++ = (char)cp;
		} else if (cp < 0x800) {
			*o++ = (char)(0xc0 | cp >> 6);
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*o++ = (char)(0xe0 | cp >> 12);
			*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*o++ = (char)(0xf0 | cp >> 18);
			*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
			*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	*o = '\0';
	*n = (size_t)(o - out);
	return out;
bad:
	td__free(out);
	return NULL;
}

static void free_calls(struct rbatch *b)
{
	size_t i;

	for (i = 0; b->calls && i < b->ncalls; i++)
		td__free(b->calls[i].own);
	td__free(b->calls);
	b->calls = NULL;
}

/* One call of a line; a message naming what is wrong, or NULL. raw: where its content string
 * starts in the line (up to e), NULL when the line has no content_len. */
static const char *read_call(const cJSON *o, struct rcall *rc, const char *raw, const char *e)
{
	const cJSON *len = cJSON_GetObjectItemCaseSensitive(o, "content_len");
	const char *status = str_of(o, "status");
	size_t n;

	rc->pub.id = str_of(o, "id");
	rc->pub.tool = str_of(o, "tool");
	rc->pub.content = str_of(o, "content");
	rc->attempts = cJSON_GetObjectItemCaseSensitive(o, "attempts");
	if (!cJSON_IsObject(o) || !rc->pub.id || !rc->pub.tool || !rc->pub.content || !status)
		return "a call needs the strings id, tool, status and content";
	if (parse_status(status, &rc->pub.status) < 0)
		return "a call has an unknown status";
	rc->pub.content_len = strlen(rc->pub.content);
	if (!len) /* no NUL byte in it */
		return NULL;
	/* content_len counts the bytes the tool returned, and a byte that is not UTF-8 was
	 * written as U+FFFD (3 bytes): the content is the string's bytes, all of them, and its
	 * content_len can only be shorter, or the same when nothing had to be replaced */
	if (!cJSON_IsNumber(len) || !raw || !(rc->own = decode_string(raw, e, &n)) ||
	    strcmp(rc->own, rc->pub.content) != 0 || len->valuedouble > (double)n ||
	    (n == rc->pub.content_len && len->valuedouble != (double)n))
		return "a call's content_len does not fit its content";
	rc->pub.content = rc->own;
	rc->pub.content_len = n;
	return NULL;
}

/* The line (len bytes at s) parsed as line. */
static const char *read_line(const char *s, size_t len, cJSON *line, struct rbatch *b)
{
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(line, "tooldag_record");
	const cJSON *graph = cJSON_GetObjectItemCaseSensitive(line, "graph");
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(line, "calls");
	const char *dialect = str_of(line, "dialect"), *why = NULL, **at = NULL;
	const cJSON *c;
	size_t i = 0;

	if (!cJSON_IsNumber(ver))
		return "not a tooldag recording (no \"tooldag_record\" version)";
	if (ver->valueint != 1)
		return "a recording format version this tooldag does not read";
	b->graph = str_of(graph, "path");
	b->tools_hash = str_of(graph, "tools_hash");
	if (!b->graph || !dialect || td_dialect_parse(dialect, &b->dialect) < 0 ||
	    !cJSON_IsArray(calls))
		return "a recording line needs graph.path, a dialect and a calls array";
	b->ncalls = (size_t)cJSON_GetArraySize(calls);
	b->calls = td__calloc(b->ncalls ? b->ncalls : 1, sizeof(*b->calls));
	if (!b->calls)
		return "out of memory";
	cJSON_ArrayForEach(c, calls)
	{
		if (cJSON_GetObjectItemCaseSensitive(c, "content_len") && !at) {
			at = td__calloc(b->ncalls, sizeof(*at));
			if (!at) {
				why = "out of memory";
				break;
			}
			raw_contents(s, len, at, b->ncalls);
		}
		if ((why = read_call(c, &b->calls[i], at ? at[i] : NULL, s + len)))
			break;
		i++;
	}
	td__free(at);
	if (!why)
		b->line = line;
	return why;
}

static int add_batch(struct td_recording *rec, struct rbatch *b)
{
	struct rbatch *v = realloc(rec->v, (rec->n + 1) * sizeof(*v));

	if (!v)
		return TD_ENOMEM;
	rec->v = v;
	rec->v[rec->n++] = *b;
	return 0;
}

/* Line `no` (len bytes at s, without its newline; `last` when no newline ended it). */
static int parse_one(struct td_recording *rec, const char *path, unsigned no, const char *s,
                     size_t len, int last, struct td_diag *diag)
{
	struct rbatch b = {0};
	cJSON *line = cJSON_ParseWithLength(s, len);
	const char *why;

	if (!line && last) {
		rec->torn = no; /* a writer killed mid-write: ignored */
		return 0;
	}
	why = line ? read_line(s, len, line, &b) : "not JSON";
	if (!why && add_batch(rec, &b) == 0)
		return 0;
	td__diag_add(diag, TD_ESYNTAX, path, no, 0, "%s", why ? why : "out of memory");
	free_calls(&b);
	cJSON_Delete(line);
	return TD_ESYNTAX;
}

static int parse_all(struct td_recording *rec, const char *path, const char *text, size_t len,
                     struct td_diag *diag)
{
	size_t at = 0;
	unsigned no = 0;

	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - text) : len;
		int err;

		no++;
		if (end > at) {
			err = parse_one(rec, path, no, text + at, end - at, !nl, diag);
			if (err)
				return err;
		}
		at = end + 1;
	}
	return 0;
}

static int slurp(const char *path, char **out, size_t *len, struct td_diag *diag)
{
	FILE *f = fopen(path, "rbe");
	struct td__buf b = {0};
	char chunk[65536];
	size_t n;
	int err = 0;

	if (!f) {
		err = -errno;
		td__diag_add(diag, err, path, 0, 0, "cannot read the recording: %s",
		             strerror(-err));
		return err;
	}
	errno = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && !b.oom && b.len < RECORDING_MAX_BYTES)
		td__buf_append(&b, chunk, n);
	if (ferror(f))
		err = errno ? -errno : -EIO; /* EISDIR for a directory */
	else if (b.oom)
		err = TD_ENOMEM;
	else if (b.len >= RECORDING_MAX_BYTES)
		err = TD_ETOOBIG;
	fclose(f);
	if (err) {
		td__diag_add(diag, err, path, 0, 0, "cannot read the recording: %s",
		             td_strerror(err));
		td__buf_free(&b);
		return err;
	}
	*len = b.len;
	*out = td__buf_take(&b);
	return 0;
}

int td_recording_open(const char *path, struct td_recording **out, struct td_diag *diag)
{
	struct td_recording *rec;
	char *text = NULL;
	size_t len = 0;
	int err;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!path)
		return TD_EINVAL;
	err = slurp(path, &text, &len, diag);
	if (err)
		return err;
	rec = td__calloc(1, sizeof(*rec));
	err = rec ? parse_all(rec, path, text ? text : "", len, diag) : TD_ENOMEM;
	td__free(text);
	if (err) {
		td_recording_free(rec);
		return err;
	}
	*out = rec;
	return rec->n > INT32_MAX ? INT32_MAX : (int)rec->n;
}

void td_recording_free(struct td_recording *rec)
{
	size_t i;

	if (!rec)
		return;
	for (i = 0; i < rec->n; i++) {
		free_calls(&rec->v[i]);
		cJSON_Delete(rec->v[i].line);
	}
	free(rec->v);
	td__free(rec);
}

size_t td_recording_count(const struct td_recording *rec)
{
	return rec ? rec->n : 0;
}

unsigned td_recording_torn(const struct td_recording *rec)
{
	return rec ? rec->torn : 0;
}

const char *td_recording_graph(const struct td_recording *rec, size_t batch)
{
	return rec && batch < rec->n ? rec->v[batch].graph : NULL;
}

int td_recording_same_tools(const struct td_recording *rec, size_t batch,
                            const struct td_graph *graph)
{
	char now[32];

	if (!rec || batch >= rec->n || !graph)
		return TD_EINVAL;
	if (!rec->v[batch].tools_hash)
		return TD_ENOTFOUND;
	snprintf(now, sizeof(now), "fnv1a64:%016llx", (unsigned long long)td__tools_hash(graph));
	return strcmp(now, rec->v[batch].tools_hash) == 0;
}

enum td_dialect td_recording_dialect(const struct td_recording *rec, size_t batch)
{
	return rec && batch < rec->n ? rec->v[batch].dialect : TD_DIALECT_AUTO;
}

size_t td_recording_call_count(const struct td_recording *rec, size_t batch)
{
	return rec && batch < rec->n ? rec->v[batch].ncalls : 0;
}

int td_recording_call(const struct td_recording *rec, size_t batch, size_t call,
                      struct td_recorded_call *out)
{
	if (!rec || !out || batch >= rec->n || call >= rec->v[batch].ncalls)
		return TD_EINVAL;
	*out = rec->v[batch].calls[call].pub;
	return 0;
}

static void recorded_item(const void *ctx, size_t i, struct td__result_item *it)
{
	const struct rbatch *b = ctx;

	it->id = b->calls[i].pub.id;
	it->content = b->calls[i].pub.content;
	it->content_len = b->calls[i].pub.content_len;
	it->is_error = b->calls[i].pub.status != TD_STATUS_OK;
}

int td_recording_results_json(const struct td_recording *rec, size_t batch, enum td_dialect dialect,
                              int pretty, char **out)
{
	const struct rbatch *b;

	if (!rec || !out || batch >= rec->n)
		return TD_EINVAL;
	b = &rec->v[batch];
	return td__results_encode(dialect == TD_DIALECT_AUTO ? b->dialect : dialect, pretty,
	                          b->ncalls, recorded_item, b, out);
}

/* ---- running a recorded batch again ---- */

static int add_calls(struct td_batch *out, const cJSON *calls)
{
	const cJSON *c;
	int idx;

	cJSON_ArrayForEach(c, calls)
	{
		const cJSON *input = cJSON_GetObjectItemCaseSensitive(c, "input");
		char *text = input ? cJSON_PrintUnformatted(input) : NULL;

		idx = td_batch_add(out, str_of(c, "id"), str_of(c, "tool"), text);
		free(text);
		if (idx < 0)
			return idx;
	}
	return 0;
}

static int add_edges(struct td_batch *out, const cJSON *calls)
{
	const cJSON *c, *d;
	uint32_t self = 0, dep;
	int err;

	cJSON_ArrayForEach(c, calls)
	{
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(c, "depends_on"))
		{
			if (!cJSON_IsNumber(d) || d->valuedouble < 0 ||
			    d->valuedouble >= (double)td_batch_count(out))
				return TD_EBATCH;
			dep = (uint32_t)d->valuedouble;
			err = td_batch_depend(out, self, dep);
			if (err < 0)
				return err;
		}
		self++;
	}
	return 0;
}

int td_recording_batch(const struct td_recording *rec, size_t batch, const struct td_graph *graph,
                       struct td_batch **out, struct td_diag *diag)
{
	const cJSON *calls;
	int err;

	if (!out)
		return TD_EINVAL;
	*out = NULL;
	if (!rec || !graph || batch >= rec->n)
		return TD_EINVAL;
	calls = cJSON_GetObjectItemCaseSensitive(rec->v[batch].line, "calls");
	err = td_batch_new(graph, rec->v[batch].dialect, out);
	if (!err)
		err = add_calls(*out, calls);
	if (!err)
		err = add_edges(*out, calls);
	if (err) {
		td__diag_add(diag, err, NULL, 0, 0,
		             "the recorded batch %zu cannot be rebuilt against this graph: %s",
		             batch + 1, td_strerror(err));
		td_batch_free(*out);
		*out = NULL;
	}
	return err;
}

/* ---- attempts: when each call ran ---- */

int td_recording_attempt_count(const struct td_recording *rec, size_t batch, size_t call)
{
	const cJSON *a;

	if (!rec || batch >= rec->n || call >= rec->v[batch].ncalls)
		return TD_EINVAL;
	a = rec->v[batch].calls[call].attempts;
	if (a && !cJSON_IsArray(a))
		return TD_ESYNTAX;
	return cJSON_GetArraySize(a);
}

/* A time in microseconds: a number an int64_t holds. 0, or -1. */
static int us_of(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) ||
	    !(v->valuedouble >= -9223372036854775808.0 && v->valuedouble < 9223372036854775808.0))
		return -1;
	*out = (int64_t)v->valuedouble;
	return 0;
}

int td_recording_attempt(const struct td_recording *rec, size_t batch, size_t call, size_t k,
                         struct td_recorded_attempt *out)
{
	int n = td_recording_attempt_count(rec, batch, call);
	const cJSON *a, *start, *end;
	const char *status;

	if (n < 0)
		return n;
	if (!out || k >= (size_t)n)
		return TD_EINVAL;
	a = cJSON_GetArrayItem(rec->v[batch].calls[call].attempts, (int)k);
	status = str_of(a, "status");
	start = cJSON_GetObjectItemCaseSensitive(a, "start_us");
	end = cJSON_GetObjectItemCaseSensitive(a, "end_us");
	if (!status || parse_status(status, &out->status) < 0 || us_of(start, &out->start_us) < 0 ||
	    us_of(end, &out->end_us) < 0)
		return TD_ESYNTAX;
	return 0;
}

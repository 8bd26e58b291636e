/* SPDX-License-Identifier: MIT */
/*
 * results.c - encoding a run's outcome: the results (one per call, call order, the calls'
 * dialect, no timings so identical outcomes give identical bytes) and the run report (timings,
 * statuses and every attempt).
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "report/results.h"
#include "run/run.h"

static void put_string(struct td__buf *b, const char *s, size_t len)
{
	td__buf_json_string(b, s ? s : "", s ? len : 0);
}

static void put_cstring(struct td__buf *b, const char *s)
{
	put_string(b, s, s ? strlen(s) : 0);
}

/* Separator before element i: a comma, and in pretty mode a newline and indentation. */
static void sep(struct td__buf *b, size_t i, int pretty, const char *indent)
{
	if (i)
		td__buf_putc(b, ',');
	if (pretty) {
		td__buf_putc(b, '\n');
		td__buf_puts(b, indent);
	}
}

/*
 * Content blocks as Responses content parts: text -> input_text, an image -> input_image with
 * a data: URL. 0, or -1 when blocks cannot be read (the text is used instead).
 */
static int responses_parts(struct td__buf *b, const char *blocks)
{
	cJSON *arr = cJSON_Parse(blocks), *bl;
	size_t n = 0;

	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return -1;
	}
	td__buf_putc(b, '[');
	cJSON_ArrayForEach(bl, arr)
	{
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(bl, "source");
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(bl, "text");
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(src, "media_type");
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(src, "data");

		if (n++)
			td__buf_putc(b, ',');
		if (cJSON_IsString(mt) && cJSON_IsString(data)) {
			struct td__buf url = {0};

			td__buf_printf(&url, "data:%s;base64,%s", mt->valuestring,
			               data->valuestring);
			td__buf_puts(b, "{\"type\":\"input_image\",\"image_url\":");
			put_string(b, url.data, url.len);
			b->oom |= url.oom;
			td__buf_free(&url);
		} else {
			td__buf_puts(b, "{\"type\":\"input_text\",\"text\":");
			put_cstring(b, cJSON_IsString(text) ? text->valuestring : "");
		}
		td__buf_putc(b, '}');
	}
	td__buf_putc(b, ']');
	cJSON_Delete(arr);
	return 0;
}

/* The content: blocks where the dialect carries them (Anthropic content, Responses output
 * parts), else the text. */
static void put_content(struct td__buf *b, enum td_dialect d, const struct td__result_item *it)
{
	if (it->blocks && d == TD_DIALECT_RESPONSES && responses_parts(b, it->blocks) == 0)
		return;
	if (it->blocks && d != TD_DIALECT_OPENAI && d != TD_DIALECT_RESPONSES)
		td__buf_puts(b, it->blocks);
	else
		put_string(b, it->content, it->content_len);
}

/* {<opening and id key><id><content key><content>}: the result block of each dialect. */
static void result_item(struct td__buf *b, enum td_dialect d, const struct td__result_item *it)
{
	const char *open = "{\"type\":\"tool_result\",\"tool_use_id\":", *content = ",\"content\":";

	if (d == TD_DIALECT_OPENAI) {
		open = "{\"role\":\"tool\",\"tool_call_id\":";
	} else if (d == TD_DIALECT_RESPONSES) {
		open = "{\"type\":\"function_call_output\",\"call_id\":";
		content = ",\"output\":";
	}
	td__buf_puts(b, open);
	put_cstring(b, it->id);
	td__buf_puts(b, content);
	put_content(b, d, it);
	/* Anthropic only, and only when true */
	if (d != TD_DIALECT_OPENAI && d != TD_DIALECT_RESPONSES && it->is_error)
		td__buf_puts(b, ",\"is_error\":true");
	td__buf_putc(b, '}');
}

static int finish(struct td__buf *b, char **out)
{
	*out = td__buf_take(b);
	return *out ? 0 : TD_ENOMEM;
}

int td__results_encode(enum td_dialect dialect, int pretty, size_t n, td__result_get get,
                       const void *ctx, char **out)
{
	struct td__buf b = {0};
	struct td__result_item it;
	const char *indent;
	size_t c;

	if (dialect == TD_DIALECT_ANTHROPIC || dialect == TD_DIALECT_AUTO) {
		td__buf_puts(&b, pretty ? "{\n  \"role\": \"user\",\n  \"content\": ["
		                        : "{\"role\":\"user\",\"content\":[");
		indent = "    ";
	} else {
		td__buf_putc(&b, '[');
		indent = "  ";
	}
	for (c = 0; c < n; c++) {
		sep(&b, c, pretty, indent);
		memset(&it, 0, sizeof(it));
		get(ctx, c, &it);
		result_item(&b, dialect, &it);
	}
	if (dialect == TD_DIALECT_OPENAI || dialect == TD_DIALECT_RESPONSES)
		td__buf_puts(&b, pretty && n ? "\n]" : "]");
	else
		td__buf_puts(&b, !pretty ? "]}" : n ? "\n  ]\n}" : "]\n}");
	return finish(&b, out);
}

static void run_item(const void *ctx, size_t c, struct td__result_item *it)
{
	const struct td_run *run = ctx;
	const struct td__callrun *cr = &run->calls[c];

	it->id = run->batch->calls[c].id;
	it->content = cr->content;
	it->content_len = cr->content_len;
	it->is_error = cr->status != TD_STATUS_OK;
	it->blocks = cr->blocks;
}

int td_run_results_json(const struct td_run *run, enum td_dialect dialect, int pretty, char **out)
{
	if (!run || !out)
		return TD_EINVAL;
	*out = NULL;
	if (run->ndone < run->plan->ncalls)
		return TD_ESTATE; /* a pending call has no result to encode */
	if (dialect == TD_DIALECT_AUTO)
		dialect = run->batch->dialect;
	return td__results_encode(dialect, pretty, run->plan->ncalls, run_item, run, out);
}

int td_run_result_json(const struct td_run *run, size_t call, enum td_dialect dialect, char **out)
{
	struct td__result_item it;
	struct td__buf b = {0};

	if (!run || !out || call >= run->plan->ncalls)
		return TD_EINVAL;
	if (run->calls[call].state != TD_CS_DONE)
		return TD_ESTATE; /* no result yet: nothing to hand a model */
	if (dialect == TD_DIALECT_AUTO)
		dialect = run->batch->dialect;
	run_item(run, call, &it);
	result_item(&b, dialect, &it);
	return finish(&b, out);
}

int td_run_find(const struct td_run *run, const char *id)
{
	uint32_t c;

	if (!run || !id)
		return TD_EINVAL;
	if (!td__batch_find(run->batch, id, &c))
		return TD_ENOTFOUND;
	return (int)c;
}

/* ---- the report ---- */

static void put_ms(struct td__buf *b, const char *key, int64_t us)
{
	td__buf_printf(b, ",\"%s\":", key);
	if (us < 0)
		td__buf_puts(b, "null");
	else
		td__buf_printf(b, "%lld.%03lld", (long long)(us / 1000), (long long)(us % 1000));
}

static void put_exit(struct td__buf *b, int exit_code, int sig)
{
	if (sig) {
		const char *name = sigabbrev_np(sig);

		td__buf_printf(b, ",\"signal\":%d,\"signal_name\":\"SIG%s\"", sig,
		               name ? name : "?");
	} else if (exit_code >= 0) {
		td__buf_printf(b, ",\"exit_code\":%d", exit_code);
	}
}

/* ,"worker":NAME when a worker held it (a remote tool's attempt) */
static void put_worker(struct td__buf *b, const char *worker)
{
	if (!worker)
		return;
	td__buf_puts(b, ",\"worker\":");
	put_cstring(b, worker);
}

static void put_attempt(struct td__buf *b, const struct td__attempt *a)
{
	td__buf_puts(b, "{\"status\":");
	put_cstring(b, td_status_name(a->status));
	put_ms(b, "start_ms", a->start_us);
	put_ms(b, "end_ms", a->end_us);
	put_ms(b, "queue_ms", a->queue_us);
	put_worker(b, a->worker);
	put_exit(b, a->exit_code, a->signal);
	td__buf_putc(b, '}');
}

const char *td_run_result_worker(const struct td_run *run, size_t call)
{
	if (!run || call >= run->plan->ncalls || !run->calls[call].attempts)
		return NULL;
	return td__attempt_of(&run->calls[call], run->calls[call].attempts)->worker;
}

static void report_call(struct td__buf *b, const struct td_run *r, uint32_t c)
{
	const struct td__call *call = &r->batch->calls[c];
	const struct td__callrun *cr = &r->calls[c];
	unsigned i;

	td__buf_puts(b, "{\"id\":");
	put_cstring(b, call->id);
	td__buf_puts(b, ",\"name\":");
	put_cstring(b, call->name);
	td__buf_printf(b, ",\"level\":%d,\"status\":", (int)r->plan->level[c]);
	put_cstring(b, td_status_name(cr->state == TD_CS_RUNNING ? TD_STATUS_RUNNING : cr->status));
	td__buf_printf(b, ",\"attempts\":%u", cr->attempts);
	put_ms(b, "start_ms", cr->start_us);
	put_ms(b, "end_ms", cr->end_us);
	put_ms(b, "queue_ms", cr->queue_us);
	if (cr->attempts)
		put_worker(b, td__attempt_of(cr, cr->attempts)->worker);
	put_exit(b, cr->exit_code, cr->signal);
	td__buf_printf(b, ",\"truncated\":%s", cr->truncated ? "true" : "false");
	if (cr->state == TD_CS_DONE && cr->status != TD_STATUS_OK) {
		td__buf_puts(b, ",\"error\":");
		put_string(b, cr->content, cr->content_len);
	}
	td__buf_puts(b, ",\"attempts_detail\":[");
	for (i = 0; i < cr->attempts; i++) {
		if (i)
			td__buf_putc(b, ',');
		put_attempt(b, i ? &cr->more[i - 1] : &cr->att0);
	}
	td__buf_puts(b, "]}");
}

int td_run_report_json(const struct td_run *run, int pretty, char **out)
{
	struct td__buf b = {0};
	int64_t us;
	uint32_t c;

	if (!run || !out)
		return TD_EINVAL;
	us = td_run_makespan_us(run);
	td__buf_printf(&b, "{\"makespan_ms\":%lld.%03lld", (long long)(us / 1000),
	               (long long)(us % 1000));
	td__buf_printf(&b, ",\"schedule\":\"%s\",\"concurrency\":%u,\"cancelled\":%s",
	               run->opts.schedule == TD_SCHEDULE_EAGER      ? "eager"
	               : run->opts.schedule == TD_SCHEDULE_CRITICAL ? "critical"
	                                                            : "level",
	               run->limit, run->cancelled ? "true" : "false");
	us = td__feed_end_us(run); /* a streamed run: when its stream ended */
	if (us >= 0)
		td__buf_printf(&b, ",\"stream_end_ms\":%lld.%03lld", (long long)(us / 1000),
		               (long long)(us % 1000));
	td__buf_puts(&b, ",\"calls\":[");
	for (c = 0; c < run->plan->ncalls; c++) {
		sep(&b, c, pretty, "  ");
		report_call(&b, run, c);
	}
	td__buf_puts(&b, pretty && run->plan->ncalls ? "\n]}" : "]}");
	return finish(&b, out);
}

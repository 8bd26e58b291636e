/* SPDX-License-Identifier: MIT */
/*
 * progress.c - what `tooldag run` shows on stderr while it runs, from the run's events:
 *  - tty: one status line overprinted in place, like Ninja's:
 *    "[level 2/3] 14/20 done, 3 running (lookup_pollen 1.2s), 1 failed"
 *    redrawn at most every 50 ms of run time on events and on the ticks of our poll loop, so
 *    the running call's clock moves while nothing happens and 100,000 events cost 100 writes;
 *  - plain: one human-readable line per event, for logs;
 *  - json: one td_event_json() object per line, for UIs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_US 50000
#define NONE      UINT32_MAX

struct progress {
	enum progress_mode mode;
	FILE *f;
	const struct td_run *run;
	const struct td_batch *batch;
	uint32_t ncalls, nlevels;
	/* tty: running calls as a list in start order (the head has run longest) */
	uint32_t *prev, *next, head, tail, running;
	int64_t *since;      /* [ncalls]: when its current attempt started */
	uint8_t *level_done; /* [nlevels] */
	uint32_t low;        /* lowest level not finished */
	uint32_t done, failed;
	int64_t drawn_at; /* run time of the last redraw; -1: never */
	int shown;        /* a status line is on screen */
	/* json: lines not yet handed to stdio; at most JSON_BUF, then room for one more line */
	char *out;
	size_t outlen;
};

#define JSON_BUF  (64u * 1024)
#define JSON_LINE 4096u

/* ---- tty status line ---- */

static void unlink_running(struct progress *p, uint32_t c)
{
	if (p->prev[c] != NONE)
		p->next[p->prev[c]] = p->next[c];
	else
		p->head = p->next[c];
	if (p->next[c] != NONE)
		p->prev[p->next[c]] = p->prev[c];
	else
		p->tail = p->prev[c];
	p->running--;
}

static void link_running(struct progress *p, uint32_t c, int64_t t)
{
	p->since[c] = t;
	p->prev[c] = p->tail;
	p->next[c] = NONE;
	if (p->tail != NONE)
		p->next[p->tail] = c;
	else
		p->head = c;
	p->tail = c;
	p->running++;
}

static size_t columns(FILE *f)
{
	struct winsize ws;

	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

static void status_text(const struct progress *p, int64_t now, char *line, size_t len)
{
	size_t n;

	n = (size_t)snprintf(line, len, "[level %u/%u] %u/%u done",
	                     p->low < p->nlevels ? p->low + 1 : p->nlevels, p->nlevels, p->done,
	                     p->ncalls);
	if (n < len && p->running)
		n += (size_t)snprintf(line + n, len - n, ", %u running (%s %.1fs)", p->running,
		                      td_batch_call_tool(p->batch, p->head),
		                      (double)(now - p->since[p->head]) / 1e6);
	if (n < len && p->failed)
		snprintf(line + n, len - n, ", %u failed", p->failed);
}

static void redraw(struct progress *p, int64_t now)
{
	char line[512];
	size_t width = columns(p->f) - 1;

	status_text(p, now, line, sizeof(line));
	if (width < sizeof(line))
		line[width] = '\0'; /* never wrap: \r only returns to the start of the last row */
	fprintf(p->f, "\r%s\033[K", line);
	fflush(p->f);
	p->drawn_at = now;
	p->shown = 1;
}

static void tty_event(struct progress *p, const struct td_event *ev)
{
	switch (ev->type) {
	case TD_EVENT_CALL_STARTED:
		link_running(p, ev->call, ev->time_us);
		break;
	case TD_EVENT_ATTEMPT_FINISHED:
		unlink_running(p, ev->call);
		break;
	case TD_EVENT_LEVEL_FINISHED:
		p->level_done[ev->level] = 1;
		while (p->low < p->nlevels && p->level_done[p->low])
			p->low++;
		break;
	default:
		break;
	}
	p->done = ev->done;
	p->failed = ev->failed;
	if (ev->type == TD_EVENT_RUN_FINISHED) {
		redraw(p, ev->time_us);
		fputc('\n', p->f);
		p->shown = 0;
	} else if (ev->type == TD_EVENT_ATTEMPT_FINISHED) {
		return; /* its CALL_FINISHED or the retry's QUEUED follows: draw the counts then */
	} else if (p->drawn_at < 0 || ev->time_us - p->drawn_at >= REDRAW_US ||
	           ev->type == TD_EVENT_LEVEL_STARTED) {
		redraw(p, ev->time_us);
	}
}

/* ---- one line per event ---- */

static void plain_event(struct progress *p, const struct td_event *ev)
{
	char idbuf[CLI_TEXT_MAX], toolbuf[CLI_TEXT_MAX];
	const char *id = ev->call != TD_EVENT_NO_CALL ? td_batch_call_id(p->batch, ev->call) : "";
	const char *tool =
	    ev->call != TD_EVENT_NO_CALL ? td_batch_call_tool(p->batch, ev->call) : "";
	const char *st = td_status_name(ev->status);
	double t = (double)ev->time_us / 1e6, ms = (double)ev->run_us / 1e3;

	id = cli_text(id, idbuf, sizeof(idbuf)); /* the model chose them */
	tool = cli_text(tool, toolbuf, sizeof(toolbuf));
	switch (ev->type) {
	case TD_EVENT_LEVEL_STARTED:
	case TD_EVENT_LEVEL_FINISHED:
		fprintf(p->f, "[%8.3fs] level %u %s\n", t, ev->level,
		        ev->type == TD_EVENT_LEVEL_STARTED ? "started" : "finished");
		break;
	case TD_EVENT_CALL_QUEUED:
		fprintf(p->f, "[%8.3fs] queued   %s %s\n", t, id, tool);
		break;
	case TD_EVENT_CALL_STARTED:
		fprintf(p->f, "[%8.3fs] started  %s %s (attempt %u)\n", t, id, tool, ev->attempt);
		break;
	case TD_EVENT_ATTEMPT_FINISHED:
		if (ev->retrying)
			fprintf(p->f, "[%8.3fs] retry    %s %s: attempt %u %s after %.1fms\n", t,
			        id, tool, ev->attempt, st, ms);
		break;
	case TD_EVENT_CALL_FINISHED:
		if (ev->run_us >= 0)
			fprintf(p->f, "[%8.3fs] finished %s %s: %s in %.1fms\n", t, id, tool, st,
			        ms);
		else
			fprintf(p->f, "[%8.3fs] finished %s %s: %s\n", t, id, tool, st);
		break;
	case TD_EVENT_RUN_FINISHED:
		fprintf(p->f, "[%8.3fs] run finished: %u calls, %u failed\n", t, ev->done,
		        ev->failed);
		break;
	case TD_EVENT_CALL_PROGRESS:
		fprintf(p->f, "[%8.3fs] progress %s %s: %g", t, id, tool, ev->progress);
		if (ev->total > 0)
			fprintf(p->f, "/%g", ev->total);
		if (ev->message)
			fprintf(p->f, " %s", cli_text(ev->message, idbuf, sizeof(idbuf)));
		fputc('\n', p->f);
		break;
	}
}

static void json_flush(struct progress *p)
{
	if (p->outlen)
		fwrite(p->out, 1, p->outlen, p->f);
	p->outlen = 0;
}

/*
 * Each line is written in place at the end of p->out (td_event_json() writes in place when it
 * has room to spare, hence JSON_LINE), and the lines leave in 64 KiB blocks: a 100,000-call run
 * has 400,000 of them, and even one stdio call each is a tenth of what they cost. Flushed by
 * progress_tick() after each step of the run, so a UI sees every line as soon as the run
 * waits, and before anything else is written to the stream.
 */
static void json_event(struct progress *p, const struct td_event *ev)
{
	char *at = p->out + p->outlen, *line;
	int n = td_event_json(p->run, ev, at, JSON_LINE - 1);

	if (n < 0)
		return;
	if ((size_t)n < JSON_LINE - 1) {
		at[n] = '\n';
		p->outlen += (size_t)n + 1;
		if (p->outlen > JSON_BUF)
			json_flush(p);
		return;
	}
	json_flush(p); /* a huge id: a line of its own */
	line = malloc((size_t)n + 2);
	if (!line)
		return;
	td_event_json(p->run, ev, line, (size_t)n + 1);
	line[n] = '\n';
	fwrite(line, 1, (size_t)n + 1, p->f);
	free(line);
}

static int grow(void *v, size_t n, size_t size)
{
	void *q = realloc(*(void **)v, n * size);

	if (q)
		*(void **)v = q;
	return q ? 0 : -1;
}

/* A streamed run's batch and plan grow while the stream goes on: room for what they hold
 * now. On failure the counts stay, and the calls beyond them are not shown. */
static void fit(struct progress *p, const struct td_run *run)
{
	uint32_t n = (uint32_t)td_batch_count(td_run_batch(run));
	uint32_t nl = (uint32_t)td_plan_level_count(td_run_plan(run));

	p->batch = td_run_batch(run);
	if (n > p->ncalls && p->mode == PROGRESS_TTY &&
	    (grow(&p->prev, n, sizeof(*p->prev)) < 0 || grow(&p->next, n, sizeof(*p->next)) < 0 ||
	     grow(&p->since, n, sizeof(*p->since)) < 0))
		return;
	if (nl > p->nlevels && p->mode == PROGRESS_TTY) {
		if (grow(&p->level_done, nl, 1) < 0)
			return;
		memset(p->level_done + p->nlevels, 0, nl - p->nlevels);
	}
	p->ncalls = n > p->ncalls ? n : p->ncalls;
	p->nlevels = nl > p->nlevels ? nl : p->nlevels;
}

static void on_event(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct progress *p = ud;

	p->run = run;
	if (p->ncalls != td_batch_count(td_run_batch(run)) ||
	    p->nlevels != td_plan_level_count(td_run_plan(run)))
		fit(p, run);
	if ((ev->call != TD_EVENT_NO_CALL && ev->call >= p->ncalls) ||
	    (ev->type == TD_EVENT_LEVEL_FINISHED && ev->level >= p->nlevels))
		return;
	if (p->mode == PROGRESS_TTY)
		tty_event(p, ev);
	else if (p->mode == PROGRESS_PLAIN)
		plain_event(p, ev);
	else
		json_event(p, ev);
}

/* ---- setup ---- */

static int tty_arrays(struct progress *p)
{
	size_t n = p->ncalls ? p->ncalls : 1;

	p->prev = malloc(n * sizeof(*p->prev));
	p->next = malloc(n * sizeof(*p->next));
	p->since = malloc(n * sizeof(*p->since));
	p->level_done = calloc(p->nlevels ? p->nlevels : 1, 1);
	p->head = p->tail = NONE;
	p->drawn_at = -1;
	return p->prev && p->next && p->since && p->level_done ? 0 : -1;
}

int progress_attach(struct td_run *run, const struct td_plan *plan, enum progress_mode mode,
                    FILE *f, struct progress **out)
{
	struct progress *p;

	*out = NULL;
	if (mode == PROGRESS_AUTO)
		mode = isatty(fileno(f)) ? PROGRESS_TTY : PROGRESS_NONE;
	if (mode == PROGRESS_NONE)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->mode = mode;
	p->f = f;
	p->batch = td_plan_batch(plan);
	p->ncalls = (uint32_t)td_batch_count(p->batch);
	p->nlevels = (uint32_t)td_plan_level_count(plan);
	/* a line per event: stderr is unbuffered, and one write per line would cost more than
	 * the run; the lines of one step go out together, flushed by progress_tick() */
	if (mode != PROGRESS_TTY)
		setvbuf(f, NULL, _IOFBF, 1u << 16);
	if (mode == PROGRESS_JSON && !(p->out = malloc(JSON_BUF + JSON_LINE))) {
		progress_free(p);
		return -1;
	}
	if ((mode == PROGRESS_TTY && tty_arrays(p) < 0) || td_run_observe(run, on_event, p) < 0) {
		progress_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int progress_poll_ms(const struct progress *p)
{
	return p && p->mode == PROGRESS_TTY ? 100 : -1;
}

void progress_tick(struct progress *p, const struct td_run *run)
{
	int64_t now;

	if (p && p->mode != PROGRESS_TTY) {
		json_flush(p);
		fflush(p->f);
	}
	if (!p || p->mode != PROGRESS_TTY || !p->running)
		return;
	now = td_run_makespan_us(run);
	if (now - p->drawn_at >= 2 * REDRAW_US)
		redraw(p, now);
}

void progress_clear(struct progress *p)
{
	if (p)
		json_flush(p);
	if (p && p->shown) {
		fputs("\r\033[K", p->f);
		fflush(p->f);
		p->shown = 0;
	}
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	progress_clear(p);
	fflush(p->f);
	free(p->out);
	free(p->prev);
	free(p->next);
	free(p->since);
	free(p->level_done);
	free(p);
}

/* SPDX-License-Identifier: MIT */
/*
 * failures.c - the summary `tooldag run` prints on stderr at the end when calls failed, one
 * line per failed call like Ninja's FAILED: lines:
 *   FAILED: toolu_03 (lookup_pollen) timeout, signal SIGKILL: timed out after 2s
 * It learns which calls failed from the run's events, like every other observer, and reads
 * their results only at the end. Calls skipped because a dependency failed are counted, not
 * listed: the failure that caused them is.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_LINES 20  /* a cancelled 100,000-call run is not 100,000 lines of summary */
#define MAX_FIRST 160 /* bytes of the first line of the error */

struct failures {
	uint8_t *failed; /* [ncalls] */
	size_t ncalls, nfailed, nskipped;
};

static void on_event(void *ud, const struct td_run *run, const struct td_event *ev)
{
	struct failures *fl = ud;

	if (ev->type != TD_EVENT_CALL_FINISHED || ev->status == TD_STATUS_OK)
		return;
	if (ev->status == TD_STATUS_SKIPPED) {
		fl->nskipped++;
		return;
	}
	if (ev->call >= fl->ncalls) { /* a streamed run's batch grows while the stream goes on */
		size_t n = td_batch_count(td_run_batch(run));
		uint8_t *f = n > ev->call ? realloc(fl->failed, n) : NULL;

		if (!f)
			return;
		memset(f + fl->ncalls, 0, n - fl->ncalls);
		fl->failed = f;
		fl->ncalls = n;
	}
	fl->failed[ev->call] = 1;
	fl->nfailed++;
}

int failures_attach(struct td_run *run, size_t ncalls, struct failures **out)
{
	struct failures *fl = calloc(1, sizeof(*fl));

	*out = NULL;
	if (!fl)
		return -1;
	fl->ncalls = ncalls;
	fl->failed = calloc(ncalls ? ncalls : 1, 1);
	if (!fl->failed || td_run_observe(run, on_event, fl) < 0) {
		failures_free(fl);
		return -1;
	}
	*out = fl;
	return 0;
}

/*
 * The first line of a result for a terminal, cut at MAX_FIRST bytes: a tool's stderr is
 * arbitrary bytes, so control characters (C0, DEL, C1) are dropped and bytes that are not
 * UTF-8 become '?', never a whole character cut in two.
 */
static void first_line(const struct td_result *res, char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)res->content;
	size_t i = 0, n = 0, k;

	while (i < res->content_len && s[i] != '\n' && n + 1 < len) {
		if (s[i] < 0x80) {
			if ((s[i] >= 0x20 && s[i] != 0x7f) || s[i] == '\t')
				buf[n++] = (char)s[i];
			i++;
			continue;
		}
		k = cli_utf8_char(s + i, res->content_len - i);
		if (!k) {
			buf[n++] = '?';
			i++;
			continue;
		}
		if (n + k >= len)
			break;
		memcpy(buf + n, s + i, k);
		n += k;
		i += k;
	}
	buf[n] = '\0';
}

static void print_one(FILE *f, const struct td_run *run, const struct td_batch *b, size_t c)
{
	char first[MAX_FIRST + 1], how[48] = "", id[CLI_TEXT_MAX], tool[CLI_TEXT_MAX];
	struct td_result res;

	if (td_run_result(run, c, &res) < 0)
		return;
	if (res.signal) {
		const char *name = sigabbrev_np(res.signal);

		snprintf(how, sizeof(how), ", signal SIG%s", name ? name : "?");
	} else if (res.exit_code >= 0) {
		snprintf(how, sizeof(how), ", exit code %d", res.exit_code);
	}
	first_line(&res, first, sizeof(first));
	fprintf(f, "FAILED: %s (%s) %s%s: %s\n", cli_text(td_batch_call_id(b, c), id, sizeof(id)),
	        cli_text(td_batch_call_tool(b, c), tool, sizeof(tool)), td_status_name(res.status),
	        how, first);
}

void failures_print(const struct failures *fl, const struct td_run *run,
                    const struct td_batch *batch, FILE *f)
{
	size_t c, shown = 0;

	if (!fl || (!fl->nfailed && !fl->nskipped))
		return;
	for (c = 0; c < fl->ncalls && shown < MAX_LINES; c++)
		if (fl->failed[c]) {
			print_one(f, run, batch, c);
			shown++;
		}
	if (fl->nfailed > shown)
		fprintf(f, "... and %zu more failed calls (see the results)\n",
		        fl->nfailed - shown);
	fprintf(f, "tooldag: %zu of %zu calls failed", fl->nfailed, td_batch_count(batch));
	if (fl->nskipped)
		fprintf(f, ", %zu skipped because a dependency failed", fl->nskipped);
	fputc('\n', f);
}

void failures_free(struct failures *fl)
{
	if (!fl)
		return;
	free(fl->failed);
	free(fl);
}

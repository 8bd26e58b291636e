/* SPDX-License-Identifier: MIT */
/* common.c - input reading, diagnostics printing and graph+batch+plan loading for the commands. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tooldag: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Bytes of the UTF-8 character at s (at most len), or 0 when it is invalid or a C1 control.
 * (The library's td__valid_utf8 is internal: the command uses only the public API.)
 */
size_t cli_utf8_char(const unsigned char *s, size_t len)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2, i;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range (RFC 3629) */

	if (s[0] < 0xc2 || s[0] > 0xf4 || n > len)
		return 0;
	if (s[0] == 0xc2)
		lo = 0xa0; /* U+0080..U+009F: C1 controls steer terminals too */
	else if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* beyond U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

const char *cli_text(const char *s, char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n = 0, k, slen;
	char esc;

	for (i = 0; u[i] >= 0x20 && u[i] < 0x7f; i++)
		;
	if (!u[i])
		return s;
	slen = i + strlen(s + i);
	/* 8: room for the longest escape or character, "..." and the NUL */
	for (i = 0; u[i] && n + 8 < len;) {
		if (u[i] >= 0x20 && u[i] < 0x7f) {
			buf[n++] = (char)u[i++];
			continue;
		}
		k = u[i] >= 0x80 ? cli_utf8_char(u + i, slen - i) : 0;
		if (k) {
			memcpy(buf + n, u + i, k);
			n += k;
			i += k;
			continue;
		}
		esc = u[i] == '\n' ? 'n' : u[i] == '\r' ? 'r' : u[i] == '\t' ? 't' : 0;
		if (esc)
			n += (size_t)snprintf(buf + n, len - n, "\\%c", esc);
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", u[i]);
		i++;
	}
	if (u[i]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* The options whose names begin with the "--name" or "--name=value" argument's name. */
static size_t long_matches(const struct option *opts, const char *arg, const struct option **first)
{
	size_t n = strcspn(arg + 2, "="), hits = 0;

	*first = NULL;
	for (; opts->name; opts++)
		if (strncmp(opts->name, arg + 2, n) == 0 && (opts->name[n] == '\0' || n)) {
			if (opts->name[n] == '\0') { /* exact: no abbreviation can compete */
				*first = opts;
				return 1;
			}
			if (!hits++)
				*first = opts;
		}
	return hits;
}

int cli_parse_number(const char *s, long min, long max, long *out)
{
	char *end;
	long n;

	if (!s || *s < '0' || *s > '9') /* strtol would take blanks and a sign before it */
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

const char *cli_bad_option(int c, char **argv, const struct option *opts, char *buf, size_t len)
{
	const char *arg = argv[optind - 1];
	const struct option *o = NULL;
	size_t hits = strncmp(arg, "--", 2) == 0 ? long_matches(opts, arg, &o) : 0;

	/* A short option's error can leave optind on the argument before its cluster ("-xq"
	 * after "--pretty"): arg is the culprit only when it is a long option getopt named. */
	if (optopt && (!o || hits > 1 || o->val != optopt))
		snprintf(buf, len, "%s '-%c'%s", c == ':' ? "option" : "unknown option", optopt,
		         c == ':' ? " needs a value" : "");
	else if (c == ':')
		snprintf(buf, len, "option '--%s' needs a value", o->name);
	else if (o && hits == 1)
		snprintf(buf, len, "option '--%s' takes no value", o->name);
	else if (hits > 1)
		snprintf(buf, len, "ambiguous option '%.*s': give more of its name",
		         (int)strcspn(arg, "="), arg);
	else
		snprintf(buf, len, "unknown option '%s'", arg);
	return buf;
}

void cli_print_diag(const struct td_diag *diag)
{
	char line[4096], safe[4096];
	size_t i;

	/* messages may quote the batch (ids, tool names the model chose) */
	for (i = 0; i < diag->count; i++) {
		const struct td_diag_item *it = &diag->items[i];

		if (it->file || it->line) {
			td_diag_format(it, line, sizeof(line));
			fprintf(stderr, "%s\n", cli_text(line, safe, sizeof(safe)));
		} else {
			fprintf(stderr, "tooldag: %s\n", cli_text(it->message, safe, sizeof(safe)));
		}
	}
	if (diag->dropped)
		fprintf(stderr, "tooldag: ... and %zu more problems\n", diag->dropped);
	if (!diag->count && diag->code)
		fprintf(stderr, "tooldag: %s\n", td_strerror(diag->code));
}

int cli_write_stdout(const char *s)
{
	if (fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
		cli_error("cannot write results: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cli_print_encoded(int rc, char **out)
{
	if (rc < 0) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	rc = cli_write_stdout(*out);
	free(*out);
	return rc;
}

/* What `run` read of standard input to see whether it holds a stream (cli_unread_stdin). */
static char *stdin_head;
static size_t stdin_head_len;

int cli_unread_stdin(const char *s, size_t len)
{
	free(stdin_head);
	stdin_head = len ? malloc(len) : NULL;
	if (len && !stdin_head)
		return -1;
	if (len)
		memcpy(stdin_head, s, len);
	stdin_head_len = len;
	return 0;
}

int cli_read_input(const char *path, char **buf, size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	size_t cap = 1 << 16, n = 0;
	char *b = NULL, *nb;
	struct stat st = {0};
	ssize_t r;

	if (fd < 0) {
		cli_error("cannot open '%s': %s", path, strerror(errno));
		return EXIT_INVALID;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_error("cannot read '%s': it is a directory", name);
		goto fail;
	}
	/* a regular file says its size: refuse a huge one before reading any of it */
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > CLI_MAX_INPUT)
		goto too_big;
	if (fd == STDIN_FILENO && stdin_head) { /* what was read already comes first */
		b = stdin_head;
		cap = n = stdin_head_len;
		stdin_head = NULL;
	}
	for (;;) {
		if (!b || n == cap) {
			if (b)
				cap = cap * 2 > CLI_MAX_INPUT + 1 ? CLI_MAX_INPUT + 1 : cap * 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				cli_error("cannot read '%s': out of memory", name);
				goto fail;
			}
			b = nb;
		}
		/* never more than one byte past the cap: a pipe or /dev/zero costs 256 MiB, no more
		 */
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_error("cannot read '%s': %s", name, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CLI_MAX_INPUT)
			goto too_big;
	}
	b[n] = '\0';
	if (fd != STDIN_FILENO)
		close(fd);
	*buf = b;
	*len = n;
	return EXIT_OK;
too_big:
	cli_error("'%s' is larger than %u MiB, the most tooldag reads", name, CLI_MAX_INPUT >> 20);
fail:
	free(b);
	if (fd != STDIN_FILENO)
		close(fd);
	return EXIT_INVALID;
}

/*
 * A streamed response: the calls that were complete, even when the stream was cut off or
 * ended in an API error (job->incomplete: said now, exit 2 after they ran).
 */
static int load_stream(const char *buf, size_t len, enum td_dialect dialect, const char *name,
                       struct cli_job *job, struct td_diag *diag)
{
	struct td_stream *s;
	int r;

	if ((r = td_stream_new(dialect, name, &s)) < 0)
		return r;
	/* a stream that cannot be read on says why at the finish, with the calls before it */
	if ((r = td_stream_feed(s, buf, len)) != TD_ENOMEM)
		r = td_stream_finish(s, job->graph, &job->batch, diag);
	td_stream_free(s);
	if (r == TD_EBATCH && job->batch) {
		cli_print_diag(diag);
		td_diag_clear(diag);
		job->incomplete = 1;
		return 0;
	}
	return r;
}

static int load_batch(const char *calls_path, enum td_dialect dialect, bool keep,
                      struct cli_job *job, struct td_diag *diag)
{
	const char *name;
	size_t len;
	char *buf;
	int r;

	if (!calls_path && td_graph_has_calls(job->graph))
		return td_batch_from_graph(job->graph, &job->batch, diag) < 0 ? EXIT_INVALID : 0;
	if (!calls_path) {
		if (isatty(STDIN_FILENO)) {
			cli_error("no calls: give a CALLS file (or '-' for stdin), or declare "
			          "'calls:' in the graph");
			return EXIT_USAGE;
		}
		calls_path = "-";
	}
	r = cli_read_input(calls_path, &buf, &len);
	if (r)
		return r;
	name = strcmp(calls_path, "-") == 0 ? "<stdin>" : calls_path;
	if (td_stream_detect(buf, len))
		r = load_stream(buf, len, dialect, name, job, diag);
	else
		r = td_batch_decode(job->graph, buf, len, dialect, name, &job->batch, diag);
	if (keep && r >= 0) {
		job->calls_text = buf;
		job->calls_len = len;
	} else {
		free(buf);
	}
	return r < 0 ? EXIT_INVALID : 0;
}

int cli_load_graph(const char *path, unsigned flags, struct td_graph **g)
{
	struct td_diag diag = {0};
	int r;

	*g = NULL;
	if (strcmp(path, "-") == 0) {
		cli_error("the graph must be a file: '-' (standard input) is for CALLS only");
		return EXIT_USAGE;
	}
	r = td_graph_load_file_flags(path, flags, g, &diag);
	if (r < 0) {
		cli_print_diag(&diag);
		/* a batch given first: a list at the top is how model calls look */
		if (strlen(path) > 5 && strcmp(path + strlen(path) - 5, ".json") == 0)
			cli_error("hint: GRAPH (the YAML file) comes first, then CALLS");
	}
	td_diag_clear(&diag);
	return r < 0 ? EXIT_INVALID : EXIT_OK;
}

static int load_plan(const char *graph_path, unsigned flags, const char *calls_path,
                     enum td_dialect dialect, bool keep, struct cli_job *job)
{
	struct td_diag diag = {0};
	int r;

	memset(job, 0, sizeof(*job));
	if ((r = cli_load_graph(graph_path, flags, &job->graph)))
		return r;
	r = load_batch(calls_path, dialect, keep, job, &diag);
	if (!r && td_plan_new(job->batch, &job->plan, &diag) < 0)
		r = EXIT_INVALID;
	if (r) {
		cli_print_diag(&diag);
		cli_job_free(job);
	}
	td_diag_clear(&diag);
	return r;
}

int cli_load_plan(const char *graph_path, unsigned flags, const char *calls_path,
                  enum td_dialect dialect, struct cli_job *job)
{
	return load_plan(graph_path, flags, calls_path, dialect, false, job);
}

int cli_load_plan_keep(const char *graph_path, unsigned flags, const char *calls_path,
                       enum td_dialect dialect, struct cli_job *job)
{
	return load_plan(graph_path, flags, calls_path, dialect, true, job);
}

void cli_job_free(struct cli_job *job)
{
	free(job->calls_text);
	td_plan_free(job->plan);
	td_batch_free(job->batch);
	td_graph_free(job->graph);
	memset(job, 0, sizeof(*job));
}

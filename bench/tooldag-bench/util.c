/* SPDX-License-Identifier: MIT */
/*
 * util.c - what every part of tooldag-bench shares: messages, allocation that exits when memory
 * runs out, option values, whole files in and out, JSON strings, library diagnostics.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tooldag-bench/bench.h"

/* Largest input file read (WfCommons instances are a few MB; STG files a few hundred KB). */
#define MAX_INPUT_BYTES (512u << 20)

const char *prog = "tooldag-bench";

__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	return p;
}

void *xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	p = realloc(p, n && size ? n * size : 1);
	if (!p) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	return p;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		say("out of memory");
		exit(EXIT_FAIL);
	}
	return d;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------------------------- */
/* Numbers on the command line */

int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

long opt_long(const char *opt, const char *s, long lo, long hi)
{
	long v;

	if (parse_long(s, lo, hi, &v) < 0) {
		say("%s: expected an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
		exit(EXIT_USAGE);
	}
	return v;
}

double opt_double(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0) {
		say("%s: expected a positive number, got '%s'", opt, s);
		exit(EXIT_USAGE);
	}
	return v;
}

void opt_range(const char *s, int *lo, int *hi)
{
	const char *colon = strchr(s, ':');
	char buf[64];
	long a, b;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		goto bad;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = '\0';
	if (parse_long(buf, 1, 1000, &a) < 0 || parse_long(colon + 1, 1, 1000, &b) < 0 || a > b)
		goto bad;
	*lo = (int)a;
	*hi = (int)b;
	return;
bad:
	say("-d: expected LO:HI with 1 <= LO <= HI <= 1000, got '%s'", s);
	exit(EXIT_USAGE);
}

/* ---------------------------------------------------------------------------------------- */
/* Files */

/* Reads a whole regular file, NUL-terminated. Returns NULL after saying why. */
char *read_file(const char *path, size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		say("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		say("%s: not a regular file", path);
		fclose(f);
		return NULL;
	}
	if ((uint64_t)st.st_size > MAX_INPUT_BYTES) {
		say("%s: file too large (%lld bytes, limit %u MiB)", path, (long long)st.st_size,
		    MAX_INPUT_BYTES >> 20);
		fclose(f);
		return NULL;
	}
	buf = xcalloc((size_t)st.st_size + 1, 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		say("%s: read error", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* mkdir -p; returns 0 or -1 after saying why. */
int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		say("%s: bad output directory", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
			say("%s: %s", buf, strerror(errno));
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		say("%s: %s", path, strerror(errno));
	else
		setvbuf(f, NULL, _IOFBF, 1 << 16);
	return f;
}

int close_out(FILE *f, const char *path)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		say("%s: write error", path);
		return -1;
	}
	return 0;
}

/* Writes s as a JSON string literal. */
void json_str(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void print_diag(struct td_diag *diag, int err, const char *what)
{
	char line[1024];
	size_t i;

	say("%s: %s", what, td_strerror(err));
	for (i = 0; i < diag->count; i++) {
		td_diag_format(&diag->items[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
	td_diag_clear(diag);
}

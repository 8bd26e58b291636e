/* SPDX-License-Identifier: MIT */
/* diag.c - diagnostics, error names and messages, the version. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

const char *td_version(void)
{
	return TD_VERSION_STRING;
}

const char *td_strerror(int err)
{
	switch (err) {
#define TD__ERR_TEXT(name, value, text)                                                            \
	case value:                                                                                \
		return text;
		TD_ERRORS(TD__ERR_TEXT)
#undef TD__ERR_TEXT
	default:
		break;
	}
	return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
}

const char *td_errname(int err)
{
	switch (err) {
#define TD__ERR_NAME(name, value, text)                                                            \
	case value:                                                                                \
		return #name;
		TD_ERRORS(TD__ERR_NAME)
#undef TD__ERR_NAME
	default:
		break;
	}
	/* -errno codes pass through the API (the header's example is ENOENT): glibc names them */
	if (err < 0 && err > -4096 && strerrorname_np(-err))
		return strerrorname_np(-err);
	return "unknown";
}

void td__diag_vadd(struct td_diag *diag, int code, const char *file, unsigned line, unsigned col,
                   const char *fmt, va_list ap)
{
	size_t limit;
	struct td_diag_item *items, *it;
	va_list cp;
	int n;

	if (!diag)
		return;
	if (!diag->code)
		diag->code = code;
	limit = diag->limit ? diag->limit : 100;
	if (diag->count >= limit) {
		diag->dropped++;
		return;
	}
	items = td__reallocarray(diag->items, diag->count + 1, sizeof(*items));
	if (!items) {
		diag->dropped++;
		return;
	}
	diag->items = items;
	it = &items[diag->count];
	memset(it, 0, sizeof(*it));
	it->code = code;
	it->line = line;
	it->column = col;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	it->message = n >= 0 ? td__malloc((size_t)n + 1) : NULL;
	it->file = file ? td__strdup(file) : NULL;
	if (!it->message || (file && !it->file)) {
		td__free(it->message);
		td__free(it->file);
		diag->dropped++;
		return;
	}
	vsnprintf(it->message, (size_t)n + 1, fmt, ap);
	diag->count++;
}

void td__diag_add(struct td_diag *diag, int code, const char *file, unsigned line, unsigned col,
                  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	td__diag_vadd(diag, code, file, line, col, fmt, ap);
	va_end(ap);
}

void td_diag_clear(struct td_diag *diag)
{
	size_t i, limit;

	if (!diag)
		return;
	for (i = 0; i < diag->count; i++) {
		td__free(diag->items[i].file);
		td__free(diag->items[i].message);
	}
	td__free(diag->items);
	limit = diag->limit;
	memset(diag, 0, sizeof(*diag));
	diag->limit = limit;
}

int td_diag_format(const struct td_diag_item *item, char *buf, size_t len)
{
	char pos[64] = "";

	if (item->line && item->column)
		snprintf(pos, sizeof(pos), "%u:%u: ", item->line, item->column);
	else if (item->line)
		snprintf(pos, sizeof(pos), "%u: ", item->line);
	if (item->file && pos[0])
		return snprintf(buf, len, "%s:%s%s", item->file, pos, item->message);
	if (item->file)
		return snprintf(buf, len, "%s: %s", item->file, item->message);
	return snprintf(buf, len, "%s%s", pos, item->message);
}

int64_t td__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* SPDX-License-Identifier: MIT */
/*
 * td_test_recorded.h - reads a file of tests/data/recorded/ (the SDKs' recorded API payloads)
 * for a Check suite; the suite runs with TD_SRC set to the repository root.
 */
#ifndef TD_TEST_RECORDED_H
#define TD_TEST_RECORDED_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file, NUL-terminated (malloc'd; *len its length when len is not NULL). */
static inline char *tr_slurp(const char *name, size_t *len)
{
	const char *src = getenv("TD_SRC");
	char path[1024];
	FILE *f;
	char *s;
	long n;

	ck_assert_msg(src != NULL, "TD_SRC is not set");
	snprintf(path, sizeof(path), "%s/tests/data/recorded/%s", src, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return s;
}

#endif /* TD_TEST_RECORDED_H */

/* SPDX-License-Identifier: MIT */
/*
 * parse.c - strict parsers for the values people write in graph files (durations, sizes,
 * rates), tool-name rules and "did you mean" suggestions.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/*
 * Parses a non-negative decimal number ("12", "1.5") at the start of s into *v; returns the
 * number of characters used, 0 if none. No sign, no exponent, no hex: people write "1.5s".
 */
static size_t parse_number(const char *s, double *v)
{
	size_t i = 0, digits = 0;
	double x = 0, scale = 1;

	while (isdigit((unsigned char)s[i])) {
		x = x * 10 + (s[i++] - '0');
		digits++;
	}
	if (s[i] == '.') {
		i++;
		while (isdigit((unsigned char)s[i])) {
			scale /= 10;
			x += (s[i++] - '0') * scale;
			digits++;
		}
	}
	if (!digits)
		return 0;
	*v = x;
	return i;
}

struct unit {
	const char *name;
	double factor;
};

static int parse_with_units(const char *s, const struct unit *units, size_t nunits,
                            const char *bare, double max, double *out)
{
	double v;
	size_t n, i;
	const char *u;

	if (!s || !*s)
		return -EINVAL;
	n = parse_number(s, &v);
	if (!n)
		return -EINVAL;
	u = s + n;
	if (!*u)
		u = bare;
	if (!u)
		return -EINVAL;
	for (i = 0; i < nunits; i++) {
		if (strcmp(u, units[i].name) == 0) {
			v *= units[i].factor;
			if (!(v <= max))
				return -ERANGE;
			*out = v;
			return 0;
		}
	}
	return -EINVAL;
}

int td__parse_duration(const char *s, int64_t *us)
{
	static const struct unit units[] = {
	    {"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"min", 60e6}, {"h", 3600e6},
	};
	double v;
	int err = parse_with_units(s, units, TD__ARRAY_SIZE(units), "s", 86400e6 * 365, &v);

	if (err)
		return err;
	*us = (int64_t)llround(v);
	return 0;
}

int td__parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
	    {"B", 1},      {"KiB", 1024.0},  {"MiB", 1048576.0},  {"GiB", 1073741824.0},
	    {"KB", 1e3},   {"MB", 1e6},      {"GB", 1e9},         {"k", 1024.0},
	    {"K", 1024.0}, {"M", 1048576.0}, {"G", 1073741824.0},
	};
	double v;
	int err = parse_with_units(s, units, TD__ARRAY_SIZE(units), "B", 1e15, &v);

	if (err)
		return err;
	*bytes = (uint64_t)llround(v);
	return 0;
}

int td__parse_rate(const char *s, uint32_t *count, int64_t *period_us)
{
	const char *slash;
	char num[32];
	size_t n;
	double c = 0; /* read below even when no number was parsed */
	int64_t p;
	int err;

	if (!s || !(slash = strchr(s, '/')))
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_number(num, &c) != n || c != floor(c) || c < 1 || c > 1e9)
		return c > 1e9 ? -ERANGE : -EINVAL;
	/* "10/s" means per one second; "3/250ms" per 250 ms */
	if (isalpha((unsigned char)slash[1])) {
		char one[40];

		snprintf(one, sizeof(one), "1%s", slash + 1);
		err = td__parse_duration(one, &p);
	} else {
		err = td__parse_duration(slash + 1, &p);
	}
	if (err)
		return err;
	if (p <= 0)
		return -EINVAL;
	*count = (uint32_t)c;
	*period_us = p;
	return 0;
}

void td__format_duration(int64_t us, char *buf, size_t len)
{
	if (us % 3600000000LL == 0 && us >= 3600000000LL)
		snprintf(buf, len, "%lldh", (long long)(us / 3600000000LL));
	else if (us % 60000000LL == 0 && us >= 60000000LL)
		snprintf(buf, len, "%lldm", (long long)(us / 60000000LL));
	else if (us % 1000000 == 0)
		snprintf(buf, len, "%llds", (long long)(us / 1000000));
	else if (us >= 1000000)
		snprintf(buf, len, "%gs", (double)us / 1e6);
	else if (us % 1000 == 0)
		snprintf(buf, len, "%lldms", (long long)(us / 1000));
	else
		snprintf(buf, len, "%gms", (double)us / 1e3);
}

size_t td__edit_distance(const char *a, const char *b, size_t max)
{
	/* strnlen: a name longer than 64 is never close, and a hostile one may be megabytes */
	size_t la = strnlen(a, 65), lb = strnlen(b, 65), i, j, best;
	size_t row[65], prev, tmp;

	if (lb > 64 || la > 64)
		return max + 1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (tolower((unsigned char)a[i - 1]) !=
			                 tolower((unsigned char)b[j - 1]));
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
			if (row[j] < best)
				best = row[j];
		}
		if (best > max)
			return max + 1;
	}
	return row[lb];
}

const char *td__did_you_mean(const char *s, const char *const *candidates, size_t n)
{
	/* like git's help.c: close enough means within about a third of the word */
	size_t max = strnlen(s, 65) / 3 + 1, best = max + 1, d, i;
	const char *found = NULL;

	if (strnlen(s, 65) > 64)
		return NULL; /* td__edit_distance gives up on it against every candidate */

	if (max > 4)
		max = 4;
	for (i = 0; i < n; i++) {
		d = td__edit_distance(s, candidates[i], max);
		if (d <= max && d < best) {
			best = d;
			found = candidates[i];
		}
	}
	return found;
}

bool td__valid_tool_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (!(isalnum(c) || c == '_' || c == '-') || c >= 0x80 || n >= 64)
			return false;
	}
	return n >= 1;
}

int64_t td__num_i64(double d, int64_t lo, int64_t hi, int64_t dflt)
{
	/* the comparisons are false for NaN; 2^63 is the first double past INT64_MAX */
	if (!(d >= (double)lo && d < 9223372036854775808.0) || (int64_t)d > hi)
		return dflt;
	return (int64_t)d;
}

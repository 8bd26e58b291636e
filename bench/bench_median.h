/* SPDX-License-Identifier: MIT */
/*
 * bench_median.h - the median of a round's figures, for the bench programs that quote medians
 * (bench/README.md: the machine is shared and noisy, medians of interleaved rounds only).
 */
#ifndef TD_BENCH_MEDIAN_H
#define TD_BENCH_MEDIAN_H

#include <stdlib.h>

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v[0..n) in place; n > 0. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* TD_BENCH_MEDIAN_H */

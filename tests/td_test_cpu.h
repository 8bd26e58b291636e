/* SPDX-License-Identifier: MIT */
/*
 * td_test_cpu.h - the CPU time the tests' bounds are measured in: on a shared CI machine wall
 * time says more about the neighbours than about the code.
 */
#ifndef TD_TEST_CPU_H
#define TD_TEST_CPU_H

#include <stdint.h>
#include <time.h>

/* CPU time of this process (all threads), in microseconds. */
static inline int64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif /* TD_TEST_CPU_H */

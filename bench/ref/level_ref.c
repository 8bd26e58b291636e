/* SPDX-License-Identifier: MIT */
/*
 * level_ref.c - the floor for a level-barrier run of real processes.
 *
 *   level_ref FILE
 *
 * FILE has one command per line, "LEVEL<TAB>ARGV0 ARGV1 ..." (arguments split on spaces, no
 * quoting), grouped by level in ascending order. For each level: posix_spawn all of its
 * commands, wait for all of them, then the next level. No planning, no pipes, no timeouts.
 * Prints one JSON line: the whole run's wall time (exec_s) and each level's. Exit 0 if every
 * command exited 0, 1 otherwise, 2 on a usage, input or set-up error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define MAX_ARGS 32

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits for `running` children; returns how many failed, or -1. */
static long reap(long running)
{
	long failed = 0;
	int status;

	while (running-- > 0) {
		if (wait(&status) < 0) {
			fprintf(stderr, "level_ref: wait: %s\n", strerror(errno));
			return -1;
		}
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	return failed;
}

int main(int argc, char **argv)
{
	char *line = NULL, *args[MAX_ARGS + 1], *tab, *save;
	double t0, lt0, level_s[4096];
	long level = -1, running = 0, calls = 0, failed = 0, r;
	size_t cap = 0, nlev = 0, k;
	ssize_t len;
	FILE *f;

	if (argc != 2) {
		fputs("usage: level_ref FILE\n", stderr);
		return 2;
	}
	if (!(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "level_ref: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	t0 = lt0 = now_s();
	while ((len = getline(&line, &cap, f)) > 0) {
		long lv = strtol(line, &tab, 10);
		int na = 0, err;
		pid_t pid;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (*tab != '\t' || lv < level) {
			fprintf(stderr,
			        "level_ref: %s: expected LEVEL<TAB>COMMAND in ascending levels\n",
			        argv[1]);
			return 2;
		}
		if (lv != level) { /* the barrier */
			if (level >= 0) {
				if ((r = reap(running)) < 0)
					return 2;
				failed += r;
				running = 0;
				if (nlev < sizeof(level_s) / sizeof(level_s[0]))
					level_s[nlev++] = now_s() - lt0;
				lt0 = now_s();
			}
			level = lv;
		}
		for (char *a = strtok_r(tab + 1, " ", &save); a && na < MAX_ARGS;
		     a = strtok_r(NULL, " ", &save))
			args[na++] = a;
		args[na] = NULL;
		if (!na || (err = posix_spawnp(&pid, args[0], NULL, NULL, args, environ))) {
			fprintf(stderr, "level_ref: %s: %s\n", na ? args[0] : "(empty command)",
			        na ? strerror(err) : "nothing to run");
			return 2;
		}
		running++;
		calls++;
	}
	if ((r = reap(running)) < 0)
		return 2;
	failed += r;
	if (level >= 0 && nlev < sizeof(level_s) / sizeof(level_s[0]))
		level_s[nlev++] = now_s() - lt0;
	printf("{\"tool\":\"level_ref\",\"calls\":%ld,\"exec_s\":%.6f,\"failures\":%ld,"
	       "\"level_wall_s\":[",
	       calls, now_s() - t0, failed);
	for (k = 0; k < nlev; k++)
		printf("%s%.6f", k ? "," : "", level_s[k]);
	puts("]}");
	free(line);
	fclose(f);
	return failed ? 1 : 0;
}

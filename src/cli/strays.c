/* SPDX-License-Identifier: MIT */
/*
 * strays.c - processes that escaped their call. The executor ends a call by killing the
 * call's process group, which a descendant that moved to a group or session of its own
 * (setsid, setpgid: what a daemon does) survives. `tooldag run` makes itself the reaper of
 * its descendants (PR_SET_CHILD_SUBREAPER): when the process a stray came from exits, the
 * kernel hands the stray to us instead of to init, and once the run is over every child we
 * still have is one of them, and is killed and reaped.
 *
 * The library cannot do this for an embedding program: being a subreaper is a property of the
 * whole process, and adopted children must then be reaped by it (README, Robustness).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* rounds of kill and reap: each round's strays may leave children of their own to us */
#define STRAY_ROUNDS 64
#define STRAY_BATCH  256

int strays_adopt(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* The parent pid in /proc/PID/stat ("pid (comm) state ppid ..."; comm may hold anything, so
 * from the last ')'), or -1; *zombie set when the process has exited already. */
static pid_t parent_of(const char *pid, int *zombie)
{
	char path[300], buf[512], *p, state;
	FILE *f;
	size_t n;
	long ppid;

	*zombie = 0;
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %ld", &state, &ppid) != 2)
		return -1;
	*zombie = state == 'Z';
	return (pid_t)ppid;
}

/* Up to max of our children, from /proc (no /proc/PID/task/TID/children without
 * CONFIG_PROC_CHILDREN, which not every kernel has); live[i] 0 for one that has exited.
 * -1 without /proc. */
static int children(pid_t self, pid_t *out, int *live, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0, zombie;

	if (!d)
		return -1;
	while (n < max && (e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]) && parent_of(e->d_name, &zombie) == self) {
			live[n] = !zombie;
			out[n++] = (pid_t)atol(e->d_name);
		}
	closedir(d);
	return n;
}

/* Cheap, and nearly always false: a run reaps every child it started. */
static int have_children(void)
{
	siginfo_t si;

	return !(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD);
}

unsigned strays_kill(void)
{
	pid_t self = getpid(), pids[STRAY_BATCH];
	int live[STRAY_BATCH], round, n, i;
	unsigned killed = 0;

	for (round = 0; round < STRAY_ROUNDS; round++) {
		if (!have_children())
			break;
		n = children(self, pids, live, STRAY_BATCH);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (!live[i])
				continue;
			/* its group too, when it leads one (ESRCH otherwise) */
			kill(-pids[i], SIGKILL);
			kill(pids[i], SIGKILL);
			killed++;
		}
		for (i = 0; i < n; i++)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
	return killed;
}

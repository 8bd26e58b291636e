/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - starting one child process for the process backend (internal).
 *
 * Two paths with one contract (STYLE 19-21): the child gets in/out/err as 0/1/2 and nothing
 * else (everything from 3 up is closed), the working directory, its own process group, an
 * empty signal mask and default signal dispositions, then execve(path, argv, envp).
 *
 *  - no rlimits: posix_spawn, the hot path;
 *  - rlimits or die_with_parent: posix_spawn cannot set them, so a clone(CLONE_VM |
 *    CLONE_VFORK) child on a stack of ours does the same steps plus setrlimit and
 *    PR_SET_PDEATHSIG, and reports a failing step's errno through memory it shares with the
 *    parent, as glibc's posix_spawn does. prlimit(2) after posix_spawn would be racy: the
 *    child may run (and fork) before the limit lands.
 *
 * Usage:
 *   1. td__spawn_rlimits() once per tool: the limits to apply, clamped to our hard limits.
 *   2. td__spawn() per child; the caller owns every descriptor and string, before and after.
 */
#ifndef TD_SPAWN_H
#define TD_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "load/graph.h"

struct td__rlim {
	int resource; /* RLIMIT_* */
	struct rlimit rl;
};

/* What td__spawn needs; nothing here is copied or freed. */
struct td__spawn {
	const char *path;  /* the program, already resolved */
	char *const *argv; /* NULL-terminated */
	char *const *envp; /* NULL-terminated */
	const char *cwd;   /* NULL: tooldag's own */
	int fd[3];         /* become the child's 0, 1 and 2 */
	const struct td__rlim *rlim;
	size_t nrlim; /* 0 and no die_with_parent: posix_spawn */
	/* SIGKILL to the child when the calling thread exits (PR_SET_PDEATHSIG); a child whose
	 * parent is already gone when it sets that exits at once, without its exec */
	int die_with_parent;
	void *stack; /* clone path: the child's stack, reused; unused by posix_spawn */
	size_t stack_size;
};

#define TD_SPAWN_STACK (64u * 1024u)

/* The step of the child that failed. */
enum td__spawn_step {
	TD_SPAWN_EXEC = 0, /* the exec itself, or dup2 before it */
	TD_SPAWN_CWD,      /* chdir to the tool's cwd */
	TD_SPAWN_LIMIT,    /* setrlimit */
};

/*
 * Fills out[] (room for TD_RL_N) with the setrlimit calls for rlimit[] (by enum td__rlimit,
 * 0 = not set) and returns how many. Soft = hard = the value, except cpu, whose hard limit is
 * one second above (SIGXCPU at the soft limit, SIGKILL a second later for a child that
 * ignores it); never above our own hard limits, which an unprivileged child cannot raise.
 */
size_t td__spawn_rlimits(const uint64_t *rlimit, struct td__rlim *out);

/*
 * Starts the child: 0 and *pid, or -errno of the step that failed (*step says which; the
 * failed child has been reaped).
 */
int td__spawn(const struct td__spawn *s, pid_t *pid, enum td__spawn_step *step);

#endif /* TD_SPAWN_H */

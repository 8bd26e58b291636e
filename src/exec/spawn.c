/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - starting one child: posix_spawn, or a clone(CLONE_VM | CLONE_VFORK) child that
 * also sets rlimits and PR_SET_PDEATHSIG (see spawn.h for why two paths and what both
 * guarantee).
 *
 * The clone child shares our memory until its execve, like a vfork child, so it may only make
 * async-signal-safe calls, must not allocate, return or touch locks, and writes nothing but
 * its own stack and the error record the parent reads after it. The parent blocks every
 * signal around the clone: a handler of the host's must never run in the child (on our
 * memory); the child resets every disposition to default before it lets signals in again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/spawn.h"

/*
 * The clone child runs on memory the sanitizers did not set up as a stack and never returns:
 * instrumenting it would leave redzone poison in our shadow memory.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TD_CHILD_CODE __attribute__((no_sanitize_address, noinline))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TD_CHILD_CODE __attribute__((no_sanitize("address"), noinline))
#endif
#endif
#ifndef TD_CHILD_CODE
#define TD_CHILD_CODE __attribute__((noinline))
#endif

/* ---- rlimits, computed in the parent ---- */

static const int resources[TD_RL_N] = {
    [TD_RL_CPU] = RLIMIT_CPU,
    [TD_RL_MEMORY] = RLIMIT_AS,
    [TD_RL_NOFILE] = RLIMIT_NOFILE,
    [TD_RL_PROCS] = RLIMIT_NPROC,
};

static rlim_t at_most(uint64_t v, rlim_t max)
{
	return max != RLIM_INFINITY && v > (uint64_t)max ? max : (rlim_t)v;
}

size_t td__spawn_rlimits(const uint64_t *rlimit, struct td__rlim *out)
{
	struct rlimit ours;
	size_t n = 0;
	int i;

	for (i = 0; i < TD_RL_N; i++) {
		if (!rlimit[i])
			continue;
		if (getrlimit(resources[i], &ours) < 0)
			ours.rlim_max = RLIM_INFINITY;
		out[n].resource = resources[i];
		out[n].rl.rlim_max = at_most(rlimit[i] + (i == TD_RL_CPU), ours.rlim_max);
		out[n].rl.rlim_cur = at_most(rlimit[i], out[n].rl.rlim_max);
		n++;
	}
	return n;
}

/* ---- the fast path ---- */

/*
 * Each file action allocates (ENOMEM): a child spawned without one of them would run in the
 * wrong directory or keep our descriptors, so any failure stops the spawn. They count as
 * allocations for the fault injection (td__alloc_injected), which the tests drive.
 */
#define STEP(r, call)                                                                              \
	do {                                                                                       \
		if (!(r))                                                                          \
			(r) = td__alloc_injected() ? ENOMEM : (call);                              \
	} while (0)

static int file_actions(posix_spawn_file_actions_t *fa, const struct td__spawn *s)
{
	int r = td__alloc_injected() ? ENOMEM : posix_spawn_file_actions_init(fa);

	if (r)
		return r;
	STEP(r, posix_spawn_file_actions_adddup2(fa, s->fd[0], 0));
	STEP(r, posix_spawn_file_actions_adddup2(fa, s->fd[1], 1));
	STEP(r, posix_spawn_file_actions_adddup2(fa, s->fd[2], 2));
	if (s->cwd)
		STEP(r, posix_spawn_file_actions_addchdir_np(fa, s->cwd));
	STEP(r, posix_spawn_file_actions_addclosefrom_np(fa, 3));
	if (r)
		posix_spawn_file_actions_destroy(fa);
	return r;
}

static int attributes(posix_spawnattr_t *at)
{
	sigset_t none, all;
	int r = posix_spawnattr_init(at);

	if (r)
		return r;
	sigemptyset(&none);
	sigfillset(&all);
	r = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                     POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = posix_spawnattr_setpgroup(at, 0);
	if (!r)
		r = posix_spawnattr_setsigmask(at, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(at, &all);
	if (r)
		posix_spawnattr_destroy(at);
	return r;
}

static int spawn_posix(const struct td__spawn *s, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int r;

	/* phase 1: descriptors and working directory */
	r = file_actions(&fa, s);
	if (r)
		return -r;
	/* phase 2: own group, clean signal state */
	r = attributes(&at);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	/* phase 3: spawn; exec errors come back as the return value */
	r = posix_spawn(pid, s->path, &fa, &at, s->argv, s->envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/* ---- the clone path: the child ---- */

struct child {
	const struct td__spawn *s;
	pid_t parent;      /* getpid() of the parent, for die_with_parent */
	volatile int err;  /* errno of the failing step; stays 0 when the exec succeeded */
	volatile int step; /* enum td__spawn_step */
};

/* dup2 that also works when fd already is target (dup2 then leaves FD_CLOEXEC set). */
TD_CHILD_CODE static int move_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target);
}

/* closefrom(3) for kernels before 5.9 (close_range): up to our descriptor limit. */
TD_CHILD_CODE static void close_from_3(void)
{
	struct rlimit rl;
	rlim_t fd, max = 1u << 20;

	if (close_range(3, ~0u, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
		max = rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

TD_CHILD_CODE static int child_main(void *arg)
{
	struct child *c = arg;
	const struct td__spawn *s = c->s;
	struct sigaction dfl;
	sigset_t none;
	size_t i;
	int sig;

	/* phase 1: default dispositions, while every signal is still blocked (glibc refuses
	 * its own two internal signals: they stay as posix_spawn leaves them too) */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	/* phase 2: descriptors, working directory, own group */
	if (move_fd(s->fd[0], 0) < 0 || move_fd(s->fd[1], 1) < 0 || move_fd(s->fd[2], 2) < 0)
		goto fail;
	c->step = TD_SPAWN_CWD;
	if (s->cwd && chdir(s->cwd) < 0)
		goto fail;
	c->step = TD_SPAWN_EXEC;
	close_from_3();
	if (setpgid(0, 0) < 0)
		goto fail;
	/* the parent may have died before the prctl: the child then belongs to another process
	 * already and would never get the signal */
	if (s->die_with_parent &&
	    (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != c->parent))
		goto fail;
	/* phase 3: limits (after the closing: a low nofile must not keep us from it) */
	c->step = TD_SPAWN_LIMIT;
	for (i = 0; i < s->nrlim; i++)
		if (setrlimit(s->rlim[i].resource, &s->rlim[i].rl) < 0)
			goto fail;
	c->step = TD_SPAWN_EXEC;
	/* phase 4: signals in, exec */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(s->path, s->argv, s->envp);
fail:
	c->err = errno ? errno : EINVAL;
	_exit(127);
}

/* ---- the clone path: the parent ---- */

static int spawn_clone(const struct td__spawn *s, pid_t *pid, enum td__spawn_step *step)
{
	struct child c = {.s = s, .parent = getpid(), .err = 0, .step = TD_SPAWN_EXEC};
	/* the stack grows down on every architecture Linux and tooldag run on */
	char *top = (char *)s->stack + (s->stack_size & ~(size_t)15);
	int saved = errno, err = 0;
	sigset_t all, old;
	pid_t p;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* we sleep until the child's execve succeeds or it exits: c is final then */
	p = clone(child_main, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	if (p < 0)
		err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved; /* the child shared our errno (same thread pointer) */
	if (p < 0)
		return -err;
	if (c.err) {
		*step = (enum td__spawn_step)c.step;
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return -c.err;
	}
	*pid = p;
	return 0;
}

/*
 * posix_spawn returns the chdir's error and the exec's alike. Only on failure, and only with a
 * cwd: when the directory is not one we could enter, that was the step that failed (a missing
 * cwd must not read as "program not found").
 */
static bool cwd_failed(const char *cwd, int err)
{
	struct stat st;

	if (err != -ENOENT && err != -ENOTDIR && err != -EACCES && err != -ELOOP &&
	    err != -ENAMETOOLONG)
		return false;
	return stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode) || access(cwd, X_OK) < 0;
}

int td__spawn(const struct td__spawn *s, pid_t *pid, enum td__spawn_step *step)
{
	int r;

	*step = TD_SPAWN_EXEC;
	if (s->nrlim || s->die_with_parent)
		return spawn_clone(s, pid, step);
	r = spawn_posix(s, pid);
	if (r < 0 && s->cwd && cwd_failed(s->cwd, r))
		*step = TD_SPAWN_CWD;
	return r;
}

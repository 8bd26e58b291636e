/* SPDX-License-Identifier: MIT */
/*
 * proc.c - the process backend: `run: [argv...]` tools as child processes.
 *
 * Spawn rules (STYLE 19-23): posix_spawn, never a shell; own process group; empty signal mask
 * and default dispositions; every descriptor CLOEXEC and the child's 0/1/2 set with file
 * actions, everything from 3 up closed in the child (closefrom), so a host's stray descriptors
 * never leak into tools either. A tool with `limits:` is started by spawn.c's clone path
 * instead, which does the same and calls setrlimit before the exec.
 *
 * Lifecycle of one job, all on the ring:
 *   spawn -> pidfd polled, stdout and stderr read, stdin written
 *   deadline (timer) -> SIGTERM to the group, SIGKILL after the grace period
 *   pidfd readable -> SIGKILL the group (a grandchild holding stdout cannot keep the call
 *     alive, nothing stays running), reap with waitid(P_PIDFD), then wait for the pipes' EOF
 *     (bounded by the grace period in case something escaped the group)
 *   every request back -> result composed, descriptors closed, done().
 *
 * Without pidfd_open (ENOSYS: Linux before 5.3, valgrind 3.19) the exit is found by a ring
 * timer instead, which polls the backend's children with waitid(WNOHANG | WNOWAIT) at a
 * growing interval; everything else is the same. The choice is made once per process.
 *
 * Our pipe ends are blocking on purpose: for an O_NONBLOCK file io_uring returns -EAGAIN
 * instead of waiting for readiness itself.
 *
 * stdin: input of at most TD_SMALL_STDIN bytes is written into a fresh pipe before the spawn
 * (a pipe always holds one page) and costs no ring request. Larger input goes through a Unix
 * stream socket written with MSG_NOSIGNAL: a child that exits without reading must give EPIPE,
 * never SIGPIPE to the host, and the library does not touch signal dispositions.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/backends.h"
#include "exec/capbuf.h"
#include "exec/proc_tool.h"
#include "exec/spawn.h"
#include "run/run.h"

/* Descriptors a process holds while it starts: three pipes (or two and a socket pair). */
#define TD_FDS_PER_PROC 6u
#define TD_SMALL_STDIN  4096u
#define TD_STDOUT_CHUNK 16384u
#define TD_STDERR_CHUNK 4096u
#define TD_STDERR_TAIL  4096u
/* exit polling without pidfds: first after 1 ms, then doubling up to 32 ms */
#define TD_REAP_FIRST_US 1000
#define TD_REAP_MAX_US   32000

/* A job only moves forward through these (move_phase() checks it). */
enum phase {
	PH_RUN = 0, /* running; the timer is the deadline (if any) */
	PH_TERM,    /* SIGTERM sent; the timer is the SIGKILL */
	PH_KILL,    /* SIGKILL sent; waiting for the exit */
	PH_DRAIN,   /* exited; the timer bounds the wait for the pipes' EOF */
};

struct pjob {
	struct td__job *job;
	struct td__backend *be;
	struct pjob *next_free;
	struct pjob *next_watch; /* in proc_backend.watched (no pidfd) */
	pid_t pid;
	int pidfd, out_fd, err_fd, in_fd; /* -1 when closed */
	struct td__op pid_op, out_op, err_op, in_op;
	unsigned ops; /* requests in flight */
	size_t in_off;
	enum phase phase;
	int exited, timed_out, status; /* status: from waitid */
	int si_code;
	int wait_err;   /* -errno of a failed reap: the exit status is unknown */
	int in_err;     /* -errno of a failed stdin write: the tool saw a truncated input */
	int64_t cpu_us; /* CPU time the child used (user + system), from the reap */
	struct td__capbuf out, err;
	char out_chunk[TD_STDOUT_CHUNK];
	char err_chunk[TD_STDERR_CHUNK];
};

struct proc_backend {
	struct td__backend be;
	const struct td_graph *graph;
	struct td__tool_cache *tools;
	struct pjob *free_jobs;
	void *stack;          /* for spawn.c's clone path, allocated by the first limited tool */
	struct pjob *watched; /* children whose exit reap_timer polls for (no pidfd) */
	struct td__timer reap_timer;
	int64_t reap_every_us;
};

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static struct td__tool_cache *tool_cache(struct proc_backend *pb, const struct td__job *job)
{
	size_t i = (size_t)(job->tool - job->graph->tools);

	if (!pb->tools) {
		pb->graph = job->graph;
		pb->tools =
		    td__calloc(job->graph->ntools ? job->graph->ntools : 1, sizeof(*pb->tools));
		if (!pb->tools)
			return NULL;
	}
	if (!pb->tools[i].ready &&
	    td__proc_tool_resolve(&pb->tools[i], job->graph, job->tool) < 0) {
		td__proc_tool_clear(&pb->tools[i]); /* out of memory: the next call tries again */
		return NULL;
	}
	return &pb->tools[i];
}

/* ---- job records (pooled) ---- */

static struct pjob *pjob_get(struct proc_backend *pb)
{
	struct pjob *pj = pb->free_jobs;

	/* zeroed once, when made: the kernel fills the read chunks through the ring, where
	 * valgrind cannot see it write, and would call their bytes uninitialised */
	if (pj)
		pb->free_jobs = pj->next_free;
	else if (!(pj = td__calloc(1, sizeof(*pj))))
		return NULL;
	pj->pid = -1;
	pj->pidfd = pj->out_fd = pj->err_fd = pj->in_fd = -1;
	pj->ops = 0;
	pj->in_off = 0;
	pj->phase = PH_RUN;
	pj->exited = pj->timed_out = pj->status = pj->si_code = 0;
	pj->wait_err = pj->in_err = 0;
	pj->cpu_us = 0;
	pj->next_watch = NULL;
	return pj;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pjob_put(struct proc_backend *pb, struct pjob *pj)
{
	close_fd(&pj->pidfd);
	close_fd(&pj->out_fd);
	close_fd(&pj->err_fd);
	close_fd(&pj->in_fd);
	td__capbuf_free(&pj->out);
	td__capbuf_free(&pj->err);
	pj->next_free = pb->free_jobs;
	pb->free_jobs = pj;
}

/* ---- composing the result ---- */

static void trim_tail(struct td__buf *b)
{
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r' ||
	                  b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
}

/*
 * Died of its cpu limit: SIGXCPU at the soft limit, or SIGKILL at the hard one a second later
 * (a child that ignores SIGXCPU) after using that much CPU. A timeout is ours, not this.
 */
static int hit_cpu_limit(const struct pjob *pj)
{
	uint64_t limit = pj->job->tool->lim.rlimit[TD_RL_CPU];
	int sig = pj->job->signal;

	return limit && !pj->timed_out &&
	       (sig == SIGXCPU || (sig == SIGKILL && pj->cpu_us >= (int64_t)limit * 1000000));
}

/* A capture, trailing blank lines cut, after prefix; nothing when it is empty. */
static void append_capture(struct td__buf *b, const struct td__capbuf *cb, const char *prefix)
{
	struct td__buf text = {0};

	td__capbuf_render(cb, &text);
	trim_tail(&text);
	if (text.len) {
		td__buf_puts(b, prefix);
		td__buf_append(b, text.data, text.len);
	}
	td__buf_free(&text);
}

/* Why waitid could not tell how the child ended. */
static const char *wait_error_text(int err)
{
	if (err == -ECHILD)
		return "the kernel reaped the child itself because this program ignores SIGCHLD "
		       "(SIG_IGN or SA_NOCLDWAIT); process tools need its default disposition";
	return strerror(-err);
}

static void failure_text(struct pjob *pj, struct td__buf *b)
{
	struct td__job *job = pj->job;
	char dur[32];

	if (pj->timed_out) {
		td__format_duration(job->timeout_us, dur, sizeof(dur));
		td__buf_printf(b, "timed out after %s", dur);
		return;
	}
	if (pj->in_err) {
		td__buf_printf(b, "cannot write its input to its stdin: %s (the call was stopped)",
		               strerror(-pj->in_err));
		return;
	}
	if (pj->wait_err) {
		td__buf_printf(b, "its exit status is lost: %s", wait_error_text(pj->wait_err));
		return;
	}
	if (hit_cpu_limit(pj)) {
		td__format_duration((int64_t)job->tool->lim.rlimit[TD_RL_CPU] * 1000000, dur,
		                    sizeof(dur));
		td__buf_printf(b, "exceeded its cpu limit of %s: ", dur);
	}
	if (job->signal) {
		const char *name = sigabbrev_np(job->signal);

		td__buf_printf(b, "killed by signal %d (SIG%s)", job->signal, name ? name : "?");
	} else {
		td__buf_printf(b, "exited with code %d", job->exit_code);
	}
	append_capture(b, &pj->err, ": ");
	/* what it printed too: a linter or a test runner reports on stdout, and the model needs
	 * the findings to act on them, not only that the tool failed */
	append_capture(b, &pj->out, "\n\nstdout:\n");
}

static void set_outcome(struct pjob *pj)
{
	struct td__job *job = pj->job;
	struct td__buf b = {0};

	job->exit_code = -1;
	job->signal = 0;
	if (pj->si_code == CLD_EXITED)
		job->exit_code = pj->status;
	else
		job->signal = pj->status;
	job->truncated = td__capbuf_dropped(&pj->out) > 0;
	if (pj->timed_out)
		job->status = TD_STATUS_TIMEOUT;
	else if (pj->in_err || pj->wait_err)
		job->status = TD_STATUS_ERROR;
	else
		job->status = job->exit_code == 0 ? TD_STATUS_OK : TD_STATUS_ERROR;
	if (pj->in_err || pj->wait_err)
		job->no_retry = 1;
	if (job->status == TD_STATUS_OK)
		td__capbuf_render(&pj->out, &b);
	else
		failure_text(pj, &b);
	job->content_len = b.len;
	job->content = td__buf_take(&b);
	if (!job->content)
		td__job_set_content(job, TD_STATUS_ERROR, "out of memory", 13);
}

static void maybe_finish(struct pjob *pj)
{
	struct td__backend *be = pj->be;
	struct td__job *job = pj->job;

	if (!pj->exited || pj->ops || pj->out_fd >= 0 || pj->err_fd >= 0 || pj->in_fd >= 0)
		return;
	td__loop_timer_disarm(be->loop, &job->timer);
	set_outcome(pj);
	job->priv = NULL;
	pjob_put((struct proc_backend *)be, pj);
	be->done(be->ud, job);
}

/* ---- ring callbacks ---- */

static void signal_group(struct pjob *pj, int sig)
{
	/* only before the reap: the zombie leader keeps the group id from being reused */
	if (!pj->exited && pj->pid > 0)
		kill(-pj->pid, sig);
}

/*
 * The one place a job changes phase, with what each phase starts: SIGTERM and the SIGKILL
 * timer (no grace: SIGKILL at once), SIGKILL, or the bound on the drain (after grace_us; 0:
 * end it now).
 */
static void move_phase(struct pjob *pj, enum phase to, int64_t grace_us)
{
	struct td__loop *l = pj->be->loop;
	struct td__timer *t = &pj->job->timer;

	if (to == PH_TERM && grace_us <= 0)
		to = PH_KILL;
	assert(to > pj->phase || (to == PH_DRAIN && pj->phase == PH_DRAIN));
	pj->phase = to;
	switch (to) {
	case PH_TERM:
		signal_group(pj, SIGTERM);
		td__loop_timer_arm(l, t, td__loop_now(l) + grace_us);
		break;
	case PH_KILL:
		signal_group(pj, SIGKILL);
		td__loop_timer_disarm(l, t);
		break;
	case PH_DRAIN:
		td__loop_timer_arm(l, t, td__loop_now(l) + grace_us);
		break;
	case PH_RUN:
		break;
	}
}

static int64_t tv_us(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

/*
 * The child has exited and is not reaped yet: kill what is left of its group (the zombie
 * leader keeps the group id from being reused), reap it, then wait for the pipes' EOF.
 * The raw waitid takes a struct rusage, which glibc's wrapper does not pass: the child's CPU
 * time tells its cpu limit's SIGKILL from another.
 */
static int reap(idtype_t idtype, id_t id, siginfo_t *si, struct rusage *ru)
{
	long r;

	memset(si, 0, sizeof(*si));
	memset(ru, 0, sizeof(*ru));
	while ((r = syscall(SYS_waitid, idtype, id, si, WEXITED, ru)) < 0 && errno == EINTR)
		;
	return r < 0 ? -errno : 0;
}

static void child_exited(struct pjob *pj, idtype_t idtype, id_t id)
{
	struct rusage ru;
	siginfo_t si;
	int err;

	signal_group(pj, SIGKILL);
	err = reap(idtype, id, &si, &ru);
	/* P_PIDFD is Linux 5.4: a kernel with pidfd_open (5.3) but not that reaps by pid */
	if (err == -EINVAL && idtype == P_PIDFD)
		err = reap(P_PID, (id_t)pj->pid, &si, &ru);
	pj->wait_err = err;
	pj->si_code = si.si_code;
	pj->status = si.si_status;
	pj->cpu_us = tv_us(&ru.ru_utime) + tv_us(&ru.ru_stime);
	pj->exited = 1;
	close_fd(&pj->pidfd);
	if (pj->in_fd >= 0 && pj->ops && pj->in_off < pj->job->stdin_len)
		td__loop_cancel(pj->be->loop, &pj->in_op);
	/* output still in the pipes is read whatever the grace; the bound is for a grandchild that
	 * keeps them open */
	move_phase(pj, PH_DRAIN,
	           pj->job->kill_grace_us > 0 ? pj->job->kill_grace_us
	                                      : (int64_t)TD_DEFAULT_KILL_GRACE_MS * 1000);
	maybe_finish(pj);
}

static void on_exit_ready(struct td__op *op, int res)
{
	struct pjob *pj = CONTAINER(op, struct pjob, pid_op);

	pj->ops--;
	if (res < 0 && res != -ECANCELED) {
		/* the poll failed; ask again rather than lose the exit */
		if (td__loop_poll_in(pj->be->loop, &pj->pid_op, pj->pidfd) == 0) {
			pj->ops++;
			return;
		}
	}
	child_exited(pj, P_PIDFD, (id_t)pj->pidfd);
}

/* ---- watching exits without pidfds ---- */

/* Exited (a zombie we have not reaped, or gone: reaped behind our back)? */
static int has_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return si.si_pid == pid;
}

static int arm_reap_tick(struct proc_backend *pb)
{
	return td__loop_timer_arm(pb->be.loop, &pb->reap_timer,
	                          td__loop_now(pb->be.loop) + pb->reap_every_us);
}

/* The exits of every watched child; the list is taken first: done() may start more. */
static void on_reap_tick(struct td__timer *t)
{
	struct proc_backend *pb = CONTAINER(t, struct proc_backend, reap_timer);
	struct pjob *pj = pb->watched, *next;

	pb->watched = NULL;
	for (; pj; pj = next) {
		next = pj->next_watch;
		if (has_exited(pj->pid)) {
			child_exited(pj, P_PID, (id_t)pj->pid);
			continue;
		}
		pj->next_watch = pb->watched;
		pb->watched = pj;
	}
	if (!pb->watched || pb->reap_timer.slot) /* none left, or a new child re-armed it */
		return;
	pb->reap_every_us *= 2;
	if (pb->reap_every_us > TD_REAP_MAX_US)
		pb->reap_every_us = TD_REAP_MAX_US;
	arm_reap_tick(pb);
}

/*
 * Whether pidfd_open works, decided once per process: 0 not yet known, 1 yes, -1 no (ENOSYS,
 * or TD_TEST_NO_PIDFD set in the environment, which tests use to take the polling path).
 */
static int pidfd_works;

/* A pidfd for pid, or -ENOSYS when exits must be polled for, or another -errno. */
static int open_pidfd(pid_t pid)
{
	int works = __atomic_load_n(&pidfd_works, __ATOMIC_RELAXED), fd;
	const char *test;

	if (!works) {
		test = getenv("TD_TEST_NO_PIDFD");
		works = test && *test ? -1 : 1;
		__atomic_store_n(&pidfd_works, works, __ATOMIC_RELAXED);
	}
	if (works < 0)
		return -ENOSYS;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		return fd;
	if (errno == ENOSYS)
		__atomic_store_n(&pidfd_works, -1, __ATOMIC_RELAXED);
	return -errno;
}

/* The exit through the pidfd polled on the ring, or failing that through reap_timer. */
static int watch_exit(struct pjob *pj)
{
	struct proc_backend *pb = (struct proc_backend *)pj->be;
	int fd = open_pidfd(pj->pid);

	if (fd >= 0) {
		pj->pidfd = fd;
		if (td__loop_poll_in(pj->be->loop, &pj->pid_op, pj->pidfd) < 0)
			return -EBUSY;
		pj->ops++;
		return 0;
	}
	if (fd != -ENOSYS)
		return fd;
	/* a new child may exit soon: look again shortly (the scheduler's timer reserve holds
	 * one spare slot, so this arming does not allocate) */
	pb->reap_every_us = TD_REAP_FIRST_US;
	if (arm_reap_tick(pb) < 0)
		return -ENOMEM;
	pj->next_watch = pb->watched;
	pb->watched = pj;
	return 0;
}

static int read_more(struct pjob *pj, struct td__op *op, int fd, char *chunk, unsigned len)
{
	if (td__loop_read(pj->be->loop, op, fd, chunk, len) < 0)
		return 0;
	pj->ops++;
	return 1;
}

/* A read of stdout or stderr came back: keep it and read on, or close that pipe. */
static void pipe_read(struct pjob *pj, struct td__op *op, int *fd, struct td__capbuf *cb,
                      char *chunk, unsigned size, int res)
{
	pj->ops--;
	if (res > 0) {
		td__capbuf_append(cb, chunk, (size_t)res);
		if (read_more(pj, op, *fd, chunk, size))
			return;
	}
	close_fd(fd); /* EOF, error or cancelled: nothing more to read */
	maybe_finish(pj);
}

static void on_out(struct td__op *op, int res)
{
	struct pjob *pj = CONTAINER(op, struct pjob, out_op);

	pipe_read(pj, op, &pj->out_fd, &pj->out, pj->out_chunk, sizeof(pj->out_chunk), res);
}

static void on_err(struct td__op *op, int res)
{
	struct pjob *pj = CONTAINER(op, struct pjob, err_op);

	pipe_read(pj, op, &pj->err_fd, &pj->err, pj->err_chunk, sizeof(pj->err_chunk), res);
}

static int send_more(struct pjob *pj)
{
	const struct td__job *job = pj->job;
	size_t left = job->stdin_len - pj->in_off;
	unsigned n = left > (1u << 20) ? 1u << 20 : (unsigned)left;
	int r = td__loop_send(pj->be->loop, &pj->in_op, pj->in_fd, job->stdin_data + pj->in_off, n);

	if (r == 0)
		pj->ops++;
	return r;
}

/*
 * The tool's input could not be written whole for a reason other than the tool not reading
 * it: closing stdin would hand it a truncated input that reads as complete. The call fails
 * and the tool is stopped (its answer to half an input is no answer).
 */
static void input_failed(struct pjob *pj, int err)
{
	pj->in_err = err;
	close_fd(&pj->in_fd);
	if (!pj->exited && pj->phase < PH_KILL)
		move_phase(pj, PH_KILL, 0);
}

/* Test hook: TD_TEST_STDIN_ERRNO=N makes the first stdin write of each call fail with -N. */
static int stdin_hook(int res, const struct pjob *pj)
{
	const char *v;

	if (pj->in_off || res < 0 || !(v = getenv("TD_TEST_STDIN_ERRNO")) || !*v)
		return res;
	return -(int)strtol(v, NULL, 10);
}

static void on_in(struct td__op *op, int res)
{
	struct pjob *pj = CONTAINER(op, struct pjob, in_op);
	int r;

	pj->ops--;
	res = stdin_hook(res, pj);
	if (res > 0) {
		pj->in_off += (size_t)res;
		if (pj->in_off == pj->job->stdin_len || pj->exited) {
			close_fd(&pj->in_fd);
		} else if ((r = send_more(pj)) < 0) {
			input_failed(pj, r);
		} else {
			return;
		}
	} else if (res == 0 || res == -EPIPE || res == -ECONNRESET || res == -ECANCELED) {
		/* the child stopped reading (or exited): what it read is its business */
		close_fd(&pj->in_fd);
	} else {
		input_failed(pj, res);
	}
	maybe_finish(pj);
}

/* the one timer of a job: deadline, then SIGKILL, then the end of the drain */
static void on_timer(struct td__timer *t)
{
	struct td__job *job = CONTAINER(t, struct td__job, timer);
	struct pjob *pj = job->priv;

	switch (pj->phase) {
	case PH_RUN:
		pj->timed_out = 1;
		move_phase(pj, PH_TERM, job->kill_grace_us);
		return;
	case PH_TERM:
		move_phase(pj, PH_KILL, 0);
		return;
	case PH_KILL:
		return;
	case PH_DRAIN:
		/* something outside the group still holds a pipe: stop waiting for it */
		if (pj->out_fd >= 0)
			td__loop_cancel(pj->be->loop, &pj->out_op);
		if (pj->err_fd >= 0)
			td__loop_cancel(pj->be->loop, &pj->err_op);
		return;
	}
}

/* ---- spawning ---- */

static void deferred_done(struct td__timer *t)
{
	struct td__job *job = CONTAINER(t, struct td__job, timer);

	job->be->done(job->be->ud, job);
}

/* "512MiB", "2GiB" or a count of bytes, as a limit was likely written. */
static void format_size(uint64_t n, char *buf, size_t len)
{
	if (n % (1u << 30) == 0)
		snprintf(buf, len, "%lluGiB", (unsigned long long)(n >> 30));
	else if (n % (1u << 20) == 0)
		snprintf(buf, len, "%lluMiB", (unsigned long long)(n >> 20));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
}

static int spawn_error(struct td__job *job, const char *argv0, const char *path, const char *cwd,
                       int err, enum td__spawn_step step)
{
	uint64_t mem = job->tool->lim.rlimit[TD_RL_MEMORY];
	char msg[1024], size[32];

	format_size(mem, size, sizeof(size));
	if (step == TD_SPAWN_CWD)
		snprintf(msg, sizeof(msg), "cannot run '%s': cannot change to its cwd '%s': %s",
		         argv0, cwd ? cwd : "", strerror(-err));
	else if (step == TD_SPAWN_LIMIT)
		snprintf(msg, sizeof(msg), "cannot run '%s': cannot set its limits: %s", argv0,
		         strerror(-err));
	else if (err == -ENOMEM && mem)
		snprintf(msg, sizeof(msg),
		         "cannot run '%s': its memory limit of %s is too small to start it", argv0,
		         size);
	else if (err == -ECHILD)
		snprintf(msg, sizeof(msg),
		         "cannot run '%s': this program ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT), "
		         "so the kernel would reap the tool and its exit status would be lost; "
		         "process tools need SIGCHLD's default disposition",
		         argv0);
	else if (err == -ENOENT && !strchr(argv0, '/'))
		snprintf(msg, sizeof(msg), "cannot run '%s': program not found in PATH", argv0);
	else if (err == -ENOENT)
		snprintf(msg, sizeof(msg), "cannot run '%s': no such file (%s)", argv0, path);
	else if (err == -EACCES)
		snprintf(msg, sizeof(msg), "cannot run '%s': permission denied%s%s%s", argv0,
		         path ? " (" : "", path ? path : "", path ? ")" : "");
	else
		snprintf(msg, sizeof(msg), "cannot run '%s': %s", argv0, strerror(-err));
	job->no_retry = 1;
	job->exit_code = -1;
	job->signal = 0;
	if (td__job_set_content(job, TD_STATUS_ERROR, msg, strlen(msg)) < 0)
		return TD_ENOMEM;
	/* reported through done() from the next loop turn, like any other outcome */
	job->timer.fn = deferred_done;
	td__loop_defer(job->be->loop, &job->timer);
	return 0;
}

/* The pipes: in[0] becomes the child's stdin (pipe or socket), out/err the child's 1 and 2. */
static int make_pipes(struct pjob *pj, int in[2], int out[2], int err[2])
{
	const struct td__job *job = pj->job;

	in[0] = in[1] = out[0] = out[1] = err[0] = err[1] = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	if (job->stdin_len > TD_SMALL_STDIN) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		in[0] = sv[1];
		in[1] = sv[0];
		return 0;
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	/* fits in an empty pipe (one page at least), and we hold the read end: no SIGPIPE */
	if (job->stdin_len && write(in[1], job->stdin_data, job->stdin_len) < 0)
		return -errno;
	close_fd(&in[1]);
	return 0;
}

static int spawn_child(struct pjob *pj, const struct td__tool_cache *tc, int in, int out, int err,
                       enum td__spawn_step *step)
{
	struct proc_backend *pb = (struct proc_backend *)pj->be;
	struct td__spawn s = {
	    .path = tc->path,
	    .argv = pj->job->tool->argv,
	    .envp = tc->envp,
	    .cwd = tc->cwd,
	    .fd = {in, out, err},
	    .rlim = tc->rlim,
	    .nrlim = tc->nrlim,
	    .die_with_parent = pj->job->run->opts.die_with_host,
	    .stack_size = TD_SPAWN_STACK,
	};

	*step = TD_SPAWN_EXEC;
	if ((s.nrlim || s.die_with_parent) && !pb->stack &&
	    !(pb->stack = td__malloc(TD_SPAWN_STACK)))
		return TD_ENOMEM;
	s.stack = pb->stack;
	return td__spawn(&s, &pj->pid, step);
}

static int watch(struct pjob *pj)
{
	int r = watch_exit(pj);

	if (r < 0)
		return r;
	if (!read_more(pj, &pj->out_op, pj->out_fd, pj->out_chunk, sizeof(pj->out_chunk)))
		close_fd(&pj->out_fd);
	if (!read_more(pj, &pj->err_op, pj->err_fd, pj->err_chunk, sizeof(pj->err_chunk)))
		close_fd(&pj->err_fd);
	if (pj->in_fd >= 0 && (r = send_more(pj)) < 0)
		input_failed(pj, r); /* the exit and the pipes are watched: ends as an error */
	return 0;
}

/* A spawned child we cannot watch: kill it and reap it here, synchronously (rare). */
static void abandon(struct pjob *pj)
{
	kill(-pj->pid, SIGKILL);
	while (waitpid(pj->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void init_job(struct pjob *pj, struct td__job *job, struct td__backend *be)
{
	pj->job = job;
	pj->be = be;
	pj->pid_op.fn = on_exit_ready;
	pj->out_op.fn = on_out;
	pj->err_op.fn = on_err;
	pj->in_op.fn = on_in;
	td__capbuf_init(&pj->out, job->tool->lim.max_output);
	td__capbuf_init_tail(&pj->err, TD_STDERR_TAIL);
	job->exit_code = -1;
	job->signal = job->truncated = job->no_retry = 0;
	job->timer.fn = on_timer;
	job->timer.slot = 0;
	job->priv = pj;
}

/* An ignored SIGCHLD makes the kernel reap children at once: waitid finds nothing. */
static int sigchld_ignored(void)
{
	struct sigaction sa;

	if (sigaction(SIGCHLD, NULL, &sa) < 0)
		return 0;
	return (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN) ||
	       (sa.sa_flags & SA_NOCLDWAIT);
}

static int proc_start(struct td__backend *be, struct td__job *job)
{
	struct proc_backend *pb = (struct proc_backend *)be;
	struct td__tool_cache *tc = tool_cache(pb, job);
	const char *argv0 = job->tool->argv && job->tool->argv[0] ? job->tool->argv[0] : "";
	int in[2], out[2], err[2], r;
	enum td__spawn_step step = TD_SPAWN_EXEC;
	struct pjob *pj;

	if (!tc)
		return TD_ENOMEM;
	if (tc->err)
		return spawn_error(job, argv0, tc->path, tc->cwd, tc->err, TD_SPAWN_EXEC);
	if (sigchld_ignored())
		return spawn_error(job, argv0, tc->path, tc->cwd, -ECHILD, TD_SPAWN_EXEC);
	if (!(pj = pjob_get(pb)))
		return TD_ENOMEM;
	init_job(pj, job, be);
	r = make_pipes(pj, in, out, err);
	if (!r)
		r = spawn_child(pj, tc, in[0], out[1], err[1], &step);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	pj->in_fd = in[1];
	pj->out_fd = out[0];
	pj->err_fd = err[0];
	if (r < 0) {
		job->priv = NULL;
		pjob_put(pb, pj);
		if (r == -ENOENT || r == -EACCES || r == -ENOEXEC || r == -ENOTDIR ||
		    step != TD_SPAWN_EXEC || (r == -ENOMEM && job->tool->lim.rlimit[TD_RL_MEMORY]))
			return spawn_error(job, argv0, tc->path, tc->cwd, r, step);
		return r;
	}
	r = watch(pj);
	if (r < 0) { /* nothing is on the ring yet */
		abandon(pj);
		job->priv = NULL;
		pjob_put(pb, pj);
		return r;
	}
	if (job->timeout_us > 0)
		td__loop_timer_arm(be->loop, &job->timer, td__loop_now(be->loop) + job->timeout_us);
	return 0;
}

static void proc_kill(struct td__backend *be, struct td__job *job)
{
	struct pjob *pj = job->priv;

	(void)be;
	if (!pj || pj->exited || pj->phase != PH_RUN)
		return;
	move_phase(pj, PH_TERM, job->kill_grace_us);
}

static void proc_kill_now(struct td__backend *be, struct td__job *job)
{
	struct pjob *pj = job->priv;

	(void)be;
	if (!pj)
		return;
	if (!pj->exited) {
		if (pj->phase < PH_KILL)
			move_phase(pj, PH_KILL, 0);
		return;
	}
	move_phase(pj, PH_DRAIN, 0); /* stop waiting for the pipes */
}

static void proc_free(struct td__backend *be)
{
	struct proc_backend *pb = (struct proc_backend *)be;
	struct pjob *pj;
	size_t i;

	td__loop_timer_disarm(be->loop, &pb->reap_timer);
	while ((pj = pb->free_jobs)) {
		pb->free_jobs = pj->next_free;
		td__free(pj);
	}
	td__free(pb->stack);
	for (i = 0; pb->tools && i < pb->graph->ntools; i++)
		td__proc_tool_clear(&pb->tools[i]);
	td__free(pb->tools);
	td__free(pb);
}

int td__proc_backend_new(struct td__loop *loop, struct td__backend **out)
{
	struct proc_backend *pb = td__calloc(1, sizeof(*pb));

	*out = pb ? &pb->be : NULL;
	if (!pb)
		return TD_ENOMEM;
	pb->be.start = proc_start;
	pb->be.kill = proc_kill;
	pb->be.kill_now = proc_kill_now;
	pb->be.free = proc_free;
	pb->be.loop = loop;
	pb->be.fds_per_job = TD_FDS_PER_PROC;
	pb->reap_timer.fn = on_reap_tick;
	return 0;
}

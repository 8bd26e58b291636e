/* SPDX-License-Identifier: MIT */
/*
 * noring - runs a command with io_uring refused by the kernel, as in a container whose seccomp
 * profile blocks it (Docker's default since 25.0, gVisor, many CI sandboxes):
 *
 *   noring EPERM|ENOSYS COMMAND [ARGS...]    io_uring_setup fails with that errno, then exec
 *   noring EPERM|ENOSYS --probe              print what io_uring_setup returns under the filter
 *
 * A seccomp filter (no new privileges, so no root needed) makes io_uring_setup(2) return the
 * errno; io_uring_enter and io_uring_register are refused the same way, so nothing can reach a
 * ring set up some other way. Every other system call is allowed. The filter is inherited
 * across execvp() and by every child, and cannot be removed. Exit 77 when the kernel or the
 * architecture offers no seccomp filter (tests skip), 127 when COMMAND cannot be run.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NR_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NR_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NR_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define NR_ARCH AUDIT_ARCH_RISCV64
#endif

/* io_uring arrived in Linux 5.1: the numbers are the same on every architecture above */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup    425
#define __NR_io_uring_enter    426
#define __NR_io_uring_register 427
#endif

#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define NR_OFF   offsetof(struct seccomp_data, nr)

#ifdef NR_ARCH
/* arch != ours: kill (another ABI's numbers mean other calls, e.g. i386 on x86_64);
 * nr in {setup, enter, register}: ERRNO(err); anything else: allow. (x32 numbers, nr with
 * bit 30 set, pass: the program under test is a native build, never an x32 one.) */
static int install(int err)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_ARCH, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
#else
static int install(int err)
{
	(void)err;
	return -ENOTSUP;
}
#endif

static int probe(void)
{
	char params[120] = {0}; /* struct io_uring_params: all zero asks for defaults */
	long r = syscall(__NR_io_uring_setup, 4, params);

	if (r >= 0) {
		printf("io_uring_setup succeeded\n");
		close((int)r);
		return 1;
	}
	printf("io_uring_setup failed with %s\n", errno == EPERM    ? "EPERM"
	                                          : errno == ENOSYS ? "ENOSYS"
	                                                            : strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	int err, r;

	if (argc < 3 || (strcmp(argv[1], "EPERM") && strcmp(argv[1], "ENOSYS"))) {
		fprintf(stderr, "usage: noring EPERM|ENOSYS COMMAND [ARGS...] | --probe\n");
		return 2;
	}
	err = strcmp(argv[1], "EPERM") ? ENOSYS : EPERM;
	r = install(err);
	if (r < 0) {
		fprintf(stderr, "noring: cannot install a seccomp filter: %s\n", strerror(-r));
		return 77;
	}
	if (!strcmp(argv[2], "--probe"))
		return probe();
	execvp(argv[2], argv + 2);
	fprintf(stderr, "noring: cannot run '%s': %s\n", argv[2], strerror(errno));
	return 127;
}

/* SPDX-License-Identifier: MIT */
/*
 * proc_tool.h - what the process backend resolves once per tool (internal): the program's
 * path (PATH searched with the child's own PATH), the scrubbed environment, the working
 * directory and the rlimits to set.
 */
#ifndef TD_PROC_TOOL_H
#define TD_PROC_TOOL_H

#include "exec/spawn.h"
#include "load/graph.h"

/* What every call of one tool shares: resolved program, environment, working directory. */
struct td__tool_cache {
	int ready;
	int err;     /* resolution failure (-ENOENT, -EACCES): every call fails with it */
	char *path;  /* the program to exec */
	char **envp; /* NULL-terminated */
	const char *cwd;
	struct td__rlim rlim[TD_RL_N]; /* the tool's limits for setrlimit; none: posix_spawn */
	size_t nrlim;
};

/* Fills tc for tool t of graph g (tc zeroed). A program that cannot be found is no failure:
 * tc->err says why every call fails. TD_ENOMEM: out of memory (td__proc_tool_clear() it). */
int td__proc_tool_resolve(struct td__tool_cache *tc, const struct td_graph *g,
                          const struct td__tool *t);
/* The environment a child gets: the parent's PATH, HOME, LANG, TZ, TMPDIR and LC_* (all of
 * it with inherit), then env on top. NULL-terminated, td__malloc'd: td__child_env_free() it.
 * NULL when out of memory. Process tools and MCP servers share this one rule. */
char **td__child_env(const struct td__kv *env, size_t nenv, bool inherit);
void td__child_env_free(char **envp);
/* argv0 as execvp would find it, but over the child's own PATH (in envp); a relative path with
 * a '/' is taken from dir. *out is td__malloc'd on success. -ENOENT or -EACCES when there is
 * no such program, TD_ENOMEM. */
int td__child_program(const char *argv0, const char *dir, char **envp, char **out);
/* Frees what tc holds and zeroes it. */
void td__proc_tool_clear(struct td__tool_cache *tc);

#endif /* TD_PROC_TOOL_H */

/* SPDX-License-Identifier: MIT */
/*
 * proc_tool.c - resolving a process tool once, before its first call: the environment the
 * child gets (an allow-list of the parent's, or all of it with inherit_env, then the tool's
 * env on top) and the program to exec, searched in the child's PATH as execvp would.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/proc_tool.h"

extern char **environ;

/* ---- resolving a tool once: program path, environment ---- */

static int allowed_env(const char *kv)
{
	static const char *const keep[] = {"PATH=", "HOME=", "LANG=", "TZ=", "TMPDIR="};
	size_t i;

	if (!strncmp(kv, "LC_", 3))
		return 1;
	for (i = 0; i < TD__ARRAY_SIZE(keep); i++)
		if (!strncmp(kv, keep[i], strlen(keep[i])))
			return 1;
	return 0;
}

static int same_key(const char *kv, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(kv, key, n) && kv[n] == '=';
}

char **td__child_env(const struct td__kv *env, size_t nenv, bool inherit)
{
	size_t n = 0, i, j, k = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = td__calloc(n + nenv + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!inherit && !allowed_env(environ[i]))
			continue;
		for (j = 0; j < nenv && !same_key(environ[i], env[j].key); j++)
			;
		if (j < nenv)
			continue; /* the tool sets it */
		if (!(envp[k++] = td__strdup(environ[i])))
			goto fail;
	}
	for (j = 0; j < nenv; j++)
		if (!(envp[k++] = td__asprintf("%s=%s", env[j].key, env[j].value)))
			goto fail;
	return envp;
fail:
	td__child_env_free(envp);
	return NULL;
}

static const char *env_get(char **envp, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; envp[i]; i++)
		if (same_key(envp[i], key))
			return envp[i] + n + 1;
	return NULL;
}

/* PATH search as execvp does it, but over the child's PATH; -ENOENT or -EACCES if none. */
static int search_path(const char *name, const char *path, char **out)
{
	const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin";
	int err = -ENOENT;

	while (*p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *cand = td__asprintf("%.*s/%s", (int)len, len ? p : ".", name);
		struct stat st;

		if (!cand)
			return TD_ENOMEM;
		if (!stat(cand, &st) && S_ISREG(st.st_mode)) {
			if (!access(cand, X_OK)) {
				*out = cand;
				return 0;
			}
			err = -EACCES;
		}
		td__free(cand);
		p += len + (end ? 1 : 0);
	}
	return err;
}

int td__child_program(const char *argv0, const char *dir, char **envp, char **out)
{
	*out = NULL;
	if (!*argv0)
		return -ENOENT;
	if (strchr(argv0, '/')) {
		while (argv0[0] == '.' && argv0[1] == '/')
			argv0 += 2;
		if (argv0[0] == '/' || !dir)
			*out = td__strdup(argv0);
		else
			*out = td__asprintf("%s/%s", dir, argv0);
		return *out ? 0 : TD_ENOMEM;
	}
	return search_path(argv0, env_get(envp, "PATH"), out);
}

void td__child_env_free(char **envp)
{
	size_t k;

	for (k = 0; envp && envp[k]; k++)
		td__free(envp[k]);
	td__free(envp);
}

int td__proc_tool_resolve(struct td__tool_cache *tc, const struct td_graph *g,
                          const struct td__tool *t)
{
	tc->ready = 1;
	tc->cwd = t->cwd ? t->cwd : g->dir;
	tc->nrlim = td__spawn_rlimits(t->lim.rlimit, tc->rlim);
	if (!(tc->envp = td__child_env(t->env, t->nenv, t->inherit_env)))
		return TD_ENOMEM;
	tc->err =
	    td__child_program(t->argv && t->argv[0] ? t->argv[0] : "", g->dir, tc->envp, &tc->path);
	return tc->err == TD_ENOMEM ? TD_ENOMEM : 0;
}

void td__proc_tool_clear(struct td__tool_cache *tc)
{
	td__child_env_free(tc->envp);
	td__free(tc->path);
	memset(tc, 0, sizeof(*tc));
}

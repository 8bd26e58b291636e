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

/* The parent's allowed variables (or all with inherit_env), then the tool's env on top. */
static char **build_env(const struct td__tool *t)
{
	size_t n = 0, i, j, k = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = td__calloc(n + t->nenv + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!t->inherit_env && !allowed_env(environ[i]))
			continue;
		for (j = 0; j < t->nenv && !same_key(environ[i], t->env[j].key); j++)
			;
		if (j < t->nenv)
			continue; /* the tool sets it */
		if (!(envp[k++] = td__strdup(environ[i])))
			goto fail;
	}
	for (j = 0; j < t->nenv; j++)
		if (!(envp[k++] = td__asprintf("%s=%s", t->env[j].key, t->env[j].value)))
			goto fail;
	return envp;
fail:
	for (i = 0; envp[i]; i++)
		td__free(envp[i]);
	td__free(envp);
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

int td__proc_tool_resolve(struct td__tool_cache *tc, const struct td_graph *g,
                          const struct td__tool *t)
{
	const char *argv0 = t->argv && t->argv[0] ? t->argv[0] : "";

	tc->ready = 1;
	tc->cwd = t->cwd ? t->cwd : g->dir;
	tc->nrlim = td__spawn_rlimits(t->lim.rlimit, tc->rlim);
	if (!(tc->envp = build_env(t)))
		return TD_ENOMEM;
	if (!*argv0) {
		tc->err = -ENOENT;
		return 0;
	}
	if (strchr(argv0, '/')) {
		while (argv0[0] == '.' && argv0[1] == '/')
			argv0 += 2;
		if (argv0[0] == '/' || !g->dir)
			tc->path = td__strdup(argv0);
		else
			tc->path = td__asprintf("%s/%s", g->dir, argv0);
		return tc->path ? 0 : TD_ENOMEM;
	}
	tc->err = search_path(argv0, env_get(tc->envp, "PATH"), &tc->path);
	return tc->err == TD_ENOMEM ? TD_ENOMEM : 0;
}

static void free_env(char **envp)
{
	size_t k;

	for (k = 0; envp && envp[k]; k++)
		td__free(envp[k]);
	td__free(envp);
}

void td__proc_tool_clear(struct td__tool_cache *tc)
{
	free_env(tc->envp);
	td__free(tc->path);
	memset(tc, 0, sizeof(*tc));
}

/* SPDX-License-Identifier: MIT */
/*
 * graph.h - the loaded graph (internal). Filled by the YAML loader (load.c), read by the
 * decoder, the planner and the executor. Read-only after td_graph_load_*() returns.
 */
#ifndef TD_GRAPH_H
#define TD_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

struct cJSON;

enum td__kind {
	TD_KIND_NONE = 0,
	TD_KIND_RUN,      /* run: [argv...] */
	TD_KIND_HTTP,     /* http: {url, method, headers, body, query} */
	TD_KIND_BUILTIN,  /* builtin: sleep|echo */
	TD_KIND_FUNCTION, /* function: NAME, registered by the embedding program */
	TD_KIND_MCP,      /* mcp: SERVER, a tool of an MCP server (servers:) */
	TD_KIND_COUNT     /* not a kind: how many values come before it */
};

enum td__builtin {
	TD_BUILTIN_SLEEP = 0, /* waits input.ms milliseconds on the ring */
	TD_BUILTIN_ECHO,      /* returns its input */
};

enum td__depfail {
	TD_DEPFAIL_SKIP = 0, /* a call whose dependency failed is not run (default) */
	TD_DEPFAIL_RUN,      /* it runs anyway; its envelope shows the failure */
};

enum td__stdin_mode {
	TD_STDIN_INPUT = 0, /* the call's input JSON */
	TD_STDIN_ENVELOPE,  /* {"id","name","input","upstream":[...]} */
};

/* Bits of td__limits.set: which limits the file set explicitly (defaults fill the rest). */
enum {
	TD_LIM_TIMEOUT = 1u << 0,
	TD_LIM_CONCURRENCY = 1u << 1,
	TD_LIM_RATE = 1u << 2,
	TD_LIM_RETRIES = 1u << 3,
	TD_LIM_BACKOFF = 1u << 4,
	TD_LIM_MAX_OUTPUT = 1u << 5,
	TD_LIM_DEPFAIL = 1u << 6,
	TD_LIM_ESTIMATE = 1u << 7,
	TD_LIM_SCOPE = 1u << 8,
};

#define TD_DEFAULT_TIMEOUT_US (30LL * 1000000) /* 30s */
#define TD_DEFAULT_MAX_OUTPUT (1024u * 1024u)  /* 1MiB */
#define TD_DEFAULT_BACKOFF_US (200LL * 1000)   /* 200ms, doubled per retry, jittered */

/*
 * `limits:` of a run: tool: resource limits set with setrlimit in the child before the exec
 * (proc.c, spawn.c). Indices of td__limits.rlimit; a value of 0 means not set: the child
 * inherits tooldag's own limit.
 */
enum td__rlimit {
	TD_RL_CPU = 0, /* RLIMIT_CPU, whole seconds of CPU time (each process of the group) */
	TD_RL_MEMORY,  /* RLIMIT_AS, bytes of address space */
	TD_RL_NOFILE,  /* RLIMIT_NOFILE, open descriptors, 0-2 included */
	TD_RL_PROCS,   /* RLIMIT_NPROC: processes of the child's real user id, all of them */
	TD_RL_N,
};

struct td__limits {
	unsigned set;         /* TD_LIM_* bits given explicitly */
	int64_t timeout_us;   /* 0: no timeout */
	uint32_t concurrency; /* per tool; 0: unlimited (the global limit still applies) */
	uint32_t rate_count;  /* token bucket: rate_count calls per rate_period_us; 0: none */
	int64_t rate_period_us;
	uint32_t retries;    /* extra attempts after the first */
	int64_t backoff_us;  /* first retry delay */
	uint64_t max_output; /* bytes of stdout kept; 0: unlimited */
	enum td__depfail on_dependency_failure;
	uint64_t rlimit[TD_RL_N]; /* by enum td__rlimit; 0: not set */
	/* `remote:` (a tool's own or the defaults'): 1 + index in graph.remotes; 0: runs here */
	uint32_t remote;
	/* what a call is expected to take, a hint the level and critical policies order calls by
	 * (learned durations win); 0: none */
	int64_t estimate_us;
	/* `scope: run`: concurrency and rate count per run; else (`host`, the default) they are
	 * shared by the runs of the graph on one host */
	int per_run;
};

struct td__kv {
	char *key;
	char *value;
};

#define TD_REMOTE_DEFAULT_CLAIM_US (30LL * 1000000) /* claim_after: 30s */
#define TD_REMOTE_DEFAULT_QUEUE    "tooldag"

/*
 * A queue on a Redis server that a tool's calls go to (`remote: {redis, queue, claim_after}`,
 * load/remote.c); tooldag worker takes them from there (exec/remote_worker.c).
 */
struct td__remote {
	char *url;   /* ${VAR} expanded at load time: may hold a password, never print it */
	char *queue; /* the queue's name; its stream is "tooldag:queue:" + queue */
	int64_t claim_after_us; /* silence after which a held call is taken from its worker */
	unsigned line, column;  /* where `remote:` stands */
};

/* Times a server that exited during a run is started again for later calls, by default. */
#define TD_MCP_DEFAULT_RESTARTS 1

/* An MCP server of the top-level `servers:` mapping (stdio: a child process; or url:). */
struct td__mcp_server {
	char *name;
	char **argv; /* command: NULL-terminated, argv[0] as written (no shell) */
	size_t argc;
	struct td__kv *env; /* on top of the scrubbed environment, as for run: tools */
	size_t nenv;
	char *cwd; /* as written (relative: to the graph's directory), or NULL */
	char *url; /* Streamable HTTP; ${VAR} expanded at load time: may hold secrets */
	struct td__kv *headers;
	size_t nheaders;
	uint32_t concurrency; /* requests in flight on its connection; 0: no limit of its own */
	uint32_t restarts;    /* starts after an exit, per run */
	char *import_prefix;  /* import: every tool it lists (in the pin), named prefix + name */
	char **roots;         /* roots: directories as written (relative: to the graph's) */
	size_t nroots;
	unsigned line, column;
};

struct td__tool {
	char *name;
	char *description; /* NULL when absent */
	struct cJSON
	    *schema; /* input_schema as JSON, NULL when absent; in yaml_text: no cJSON_Delete */
	unsigned line, column; /* where the tool's name stands in the file */

	enum td__kind kind;
	char **argv; /* run: NULL-terminated; argv[0] as written */
	size_t argc;
	struct {
		char *url;    /* ${VAR} expanded at load time: may hold secrets, never print it */
		char *method; /* default "POST" */
		struct td__kv *headers; /* values with ${VAR} already expanded: may hold secrets */
		size_t nheaders;
		bool body_input;  /* body: input (default for POST, PUT, PATCH) or none */
		bool query_input; /* query: from_input (default for GET) or none */
	} http;
	enum td__builtin builtin;
	char *function;      /* function: NAME */
	uint32_t mcp_server; /* mcp: index in graph.servers */
	char *mcp_tool;      /* tool: the server's name for it; NULL: the tool's own name */

	struct td__limits lim; /* defaults already merged in */
	uint32_t *deps;        /* depends_on as tool indices, no duplicates */
	size_t ndeps;
	struct td__kv *env; /* extra environment for run: tools */
	size_t nenv;
	bool inherit_env; /* pass the whole parent environment */
	char *cwd;        /* absolute, or NULL: the graph file's directory */
	enum td__stdin_mode stdin_mode;
};

struct td_graph {
	char *name;           /* file name as given, or the buffer's name */
	char *dir;            /* absolute directory relative paths resolve against */
	unsigned concurrency; /* global; TD_DEFAULT_CONCURRENCY when absent */
	struct td__tool *tools;
	size_t ntools;
	struct td__mcp_server *servers; /* servers: */
	size_t nservers;
	/* the pin file read at load, or NULL; mcp: tools' schemas point into it */
	struct cJSON *mcp_pin;
	struct td__remote *remotes; /* the `remote:` mappings of the file, by td__limits.remote */
	size_t nremotes;
	struct td__strmap by_name; /* tool name -> index (keys borrowed from tools[].name) */
	/*
	 * The graph's own `calls:`, converted to an array of Anthropic tool_use blocks
	 * ({"type":"tool_use","id","name","input","depends_on"}) so one decoder serves both;
	 * NULL when absent. calls_line is where `calls:` stands, call_pos[i] where call i does
	 * (1-based line and column, for diagnostics about one call).
	 */
	struct cJSON *calls;
	unsigned calls_line;
	bool env_kept; /* loaded with TD_LOAD_KEEP_ENV: ${NAME} left in, so it must not run */
	struct td__pos {
		unsigned line, column;
	} * call_pos;
	/* the YAML document's scalars, which the JSON above (and tools[].schema) points into */
	struct td__arena yaml_text;
};

/* Index of the MCP server named `name`, or -1 (servers.c). */
int td__graph_find_server(const struct td_graph *g, const char *name);
void td__mcp_servers_free(struct td__mcp_server *s, size_t n);
void td__remotes_free(struct td__remote *r, size_t n); /* load/remote.c */

/* Index of the tool named `name`, or -1. */
int td__graph_find(const struct td_graph *g, const char *name);

#endif /* TD_GRAPH_H */

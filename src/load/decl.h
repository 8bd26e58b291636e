/* SPDX-License-Identifier: MIT */
/*
 * decl.h - the declaration walk of a graph file, shared by the decl*.c files (internal):
 *
 *   decl.c         the top level (one table of keys) and the value helpers every key uses;
 *   decl_limits.c  limits shared by `defaults` and each tool, and a run: tool's `limits:`;
 *   decl_tool.c    each tool: its keys (one table) and its kind (one table of kinds);
 *   decl_http.c    an http: tool's keys and the ${VAR} expansion of its url and headers;
 *   decl_calls.c   the optional `calls:` list, into Anthropic tool_use blocks;
 *   servers.c      the top-level `servers:` (MCP) and the keys of an mcp: tool;
 *   remote.c       `remote:` (a tool's or the defaults'): its Redis URL and queue.
 *
 * A new top-level key is a row in decl.c's top_keys; a new tool kind is an enum td__kind
 * value plus a row in decl_tool.c's kinds. Handlers report a bad value with td__load_error
 * (through the helpers below) and return; the walk goes on, so one load reports every mistake.
 */
#ifndef TD_LOAD_DECL_H
#define TD_LOAD_DECL_H

#include <cjson/cJSON.h>

#include "load/loader.h"

#define NODE(L, i)   (&(L)->doc.nodes[(i)])
#define KID(L, n, k) TD__YKID(&(L)->doc, (n), (k))
#define PAIRS(L, n)  (NODE(L, n)->len / 2)

/* What the top-level keys share while the walk goes on. */
struct td__decl {
	struct td__limits
	    defaults; /* built-in values, then `defaults:`; each tool starts from them */
};

/* One tool while its keys are read. */
struct td__tool_decl {
	struct td__tool *t;
	uint32_t index;
	uint32_t kind_key;   /* the key that set the kind, for "two kinds" */
	uint32_t limits_key; /* the tool's own `limits:`, or TD__YNONE */
	uint32_t remote_key; /* `tool:` (the MCP server's name for it), or TD__YNONE */
};

/* A handler of one key of a tool (decl_tool.c's tables). */
typedef void td__tool_key_fn(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                             uint32_t val);

/* ---- value helpers (decl.c) ---- */

/* The text of a scalar key (keys are always scalars in a ytree). */
const char *td__decl_key(const struct td__loader *L, uint32_t key);
/* A scalar's text, or NULL for null and collections. */
const char *td__decl_text(const struct td__loader *L, uint32_t i);
/* How a value reads in "got ..." messages; buf holds the text when one is needed. */
const char *td__decl_describe(const struct td__loader *L, uint32_t i, char *buf, size_t len);
/* Reports "'<key>' must be <what>, got <value>". */
void td__decl_bad_value(struct td__loader *L, uint32_t key, uint32_t val, const char *what);
/* A copy of s (the caller's to free); NULL and L->oom set when out of memory. */
char *td__decl_dup(struct td__loader *L, const char *s);
/* A non-empty string value into *out (replacing any earlier one); false after reporting. */
bool td__decl_string(struct td__loader *L, uint32_t key, uint32_t val, const char *what,
                     char **out);
/* Digits only, at most max. */
bool td__decl_uint(const char *s, uint32_t max, uint32_t *out);
/* Index of word in a NULL-terminated list, or -1. */
int td__decl_word(const char *word, const char *const *list);
/* "unknown key 'timout' in tool 'x' (did you mean 'timeout'?)"; known is NULL-terminated. */
void td__decl_unknown_key(struct td__loader *L, uint32_t key, const char *where,
                          const char *const *known);
/* A mapping of plain values into *out (td__calloc'd, *n filled); false after reporting. */
bool td__decl_kv(struct td__loader *L, uint32_t key, uint32_t val, const char *what,
                 struct td__kv **out, size_t *n);
/* A subtree as JSON (the caller's to cJSON_Delete); NULL after reporting (alias bomb) or on
 * allocation failure. */
cJSON *td__decl_json(struct td__loader *L, uint32_t val);
/* The same for a tool's schema: read-only for the graph's life, so its items come from a pool
 * in the document's arena (see td__ydoc_json_pooled): nothing to free. */
cJSON *td__decl_schema_json(struct td__loader *L, uint32_t val);

/* ---- limits (decl_limits.c) ---- */

/* The limits a graph without `defaults` gives each tool. */
void td__decl_builtin_limits(struct td__limits *lim);
/* Parses key: val into lim if key names a limit; returns whether it did. */
bool td__decl_limit(struct td__loader *L, uint32_t key, uint32_t val, struct td__limits *lim);
/* `limits: {cpu, memory, nofile, procs}` into rlimit[] (by enum td__rlimit). */
void td__decl_rlimits(struct td__loader *L, uint32_t key, uint32_t val, const char *where,
                      uint64_t *rlimit);
/* The top-level `defaults:` mapping into lim. */
void td__decl_defaults(struct td__loader *L, uint32_t val, struct td__limits *lim);

/* ---- tools (decl_tool.c, decl_http.c) ---- */

/* The `tools:` mapping into L->g->tools, each starting from defaults. */
void td__decl_tools(struct td__loader *L, uint32_t key, uint32_t tools,
                    const struct td__limits *defaults);
/* Sets the tool's kind, or reports "two kinds" and returns false. */
bool td__decl_set_kind(struct td__loader *L, struct td__tool_decl *c, uint32_t key,
                       enum td__kind kind);
/* ${NAME} in s replaced from the environment (kept as written under TD_LOAD_KEEP_ENV): a new
 * string, or NULL after reporting "<who>: <what> uses ${NAME}, which is not set" (never the
 * value) or on allocation failure (decl_http.c). */
char *td__decl_expand_env(struct td__loader *L, uint32_t node, const char *who, const char *what,
                          const char *s);
/* The `http:` key of a tool (decl_http.c). */
void td__decl_http(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val);
/* ${NAME} in *s replaced from the environment (decl_http.c); who ("tool 'x'") and what
 * ("header 'y'") name it in errors, which never quote the value. false after reporting. */
bool td__decl_expand(struct td__loader *L, uint32_t node, const char *who, const char *what,
                     char **s);
/* Checks header names and expands ${NAME} in the values, reporting at val. */
void td__decl_headers(struct td__loader *L, uint32_t val, const char *who, struct td__kv *h,
                      size_t n);

/* ---- MCP (servers.c) ---- */

/* `mcp: SERVER` (the kind) and `tool: NAME` of a tool. */
void td__decl_mcp(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val);
void td__decl_mcp_tool(struct td__loader *L, struct td__tool_decl *c, uint32_t key, uint32_t val);
/* After every key of a tool: `tool:` belongs to mcp: tools only. */
void td__decl_mcp_check(struct td__loader *L, const struct td__tool_decl *c);

/* ---- remote (remote.c) ---- */

/* `remote: {redis, queue, claim_after}` or `remote: none` into lim->remote; `who` names the
 * tool ("tool 'x'") or "defaults" in messages. */
void td__decl_remote(struct td__loader *L, uint32_t key, uint32_t val, const char *who,
                     struct td__limits *lim);

/* ---- calls (decl_calls.c) ---- */

/* The top-level `calls:` list into L->g->calls and L->g->call_pos. */
void td__decl_calls(struct td__loader *L, uint32_t key, uint32_t val);

#endif /* TD_LOAD_DECL_H */

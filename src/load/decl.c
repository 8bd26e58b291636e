/* SPDX-License-Identifier: MIT */
/*
 * decl.c - the graph file's declarations, from the YAML tree into struct td_graph: the top
 * level, walked through one table of keys, and the value helpers every key handler uses.
 * The other decl_*.c files read what the top-level keys hold (see decl.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/decl.h"

const char *td__decl_key(const struct td__loader *L, uint32_t key)
{
	return NODE(L, key)->u.str;
}

/*
 * How a value reads in "got ..." messages: 'text' (cut at 40 bytes or a line end, never inside
 * a UTF-8 sequence), nothing, a list, a mapping.
 */
const char *td__decl_describe(const struct td__loader *L, uint32_t i, char *buf, size_t len)
{
	const struct td__ynode *n = NODE(L, i);
	size_t cut = 0;

	if (n->type == TD_Y_SEQ)
		return "a list";
	if (n->type == TD_Y_MAP)
		return "a mapping";
	if (n->type == TD_Y_NULL && n->len == 0)
		return "nothing";
	while (cut < n->len && cut < 40 && (unsigned char)n->u.str[cut] >= 0x20)
		cut++;
	if (cut == n->len) {
		snprintf(buf, len, "'%s'", n->u.str);
		return buf;
	}
	if (cut == 40)
		cut = 37;
	while (cut && ((unsigned char)n->u.str[cut] & 0xc0) == 0x80)
		cut--;
	snprintf(buf, len, "'%.*s...'", (int)cut, n->u.str);
	return buf;
}

/* Reports "'<key>' must be <what>, got <value>". */
void td__decl_bad_value(struct td__loader *L, uint32_t key, uint32_t val, const char *what)
{
	char buf[64];

	td__load_error(L, val, "'%s' must be %s, got %s", td__decl_key(L, key), what,
	               td__decl_describe(L, val, buf, sizeof(buf)));
}

/* A scalar's text, or NULL for null and collections. */
const char *td__decl_text(const struct td__loader *L, uint32_t i)
{
	const struct td__ynode *n = NODE(L, i);

	return n->type < TD_Y_SEQ && n->type != TD_Y_NULL ? n->u.str : NULL;
}

char *td__decl_dup(struct td__loader *L, const char *s)
{
	char *d = td__strdup(s);

	if (!d)
		L->oom = true;
	return d;
}

/* A string value into *out (replacing any earlier one); false after reporting. */
bool td__decl_string(struct td__loader *L, uint32_t key, uint32_t val, const char *what, char **out)
{
	const char *s = td__decl_text(L, val);

	if (!s || !*s) {
		td__decl_bad_value(L, key, val, what);
		return false;
	}
	td__free(*out);
	*out = td__decl_dup(L, s);
	return *out != NULL;
}

/* Digits only, at most max. */
bool td__decl_uint(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Index of word in a NULL-terminated list, or -1. */
int td__decl_word(const char *word, const char *const *list)
{
	int i;

	for (i = 0; list[i]; i++)
		if (strcmp(word, list[i]) == 0)
			return i;
	return -1;
}

static size_t list_len(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

/* "unknown key 'timout' in tool 'x' (did you mean 'timeout'?)" */
void td__decl_unknown_key(struct td__loader *L, uint32_t key, const char *where,
                          const char *const *known)
{
	const char *k = td__decl_key(L, key);
	const char *guess = td__did_you_mean(k, known, list_len(known));

	if (guess)
		td__load_error(L, key, "unknown key '%s' %s (did you mean '%s'?)", k, where, guess);
	else
		td__load_error(L, key, "unknown key '%s' %s", k, where);
}

/* ---- string mappings: env, http headers ---- */

bool td__decl_kv(struct td__loader *L, uint32_t key, uint32_t val, const char *what,
                 struct td__kv **out, size_t *n)
{
	uint32_t k, pairs;
	const char *v;

	if (NODE(L, val)->type != TD_Y_MAP) {
		td__decl_bad_value(L, key, val, what);
		return false;
	}
	pairs = PAIRS(L, val);
	*out = td__calloc(pairs, sizeof(**out));
	if (!*out) {
		L->oom = true;
		return false;
	}
	for (k = 0; k < pairs; k++) {
		v = td__decl_text(L, KID(L, val, 2 * k + 1));
		if (!v) {
			td__decl_bad_value(L, KID(L, val, 2 * k), KID(L, val, 2 * k + 1),
			                   "a plain value");
			continue;
		}
		(*out)[*n].key = td__decl_dup(L, td__decl_key(L, KID(L, val, 2 * k)));
		(*out)[*n].value = td__decl_dup(L, v);
		(*n)++;
	}
	return true;
}

/* ---- YAML subtrees as JSON ---- */

/* Counts what the conversion reported (an alias bomb) or notes that memory ran out. */
static cJSON *json_result(struct td__loader *L, cJSON *j, int oom)
{
	if (!j && oom)
		L->oom = true;
	else if (!j)
		L->nerr++;
	return j;
}

cJSON *td__decl_json(struct td__loader *L, uint32_t val)
{
	int oom = 0;
	cJSON *j = td__ydoc_json(&L->doc, val, &L->budget, L->file, L->diag, &oom);

	return json_result(L, j, oom);
}

cJSON *td__decl_schema_json(struct td__loader *L, uint32_t val)
{
	int oom = 0;
	cJSON *j =
	    td__ydoc_json_pooled(&L->doc, &L->schemas, val, &L->budget, L->file, L->diag, &oom);

	return json_result(L, j, oom);
}

/* ---- top level ---- */

typedef void top_key_fn(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val);

static void top_version(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val)
{
	const char *s = td__decl_text(L, val);
	char buf[64];

	(void)d;
	(void)key;
	if (!s || strcmp(s, "1") != 0)
		td__load_error(L, val, "unsupported version %s: this tooldag reads version 1",
		               td__decl_describe(L, val, buf, sizeof(buf)));
}

static void top_concurrency(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val)
{
	uint32_t v;

	(void)d;
	if (!td__decl_uint(td__decl_text(L, val), 1000000, &v) || v == 0)
		td__decl_bad_value(L, key, val, "a whole number from 1 to 1000000");
	else
		L->g->concurrency = v;
}

static void top_defaults(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val)
{
	(void)key;
	td__decl_defaults(L, val, &d->defaults);
}

static void top_tools(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val)
{
	td__decl_tools(L, key, val, &d->defaults);
}

static void top_servers(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val)
{
	(void)d;
	(void)key;
	td__load_servers(L, val);
}

static void top_calls(struct td__loader *L, struct td__decl *d, uint32_t key, uint32_t val)
{
	(void)d;
	if (!L->oom) /* the calls name tools: nothing to check them against */
		td__decl_calls(L, key, val);
}

/*
 * The top-level keys, in the order they are read (whatever their order in the file): a key
 * comes after the keys it builds on (`defaults` before `tools`, `tools` before `calls`).
 */
static const struct {
	const char *name;
	top_key_fn *fn;
	const char *missing; /* the error when the key is absent; NULL: optional */
} top_keys[] = {
    {"version", top_version, "missing 'version: 1' at the top of the graph file"},
    {"concurrency", top_concurrency, NULL},
    {"defaults", top_defaults, NULL},
    {"servers", top_servers, NULL}, /* before tools: an mcp: tool names its server */
    {"tools", top_tools, "missing 'tools': a mapping of tool names to declarations"},
    {"calls", top_calls, NULL},
};

#define TOP_N TD__ARRAY_SIZE(top_keys)

static int top_key_index(const char *name)
{
	size_t i;

	for (i = 0; i < TOP_N; i++)
		if (strcmp(name, top_keys[i].name) == 0)
			return (int)i;
	return -1;
}

static void top_key_unknown(struct td__loader *L, uint32_t key)
{
	const char *names[TOP_N + 1];
	size_t i;

	for (i = 0; i < TOP_N; i++)
		names[i] = top_keys[i].name;
	names[TOP_N] = NULL;
	td__decl_unknown_key(L, key, "at the top level", names);
}

/* Finds the known top-level keys; `x-...` keys are free for anchors and notes. */
static void top_keys_find(struct td__loader *L, uint32_t *key, uint32_t *val)
{
	uint32_t root = L->doc.root, k;
	const char *name;
	size_t i;
	int which;

	for (i = 0; i < TOP_N; i++)
		key[i] = val[i] = TD__YNONE;
	for (k = 0; k < PAIRS(L, root); k++) {
		name = td__decl_key(L, KID(L, root, 2 * k));
		which = top_key_index(name);
		if (which >= 0) {
			key[which] = KID(L, root, 2 * k);
			val[which] = KID(L, root, 2 * k + 1);
		} else if (strncmp(name, "x-", 2) != 0) {
			top_key_unknown(L, KID(L, root, 2 * k));
		}
	}
}

void td__load_decl(struct td__loader *L)
{
	uint32_t key[TOP_N], val[TOP_N];
	struct td__decl d;
	size_t i;

	td__decl_builtin_limits(&d.defaults);
	top_keys_find(L, key, val);
	for (i = 0; i < TOP_N; i++) {
		if (val[i] != TD__YNONE)
			top_keys[i].fn(L, &d, key[i], val[i]);
		else if (top_keys[i].missing)
			td__load_error(L, L->doc.root, "%s", top_keys[i].missing);
	}
	L->defaults = d.defaults;
}

/* SPDX-License-Identifier: MIT */
/*
 * ytree.h - a YAML document as a small tree of nodes (internal to the loader). libyaml only
 * gives events; the loader wants to look keys up, report positions and expand aliases under a
 * budget, so ytree.c turns the events into arrays of nodes and children (CSR style):
 *
 *   1. td__ydoc_parse() parses a buffer. YAML syntax errors, duplicate keys, non-scalar keys,
 *      unknown aliases and oversized documents are appended to diag as they are found.
 *   2. The caller walks doc.nodes[] from doc.root; TD__YKID() reads children (mappings store
 *      key, value, key, value...). An alias is not a node: its parent simply points at the
 *      anchored node, which is always complete, so the tree is a DAG and never a cycle.
 *   3. td__ydoc_json() converts a subtree to cJSON, counting every node it produces (alias
 *      expansions included) against a caller-held budget.
 *   4. td__ydoc_free().
 *
 * No libyaml type appears here: yaml.h stays in ytree.c.
 */
#ifndef TD_YTREE_H
#define TD_YTREE_H

#include <stdint.h>

#include "util/util.h"

struct cJSON;

/* Scalar types follow the YAML 1.2 core schema for plain scalars; quoted ones are strings. */
enum td__ytype {
	TD_Y_NULL = 0,
	TD_Y_BOOL,
	TD_Y_NUMBER,
	TD_Y_STRING,
	TD_Y_SEQ,
	TD_Y_MAP,
};

struct td__ynode {
	uint8_t type;          /* enum td__ytype */
	uint8_t boolean;       /* TD_Y_BOOL: its value */
	uint8_t stand_in;      /* a null put where an unknown alias was (already reported) */
	unsigned line, column; /* 1-based start of the node */
	uint32_t len;          /* scalars: bytes of str; collections: number of children */
	union {
		const char *str; /* scalars: the text, NUL-terminated, owned by the doc */
		uint32_t first;  /* collections: index of the first child in doc.kids */
	} u;
};

#define TD__YNONE UINT32_MAX

struct td__ydoc {
	struct td__ynode *nodes;
	size_t nnodes, capnodes;
	uint32_t *kids;
	size_t nkids, capkids;
	uint32_t root; /* TD__YNONE when the stream holds no document */
	struct td__arena arena;
};

/* Node limits: beyond them a document is refused rather than allowed to eat memory. */
#define TD__YMAX_NODES  2000000u /* nodes in the document as written */
#define TD__YMAX_KIDS   4000000u /* children, including pairs copied in by `<<` merges */
#define TD__YMAX_DEPTH  256u     /* nesting as written */
#define TD__YMAX_EXPAND 1000000u /* nodes produced by one load's JSON conversions */

/*
 * Parses buf (len bytes, need not be NUL-terminated) into doc, which must be zeroed. file
 * names the input in diagnostics. Returns 0, or TD_ESYNTAX (YAML syntax), TD_EGRAPH (valid
 * YAML the loader cannot take: duplicate keys, too large, several documents) or -ENOMEM;
 * every problem is in diag. When doc->root is set after an error (duplicate keys and the like)
 * the tree is whole, so a caller may go on and report more; when the error stopped the parse
 * (syntax, size, memory) root is TD__YNONE. Free doc in every case.
 */
int td__ydoc_parse(struct td__ydoc *doc, const char *buf, size_t len, const char *file,
                   struct td_diag *diag);
void td__ydoc_free(struct td__ydoc *doc);

static inline const struct td__ynode *td__ynode(const struct td__ydoc *doc, uint32_t i)
{
	return &doc->nodes[i];
}

/* The k-th child node index of collection n. */
#define TD__YKID(doc, n, k) ((doc)->kids[(doc)->nodes[(n)].u.first + (k)])

/* Whether node i is a scalar (null, bool, number or string). */
static inline int td__yscalar(const struct td__ydoc *doc, uint32_t i)
{
	return doc->nodes[i].type < TD_Y_SEQ;
}

/*
 * Converts the subtree at node to a new cJSON item. Its keys and strings are not copied: they
 * point into doc->arena (cJSON_StringIsConst keys, cJSON_IsReference strings, which
 * cJSON_Delete leaves alone), so the arena must outlive the item - the loader hands it to the
 * graph. 10,000 tool schemas are 180,000 such strings: a malloc each took a third of loading
 * them, and 6 MB. *budget is decremented per node produced;
 * when it would reach zero, or nesting passes 2 * TD__YMAX_DEPTH through aliases, the
 * conversion stops with "alias expansion too large" in diag at `node`'s position (once: later
 * calls with an exhausted budget fail silently) and NULL is returned (also NULL on allocation
 * failure, with *oom set).
 */
struct cJSON *td__ydoc_json(const struct td__ydoc *doc, uint32_t node, size_t *budget,
                            const char *file, struct td_diag *diag, int *oom);

/*
 * Where td__ydoc_json_pooled() takes its items: chunks of the document's arena, growing to
 * 8 MiB (huge pages asked for), instead of a malloc per item. 10,000 tool schemas are 170,000
 * items: one by one they took 14 MB of malloc'd memory and 3,300 first-touch page faults,
 * which cost more than building them on the VMs we measured. Zero-initialise; nothing to free
 * (the arena owns the chunks).
 */
struct td__jpool {
	struct td__arena *arena;
	struct cJSON *next;
	size_t left, chunk;
};

/*
 * td__ydoc_json() with the items from pool, for JSON that lives as long as the document's
 * arena and is only read: never pass the result (or a part of it) to cJSON_Delete, nor add it
 * to a tree that will be deleted; cJSON_Duplicate() makes an ordinary copy.
 */
struct cJSON *td__ydoc_json_pooled(struct td__ydoc *doc, struct td__jpool *pool, uint32_t node,
                                   size_t *budget, const char *file, struct td_diag *diag,
                                   int *oom);

/*
 * Diagnostic messages are one line: replaces control characters (a newline in a quoted key,
 * say) in the message of the item added since diag held `before` items.
 */
void td__ydiag_one_line(struct td_diag *diag, size_t before);

#endif /* TD_YTREE_H */

/* SPDX-License-Identifier: MIT */
/*
 * decode_int.h - what the call decoder's files share (internal): the decoding context, the
 * checks on the JSON text (json_text.c), the shapes calls come in (decode.c) and
 * conversations (conversation.c).
 */
#ifndef TD_DECODE_INT_H
#define TD_DECODE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "calls/batch.h"

/* Calls are numbered from 1 in messages, in the order they appear in the input. */
struct pending {
	uint32_t call;     /* batch index */
	uint32_t ordinal;  /* 1-based number of the call in the input */
	const cJSON *deps; /* the call's depends_on, or NULL when copied to dctx.dep_ids */
	size_t dep_off; /* with deps NULL: ndeps NUL-terminated ids from dep_ids.data + dep_off */
	uint32_t ndeps;
};

struct dctx {
	struct td_batch *b;
	struct td_diag *diag;
	const char *name;          /* input name for diagnostics */
	unsigned line;             /* position for every item (graph calls), 0 for JSON input */
	const struct td__pos *pos; /* the graph's calls: where each one is (npos of them) */
	size_t npos;
	int err;           /* first batch-level error */
	uint32_t *ordinal; /* [batch index] -> 1-based input call number */
	size_t ord_cap;
	struct pending *pend;
	size_t npend, pend_cap;
	size_t suggestions; /* did-you-mean searches done for unknown depends_on ids */
	size_t values;      /* JSON values still allowed (MAX_JSON_VALUES at first) */
	/* Call by call (decode_each): the element trees are gone by the time edges are added, so
	 * depends_on ids are copied here. Batch-level problems only set err there (diag is NULL):
	 * the whole-tree pass that follows words them. */
	bool each;
	struct td__buf dep_ids;
	bool allow_none; /* a conversation with no call left to run decodes to an empty batch */
};

/*
 * JSON values one batch may parse into, counting those inside OpenAI `arguments` strings.
 * cJSON spends about 80 bytes per value, so a 256 MiB batch of "[0,0,0,..." would be 10 GB;
 * this keeps the parse tree near 1.3 GB at worst, while a million ordinary calls (6 to 10
 * values each) fit.
 */
#define MAX_JSON_VALUES (1u << 24)

/* ---- the JSON text (json_text.c) ---- */

struct scan {
	size_t deep_at; /* offset of the bracket past cJSON's nesting limit, or len */
	size_t depth;   /* brackets still open at the end */
	bool in_string; /* the text ends inside a string */
};

/*
 * cJSON fails without saying why. A bracket count tells the two failures worth naming apart:
 * its nesting limit (the text there is valid) and a text that simply stops too early.
 */
void td__json_scan(const char *s, size_t len, struct scan *sc);
/* "unexpected end of input" or "error near 'snippet'" for the text at off. */
void td__json_describe_at(const char *s, size_t len, size_t off, char *buf, size_t buflen);
/* A syntax error at off (what: the message, or NULL to describe the text there). */
int td__json_syntax_error(struct dctx *d, const char *s, size_t len, size_t off, const char *what);
/*
 * The offset of the first byte a batch must not hold (not UTF-8, NUL, \u0000; *what says
 * which), or len; *values gets a bound on the JSON values the text parses into.
 */
size_t td__json_first_unfit(const char *s, size_t len, const char **what, size_t *values);
/* Reports what td__json_first_unfit() finds, or a text over the value budget; 0 if fine. */
int td__json_unfit_text(struct dctx *d, const char *s, size_t len);
/* Whether s holds only whitespace from *first on (*first moved past it). */
bool td__json_only_space(const char *s, size_t len, size_t *first);
/* Parses the whole text as one JSON value, or reports where it stops being JSON. */
int td__json_parse(struct dctx *d, const char *s, size_t len, cJSON **root);

/* ---- shapes and calls (decode.c) ---- */

extern const char *const td__dialect_calls[];
extern const char *const td__dialect_shapes[];

/* A batch-level problem; ord is the 1-based input call it is about, or 0. */
void td__decode_error(struct dctx *d, uint32_t ord, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *td__str_member(const cJSON *o, const char *key);
bool td__str_is(const cJSON *o, const char *key, const char *want);
const cJSON *td__array_member(const cJSON *o, const char *key);
/* Which dialect's call an item is, or AUTO when it is not a call (text, reasoning...). */
enum td_dialect td__classify(const cJSON *item);
/* The first item's dialect other than AUTO, as `of` sees it, or AUTO. */
enum td_dialect td__first_dialect(const cJSON *arr, enum td_dialect (*of)(const cJSON *));
/* Adds the calls among items (other items are skipped), all of dialect dl. */
int td__add_calls(struct dctx *d, const cJSON *items, enum td_dialect dl);

/* ---- conversations (conversation.c) ---- */

/* td__convo_decode(): root is not a conversation (decode it as calls) */
#define TD__NOT_CONVERSATION 1
/*
 * Decodes a conversation (a messages or input list, or a request body holding one): adds the
 * pending calls of its last assistant turn to d->b and records those already answered.
 * Returns 0, TD__NOT_CONVERSATION, TD_EBATCH (said in the diag) or TD_ENOMEM.
 */
int td__convo_decode(struct dctx *d, const cJSON *root, enum td_dialect want);
/* An item only a conversation holds (a user or tool message, a function_call_output). */
bool td__convo_marker(const cJSON *item);
/* What root is, for "no tool calls found in ...": "a user message", "an array of 3 items". */
void td__describe_input(const cJSON *root, char *buf, size_t len);

#endif /* TD_DECODE_INT_H */

/* SPDX-License-Identifier: MIT */
/*
 * ytree.c - libyaml events -> a tree of nodes (see ytree.h). The only file that includes
 * yaml.h. Duplicate keys and `<<` merges are handled here, once, as each mapping closes, so
 * that everything downstream sees plain mappings with unique keys.
 */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "load/ytree.h"

/* An open collection: its children sit on the builder's stack from `base` up. */
struct frame {
	uint32_t node;
	size_t base;
	char *anchor; /* registered when the collection closes, so it can't contain itself */
	bool tools;   /* the top-level `tools:` mapping: duplicates are duplicate tools */
};

struct builder {
	struct td__ydoc *doc;
	const char *file;
	struct td_diag *diag;
	uint32_t *stack; /* children of the open collections */
	size_t nstack, capstack;
	struct frame frames[TD__YMAX_DEPTH];
	size_t depth;
	struct td__strmap anchors; /* name -> index into anchor_node */
	uint32_t *anchor_node;
	size_t nanchors, capanchors;
	size_t ndocs;
	/* scalar text goes here while it lasts (a block of the doc's arena), then to the arena */
	char *text;
	size_t text_left;
	int err;  /* fatal: stop parsing */
	int soft; /* TD_EGRAPH problem found; keep going to report more */
};

static void soft_error(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void soft_error(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	size_t before = b->diag ? b->diag->count : 0;

	va_start(ap, fmt);
	td__diag_vadd(b->diag, TD_EGRAPH, b->file, line, col, fmt, ap);
	va_end(ap);
	td__ydiag_one_line(b->diag, before);
	b->soft = TD_EGRAPH;
}

void td__ydiag_one_line(struct td_diag *diag, size_t before)
{
	char *p;

	if (!diag || diag->count <= before)
		return;
	for (p = diag->items[diag->count - 1].message; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

static void fatal(struct builder *b, int err, unsigned line, unsigned col, const char *msg)
{
	if (err != -ENOMEM)
		td__diag_add(b->diag, err, b->file, line, col, "%s", msg);
	else
		td__diag_add(b->diag, err, b->file, 0, 0, "out of memory");
	b->err = err;
}

/* ---- positions and UTF-8 ---- */

/* 1-based line and column (in characters, as libyaml counts) of byte offset off. */
static void offset_position(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* Offset of the first byte that does not start a valid UTF-8 sequence, or len. */
static size_t first_bad_utf8(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) { /* most graph files are ASCII: no call per byte */
			i++;
			continue;
		}
		if (p[i] >= 0xc0 && p[i] < 0xe0)
			n = 2;
		else if (p[i] >= 0xe0 && p[i] < 0xf0)
			n = 3;
		else if (p[i] >= 0xf0 && p[i] < 0xf8)
			n = 4;
		else
			return i;
		if (n > len - i || !td__valid_utf8(buf + i, n))
			return i;
		i += n;
	}
	return len;
}

/* ---- nodes ---- */

static uint32_t new_node(struct builder *b, uint8_t type, const yaml_mark_t *mark)
{
	struct td__ydoc *d = b->doc;
	struct td__ynode *n;

	if (d->nnodes >= TD__YMAX_NODES) {
		td__diag_add(b->diag, TD_EGRAPH, b->file, (unsigned)mark->line + 1,
		             (unsigned)mark->column + 1,
		             "document too large: more than %u YAML nodes", TD__YMAX_NODES);
		b->err = TD_EGRAPH;
		return TD__YNONE;
	}
	if (d->nnodes == d->capnodes) {
		size_t cap = d->capnodes ? d->capnodes * 2 : 64;
		struct td__ynode *p = td__reallocarray(d->nodes, cap, sizeof(*p));

		if (!p) {
			fatal(b, -ENOMEM, 0, 0, NULL);
			return TD__YNONE;
		}
		d->nodes = p;
		d->capnodes = cap;
	}
	n = &d->nodes[d->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = (unsigned)mark->line + 1;
	n->column = (unsigned)mark->column + 1;
	return (uint32_t)d->nnodes++;
}

static int push_u32(struct builder *b, uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		uint32_t *p = td__reallocarray(*arr, c, sizeof(*p));

		if (!p) {
			fatal(b, -ENOMEM, 0, 0, NULL);
			return -ENOMEM;
		}
		*arr = p;
		*cap = c;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

static int push_kid(struct builder *b, uint32_t v)
{
	struct td__ydoc *d = b->doc;

	if (d->nkids >= TD__YMAX_KIDS) {
		fatal(b, TD_EGRAPH, d->nodes[v].line, d->nodes[v].column,
		      "alias expansion too large");
		return TD_EGRAPH;
	}
	return push_u32(b, &d->kids, &d->nkids, &d->capkids, v);
}

/* A finished node goes to its parent's children, or becomes the document's root. */
static void attach(struct builder *b, uint32_t node)
{
	if (b->depth == 0)
		b->doc->root = node;
	else
		push_u32(b, &b->stack, &b->nstack, &b->capstack, node);
}

static void register_anchor(struct builder *b, const char *name, uint32_t node)
{
	uint32_t slot;
	char *key;

	if (!name)
		return;
	/* YAML lets an anchor be redefined; later aliases see the latest definition */
	if (td__strmap_get(&b->anchors, name, &slot)) {
		b->anchor_node[slot] = node;
		return;
	}
	key = td__arena_strdup(&b->doc->arena, name);
	slot = (uint32_t)b->nanchors;
	if (!key || push_u32(b, &b->anchor_node, &b->nanchors, &b->capanchors, node) ||
	    td__strmap_put(&b->anchors, key, slot, NULL) < 0)
		fatal(b, -ENOMEM, 0, 0, NULL);
}

/* ---- scalars: YAML 1.2 core schema ---- */

static bool is_one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, or 0o / 0x integers */
static bool is_number(const char *s)
{
	size_t digits = 0;

	if (s[0] == '0' && s[1] == 'o')
		return all_digits(s + 2, "01234567");
	if (s[0] == '0' && s[1] == 'x')
		return all_digits(s + 2, "0123456789abcdefABCDEF");
	if (*s == '-' || *s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!all_digits(s, "0123456789"))
			return false;
		return true;
	}
	return *s == '\0';
}

static uint8_t resolve_scalar(const yaml_event_t *ev, const char *s, uint8_t *boolean)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	const char *tag = (const char *)ev->data.scalar.tag;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return TD_Y_STRING;
	if (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0))
		return TD_Y_STRING;
	/* most scalars are words: look at the first character before comparing */
	if (strchr("~nN", s[0]) && is_one_of(s, nulls))
		return TD_Y_NULL;
	if (strchr("tTfF", s[0]) && (is_one_of(s, trues) || is_one_of(s, falses))) {
		*boolean = is_one_of(s, trues);
		return TD_Y_BOOL;
	}
	return strchr("+-.0123456789", s[0]) && is_number(s) ? TD_Y_NUMBER : TD_Y_STRING;
}

/* A NUL-terminated copy of a scalar's text, owned by the document. */
static char *copy_text(struct builder *b, const char *text, size_t len)
{
	char *copy;

	if (len >= b->text_left)
		return td__arena_strndup(&b->doc->arena, text, len);
	copy = b->text;
	memcpy(copy, text, len);
	copy[len] = '\0';
	b->text += len + 1;
	b->text_left -= len + 1;
	return copy;
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	uint32_t i;
	struct td__ynode *n;
	char *copy = copy_text(b, text, len);

	if (!copy) {
		fatal(b, -ENOMEM, 0, 0, NULL);
		return;
	}
	/* "\0" in a double-quoted scalar: every C string downstream would end there silently
	 * ("/bin/echo\0x" would run /bin/echo, two keys "a\0x" and "a\0y" would collide) */
	if (memchr(text, '\0', len))
		soft_error(b, (unsigned)ev->start_mark.line + 1,
		           (unsigned)ev->start_mark.column + 1,
		           "a NUL character (\\0) in a value: graph files cannot hold NUL");
	i = new_node(b, TD_Y_STRING, &ev->start_mark);
	if (i == TD__YNONE)
		return;
	n = &b->doc->nodes[i];
	n->u.str = copy;
	n->len = (uint32_t)len;
	n->type = resolve_scalar(ev, copy, &n->boolean);
	register_anchor(b, (const char *)ev->data.scalar.anchor, i);
	attach(b, i);
}

static void on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	uint32_t slot, i;

	if (td__strmap_get(&b->anchors, name, &slot)) {
		attach(b, b->anchor_node[slot]);
		return;
	}
	soft_error(b, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
	           "unknown alias '*%s' (an alias must follow its complete &%s node)", name, name);
	/* stand in a null so the mapping keeps its key/value pairing */
	i = new_node(b, TD_Y_NULL, &ev->start_mark);
	if (i != TD__YNONE) {
		b->doc->nodes[i].u.str = "";
		b->doc->nodes[i].stand_in = 1;
		attach(b, i);
	}
}

/* ---- collections ---- */

static bool pending_key_is(const struct builder *b, const char *word)
{
	const struct frame *f = &b->frames[b->depth - 1];
	const struct td__ynode *k;

	if (b->doc->nodes[f->node].type != TD_Y_MAP || (b->nstack - f->base) % 2 == 0)
		return false;
	k = &b->doc->nodes[b->stack[b->nstack - 1]];
	return k->type < TD_Y_SEQ && strcmp(k->u.str, word) == 0;
}

static void on_start(struct builder *b, const yaml_event_t *ev, uint8_t type,
                     const yaml_char_t *anchor)
{
	struct frame *f;
	uint32_t i;

	if (b->depth >= TD__YMAX_DEPTH) {
		td__diag_add(b->diag, TD_EGRAPH, b->file, (unsigned)ev->start_mark.line + 1,
		             (unsigned)ev->start_mark.column + 1, "nesting deeper than %u levels",
		             TD__YMAX_DEPTH);
		b->err = TD_EGRAPH;
		return;
	}
	i = new_node(b, type, &ev->start_mark);
	if (i == TD__YNONE)
		return;
	f = &b->frames[b->depth];
	memset(f, 0, sizeof(*f));
	f->node = i;
	f->base = b->nstack;
	f->tools = type == TD_Y_MAP && b->depth == 1 && pending_key_is(b, "tools");
	if (anchor && !(f->anchor = td__arena_strdup(&b->doc->arena, (const char *)anchor))) {
		fatal(b, -ENOMEM, 0, 0, NULL);
		return;
	}
	b->depth++;
}

/* Copies the children of the innermost frame into doc->kids, in order. */
static void close_seq(struct builder *b, struct frame *f)
{
	struct td__ynode *n = &b->doc->nodes[f->node];
	size_t k;

	n->u.first = (uint32_t)b->doc->nkids;
	for (k = f->base; k < b->nstack && !b->err; k++)
		push_kid(b, b->stack[k]);
	b->doc->nodes[f->node].len = (uint32_t)(b->doc->nkids - b->doc->nodes[f->node].u.first);
}

/* Keys already placed in the mapping being closed: linear for small maps, hashed for big. */
struct seen {
	struct td__strmap map;
	size_t start; /* first kid of the mapping */
};

#define SEEN_LINEAR 16

static uint32_t seen_find(const struct builder *b, const struct seen *s, const char *key)
{
	const struct td__ydoc *d = b->doc;
	uint32_t v;
	size_t k;

	if (s->map.cap)
		return td__strmap_get(&s->map, key, &v) ? v : TD__YNONE;
	for (k = s->start; k < d->nkids; k += 2)
		if (strcmp(d->nodes[d->kids[k]].u.str, key) == 0)
			return d->kids[k];
	return TD__YNONE;
}

/* Appends the pair unless its key is present; returns the earlier key node, or TD__YNONE. */
static uint32_t seen_add(struct builder *b, struct seen *s, uint32_t key, uint32_t val)
{
	struct td__ydoc *d = b->doc;
	uint32_t old = seen_find(b, s, d->nodes[key].u.str);
	size_t k;

	if (old != TD__YNONE)
		return old;
	if (!s->map.cap && (d->nkids - s->start) / 2 >= SEEN_LINEAR) {
		for (k = s->start; k < d->nkids; k += 2)
			if (td__strmap_put(&s->map, d->nodes[d->kids[k]].u.str, d->kids[k], NULL) <
			    0)
				fatal(b, -ENOMEM, 0, 0, NULL);
	}
	if (s->map.cap && td__strmap_put(&s->map, d->nodes[key].u.str, key, NULL) < 0)
		fatal(b, -ENOMEM, 0, 0, NULL);
	if (!push_kid(b, key))
		push_kid(b, val);
	return TD__YNONE;
}

/* `<<: *base` or `<<: [*a, *b]`: pairs of those mappings whose keys are not yet present. */
static void merge_from(struct builder *b, struct seen *s, uint32_t src, uint32_t at)
{
	struct td__ydoc *d = b->doc;
	uint32_t k, n;

	if (d->nodes[src].type == TD_Y_SEQ) {
		n = d->nodes[src].len;
		for (k = 0; k < n && !b->err; k++)
			merge_from(b, s, TD__YKID(d, src, k), at);
		return;
	}
	if (d->nodes[src].type != TD_Y_MAP) {
		soft_error(b, d->nodes[at].line, d->nodes[at].column,
		           "'<<' must merge a mapping or a list of mappings");
		return;
	}
	n = d->nodes[src].len;
	for (k = 0; k + 1 < n && !b->err; k += 2)
		seen_add(b, s, TD__YKID(d, src, k), TD__YKID(d, src, k + 1));
}

static void place_pair(struct builder *b, struct seen *s, const struct frame *f, uint32_t key,
                       uint32_t val)
{
	const struct td__ynode *kn = &b->doc->nodes[key];
	uint32_t old;

	if (kn->type >= TD_Y_SEQ) {
		soft_error(b, kn->line, kn->column, "a mapping key must be a plain value, got %s",
		           kn->type == TD_Y_SEQ ? "a list" : "a mapping");
		return;
	}
	old = seen_add(b, s, key, val);
	if (old == TD__YNONE)
		return;
	if (f->tools)
		soft_error(b, kn->line, kn->column, "duplicate tool '%s' (first declared at %u:%u)",
		           kn->u.str, b->doc->nodes[old].line, b->doc->nodes[old].column);
	else
		soft_error(b, kn->line, kn->column, "duplicate key '%s' (first at %u:%u)",
		           kn->u.str, b->doc->nodes[old].line, b->doc->nodes[old].column);
}

static bool is_merge_key(const struct td__ynode *k)
{
	return k->type == TD_Y_STRING && strcmp(k->u.str, "<<") == 0;
}

/*
 * Explicit keys first (a duplicate is reported and dropped, the first one wins), then merged
 * keys in the order the merges appear, each only if no earlier key has it.
 */
static void close_map(struct builder *b, struct frame *f)
{
	struct td__ydoc *d = b->doc;
	struct seen s = {.start = d->nkids};
	size_t k;

	for (k = f->base; k + 1 < b->nstack && !b->err; k += 2)
		if (!is_merge_key(&d->nodes[b->stack[k]]))
			place_pair(b, &s, f, b->stack[k], b->stack[k + 1]);
	for (k = f->base; k + 1 < b->nstack && !b->err; k += 2)
		if (is_merge_key(&d->nodes[b->stack[k]]))
			merge_from(b, &s, b->stack[k + 1], b->stack[k]);
	td__strmap_free(&s.map);
	d->nodes[f->node].u.first = (uint32_t)s.start;
	d->nodes[f->node].len = (uint32_t)(d->nkids - s.start);
}

static void on_end(struct builder *b)
{
	struct frame *f = &b->frames[b->depth - 1];

	if (b->doc->nodes[f->node].type == TD_Y_MAP)
		close_map(b, f);
	else
		close_seq(b, f);
	if (b->err)
		return;
	b->nstack = f->base;
	b->depth--;
	register_anchor(b, f->anchor, f->node);
	attach(b, f->node);
}

/*
 * Room for about one node per 8 bytes of text, so that growing by realloc (and copying) is
 * rare; pages untouched by a small document cost nothing. Huge pages asked for: the node
 * array of 10,000 tools is ~11 MB, 2,800 first-touch faults at 4 KiB. A failure here is not an
 * error: the arrays simply grow as they go.
 */
static void reserve(struct builder *b, size_t len)
{
	size_t n = len / 8 + 64, nkids = n, text;

	/* a big document's kids array is made big enough (in address space only) that huge
	 * pages can back it: 2 MB at 4 MB of text, 500 first-touch faults otherwise */
	if (len >= (1u << 20) && nkids * sizeof(*b->doc->kids) < (4u << 20) + 4096)
		nkids = ((4u << 20) + 4096) / sizeof(*b->doc->kids);

	if (n > TD__YMAX_NODES)
		n = TD__YMAX_NODES;
	b->doc->nodes = td__reallocarray(NULL, n, sizeof(*b->doc->nodes));
	b->doc->capnodes = b->doc->nodes ? n : 0;
	b->doc->kids = td__reallocarray(NULL, nkids, sizeof(*b->doc->kids));
	b->doc->capkids = b->doc->kids ? nkids : 0;
	td__huge_pages(b->doc->nodes, b->doc->capnodes * sizeof(*b->doc->nodes));
	td__huge_pages(b->doc->kids, b->doc->capkids * sizeof(*b->doc->kids));
	/* the scalars' text in one block, so a big one gets huge pages too (3 MB and 750
	 * faults for 10,000 tools): their copies take about the length of the text */
	text = (len + (4u << 20)) & ~(size_t)((2u << 20) - 1); /* as read_all() in load.c */
	if (len >= (1u << 20) && (b->text = td__arena_alloc(&b->doc->arena, text))) {
		b->text_left = text;
		td__huge_pages(b->text, text);
	}
}

/* ---- the event loop ---- */

static void syntax_error(struct builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned line, col;

	if (p->error == YAML_MEMORY_ERROR) {
		fatal(b, -ENOMEM, 0, 0, NULL);
		return;
	}
	b->err = TD_ESYNTAX;
	if (p->error == YAML_READER_ERROR) {
		offset_position(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			td__diag_add(b->diag, TD_ESYNTAX, b->file, line, col, "%s (byte 0x%02x)",
			             p->problem, (unsigned)p->problem_value & 0xff);
		else
			td__diag_add(b->diag, TD_ESYNTAX, b->file, line, col, "%s", p->problem);
		return;
	}
	line = (unsigned)p->problem_mark.line + 1;
	col = (unsigned)p->problem_mark.column + 1;
	if (p->context)
		td__diag_add(b->diag, TD_ESYNTAX, b->file, line, col, "%s (%s started at %u:%u)",
		             p->problem ? p->problem : "syntax error", p->context,
		             (unsigned)p->context_mark.line + 1,
		             (unsigned)p->context_mark.column + 1);
	else
		td__diag_add(b->diag, TD_ESYNTAX, b->file, line, col, "%s",
		             p->problem ? p->problem : "syntax error");
}

/* Returns 1 when the stream is over. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++ == 0)
			break;
		td__diag_add(b->diag, TD_EGRAPH, b->file, (unsigned)ev->start_mark.line + 1,
		             (unsigned)ev->start_mark.column + 1,
		             "a graph file holds one YAML document; a second one starts here");
		b->err = TD_EGRAPH;
		return 1;
	case YAML_SCALAR_EVENT:
		on_scalar(b, ev);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_start(b, ev, TD_Y_SEQ, ev->data.sequence_start.anchor);
		break;
	case YAML_MAPPING_START_EVENT:
		on_start(b, ev, TD_Y_MAP, ev->data.mapping_start.anchor);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(b);
		break;
	default:
		break;
	}
	return 0;
}

int td__ydoc_parse(struct td__ydoc *doc, const char *buf, size_t len, const char *file,
                   struct td_diag *diag)
{
	struct builder b = {.doc = doc, .file = file, .diag = diag};
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t bad;
	unsigned line, col;
	int done = 0;

	doc->root = TD__YNONE;
	bad = first_bad_utf8(buf, len);
	if (bad < len) {
		offset_position(buf, len, bad, &line, &col);
		td__diag_add(diag, TD_ESYNTAX, file, line, col, "invalid UTF-8 (byte 0x%02x)",
		             (unsigned char)buf[bad]);
		return TD_ESYNTAX;
	}
	reserve(&b, len);
	if (!yaml_parser_initialize(&parser)) {
		td__diag_add(diag, -ENOMEM, file, 0, 0, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !b.err) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&b, &parser, buf, len);
			break;
		}
		done = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	td__free(b.stack);
	td__free(b.anchor_node);
	td__strmap_free(&b.anchors);
	if (b.err)
		doc->root = TD__YNONE;
	return b.err ? b.err : b.soft;
}

void td__ydoc_free(struct td__ydoc *doc)
{
	td__free(doc->nodes);
	td__free(doc->kids);
	td__arena_free(&doc->arena);
	memset(doc, 0, sizeof(*doc));
	doc->root = TD__YNONE;
}

/* ---- conversion to JSON ---- */

struct conv {
	const struct td__ydoc *doc;
	uint32_t root; /* where problems are reported: the value the user wrote, not a lol */
	size_t *budget;
	const char *file;
	struct td_diag *diag;
	int *oom;
	struct td__jpool *pool; /* NULL: items from cJSON's allocator */
};

static double scalar_number(const char *s)
{
	if (s[0] == '0' && s[1] == 'o')
		return (double)strtoull(s + 2, NULL, 8);
	if (s[0] == '0' && s[1] == 'x')
		return (double)strtoull(s + 2, NULL, 16);
	return strtod(s, NULL);
}

/* Largest pool chunk after the first, in items: 8 MiB, big enough for huge pages. */
#define POOL_CHUNK_MAX (131072u)

/*
 * A zeroed item from the pool, which takes a new chunk from the arena when empty. The first
 * has room for one item per node of the document (address space: only what is used gets
 * touched), so without aliases one chunk holds every schema and huge pages can back it; the
 * next ones double up to POOL_CHUNK_MAX.
 */
static cJSON *pool_item(struct td__jpool *pool, size_t nodes)
{
	size_t n = pool->chunk ? pool->chunk : nodes > 256 ? nodes : 256;

	if (!pool->left) {
		pool->next = td__arena_alloc(pool->arena, n * sizeof(cJSON));
		if (!pool->next &&
		    n > 256) /* a big first one is mostly address space: less will do */
			pool->next = td__arena_alloc(pool->arena, (n = 256) * sizeof(cJSON));
		if (!pool->next)
			return NULL;
		td__huge_pages(pool->next, n * sizeof(cJSON));
		pool->left = n;
		pool->chunk = n < POOL_CHUNK_MAX / 2 ? n * 2 : POOL_CHUNK_MAX;
	}
	pool->left--;
	memset(pool->next, 0, sizeof(cJSON));
	return pool->next++;
}

/* A new item of a type, as cJSON_Create* would make it (strings are references). */
static cJSON *new_item(struct conv *c, const struct td__ynode *n)
{
	cJSON *j;
	double d;

	if (!c->pool) {
		switch (n->type) {
		case TD_Y_NULL:
			return cJSON_CreateNull();
		case TD_Y_BOOL:
			return cJSON_CreateBool(n->boolean);
		case TD_Y_NUMBER:
			return cJSON_CreateNumber(scalar_number(n->u.str));
		case TD_Y_STRING:
			return cJSON_CreateStringReference(n->u.str);
		default:
			return n->type == TD_Y_MAP ? cJSON_CreateObject() : cJSON_CreateArray();
		}
	}
	if (!(j = pool_item(c->pool, c->doc->nnodes)))
		return NULL;
	switch (n->type) {
	case TD_Y_NULL:
		j->type = cJSON_NULL;
		break;
	case TD_Y_BOOL:
		j->type = n->boolean ? cJSON_True : cJSON_False;
		break;
	case TD_Y_NUMBER: /* valueint saturates, as cJSON_CreateNumber does */
		j->type = cJSON_Number;
		j->valuedouble = d = scalar_number(n->u.str);
		j->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
		break;
	case TD_Y_STRING:
		j->type = cJSON_String | cJSON_IsReference;
		j->valuestring = (char *)n->u.str;
		break;
	default:
		j->type = n->type == TD_Y_MAP ? cJSON_Object : cJSON_Array;
	}
	return j;
}

/*
 * Appends kid to out (under key for an object; the key borrowed, see td__ydoc_json). Pool
 * items are linked as cJSON_AddItemToObjectCS/cJSON_AddItemToArray link them - the first
 * child's prev is the last child - since cJSON's own functions may not be given them.
 */
static void add_kid(struct conv *c, cJSON *out, const char *key, cJSON *kid)
{
	cJSON *first = out->child;

	if (!c->pool) {
		if (key)
			cJSON_AddItemToObjectCS(out, key, kid);
		else
			cJSON_AddItemToArray(out, kid);
		return;
	}
	if (key) {
		kid->string = (char *)key;
		kid->type |= cJSON_StringIsConst;
	}
	if (!first) {
		out->child = kid;
		kid->prev = kid;
		return;
	}
	first->prev->next = kid;
	kid->prev = first->prev;
	first->prev = kid;
}

static cJSON *conv_node(struct conv *c, uint32_t i, unsigned depth);

static cJSON *conv_children(struct conv *c, uint32_t i, unsigned depth)
{
	const struct td__ynode *n = &c->doc->nodes[i];
	bool map = n->type == TD_Y_MAP;
	cJSON *out = new_item(c, n), *kid;
	uint32_t k;

	if (!out) {
		*c->oom = 1;
		return NULL;
	}
	for (k = 0; k < n->len; k += map ? 2 : 1) {
		kid = conv_node(c, TD__YKID(c->doc, i, k + (map ? 1 : 0)), depth + 1);
		if (!kid) {
			if (!c->pool) /* pool items go with the arena */
				cJSON_Delete(out);
			return NULL;
		}
		add_kid(c, out, map ? c->doc->nodes[TD__YKID(c->doc, i, k)].u.str : NULL, kid);
	}
	return out;
}

static cJSON *conv_node(struct conv *c, uint32_t i, unsigned depth)
{
	const struct td__ynode *n = &c->doc->nodes[i];
	cJSON *out;

	if (*c->budget == 0)
		return NULL; /* already reported */
	if (--*c->budget == 0 || depth > 2 * TD__YMAX_DEPTH) {
		*c->budget = 0;
		td__diag_add(c->diag, TD_EGRAPH, c->file, c->doc->nodes[c->root].line,
		             c->doc->nodes[c->root].column, "alias expansion too large");
		return NULL;
	}
	if (n->type >= TD_Y_SEQ)
		return conv_children(c, i, depth);
	if (!(out = new_item(c, n)))
		*c->oom = 1;
	return out;
}

struct cJSON *td__ydoc_json(const struct td__ydoc *doc, uint32_t node, size_t *budget,
                            const char *file, struct td_diag *diag, int *oom)
{
	struct conv c = {doc, node, budget, file, diag, oom, NULL};

	return conv_node(&c, node, 0);
}

struct cJSON *td__ydoc_json_pooled(struct td__ydoc *doc, struct td__jpool *pool, uint32_t node,
                                   size_t *budget, const char *file, struct td_diag *diag, int *oom)
{
	struct conv c = {doc, node, budget, file, diag, oom, pool};

	pool->arena = &doc->arena;
	return conv_node(&c, node, 0);
}

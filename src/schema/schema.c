/* SPDX-License-Identifier: MIT */
/*
 * schema.c - the JSON Schema subset tool inputs are validated against (see schema.h), and the
 * load-time check of a schema itself. The first violation wins; its message names the JSON
 * path ("input.tags[2]") so the model can correct the one argument that was wrong.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "schema/schema.h"
#include "util/util.h"

/* Schemas nest with the input; a hostile schema or input must not exhaust the stack. */
#define SCHEMA_MAX_DEPTH 128
#define PATH_MAX_LEN     256

struct vctx {
	char *err;
	size_t errlen;
	char path[PATH_MAX_LEN];
	size_t pathlen;
};

static const char *const type_names[] = {"null",   "boolean", "object", "array",
                                         "number", "integer", "string"};

/* ---- paths ---- */

static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
			return false;
	return true;
}

/* Appends ".key", "[\"odd key\"]" or "[N]" to the path; returns the old length to restore. */
static size_t path_push(char *path, size_t *len, const char *key, int index)
{
	size_t old = *len;
	int n;

	if (key && plain_key(key))
		n = snprintf(path + old, PATH_MAX_LEN - old, ".%s", key);
	else if (key)
		n = snprintf(path + old, PATH_MAX_LEN - old, "[\"%.64s\"]", key);
	else
		n = snprintf(path + old, PATH_MAX_LEN - old, "[%d]", index);
	if (n > 0)
		*len = old + (size_t)n < PATH_MAX_LEN ? old + (size_t)n : PATH_MAX_LEN - 1;
	return old;
}

static int fail(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct vctx *v, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(v->err, v->errlen, "%s: %s", v->path, msg);
	return TD_EINVAL;
}

/* ---- values ---- */

const char *td__json_type(const cJSON *x, bool article)
{
	static const char *const names[][2] = {{"null", "null"},        {"boolean", "a boolean"},
	                                       {"object", "an object"}, {"array", "an array"},
	                                       {"number", "a number"},  {"string", "a string"}};
	int i = cJSON_IsNull(x)     ? 0
	        : cJSON_IsBool(x)   ? 1
	        : cJSON_IsObject(x) ? 2
	        : cJSON_IsArray(x)  ? 3
	        : cJSON_IsNumber(x) ? 4
	                            : 5;

	return names[i][article];
}

static const char *json_type(const cJSON *x)
{
	return td__json_type(x, false);
}

static bool is_integer(const cJSON *x)
{
	return cJSON_IsNumber(x) && isfinite(x->valuedouble) &&
	       floor(x->valuedouble) == x->valuedouble;
}

static bool has_type(const cJSON *x, const char *type)
{
	if (strcmp(type, "integer") == 0)
		return is_integer(x);
	return strcmp(type, json_type(x)) == 0;
}

static void fmt_number(double d, char *buf, size_t len)
{
	if (floor(d) == d && fabs(d) < 1e15)
		snprintf(buf, len, "%.0f", d);
	else
		snprintf(buf, len, "%.15g", d);
}

/* A value for a message: 'text' for strings, compact JSON (shortened) for the rest. */
static void fmt_value(const cJSON *x, char *buf, size_t len)
{
	char *text;

	if (cJSON_IsString(x)) {
		snprintf(buf, len, "'%.60s%s'", x->valuestring,
		         strlen(x->valuestring) > 60 ? "..." : "");
	} else if (cJSON_IsNumber(x)) {
		fmt_number(x->valuedouble, buf, len);
	} else {
		text = cJSON_PrintUnformatted(x);
		snprintf(buf, len, "%.60s%s", text ? text : "?",
		         text && strlen(text) > 60 ? "..." : "");
		cJSON_free(text);
	}
}

/* Number of code points (input strings are valid UTF-8: cJSON decoded them). */
static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* ---- validation ---- */

static int validate(struct vctx *v, const cJSON *schema, const cJSON *x, int depth);

static int check_type(struct vctx *v, const cJSON *type, const cJSON *x)
{
	const cJSON *t;
	char want[128] = "";
	size_t n = 0;

	if (cJSON_IsString(type))
		return has_type(x, type->valuestring)
		           ? 0
		           : fail(v, "expected %s, got %s", type->valuestring, json_type(x));
	if (!cJSON_IsArray(type))
		return 0;
	cJSON_ArrayForEach(t, type)
	{
		if (!cJSON_IsString(t))
			continue;
		if (has_type(x, t->valuestring))
			return 0;
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s", n ? " or " : "",
		                      t->valuestring);
		if (n >= sizeof(want))
			n = sizeof(want) - 1;
	}
	return n ? fail(v, "expected %s, got %s", want, json_type(x)) : 0;
}

static int check_enum(struct vctx *v, const cJSON *en, const cJSON *x)
{
	const cJSON *e;
	char list[256] = "", one[80], got[80];
	size_t n = 0;

	if (!cJSON_IsArray(en))
		return 0;
	cJSON_ArrayForEach(e, en)
	{
		if (cJSON_Compare(e, x, 1))
			return 0;
	}
	cJSON_ArrayForEach(e, en)
	{
		fmt_value(e, one, sizeof(one));
		if (n + strlen(one) + 8 >= sizeof(list)) {
			snprintf(list + n, sizeof(list) - n, ", ...");
			break;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", one);
	}
	fmt_value(x, got, sizeof(got));
	return fail(v, "%s is not one of %s", got, list);
}

static int check_const(struct vctx *v, const cJSON *c, const cJSON *x)
{
	char want[80], got[80];

	if (cJSON_Compare(c, x, 1))
		return 0;
	fmt_value(c, want, sizeof(want));
	fmt_value(x, got, sizeof(got));
	return fail(v, "must be %s, got %s", want, got);
}

/* minLength/maxLength/minItems/maxItems/minimum/maximum: a number keyword, or absent. */
static bool num_kw(const cJSON *schema, const char *kw, double *out)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(schema, kw);

	if (!cJSON_IsNumber(k))
		return false;
	*out = k->valuedouble;
	return true;
}

static int check_string(struct vctx *v, const cJSON *schema, const cJSON *x)
{
	double lim, len;

	if (!cJSON_IsString(x))
		return 0;
	len = (double)utf8_length(x->valuestring);
	if (num_kw(schema, "minLength", &lim) && len < lim)
		return fail(v, "length %.0f is less than minLength %.0f", len, lim);
	if (num_kw(schema, "maxLength", &lim) && len > lim)
		return fail(v, "length %.0f is greater than maxLength %.0f", len, lim);
	return 0;
}

static int check_number(struct vctx *v, const cJSON *schema, const cJSON *x)
{
	char got[40], lim_s[40];
	double lim;

	if (!cJSON_IsNumber(x))
		return 0;
	fmt_number(x->valuedouble, got, sizeof(got));
	if (num_kw(schema, "minimum", &lim) && x->valuedouble < lim) {
		fmt_number(lim, lim_s, sizeof(lim_s));
		return fail(v, "%s is less than minimum %s", got, lim_s);
	}
	if (num_kw(schema, "maximum", &lim) && x->valuedouble > lim) {
		fmt_number(lim, lim_s, sizeof(lim_s));
		return fail(v, "%s is greater than maximum %s", got, lim_s);
	}
	return 0;
}

static int check_array(struct vctx *v, const cJSON *schema, const cJSON *x, int depth)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items"), *e;
	double lim, n;
	size_t old;
	int i = 0, r;

	if (!cJSON_IsArray(x))
		return 0;
	n = (double)cJSON_GetArraySize(x);
	if (num_kw(schema, "minItems", &lim) && n < lim)
		return fail(v, "%.0f items is less than minItems %.0f", n, lim);
	if (num_kw(schema, "maxItems", &lim) && n > lim)
		return fail(v, "%.0f items is greater than maxItems %.0f", n, lim);
	if (!items)
		return 0;
	cJSON_ArrayForEach(e, x)
	{
		old = path_push(v->path, &v->pathlen, NULL, i++);
		r = validate(v, items, e, depth + 1);
		v->path[v->pathlen = old] = '\0';
		if (r)
			return r;
	}
	return 0;
}

static int check_required(struct vctx *v, const cJSON *schema, const cJSON *x)
{
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required"), *r;

	if (!cJSON_IsArray(req))
		return 0;
	cJSON_ArrayForEach(r, req)
	{
		if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(x, r->valuestring))
			return fail(v, "missing required property '%s'", r->valuestring);
	}
	return 0;
}

/* One member of an object: its `properties` schema, else additionalProperties. */
static int check_member(struct vctx *v, const cJSON *schema, const cJSON *m, int depth)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
	const cJSON *extra = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
	const cJSON *sub =
	    cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
	size_t old;
	int r;

	if (!sub && cJSON_IsFalse(extra))
		return fail(v, "unexpected property '%s' (additionalProperties is false)",
		            m->string);
	if (!sub && cJSON_IsObject(extra))
		sub = extra;
	if (!sub)
		return 0;
	old = path_push(v->path, &v->pathlen, m->string, 0);
	r = validate(v, sub, m, depth + 1);
	v->path[v->pathlen = old] = '\0';
	return r;
}

static int check_object(struct vctx *v, const cJSON *schema, const cJSON *x, int depth)
{
	const cJSON *m;
	int r;

	if (!cJSON_IsObject(x))
		return 0;
	if ((r = check_required(v, schema, x)))
		return r;
	cJSON_ArrayForEach(m, x)
	{
		if ((r = check_member(v, schema, m, depth)))
			return r;
	}
	return 0;
}

static int validate(struct vctx *v, const cJSON *schema, const cJSON *x, int depth)
{
	const cJSON *k;
	int r;

	if (depth > SCHEMA_MAX_DEPTH)
		return fail(v, "nested deeper than %d levels", SCHEMA_MAX_DEPTH);
	if (cJSON_IsFalse(schema))
		return fail(v, "no value is allowed here (schema is false)");
	if (!cJSON_IsObject(schema))
		return 0; /* true, or a malformed schema the loader already reported */
	if ((k = cJSON_GetObjectItemCaseSensitive(schema, "type")) && (r = check_type(v, k, x)))
		return r;
	if ((k = cJSON_GetObjectItemCaseSensitive(schema, "const")) && (r = check_const(v, k, x)))
		return r;
	if ((k = cJSON_GetObjectItemCaseSensitive(schema, "enum")) && (r = check_enum(v, k, x)))
		return r;
	if ((r = check_string(v, schema, x)) || (r = check_number(v, schema, x)))
		return r;
	if ((r = check_array(v, schema, x, depth)))
		return r;
	return check_object(v, schema, x, depth);
}

int td__schema_validate(const struct cJSON *schema, const struct cJSON *input, char *err,
                        size_t errlen)
{
	/* An absent input is an empty object, as the model APIs treat it. */
	cJSON empty = {.type = cJSON_Object};
	struct vctx v = {.err = err, .errlen = errlen, .path = "input", .pathlen = 5};

	if (errlen)
		err[0] = '\0';
	if (!schema)
		return 0;
	return validate(&v, schema, input ? input : &empty, 0);
}

/* ---- checks independent of the schema ---- */

/* Objects up to this many members are searched for a repeated key by a scan. */
#define DUP_LINEAR 16

static const char *key_of(const cJSON *m)
{
	return m->string ? m->string : "";
}

const struct cJSON *td__json_dup_member(const struct cJSON *o, bool *oom)
{
	struct td__strmap seen = {0};
	const cJSON *m, *k, *dup = NULL;
	size_t n = 0;
	int r;

	*oom = false;
	for (m = o ? o->child : NULL; m && !dup && !*oom; m = m->next, n++) {
		if (n < DUP_LINEAR) {
			for (k = o->child; k != m && !dup; k = k->next)
				if (strcmp(key_of(k), key_of(m)) == 0)
					dup = m;
			continue;
		}
		if (n == DUP_LINEAR) /* a big object: the keys so far (all distinct) into a map */
			for (k = o->child; k != m && !*oom; k = k->next)
				*oom = td__strmap_put(&seen, key_of(k), 0, NULL) < 0;
		if (!*oom && (r = td__strmap_put(&seen, key_of(m), 0, NULL)) != 0) {
			*oom = r < 0;
			dup = r > 0 ? m : NULL;
		}
	}
	td__strmap_free(&seen);
	return *oom ? NULL : dup;
}

static int input_walk(struct vctx *v, const cJSON *x, int depth)
{
	const cJSON *m;
	bool oom;
	size_t old;
	int i = 0, r;

	if (cJSON_IsNumber(x) && !isfinite(x->valuedouble))
		return fail(v, "number out of range (a JSON number must fit a double, about "
		               "1.8e308 at most)");
	if (!cJSON_IsObject(x) && !cJSON_IsArray(x))
		return 0;
	/* cJSON's parser stops at this depth already; a tree built by hand might not */
	if (depth > CJSON_NESTING_LIMIT)
		return fail(v, "nested deeper than %d levels", CJSON_NESTING_LIMIT);
	if (cJSON_IsObject(x) && (m = td__json_dup_member(x, &oom)) != NULL)
		return fail(v, "key '%.64s%s' appears twice", key_of(m),
		            strlen(key_of(m)) > 64 ? "..." : "");
	if (cJSON_IsObject(x) && oom)
		return TD_ENOMEM;
	cJSON_ArrayForEach(m, x)
	{
		old = path_push(v->path, &v->pathlen, cJSON_IsObject(x) ? key_of(m) : NULL, i++);
		r = input_walk(v, m, depth + 1);
		v->path[v->pathlen = old] = '\0';
		if (r)
			return r;
	}
	return 0;
}

int td__input_check(const struct cJSON *input, char *err, size_t errlen)
{
	struct vctx v = {.err = err, .errlen = errlen, .path = "input", .pathlen = 5};

	if (errlen)
		err[0] = '\0';
	return input ? input_walk(&v, input, 0) : 0;
}

/* ---- load-time check of a schema ---- */

static int check_schema(struct vctx *v, const cJSON *s, int depth);

static int bad(struct vctx *v, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct vctx *v, const char *kw, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(v->err, v->errlen, "%s%s%s: %s", v->path, kw ? "." : "", kw ? kw : "", msg);
	return TD_EGRAPH;
}

static int check_type_name(struct vctx *v, const cJSON *t)
{
	const char *near;
	size_t i;

	/* `type: [string, null]` in YAML: the usual nullable idiom, but null there is a value */
	if (cJSON_IsNull(t))
		return bad(v, "type",
		           "holds a null value, not the type name (in YAML, quote it: 'null')");
	if (!cJSON_IsString(t))
		return bad(v, "type", "must be a type name or a list of them");
	for (i = 0; i < TD__ARRAY_SIZE(type_names); i++)
		if (strcmp(t->valuestring, type_names[i]) == 0)
			return 0;
	near = td__did_you_mean(t->valuestring, type_names, TD__ARRAY_SIZE(type_names));
	if (near)
		return bad(v, "type", "unknown type '%s' (did you mean '%s'?)", t->valuestring,
		           near);
	return bad(v, "type", "unknown type '%s'", t->valuestring);
}

static int check_type_kw(struct vctx *v, const cJSON *type)
{
	const cJSON *t;
	int r;

	if (!cJSON_IsArray(type))
		return check_type_name(v, type);
	cJSON_ArrayForEach(t, type)
	{
		if ((r = check_type_name(v, t)))
			return r;
	}
	return 0;
}

static int check_required_kw(struct vctx *v, const cJSON *req)
{
	const cJSON *r;

	if (!cJSON_IsArray(req))
		return bad(v, "required", "must be a list of property names");
	cJSON_ArrayForEach(r, req)
	{
		if (!cJSON_IsString(r))
			return bad(v, "required", "must be a list of property names");
	}
	return 0;
}

static int check_sub(struct vctx *v, const char *kw, const char *key, const cJSON *s, int depth)
{
	size_t old = path_push(v->path, &v->pathlen, kw, 0);
	int r;

	if (key)
		path_push(v->path, &v->pathlen, key, 0);
	r = check_schema(v, s, depth + 1);
	v->path[v->pathlen = old] = '\0';
	return r;
}

static int check_properties_kw(struct vctx *v, const cJSON *props, int depth)
{
	const cJSON *p;
	int r;

	if (!cJSON_IsObject(props))
		return bad(v, "properties", "must be a mapping of property names to schemas");
	cJSON_ArrayForEach(p, props)
	{
		if ((r = check_sub(v, "properties", p->string, p, depth)))
			return r;
	}
	return 0;
}

static int check_counts(struct vctx *v, const cJSON *s)
{
	static const char *const counts[] = {"minLength", "maxLength", "minItems", "maxItems"};
	static const char *const bounds[] = {"minimum", "maximum"};
	const cJSON *k;
	size_t i;

	for (i = 0; i < TD__ARRAY_SIZE(counts); i++) {
		k = cJSON_GetObjectItemCaseSensitive(s, counts[i]);
		if (k && !(is_integer(k) && k->valuedouble >= 0))
			return bad(v, counts[i], "must be a non-negative integer");
	}
	for (i = 0; i < TD__ARRAY_SIZE(bounds); i++) {
		k = cJSON_GetObjectItemCaseSensitive(s, bounds[i]);
		if (k && !cJSON_IsNumber(k))
			return bad(v, bounds[i], "must be a number");
	}
	return 0;
}

static int check_schema(struct vctx *v, const cJSON *s, int depth)
{
	const cJSON *k;
	int r;

	if (depth > SCHEMA_MAX_DEPTH)
		return bad(v, NULL, "nested deeper than %d levels", SCHEMA_MAX_DEPTH);
	if (cJSON_IsBool(s))
		return 0;
	if (!cJSON_IsObject(s))
		return bad(v, NULL, "a schema must be a mapping (or true/false)");
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "type")) && (r = check_type_kw(v, k)))
		return r;
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "required")) && (r = check_required_kw(v, k)))
		return r;
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "properties")) &&
	    (r = check_properties_kw(v, k, depth)))
		return r;
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "enum")) &&
	    (!cJSON_IsArray(k) || !cJSON_GetArraySize(k)))
		return bad(v, "enum",
		           cJSON_IsArray(k)
		               ? "is empty: no value could ever match (give at least one)"
		               : "must be a list of values");
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties")) && !cJSON_IsBool(k) &&
	    (r = check_sub(v, "additionalProperties", NULL, k, depth)))
		return r;
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "items")) &&
	    (r = check_sub(v, "items", NULL, k, depth)))
		return r;
	return check_counts(v, s);
}

int td__schema_check(const struct cJSON *schema, char *err, size_t errlen)
{
	struct vctx v = {.err = err, .errlen = errlen, .path = "input_schema", .pathlen = 12};
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(schema, "type");
	int r;

	if (errlen)
		err[0] = '\0';
	if ((r = check_schema(&v, schema, 0)))
		return r;
	/* a model's arguments are always a JSON object: the APIs refuse any other top level, and
	 * every call would fail against it */
	if (cJSON_IsString(t) && strcmp(t->valuestring, "object") != 0)
		return bad(
		    &v, "type",
		    "must be 'object' at the top: a model's arguments are a JSON object, got "
		    "'%s'",
		    t->valuestring);
	return 0;
}

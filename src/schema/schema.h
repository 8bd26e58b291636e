/* SPDX-License-Identifier: MIT */
/*
 * schema.h - the subset of JSON Schema that tool inputs are checked against: type (including
 * lists of types and "integer"), required, properties (recursively), enum, const,
 * additionalProperties (false or a schema), items, minLength/maxLength, minimum/maximum,
 * minItems/maxItems. Unknown keywords are ignored, as validators must.
 */
#ifndef TD_SCHEMA_H
#define TD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/*
 * 0 when input satisfies schema; otherwise TD_EINVAL and a one-line message naming the first
 * violation and where it is, e.g. "input.city: expected string, got number" or
 * "input: missing required property 'city'", written to err (always NUL-terminated).
 */
int td__schema_validate(const struct cJSON *schema, const struct cJSON *input, char *err,
                        size_t errlen);

/*
 * Load-time sanity check of a schema itself (an object; `type` names known types; `required`
 * a list of strings; `properties` an object of schemas...). 0, or TD_EGRAPH with a message.
 */
int td__schema_check(const struct cJSON *schema, char *err, size_t errlen);

/*
 * What every tool input must satisfy, whatever its schema (or none):
 *  - no object holds a key twice: cJSON keeps both members and its lookups (so the validator's
 *    `required` and `properties`) see the first, while the tool's own JSON parser may well take
 *    the last (Python, Go and jq do), so the value checked and the value used could differ;
 *  - every number is finite: cJSON reads 1e400 as infinity and writes it back as null, which
 *    would hand the tool a different input than the model wrote.
 * 0, TD_EINVAL with a message naming the place ("input.a: key 'x' appears twice"), or
 * TD_ENOMEM.
 */
int td__input_check(const struct cJSON *input, char *err, size_t errlen);

/* A JSON value's type as schemas name it ("number"), or with an article ("a number", "null"). */
const char *td__json_type(const struct cJSON *x, bool article);

/*
 * The first member of object o whose key an earlier member already has, or NULL (also on
 * allocation failure, with *oom set). Linear for small objects, hashed for large ones.
 */
const struct cJSON *td__json_dup_member(const struct cJSON *o, bool *oom);

#endif /* TD_SCHEMA_H */

/* SPDX-License-Identifier: MIT */
/*
 * schema.h - the subset of JSON Schema that tool inputs are checked against: type (including
 * lists of types and "integer"), required, properties (recursively), enum, const,
 * additionalProperties (false or a schema), items, minLength/maxLength, minimum/maximum,
 * minItems/maxItems. Unknown keywords are ignored, as validators must.
 */
#ifndef TD_SCHEMA_H
#define TD_SCHEMA_H

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

#endif /* TD_SCHEMA_H */

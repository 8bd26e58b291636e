/* SPDX-License-Identifier: MIT */
/*
 * http_query.h - the URL of one http: call (internal): the tool's URL, plus the call's input
 * as query parameters when the tool says `query: from_input`. No libcurl here, so the encoding
 * is testable on its own.
 */
#ifndef TD_HTTP_QUERY_H
#define TD_HTTP_QUERY_H

#include <stddef.h>

#include "util/util.h"

/*
 * Appends base, then "?" (or "&" when base has a query already) and the top-level fields of
 * the JSON object `input` as name=value pairs, percent-encoded (RFC 3986 unreserved kept):
 * strings as their text, numbers and booleans as JSON writes them, null left out, an array
 * as the name repeated for each element, an object as its JSON text. A fragment in base
 * stays last. Returns 0, -EINVAL when input is not a JSON object, TD_ENOMEM.
 */
int td__http_query_url(struct td__buf *out, const char *base, const char *input, size_t len);

#endif /* TD_HTTP_QUERY_H */

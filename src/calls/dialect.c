/* SPDX-License-Identifier: MIT */
/*
 * dialect.c - the names of the call dialects, as options and messages spell them.
 */
#include <string.h>

#include "util/util.h"

static const char *const dialect_names[] = {
    [TD_DIALECT_AUTO] = "auto",
    [TD_DIALECT_ANTHROPIC] = "anthropic",
    [TD_DIALECT_OPENAI] = "openai",
    [TD_DIALECT_RESPONSES] = "responses",
};

const char *td_dialect_name(enum td_dialect dialect)
{
	if ((unsigned)dialect >= TD__ARRAY_SIZE(dialect_names))
		return "unknown";
	return dialect_names[dialect];
}

int td_dialect_parse(const char *name, enum td_dialect *out)
{
	size_t i;

	for (i = 0; name && i < TD__ARRAY_SIZE(dialect_names); i++) {
		if (strcmp(name, dialect_names[i]) == 0) {
			if (out)
				*out = (enum td_dialect)i;
			return 0;
		}
	}
	return TD_EINVAL;
}

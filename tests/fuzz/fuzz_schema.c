/* SPDX-License-Identifier: MIT */
/*
 * fuzz_schema.c - libFuzzer target: the JSON-schema input validator and the checks every input
 * gets whatever its schema (td__input_check). The input is split at the first newline into a
 * schema and an instance, both JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "schema/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *sep = memchr(p, '\n', size);
	cJSON *schema, *input;
	char err[256];

	if (!sep)
		return 0;
	schema = cJSON_ParseWithLength(p, (size_t)(sep - p));
	input = cJSON_ParseWithLength(sep + 1, size - (size_t)(sep - p) - 1);
	if (input && td__input_check(input, err, sizeof(err)) != 0 &&
	    memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (schema && td__schema_check(schema, err, sizeof(err)) == 0 && input) {
		err[0] = 'x';
		if (td__schema_validate(schema, input, err, sizeof(err)) != 0 &&
		    memchr(err, '\0', sizeof(err)) == NULL)
			abort();
	}
	cJSON_Delete(schema);
	cJSON_Delete(input);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* fuzz_values.c - libFuzzer target: duration, size and rate parsers, did-you-mean, UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const words[] = {"timeout", "concurrency", "max_output", "rate"};
	char *s = malloc(size + 1), fmt[64];
	struct td__buf b = {0};
	int64_t us, period;
	uint64_t bytes;
	uint32_t count;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (td__parse_duration(s, &us) == 0) {
		if (us < 0)
			abort();
		td__format_duration(us, fmt, sizeof(fmt));
	}
	td__parse_size(s, &bytes);
	if (td__parse_rate(s, &count, &period) == 0 && (count == 0 || period <= 0))
		abort();
	td__did_you_mean(s, words, 4);
	td__valid_tool_name(s);
	td__valid_utf8((const char *)data, size);
	td__buf_json_string(&b, (const char *)data, size);
	if (b.data && !td__valid_utf8(b.data, b.len))
		abort(); /* escaped output must always be valid UTF-8 */
	td__buf_free(&b);
	free(s);
	return 0;
}

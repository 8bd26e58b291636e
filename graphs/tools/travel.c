/* SPDX-License-Identifier: MIT */
/*
 * travel.c - the fake tools of graphs/travel.yaml, one program with a subcommand per tool:
 *
 *   travel flights     {"airline","from","to","date"?}  -> a fare quote
 *   travel weather     {"city"}                         -> a one-line forecast
 *   travel pollen      envelope with fetch_weather results -> a pollen forecast
 *   travel inventory   {"sku"}                          -> {"sku","in_stock"}
 *   travel recommend   envelope with check_inventory results -> a recommendation
 *
 * Each reads the call's JSON on stdin and answers on stdout, deterministically (values are
 * derived from the input), so runs compare byte for byte. Built by CMake into graphs/tools/bin.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static cJSON *read_stdin(void)
{
	size_t cap = 1 << 16, n = 0, r;
	char *buf = malloc(cap);
	cJSON *j;

	while (buf && (r = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
		n += r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf)
		return NULL;
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	free(buf);
	return j;
}

static const char *str(const cJSON *obj, const char *key, const char *dflt)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));

	return s ? s : dflt;
}

static void pause_ms(long ms) /* pretend to be a remote API */
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int flights(const cJSON *q)
{
	const char *airline = str(q, "airline", "?"), *name = "Unknown";
	char key[256];

	if (!strcmp(airline, "aa"))
		name = "American";
	else if (!strcmp(airline, "ua"))
		name = "United";
	else if (!strcmp(airline, "dl"))
		name = "Delta";
	snprintf(key, sizeof(key), "%s%s-%s%s", airline, str(q, "from", ""), str(q, "to", ""),
	         str(q, "date", ""));
	pause_ms(50);
	printf("%s %s-%s on %s: $%u\n", name, str(q, "from", "?"), str(q, "to", "?"),
	       str(q, "date", "any day"), 180 + hash(key) % 220);
	return 0;
}

static int weather(const cJSON *q)
{
	static const char *const sky[] = {"clear", "cloudy", "light rain", "windy"};
	const char *city = str(q, "city", "?");
	uint32_t h = hash(city);

	pause_ms(50);
	printf("%s: %uC, %s\n", city, 8 + h % 15, sky[h % 4]);
	return 0;
}

/* The upstream results of tool `name` in a stdin envelope. */
static const cJSON *upstream(const cJSON *env, const char *name, int i)
{
	const cJSON *u;

	cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(
	                          env, "upstream")) if (!strcmp(str(u, "name", ""), name) &&
	                                                i-- == 0) return u;
	return NULL;
}

static int pollen(const cJSON *env)
{
	const char *city = str(cJSON_GetObjectItemCaseSensitive(env, "input"), "city", "?");
	const cJSON *w = upstream(env, "fetch_weather", 0);
	const char *text, *sky;

	if (!w || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "is_error"))) {
		fprintf(stderr, "no weather for %s: cannot forecast pollen\n", city);
		return 1;
	}
	text = str(w, "content", "");
	sky = strstr(text, ": ") ? strstr(text, ": ") + 2 : text; /* "Paris: 10C, clear" */
	printf("%s: pollen %s (weather: %.*s)\n", city,
	       strstr(text, "rain") || strstr(text, "cloudy") ? "low" : "high",
	       (int)strcspn(sky, "\n"), sky);
	return 0;
}

static int inventory(const cJSON *q)
{
	const char *sku = str(q, "sku", "?");

	printf("{\"sku\": \"%s\", \"in_stock\": %u}\n", sku, hash(sku) % 7);
	return 0;
}

static int recommend(const cJSON *env)
{
	const char *who = str(cJSON_GetObjectItemCaseSensitive(env, "input"), "customer", "you");
	const cJSON *u;
	const char *best = NULL;
	int i, most = 0;

	for (i = 0; (u = upstream(env, "check_inventory", i)); i++) {
		cJSON *s = cJSON_Parse(str(u, "content", ""));
		double n = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "in_stock"));

		if (s && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "is_error")) &&
		    n > most) {
			most = (int)n;
			free((void *)best);
			best = strdup(str(s, "sku", "?"));
		}
		cJSON_Delete(s);
	}
	if (best)
		printf("for %s: %s (%d in stock)\n", who, best, most);
	else
		printf("nothing in stock to recommend\n");
	free((void *)best);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const cJSON *);
	} tools[] = {{"flights", flights},
	             {"weather", weather},
	             {"pollen", pollen},
	             {"inventory", inventory},
	             {"recommend", recommend}};
	cJSON *in;
	size_t i;
	int r;

	for (i = 0; argc == 2 && i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (strcmp(argv[1], tools[i].name))
			continue;
		in = read_stdin();
		if (!cJSON_IsObject(in)) {
			fprintf(stderr, "travel %s: expected a JSON object on stdin\n", argv[1]);
			cJSON_Delete(in);
			return 2;
		}
		r = tools[i].fn(in);
		cJSON_Delete(in);
		return r;
	}
	fprintf(stderr, "usage: travel flights|weather|pollen|inventory|recommend < input.json\n");
	return 2;
}

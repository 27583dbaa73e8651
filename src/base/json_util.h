/* Lenient readers for the JSON Azure sends: IMDS sends numbers as strings
 * ("expires_on": "1506484173"), so numeric fields accept both. Parsing is
 * strict about the document itself: one JSON object, nothing after it.
 * Pure (json-c only), fuzzed. */
#pragma once
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Parses exactly one JSON object from buf (len bytes; NUL not needed).
 * Returns 0 and a new reference in *ret, -EBADMSG for anything else
 * (syntax error, trailing garbage, not an object, nesting over 32). */
int json_parse_object(const char *buf, size_t len, struct json_object **ret);

/* String member key of obj: 0 and a pointer into obj (valid while obj
 * lives), -ENOENT when absent or null, -EBADMSG when not a string. */
int json_get_string(struct json_object *obj, const char *key, const char **ret);

/* Integer member, given as a JSON integer or as a string of decimal digits
 * (optional leading '-'); -ENOENT when absent, -EBADMSG when not an integer
 * or out of int64 range. */
int json_get_int64(struct json_object *obj, const char *key, int64_t *ret);

/* Object member: 0 and a borrowed pointer, -ENOENT, -EBADMSG if not an object. */
int json_get_object(struct json_object *obj, const char *key, struct json_object **ret);

/* Wipes, in place, the string member key of obj (json-c frees without
 * wiping; secret values must not linger in freed heap). */
void json_wipe_string(struct json_object *obj, const char *key);

/* Copies s into dst (size n) for a one-line message: control characters
 * (newlines from a server) become spaces, and long text is cut with "...". */
void json_one_line(char *dst, size_t n, const char *s);

#include "json_util.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

int json_parse_object(const char *buf, size_t len, struct json_object **ret)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t off;

	if (len > INT_MAX)
		return -EBADMSG;
	tok = json_tokener_new_ex(32);
	if (!tok)
		return -ENOMEM;
	/* Strict: no trailing commas, single quotes or other extensions. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; off < len; off++)
		if (!strchr(" \t\r\n", buf[off]))
			break;
	if (off != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

int json_get_string(struct json_object *obj, const char *key, const char **ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = json_object_get_string(v);
	return 0;
}

static int parse_decimal(const char *s, int64_t *ret)
{
	bool neg = false;
	uint64_t v = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!*s)
		return -EBADMSG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EBADMSG;
		if (v > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > INT64_MAX)
		return -EBADMSG;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int json_get_int64(struct json_object *obj, const char *key, int64_t *ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	/* json-c clamps big integers silently; its own decimal text does not. */
	if (json_object_is_type(v, json_type_int))
		return parse_decimal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), ret);
	if (json_object_is_type(v, json_type_string))
		return parse_decimal(json_object_get_string(v), ret);
	return -EBADMSG;
}

int json_get_object(struct json_object *obj, const char *key, struct json_object **ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_object))
		return -EBADMSG;
	*ret = v;
	return 0;
}

void json_one_line(char *dst, size_t n, const char *s)
{
	size_t i = 0;

	if (!n)
		return;
	for (; s && *s && i + 1 < n; s++)
		dst[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
	dst[i] = '\0';
	if (s && *s && n > 4)
		memcpy(dst + n - 4, "...", 4);
}

void json_wipe_string(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj && json_object_object_get_ex(obj, key, &v) &&
	    json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

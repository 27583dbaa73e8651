/* JSON helpers for LUKS2 metadata: uint64 numbers as decimal strings,
 * numbered ids, base64, and a duplicate-member check json-c lacks. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "luks2_internal.h"

void luks2_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

bool luks2_numbered(const char *s)
{
	if (!s || !*s || strlen(s) > 20)
		return false;
	/* canonical decimal only: "01" would name keyslot 1 a second time */
	if (s[0] == '0' && s[1])
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool luks2_json_u64(struct json_object *o, uint64_t *ret)
{
	const char *s;
	char *end;
	unsigned long long v;

	if (!o || !json_object_is_type(o, json_type_string))
		return false;
	s = json_object_get_string(o);
	if (!luks2_numbered(s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

struct json_object *luks2_json_new_u64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_object_new_string(buf);
}

bool luks2_json_int(struct json_object *o, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v;

	if (!o || !json_object_is_type(o, json_type_int))
		return false;
	errno = 0;
	v = json_object_get_int64(o);
	if (errno || v < min || v > max)
		return false;
	/* json-c clamps values beyond int64 to INT64_MAX/MIN */
	if (v == INT64_MAX || v == INT64_MIN)
		return false;
	*ret = v;
	return true;
}

struct json_object *luks2_json_get(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (!json_object_is_type(v, type))
		return NULL;
	return v;
}

struct json_object *luks2_json_section(const struct luks2_hdr *h, const char *name)
{
	return luks2_json_get(h->jobj, name, json_type_object);
}

struct json_object *luks2_json_by_id(struct json_object *section, int id)
{
	char key[16];

	snprintf(key, sizeof(key), "%d", id);
	return luks2_json_get(section, key, json_type_object);
}

int luks2_json_add_by_id(struct json_object *section, int id, struct json_object *v)
{
	char key[16];

	if (!v)
		return -ENOMEM;
	snprintf(key, sizeof(key), "%d", id);
	return json_object_object_add(section, key, v) == 0 ? 0 : -ENOMEM;
}

bool luks2_json_array_has(struct json_object *arr, const char *s)
{
	size_t n;

	if (!arr || !json_object_is_type(arr, json_type_array))
		return false;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0)
			return true;
	}
	return false;
}

int luks2_json_array_add(struct json_object *arr, const char *s)
{
	if (luks2_json_array_has(arr, s))
		return 0;
	return json_object_array_add(arr, json_object_new_string(s)) == 0 ? 0 : -ENOMEM;
}

void luks2_json_array_del(struct json_object *arr, const char *s)
{
	if (!arr || !json_object_is_type(arr, json_type_array))
		return;
	for (size_t i = json_object_array_length(arr); i-- > 0;) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), s) == 0)
			json_object_array_del_idx(arr, i, 1);
	}
}

const char *luks2_json_on_disk(struct json_object *o)
{
	/* cryptsetup writes plain compact JSON without escaped slashes */
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* LUKS2 keeps standard base64 with padding; the coding is base64.c's. */
int luks2_base64_encode(const void *in, size_t len, char **ret)
{
	char *out = malloc(base64_encoded_len(len, false) + 1);

	if (!out)
		return -ENOMEM;
	base64_encode(in, len, out, false);
	*ret = out;
	return 0;
}

int luks2_base64_decode(const char *in, void *out, size_t min_len, size_t max_len, size_t *ret_len)
{
	size_t len = strlen(in), n;
	unsigned char *tmp;
	int r;

	if (len % 4)	/* padding is not optional here */
		return -EINVAL;
	tmp = malloc(base64_decoded_max(len));
	if (!tmp)
		return -ENOMEM;
	r = base64_decode(in, len, tmp, &n, false);
	if (r == 0 && (n < min_len || n > max_len))
		r = -EINVAL;
	if (r == 0) {
		memcpy(out, tmp, n);
		if (ret_len)
			*ret_len = n;
	}
	free(tmp);
	return r;
}

/* Duplicate member check over text json-c already accepted. Each object's
 * member names are collected (as offsets into the text), sorted and
 * compared, so a hostile object with many members costs n log n. */
struct dup_key {
	const char *s;
	size_t len;
};

struct dup_frame {
	struct dup_key *keys;
	size_t n, cap;
	bool is_object;
	bool expect_key;
};

static int dup_cmp(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int dup_close(struct dup_frame *f, char *err, size_t errlen)
{
	int r = 0;

	if (f->n > 1) {
		qsort(f->keys, f->n, sizeof(*f->keys), dup_cmp);
		for (size_t i = 1; i < f->n; i++)
			if (dup_cmp(&f->keys[i - 1], &f->keys[i]) == 0) {
				luks2_err(err, errlen, "duplicate JSON member \"%.*s\"",
					  (int)(f->keys[i].len > 32 ? 32 : f->keys[i].len), f->keys[i].s);
				r = -EINVAL;
				break;
			}
	}
	free(f->keys);
	f->keys = NULL;
	return r;
}

int luks2_json_check_duplicates(const char *text, size_t len, char *err, size_t errlen)
{
	enum { MAX_DEPTH = 64 };
	struct dup_frame st[MAX_DEPTH];
	int depth = -1, r = 0;

	for (size_t i = 0; i < len && text[i]; i++) {
		char c = text[i];

		if (c == '"') {
			size_t start = ++i;

			while (i < len && text[i] && text[i] != '"')
				i += text[i] == '\\' ? 2 : 1;
			if (i >= len || !text[i]) {
				luks2_err(err, errlen, "unterminated JSON string");
				r = -EINVAL;
				goto out;
			}
			if (depth >= 0 && st[depth].is_object && st[depth].expect_key) {
				struct dup_frame *f = &st[depth];

				if (f->n == f->cap) {
					size_t cap = f->cap ? f->cap * 2 : 8;
					struct dup_key *k = realloc(f->keys, cap * sizeof(*k));

					if (!k) {
						r = -ENOMEM;
						goto out;
					}
					f->keys = k;
					f->cap = cap;
				}
				f->keys[f->n++] = (struct dup_key){ text + start, i - start };
				f->expect_key = false;
			}
		} else if (c == '{' || c == '[') {
			if (++depth >= MAX_DEPTH) {
				depth--;
				luks2_err(err, errlen, "JSON nested deeper than %d levels", MAX_DEPTH);
				r = -EINVAL;
				goto out;
			}
			st[depth] = (struct dup_frame){ .is_object = c == '{', .expect_key = c == '{' };
		} else if (c == '}' || c == ']') {
			if (depth < 0)
				break;
			r = dup_close(&st[depth--], err, errlen);
			if (r)
				goto out;
		} else if (c == ',' && depth >= 0 && st[depth].is_object) {
			st[depth].expect_key = true;
		}
	}
out:
	while (depth >= 0)
		free(st[depth--].keys);
	return r;
}

const char *luks2_str(struct json_object *o)
{
	return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : "";
}

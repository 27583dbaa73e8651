/* LUKS2 tokens: generic JSON objects by id, a one-string progress token for
 * the engine, and a caller's token (its own JSON members) with a keyslot
 * mask. What the members mean is the caller's business, never this layer's. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "luks2_internal.h"

static struct json_object *tokens(const struct luks2_hdr *h)
{
	return luks2_json_section(h, "tokens");
}

static int free_token_id(const struct luks2_hdr *h)
{
	for (int i = 0; i < LUKS2_TOKENS_MAX; i++)
		if (!luks2_json_by_id(tokens(h), i))
			return i;
	return -ENOSPC;
}

/* Takes ownership of tok. Checks what cryptsetup checks: a type and a
 * keyslots array naming existing keyslots. */
static int token_put(struct luks2_hdr *h, int id, struct json_object *tok, int *ret_id)
{
	struct json_object *ks = luks2_json_get(tok, "keyslots", json_type_array);
	struct json_object *type = luks2_json_get(tok, "type", json_type_string);
	size_t n = ks ? json_object_array_length(ks) : 0;
	int r;

	if (!type || !json_object_get_string_len(type) || !ks) {
		json_object_put(tok);
		return log_error(EINVAL, "LUKS2 token needs a \"type\" string and a \"keyslots\" array");
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ks, i);

		if (!json_object_is_type(e, json_type_string) ||
		    !luks2_json_get(luks2_json_section(h, "keyslots"), json_object_get_string(e), json_type_object)) {
			r = log_error(EINVAL, "LUKS2 token names keyslot \"%s\", which does not exist",
				      json_object_get_string(e));
			json_object_put(tok);
			return r;
		}
	}
	if (id < 0)
		id = free_token_id(h);
	if (id < 0 || id >= LUKS2_TOKENS_MAX) {
		json_object_put(tok);
		return log_error(ENOSPC, "no free LUKS2 token id (0..%d)", LUKS2_TOKENS_MAX - 1);
	}
	r = luks2_json_add_by_id(tokens(h), id, tok);
	if (r < 0)
		return log_error(ENOMEM, "cannot add LUKS2 token");
	if (ret_id)
		*ret_id = id;
	return 0;
}

int luks2_token_set_json(struct luks2_hdr *h, int id, const char *json, int *ret_id)
{
	struct json_object *tok = json_tokener_parse(json);

	if (!tok || !json_object_is_type(tok, json_type_object)) {
		json_object_put(tok);
		return log_error(EINVAL, "LUKS2 token is not a JSON object");
	}
	return token_put(h, id, tok, ret_id);
}

int luks2_token_get_json(const struct luks2_hdr *h, int id, char **ret_json)
{
	struct json_object *tok = id >= 0 ? luks2_json_by_id(tokens(h), id) : NULL;
	char *s;

	if (!tok)
		return -ENOENT;
	s = strdup(luks2_json_on_disk(tok));
	if (!s)
		return log_error(ENOMEM, "cannot copy LUKS2 token");
	*ret_json = s;
	return 0;
}

int luks2_token_find(const struct luks2_hdr *h, const char *type)
{
	for (int i = 0; i < LUKS2_TOKENS_MAX; i++) {
		struct json_object *tok = luks2_json_by_id(tokens(h), i);

		if (tok && strcmp(luks2_str(luks2_json_get(tok, "type", json_type_string)), type) == 0)
			return i;
	}
	return -ENOENT;
}

int luks2_token_remove(struct luks2_hdr *h, int id)
{
	char key[16];

	if (id < 0 || !luks2_json_by_id(tokens(h), id))
		return log_error(ENOENT, "LUKS2 token %d does not exist", id);
	snprintf(key, sizeof(key), "%d", id);
	json_object_object_del(tokens(h), key);
	return 0;
}

int luks2_token_set_string(struct luks2_hdr *h, const char *type, const char *key, const char *value)
{
	int id = luks2_token_find(h, type);
	struct json_object *tok;

	if (id >= 0) {
		/* in place: keeps the id and every other member */
		tok = luks2_json_by_id(tokens(h), id);
		if (json_object_object_add(tok, key, json_object_new_string(value)) < 0)
			return log_error(ENOMEM, "cannot update LUKS2 token \"%s\"", type);
		return 0;
	}
	tok = json_object_new_object();
	if (!tok)
		return log_error(ENOMEM, "cannot add LUKS2 token \"%s\"", type);
	json_object_object_add(tok, "type", json_object_new_string(type));
	json_object_object_add(tok, "keyslots", json_object_new_array());
	json_object_object_add(tok, key, json_object_new_string(value));
	return token_put(h, -1, tok, NULL);
}

int luks2_token_get_string(const struct luks2_hdr *h, const char *type, const char *key, char **ret)
{
	int id = luks2_token_find(h, type);
	struct json_object *v;
	char *s;

	if (id < 0)
		return -ENOENT;
	v = luks2_json_get(luks2_json_by_id(tokens(h), id), key, json_type_string);
	if (!v)
		return -ENOENT;
	s = strdup(json_object_get_string(v));
	if (!s)
		return log_error(ENOMEM, "cannot copy LUKS2 token member");
	*ret = s;
	return 0;
}

/* --- A caller's token with a keyslot mask ------------------------------------ */

int luks2_token_put(struct luks2_hdr *h, const char *json, uint32_t keyslots, int *ret_id)
{
	struct json_object *in = json_tokener_parse(json), *tok, *ks, *type;
	int id;

	type = in ? luks2_json_get(in, "type", json_type_string) : NULL;
	if (!type || !json_object_get_string_len(type)) {
		json_object_put(in);
		return log_error(EINVAL, "LUKS2 token is not a JSON object with a \"type\" string");
	}
	tok = json_object_new_object();
	ks = json_object_new_array();
	if (!tok || !ks) {
		json_object_put(in);
		json_object_put(tok);
		json_object_put(ks);
		return log_error(ENOMEM, "cannot build LUKS2 token");
	}
	/* "type", then "keyslots", then the caller's members in its order:
	 * the order the token always had on disk. */
	json_object_object_add(tok, "type", json_object_get(type));
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++)
		if (keyslots & (UINT32_C(1) << i)) {
			char idbuf[8];

			snprintf(idbuf, sizeof(idbuf), "%d", i);
			json_object_array_add(ks, json_object_new_string(idbuf));
		}
	json_object_object_add(tok, "keyslots", ks);
	json_object_object_foreach(in, key, val) {
		if (strcmp(key, "type") != 0 && strcmp(key, "keyslots") != 0)
			json_object_object_add(tok, key, json_object_get(val));
	}
	id = luks2_token_find(h, json_object_get_string(type));
	json_object_put(in);
	return token_put(h, id, tok, ret_id);
}

int luks2_token_get(const struct luks2_hdr *h, const char *type, char **ret_json,
		    uint32_t *ret_keyslots)
{
	int id = luks2_token_find(h, type), r;
	struct json_object *ks;
	uint32_t mask = 0;

	if (id < 0)
		return -ENOENT;
	ks = luks2_json_get(luks2_json_by_id(tokens(h), id), "keyslots", json_type_array);
	for (size_t i = 0; ks && i < json_object_array_length(ks); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(ks, i));

		/* validated: ids of existing keyslots, below 32 */
		if (luks2_numbered(s) && atoi(s) < LUKS2_KEYSLOTS_MAX)
			mask |= UINT32_C(1) << atoi(s);
	}
	r = luks2_token_get_json(h, id, ret_json);
	if (r == 0 && ret_keyslots)
		*ret_keyslots = mask;
	return r;
}

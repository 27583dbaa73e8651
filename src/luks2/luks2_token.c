/* LUKS2 tokens: generic JSON objects by id, a one-string progress token for
 * the engine, and the azure-keyvault token with typed fields. */
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

/* --- azure-keyvault ---------------------------------------------------------- */

static const struct {
	const char *key;
	size_t off;
	bool required;
} azure_fields[] = {
	{ "vault_url", offsetof(struct luks2_azure_token, vault_url), true },
	{ "secret_name", offsetof(struct luks2_azure_token, secret_name), true },
	{ "secret_version", offsetof(struct luks2_azure_token, secret_version), false },
	{ "kek_id", offsetof(struct luks2_azure_token, kek_id), false },
	{ "kek_alg", offsetof(struct luks2_azure_token, kek_alg), false },
};

#define AZ_FIELD(t, i) (*(char **)((char *)(t) + azure_fields[i].off))

int luks2_token_azure_set(struct luks2_hdr *h, const struct luks2_azure_token *t, int *ret_id)
{
	struct json_object *tok, *ks;
	int id = luks2_token_find(h, LUKS2_TOKEN_AZURE);

	for (size_t i = 0; i < sizeof(azure_fields) / sizeof(azure_fields[0]); i++)
		if (azure_fields[i].required && (!AZ_FIELD(t, i) || !*AZ_FIELD(t, i)))
			return log_error(EINVAL, "azure-keyvault token needs %s", azure_fields[i].key);
	if (!t->kek_id != !t->kek_alg)
		return log_error(EINVAL, "azure-keyvault token needs both kek_id and kek_alg, or neither");
	tok = json_object_new_object();
	ks = json_object_new_array();
	if (!tok || !ks) {
		json_object_put(tok);
		json_object_put(ks);
		return log_error(ENOMEM, "cannot build azure-keyvault token");
	}
	json_object_object_add(tok, "type", json_object_new_string(LUKS2_TOKEN_AZURE));
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++)
		if (t->keyslots & (UINT32_C(1) << i)) {
			char idbuf[8];

			snprintf(idbuf, sizeof(idbuf), "%d", i);
			json_object_array_add(ks, json_object_new_string(idbuf));
		}
	json_object_object_add(tok, "keyslots", ks);
	for (size_t i = 0; i < sizeof(azure_fields) / sizeof(azure_fields[0]); i++)
		if (AZ_FIELD(t, i))
			json_object_object_add(tok, azure_fields[i].key, json_object_new_string(AZ_FIELD(t, i)));
	return token_put(h, id, tok, ret_id);
}

void luks2_azure_token_clear(struct luks2_azure_token *t)
{
	for (size_t i = 0; i < sizeof(azure_fields) / sizeof(azure_fields[0]); i++) {
		free(AZ_FIELD(t, i));
		AZ_FIELD(t, i) = NULL;
	}
	t->keyslots = 0;
}

int luks2_token_azure_get(const struct luks2_hdr *h, struct luks2_azure_token *ret)
{
	int id = luks2_token_find(h, LUKS2_TOKEN_AZURE);
	struct json_object *tok, *ks;
	struct luks2_azure_token t = { 0 };

	if (id < 0)
		return -ENOENT;
	tok = luks2_json_by_id(tokens(h), id);
	for (size_t i = 0; i < sizeof(azure_fields) / sizeof(azure_fields[0]); i++) {
		struct json_object *v = luks2_json_get(tok, azure_fields[i].key, json_type_string);

		if (!v) {
			if (!azure_fields[i].required)
				continue;
			luks2_azure_token_clear(&t);
			return log_error(EINVAL, "azure-keyvault token %d lacks %s", id, azure_fields[i].key);
		}
		AZ_FIELD(&t, i) = strdup(json_object_get_string(v));
		if (!AZ_FIELD(&t, i)) {
			luks2_azure_token_clear(&t);
			return log_error(ENOMEM, "cannot copy azure-keyvault token");
		}
	}
	ks = luks2_json_get(tok, "keyslots", json_type_array);
	for (size_t i = 0; ks && i < json_object_array_length(ks); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(ks, i));

		/* validated: ids of existing keyslots, below 32 */
		if (luks2_numbered(s) && atoi(s) < LUKS2_KEYSLOTS_MAX)
			t.keyslots |= UINT32_C(1) << atoi(s);
	}
	*ret = t;
	return 0;
}

#include "volume_key_ref.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "luks2.h"

/* The token's members, in their order on disk, and where each lives in a
 * kv_ref. */
static const struct {
	const char *key;
	size_t off;
	bool required;
} token_fields[] = {
	{ "vault_url", offsetof(struct kv_ref, vault_url), true },
	{ "secret_name", offsetof(struct kv_ref, secret_name), true },
	{ "secret_version", offsetof(struct kv_ref, secret_version), false },
	{ "kek_id", offsetof(struct kv_ref, kek_id), false },
	{ "kek_alg", offsetof(struct kv_ref, kek_alg), false },
};
#define N_FIELDS (sizeof(token_fields) / sizeof(token_fields[0]))
#define REF_FIELD(ref, i) (*(char **)((char *)(ref) + token_fields[i].off))

int volume_token_from_ref(const struct kv_ref *ref, char **ret_json)
{
	struct json_object *tok;
	char *s;

	for (size_t i = 0; i < N_FIELDS; i++)
		if (token_fields[i].required && (!REF_FIELD(ref, i) || !*REF_FIELD(ref, i)))
			return log_error(EINVAL, VOLUME_TOKEN_TYPE " token needs %s",
					 token_fields[i].key);
	if (!ref->kek_id != !ref->kek_alg)
		return log_error(EINVAL, VOLUME_TOKEN_TYPE " token needs both kek_id and kek_alg, "
				 "or neither");
	tok = json_object_new_object();
	if (!tok)
		return log_error(ENOMEM, "cannot build the " VOLUME_TOKEN_TYPE " token");
	json_object_object_add(tok, "type", json_object_new_string(VOLUME_TOKEN_TYPE));
	for (size_t i = 0; i < N_FIELDS; i++)
		if (REF_FIELD(ref, i))
			json_object_object_add(tok, token_fields[i].key,
					       json_object_new_string(REF_FIELD(ref, i)));
	s = strdup(json_object_to_json_string_ext(tok, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(tok);
	if (!s)
		return log_error(ENOMEM, "cannot build the " VOLUME_TOKEN_TYPE " token");
	*ret_json = s;
	return 0;
}

int volume_ref_from_token(const char *json, const char *where, struct kv_ref *ret)
{
	struct json_object *tok = json_tokener_parse(json);
	struct kv_ref ref = { 0 };
	int r = 0;

	if (!tok || !json_object_is_type(tok, json_type_object)) {
		json_object_put(tok);
		return log_error(EINVAL, "the " VOLUME_TOKEN_TYPE " token of \"%s\" is not a JSON "
				 "object", where);
	}
	for (size_t i = 0; i < N_FIELDS && r == 0; i++) {
		struct json_object *v;

		if (!json_object_object_get_ex(tok, token_fields[i].key, &v) ||
		    !json_object_is_type(v, json_type_string)) {
			if (token_fields[i].required)
				r = log_error(EINVAL, "the " VOLUME_TOKEN_TYPE " token of \"%s\" "
					      "lacks %s", where, token_fields[i].key);
			continue;
		}
		REF_FIELD(&ref, i) = strdup(json_object_get_string(v));
		if (!REF_FIELD(&ref, i))
			r = log_error(ENOMEM, "cannot copy the " VOLUME_TOKEN_TYPE " token");
	}
	json_object_put(tok);
	if (r < 0) {
		kv_ref_free(&ref);
		return r;
	}
	*ret = ref;
	return 0;
}

void volume_ref_summary(const char *json, char *buf, size_t size)
{
	struct json_object *tok = json ? json_tokener_parse(json) : NULL;
	const char *f[N_FIELDS] = { 0 };

	if (!tok) {
		snprintf(buf, size, "passphrase (no key reference token)");
		return;
	}
	for (size_t i = 0; i < N_FIELDS; i++) {
		struct json_object *v;

		if (json_object_object_get_ex(tok, token_fields[i].key, &v) &&
		    json_object_is_type(v, json_type_string))
			f[i] = json_object_get_string(v);
	}
	/* vault_url, secret_name, secret_version, kek_id */
	snprintf(buf, size, VOLUME_TOKEN_TYPE " %s/secrets/%s%s%s%s%s", f[0] ? f[0] : "?",
		 f[1] ? f[1] : "?", f[2] ? "/" : "", f[2] ? f[2] : "", f[3] ? " kek " : "",
		 f[3] ? f[3] : "");
	json_object_put(tok);
}

int volume_ref_of_header(const struct luks2_hdr *h, const char *where, struct kv_ref *ret,
			 uint32_t *ret_keyslots)
{
	char *json = NULL;
	int r = luks2_token_get(h, VOLUME_TOKEN_TYPE, &json, ret_keyslots);

	if (r == -ENOENT)
		return log_error(ENOENT, "\"%s\" has no " VOLUME_TOKEN_TYPE " token", where);
	if (r < 0)
		return r;
	r = volume_ref_from_token(json, where, ret);
	free(json);
	return r;
}

int volume_ref_set(struct luks2_hdr *h, const struct kv_ref *ref, uint32_t keyslots)
{
	char *json = NULL;
	int r = volume_token_from_ref(ref, &json);

	if (r == 0)
		r = luks2_token_put(h, json, keyslots, NULL);
	free(json);
	return r;
}

int volume_read_ref(const char *hdr_path, struct kv_ref *ret, char *uuid, size_t uuid_size)
{
	struct luks2_hdr *h = NULL;
	int fd, r;

	fd = open(hdr_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", hdr_path);
	r = luks2_hdr_read(&h, fd, 0, NULL);
	close(fd);
	if (r == -ENODEV)
		return log_error(ENODEV, "\"%s\" has no LUKS2 header", hdr_path);
	if (r < 0)
		return r;
	if (luks2_token_find(h, VOLUME_TOKEN_TYPE) < 0) {
		luks2_hdr_free(h);
		return log_error(ENOENT, "\"%s\" has no " VOLUME_TOKEN_TYPE " token: use --key-file",
				 hdr_path);
	}
	r = volume_ref_of_header(h, hdr_path, ret, NULL);
	snprintf(uuid, uuid_size, "%s", luks2_hdr_uuid(h));
	luks2_hdr_free(h);
	return r;
}

int volume_fetch_ref(const struct kv_config *kv, const struct kv_ref *ref, const char *uuid,
		     char **ret_secmem, size_t *ret_len)
{
	struct kv_config c = *kv;
	int r;

	/* A configured vault (and KEK) wins over what the disk says. */
	r = keystore_ref_pinned(kv, ref);
	if (r < 0)
		return r;
	c.vault = ref->vault_url; /* the same vault, as the token spells it */
	/* the secret must be this volume's: its VolumeUUID tag */
	return keystore_fetch(&c, ref, uuid, ret_secmem, ret_len);
}

int volume_fetch_passphrase(const struct rootcrypt_config *cfg, const char *hdr_path,
			    char **ret_secmem, size_t *ret_len)
{
	struct kv_config kv;
	struct kv_ref ref;
	char uuid[40];
	int r;

	r = volume_read_ref(hdr_path, &ref, uuid, sizeof(uuid));
	if (r < 0)
		return r;
	keystore_config_from(&kv, cfg);
	r = volume_fetch_ref(&kv, &ref, uuid, ret_secmem, ret_len);
	kv_ref_free(&ref);
	return r;
}

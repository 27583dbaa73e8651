/* The volume's key reference: the one place that knows what rootcrypt's
 * LUKS2 token means. The LUKS2 layer stores a token as the caller's JSON
 * members plus a keyslot mask, the engine hands it through untouched, and
 * Key Vault (azure/) speaks kv_ref; this file maps between the two. The
 * token: "type":"azure-keyvault", "keyslots", "vault_url", "secret_name",
 * "secret_version", and "kek_id" + "kek_alg" (both omitted when no KEK is
 * used). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keystore.h"

#define VOLUME_TOKEN_TYPE "azure-keyvault"

struct luks2_hdr;

/* ref -> the token's JSON object text (type and members, no keyslots; the
 * writer adds those), malloc'ed. -EINVAL with one line when ref lacks the
 * vault or secret, or has only one of kek_id / kek_alg. */
int volume_token_from_ref(const struct kv_ref *ref, char **ret_json);
/* The token's JSON text -> *ret (kv_ref_free()). Strict: vault_url and
 * secret_name must be strings (-EINVAL with one line naming what is
 * missing; `where` names the header in it); other members are taken only
 * when they are strings. */
int volume_ref_from_token(const char *json, const char *where, struct kv_ref *ret);
/* One line for `status`: "azure-keyvault URL/secrets/NAME[/VERSION][ kek K]",
 * or "passphrase (no key reference token)" when json is NULL. */
void volume_ref_summary(const char *json, char *buf, size_t size);

/* The token of header h (read from `where`, for messages) into *ret, and
 * its keyslot mask (optional). -ENOENT with one line when there is none. */
int volume_ref_of_header(const struct luks2_hdr *h, const char *where, struct kv_ref *ret,
			 uint32_t *ret_keyslots);
/* Replaces h's token with one naming ref, serving `keyslots`. Memory only. */
int volume_ref_set(struct luks2_hdr *h, const struct kv_ref *ref, uint32_t keyslots);

/* Reads the token from the LUKS2 header at hdr_path (device or detached
 * header file) into *ret (kv_ref_free()), and the header's UUID into uuid
 * (uuid_size >= 37). -ENOENT when there is none. */
int volume_read_ref(const char *hdr_path, struct kv_ref *ret, char *uuid, size_t uuid_size);

/* The passphrase ref names, for the volume with UUID uuid: a configured
 * vault (and KEK) wins over what the disk says (issue 16), and the secret
 * must carry the volume's VolumeUUID tag (issue 16.2). kv: cfg's identity,
 * CA and retry settings. Passphrase in secmem. */
int volume_fetch_ref(const struct kv_config *kv, const struct kv_ref *ref, const char *uuid,
		     char **ret_secmem, size_t *ret_len);

/* volume_read_ref + volume_fetch_ref with cfg's settings. */
int volume_fetch_passphrase(const struct rootcrypt_config *cfg, const char *hdr_path,
			    char **ret_secmem, size_t *ret_len);

/* From a volume's LUKS2 header to its passphrase in Key Vault: reads the
 * azure-keyvault token and fetches (and unwraps) the secret it names. */
#pragma once
#include <stddef.h>

#include "config.h"
#include "keystore.h"

/* Reads the token from the LUKS2 header at hdr_path (device or detached
 * header file) into *ret (kv_ref_free()), and the header's UUID into uuid
 * (uuid_size >= 37). -ENOENT when there is none. */
int volume_read_ref(const char *hdr_path, struct kv_ref *ret, char *uuid, size_t uuid_size);

/* volume_read_ref + keystore_fetch with cfg's identity, CA and retry
 * settings; the secret must be tagged with the header's UUID. Passphrase
 * in secmem. */
int volume_fetch_passphrase(const struct rootcrypt_config *cfg, const char *hdr_path,
			    char **ret_secmem, size_t *ret_len);

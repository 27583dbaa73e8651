/* Online mode's fallback for the key (src/engine/ONLINE.md "The key after
 * switch-root", option (a)): when root's keyring lost the key the
 * initramfs handed over (expired, removed), rootcrypt-online.service
 * fetches it from Key Vault as `rootcrypt boot` and `rootcrypt open` do,
 * through the azure-keyvault token in the header (IMDS token, then the
 * secret; the configured vault wins over the disk, and the secret must
 * carry the volume's VolumeUUID tag). */
#pragma once
#include <stddef.h>

#include "keystore.h"

/* The passphrase the token (token_json: the header's azure-keyvault token,
 * read from hdr_path) names, for the volume with UUID uuid, into secmem.
 * kv: the running system's settings; NULL or without a vault: -ENOKEY
 * (the disk alone does not choose where the VM's token goes). Why it
 * failed in why; one line logged. The caller checks that it opens the
 * header before anything uses it. */
int online_refetch_key(const struct kv_config *kv, const char *hdr_path, const char *token_json,
		       const char *uuid, char **ret_secmem, size_t *ret_len, char *why,
		       size_t why_len);

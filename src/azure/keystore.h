/* The write-ahead key store: everything `rootcrypt boot` and `rootcrypt key`
 * need from Key Vault, in three calls.
 *
 *   keystore_store_new()  creates a random keyslot passphrase, stores it
 *                         (wrapped with the KEK when one is configured) as a
 *                         new secret version with tags, reads that version
 *                         back and compares it (and unwraps it again) —
 *                         only then returns 0. The caller may touch the
 *                         disk only after 0 (DESIGN.md, write-ahead rule).
 *   keystore_fetch()      reverses it from a kv_ref (the LUKS2 token).
 *   keystore_rewrap()     stores the same passphrase wrapped with another
 *                         KEK (or key version) as a new secret version.
 *
 * Stored value: standard base64 of the passphrase bytes (contentType
 * "BEK"), or base64url of wrapkey's output (contentType "Wrapped BEK"),
 * Azure Disk Encryption's conventions. Tags: MachineName, VmId, VolumeUUID,
 * DiskEncryptionKeyEncryptionKeyURL, DiskEncryptionKeyEncryptionAlgorithm,
 * CreatedBy=rootcrypt. The VolumeUUID tag binds the secret to the LUKS2
 * volume it unlocks: a fetch for a volume refuses a secret tagged for
 * another one (and, unless untagged_secret = accept, an untagged one), and
 * a store for a volume counts only when the tag reads back. Passphrases live in secmem only; the caller frees
 * them with secmem_free(). Every failure prints one line and returns a
 * negative errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define KEYSTORE_PASSPHRASE_BYTES 32   /* random bytes; text is their base64url (43 chars) */
#define KEYSTORE_DEFAULT_ALG "RSA-OAEP-256"
#define KEYSTORE_CT_PLAIN "BEK"
#define KEYSTORE_CT_WRAPPED "Wrapped BEK"

struct kv_config {
	const char *vault;        /* https://NAME.vault.azure.net (required) */
	const char *secret;       /* secret name; NULL = "rootcrypt-<vmId>" */
	const char *kek;          /* key URL, with or without version; NULL = no wrap */
	const char *kek_alg;      /* NULL = RSA-OAEP-256; or RSA-OAEP */
	const char *client_id;    /* user-assigned identity (at most one) */
	const char *object_id;
	const char *msi_res_id;
	const char *imds;         /* IMDS base URL; NULL = http://169.254.169.254 */
	const char *ca_file;      /* CA bundle for the vault */
	const char *resolve;      /* HOST:PORT:ADDR for the vault (tests) */
	long retry_timeout_ms;    /* budget per operation; 0 = 90 s */
	long retry_base_ms;       /* first backoff; 0 = 500 ms */
	long request_timeout_ms;  /* one HTTP request; 0 = 10 s IMDS / 30 s vault */
	bool token_vault_any;     /* a volume's token may name another vault / KEK */
	bool untagged_ok;         /* a secret without VolumeUUID tag may unlock a volume */
};

/* Where a passphrase lives: what the volume's key reference token records
 * (the mapping to and from the LUKS2 token is src/boot/volume_key_ref.c). Strings are malloc'ed; kek_id/kek_alg NULL = stored unwrapped. */
struct kv_ref {
	char *vault_url;       /* "https://NAME.vault.azure.net" (as configured, with port) */
	char *secret_name;
	char *secret_version;  /* 32 hex digits as Key Vault assigns */
	char *kek_id;          /* full key id with version, or NULL */
	char *kek_alg;         /* "RSA-OAEP-256" | "RSA-OAEP", or NULL */
};

/* Points cfg's fields at c's (no copies; c must outlive cfg). */
void keystore_config_from(struct kv_config *cfg, const struct rootcrypt_config *c);

/* The disk does not choose where the VM's token goes: a reference read from
 * a volume's header must name the configured vault (and, when one is
 * configured, the KEK; else a KEK in that vault), unless token_vault = any.
 * 0, or -EPERM with one line naming both URLs. No vault configured: 0. */
int keystore_ref_pinned(const struct kv_config *cfg, const struct kv_ref *ref);

/* New random passphrase (NUL-terminated text, secmem) stored write-ahead.
 * volume_uuid goes into a tag (may be NULL). */
int keystore_store_new(const struct kv_config *cfg, const char *volume_uuid,
		       char **ret_passphrase_secmem, struct kv_ref *ret_ref);

/* Same with a given passphrase (len bytes, any content). */
int keystore_store(const struct kv_config *cfg, const char *volume_uuid,
		   const void *passphrase, size_t len, struct kv_ref *ret_ref);

/* Passphrase for ref (secmem, *ret_len bytes, NUL-terminated too). A ref
 * without secret_version reads the latest; without kek_id it follows the
 * secret's contentType and KEK tags. The vault's reply must name the secret
 * ref names (keystore_check_binding); volume_uuid: the LUKS2 volume being
 * unlocked, whose UUID the secret's VolumeUUID tag must carry, or NULL for
 * a fetch by name that unlocks nothing (`rootcrypt key fetch --secret`). */
int keystore_fetch(const struct kv_config *cfg, const struct kv_ref *ref, const char *volume_uuid,
		   char **ret_passphrase_secmem, size_t *ret_len);

/* The latest version of the configured secret (cfg->secret, or the name
 * derived from the vmId) for the volume with UUID volume_uuid (its
 * VolumeUUID tag must match, as for keystore_fetch), and in *ret_ref
 * (kv_ref_free()) the reference naming exactly that version (and its KEK
 * when wrapped): for a volume whose header lost the race to its token
 * (online mode, ONLINE.md step 5). */
int keystore_fetch_latest(const struct kv_config *cfg, const char *volume_uuid,
			  char **ret_passphrase_secmem, size_t *ret_len, struct kv_ref *ret_ref);

/* The checks keystore_fetch makes on the SecretBundle s the vault returned
 * for secret `name` (version or NULL = latest) in the vault at vault_host:
 * its id names that secret, and, with volume_uuid, its VolumeUUID tag is
 * that UUID (case-insensitive); untagged passes only with
 * cfg->untagged_ok. 0, or -EPERM with one line naming both. */
struct kv_secret;
int keystore_check_binding(const struct kv_config *cfg, const struct kv_secret *s,
			   const char *vault_host, const char *name, const char *version,
			   const char *volume_uuid);

/* What a person types at the recovery prompt -> the passphrase, one reading
 * for every value (README "recovery"): KEYSTORE_RECOVERY_PREFIX followed by
 * the passphrase itself, taken byte for byte; anything else must be the
 * secret's value as Key Vault shows it for a plain secret (content type
 * "BEK": the standard base64 of the passphrase, padded to a multiple of 4
 * characters), which is decoded. A KEK-wrapped secret is unwrapped first
 * (`az keyvault key decrypt`: its base64 result is the same form).
 * -EBADMSG with one line (never the value) when it is neither. */
#define KEYSTORE_RECOVERY_PREFIX "passphrase:"
int keystore_recovery_passphrase(const char *typed, size_t len, char **ret_secmem,
				 size_t *ret_len);

/* Re-stores ref's passphrase wrapped with new_kek (NULL alg = default) as a
 * new version of the same secret (store + read-back as above); *ret_ref
 * names it. volume_uuid as for keystore_fetch; the new version carries it
 * as its VolumeUUID tag (else the old version's tag). The old version stays
 * in the vault until the caller has switched the volume's token over. */
int keystore_rewrap(const struct kv_config *cfg, const struct kv_ref *ref, const char *volume_uuid,
		    const char *new_kek, const char *new_alg, struct kv_ref *ret_ref);

void kv_ref_free(struct kv_ref *ref);

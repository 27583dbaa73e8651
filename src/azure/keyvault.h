/* Azure Key Vault REST (api-version 7.4): secrets PUT/GET, keys wrapkey/
 * unwrapkey. Tokens come from IMDS for the vault's cloud resource; a 401
 * challenge (WWW-Authenticate: Bearer ... resource=/scope=) switches the
 * resource (checked against the vault's domain) and refreshes the token
 * once. 429 honours Retry-After; 408/5xx and transport errors retry with
 * backoff within the budget; other errors are final and print the vault's
 * {"error":{"code","message"}} verbatim on one line. Environment proxies
 * (https_proxy, no_proxy) apply here, never to IMDS.
 * Budgets: each operation (a PUT with its recovery, a GET, a wrap) gets
 * retry.budget_ms; a token fetched on the way has IMDS's own budget. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "imds.h"
#include "retry.h"

#define KV_API_VERSION "7.4"
/* Tag names as Azure Disk Encryption uses them, so operators find keys. */
#define KV_TAG_KEK_URL "DiskEncryptionKeyEncryptionKeyURL"
#define KV_TAG_KEK_ALG "DiskEncryptionKeyEncryptionAlgorithm"
#define KV_TAG_VOLUME_UUID "VolumeUUID"

struct kv_client {
	const char *ca_file;          /* CA bundle (required for HTTPS) */
	const char *resolve;          /* "host:port:addr" (tests), or NULL */
	struct imds_client *imds;     /* token source (shared cache) */
	struct retry_policy retry;
	long request_timeout_ms;      /* one HTTP request; 0 = 30 s */
	/* Set by each request, for messages: " (through proxy URL)" when libcurl
	 * chose a proxy from the environment (credentials cut), else "". */
	char via[300];
};

/* A parsed Key Vault URL: https://HOST[:PORT][/secrets|keys/NAME[/VERSION]] */
struct kv_url {
	char *base;         /* "https://host[:port]" */
	char *host;         /* lower-case host */
	const char *resource; /* token resource of the host's cloud (static) */
	bool managed_hsm;   /* *.managedhsm.azure.net: keys only */
	char *collection;   /* "secrets", "keys", or NULL for a bare vault URL */
	char *name;
	char *version;      /* NULL = latest */
};

struct kv_tag {
	const char *name, *value;
};

struct kv_secret {
	char *value;        /* secmem, NUL-terminated */
	char *id;           /* https://host/secrets/NAME/VERSION */
	char *version;
	char *content_type; /* or NULL */
	char *kek_url;      /* KV_TAG_KEK_URL tag, or NULL */
	char *kek_alg;      /* KV_TAG_KEK_ALG tag, or NULL */
	char *volume_uuid;  /* KV_TAG_VOLUME_UUID tag, or NULL */
};

/* Stores a new version of secret `name` in the vault at vault_url; the
 * version id goes to *ret_version. A PUT whose outcome is unknown (reset,
 * timeout, 5xx, garbled reply) is not blindly repeated: the latest version
 * is read first and adopted when it holds this value, so one call stores at
 * most one version. */
int kv_secret_set(struct kv_client *kv, const char *vault_url, const char *name,
		  const char *value, const char *content_type, const struct kv_tag *tags,
		  size_t ntags, char **ret_version);

/* Checks that vault_url names a Key Vault that can hold secrets (prints
 * one line and returns -EINVAL otherwise); no network. */
int kv_vault_check(const char *vault_url);

/* Reads a secret (version NULL = latest). -ENOENT (printed) if absent. */
int kv_secret_get(struct kv_client *kv, const char *vault_url, const char *name,
		  const char *version, struct kv_secret *ret);
void kv_secret_free(struct kv_secret *s);

/* Full key id with version for key_url (GET /keys/NAME when it has none). */
int kv_key_resolve(struct kv_client *kv, const char *key_url, char **ret_kid);

/* wrapkey with alg RSA-OAEP-256 or RSA-OAEP: in -> base64url text and the
 * kid that wrapped (*ret_kid, with version). key_url may lack a version. */
int kv_key_wrap(struct kv_client *kv, const char *key_url, const char *alg, const void *in,
		size_t n, char **ret_b64url, char **ret_kid);

/* unwrapkey: base64url text -> plaintext in secmem (*ret_len bytes, plus a
 * NUL). A kid without version means the key's current version. */
int kv_key_unwrap(struct kv_client *kv, const char *kid, const char *alg, const char *b64url,
		  unsigned char **ret_secmem, size_t *ret_len);

/* --- pure parts (unit-tested, fuzzed) --- */

/* Parses and checks a vault/secret/key URL (host suffix of Azure public,
 * China, US Gov clouds, or Managed HSM). -EINVAL on anything else. */
int kv_url_parse(const char *url, struct kv_url *ret);
void kv_url_free(struct kv_url *u);

/* resource= (or scope= without "/.default") from a Bearer challenge;
 * -ENOENT when neither is present, -EBADMSG when malformed. */
int kv_parse_challenge(const char *header, char **ret_resource);

/* A challenge may only ask for a token of the vault's own domain:
 * https://vault.azure.net for x.vault.azure.net, and so on. */
bool kv_challenge_resource_ok(const char *resource, const char *host);

/* {"error":{"code","message"}} -> "code: message" on one line; falls back
 * to the start of the raw body. */
void kv_error_message(const char *body, size_t len, char *out, size_t n);

/* SecretBundle -> kv_secret (value copied to secmem). */
int kv_parse_secret_bundle(const char *body, size_t len, struct kv_secret *ret);

/* {"kid","value"} of wrapkey/unwrapkey; value copied to secmem. */
int kv_parse_key_result(const char *body, size_t len, char **ret_kid, char **ret_value_secmem);

/* A SecretBundle's id names the secret that was asked for: https://HOST
 * [:PORT]/secrets/NAME/VERSION with HOST the vault's host and NAME (and
 * VERSION, when one was asked for; NULL = latest, any version) equal,
 * case-insensitively as Key Vault compares them. */
bool kv_secret_id_is(const char *id, const char *host, const char *name, const char *version);

/* Key Vault object names: ^[0-9a-zA-Z-]{1,127}$ */
bool kv_name_valid(const char *name);
/* A secret or key version as Key Vault makes them (letters and digits, at
 * most 64): one read from a disk goes into a URL only if it is one. */
bool kv_version_valid(const char *version);

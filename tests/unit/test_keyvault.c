#include <errno.h>
#include <stdlib.h>

#include "base64.h"
#include "keystore.h"
#include "keyvault.h"
#include "luks2.h"
#include "secmem.h"
#include "test.h"
#include "volume_key_ref.h"

TEST(keyvault_url_clouds_and_hsm)
{
	struct kv_url u;

	CHECK_EQ_INT(kv_url_parse("https://MyVault.vault.azure.net", &u), 0);
	CHECK_EQ_STR(u.host, "myvault.vault.azure.net");
	CHECK_EQ_STR(u.resource, "https://vault.azure.net");
	CHECK(!u.managed_hsm && !u.collection);
	kv_url_free(&u);
	CHECK_EQ_INT(kv_url_parse("https://v.vault.azure.cn/", &u), 0);
	CHECK_EQ_STR(u.resource, "https://vault.azure.cn");
	kv_url_free(&u);
	CHECK_EQ_INT(kv_url_parse("https://v.vault.usgovcloudapi.net", &u), 0);
	CHECK_EQ_STR(u.resource, "https://vault.usgovcloudapi.net");
	kv_url_free(&u);
	CHECK_EQ_INT(kv_url_parse("https://h.managedhsm.azure.net/keys/k1/0123abcd", &u), 0);
	CHECK(u.managed_hsm);
	CHECK_EQ_STR(u.resource, "https://managedhsm.azure.net");
	CHECK_EQ_STR(u.collection, "keys");
	CHECK_EQ_STR(u.name, "k1");
	CHECK_EQ_STR(u.version, "0123abcd");
	kv_url_free(&u);
	CHECK_EQ_INT(kv_url_parse("HTTPS://T.Vault.Azure.NET:8443/secrets/s-1", &u), 0);
	CHECK_EQ_STR(u.base, "https://t.vault.azure.net:8443");
	CHECK_EQ_STR(u.name, "s-1");
	CHECK(u.version == NULL);
	kv_url_free(&u);
}

TEST(keyvault_url_rejects_other_hosts_and_shapes)
{
	const char *bad[] = {
		"http://v.vault.azure.net", "https://vault.azure.net", "https://v.vault.azure.net.evil.com",
		"https://evil.com/v.vault.azure.net", "https://a.b.vault.azure.net",
		"https://v.vault.azure.net:", "https://v.vault.azure.net:123456",
		"https://v.vault.azure.net/secrets", "https://v.vault.azure.net/certificates/x",
		"https://v.vault.azure.net/secrets/a_b", "https://v.vault.azure.net/secrets/a/b/c",
		"https://v.vault.azure.net//secrets/a", "https://v.vault.azure.net?x=1",
		"https://v.vault.azure.net/secrets/a/ver-1", "https://127.0.0.1:443",
		"https://user@v.vault.azure.net",
	};
	struct kv_url u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = kv_url_parse(bad[i], &u);

		if (r == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_EQ_INT(r, -EINVAL);
	}
}

TEST(keyvault_challenge_resource_and_scope)
{
	char *res = NULL;

	CHECK_EQ_INT(kv_parse_challenge("Bearer authorization=\"https://login.microsoftonline.com/"
					"72f988bf\", resource=\"https://vault.azure.net\"", &res), 0);
	CHECK_EQ_STR(res, "https://vault.azure.net");
	free(res);
	CHECK_EQ_INT(kv_parse_challenge("Bearer authorization_uri=\"https://login.windows.net/t\","
					"scope=\"https://vault.azure.cn/.default\"", &res), 0);
	CHECK_EQ_STR(res, "https://vault.azure.cn");
	free(res);
	CHECK_EQ_INT(kv_parse_challenge("Bearer realm=\"\", authorization=\"x\"", &res), -ENOENT);
	CHECK_EQ_INT(kv_parse_challenge("Basic realm=\"x\"", &res), -EBADMSG);
	CHECK_EQ_INT(kv_parse_challenge("Bearer resource=\"https://vault.azure.net", &res), -EBADMSG);
	CHECK_EQ_INT(kv_parse_challenge("Bearer =x", &res), -EBADMSG);
}

TEST(keyvault_challenge_resource_must_be_vault_domain)
{
	CHECK(kv_challenge_resource_ok("https://vault.azure.net", "v.vault.azure.net"));
	CHECK(kv_challenge_resource_ok("https://vault.azure.net/", "v.vault.azure.net"));
	CHECK(kv_challenge_resource_ok("https://VAULT.azure.net", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://evil.com", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://management.azure.com", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("http://vault.azure.net", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://ault.azure.net", "v.vault.azure.net"));
	/* exactly the cloud's audience: no parent domain, no other cloud */
	CHECK(!kv_challenge_resource_ok("https://azure.net", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://azure.net/", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://vault.azure.cn", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://vault.azure.net/x", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://vault.azure.net", "v.example.net"));
	CHECK(kv_challenge_resource_ok("https://vault.usgovcloudapi.net", "v.vault.usgovcloudapi.net"));
	CHECK(kv_challenge_resource_ok("https://managedhsm.azure.net", "h.managedhsm.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://vault.azure.net/x", "v.vault.azure.net"));
	CHECK(!kv_challenge_resource_ok("https://v.vault.azure.net", "v.vault.azure.net"));
}

TEST(keyvault_error_messages_verbatim_one_line)
{
	const char *a = "{\"error\":{\"code\":\"Forbidden\",\"message\":\"Caller is not\\nauthorized\","
			"\"innererror\":{\"code\":\"AccessDenied\"}}}";
	char m[128];

	kv_error_message(a, strlen(a), m, sizeof(m));
	CHECK_EQ_STR(m, "Forbidden: Caller is not authorized");
	a = "{\"error\":{\"code\":\"Throttled\"}}";
	kv_error_message(a, strlen(a), m, sizeof(m));
	CHECK_EQ_STR(m, "Throttled");
	kv_error_message("<html>bad gateway</html>", 24, m, sizeof(m));
	CHECK_EQ_STR(m, "<html>bad gateway</html>");
}

TEST(keyvault_secret_bundle)
{
	const char *a = "{\"value\":\"c2VjcmV0\",\"contentType\":\"Wrapped BEK\","
			"\"id\":\"https://v.vault.azure.net/secrets/s1/4387e9f3d6e14c459867679a90fd0f79\","
			"\"attributes\":{\"enabled\":true,\"created\":1493938410},"
			"\"tags\":{\"DiskEncryptionKeyEncryptionKeyURL\":\"https://v.vault.azure.net/keys/k/1\","
			"\"DiskEncryptionKeyEncryptionAlgorithm\":\"RSA-OAEP\",\"VolumeUUID\":\"u\"}}";
	const char *b = "{\"value\":\"x\",\"id\":\"https://v.vault.azure.net/secrets/s1/abc\"}";
	const char *bad[] = {
		"{\"id\":\"https://v.vault.azure.net/secrets/s1/abc\"}",
		"{\"value\":\"x\"}",
		"{\"value\":\"x\",\"id\":\"https://v.vault.azure.net/secrets/s1/\"}",
		"{\"value\":\"x\",\"id\":\"https://v.vault.azure.net/keys/s1/abc\"}",
		"{\"value\":\"x\",\"id\":\"https://v.vault.azure.net/secrets/s1/abc\",\"tags\":5}",
		"{\"value\":\"x\",\"id\":\"https://v.vault.azure.net/secrets/s1/abc\",\"contentType\":1}",
	};
	struct kv_secret s;

	CHECK_EQ_INT(kv_parse_secret_bundle(a, strlen(a), &s), 0);
	CHECK_EQ_STR(s.value, "c2VjcmV0");
	CHECK_EQ_STR(s.version, "4387e9f3d6e14c459867679a90fd0f79");
	CHECK_EQ_STR(s.content_type, "Wrapped BEK");
	CHECK_EQ_STR(s.kek_url, "https://v.vault.azure.net/keys/k/1");
	CHECK_EQ_STR(s.kek_alg, "RSA-OAEP");
	CHECK_EQ_STR(s.volume_uuid, "u");
	kv_secret_free(&s);
	CHECK_EQ_INT(kv_parse_secret_bundle(b, strlen(b), &s), 0);
	CHECK(s.content_type == NULL && s.kek_url == NULL);
	kv_secret_free(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(kv_parse_secret_bundle(bad[i], strlen(bad[i]), &s), -EBADMSG);
}

TEST(keyvault_key_result)
{
	const char *a = "{\"kid\":\"https://v.vault.azure.net/keys/kek/78deebed173b48e48f55abf87ed4cf71\","
			"\"value\":\"5ka5IVsnGrzufA\"}";
	char *kid, *val;

	CHECK_EQ_INT(kv_parse_key_result(a, strlen(a), &kid, &val), 0);
	CHECK_EQ_STR(kid, "https://v.vault.azure.net/keys/kek/78deebed173b48e48f55abf87ed4cf71");
	CHECK_EQ_STR(val, "5ka5IVsnGrzufA");
	free(kid);
	secmem_free(val);
	CHECK_EQ_INT(kv_parse_key_result("{\"kid\":\"x\",\"value\":\"y\"}", 23, &kid, &val), -EBADMSG);
	CHECK_EQ_INT(kv_parse_key_result("{\"value\":\"y\"}", 13, &kid, &val), -EBADMSG);
}

TEST(keyvault_names)
{
	char long_name[130];

	CHECK(kv_name_valid("rootcrypt-5c08b38e-4d57-4c23-ac45-aca61037f084"));
	CHECK(!kv_name_valid(""));
	CHECK(!kv_name_valid("a_b"));
	CHECK(!kv_name_valid("a/b"));
	memset(long_name, 'a', 128);
	long_name[128] = 0;
	CHECK(!kv_name_valid(long_name));
	long_name[127] = 0;
	CHECK(kv_name_valid(long_name));
}

TEST(keyvault_ref_matches_luks2_token)
{
	struct kv_ref in = { .vault_url = "https://v.vault.azure.net", .secret_name = "s",
			     .secret_version = "0123abcd" };
	struct kv_ref ref, bad = { .vault_url = "https://v.vault.azure.net", .secret_name = "s",
				   .kek_id = "https://v.vault.azure.net/keys/k/1" };
	char *json = NULL, sum[512];

	CHECK_EQ_INT(volume_token_from_ref(&in, &json), 0);
	CHECK_EQ_STR(json, "{\"type\":\"azure-keyvault\",\"vault_url\":\"https://v.vault.azure.net\","
			   "\"secret_name\":\"s\",\"secret_version\":\"0123abcd\"}");
	CHECK_EQ_INT(volume_ref_from_token(json, "t", &ref), 0);
	CHECK_EQ_STR(ref.vault_url, "https://v.vault.azure.net");
	CHECK_EQ_STR(ref.secret_version, "0123abcd");
	CHECK(ref.kek_id == NULL && ref.kek_alg == NULL);
	kv_ref_free(&ref);
	volume_ref_summary(json, sum, sizeof(sum));
	CHECK_EQ_STR(sum, "azure-keyvault https://v.vault.azure.net/secrets/s/0123abcd");
	volume_ref_summary(NULL, sum, sizeof(sum));
	CHECK_EQ_STR(sum, "passphrase (no key reference token)");
	free(json);
	/* strict: the vault and the secret must be strings; a KEK comes in pairs */
	CHECK_EQ_INT(volume_ref_from_token("{\"type\":\"azure-keyvault\",\"vault_url\":1,"
					   "\"secret_name\":\"s\"}", "t", &ref), -EINVAL);
	CHECK_EQ_INT(volume_ref_from_token("{\"type\":\"azure-keyvault\",\"vault_url\":\"u\"}",
					   "t", &ref), -EINVAL);
	CHECK_EQ_INT(volume_token_from_ref(&bad, &json), -EINVAL);
}

/* Issue 16.8: every typed value has one reading. "passphrase:" + the
 * passphrase itself; anything else is the vault's form (padded standard
 * base64 of the passphrase) or refused; a bare value is never tried both
 * ways. */
TEST(recovery_prompt_reads_each_value_one_way)
{
	/* the passphrase rootcrypt generates: 43 chars of base64url, no padding */
	const char *pass = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA";
	/* an operator's own passphrase that is valid base64 too */
	const char *b64ish = "Password1234", *typed_b64ish = "passphrase:Password1234";
	char *vault_value = NULL, *out = NULL, typed[80];
	size_t vlen = 0, n = 0;

	vault_value = malloc(base64_encoded_len(strlen(pass), false) + 1);
	CHECK(vault_value != NULL);
	base64_encode(pass, strlen(pass), vault_value, false);
	vlen = strlen(vault_value);
	/* pasted from the portal: decoded to the passphrase */
	CHECK_EQ_INT(keystore_recovery_passphrase(vault_value, vlen, &out, &n), 0);
	CHECK_EQ_INT(n, strlen(pass));
	CHECK(memcmp(out, pass, n) == 0 && out[n] == '\0');
	secmem_free(out);
	/* cut short by one character: refused, not taken as a passphrase */
	CHECK_EQ_INT(keystore_recovery_passphrase(vault_value, vlen - 1, &out, &n), -EBADMSG);
	free(vault_value);
	/* the passphrase itself, with the prefix: taken as typed */
	snprintf(typed, sizeof(typed), "passphrase:%s", pass);
	CHECK_EQ_INT(keystore_recovery_passphrase(typed, strlen(typed), &out, &n), 0);
	CHECK_EQ_INT(n, strlen(pass));
	CHECK(memcmp(out, pass, n) == 0 && out[n] == '\0');
	secmem_free(out);
	/* ... without it: neither form, refused */
	CHECK_EQ_INT(keystore_recovery_passphrase(pass, strlen(pass), &out, &n), -EBADMSG);
	/* a base64-looking passphrase with the prefix: as typed, not decoded */
	CHECK_EQ_INT(keystore_recovery_passphrase(typed_b64ish, strlen(typed_b64ish), &out, &n), 0);
	CHECK_EQ_INT(n, strlen(b64ish));
	CHECK(memcmp(out, b64ish, n) == 0);
	secmem_free(out);
	/* ... without it: the vault's form only (9 decoded bytes), never also
	 * tried as the passphrase */
	CHECK_EQ_INT(keystore_recovery_passphrase(b64ish, strlen(b64ish), &out, &n), 0);
	CHECK_EQ_INT(n, 9);
	CHECK(memcmp(out, b64ish, n) != 0);
	secmem_free(out);
	/* nothing after the prefix, nothing at all, not base64 */
	CHECK_EQ_INT(keystore_recovery_passphrase("passphrase:", 11, &out, &n), -EBADMSG);
	CHECK_EQ_INT(keystore_recovery_passphrase("", 0, &out, &n), -EBADMSG);
	CHECK_EQ_INT(keystore_recovery_passphrase("not base64!!", 12, &out, &n), -EBADMSG);
}

TEST(keyvault_version_from_disk_is_checked)
{
	CHECK(kv_version_valid("0123456789abcdef0123456789abcdef"));
	CHECK(!kv_version_valid(""));
	CHECK(!kv_version_valid("../../keys/k/wrapkey"));
	CHECK(!kv_version_valid("v1?api-version=1"));
	CHECK(!kv_version_valid("v%2f1"));
	CHECK(!kv_version_valid("v#1"));
}

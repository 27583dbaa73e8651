/* The secret is bound to the volume it unlocks (issue 16.2): the vault's
 * SecretBundle must name the secret the token names, and its VolumeUUID
 * tag must be the UUID of the LUKS2 volume being unlocked. The UUID is
 * chosen before the key is stored, so the header the engine writes carries
 * the UUID the key was tagged with. */
#include <errno.h>

#include "engine_hdr.h"
#include "keystore.h"
#include "keyvault.h"
#include "luks2.h"
#include "test.h"

#define HOST "v.vault.azure.net"
#define VER "4387e9f3d6e14c459867679a90fd0f79"
#define UUID_A "0b7e2a51-9f0c-4c53-a0a4-2f7b1d1f6a10"
#define UUID_B "c6a1f3e0-5d2b-4e8a-9b7c-1a2b3c4d5e6f"

static int bundle(const char *json, struct kv_secret *s)
{
	return kv_parse_secret_bundle(json, strlen(json), s);
}

TEST(keystore_secret_id_names_the_secret_asked_for)
{
	const char *id = "https://" HOST "/secrets/vol1/" VER;

	CHECK(kv_secret_id_is(id, HOST, "vol1", VER));
	CHECK(kv_secret_id_is(id, HOST, "vol1", NULL));          /* latest: any version */
	CHECK(kv_secret_id_is("https://V.Vault.Azure.Net/secrets/VOL1/" VER, HOST, "vol1", VER));
	CHECK(kv_secret_id_is("https://" HOST ":8443/secrets/vol1/" VER, HOST, "vol1", VER));
	CHECK(!kv_secret_id_is(id, HOST, "vol2", VER));
	CHECK(!kv_secret_id_is(id, HOST, "vol1", "0123456789abcdef0123456789abcdef"));
	CHECK(!kv_secret_id_is(id, "other.vault.azure.net", "vol1", VER));
	CHECK(!kv_secret_id_is("https://" HOST "/keys/vol1/" VER, HOST, "vol1", VER));
	CHECK(!kv_secret_id_is("https://" HOST "/secrets/vol1", HOST, "vol1", NULL));
	CHECK(!kv_secret_id_is("https://" HOST "/secrets/vol1/" VER "/x", HOST, "vol1", VER));
	CHECK(!kv_secret_id_is(NULL, HOST, "vol1", VER));
}

TEST(keystore_secret_tag_binds_it_to_the_volume)
{
	struct kv_config strict = { 0 }, lax = { .untagged_ok = true };
	struct kv_secret s;

	/* tagged for the volume being unlocked (case as cryptsetup prints it) */
	CHECK_EQ_INT(bundle("{\"value\":\"x\",\"id\":\"https://" HOST "/secrets/vol1/" VER "\","
			    "\"tags\":{\"VolumeUUID\":\"0B7E2A51-9F0C-4C53-A0A4-2F7B1D1F6A10\"}}", &s), 0);
	CHECK_EQ_INT(keystore_check_binding(&strict, &s, HOST, "vol1", VER, UUID_A), 0);
	/* ... and refused for another volume, even where untagged is accepted */
	CHECK_EQ_INT(keystore_check_binding(&strict, &s, HOST, "vol1", VER, UUID_B), -EPERM);
	CHECK_EQ_INT(keystore_check_binding(&lax, &s, HOST, "vol1", VER, UUID_B), -EPERM);
	/* a fetch by name that unlocks nothing checks the id only */
	CHECK_EQ_INT(keystore_check_binding(&strict, &s, HOST, "vol1", VER, NULL), 0);
	CHECK_EQ_INT(keystore_check_binding(&strict, &s, HOST, "vol2", VER, NULL), -EPERM);
	kv_secret_free(&s);

	/* untagged (an older rootcrypt's store): refused unless accepted */
	CHECK_EQ_INT(bundle("{\"value\":\"x\",\"id\":\"https://" HOST "/secrets/vol1/" VER "\","
			    "\"tags\":{\"CreatedBy\":\"rootcrypt\"}}", &s), 0);
	CHECK(s.volume_uuid == NULL);
	CHECK_EQ_INT(keystore_check_binding(&strict, &s, HOST, "vol1", VER, UUID_A), -EPERM);
	CHECK_EQ_INT(keystore_check_binding(&lax, &s, HOST, "vol1", VER, UUID_A), 0);
	kv_secret_free(&s);
	CHECK_EQ_INT(bundle("{\"value\":\"x\",\"id\":\"https://" HOST "/secrets/vol1/" VER "\"}", &s),
		     0);
	CHECK_EQ_INT(keystore_check_binding(&strict, &s, HOST, "vol1", VER, UUID_A), -EPERM);
	/* the right tag does not excuse another version in the reply */
	kv_secret_free(&s);
	CHECK_EQ_INT(bundle("{\"value\":\"x\",\"id\":\"https://" HOST "/secrets/vol1/"
			    "0123456789abcdef0123456789abcdef\",\"tags\":{\"VolumeUUID\":\"" UUID_A
			    "\"}}", &s), 0);
	CHECK_EQ_INT(keystore_check_binding(&lax, &s, HOST, "vol1", VER, UUID_A), -EPERM);
	kv_secret_free(&s);
	/* a tag that is not a string is a malformed reply */
	CHECK_EQ_INT(bundle("{\"value\":\"x\",\"id\":\"https://" HOST "/secrets/vol1/" VER "\","
			    "\"tags\":{\"VolumeUUID\":7}}", &s), -EBADMSG);
}

TEST(keystore_volume_uuid_chosen_before_the_header)
{
	static const uint8_t vk[64] = { 1 };
	struct engine_hdr_new n = { .layout = ENGINE_LAYOUT_SHIFT, .sector_size = 4096,
				    .data_off = 16 << 20, .plain_len = 64 << 20,
				    .tail_size = 2 << 20, .volume_key = vk,
				    .passphrase = "p", .passphrase_len = 1 };
	struct engine_hdr_info i;
	struct engine_hdr *h = NULL;
	char u[40], u2[40];

	CHECK_EQ_INT(luks2_uuid_random(u, sizeof(u)), 0);
	CHECK_EQ_INT(strlen(u), 36);
	CHECK(u[8] == '-' && u[13] == '-' && u[14] == '4' && u[18] == '-' && u[23] == '-');
	CHECK_EQ_INT(luks2_uuid_random(u2, sizeof(u2)), 0);
	CHECK(strcmp(u, u2) != 0);
	CHECK_EQ_INT(luks2_uuid_random(u2, 36), -EINVAL);
	n.uuid = u;
	CHECK_EQ_INT(engine_hdr_new(&h, &n), 0);
	engine_hdr_get(h, &i);
	engine_hdr_free(h);
	CHECK_EQ_STR(i.uuid, u);
}

/* The disk does not choose where the VM's token goes (issue 16): a key
 * reference read from a header must name the configured vault and KEK. */
#include <errno.h>

#include "keystore.h"
#include "test.h"

static struct kv_ref ref_of(const char *vault, const char *kek)
{
	struct kv_ref r = { 0 };

	r.vault_url = (char *)vault;
	r.secret_name = (char *)"s";
	r.kek_id = (char *)kek;
	return r;
}

TEST(keystore_token_vault_is_pinned)
{
	struct kv_config c = { .vault = "https://mine.vault.azure.net" };
	struct kv_ref r;

	r = ref_of("https://mine.vault.azure.net", NULL);
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), 0);
	r = ref_of("https://MINE.vault.azure.net/", NULL);
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), 0);
	r = ref_of("https://evil.vault.azure.net", NULL);
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), -EPERM);
	r = ref_of("https://mine.vault.azure.net.evil.com", NULL);
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), -EPERM);
	/* no KEK configured: a KEK is only accepted inside the vault */
	r = ref_of("https://mine.vault.azure.net", "https://mine.vault.azure.net/keys/k/0123abcd");
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), 0);
	r = ref_of("https://mine.vault.azure.net", "https://evil.vault.azure.net/keys/k/0123abcd");
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), -EPERM);
	/* a configured KEK (with or without version) must be the token's */
	c.kek = "https://hsm.managedhsm.azure.net/keys/k";
	r = ref_of("https://mine.vault.azure.net", "https://hsm.managedhsm.azure.net/keys/k/0123abcd");
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), 0);
	r = ref_of("https://mine.vault.azure.net", "https://hsm.managedhsm.azure.net/keys/k2/0123abcd");
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), -EPERM);
	r = ref_of("https://mine.vault.azure.net", NULL);
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), -EPERM);
	/* the operator's explicit choice */
	c.token_vault_any = true;
	r = ref_of("https://evil.vault.azure.net", NULL);
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), 0);
	/* nothing configured (an operator's `rootcrypt open`): the token */
	c = (struct kv_config){ 0 };
	CHECK_EQ_INT(keystore_ref_pinned(&c, &r), 0);
}

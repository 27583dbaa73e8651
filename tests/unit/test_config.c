#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "enroll.h"
#include "test.h"

TEST(config_file_keys_comments_quotes)
{
	const char *text =
		"# rootcrypt\n"
		"\n"
		"device = PARTUUID=1234-5678\n"
		"  vault=https://v.vault.azure.net  \r\n"
		"secret = \"my-secret\"\n"
		"kek = https://v.vault.azure.net/keys/kek/abc\n"
		"kek_alg = RSA-OAEP\n"
		"layout = detached\n"
		"header = /boot/root.luks\n"
		"client_id = 11111111-2222-3333-4444-555555555555\n"
		"retry_timeout = 120\n"
		"\t# indented comment\n"
		"name = root";
	struct rootcrypt_config c = { 0 };

	CHECK_EQ_INT(config_parse_file_text(&c, text, strlen(text), "test"), 0);
	CHECK_EQ_STR(c.device, "PARTUUID=1234-5678");
	CHECK_EQ_STR(c.vault, "https://v.vault.azure.net");
	CHECK_EQ_STR(c.secret, "my-secret");
	CHECK_EQ_STR(c.kek, "https://v.vault.azure.net/keys/kek/abc");
	CHECK_EQ_STR(c.kek_alg, "RSA-OAEP");
	CHECK_EQ_STR(c.layout, "detached");
	CHECK_EQ_STR(c.header, "/boot/root.luks");
	CHECK_EQ_STR(c.client_id, "11111111-2222-3333-4444-555555555555");
	CHECK_EQ_STR(c.name, "root");
	CHECK_EQ_INT(c.retry_timeout_ms, 120000);
	CHECK_EQ_INT(config_validate(&c), 0);
	config_free(&c);
}

TEST(config_file_errors_are_fatal)
{
	const char *bad[] = {
		"vualt = https://v.vault.azure.net\n",   /* typo */
		"vault\n",
		"= x\n",
		"layout = sideways\n",
		"kek_alg = RSA1_5\n",
		"vault = http://v.vault.azure.net\n",
		"retry_timeout = 0\n",
		"retry_timeout = 5s\n",
		"secret = has space\n",
		"resolve = host:443\n",
		"device =\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rootcrypt_config c = { 0 };

		CHECK_EQ_INT(config_parse_file_text(&c, bad[i], strlen(bad[i]), "test"), -EINVAL);
		config_free(&c);
	}
}

TEST(config_cmdline_overrides_and_quotes)
{
	const char *file = "vault = https://a.vault.azure.net\nsecret = s1\nname = root\n";
	const char *cmd = "BOOT_IMAGE=/vmlinuz root=/dev/mapper/root ro rootcrypt.secret=s2 "
			  "\"rootcrypt.device=/dev/disk/by-label/my root\" rootcrypt.header=\"/boot/a b\" "
			  "rootcrypt.unknown=1 rootcrypt.layout=bad "
			  "rootcrypt.name rootcrypt.object_id=o1 -- rootcrypt.name=after\n";
	struct rootcrypt_config c = { 0 };

	CHECK_EQ_INT(config_parse_file_text(&c, file, strlen(file), "f"), 0);
	CHECK_EQ_INT(config_parse_cmdline(&c, cmd), 0);
	CHECK_EQ_STR(c.vault, "https://a.vault.azure.net");
	CHECK_EQ_STR(c.secret, "s2");
	CHECK_EQ_STR(c.device, "/dev/disk/by-label/my root");
	CHECK_EQ_STR(c.header, "/boot/a b");
	CHECK_EQ_STR(c.object_id, "o1");
	CHECK_EQ_STR(c.name, "root");          /* nothing after "--" */
	CHECK(c.layout == NULL);               /* bad value ignored */
	config_free(&c);
}

/* Issue 16.4: where the bearer token comes from (imds), where the vault is
 * (resolve) and whom TLS trusts for it (ca_file) are set in the initramfs's
 * config file only; on the kernel line they are ignored, the file's values
 * stand. */
TEST(config_cmdline_cannot_redirect_the_key_service)
{
	const char *file = "vault = https://a.vault.azure.net\nimds = http://169.254.169.254\n"
			   "ca_file = /etc/rootcrypt/ca.pem\nresolve = a.vault.azure.net:443:10.1.1.1\n";
	const char *cmd = "rootcrypt.imds=http://10.0.0.1:80 rootcrypt.ca_file=/tmp/evil.pem "
			  "rootcrypt.resolve=a.vault.azure.net:443:10.6.6.6 rootcrypt.secret=s2";
	struct rootcrypt_config c = { 0 }, k = { 0 };

	CHECK_EQ_INT(config_parse_file_text(&c, file, strlen(file), "f"), 0);
	CHECK_EQ_INT(config_parse_cmdline(&c, cmd), 0);
	CHECK_EQ_STR(c.imds, "http://169.254.169.254");
	CHECK_EQ_STR(c.ca_file, "/etc/rootcrypt/ca.pem");
	CHECK_EQ_STR(c.resolve, "a.vault.azure.net:443:10.1.1.1");
	CHECK_EQ_STR(c.secret, "s2"); /* the rest of the line still applies */
	config_free(&c);
	/* nothing in the file: still not taken from the kernel line */
	CHECK_EQ_INT(config_parse_cmdline(&k, cmd), 0);
	CHECK(k.imds == NULL && k.ca_file == NULL && k.resolve == NULL);
	config_free(&k);
}

TEST(config_one_identity_selector)
{
	struct rootcrypt_config c = { 0 };

	CHECK_EQ_INT(config_parse_cmdline(&c, "rootcrypt.client_id=a rootcrypt.msi_res_id=b"), 0);
	CHECK_EQ_INT(config_validate(&c), -EINVAL);
	config_free(&c);
}

TEST(config_reads_what_enroll_writes)
{
	struct enroll_opts o = { .device = "PARTUUID=abcd", .vault = "https://v.vault.azure.net",
				 .secret = "", .kek = "https://v.vault.azure.net/keys/kek",
				 .layout = "shift", .client_id = "cid" };
	struct rootcrypt_config c = { 0 };
	char *text = enroll_config_text(&o);

	CHECK(text != NULL);
	CHECK_EQ_INT(config_parse_file_text(&c, text, strlen(text), "enroll"), 0);
	free(text);
	CHECK_EQ_STR(c.device, "PARTUUID=abcd");
	CHECK_EQ_STR(c.kek_alg, "RSA-OAEP-256");
	CHECK_EQ_STR(c.layout, "shift");
	CHECK_EQ_STR(c.name, "root");
	CHECK(c.secret == NULL);
	config_free(&c);
}

TEST(config_header_device_needs_an_absolute_header_path)
{
	struct rootcrypt_config c = { 0 };
	const char *bad = "header_device = UUID=1234\nheader = hdr.luks\n";
	const char *good = "header_device = UUID=1234\nheader = /rootcrypt/root.luks\n"
			   "layout = detached\n";

	CHECK_EQ_INT(config_parse_file_text(&c, bad, strlen(bad), "test"), 0);
	CHECK_EQ_INT(config_validate(&c), -EINVAL);
	config_free(&c);
	CHECK_EQ_INT(config_parse_file_text(&c, good, strlen(good), "test"), 0);
	CHECK_EQ_INT(config_validate(&c), 0);
	CHECK_EQ_STR(c.header_device, "UUID=1234");
	config_free(&c);
	CHECK_EQ_INT(config_set(&c, "layout", "detached"), 0);
	CHECK_EQ_INT(config_validate(&c), -EINVAL); /* detached without a header */
	config_free(&c);
}

TEST(config_get_spells_values_like_the_file)
{
	struct rootcrypt_config c = { 0 };
	static const char text[] = "name = \"cr root\"\nretry_timeout = 45\n";
	char *v = (char *)1;

	CHECK_EQ_INT(config_parse_file_text(&c, text, sizeof(text) - 1, "t"), 0);
	CHECK_EQ_INT(config_get(&c, "name", &v), 0);
	CHECK_EQ_STR(v, "cr root");
	free(v);
	CHECK_EQ_INT(config_get(&c, "retry_timeout", &v), 0);
	CHECK_EQ_STR(v, "45");
	free(v);
	CHECK_EQ_INT(config_get(&c, "vault", &v), 0);
	CHECK(v == NULL);
	CHECK_EQ_INT(config_get(&c, "prompt_timeout", &v), 0);
	CHECK(v == NULL);
	CHECK_EQ_INT(config_get(&c, "no_such_key", &v), -ENOENT);
	config_free(&c);
}

/* mode = offline|online (issue 18): file, kernel line over the file, a bad
 * value fatal in the file and ignored on the kernel line, unset = NULL
 * (offline is the default the boot applies). */
TEST(config_mode_offline_or_online)
{
	struct rootcrypt_config c = { 0 };
	static const char text[] = "mode = online\n";
	static const char bad[] = "mode = background\n";
	char *v = NULL;

	CHECK_EQ_INT(config_get(&c, "mode", &v), 0);
	CHECK(v == NULL);
	CHECK_EQ_INT(config_parse_file_text(&c, text, sizeof(text) - 1, "t"), 0);
	CHECK_EQ_STR(c.mode, "online");
	CHECK_EQ_INT(config_parse_cmdline(&c, "quiet rootcrypt.mode=offline"), 0);
	CHECK_EQ_STR(c.mode, "offline");
	CHECK_EQ_INT(config_parse_cmdline(&c, "rootcrypt.mode=fast"), 0);
	CHECK_EQ_STR(c.mode, "offline");
	CHECK_EQ_INT(config_get(&c, "mode", &v), 0);
	CHECK_EQ_STR(v, "offline");
	free(v);
	config_free(&c);
	CHECK_EQ_INT(config_parse_file_text(&c, bad, sizeof(bad) - 1, "t"), -EINVAL);
	config_free(&c);
	CHECK_EQ_INT(config_set(&c, "mode", "Online"), -EINVAL);
	config_free(&c);
}

/* online_rate = MB/s (issue 18, the unit's io.max cap): whole numbers
 * 1..100000 only. */
TEST(config_online_rate_whole_mb_per_s)
{
	struct rootcrypt_config c = { 0 };
	static const char text[] = "online_rate = 20\n";

	CHECK_EQ_INT(config_parse_file_text(&c, text, sizeof(text) - 1, "t"), 0);
	CHECK_EQ_STR(c.online_rate, "20");
	CHECK_EQ_INT(config_set(&c, "online_rate", "0"), -EINVAL);
	CHECK_EQ_INT(config_set(&c, "online_rate", "5.5"), -EINVAL);
	CHECK_EQ_INT(config_set(&c, "online_rate", "+5"), -EINVAL);
	CHECK_EQ_INT(config_set(&c, "online_rate", "100001"), -EINVAL);
	CHECK_EQ_INT(config_set(&c, "online_rate", "100000"), 0);
	CHECK_EQ_STR(c.online_rate, "100000");
	config_free(&c);
}

#include <stdlib.h>

#include "enroll.h"
#include "test.h"

TEST(enroll_cmdline_merge_replaces_our_params_only)
{
	char *s = enroll_cmdline_merge("quiet root=UUID=abc console=ttyS0 rootcrypt.vault=x ip=off",
				       "root=/dev/mapper/root rd.neednet=1 ip=dhcp");

	CHECK_EQ_STR(s, "quiet console=ttyS0 root=/dev/mapper/root rd.neednet=1 ip=dhcp");
	free(s);
	s = enroll_cmdline_merge("", "root=/dev/mapper/r");
	CHECK_EQ_STR(s, "root=/dev/mapper/r");
	free(s);
	/* Undo: merge with nothing removes ours and keeps the rest. */
	s = enroll_cmdline_merge("console=ttyS0 root=/dev/mapper/root rootcrypt.name=root", "");
	CHECK_EQ_STR(s, "console=ttyS0");
	free(s);
}

TEST(enroll_config_text_lists_given_keys)
{
	struct enroll_opts o = { .device = "PARTUUID=1234", .vault = "https://v.vault.azure.net",
				 .secret = "", .kek = "https://v.vault.azure.net/keys/k/1" };
	char *s = enroll_config_text(&o);

	CHECK(s != NULL);
	CHECK(strstr(s, "\ndevice = PARTUUID=1234\n") != NULL);
	CHECK(strstr(s, "\nname = root\n") != NULL);
	CHECK(strstr(s, "\nkek_alg = RSA-OAEP-256\n") != NULL);
	CHECK(strstr(s, "\nlayout = shift\n") != NULL);
	CHECK(strstr(s, "secret =") == NULL);
	free(s);
}

TEST(enroll_kernel_params_name)
{
	struct enroll_opts o = { .name = "cryptroot" };
	char *s = enroll_kernel_params(&o);

	CHECK_EQ_STR(s, "root=/dev/mapper/cryptroot rootcrypt.name=cryptroot rd.neednet=1 ip=dhcp");
	free(s);
}

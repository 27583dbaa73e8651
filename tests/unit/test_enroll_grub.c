#include <string.h>

#include "enroll_grub.h"
#include "test.h"

TEST(enroll_grub_snippet_overrides_root_settings)
{
	char why[128];

	/* Ubuntu's cloud snippet: console and terminal settings only */
	CHECK_EQ_INT(enroll_grub_snippet_overrides(
			     "# Set the recordfail timeout\nGRUB_RECORDFAIL_TIMEOUT=0\n"
			     "GRUB_CMDLINE_LINUX_DEFAULT=\"console=tty1 console=ttyS0 earlyprintk=ttyS0\"\n"
			     "GRUB_TERMINAL=serial\n", why, sizeof(why)), 0);
	CHECK_EQ_INT(enroll_grub_snippet_overrides("#GRUB_DEVICE=/dev/sda1\n", why, sizeof(why)), 0);
	CHECK_EQ_INT(enroll_grub_snippet_overrides("GRUB_CMDLINE_LINUX=\"nosplash\"\n"
						   "GRUB_DEVICE=/dev/sda1\n", why, sizeof(why)), 1);
	CHECK_EQ_STR(why, "line 2 sets GRUB_DEVICE");
	CHECK_EQ_INT(enroll_grub_snippet_overrides("  export GRUB_DISABLE_LINUX_UUID=false\n", why,
						   sizeof(why)), 1);
	CHECK_EQ_STR(why, "line 1 sets GRUB_DISABLE_LINUX_UUID");
	CHECK_EQ_INT(enroll_grub_snippet_overrides("GRUB_DISABLE_LINUX_PARTUUID=false", why,
						   sizeof(why)), 1);
	CHECK_EQ_INT(enroll_grub_snippet_overrides(
			     "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT root=/dev/sda1\"\n",
			     why, sizeof(why)), 1);
	CHECK_EQ_STR(why, "line 1 puts a root= on the kernel line");
	/* a parameter that merely ends in root= is not root= */
	CHECK_EQ_INT(enroll_grub_snippet_overrides("GRUB_CMDLINE_LINUX=\"fakeroot=1\"\n", why,
						   sizeof(why)), 0);
}

TEST(enroll_grub_cfg_check_wants_one_mapper_root)
{
	static const char good[] =
		"menuentry 'Debian GNU/Linux' {\n"
		"\tlinux\t/vmlinuz-6.1.0-57-cloud-amd64 root=/dev/mapper/root ro console=ttyS0\n"
		"\tinitrd\t/initrd.img-6.1.0-57-cloud-amd64\n}\n"
		"menuentry 'recovery' {\n"
		"\t\tlinux\t/boot/vmlinuz root=/dev/mapper/root ro single\n}\n";
	char why[256];

	CHECK_EQ_INT(enroll_grub_cfg_check(good, "root", why, sizeof(why)), 0);
	CHECK_EQ_INT(enroll_grub_cfg_check(good, "cryptroot", why, sizeof(why)), 1);
	/* two root= (a snippet added one): the kernel takes the last, the hidden fs */
	CHECK_EQ_INT(enroll_grub_cfg_check("\tlinux /vmlinuz root=/dev/mapper/root ro "
					   "root=UUID=1234\n", "root", why, sizeof(why)), 1);
	CHECK(strstr(why, "line 1") && strstr(why, "2 root= parameters"));
	CHECK_EQ_INT(enroll_grub_cfg_check("\tlinux /vmlinuz root=UUID=1234 ro\n", "root", why,
					   sizeof(why)), 1);
	CHECK(strstr(why, "another device") != NULL);
	CHECK_EQ_INT(enroll_grub_cfg_check("\tlinux /vmlinuz ro quiet\n", "root", why, sizeof(why)),
		     1);
	CHECK_EQ_INT(enroll_grub_cfg_check("set timeout=5\n", "root", why, sizeof(why)), 1);
	CHECK_EQ_STR(why, "the generated grub.cfg has no linux line");
	/* linuxefi (older distros' EFI command) is a kernel line too */
	CHECK_EQ_INT(enroll_grub_cfg_check("  linuxefi /vmlinuz root=UUID=1 ro\n", "root", why,
					   sizeof(why)), 1);
	/* "linux" as part of a longer word is not a kernel line */
	CHECK_EQ_INT(enroll_grub_cfg_check("linux_gfx_mode=keep\n\tlinux /v root=/dev/mapper/root\n",
					   "root", why, sizeof(why)), 0);
}

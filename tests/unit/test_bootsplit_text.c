/* The /boot split's text edits: GRUB's search lines R -> B (and nothing
 * else), R's fstab gaining `UUID=B /boot` once, in the right place. */
#include <errno.h>
#include <stdlib.h>

#include "bootsplit_text.h"
#include "test.h"

#define R "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"
#define RU "0A1B2C3D-4E5F-4A6B-8C7D-8E9FA0B1C2D3"
#define B "11111111-2222-4333-8444-555555555555"

static char *rewrite(const char *in, unsigned *count)
{
	char *out = NULL;
	size_t len = 0;

	if (bootsplit_grubcfg_rewrite(in, strlen(in), R, B, &out, &len, count) < 0)
		return NULL;
	if (len != strlen(in)) {
		free(out);
		return NULL;
	}
	return out;
}

TEST(bootsplit_uuid_valid_forms)
{
	CHECK(bootsplit_uuid_valid(R));
	CHECK(bootsplit_uuid_valid(RU));
	CHECK(!bootsplit_uuid_valid(R "0"));
	CHECK(!bootsplit_uuid_valid("0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d"));
	CHECK(!bootsplit_uuid_valid("0a1b2c3d-4e5f-4a6b-8c7d_8e9fa0b1c2d3"));
	CHECK(!bootsplit_uuid_valid("0a1b2c3g-4e5f-4a6b-8c7d-8e9fa0b1c2d3"));
	CHECK(!bootsplit_uuid_valid(""));
}

TEST(bootsplit_grubcfg_search_lines_only)
{
	/* as update-grub writes them on Debian 12 */
	const char *in =
		"insmod ext2\n"
		"if [ x$feature_platform_search_hint = xy ]; then\n"
		"  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt1 "
		"--hint-efi=hd0,gpt1 --hint-baremetal=ahci0,gpt1  " R "\n"
		"else\n"
		"\tsearch --no-floppy --fs-uuid --set=root " RU "\n"
		"fi\n"
		"search.fs_uuid " R " root hd0,gpt1\n"
		"\tlinux\t/boot/vmlinuz-6.1.0-13-cloud-amd64 root=UUID=" R " ro console=ttyS0\n"
		"# search " R " in a comment stays\n"
		"searching " R "\n"
		"search --fs-uuid --set=root " R "0\n"
		"search --fs-uuid --set=root x" R "\n"
		"search --fs-uuid --set=root 99999999-2222-4333-8444-555555555555\n"
		"search --fs-uuid --set=root " R;
	const char *want =
		"insmod ext2\n"
		"if [ x$feature_platform_search_hint = xy ]; then\n"
		"  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt1 "
		"--hint-efi=hd0,gpt1 --hint-baremetal=ahci0,gpt1  " B "\n"
		"else\n"
		"\tsearch --no-floppy --fs-uuid --set=root " B "\n"
		"fi\n"
		"search.fs_uuid " B " root hd0,gpt1\n"
		"\tlinux\t/boot/vmlinuz-6.1.0-13-cloud-amd64 root=UUID=" R " ro console=ttyS0\n"
		"# search " R " in a comment stays\n"
		"searching " R "\n"
		"search --fs-uuid --set=root " R "0\n"
		"search --fs-uuid --set=root x" B "\n"
		"search --fs-uuid --set=root 99999999-2222-4333-8444-555555555555\n"
		"search --fs-uuid --set=root " B;
	unsigned count = 99;
	char *out = rewrite(in, &count);

	CHECK(out != NULL);
	CHECK_EQ_STR(out, want);
	CHECK_EQ_INT(count, 5);
	free(out);
	/* nothing to do: the same bytes, no replacement */
	out = rewrite("linux /vmlinuz root=UUID=" R "\n", &count);
	CHECK(out != NULL);
	CHECK_EQ_STR(out, "linux /vmlinuz root=UUID=" R "\n");
	CHECK_EQ_INT(count, 0);
	free(out);
}

TEST(bootsplit_grubcfg_refuses_bad_uuids)
{
	char *out = NULL;
	size_t len;
	unsigned count;

	CHECK_EQ_INT(bootsplit_grubcfg_rewrite("x", 1, "r", B, &out, &len, &count), -EINVAL);
	CHECK_EQ_INT(bootsplit_grubcfg_rewrite("x", 1, R, B "x", &out, &len, &count), -EINVAL);
	CHECK(out == NULL);
}

#define LINE "UUID=" B " /boot ext4 defaults 0 2\n"

TEST(bootsplit_fstab_before_efi)
{
	const char *in = "# /etc/fstab: static file system information.\n"
			 "PARTUUID=aaaa / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1\n"
			 "PARTUUID=bbbb /boot/efi vfat defaults 0 0\n"
			 "/swapfile none swap sw 0 0\n";
	const char *want = "# /etc/fstab: static file system information.\n"
			   "PARTUUID=aaaa / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1\n"
			   LINE
			   "PARTUUID=bbbb /boot/efi vfat defaults 0 0\n"
			   "/swapfile none swap sw 0 0\n";
	char *out = NULL, *again = NULL;

	CHECK_EQ_INT(bootsplit_fstab_add(in, B, &out), 1);
	CHECK_EQ_STR(out, want);
	/* idempotent: the line is there, no change */
	CHECK_EQ_INT(bootsplit_fstab_add(out, B, &again), 0);
	CHECK(again == NULL);
	free(out);
}

TEST(bootsplit_fstab_at_end)
{
	char *out = NULL;

	CHECK_EQ_INT(bootsplit_fstab_add("UUID=x / ext4 defaults 0 1\n", B, &out), 1);
	CHECK_EQ_STR(out, "UUID=x / ext4 defaults 0 1\n" LINE);
	free(out);
	/* no final newline */
	CHECK_EQ_INT(bootsplit_fstab_add("UUID=x / ext4 defaults 0 1", B, &out), 1);
	CHECK_EQ_STR(out, "UUID=x / ext4 defaults 0 1\n" LINE);
	free(out);
	CHECK_EQ_INT(bootsplit_fstab_add("", B, &out), 1);
	CHECK_EQ_STR(out, LINE);
	free(out);
	/* a commented-out /boot line and a /boot/efi in a comment count for nothing */
	CHECK_EQ_INT(bootsplit_fstab_add("# UUID=y /boot ext2 defaults 0 2\n"
					 "  #x /boot/efi vfat\n", B, &out), 1);
	CHECK_EQ_STR(out, "# UUID=y /boot ext2 defaults 0 2\n  #x /boot/efi vfat\n" LINE);
	free(out);
	/* the line with other spacing and a trailing slash is ours already */
	CHECK_EQ_INT(bootsplit_fstab_add("UUID=11111111-2222-4333-8444-555555555555\t/boot/  "
					 "ext4 defaults\n", B, &out), 0);
}

TEST(bootsplit_fstab_refuses_other_boot)
{
	char *out = NULL;

	CHECK_EQ_INT(bootsplit_fstab_add("UUID=x / ext4 defaults 0 1\n"
					 "UUID=y /boot ext2 defaults 0 2\n", B, &out), -EEXIST);
	CHECK_EQ_INT(bootsplit_fstab_add("LABEL=boot /boot/ ext4 defaults 0 2\n", B, &out),
		     -EEXIST);
	/* same UUID text but a different spec form is still another line */
	CHECK_EQ_INT(bootsplit_fstab_add("PARTUUID=" B " /boot ext4 defaults 0 2\n", B, &out),
		     -EEXIST);
	CHECK(out == NULL);
	CHECK_EQ_INT(bootsplit_fstab_add("x", "not-a-uuid", &out), -EINVAL);
}

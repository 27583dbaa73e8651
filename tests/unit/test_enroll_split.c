/* enroll's side of the /boot split: the config lines it writes (and
 * replaces on a re-enroll), the identities it makes, the lines it prints,
 * and the plan's disk facts from a GPT. Pure: no I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bootsplit_geom.h"
#include "config.h"
#include "enroll.h"
#include "enroll_split.h"
#include "test.h"

#define MIB (1ull << 20)
#define B_UUID "c56b7ac6-8997-46be-aba6-d919bd2dd2d7"
#define PB_UUID "e33d26b4-ba1c-46c0-9c79-d6f22a5fe61a"
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void split_opts(struct enroll_opts *o)
{
	*o = (struct enroll_opts){ .device = "PARTUUID=p1", .vault = "https://v.vault.azure.net",
				   .boot_split_uuid = B_UUID, .boot_split_partuuid = PB_UUID,
				   .boot_split_size = "64",
				   .boot_split_core = "/var/lib/rootcrypt/bootsplit/core.img",
				   .boot_split_core_sha256 = SHA,
				   .boot_split_esp_files = "EFI/debian/grub.cfg EFI/BOOT/BOOTX64.EFI" };
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The keys the boot side reads (config.h), and config.c's parser accepts
 * every one of them. */
TEST(enroll_split_config_text_has_the_boot_split_keys)
{
	struct rootcrypt_config c = { 0 };
	struct enroll_opts o;
	char *s;

	split_opts(&o);
	s = enroll_config_text(&o);
	CHECK(s != NULL);
	CHECK(strstr(s, "\nboot_split_uuid = " B_UUID "\n") != NULL);
	CHECK(strstr(s, "\nboot_split_partuuid = " PB_UUID "\n") != NULL);
	CHECK(strstr(s, "\nboot_split_size = 64\n") != NULL);
	CHECK(strstr(s, "\nboot_split_core = /var/lib/rootcrypt/bootsplit/core.img\n") != NULL);
	CHECK(strstr(s, "\nboot_split_core_sha256 = " SHA "\n") != NULL);
	CHECK(strstr(s, "\nboot_split_esp_files = EFI/debian/grub.cfg EFI/BOOT/BOOTX64.EFI\n") != NULL);
	CHECK_EQ_INT(config_parse_file_text(&c, s, strlen(s), "test"), 0);
	CHECK_EQ_STR(c.boot_split_uuid, B_UUID);
	CHECK_EQ_STR(c.boot_split_esp_files, "EFI/debian/grub.cfg EFI/BOOT/BOOTX64.EFI");
	config_free(&c);
	free(s);

	/* UEFI only: no core lines; no split: no boot_split_* line at all */
	o.boot_split_core = NULL;
	s = enroll_config_text(&o);
	CHECK(s != NULL && strstr(s, "boot_split_core") == NULL && strstr(s, "boot_split_uuid"));
	free(s);
	o.boot_split_uuid = NULL;
	s = enroll_config_text(&o);
	CHECK(s != NULL && strstr(s, "boot_split") == NULL);
	free(s);
}

/* A re-enroll writes each boot_split_* key once; one that no longer splits
 * (/boot now its own file system) drops them. */
TEST(enroll_split_config_merge_replaces_the_keys)
{
	struct enroll_opts o;
	char *old, *s;

	CHECK(enroll_key_is_managed("boot_split_uuid"));
	CHECK(enroll_key_is_managed("boot_split_esp_files"));
	CHECK(!enroll_key_is_managed("ca_file"));
	split_opts(&o);
	old = enroll_config_text(&o);
	CHECK(old != NULL);
	o.boot_split_size = "96";
	s = enroll_config_merge(old, &o);
	CHECK(s != NULL);
	CHECK_EQ_INT(count(s, "boot_split_uuid ="), 1);
	CHECK_EQ_INT(count(s, "boot_split_size ="), 1);
	CHECK_EQ_INT(count(s, "boot_split_core_sha256 ="), 1);
	CHECK(strstr(s, "\nboot_split_size = 96\n") != NULL);
	free(s);
	o.boot_split_uuid = NULL;
	s = enroll_config_merge(old, &o);
	CHECK(s != NULL && strstr(s, "boot_split") == NULL);
	free(s);
	free(old);
}

/* Version 4, RFC 4122 variant, lower case: what config.c's V_UUID takes. */
TEST(enroll_split_uuid_is_a_lower_case_v4)
{
	struct rootcrypt_config c = { 0 };
	uint8_t ff[16], zero[16] = { 0 };
	char u[37];

	memset(ff, 0xff, sizeof(ff));
	enroll_split_uuid(ff, u);
	CHECK_EQ_STR(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
	enroll_split_uuid(zero, u);
	CHECK_EQ_STR(u, "00000000-0000-4000-8000-000000000000");
	CHECK_EQ_INT(config_set(&c, "boot_split_partuuid", u), 0);
	config_free(&c);
}

TEST(enroll_split_refusal_names_the_way_out)
{
	struct bootsplit_fs xfs = { .type = BOOTSPLIT_FS_XFS }, ext4 = { .type = BOOTSPLIT_FS_EXT4 };
	struct bootsplit_plan p = { .layout = BOOTSPLIT_REFUSE, .grow_mib = 531,
				    .reason = "/boot is inside the XFS root and XFS cannot shrink" };
	char msg[512];

	enroll_split_refusal(&p, &xfs, 0, msg, sizeof(msg));
	CHECK(strstr(msg, "/boot is inside the XFS root and XFS cannot shrink: grow the disk by "
			  "531 MiB") != NULL);
	p.reason = "the end of the root file system holds data";
	p.grow_mib = 71;
	enroll_split_refusal(&p, &ext4, 82 * MIB - 4096, msg, sizeof(msg));
	CHECK(strstr(msg, "the last 82 MiB of the root file system hold data: grow the disk by "
			  "71 MiB") != NULL);
	/* growing does not help: no advice to grow */
	p.reason = "another partition lies behind the root partition";
	p.grow_mib = 0;
	enroll_split_refusal(&p, &ext4, 0, msg, sizeof(msg));
	CHECK(strstr(msg, "another partition lies behind the root partition") != NULL);
	CHECK(strstr(msg, "grow") == NULL);
}

TEST(enroll_split_plan_text_l1_and_l2)
{
	struct bootsplit_disk d = { .sector_size = 512, .p1_first = 79872, .p1_last = 694271 };
	struct bootsplit_fs fs = { .type = BOOTSPLIT_FS_EXT4, .size = 300 * MIB };
	struct bootsplit_plan p = { .layout = BOOTSPLIT_L1, .shrink_fs = true,
				    .fs_target = 218 * MIB, .p1_last = 79872 + 236 * 2048 - 1,
				    .pb_first = 694272 - 64 * 2048, .pb_last = 694271,
				    .pb_number = 2 };
	struct enroll_split s = { .b_uuid = B_UUID, .pb_uuid = PB_UUID,
				  .core = "/var/lib/rootcrypt/bootsplit/core.img",
				  .esp_files = "EFI/debian/grub.cfg" };
	char line[1024];

	enroll_split_plan_text(&p, &d, &fs, &s, line, sizeof(line));
	CHECK_EQ_STR(line, "plan: split /boot - the first boot shrinks the root file system from "
			   "300 to 218 MiB and its partition to 236 MiB, adds a 64 MiB /boot "
			   "partition (number 2, PARTUUID " PB_UUID ", file system UUID " B_UUID
			   ") at the end of the disk, copies /boot into it, repoints GRUB (UEFI: "
			   "EFI/debian/grub.cfg; BIOS: staged core), then encrypts the root with "
			   "the shift layout");
	/* L2: free space behind p1, nothing shrinks; BIOS only */
	p = (struct bootsplit_plan){ .layout = BOOTSPLIT_L2, .fs_target = 300 * MIB,
				     .p1_last = d.p1_last, .pb_first = 800000,
				     .pb_last = 800000 + 64 * 2048 - 1, .pb_number = 2 };
	s.esp_files[0] = '\0';
	enroll_split_plan_text(&p, &d, &fs, &s, line, sizeof(line));
	CHECK(strstr(line, "the first boot adds a 64 MiB /boot partition") != NULL);
	CHECK(strstr(line, "(free space: no shrink)") != NULL);
	CHECK(strstr(line, "repoints GRUB (BIOS: staged core)") != NULL);
	CHECK(strstr(line, "shrinks") == NULL);
}

/* The plan's disk facts: p1 by number, whether a partition lies behind it. */
TEST(enroll_split_geom_disk_from_gpt)
{
	struct parttable_gpt_entry e[3] = {
		{ .number = 14, .first_lba = 2048, .last_lba = 10239 },
		{ .number = 15, .first_lba = 10240, .last_lba = 79871 },
		{ .number = 1, .first_lba = 79872, .last_lba = 694271 },
	};
	struct parttable_gpt_info g = { .sector_size = 512, .first_usable = 34,
					.last_usable = 696286, .ents = e, .count = 3,
					.free_number = 2 };
	struct bootsplit_disk d;

	CHECK_EQ_INT(bootsplit_disk_from_gpt(&g, 1, &d), 0);
	CHECK_EQ_INT(d.p1_first, 79872);
	CHECK_EQ_INT(d.p1_last, 694271);
	CHECK_EQ_INT(d.last_usable, 696286);
	CHECK_EQ_INT(d.free_number, 2);
	CHECK(!d.partition_behind);
	CHECK_EQ_INT(bootsplit_disk_from_gpt(&g, 3, &d), -ENOENT);
	/* p15 has p1 behind it */
	CHECK_EQ_INT(bootsplit_disk_from_gpt(&g, 15, &d), 0);
	CHECK(d.partition_behind);
}

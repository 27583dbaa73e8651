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

	/* No root=: GRUB's 10_linux writes its own first, and two root= on one
	 * line (the image's UUID= and ours) only boot because the last wins
	 * (issue 15.5). The root= comes from GRUB_DEVICE instead. */
	CHECK_EQ_STR(s, "rootcrypt.name=cryptroot rd.neednet=1 ip=dhcp");
	free(s);
	s = enroll_grub_root_lines(&o);
	CHECK_EQ_STR(s, "GRUB_DEVICE=/dev/mapper/cryptroot  # rootcrypt\n"
			"GRUB_DISABLE_LINUX_UUID=true  # rootcrypt\n"
			"GRUB_DISABLE_LINUX_PARTUUID=true  # rootcrypt\n");
	free(s);
}

/* Settings enroll has no option for, and comments, survive a re-enroll;
 * the keys enroll manages are replaced (or dropped when now unset). */
TEST(enroll_config_merge_keeps_unmanaged_lines)
{
	struct enroll_opts o = { .device = "PARTUUID=new", .vault = "https://v.vault.azure.net" };
	const char *old = "# rootcrypt configuration, written by `rootcrypt enroll`.\n"
			  "# Kernel parameters rootcrypt.KEY=VALUE override these lines at boot.\n"
			  "device = PARTUUID=old\n"
			  "kek = https://v.vault.azure.net/keys/k/1\n"
			  "# test CA for the fake vault\n"
			  "ca_file = /etc/rootcrypt/ca.pem\n"
			  "  resolve = v.vault.azure.net:443:10.0.0.1\n"
			  "token_vault = any\n";
	char *s = enroll_config_merge(old, &o);

	CHECK(s != NULL);
	CHECK(strstr(s, "\ndevice = PARTUUID=new\n") != NULL);
	CHECK(strstr(s, "PARTUUID=old") == NULL);
	CHECK(strstr(s, "kek") == NULL);
	CHECK(strstr(s, "\n# test CA for the fake vault\nca_file = /etc/rootcrypt/ca.pem\n") != NULL);
	CHECK(strstr(s, "\n  resolve = v.vault.azure.net:443:10.0.0.1\n") != NULL);
	CHECK(strstr(s, "\ntoken_vault = any\n") != NULL);
	/* the heading once, not once per enroll */
	CHECK(strstr(strstr(s, "written by") + 1, "written by") == NULL);
	free(s);
	s = enroll_config_merge(NULL, &o);
	CHECK(s != NULL && strstr(s, "\ndevice = PARTUUID=new\n") != NULL);
	free(s);
}

#define MIB (1ull << 20)

/* The shift layout's room, by the engine's rule: H = 16 MiB + T = 2 MiB. */
TEST(enroll_shift_plan_follows_engine_geometry)
{
	struct enroll_geom g = { .part_size = 1024 * MIB, .max_size = 1024 * MIB,
				 .fs_size = 1024 * MIB, .have_fs = true };
	uint64_t b = 0;
	char msg[512];

	/* file system fills the partition, nothing behind it */
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_NO_ROOM);
	CHECK_EQ_INT(b, 18 * MIB);
	/* 10 MiB free behind: 8 MiB missing */
	g.max_size = 1034 * MIB;
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_NO_ROOM);
	CHECK_EQ_INT(b, 8 * MIB);
	/* 64 MiB free behind: the partition grows by 18 MiB */
	g.max_size = 1088 * MIB;
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_GROW);
	CHECK_EQ_INT(b, 18 * MIB);
	/* a file system 18 MiB smaller than its partition fits as is */
	g.max_size = g.part_size;
	g.fs_size = 1006 * MIB;
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_FS_SMALLER);
	CHECK_EQ_INT(b, 18 * MIB);
	g.fs_size = 1006 * MIB + 4096;
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_NO_ROOM);
	/* no file system found: the data is the whole partition */
	g.have_fs = false;
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_NO_ROOM);
	CHECK_EQ_INT(b, 18 * MIB);

	/* the advice names the boot setting, not encrypt's --layout flag */
	enroll_shift_refusal("/dev/sda1", 18 * MIB - 512, msg, sizeof(msg));
	CHECK(strstr(msg, "18 MiB missing") != NULL);
	CHECK(strstr(msg, "grow the disk by 18 MiB") != NULL);
	CHECK(strstr(msg, "`layout = detached`") != NULL);
	CHECK(strstr(msg, "other than the root") != NULL);
	CHECK(strstr(msg, "--layout") == NULL);
}

/* Online in place (ONLINE.md "Layouts and room"): cryptsetup's
 * --reduce-device-size 32M; the file system must end by P - 32 MiB. */
TEST(enroll_room_plan_online_needs_32_mib)
{
	struct enroll_geom g = { .part_size = 1024 * MIB, .max_size = 1024 * MIB,
				 .fs_size = 1024 * MIB, .have_fs = true };
	uint64_t b = 0;
	char *s;
	struct enroll_opts o = { .device = "PARTUUID=x", .vault = "https://v.vault.azure.net" };

	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_NO_ROOM);
	CHECK_EQ_INT(b, 32 * MIB);
	/* 20 MiB free behind: enough offline (grows by 18), 12 MiB short online */
	g.max_size = 1044 * MIB;
	CHECK_EQ_INT(enroll_room_plan(&g, false, &b), ENROLL_SHIFT_GROW);
	CHECK_EQ_INT(b, 18 * MIB);
	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_NO_ROOM);
	CHECK_EQ_INT(b, 12 * MIB);
	g.max_size = 1056 * MIB;
	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_GROW);
	CHECK_EQ_INT(b, 32 * MIB);
	/* a file system 24 MiB short of its partition: offline fits, online not */
	g.max_size = g.part_size;
	g.fs_size = 1000 * MIB;
	CHECK_EQ_INT(enroll_room_plan(&g, false, &b), ENROLL_SHIFT_FS_SMALLER);
	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_NO_ROOM);
	/* exactly P - 32 MiB fits; one block more does not */
	g.fs_size = 992 * MIB;
	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_FS_SMALLER);
	CHECK_EQ_INT(b, 32 * MIB);
	g.fs_size = 992 * MIB + 4096;
	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_NO_ROOM);
	/* a partition size not a multiple of 4096: capacity from P aligned down */
	g.part_size = g.max_size = 1024 * MIB + 2048;
	g.fs_size = 992 * MIB;
	CHECK_EQ_INT(enroll_room_plan(&g, true, &b), ENROLL_SHIFT_FS_SMALLER);
	/* enroll_shift_plan stays the offline rule */
	g.part_size = g.max_size = 1024 * MIB;
	g.fs_size = 1000 * MIB;
	CHECK_EQ_INT(enroll_shift_plan(&g, &b), ENROLL_SHIFT_FS_SMALLER);

	/* the config says the mode: offline unless asked */
	s = enroll_config_text(&o);
	CHECK(s != NULL && strstr(s, "\nmode = offline\n") != NULL);
	free(s);
	o.mode = "online";
	s = enroll_config_text(&o);
	CHECK(s != NULL && strstr(s, "\nmode = online\n") != NULL);
	free(s);
	/* and a later enroll replaces it */
	CHECK(enroll_key_is_managed("mode"));
	s = enroll_config_merge("mode = offline\nca_file = /x\n", &o);
	CHECK(s != NULL && strstr(s, "mode = offline") == NULL && strstr(s, "\nmode = online\n"));
	free(s);
}

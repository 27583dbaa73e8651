/* Hidden test command for the /boot split's boot loader repoint (BOOT.md
 * steps 5 and 6), driven by tests/integration/bootloader-switch.sh on
 * images made by mkfs.vfat/mtools and GRUB's own tools:
 *   esp-find ESP PATH                  where a file's data is (FAT, read only)
 *   esp-switch ESP PATH R B K          step 5 for one file
 *   bios-stage GRUB_DIR B K DIR        stage a core image (enroll)
 *   bios-embed BOOT_IMG SECTOR0 CORE L OUT_SECTOR0 OUT_CORE   (pure, to files)
 *   bios-switch DISK P14_START P14_SECTORS BOOT_IMG CORE       step 6
 * Each prints one "key value" line per result. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bios_core.h"
#include "blkdev.h"
#include "cmd.h"
#include "enroll_bios.h"
#include "esp_stub.h"
#include "fatfile.h"
#include "log.h"
#include "parse.h"

/* Reads a whole (small) file; *ret malloc'ed. */
static int slurp(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf || n > max) {
		free(buf);
		return log_error(EFBIG, "\"%s\" is larger than %zu bytes", path, max);
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

static int spill(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		return log_error(EIO, "cannot write \"%s\"", path);
	return 0;
}

static int esp_cmd(int argc, char **argv, bool do_switch)
{
	struct blkdev *d = NULL;
	struct fatfile f;
	int k = 0, r;

	if (argc != (do_switch ? 7 : 4) || (do_switch && parse_int(argv[6], 1, 128, &k) < 0))
		return CMD_USAGE;
	r = blkdev_open(argv[2], do_switch ? 0 : BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	if (do_switch) {
		r = esp_switch(d, argv[3], argv[4], argv[5], (unsigned)k);
		if (r >= 0)
			printf("esp %s\n", r ? "switched" : "unchanged");
	} else {
		r = fatfile_find(d, argv[3], &f);
		if (r == -ENOENT)
			log_error(ENOENT, "'%s' has no file '%s'", argv[2], argv[3]);
		if (r == 0)
			printf("fat %u\ncluster_size %" PRIu32 "\nsize %" PRIu64 "\ndata_off %" PRIu64
			       "\ncontiguous %s\n", f.fat_bits, f.cluster_size, f.size, f.data_off,
			       f.contiguous ? "yes" : "no");
	}
	blkdev_close(d);
	return r < 0 ? r : 0;
}

static int bios_stage_cmd(int argc, char **argv)
{
	char path[4096], sha[65];
	int k, r;

	if (argc != 6 || parse_int(argv[4], 1, 128, &k) < 0)
		return CMD_USAGE;
	r = enroll_bios_stage(argv[2], argv[3], (unsigned)k, argv[5], path, sizeof(path), sha);
	if (r == 0)
		printf("path %s\nsha256 %s\n", path, sha);
	return r;
}

static int bios_embed_cmd(int argc, char **argv)
{
	uint8_t *boot = NULL, *mbr = NULL, *core = NULL, *out = NULL, new_mbr[BIOS_SECTOR];
	size_t boot_len = 0, mbr_len = 0, core_len = 0;
	const char *why = NULL;
	uint64_t l;
	int r;

	if (argc != 8 || parse_u64(argv[5], &l) < 0)
		return CMD_USAGE;
	r = slurp(argv[2], BIOS_SECTOR, &boot, &boot_len);
	if (r == 0)
		r = slurp(argv[3], BIOS_SECTOR, &mbr, &mbr_len);
	if (r == 0)
		r = slurp(argv[4], BIOS_CORE_MAX, &core, &core_len);
	if (r == 0 && (boot_len != BIOS_SECTOR || mbr_len != BIOS_SECTOR))
		r = log_error(EINVAL, "boot image and sector 0 must be 512 bytes each");
	if (r == 0 && !(out = malloc(core_len + BIOS_SECTOR)))
		r = log_error(ENOMEM, "no memory for the core");
	if (r == 0 && bios_core_embed(boot, mbr, core, core_len, l, new_mbr, out, &why) < 0)
		r = log_error(EINVAL, "embedding refused: %s", why);
	if (r == 0)
		r = spill(argv[6], new_mbr, BIOS_SECTOR);
	if (r == 0)
		r = spill(argv[7], out, (core_len + BIOS_SECTOR - 1) / BIOS_SECTOR * BIOS_SECTOR);
	free(boot);
	free(mbr);
	free(core);
	free(out);
	return r;
}

static int bios_switch_cmd(int argc, char **argv)
{
	uint8_t *boot = NULL, *core = NULL;
	size_t boot_len = 0, core_len = 0;
	struct blkdev *d = NULL;
	uint64_t start, sectors;
	int r;

	if (argc != 7 || parse_u64(argv[3], &start) < 0 || parse_u64(argv[4], &sectors) < 0)
		return CMD_USAGE;
	r = slurp(argv[5], BIOS_SECTOR, &boot, &boot_len);
	if (r == 0)
		r = slurp(argv[6], BIOS_CORE_MAX, &core, &core_len);
	if (r == 0 && boot_len != BIOS_SECTOR)
		r = log_error(EINVAL, "\"%s\" is not 512 bytes", argv[5]);
	if (r == 0)
		r = blkdev_open(argv[2], 0, &d);
	if (r == 0)
		r = bios_core_switch(d, start, sectors, boot, core, core_len);
	if (r >= 0)
		printf("bios %s\nL %" PRIu64 "\n", r ? "switched" : "unchanged",
		       bios_core_l(start, sectors));
	if (d)
		blkdev_close(d);
	free(boot);
	free(core);
	return r < 0 ? r : 0;
}

int cmd_debug_bootloader(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		printf("rootcrypt debug-bootloader esp-find ESP PATH\n"
		       "rootcrypt debug-bootloader esp-switch ESP PATH R B K\n"
		       "rootcrypt debug-bootloader bios-stage GRUB_DIR B K DIR\n"
		       "rootcrypt debug-bootloader bios-embed BOOT_IMG SECTOR0 CORE L OUT_SECTOR0 "
		       "OUT_CORE\n"
		       "rootcrypt debug-bootloader bios-switch DISK P14_START P14_SECTORS BOOT_IMG "
		       "CORE\n");
		return 0;
	}
	if (argc < 2)
		return CMD_USAGE;
	if (strcmp(argv[1], "esp-find") == 0)
		return esp_cmd(argc, argv, false);
	if (strcmp(argv[1], "esp-switch") == 0)
		return esp_cmd(argc, argv, true);
	if (strcmp(argv[1], "bios-stage") == 0)
		return bios_stage_cmd(argc, argv);
	if (strcmp(argv[1], "bios-embed") == 0)
		return bios_embed_cmd(argc, argv);
	if (strcmp(argv[1], "bios-switch") == 0)
		return bios_switch_cmd(argc, argv);
	return CMD_USAGE;
}

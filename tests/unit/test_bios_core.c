/* BIOS core embedding and the sector 0 switch (src/boot/bios_core.c, BOOT.md
 * step 6). Byte-for-byte agreement with GRUB's own grub-install is checked
 * in tests/integration/bootloader-switch.sh; here: the fields, the
 * refusals, and a power cut at every write/flush of the switch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "bios_core.h"
#include "test.h"
#include "test_engine_memdev.h"

#define DISK_SECTORS 16384u
#define P14_START 2048u
#define P14_SECTORS 8192u
#define L_NEW (P14_START + P14_SECTORS / 2)

/* A stand-in boot.img: code bytes from a seed, 55 AA. */
static void fake_boot_img(uint8_t b[512])
{
	for (int i = 0; i < 512; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	b[510] = 0x55;
	b[511] = 0xaa;
}

/* A stand-in core of len bytes: diskboot's default blocklist {2, n-1, 0x820}. */
static uint8_t *fake_core(size_t len, uint8_t seed)
{
	uint8_t *c = malloc(len);

	for (size_t i = 0; i < len; i++)
		c[i] = (uint8_t)(i * 13 + seed);
	memset(c + 0x1e8, 0, 12);
	memset(c + 0x1f4, 0, 12);
	c[0x1f4] = 2;
	c[0x1fc] = (uint8_t)((len + 511) / 512 - 1);
	c[0x1fe] = 0x20;
	c[0x1ff] = 0x08;
	return c;
}

TEST(bios_core_embed_fields)
{
	uint8_t boot[512], cur[512], mbr[512];
	uint8_t *core = fake_core(5000, 1), out[10 * 512];
	const char *why;

	fake_boot_img(boot);
	for (int i = 0; i < 512; i++)
		cur[i] = (uint8_t)(0xa0 ^ i);
	CHECK_EQ_INT(bios_core_embed(boot, cur, core, 5000, 123456789012ull, mbr, out, &why), 0);
	CHECK_EQ_INT(le64_get(mbr + 0x5c), 123456789012ull);
	CHECK_EQ_INT(mbr[0x64], 0xff);
	CHECK(mbr[0x66] == 0x90 && mbr[0x67] == 0x90);
	CHECK(memcmp(mbr + 3, cur + 3, 0x5a - 3) == 0);
	CHECK(memcmp(mbr + 0x1b8, cur + 0x1b8, 512 - 0x1b8) == 0);
	CHECK(memcmp(mbr, boot, 3) == 0 && memcmp(mbr + 0x5a, boot + 0x5a, 2) == 0 &&
	      memcmp(mbr + 0x68, boot + 0x68, 0x1b8 - 0x68) == 0);
	CHECK_EQ_INT(le64_get(out + 0x1f4), 123456789013ull);
	CHECK_EQ_INT(le16_get(out + 0x1fc), 9);
	CHECK_EQ_INT(le16_get(out + 0x1fe), 0x820);
	CHECK_EQ_INT(le16_get(out + 0x1e8 + 8), 0); /* terminator */
	CHECK(memcmp(out, core, 0x1e8) == 0 && memcmp(out + 512, core + 512, 5000 - 512) == 0);
	for (int i = 5000; i < 10 * 512; i++)
		CHECK_EQ_INT(out[i], 0);
	core[0x1fe] = 0; /* no diskboot segment: not a core image */
	CHECK_EQ_INT(bios_core_embed(boot, cur, core, 5000, 1, mbr, out, &why), -EINVAL);
	CHECK_EQ_INT(bios_core_embed(boot, cur, core, 512, 1, mbr, out, &why), -EINVAL);
	free(core);
}

/* The disk before the switch: sector 0 and core as grub-setup would leave
 * them at P14_START, plus a protective MBR's table bytes. */
static uint8_t *old_disk(const uint8_t boot[512], size_t old_len, uint16_t old_blocklist_len)
{
	uint8_t *disk = calloc(DISK_SECTORS, 512), cur[512] = { 0 }, *out;
	uint8_t *core = fake_core(old_len, 9);
	const char *why;

	out = malloc((old_len + 511) / 512 * 512);
	cur[0x1c2] = 0xee;
	cur[0x1fe] = 0x55;
	cur[0x1ff] = 0xaa;
	bios_core_embed(boot, cur, core, old_len, P14_START, disk, out, &why);
	if (old_blocklist_len)
		out[0x1fc] = (uint8_t)old_blocklist_len, out[0x1fd] = (uint8_t)(old_blocklist_len >> 8);
	memcpy(disk + P14_START * 512, out, (old_len + 511) / 512 * 512);
	free(core);
	free(out);
	return disk;
}

/* What a BIOS loads: sector 0, then the sector kernel_sector names, then
 * diskboot's blocklist extents. The bytes loaded (malloc'ed) and where. */
static uint8_t *bios_load(const uint8_t *disk, uint64_t *ret_ks, size_t *ret_len)
{
	uint64_t ks = le64_get(disk + 0x5c), start, len;
	uint8_t *buf;

	*ret_ks = ks;
	if (ks >= DISK_SECTORS)
		return NULL;
	start = le64_get(disk + ks * 512 + 0x1f4);
	len = le16_get(disk + ks * 512 + 0x1fc);
	if (start > DISK_SECTORS || len > DISK_SECTORS - start)
		return NULL;
	buf = malloc((1 + len) * 512);
	memcpy(buf, disk + ks * 512, 512);
	memcpy(buf + 512, disk + start * 512, len * 512);
	*ret_len = (1 + len) * 512;
	return buf;
}

TEST(bios_core_switch_writes_and_is_idempotent)
{
	uint8_t boot[512], *disk, *core = fake_core(20000, 5), *img;
	struct memdev_clock clk = { .fail_at = -1 };
	struct blkdev *d;
	uint64_t ks;
	size_t len;

	fake_boot_img(boot);
	disk = old_disk(boot, 30000, 0);
	d = memdev_new("disk", disk, (uint64_t)DISK_SECTORS * 512, &clk, false);
	CHECK_EQ_INT(bios_core_switch(d, P14_START, P14_SECTORS, boot, core, 20000), 1);
	img = bios_load(memdev_data(d), &ks, &len);
	CHECK(img != NULL);
	CHECK_EQ_INT(ks, L_NEW);
	CHECK_EQ_INT(len, 40 * 512);
	CHECK(memcmp(img + 512, core + 512, 20000 - 512) == 0);
	/* the old core is left as it was */
	CHECK(memcmp(memdev_data(d) + P14_START * 512 + 512, disk + P14_START * 512 + 512,
		     59 * 512) == 0);
	CHECK_EQ_INT(bios_core_switch(d, P14_START, P14_SECTORS, boot, core, 20000), 0);
	free(img);
	blkdev_close(d);
	free(disk);
	free(core);
}

static void refused_unchanged(uint8_t *disk, const uint8_t boot[512], uint64_t p14_sectors,
			      size_t core_len, int *ok)
{
	struct memdev_clock clk = { .fail_at = -1 };
	struct blkdev *d = memdev_new("disk", disk, (uint64_t)DISK_SECTORS * 512, &clk, false);
	uint8_t *core = fake_core(core_len, 5);

	*ok = bios_core_switch(d, P14_START, p14_sectors, boot, core, core_len) == -EINVAL &&
	      clk.ops == 0 && memcmp(memdev_data(d), disk, (size_t)DISK_SECTORS * 512) == 0;
	blkdev_close(d);
	free(core);
}

TEST(bios_core_refusals_write_nothing)
{
	uint8_t boot[512], *disk;
	int ok;

	fake_boot_img(boot);
	/* half too small: 64-sector p14, 33 sectors of new core */
	disk = old_disk(boot, 3000, 0);
	refused_unchanged(disk, boot, 64, 33 * 512, &ok);
	CHECK(ok);
	/* old core's blocklist reaches into the second half */
	free(disk);
	disk = old_disk(boot, 3000, 4200);
	refused_unchanged(disk, boot, P14_SECTORS, 20000, &ok);
	CHECK(ok);
	/* sector 0 is not GRUB's boot code */
	free(disk);
	disk = old_disk(boot, 3000, 0);
	disk[0x100] ^= 1;
	refused_unchanged(disk, boot, P14_SECTORS, 20000, &ok);
	CHECK(ok);
	/* sector 0 points outside p14 */
	disk[0x100] ^= 1;
	disk[0x5c] = 1;
	refused_unchanged(disk, boot, P14_SECTORS, 20000, &ok);
	CHECK(ok);
	free(disk);
}

/* A power cut at every write/flush of the switch, each way a disk can come
 * back (lost, kept, random subset, torn at 512 bytes): what a BIOS loads is
 * the old core through the old sector 0, or the new core through the new
 * one; a rerun finishes with the new pair. */
TEST(bios_core_switch_cut_matrix)
{
	static const enum memdev_cut_mode modes[] = { MEMDEV_LOSE_ALL, MEMDEV_KEEP_ALL,
						      MEMDEV_RANDOM, MEMDEV_TORN };
	uint8_t boot[512], *disk, *core = fake_core(20000, 5), *old_img, *new_img;
	struct memdev_clock clk = { .fail_at = -1 };
	struct blkdev *d;
	uint64_t ks;
	size_t old_len, new_len;
	long total, cases = 0;
	int failures = 0;

	fake_boot_img(boot);
	disk = old_disk(boot, 30000, 0);
	old_img = bios_load(disk, &ks, &old_len);
	d = memdev_new("disk", disk, (uint64_t)DISK_SECTORS * 512, &clk, false);
	CHECK_EQ_INT(bios_core_switch(d, P14_START, P14_SECTORS, boot, core, 20000), 1);
	new_img = bios_load(memdev_data(d), &ks, &new_len);
	total = clk.ops;
	blkdev_close(d);
	CHECK(old_img && new_img && total == 4);
	for (long k = 0; k < total; k++) {
		for (unsigned m = 0; m < 4; m++) {
			struct memdev_clock c1 = { .fail_at = k }, c2 = { .fail_at = -1 };
			struct blkdev *d1 = memdev_new("disk", disk, (uint64_t)DISK_SECTORS * 512, &c1,
						       false), *d2;
			uint64_t csz;
			uint8_t *cut, *img;
			size_t len;
			bool is_old, is_new;

			if (bios_core_switch(d1, P14_START, P14_SECTORS, boot, core, 20000) >= 0)
				failures++;
			cut = memdev_after_cut(d1, modes[m], (unsigned)(k * 31 + m), &csz);
			img = bios_load(cut, &ks, &len);
			is_old = img && ks == P14_START && len == old_len &&
				 memcmp(img, old_img, len) == 0 && memcmp(cut, disk, 512) == 0;
			is_new = img && ks == L_NEW && len == new_len && memcmp(img, new_img, len) == 0;
			if (!is_old && !is_new) {
				fprintf(stderr, "bios cut at %ld/%ld mode %u: neither pair\n", k, total, m);
				failures++;
			}
			d2 = memdev_new("disk", cut, csz, &c2, false);
			free(img);
			img = NULL;
			if (bios_core_switch(d2, P14_START, P14_SECTORS, boot, core, 20000) < 0 ||
			    !(img = bios_load(memdev_data(d2), &ks, &len)) || ks != L_NEW ||
			    len != new_len || memcmp(img, new_img, new_len) != 0) {
				fprintf(stderr, "bios cut at %ld/%ld mode %u: rerun did not finish\n", k,
					total, m);
				failures++;
			}
			free(img);
			free(cut);
			blkdev_close(d1);
			blkdev_close(d2);
			cases++;
		}
	}
	fprintf(stderr, "bios core cut matrix: %ld cases, %d failed\n", cases, failures);
	CHECK_EQ_INT(failures, 0);
	free(old_img);
	free(new_img);
	free(disk);
	free(core);
}

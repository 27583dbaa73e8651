/* BIOS core embedding and sector 0 switch (bios_core.h, BOOT.md step 6). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "bios_core.h"
#include "log.h"

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static size_t sectors_of(size_t len)
{
	return (len + BIOS_SECTOR - 1) / BIOS_SECTOR;
}

uint64_t bios_core_l(uint64_t p14_start, uint64_t p14_sectors)
{
	return p14_start + p14_sectors / 2;
}

/* Bytes of sector 0 that grub-setup sets per disk; the rest is boot_img. */
static bool per_disk_byte(size_t i)
{
	return (i >= BIOS_BPB_START && i < BIOS_BPB_END) ||
	       (i >= BIOS_KERNEL_SECTOR && i < BIOS_DRIVE_CHECK + 2) || i >= BIOS_NT_MAGIC;
}

int bios_core_embed(const uint8_t boot_img[BIOS_SECTOR], const uint8_t cur_mbr[BIOS_SECTOR],
		    const uint8_t *core, size_t core_len, uint64_t l,
		    uint8_t new_mbr[BIOS_SECTOR], uint8_t *core_out, const char **why)
{
	size_t n = sectors_of(core_len);
	uint8_t *b;

	*why = NULL;
	if (core_len <= BIOS_SECTOR || core_len > BIOS_CORE_MAX)
		return refuse(why, "core image size outside (512 bytes, 65535 sectors]");
	if (le16_get(core + BIOS_BLOCKLIST + 10) != BIOS_CORE_SEGMENT)
		return refuse(why, "core image has no diskboot blocklist (segment 0x820 at 0x1fe)");
	if (boot_img[BIOS_SECTOR - 2] != 0x55 || boot_img[BIOS_SECTOR - 1] != 0xaa)
		return refuse(why, "boot.img has no boot signature");
	memcpy(new_mbr, boot_img, BIOS_SECTOR);
	memcpy(new_mbr + BIOS_BPB_START, cur_mbr + BIOS_BPB_START, BIOS_BPB_END - BIOS_BPB_START);
	memcpy(new_mbr + BIOS_NT_MAGIC, cur_mbr + BIOS_NT_MAGIC, BIOS_SECTOR - BIOS_NT_MAGIC);
	le64_put(new_mbr + BIOS_KERNEL_SECTOR, l);
	new_mbr[BIOS_BOOT_DRIVE] = 0xff;
	new_mbr[BIOS_DRIVE_CHECK] = 0x90;
	new_mbr[BIOS_DRIVE_CHECK + 1] = 0x90;

	memset(core_out, 0, n * BIOS_SECTOR);
	memcpy(core_out, core, core_len);
	/* clear every blocklist entry (as grub-setup does), then the one extent */
	for (b = core_out + BIOS_BLOCKLIST; b > core_out && le16_get(b + 8) != 0;
	     b -= BIOS_BLOCKLIST_SIZE)
		memset(b, 0, BIOS_BLOCKLIST_SIZE);
	b = core_out + BIOS_BLOCKLIST;
	le64_put(b, l + 1);
	le16_put(b + 8, (uint16_t)(n - 1));
	le16_put(b + 10, BIOS_CORE_SEGMENT);
	memset(b - BIOS_BLOCKLIST_SIZE, 0, BIOS_BLOCKLIST_SIZE);
	return 0;
}

int bios_core_check(const uint8_t boot_img[BIOS_SECTOR], const uint8_t cur_mbr[BIOS_SECTOR],
		    const uint8_t *old_first, uint64_t p14_start, uint64_t p14_sectors,
		    size_t core_len, const char **why)
{
	uint64_t l = bios_core_l(p14_start, p14_sectors), ks;
	const uint8_t *b;

	*why = NULL;
	if (p14_sectors < 2 || sectors_of(core_len) > p14_start + p14_sectors - l)
		return refuse(why, "the second half of the BIOS boot partition is too small for "
				   "the new core");
	for (size_t i = 0; i < BIOS_SECTOR; i++)
		if (!per_disk_byte(i) && cur_mbr[i] != boot_img[i])
			return refuse(why, "sector 0's boot code is not this GRUB's boot.img");
	ks = le64_get(cur_mbr + BIOS_KERNEL_SECTOR);
	if (!old_first || ks < p14_start || ks >= l)
		return refuse(why, "the old core does not start in the first half of the BIOS "
				   "boot partition");
	if (le16_get(old_first + BIOS_BLOCKLIST + 8) == 0)
		return refuse(why, "the old core's first sector has no blocklist");
	for (b = old_first + BIOS_BLOCKLIST; b > old_first && le16_get(b + 8) != 0;
	     b -= BIOS_BLOCKLIST_SIZE) {
		uint64_t s = le64_get(b), len = le16_get(b + 8);

		if (s < p14_start || s >= l || len > l - s)
			return refuse(why, "the old core is not wholly in the first half of the "
					   "BIOS boot partition");
	}
	return 0;
}

/* Writes len bytes at off, flushes, reads them back. */
static int write_durable(struct blkdev *d, const uint8_t *buf, size_t len, uint64_t off,
			 const char *what)
{
	uint8_t *back = blkdev_alloc(len);
	int r;

	if (!back)
		return log_error(ENOMEM, "no memory to read back %s", what);
	r = blkdev_write(d, buf, len, off);
	if (r == 0)
		r = blkdev_flush(d);
	if (r == 0)
		r = blkdev_read(d, back, len, off);
	if (r == 0 && memcmp(back, buf, len) != 0)
		r = log_error(EIO, "%s on '%s' reads back different", what, d->name);
	free(back);
	return r;
}

int bios_core_switch(struct blkdev *d, uint64_t p14_start, uint64_t p14_sectors,
		     const uint8_t boot_img[BIOS_SECTOR], const uint8_t *core, size_t core_len)
{
	uint64_t l = bios_core_l(p14_start, p14_sectors), ks;
	size_t n = sectors_of(core_len);
	uint8_t mbr[BIOS_SECTOR], new_mbr[BIOS_SECTOR], old_first[BIOS_SECTOR];
	uint8_t *core_out = NULL, *at_l = NULL;
	const char *why = NULL;
	int r;

	if (d->sector_size != BIOS_SECTOR)
		return log_error(EINVAL, "'%s' has %u-byte sectors: BIOS boot needs 512", d->name,
				 d->sector_size);
	if (core_len <= BIOS_SECTOR || core_len > BIOS_CORE_MAX ||
	    p14_start + p14_sectors > d->size / BIOS_SECTOR)
		return log_error(EINVAL, "BIOS core switch on '%s': core size or p14 out of range",
				 d->name);
	r = blkdev_read(d, mbr, BIOS_SECTOR, 0);
	if (r < 0)
		return r;
	core_out = malloc(n * BIOS_SECTOR);
	at_l = malloc(n * BIOS_SECTOR);
	if (!core_out || !at_l) {
		r = log_error(ENOMEM, "no memory for the BIOS core of '%s'", d->name);
		goto out;
	}
	r = bios_core_embed(boot_img, mbr, core, core_len, l, new_mbr, core_out, &why);
	if (r < 0) {
		r = log_error(EINVAL, "BIOS core for '%s' refused: %s", d->name, why);
		goto out;
	}
	ks = le64_get(mbr + BIOS_KERNEL_SECTOR);
	if (ks == l) {
		/* sector 0 already points at L: finished, or changed by someone else */
		r = blkdev_read(d, at_l, n * BIOS_SECTOR, l * BIOS_SECTOR);
		if (r < 0)
			goto out;
		if (memcmp(mbr, new_mbr, BIOS_SECTOR) == 0 &&
		    memcmp(at_l, core_out, n * BIOS_SECTOR) == 0) {
			r = 0;
			goto out;
		}
		r = log_error(EINVAL, "'%s': sector 0 already points at sector %llu but the "
				      "core or boot code there is not the staged one: not rewritten",
			      d->name, (unsigned long long)l);
		goto out;
	}
	r = ks < d->size / BIOS_SECTOR ? blkdev_read(d, old_first, BIOS_SECTOR, ks * BIOS_SECTOR) : 0;
	if (r < 0)
		goto out;
	r = bios_core_check(boot_img, mbr, ks < d->size / BIOS_SECTOR ? old_first : NULL,
			    p14_start, p14_sectors, core_len, &why);
	if (r < 0) {
		r = log_error(EINVAL, "BIOS core switch on '%s' refused: %s", d->name, why);
		goto out;
	}
	r = write_durable(d, core_out, n * BIOS_SECTOR, l * BIOS_SECTOR, "the new BIOS core");
	if (r == 0)
		r = write_durable(d, new_mbr, BIOS_SECTOR, 0, "sector 0");
	if (r == 0)
		r = 1;
out:
	free(core_out);
	free(at_l);
	return r;
}

int bios_core_in_place(struct blkdev *d, uint64_t p14_start, uint64_t p14_sectors,
		       const uint8_t boot_img[BIOS_SECTOR], const uint8_t *core, size_t core_len)
{
	uint64_t l = bios_core_l(p14_start, p14_sectors);
	size_t n = sectors_of(core_len);
	uint8_t mbr[BIOS_SECTOR], new_mbr[BIOS_SECTOR];
	uint8_t *core_out = NULL, *at_l = NULL;
	const char *why = NULL;
	int r;

	if (d->sector_size != BIOS_SECTOR || core_len <= BIOS_SECTOR || core_len > BIOS_CORE_MAX ||
	    p14_start + p14_sectors > d->size / BIOS_SECTOR || l + n > d->size / BIOS_SECTOR)
		return log_error(EINVAL, "BIOS core check on '%s': sector size, core size or p14 "
				 "out of range", d->name);
	r = blkdev_read(d, mbr, BIOS_SECTOR, 0);
	if (r < 0)
		return r;
	if (le64_get(mbr + BIOS_KERNEL_SECTOR) != l)
		return 0;
	core_out = malloc(n * BIOS_SECTOR);
	at_l = malloc(n * BIOS_SECTOR);
	if (!core_out || !at_l) {
		r = log_error(ENOMEM, "no memory for the BIOS core of '%s'", d->name);
		goto out;
	}
	r = bios_core_embed(boot_img, mbr, core, core_len, l, new_mbr, core_out, &why);
	if (r < 0) {
		r = log_error(EINVAL, "BIOS core for '%s' refused: %s", d->name, why);
		goto out;
	}
	r = blkdev_read(d, at_l, n * BIOS_SECTOR, l * BIOS_SECTOR);
	if (r == 0)
		r = memcmp(mbr, new_mbr, BIOS_SECTOR) == 0 &&
		    memcmp(at_l, core_out, n * BIOS_SECTOR) == 0;
out:
	free(core_out);
	free(at_l);
	return r;
}

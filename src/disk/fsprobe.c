/* ext4/XFS size probing and foreign-signature detection. Offsets from the
 * on-disk formats: ext4 superblock at 1024 (magic 0xEF53 at +0x38), XFS
 * superblock at 0 ("XFSB", big endian). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "fsprobe.h"
#include "log.h"

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static void uuid_text(const uint8_t *u, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[u[i] >> 4];
		*o++ = hex[u[i] & 15];
	}
	*o = 0;
}

int fsprobe_parse(const uint8_t *head, size_t len, struct fsprobe_fs *ret)
{
	if (len >= 2048 && le16_get(head + 1024 + 0x38) == 0xEF53) {
		const uint8_t *sb = head + 1024;
		uint32_t log_bs = le32_get(sb + 0x18);
		uint64_t blocks = le32_get(sb + 0x04);

		if (log_bs > 6)
			return -EINVAL;
		if (le32_get(sb + 0x60) & 0x80) /* INCOMPAT_64BIT */
			blocks |= (uint64_t)le32_get(sb + 0x150) << 32;
		ret->type = "ext4";
		ret->block_size = 1024u << log_bs;
		ret->max_sector = ret->block_size;
		ret->size = blocks * ret->block_size;
		uuid_text(sb + 0x68, ret->uuid); /* s_uuid */
		return blocks ? 1 : -EINVAL;
	}
	if (len >= 196 && memcmp(head, "XFSB", 4) == 0) {
		uint32_t bs = be32_at(head + 4);
		uint64_t dblocks = be64_at(head + 8);
		uint32_t sect = (uint32_t)head[102] << 8 | head[103];	 /* sb_sectsize */
		uint32_t logsect = (uint32_t)head[194] << 8 | head[195]; /* sb_logsectsize */

		if (bs < 512 || bs > 65536 || (bs & (bs - 1)) || !dblocks ||
		    dblocks > UINT64_MAX / bs)
			return -EINVAL;
		if (sect < 512 || sect > 32768 || (sect & (sect - 1)) ||
		    (logsect && (logsect < 512 || logsect > 32768 || (logsect & (logsect - 1)))))
			return -EINVAL;
		ret->type = "xfs";
		ret->block_size = bs;
		/* logsectsize 0: a log of 512-byte basic blocks */
		ret->max_sector = sect < (logsect ? logsect : 512) ? sect : (logsect ? logsect : 512);
		ret->size = dblocks * bs;
		uuid_text(head + 32, ret->uuid); /* sb_uuid */
		return 1;
	}
	return 0;
}

/* 0x55aa at 510 with at least one used partition entry, and not the boot
 * sector of a FAT or NTFS file system (which ends the same way). */
static int looks_like_mbr(const uint8_t *s)
{
	int used = 0;

	if (s[510] != 0x55 || s[511] != 0xaa)
		return 0;
	if (memcmp(s + 0x36, "FAT", 3) == 0 || memcmp(s + 0x52, "FAT32", 5) == 0 ||
	    memcmp(s + 3, "NTFS", 4) == 0 || memcmp(s + 3, "EXFAT", 5) == 0)
		return 0;
	for (int i = 0; i < 4; i++) {
		const uint8_t *p = s + 446 + 16 * i;

		if ((p[0] & 0x7f) != 0)
			return 0; /* boot flag is 0x00 or 0x80 */
		if (p[4] && le32_get(p + 12))
			used++;
	}
	return used > 0;
}

const char *fsprobe_signature(const uint8_t *head, size_t len)
{
	static const uint8_t luks[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	static const uint8_t luks2_2nd[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

	if (len >= 6 && memcmp(head, luks, 6) == 0)
		return "LUKS";
	if (len >= 4096 + 6 && memcmp(head + 4096, luks2_2nd, 6) == 0)
		return "LUKS";
	/* A whole disk: encrypting it would encrypt its partition table and
	 * every partition (the EFI system partition with them). */
	if (len >= 1024 && memcmp(head + 512, "EFI PART", 8) == 0)
		return FSPROBE_PARTITION_TABLE " (GPT)";
	if (len >= 512 && fsprobe_magic_offset(head, len) < 0 && looks_like_mbr(head))
		return FSPROBE_PARTITION_TABLE " (MBR)";
	if (len >= 512 + 32 && memcmp(head + 512, "LABELONE", 8) == 0 &&
	    memcmp(head + 512 + 24, "LVM2 001", 8) == 0)
		return "LVM2 physical volume";
	/* md 1.1 at 0, 1.2 at 4096 (little-endian magic a92b4efc) */
	if (len >= 4 && le32_get(head) == 0xa92b4efc)
		return "md RAID member";
	if (len >= 4096 + 4 && le32_get(head + 4096) == 0xa92b4efc)
		return "md RAID member";
	if (len >= 4096 && (memcmp(head + 4086, "SWAPSPACE2", 10) == 0 ||
			    memcmp(head + 4086, "SWAP-SPACE", 10) == 0))
		return "swap";
	if (len >= 4096 + 40 && memcmp(head + 4096 + 24,
				       "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81",
				       16) == 0)
		return "bcache";
	return NULL;
}

long fsprobe_magic_offset(const uint8_t *head, size_t len)
{
	if (len >= 2048 && le16_get(head + 1024 + 0x38) == 0xEF53)
		return 1024 + 0x38;
	if (len >= 16 && memcmp(head, "XFSB", 4) == 0)
		return 0;
	return -1;
}

int fsprobe_head_in_use(const uint8_t *head, size_t len)
{
	const char *sig = fsprobe_signature(head, len);

	if (fsprobe_magic_offset(head, len) >= 0)
		return 1;
	/* A LUKS header at 0 is the engine's own business (final header). */
	return sig && strcmp(sig, "LUKS") != 0;
}

const char *fsprobe_tail_signature(const uint8_t *blk, uint64_t blk_off, uint64_t dev_size)
{
	(void)dev_size;
	(void)blk_off;
	if (le32_get(blk) == 0xa92b4efc)
		return "md RAID member";
	return NULL;
}

int fsprobe_read(struct blkdev *d, struct fsprobe_fs *ret, const char **ret_sig)
{
	uint8_t *buf = blkdev_alloc(FSPROBE_HEAD);
	uint64_t spots[2];
	int r;

	*ret_sig = NULL;
	if (!buf)
		return log_error(ENOMEM, "out of memory");
	if (d->size < FSPROBE_HEAD) {
		free(buf);
		return 0;
	}
	r = blkdev_read(d, buf, FSPROBE_HEAD, 0);
	if (r < 0)
		goto out;
	*ret_sig = fsprobe_signature(buf, FSPROBE_HEAD);
	r = fsprobe_parse(buf, FSPROBE_HEAD, ret);
	if (r < 0) {
		r = log_error(EINVAL, "'%s' has a corrupt %s superblock", d->name,
			      memcmp(buf, "XFSB", 4) == 0 ? "XFS" : "ext4");
		goto out;
	}
	/* md 0.90 (64 KiB aligned, last 64 KiB) and 1.0 (8 KiB from the end). */
	spots[0] = d->size >= 65536 ? (d->size & ~65535ull) - 65536 : 0;
	spots[1] = d->size >= 8192 ? (d->size - 8192) & ~4095ull : 0;
	for (int i = 0; i < 2 && !*ret_sig; i++) {
		if (!spots[i] || blkdev_read(d, buf, 4096, spots[i]) < 0)
			continue;
		*ret_sig = fsprobe_tail_signature(buf, spots[i], d->size);
	}
out:
	free(buf);
	return r;
}

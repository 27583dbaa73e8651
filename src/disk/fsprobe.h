/* Just enough of ext4 and XFS superblocks to know where a file system ends,
 * and the signatures of things rootcrypt must not overwrite. Pure parsers
 * over a buffer of the first FSPROBE_HEAD bytes, plus one reader. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"

#define FSPROBE_HEAD 8192u

struct fsprobe_fs {
	const char *type;	/* "ext4" (ext2/3/4) or "xfs" */
	uint32_t block_size;
	/* The largest logical sector size of a device it still mounts on: ext4
	 * needs blocks no smaller than the device's sectors, XFS refuses a
	 * device whose sectors exceed its sb_sectsize or log sector size. An
	 * encryption sector above it leaves a volume that opens but does not
	 * mount. */
	uint32_t max_sector;
	uint64_t size;		/* bytes the file system uses from offset 0 */
	char uuid[37];		/* the file system's UUID, lower case (blkid's form) */
};

/* 1 and *ret filled when a known file system is found, 0 when not,
 * -EINVAL for a superblock with impossible values. */
int fsprobe_parse(const uint8_t *head, size_t len, struct fsprobe_fs *ret);
/* Offset in head of the magic that makes a file system (or a signature of
 * fsprobe_signature) recognisable, or -1 when none is found. Zeroing the
 * 512-byte sector around it hides the whole volume from blkid and mount. */
long fsprobe_magic_offset(const uint8_t *head, size_t len);
/* 1 when head still shows a file system or a non-LUKS signature (ENGINE.md:
 * a tail header is only trusted over a head that no longer does). */
int fsprobe_head_in_use(const uint8_t *head, size_t len);
/* Prefix of fsprobe_signature's answer for a whole disk. */
#define FSPROBE_PARTITION_TABLE "partition table"
/* Name of a non-file-system signature that must stop us (LUKS, LVM2 PV,
 * md RAID, swap, bcache) found in head, or NULL. */
const char *fsprobe_signature(const uint8_t *head, size_t len);
/* md 0.90/1.0 keep their superblock near the end of the device. */
const char *fsprobe_tail_signature(const uint8_t *blk, uint64_t blk_off, uint64_t dev_size);

/* Reads the head (and md's tail spots) of d. Returns 1/0 like fsprobe_parse;
 * *ret_sig is set to a blocking signature name or NULL. */
int fsprobe_read(struct blkdev *d, struct fsprobe_fs *ret, const char **ret_sig);

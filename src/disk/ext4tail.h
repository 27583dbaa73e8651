/* The /boot split's shrink rule (src/boot/BOOT.md "Shrink"): resize2fs may
 * shrink an ext4 file system to F only when it has nothing to move, that is
 * (1) every block in use in [F, end) is metadata of a group lying wholly at
 * or beyond F, (2) those groups have no inode in use, and (3) every kept
 * group's bitmaps and inode table lie below F. This reads the superblock,
 * the group descriptors and, from the end backward, the bitmaps (read only)
 * and answers for any F. The parsers and the verdict are pure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"

struct ext4tail_group {
	uint64_t start;			/* first block */
	uint64_t block_bitmap, inode_bitmap, inode_table;
	uint16_t flags;			/* EXT4_BG_* as on disk */
	uint32_t free_inodes;
	/* From the scan (groups >= ext4tail.scanned_from): */
	bool inodes_used;
	int64_t data_hi;		/* highest block in use in the group's range
					 * that is no group's metadata, or -1 */
};

struct ext4tail {
	uint32_t block_size;
	uint64_t blocks;		/* s_blocks_count */
	uint32_t first_data_block, blocks_per_group, inodes_per_group;
	uint32_t inode_table_blocks;	/* per group */
	uint32_t desc_size, desc_blocks, reserved_gdt;
	uint32_t ngroups;
	uint16_t state;			/* s_state: 1 clean, 2 errors */
	bool sparse_super, uninit_flags;
	struct ext4tail_group *groups;
	/* The scan went down from the last group to scanned_from and stopped
	 * there (at a group with inodes in use or a block of data): every F
	 * has to be at least floor (blocks) to keep what it found. */
	uint32_t scanned_from;
	uint64_t floor;
	const char *floor_why;		/* what it found (static text) */
	uint64_t floor_at;		/* the block, or the group's first block */
};

/* The verdict for one target end F. */
struct ext4tail_verdict {
	bool pass;
	uint64_t end;			/* blocks resize2fs would keep for F (it drops
					 * a last group too small for its metadata + 50) */
	const char *why;		/* !pass: what would move (static text) */
	uint64_t at;			/* !pass: the block concerned */
};

/* Superblock (1024 bytes at offset 1024): fills t's geometry. -EOPNOTSUPP
 * with *ret_why set for file systems whose shrink this does not model
 * (meta_bg, bigalloc, sparse_super2, a journal to replay, unknown incompat
 * features), -EINVAL when it is no ext2/3/4 superblock or is impossible. */
int ext4tail_parse_super(const uint8_t *sb, struct ext4tail *t, const char **ret_why);
/* Group descriptors (t->desc_blocks blocks): fills t->groups (malloc'ed). */
int ext4tail_parse_groups(const uint8_t *gdt, size_t len, struct ext4tail *t);
/* Reads d (a file system from offset 0) into t and scans its bitmaps from
 * the end down. One error line on failure; ext4tail_free() afterwards. */
int ext4tail_read(struct blkdev *d, struct ext4tail *t);
/* The same on the device of a mounted file system (enroll's advisory
 * check): its "needs recovery" flag is ignored, and what the bitmaps say is
 * only as recent as the last sync. */
int ext4tail_read_mounted(struct blkdev *d, struct ext4tail *t);
void ext4tail_free(struct ext4tail *t);
/* Whether block blk is in use: any group's metadata, or set in its group's
 * block bitmap (read from d). t from ext4tail_read(). */
int ext4tail_block_in_use(struct blkdev *d, const struct ext4tail *t, uint64_t blk,
			  bool *ret_used);

/* Whether resize2fs shrinking to f bytes would move nothing. Pure. */
void ext4tail_check(const struct ext4tail *t, uint64_t f, struct ext4tail_verdict *ret);
/* The lowest end (bytes) that passes ext4tail_check and keeps the last
 * group at least its metadata + margin blocks (the plan's group rule); the
 * file system's size when none below it does. Pure. */
uint64_t ext4tail_min_end(const struct ext4tail *t, uint32_t margin);
/* Blocks of group g's own metadata (bitmaps, inode table, and superblock,
 * descriptor and reserved GDT backups when it has them). */
uint32_t ext4tail_group_meta(const struct ext4tail *t, uint32_t g, uint32_t desc_blocks);

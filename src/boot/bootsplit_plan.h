/* Geometry of the /boot split (src/boot/BOOT.md "Geometry"): where the new
 * /boot partition pB goes, how far the root file system must shrink (F),
 * and whether the split can be done at all. Pure: no I/O. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* What the GPT says (LBAs of the table's sector size, ends inclusive as in
 * a GPT entry). */
struct bootsplit_disk {
	uint32_t sector_size;		/* 512 or 4096 */
	uint64_t p1_first, p1_last;	/* the root partition */
	uint64_t last_usable;		/* the header's last usable LBA */
	unsigned free_number;		/* lowest free entry number, 0 = none */
	bool partition_behind;		/* another partition lies after p1 */
};

enum bootsplit_fs_type { BOOTSPLIT_FS_EXT4 = 1, BOOTSPLIT_FS_XFS };

/* What the root file system's superblock says. */
struct bootsplit_fs {
	enum bootsplit_fs_type type;
	uint64_t size;			/* bytes it uses from p1's start */
	uint32_t block_size;
	/* ext4, for the group rule: */
	uint32_t blocks_per_group;
	uint32_t first_data_block;
	/* the most blocks a group's own metadata takes: 2 bitmaps + inode
	 * table + superblock and descriptor backups + reserved GDT blocks */
	uint32_t group_meta_blocks;
	/* The lowest end it can shrink to with nothing to move (bytes), when
	 * known (ext4: ext4tail's measure; 0 = unknown, the caller's tail
	 * check at F decides). XFS cannot shrink: its size is used. */
	uint64_t keep_min;
	/* ext4: resize2fs's own floor (`resize2fs -P`, bytes; 0 = not asked):
	 * it refuses to shrink below it even with nothing to move */
	uint64_t resize_min;
};

enum bootsplit_layout {
	BOOTSPLIT_REFUSE = 0,
	BOOTSPLIT_L1,	/* p1 (and perhaps the fs) shrinks to make room for pB */
	BOOTSPLIT_L2,	/* free space behind p1 holds pB and the engine's H + T */
};

struct bootsplit_plan {
	enum bootsplit_layout layout;
	uint64_t fs_target;		/* F: the root fs's end after the split (bytes) */
	bool shrink_fs;			/* the fs ends beyond F now */
	uint64_t p1_last;		/* p1's last LBA after the split */
	uint64_t pb_first, pb_last;	/* pB (LBAs) */
	unsigned pb_number;
	/* BOOTSPLIT_REFUSE: why (static text), and the disk growth in MiB
	 * that would make the split possible (0: growing would not help). */
	const char *reason;
	uint64_t grow_mib;
};

/* N below this is refused as an input error (-EINVAL). */
#define BOOTSPLIT_MIN_BOOT_SIZE (64ull << 20)
/* Blocks kept in the last group beyond its metadata (BOOT.md: resize2fs
 * itself drops a last group that keeps fewer than its metadata + 50). */
#define BOOTSPLIT_GROUP_MARGIN 256u

/* Plans the split of a boot_size (N, a multiple of 1 MiB) partition off
 * the end of the disk. 0 with *ret filled (a refusal is a result, with
 * layout BOOTSPLIT_REFUSE), -EINVAL for inputs that cannot describe a disk
 * (one error line). */
int bootsplit_plan(const struct bootsplit_disk *d, const struct bootsplit_fs *fs,
		   uint64_t boot_size, struct bootsplit_plan *ret);

/* The group rule alone: F (bytes) lowered to the start of its block group
 * when that last group would keep fewer than its metadata + the margin. */
uint64_t bootsplit_group_floor(const struct bootsplit_fs *fs, uint64_t f);

/* The facts bootsplit_plan (src/boot/BOOT.md "Geometry") reads from a disk:
 * the GPT around the root partition p1, and the root file system R on it.
 * enroll plans with them on the running system; the first boot plans with
 * the same reads. */
#pragma once
#include <stdbool.h>

#include "blkdev.h"
#include "bootsplit_plan.h"
#include "ext4tail.h"
#include "parttable.h"

/* Pure: p1's entry and the table's limits from a GPT read by
 * parttable_gpt_read. -ENOENT (quietly) when the table has no entry p1. */
int bootsplit_geom_disk(const struct parttable_gpt_info *g, unsigned p1,
			struct bootsplit_disk *ret);

/* R on part (p1's device): type, size, block size and UUID (r_uuid), and
 * for ext4 the group geometry and keep_min, measured by ext4tail into
 * *tail (the caller frees it with ext4tail_free; it stays empty for XFS).
 * mounted: R is mounted (enroll's advisory read, ext4tail_read_mounted).
 * -EMEDIUMTYPE with one line for a device holding neither ext4 nor XFS;
 * other -errno with one line. */
int bootsplit_geom_fs(struct blkdev *part, bool mounted, struct bootsplit_fs *ret,
		      char r_uuid[37], struct ext4tail *tail);

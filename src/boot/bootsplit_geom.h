/* The /boot split's inputs as the disk gives them, for enroll (the plan it
 * prints and records) and boot (F, where pB goes): the root file system's
 * geometry and the GPT around the root partition. Reads only. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "blkdev.h"
#include "ext4tail.h"
#include "bootsplit_plan.h"
#include "parttable.h"

/* R's type, size and, for ext4, the group geometry and the lowest end it
 * can shrink to with nothing to move (ext4tail). uuid: R's UUID (text).
 * -EOPNOTSUPP with one line when the file system is neither ext4 nor XFS or
 * ext4tail cannot model it now (e.g. a journal to replay); -errno. */
int bootsplit_fs_read(struct blkdev *d, struct bootsplit_fs *ret, char uuid[37]);
/* The same for enroll, on the device of the mounted root: ext4's "needs
 * recovery" flag is ignored (ext4tail_read_mounted: advisory), and the
 * ext4tail reading is handed back in *tail for the verdict at F (the caller
 * frees it with ext4tail_free; it stays empty for XFS). */
int bootsplit_fs_read_mounted(struct blkdev *d, struct bootsplit_fs *ret, char uuid[37],
			      struct ext4tail *tail);

/* The table around partition partno, as bootsplit_plan wants it. -ENOENT
 * (one line) when partno is not in the table. */
int bootsplit_disk_from_gpt(const struct parttable_gpt_info *g, unsigned partno,
			    struct bootsplit_disk *ret);

/* Where the split puts pB and F on this disk now: the plan while pB is not
 * in the table; once it is (the table step is done, or half done in the
 * primary copy), pB's entry is the record (BOOT.md "Geometry"), and F is
 * derived from it by the same rule. ret->layout BOOTSPLIT_REFUSE with a
 * reason when the split cannot be done. pb_guid on-disk byte order. */
int bootsplit_target(const struct parttable_gpt_info *g, unsigned partno,
		     const uint8_t pb_guid[16], const struct bootsplit_fs *fs, uint64_t boot_size,
		     struct bootsplit_plan *ret);

/* The /boot split's inputs as the disk gives them, for enroll (the plan it
 * prints and records) and boot (F, where pB goes): the root file system's
 * geometry and the GPT around the root partition. Reads only. */
#pragma once
#include <stdint.h>
#include "blkdev.h"
#include "bootsplit_plan.h"
#include "parttable.h"

/* R's type, size and, for ext4, the group geometry and the lowest end it
 * can shrink to with nothing to move (ext4tail). uuid: R's UUID (text).
 * -EOPNOTSUPP with one line when the file system is neither ext4 nor XFS or
 * ext4tail cannot model it now (e.g. a journal to replay); -errno. */
int bootsplit_fs_read(struct blkdev *d, struct bootsplit_fs *ret, char uuid[37]);

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

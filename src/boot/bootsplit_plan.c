/* The split's geometry (BOOT.md "Geometry"): pB is the last N of the
 * usable area, aligned to 1 MiB; F leaves the engine its head shift H and
 * tail T in front of pB; F is lowered by the group rule so that resize2fs
 * shrinks to exactly F (it drops a too-small last group by itself). */
#include <errno.h>

#include "bootsplit_plan.h"
#include "engine.h"
#include "log.h"

#define MIB (1ull << 20)

uint64_t bootsplit_group_floor(const struct bootsplit_fs *fs, uint64_t f)
{
	uint64_t blocks = f / fs->block_size, first = fs->first_data_block, rem;

	if (fs->type != BOOTSPLIT_FS_EXT4 || fs->blocks_per_group == 0 || blocks <= first)
		return f;
	rem = (blocks - first) % fs->blocks_per_group;
	if (rem && rem < (uint64_t)fs->group_meta_blocks + BOOTSPLIT_GROUP_MARGIN)
		blocks -= rem;
	return blocks * fs->block_size;
}

/* Places pB at the end of a usable area ending (exclusive) at usable_end.
 * false when the area cannot hold pB, H, T and a root file system. */
static bool place(const struct bootsplit_disk *d, const struct bootsplit_fs *fs, uint64_t n,
		  uint64_t usable_end, struct bootsplit_plan *p)
{
	uint64_t ss = d->sector_size, p1_start = d->p1_first * ss;
	uint64_t pb_end = usable_end / MIB * MIB, pb_start, f, room;

	if (pb_end < n)
		return false;
	pb_start = pb_end - n;
	room = ENGINE_DATA_OFF_DEFAULT + ENGINE_TAIL_SIZE + MIB;
	if (pb_start < p1_start || pb_start - p1_start < room)
		return false;
	f = (pb_start - p1_start - ENGINE_DATA_OFF_DEFAULT - ENGINE_TAIL_SIZE) / MIB * MIB;
	p->shrink_fs = fs->size > f;
	if (p->shrink_fs)
		f = bootsplit_group_floor(fs, f);
	if (f == 0 || f < fs->first_data_block * (uint64_t)fs->block_size + MIB)
		return false;
	p->fs_target = f;
	p->pb_first = pb_start / ss;
	p->pb_last = pb_end / ss - 1;
	p->p1_last = d->p1_last < p->pb_first ? d->p1_last : p->pb_first - 1;
	return true;
}

/* Placed, and the file system need not shrink below what it can. */
static bool fits(const struct bootsplit_disk *d, const struct bootsplit_fs *fs, uint64_t n,
		 uint64_t usable_end, struct bootsplit_plan *p)
{
	if (!place(d, fs, n, usable_end, p))
		return false;
	if (!p->shrink_fs)
		return true;
	if (fs->type == BOOTSPLIT_FS_XFS)
		return false;
	return p->fs_target >= fs->keep_min && p->fs_target >= fs->resize_min;
}

/* The fewest MiB the disk must grow by for fits(): F grows with the disk
 * (the group rule's floor is monotonic) and the need to shrink goes away,
 * so fits() is monotonic in the growth and a bisection finds the least. */
static uint64_t grow_needed(const struct bootsplit_disk *d, const struct bootsplit_fs *fs,
			    uint64_t n, uint64_t usable_end)
{
	struct bootsplit_plan p;
	uint64_t want = d->p1_first * d->sector_size + fs->size + ENGINE_DATA_OFF_DEFAULT +
			ENGINE_TAIL_SIZE + n + 2 * MIB;
	uint64_t lo = 1, hi = want > usable_end ? (want - usable_end + MIB - 1) / MIB + 1 : 1;

	if (!fits(d, fs, n, usable_end + hi * MIB, &p))
		return 0;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (fits(d, fs, n, usable_end + mid * MIB, &p))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int refuse(struct bootsplit_plan *ret, const char *why, uint64_t grow_mib)
{
	*ret = (struct bootsplit_plan){ .layout = BOOTSPLIT_REFUSE, .reason = why,
					.grow_mib = grow_mib };
	return 0;
}

int bootsplit_plan(const struct bootsplit_disk *d, const struct bootsplit_fs *fs,
		   uint64_t boot_size, struct bootsplit_plan *ret)
{
	uint64_t ss = d->sector_size, usable_end, bs = fs->block_size;
	struct bootsplit_plan p = { 0 };

	if ((ss != 512 && ss != 4096) || d->p1_first > d->p1_last || d->p1_last > d->last_usable ||
	    d->last_usable > UINT64_MAX / ss - 1)
		return log_error(EINVAL, "boot split: the partition table's geometry is inconsistent");
	if (boot_size % MIB || boot_size < BOOTSPLIT_MIN_BOOT_SIZE)
		return log_error(EINVAL, "boot split: boot_size must be a multiple of 1 MiB, at "
				 "least %llu MiB", BOOTSPLIT_MIN_BOOT_SIZE / MIB);
	if (bs < 1024 || bs > 65536 || (bs & (bs - 1)) || fs->size == 0 || fs->size % bs ||
	    fs->size > (d->p1_last - d->p1_first + 1) * ss ||
	    (fs->type != BOOTSPLIT_FS_EXT4 && fs->type != BOOTSPLIT_FS_XFS) ||
	    (fs->type == BOOTSPLIT_FS_EXT4 && fs->blocks_per_group == 0))
		return log_error(EINVAL, "boot split: the root file system's geometry is "
				 "inconsistent with its partition");
	usable_end = (d->last_usable + 1) * ss;
	if (d->partition_behind)
		return refuse(ret, "another partition lies behind the root partition", 0);
	if (d->free_number == 0)
		return refuse(ret, "the partition table has no free entry", 0);
	if (!place(d, fs, boot_size, usable_end, &p))
		return refuse(ret, "the disk is too small for the /boot partition",
			      grow_needed(d, fs, boot_size, usable_end));
	if (!fits(d, fs, boot_size, usable_end, &p))
		return refuse(ret, fs->type == BOOTSPLIT_FS_XFS ?
				   "/boot is inside the XFS root and XFS cannot shrink" :
				   "the end of the root file system holds data",
			      grow_needed(d, fs, boot_size, usable_end));
	p.pb_number = d->free_number;
	p.layout = !p.shrink_fs && p.p1_last == d->p1_last ? BOOTSPLIT_L2 : BOOTSPLIT_L1;
	*ret = p;
	return 0;
}

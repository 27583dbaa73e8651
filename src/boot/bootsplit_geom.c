/* The split's inputs read from the disk (bootsplit_geom.h). */
#include <errno.h>
#include <string.h>

#include "bootsplit_geom.h"
#include "bootsplit_min.h"
#include "engine.h"
#include "ext4tail.h"
#include "fsprobe.h"
#include "log.h"

#define MIB (1ull << 20)

/* tail: NULL = read, use and free ext4tail's reading; else handed back. */
static int fs_read(struct blkdev *d, bool mounted, struct bootsplit_fs *ret, char uuid[37],
		   struct ext4tail *tail)
{
	struct fsprobe_fs probe;
	const char *sig = NULL;
	struct ext4tail own, *t = tail ? tail : &own;
	uint64_t resize_min = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	memset(t, 0, sizeof(*t));
	r = fsprobe_read(d, &probe, &sig);
	if (r < 0)
		return r;
	if (r == 0 || sig)
		return log_error(EOPNOTSUPP, "'%s' holds %s, not an ext4 or XFS root", d->name,
				 sig ? sig : "no known file system");
	memcpy(uuid, probe.uuid, 37);
	ret->size = probe.size;
	ret->block_size = probe.block_size;
	if (strcmp(probe.type, "xfs") == 0) {
		ret->type = BOOTSPLIT_FS_XFS;
		ret->keep_min = probe.size;
		return 0;
	}
	ret->type = BOOTSPLIT_FS_EXT4;
	r = mounted ? ext4tail_read_mounted(d, t) : ext4tail_read(d, t);
	if (r < 0)
		return r;
	ret->blocks_per_group = t->blocks_per_group;
	ret->first_data_block = t->first_data_block;
	/* group 0 carries the superblock, all descriptors and reserved GDT
	 * blocks: no group's own metadata is larger */
	ret->group_meta_blocks = ext4tail_group_meta(t, 0, t->desc_blocks);
	ret->keep_min = ext4tail_min_end(t, BOOTSPLIT_GROUP_MARGIN);
	if (!tail)
		ext4tail_free(t);
	/* resize2fs refuses to go below its own estimate, which counts the
	 * metadata the remaining groups need and is often far above the last
	 * used block (seen: 822 MiB for 561 MiB used; the first boot's shrink
	 * then failed on every boot) */
	r = bootsplit_resize_min(d->name, ret->block_size, &resize_min);
	if (r < 0 && mounted)
		return r; /* enroll: no plan without it */
	/* the boot: a file system a cut left inside resize2fs may give no
	 * estimate; the shrink's own run of resize2fs is then the judge (it
	 * refuses before it writes anything) */
	ret->resize_min = r < 0 ? 0 : resize_min;
	return 0;
}

int bootsplit_fs_read(struct blkdev *d, struct bootsplit_fs *ret, char uuid[37])
{
	return fs_read(d, false, ret, uuid, NULL);
}

int bootsplit_fs_read_mounted(struct blkdev *d, struct bootsplit_fs *ret, char uuid[37],
			      struct ext4tail *tail)
{
	return fs_read(d, true, ret, uuid, tail);
}

int bootsplit_disk_from_gpt(const struct parttable_gpt_info *g, unsigned partno,
			    struct bootsplit_disk *ret)
{
	const struct parttable_gpt_entry *p1 = NULL;

	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < g->count; i++)
		if (g->ents[i].number == partno)
			p1 = &g->ents[i];
	if (!p1)
		return log_error(ENOENT, "the GPT has no partition %u", partno);
	ret->sector_size = g->sector_size;
	ret->p1_first = p1->first_lba;
	ret->p1_last = p1->last_lba;
	ret->last_usable = g->last_usable;
	ret->free_number = g->free_number;
	for (unsigned i = 0; i < g->count; i++)
		if (g->ents[i].first_lba > p1->last_lba)
			ret->partition_behind = true;
	return 0;
}

int bootsplit_target(const struct parttable_gpt_info *g, unsigned partno,
		     const uint8_t pb_guid[16], const struct bootsplit_fs *fs, uint64_t boot_size,
		     struct bootsplit_plan *ret)
{
	const struct parttable_gpt_entry *pb = parttable_gpt_by_guid(g, pb_guid);
	struct bootsplit_disk d;
	uint64_t ss = g->sector_size, p1_start, pb_start, room, f;
	int r;

	r = bootsplit_disk_from_gpt(g, partno, &d);
	if (r < 0)
		return r;
	if (!pb)
		return bootsplit_plan(&d, fs, boot_size, ret);
	/* pB exists: it is the record of the geometry (the table step lowered
	 * p1 to end before it) */
	memset(ret, 0, sizeof(*ret));
	p1_start = d.p1_first * ss;
	pb_start = pb->first_lba * ss;
	room = ENGINE_DATA_OFF_DEFAULT + ENGINE_TAIL_SIZE + MIB;
	if (pb->number == partno || pb_start < p1_start || pb_start - p1_start < room) {
		ret->layout = BOOTSPLIT_REFUSE;
		ret->reason = "the /boot partition in the table does not lie behind the root";
		return 0;
	}
	f = (pb_start - p1_start - ENGINE_DATA_OFF_DEFAULT - ENGINE_TAIL_SIZE) / MIB * MIB;
	ret->shrink_fs = fs->size > f;
	if (ret->shrink_fs)
		f = bootsplit_group_floor(fs, f);
	ret->layout = d.p1_last + 1 > pb->first_lba || ret->shrink_fs ? BOOTSPLIT_L1 : BOOTSPLIT_L2;
	ret->fs_target = f;
	ret->p1_last = d.p1_last < pb->first_lba ? d.p1_last : pb->first_lba - 1;
	ret->pb_first = pb->first_lba;
	ret->pb_last = pb->last_lba;
	ret->pb_number = pb->number;
	return 0;
}

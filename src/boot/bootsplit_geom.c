/* bootsplit_plan's inputs read from the disk (bootsplit_geom.h). */
#include "bootsplit_geom.h"

#include <errno.h>
#include <string.h>

#include "fsprobe.h"
#include "log.h"

int bootsplit_geom_disk(const struct parttable_gpt_info *g, unsigned p1,
			struct bootsplit_disk *ret)
{
	const struct parttable_gpt_entry *e = NULL;

	for (unsigned i = 0; i < g->count; i++)
		if (g->ents[i].number == p1)
			e = &g->ents[i];
	if (!e)
		return -ENOENT;
	*ret = (struct bootsplit_disk){ .sector_size = g->sector_size, .p1_first = e->first_lba,
					.p1_last = e->last_lba, .last_usable = g->last_usable,
					.free_number = g->free_number };
	for (unsigned i = 0; i < g->count; i++)
		if (g->ents[i].first_lba > e->last_lba)
			ret->partition_behind = true;
	return 0;
}

int bootsplit_geom_fs(struct blkdev *part, bool mounted, struct bootsplit_fs *ret,
		      char r_uuid[37], struct ext4tail *tail)
{
	struct fsprobe_fs fs;
	const char *sig = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	memset(tail, 0, sizeof(*tail));
	r = fsprobe_read(part, &fs, &sig);
	if (r < 0)
		return log_error(-r, "'%s': cannot read its file system", part->name);
	if (r == 0)
		return log_error(EMEDIUMTYPE, "'%s' holds %s, not an ext4 or XFS root file system",
				 part->name, sig ? sig : "no file system rootcrypt knows");
	memcpy(r_uuid, fs.uuid, 37);
	ret->size = fs.size;
	ret->block_size = fs.block_size;
	if (strcmp(fs.type, "xfs") == 0) {
		ret->type = BOOTSPLIT_FS_XFS;
		ret->keep_min = fs.size; /* XFS cannot shrink */
		return 0;
	}
	ret->type = BOOTSPLIT_FS_EXT4;
	r = mounted ? ext4tail_read_mounted(part, tail) : ext4tail_read(part, tail);
	if (r < 0)
		return r;
	ret->blocks_per_group = tail->blocks_per_group;
	ret->first_data_block = tail->first_data_block;
	/* group 0 carries every kind of metadata a group can have */
	ret->group_meta_blocks = ext4tail_group_meta(tail, 0, tail->desc_blocks);
	ret->keep_min = ext4tail_min_end(tail, BOOTSPLIT_GROUP_MARGIN);
	return 0;
}

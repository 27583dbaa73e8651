/* bootsplit_plan: the /boot split's geometry (BOOT.md "Geometry") on the
 * Azure layout (p1 from 111 MiB to the end of a 30 GiB disk), with free
 * space behind p1 (L2), XFS with and without room, disks too small, the
 * group rule, and "grow the disk by M MiB" checked to be the least M that
 * works (M - 1 must not). */
#include <errno.h>

#include "bootsplit_plan.h"
#include "engine.h"
#include "test.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* A GPT disk of size bytes with 128 entries: last usable = end - 34 LBAs
 * (512-byte sectors) or - 6 (4096), p1 from 111 MiB to the last usable LBA. */
static struct bootsplit_disk azure_disk(uint64_t size, uint32_t ss)
{
	uint64_t lbas = size / ss, tail = ss == 512 ? 34 : 6;
	struct bootsplit_disk d = { .sector_size = ss, .p1_first = 111 * MIB / ss,
				    .last_usable = lbas - tail, .free_number = 2 };

	d.p1_last = d.last_usable;
	return d;
}

/* ext4 as mke2fs makes it on the whole partition: 4 KiB blocks, 128 MiB
 * groups, metadata of about 1100 blocks in a group with a backup. */
static struct bootsplit_fs ext4_filling(const struct bootsplit_disk *d)
{
	uint64_t part = (d->p1_last - d->p1_first + 1) * d->sector_size;
	struct bootsplit_fs fs = { .type = BOOTSPLIT_FS_EXT4, .size = part / 4096 * 4096,
				   .block_size = 4096, .blocks_per_group = 32768,
				   .group_meta_blocks = 2 + 512 + 1 + 1 + 1024 };

	return fs;
}

static enum bootsplit_layout layout_grown(struct bootsplit_disk d, const struct bootsplit_fs *fs,
					  uint64_t n, uint64_t grow_mib)
{
	struct bootsplit_plan p;

	d.last_usable += grow_mib * MIB / d.sector_size;
	if (bootsplit_plan(&d, fs, n, &p) < 0)
		return (enum bootsplit_layout)-1;
	return p.layout;
}

/* M is the least growth that makes the split possible. */
static int grow_is_least(const struct bootsplit_disk *d, const struct bootsplit_fs *fs,
			 uint64_t n, uint64_t m)
{
	return m > 0 && layout_grown(*d, fs, n, m) != BOOTSPLIT_REFUSE &&
	       layout_grown(*d, fs, n, m - 1) == BOOTSPLIT_REFUSE;
}

TEST(bootsplit_plan_l1_azure_30g)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L1);
	CHECK(p.shrink_fs);
	/* pB: the last whole MiB of the usable area back 512 MiB */
	CHECK_EQ_INT(p.pb_last, 30719 * MIB / 512 - 1);
	CHECK_EQ_INT(p.pb_first, (30719 - 512) * MIB / 512);
	CHECK_EQ_INT(p.p1_last, p.pb_first - 1);
	CHECK_EQ_INT(p.pb_number, 2);
	/* F = pB start - p1 start - H - T; nothing for the group rule here */
	CHECK_EQ_INT(p.fs_target, (30719 - 512 - 111) * MIB - ENGINE_DATA_OFF_DEFAULT -
				  ENGINE_TAIL_SIZE);
	CHECK_EQ_INT(p.fs_target, 30078 * MIB);
	/* the engine's room: the fs ends H + T before the new p1 end */
	CHECK((p.p1_last + 1) * 512 - d.p1_first * 512 >=
	      p.fs_target + ENGINE_DATA_OFF_DEFAULT + ENGINE_TAIL_SIZE);
}

TEST(bootsplit_plan_l1_4k_sectors)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 4096);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L1);
	CHECK_EQ_INT(p.pb_last, 30719 * MIB / 4096 - 1);
	CHECK_EQ_INT(p.pb_first, (30719 - 512) * MIB / 4096);
	CHECK_EQ_INT(p.fs_target, 30078 * MIB);
}

TEST(bootsplit_plan_l2_free_space_behind)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs;
	struct bootsplit_plan p;

	/* the operator grew the disk by 1 GiB: p1 ends 1 GiB before the end */
	d.p1_last = d.last_usable - GIB / 512;
	fs = ext4_filling(&d);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L2);
	CHECK(!p.shrink_fs);
	CHECK_EQ_INT(p.p1_last, d.p1_last);
	CHECK(p.pb_first > d.p1_last);
	CHECK(p.fs_target >= fs.size);

	/* XFS: the same, it need not shrink */
	fs.type = BOOTSPLIT_FS_XFS;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L2);
}

TEST(bootsplit_plan_l2_border)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs;
	struct bootsplit_plan p;
	uint64_t pb_first = (30719 - 512) * MIB / 512;

	/* exactly N + H + T free behind a MiB-aligned p1 end: L2 */
	d.p1_last = pb_first - (ENGINE_DATA_OFF_DEFAULT + ENGINE_TAIL_SIZE) / 512 - 1;
	fs = ext4_filling(&d);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L2);
	CHECK_EQ_INT(p.fs_target, fs.size);
	/* one MiB less free: the fs must shrink (L1), p1 does not */
	d.p1_last += MIB / 512;
	fs = ext4_filling(&d);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L1);
	CHECK(p.shrink_fs);
	CHECK_EQ_INT(p.p1_last, d.p1_last);
	/* ... and as XFS it is refused, by 1 MiB */
	fs.type = BOOTSPLIT_FS_XFS;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK_EQ_INT(p.grow_mib, 1);
	CHECK(grow_is_least(&d, &fs, 512 * MIB, p.grow_mib));
}

TEST(bootsplit_plan_xfs_without_room)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	fs.type = BOOTSPLIT_FS_XFS;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK_EQ_STR(p.reason, "/boot is inside the XFS root and XFS cannot shrink");
	/* N + 18 MiB, plus what the unaligned ends of p1 and the disk cost:
	 * F(M) = (30078 + M) MiB must reach the fs end, 30608.99 MiB */
	CHECK_EQ_INT(p.grow_mib, 531);
	CHECK(grow_is_least(&d, &fs, 512 * MIB, p.grow_mib));
	/* XFS already smaller than F: p1 shrinks, the fs does not */
	fs.size = 20 * GIB;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L1);
	CHECK(!p.shrink_fs);
	CHECK_EQ_INT(p.p1_last, p.pb_first - 1);
}

TEST(bootsplit_plan_too_small)
{
	struct bootsplit_disk d = azure_disk(640 * MIB, 512);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK_EQ_STR(p.reason, "the disk is too small for the /boot partition");
	CHECK(grow_is_least(&d, &fs, 512 * MIB, p.grow_mib));
	/* pB alone does not fit */
	d = azure_disk(600 * MIB, 512);
	fs = ext4_filling(&d);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 1024 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK(grow_is_least(&d, &fs, 1024 * MIB, p.grow_mib));
}

TEST(bootsplit_plan_group_rule_lowers_f)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	/* N = 512 MiB gives F = 30078 MiB, 126 MiB into group 234 (128 MiB
	 * groups): kept. N = 509 MiB: F would be 1 MiB (256 blocks) into
	 * group 235, fewer than its 1540 metadata blocks + 256: lowered to the
	 * group's start, 30080 MiB. */
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 509 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L1);
	CHECK_EQ_INT(p.fs_target, 30080 * MIB);
	/* the rule's edge: 1792 blocks kept is < 1796, 2048 is not */
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 503 * MIB, &p), 0);
	CHECK_EQ_INT(p.fs_target, 30080 * MIB);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 502 * MIB, &p), 0);
	CHECK_EQ_INT(p.fs_target, 30088 * MIB);
	/* pB still sits where N says: the lowered F only widens the gap */
	CHECK_EQ_INT(p.pb_first, (30719 - 502) * MIB / 512);

	/* 1 KiB blocks: groups of 8192 blocks start at block 1 */
	fs.block_size = 1024;
	fs.size = fs.size / 1024 * 1024;
	fs.blocks_per_group = 8192;
	fs.first_data_block = 1;
	fs.group_meta_blocks = 1000;
	/* N = 509 MiB: F would be 30081 MiB = 1 MiB into a group: 1023
	 * blocks kept < 1256, lowered to that group's start at 30080 MiB + 1 KiB */
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 509 * MIB, &p), 0);
	CHECK_EQ_INT(p.fs_target, 30080 * MIB + 1024);
	CHECK_EQ_INT(bootsplit_group_floor(&fs, 30081 * MIB), 30080 * MIB + 1024);
	/* no shrink, no rule: an fs already below F keeps its size */
	fs.size = 30081 * MIB - 512 * 1024;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 509 * MIB, &p), 0);
	CHECK(!p.shrink_fs);
	CHECK_EQ_INT(p.fs_target, 30081 * MIB);
}

TEST(bootsplit_plan_data_in_tail)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	/* the tail check measured nothing to move above 30100 MiB only */
	fs.keep_min = 30100 * MIB;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK_EQ_STR(p.reason, "the end of the root file system holds data");
	CHECK_EQ_INT(p.grow_mib, 22);
	CHECK(grow_is_least(&d, &fs, 512 * MIB, p.grow_mib));
	/* measured room enough: L1 */
	fs.keep_min = 30078 * MIB;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_L1);
}

TEST(bootsplit_plan_refusals_and_bad_input)
{
	struct bootsplit_disk d = azure_disk(30 * GIB, 512);
	struct bootsplit_fs fs = ext4_filling(&d);
	struct bootsplit_plan p;

	d.free_number = 0;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK_EQ_INT(p.grow_mib, 0);
	d.free_number = 2;
	d.partition_behind = true;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), 0);
	CHECK_EQ_INT(p.layout, BOOTSPLIT_REFUSE);
	CHECK_EQ_INT(p.grow_mib, 0);
	d.partition_behind = false;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB + 4096, &p), -EINVAL);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 32 * MIB, &p), -EINVAL);
	fs.size += 4096; /* larger than its partition */
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), -EINVAL);
	fs = ext4_filling(&d);
	d.p1_last = d.last_usable + 1;
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), -EINVAL);
	d = azure_disk(30 * GIB, 520);
	CHECK_EQ_INT(bootsplit_plan(&d, &fs, 512 * MIB, &p), -EINVAL);
}

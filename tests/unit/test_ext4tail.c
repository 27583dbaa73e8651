/* ext4tail's pure parts over a synthetic 4-group ext4 (4 KiB blocks, flex_bg
 * tables in group 0): superblock refusals, resize2fs's last-group rule, the
 * three conditions of BOOT.md "Shrink" and the lowest passing end. The
 * images made by mke2fs and judged by resize2fs are in
 * tests/integration/ext4tail-resize2fs.sh. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "ext4tail.h"
#include "test.h"

/* 131072 blocks of 4 KiB, 32768 per group, 8192 inodes of 256 bytes per
 * group (512 table blocks), 64bit + flex_bg + metadata_csum, 63 reserved
 * GDT blocks. */
static void make_super(uint8_t *sb)
{
	memset(sb, 0, 1024);
	le32_put(sb + 0x00, 4 * 8192);
	le32_put(sb + 0x04, 131072);
	le32_put(sb + 0x18, 2);
	le32_put(sb + 0x20, 32768);
	le32_put(sb + 0x28, 8192);
	le16_put(sb + 0x38, 0xEF53);
	le16_put(sb + 0x3a, 1);
	le32_put(sb + 0x4c, 1);
	le16_put(sb + 0x58, 256);
	le32_put(sb + 0x60, 0x2c2);	/* filetype extents 64bit flex_bg */
	le32_put(sb + 0x64, 0x401);	/* sparse_super metadata_csum */
	le16_put(sb + 0xce, 63);
	le16_put(sb + 0xfe, 64);
}

/* Group g's bitmaps at 100 + g and 120 + g, inode table at 200 + 512 g. */
static int make_fs(struct ext4tail *t)
{
	uint8_t sb[1024], gdt[4096] = { 0 };
	const char *why;
	int r;

	make_super(sb);
	r = ext4tail_parse_super(sb, t, &why);
	if (r < 0)
		return r;
	for (uint32_t g = 0; g < 4; g++) {
		le32_put(gdt + g * 64 + 0x00, 100 + g);
		le32_put(gdt + g * 64 + 0x04, 120 + g);
		le32_put(gdt + g * 64 + 0x08, 200 + 512 * g);
		le16_put(gdt + g * 64 + 0x0e, 8192);
	}
	r = ext4tail_parse_groups(gdt, sizeof(gdt), t);
	if (r < 0)
		return r;
	/* as the scan leaves it: data up to block 40000 in group 1, which
	 * has inodes; groups 2 and 3 empty */
	t->groups[1].inodes_used = true;
	t->groups[1].data_hi = 40000;
	t->scanned_from = 1;
	t->floor = 40001;
	t->floor_why = "a block of data (a file, a directory or the journal)";
	t->floor_at = 40000;
	return 0;
}

#define BLK(n) ((uint64_t)(n) * 4096)

TEST(ext4tail_parse_geometry)
{
	struct ext4tail t;

	CHECK_EQ_INT(make_fs(&t), 0);
	CHECK_EQ_INT(t.ngroups, 4);
	CHECK_EQ_INT(t.desc_blocks, 1);
	CHECK_EQ_INT(t.inode_table_blocks, 512);
	CHECK(t.uninit_flags && t.sparse_super);
	/* groups 0, 1 and 3 carry backups, 2 does not */
	CHECK_EQ_INT(ext4tail_group_meta(&t, 1, 1), 2 + 512 + 1 + 1 + 63);
	CHECK_EQ_INT(ext4tail_group_meta(&t, 2, 1), 2 + 512);
	CHECK_EQ_INT(ext4tail_group_meta(&t, 3, 1), 2 + 512 + 1 + 1 + 63);
	CHECK_EQ_INT(t.groups[3].inode_table, 200 + 3 * 512);
	ext4tail_free(&t);
}

TEST(ext4tail_parse_refusals)
{
	static const struct {
		unsigned off;
		uint32_t value;
		const char *word;
	} cases[] = {
		{ 0x60, 0x2c2 | 0x10, "meta_bg" },
		{ 0x64, 0x401 | 0x200, "bigalloc" },
		{ 0x5c, 0x200, "sparse_super2" },
		{ 0x60, 0x2c2 | 0x4, "recovery" },
		{ 0x60, 0x2c2 | 0x800000, "does not know" },
	};
	struct ext4tail t;
	uint8_t sb[1024];
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_super(sb);
		le32_put(sb + cases[i].off, cases[i].value);
		CHECK_EQ_INT(ext4tail_parse_super(sb, &t, &why), -EOPNOTSUPP);
		CHECK(why && strstr(why, cases[i].word));
	}
	make_super(sb);
	le16_put(sb + 0x38, 0x1234);
	CHECK_EQ_INT(ext4tail_parse_super(sb, &t, &why), -EINVAL);
	make_super(sb);
	le32_put(sb + 0x00, 4 * 8192 + 1); /* inode count not groups x per group */
	CHECK_EQ_INT(ext4tail_parse_super(sb, &t, &why), -EINVAL);
	make_super(sb);
	le32_put(sb + 0x14, 1); /* first data block 1 with 4 KiB blocks */
	CHECK_EQ_INT(ext4tail_parse_super(sb, &t, &why), -EINVAL);
}

TEST(ext4tail_parse_groups_out_of_range)
{
	uint8_t sb[1024], gdt[4096] = { 0 };
	struct ext4tail t;
	const char *why;

	make_super(sb);
	CHECK_EQ_INT(ext4tail_parse_super(sb, &t, &why), 0);
	for (uint32_t g = 0; g < 4; g++) {
		le32_put(gdt + g * 64 + 0x00, 100 + g);
		le32_put(gdt + g * 64 + 0x04, 120 + g);
		le32_put(gdt + g * 64 + 0x08, 200);
	}
	le32_put(gdt + 3 * 64 + 0x08, 131072 - 100); /* table runs past the end */
	CHECK_EQ_INT(ext4tail_parse_groups(gdt, sizeof(gdt), &t), -EINVAL);
	CHECK(t.groups == NULL);
	le32_put(gdt + 3 * 64 + 0x08, 200);
	le32_put(gdt + 2 * 64 + 0x24, 1); /* high half of a 64-bit location */
	CHECK_EQ_INT(ext4tail_parse_groups(gdt, sizeof(gdt), &t), -EINVAL);
	CHECK_EQ_INT(ext4tail_parse_groups(gdt, 100, &t), -EINVAL);
}

TEST(ext4tail_check_conditions)
{
	struct ext4tail_verdict v;
	struct ext4tail t;

	CHECK_EQ_INT(make_fs(&t), 0);
	/* nothing to shrink */
	ext4tail_check(&t, BLK(131072), &v);
	CHECK(v.pass);
	/* groups 2 and 3 dropped: their tables (in group 0) need not move */
	ext4tail_check(&t, BLK(65536), &v);
	CHECK(v.pass);
	CHECK_EQ_INT(v.end, 65536);
	/* group 1 cut just past its data */
	ext4tail_check(&t, BLK(40001), &v);
	CHECK(v.pass);
	/* (1) a data block beyond F */
	ext4tail_check(&t, BLK(40000), &v);
	CHECK(!v.pass);
	CHECK_EQ_INT(v.at, 40000);
	/* resize2fs drops a last group of fewer than 514 + 50 blocks: asking
	 * for 100 blocks of group 2 keeps exactly groups 0 and 1 */
	ext4tail_check(&t, BLK(65536 + 100), &v);
	CHECK(v.pass);
	CHECK_EQ_INT(v.end, 65536);
	ext4tail_check(&t, BLK(65536 + 530), &v);
	CHECK_EQ_INT(v.end, 65536);
	ext4tail_check(&t, BLK(65536 + 564), &v);
	CHECK_EQ_INT(v.end, 65536 + 564);
	/* ... and a group 1 cut so short it is dropped, taking the data */
	ext4tail_check(&t, BLK(32768 + 500), &v);
	CHECK(!v.pass);
	CHECK_EQ_INT(v.end, 32768);
	/* (2) a dropped group with an inode in use */
	t.groups[3].inodes_used = true;
	ext4tail_check(&t, BLK(98304), &v);
	CHECK(!v.pass);
	CHECK_EQ_INT(v.at, 98304);
	t.groups[3].inodes_used = false;
	/* (3) a kept group's table beyond F (an early group's metadata late) */
	t.groups[1].inode_table = 100000;
	ext4tail_check(&t, BLK(65536), &v);
	CHECK(!v.pass);
	CHECK_EQ_INT(v.at, 100000);
	CHECK(strstr(v.why, "inode table"));
	/* ... a dropped group's table may lie anywhere */
	t.groups[1].inode_table = 712;
	t.groups[3].inode_table = 100000;
	ext4tail_check(&t, BLK(65536), &v);
	CHECK(v.pass);
	t.groups[1].block_bitmap = 70000;
	ext4tail_check(&t, BLK(65536), &v);
	CHECK(!v.pass);
	CHECK(strstr(v.why, "block bitmap"));
	ext4tail_free(&t);
}

TEST(ext4tail_min_end_lowest_passing)
{
	struct ext4tail_verdict v;
	struct ext4tail t;
	uint64_t m;

	CHECK_EQ_INT(make_fs(&t), 0);
	/* just past the data, 7233 blocks into group 1 (> 579 + 256) */
	m = ext4tail_min_end(&t, 256);
	CHECK_EQ_INT(m, BLK(40001));
	/* data right at group 1's start: the group must keep its 579
	 * metadata blocks + 256 */
	t.groups[1].data_hi = 32770;
	t.floor = 32771;
	m = ext4tail_min_end(&t, 256);
	CHECK_EQ_INT(m, BLK(32768 + 579 + 256));
	ext4tail_check(&t, m, &v);
	CHECK(v.pass);
	/* a kept group's table late raises it past the table */
	t.groups[1].inode_table = 90000;
	m = ext4tail_min_end(&t, 256);
	CHECK_EQ_INT(m, BLK(90512));
	/* nothing can go: the size */
	t.groups[3].data_hi = 131071;
	t.floor = 131072;
	CHECK_EQ_INT(ext4tail_min_end(&t, 256), BLK(131072));
	ext4tail_free(&t);
}

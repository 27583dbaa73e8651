/* ext4/XFS superblock sizes and foreign signatures. */
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "fsprobe.h"
#include "test.h"

TEST(fsprobe_ext4_sizes)
{
	static uint8_t head[FSPROBE_HEAD];
	struct fsprobe_fs fs;
	uint32_t v;

	memset(head, 0, sizeof(head));
	head[1024 + 0x38] = 0x53;
	head[1024 + 0x39] = 0xef;
	v = htole32(12345);
	memcpy(head + 1024 + 4, &v, 4);
	v = htole32(2); /* 4096 */
	memcpy(head + 1024 + 0x18, &v, 4);
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_STR(fs.type, "ext4");
	CHECK_EQ_INT(fs.block_size, 4096);
	CHECK_EQ_INT(fs.max_sector, 4096);
	CHECK_EQ_INT(fs.size, 12345ull * 4096);
	CHECK_EQ_STR(fs.uuid, "00000000-0000-0000-0000-000000000000");
	memcpy(head + 1024 + 0x68, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef",
	       16); /* s_uuid, as blkid prints it */
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_STR(fs.uuid, "12345678-9abc-def0-0123-456789abcdef");
	/* 64bit feature brings in the high word */
	v = htole32(0x80);
	memcpy(head + 1024 + 0x60, &v, 4);
	v = htole32(1);
	memcpy(head + 1024 + 0x150, &v, 4);
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_INT(fs.size, ((1ull << 32) + 12345) * 4096);
	v = htole32(40);
	memcpy(head + 1024 + 0x18, &v, 4);
	CHECK(fsprobe_parse(head, sizeof(head), &fs) < 0);
	CHECK(fsprobe_signature(head, sizeof(head)) == NULL);
}

TEST(fsprobe_xfs_and_signatures)
{
	static uint8_t head[FSPROBE_HEAD];
	struct fsprobe_fs fs;
	uint32_t bs = htobe32(4096);
	uint64_t blocks = htobe64(5000);

	memset(head, 0, sizeof(head));
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 0);
	memcpy(head, "XFSB", 4);
	memcpy(head + 4, &bs, 4);
	memcpy(head + 8, &blocks, 8);
	CHECK(fsprobe_parse(head, sizeof(head), &fs) < 0); /* sb_sectsize 0 */
	head[102] = 0x02; /* sb_sectsize 512: mkfs.xfs's default on a 512e disk or a file */
	head[194] = 0x02; /* sb_logsectsize 512 */
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_STR(fs.type, "xfs");
	CHECK_EQ_INT(fs.size, 5000ull * 4096);
	CHECK_EQ_INT(fs.max_sector, 512); /* 4 KiB blocks, yet no 4 KiB sectors under it */
	head[102] = 0x10; /* sb_sectsize 4096 */
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_INT(fs.max_sector, 512); /* the log's 512-byte sectors */
	head[194] = 0x10;
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_INT(fs.max_sector, 4096);
	head[194] = 0;
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_INT(fs.max_sector, 512); /* no log sector size: 512-byte basic blocks */
	head[102] = 0x03; /* 768: not a power of two */
	CHECK(fsprobe_parse(head, sizeof(head), &fs) < 0);
	head[102] = 0x02;
	memcpy(head + 32, "\xfe\xdc\xba\x98\x76\x54\x32\x10\x00\x11\x22\x33\x44\x55\x66\x77", 16);
	CHECK_EQ_INT(fsprobe_parse(head, sizeof(head), &fs), 1);
	CHECK_EQ_STR(fs.uuid, "fedcba98-7654-3210-0011-223344556677"); /* sb_uuid */

	memset(head, 0, sizeof(head));
	memcpy(head, "LUKS\xba\xbe", 6);
	CHECK_EQ_STR(fsprobe_signature(head, sizeof(head)), "LUKS");
	memset(head, 0, sizeof(head));
	memcpy(head + 512, "LABELONE", 8);
	memcpy(head + 512 + 24, "LVM2 001", 8);
	CHECK_EQ_STR(fsprobe_signature(head, sizeof(head)), "LVM2 physical volume");
	memset(head, 0, sizeof(head));
	memcpy(head + 4086, "SWAPSPACE2", 10);
	CHECK_EQ_STR(fsprobe_signature(head, sizeof(head)), "swap");
	memset(head, 0, sizeof(head));
	head[4096] = 0xfc;
	head[4097] = 0x4e;
	head[4098] = 0x2b;
	head[4099] = 0xa9;
	CHECK_EQ_STR(fsprobe_signature(head, sizeof(head)), "md RAID member");
}

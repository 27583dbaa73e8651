/* GPT/MBR: find and grow a partition on images made by sfdisk, checked
 * back with sfdisk (the oracle) and with CRCs of both GPT copies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkdev.h"
#include "parttable.h"
#include "test.h"

static int make_image(char *path, const char *label, const char *script)
{
	char cmd[1024];
	int fd;

	strcpy(path, "/tmp/rootcrypt-pt-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, 64 << 20) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "printf 'label: %s\\n%s' | sfdisk -q '%s' >/dev/null 2>&1",
		 label, script, path);
	return system(cmd) == 0 ? 0 : -1;
}

static long long sfdisk_size(const char *path, int n)
{
	char cmd[512], line[256];
	long long size = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "sfdisk -d '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	for (int i = 0; fgets(line, sizeof(line), f);) {
		char *s = strstr(line, "size=");

		if (s && ++i == n)
			size = atoll(s + 5);
	}
	pclose(f);
	return size;
}

static int sfdisk_verify_ok(const char *path)
{
	char cmd[512];

	/* sfdisk --verify reports CRC/backup problems on stdout */
	snprintf(cmd, sizeof(cmd), "sfdisk --verify '%s' 2>&1 | grep -q '^No errors detected'",
		 path);
	return system(cmd) == 0;
}

static void grow_case(const char *label)
{
	char path[64];
	struct blkdev *d = NULL;
	struct parttable_part p;

	if (system("command -v sfdisk >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skip: no sfdisk\n");
		return;
	}
	/* partition 1: 8 MiB at 1 MiB, 24 MiB free, partition 2 at 33 MiB */
	CHECK(make_image(path, label, "start=2048, size=16384\nstart=67584, size=8192\n") == 0);
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK(parttable_find(d, 1, &p) == 0);
	CHECK_EQ_INT(p.start, 1 << 20);
	CHECK_EQ_INT(p.size, 8 << 20);
	CHECK_EQ_INT(p.max_size, 32 << 20);
	CHECK(parttable_find(d, 3, &p) < 0);
	CHECK(parttable_find(d, 1, &p) == 0);
	CHECK(parttable_grow(d, &p, 33 << 20) < 0); /* would overlap partition 2 */
	CHECK(parttable_grow(d, &p, 20 << 20) == 0);
	blkdev_close(d);
	d = NULL;
	CHECK_EQ_INT(sfdisk_size(path, 1), (20 << 20) / 512);
	CHECK_EQ_INT(sfdisk_size(path, 2), 8192);
	CHECK(sfdisk_verify_ok(path));
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK(parttable_find(d, 2, &p) == 0);
	/* partition 2 runs into the end of the usable area */
	CHECK(p.max_size >= p.size);
	blkdev_close(d);
	unlink(path);
}

TEST(parttable_gpt_find_grow)
{
	grow_case("gpt");
}

TEST(parttable_mbr_find_grow)
{
	grow_case("dos");
}

TEST(parttable_crc32_known)
{
	CHECK_EQ_INT(parttable_crc32("123456789", 9), 0xcbf43926u);
}

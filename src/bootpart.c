#include "bootpart.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "blkdev.h"
#include "log.h"
#include "parttable.h"

static int kernel_part_bytes(const char *part, long long *ret)
{
	const char *base = strrchr(part, '/');
	char path[300];
	long long sectors;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/block/%s/size", base ? base + 1 : part);
	f = fopen(path, "re");
	if (!f)
		return log_error_errno(errno, "cannot read \"%s\"", path);
	n = fscanf(f, "%lld", &sectors);
	fclose(f);
	if (n != 1)
		return log_error(EIO, "cannot parse \"%s\"", path);
	*ret = sectors * 512; /* sysfs sizes are always in 512-byte units */
	return 0;
}

int bootpart_sync_kernel(const char *disk, const char *part, unsigned partno)
{
	struct blkpg_partition bp = { 0 };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(bp),
				       .data = &bp };
	struct parttable_part p;
	struct blkdev *d = NULL;
	long long have = 0;
	int fd, r;

	r = blkdev_open(disk, BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	r = parttable_find(d, partno, &p);
	blkdev_close(d);
	if (r < 0)
		return r;
	r = kernel_part_bytes(part, &have);
	if (r < 0)
		return r;
	if ((unsigned long long)have == p.size)
		return 0;
	log_info("telling the kernel \"%s\" grew from %lld to %llu bytes", part, have,
		 (unsigned long long)p.size);
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", disk);
	bp.start = (long long)p.start;
	bp.length = (long long)p.size;
	bp.pno = (int)partno;
	r = ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return log_error_errno(r, "cannot resize partition %u of \"%s\" in the kernel", partno,
				       disk);
	return 0;
}

#include "bootpart.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* The kernel's name of partition partno of disk ("sda1", "loop0p1",
 * "nvme0n1p2"): the disk's sysfs directory holds one directory per
 * partition, whose "partition" file is its number. 1 found, 0 none. */
static int kernel_part_name(const char *disk, unsigned partno, char *name, size_t size)
{
	char dir_path[64], path[600];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int found = 0;

	if (stat(disk, &st) < 0)
		return log_error_errno(errno, "cannot stat \"%s\"", disk);
	if (!S_ISBLK(st.st_mode))
		return log_error(ENOTBLK, "\"%s\" is not a block device", disk);
	snprintf(dir_path, sizeof(dir_path), "/sys/dev/block/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	dir = opendir(dir_path);
	if (!dir)
		return log_error_errno(errno, "cannot list \"%s\"", dir_path);
	while (!found && (de = readdir(dir))) {
		unsigned n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", dir_path, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue; /* not a partition (queue, holders, ...) */
		if (fscanf(f, "%u", &n) == 1 && n == partno && strlen(de->d_name) < size) {
			snprintf(name, size, "%s", de->d_name);
			found = 1;
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

int bootpart_sync_kernel(const char *disk, const char *part, unsigned partno)
{
	char name[256];
	struct blkpg_partition bp = { 0 };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(bp),
				       .data = &bp };
	struct parttable_part p;
	struct blkdev *d = NULL;
	long long have = 0;
	int fd, r;

	if (!part) {
		r = kernel_part_name(disk, partno, name, sizeof(name));
		if (r < 0)
			return r;
		if (r == 0) {
			log_debug("the kernel has no partition %u of \"%s\": nothing to resize",
				  partno, disk);
			return 0;
		}
		part = name;
	}
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
	log_info("telling the kernel \"%s\" changed from %lld to %llu bytes", part, have,
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

/* /dev/NAME when it is the kernel's partition, else a node made in
 * node_dir from sysfs's dev numbers (an initramfs without udev, or a host
 * whose devtmpfs was slower than us). */
static int part_node(const char *name, const char *node_dir, char *out, size_t n)
{
	char path[300];
	unsigned ma, mi;
	struct stat st;
	FILE *f;
	int k;

	snprintf(path, sizeof(path), "/sys/class/block/%s/dev", name);
	f = fopen(path, "re");
	if (!f)
		return log_error_errno(errno, "cannot read \"%s\"", path);
	k = fscanf(f, "%u:%u", &ma, &mi);
	fclose(f);
	if (k != 2)
		return log_error(EIO, "cannot parse \"%s\"", path);
	if ((size_t)snprintf(out, n, "/dev/%s", name) < n && stat(out, &st) == 0 &&
	    S_ISBLK(st.st_mode) && st.st_rdev == makedev(ma, mi))
		return 0;
	if ((size_t)snprintf(out, n, "%s/%s", node_dir, name) >= n)
		return log_error(ENAMETOOLONG, "node path for \"%s\" is too long", name);
	(void)unlink(out);
	if (mknod(out, S_IFBLK | 0600, makedev(ma, mi)) < 0)
		return log_error_errno(errno, "cannot make the node \"%s\"", out);
	return 0;
}

int bootpart_node(const char *disk, unsigned partno, const char *node_dir, char *out, size_t n)
{
	char name[256];
	struct blkpg_partition bp = { 0 };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_ADD_PARTITION, .datalen = sizeof(bp),
				       .data = &bp };
	struct parttable_part p;
	struct blkdev *d = NULL;
	int fd, r;

	r = kernel_part_name(disk, partno, name, sizeof(name));
	if (r < 0)
		return r;
	if (r == 0) {
		r = blkdev_open(disk, BLKDEV_RDONLY, &d);
		if (r < 0)
			return r;
		r = parttable_find(d, partno, &p);
		blkdev_close(d);
		if (r < 0)
			return r;
		log_info("telling the kernel about partition %u of \"%s\"", partno, disk);
		fd = open(disk, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return log_error_errno(errno, "cannot open \"%s\"", disk);
		bp.start = (long long)p.start;
		bp.length = (long long)p.size;
		bp.pno = (int)partno;
		r = ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
		close(fd);
		if (r < 0)
			return log_error_errno(r, "cannot add partition %u of \"%s\" to the kernel",
					       partno, disk);
		r = kernel_part_name(disk, partno, name, sizeof(name));
		if (r <= 0)
			return r < 0 ? r : log_error(ENOENT, "the kernel did not add partition %u of "
						     "\"%s\"", partno, disk);
	}
	r = bootpart_sync_kernel(disk, name, partno);
	if (r < 0)
		return r;
	return part_node(name, node_dir, out, n);
}

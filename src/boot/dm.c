#include "dm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"

#define DM_CONTROL "/dev/mapper/control"

/* One ioctl buffer: header, one target spec, its parameter string. */
struct dm_buf {
	struct dm_ioctl io;
	struct dm_target_spec spec;
	char params[256];
};

static void dm_init(struct dm_buf *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->io.version[0] = DM_VERSION_MAJOR;
	b->io.version[1] = 0;
	b->io.version[2] = 0;
	b->io.data_size = sizeof(*b);
	b->io.data_start = sizeof(struct dm_ioctl);
	snprintf(b->io.name, sizeof(b->io.name), "%s", name);
}

static int dm_control_open(void)
{
	int fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);

	/* An initramfs without udev rules for dm may lack the control node. */
	if (fd < 0 && errno == ENOENT) {
		mkdir("/dev/mapper", 0755);
		if (mknod(DM_CONTROL, S_IFCHR | 0600, makedev(10, 236)) == 0 || errno == EEXIST)
			fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\" (device-mapper missing?)",
				       DM_CONTROL);
	return fd;
}

int dm_create_linear(const char *name, const char *dev_path)
{
	char node[300];
	struct dm_buf b;
	struct stat st;
	uint64_t bytes;
	int ctl, fd, r = 0;

	fd = open(dev_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", dev_path);
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
		close(fd);
		return log_error(ENOTBLK, "\"%s\" is not a block device", dev_path);
	}
	close(fd);

	ctl = dm_control_open();
	if (ctl < 0)
		return ctl;

	dm_init(&b, name);
	snprintf(b.io.uuid, sizeof(b.io.uuid), "ROOTCRYPT-PLAIN-%s", name);
	if (ioctl(ctl, DM_DEV_CREATE, &b) < 0) {
		r = log_error_errno(errno, "cannot create device-mapper device \"%s\"", name);
		goto out;
	}

	dm_init(&b, name);
	b.io.target_count = 1;
	b.spec.sector_start = 0;
	b.spec.length = bytes / 512;
	snprintf(b.spec.target_type, sizeof(b.spec.target_type), "linear");
	snprintf(b.params, sizeof(b.params), "%u:%u 0", major(st.st_rdev), minor(st.st_rdev));
	b.spec.next = 0;
	if (ioctl(ctl, DM_TABLE_LOAD, &b) < 0) {
		r = log_error_errno(errno, "cannot load linear table for \"%s\"", name);
		goto remove;
	}

	dm_init(&b, name);
	if (ioctl(ctl, DM_DEV_SUSPEND, &b) < 0) { /* no SUSPEND flag: resume */
		r = log_error_errno(errno, "cannot activate \"%s\"", name);
		goto remove;
	}

	/* udev normally makes the node; wait briefly, then make it ourselves. */
	snprintf(node, sizeof(node), "/dev/mapper/%s", name);
	for (int i = 0; i < 20 && stat(node, &st) < 0; i++)
		usleep(100000);
	if (stat(node, &st) < 0 &&
	    mknod(node, S_IFBLK | 0600, makedev(major(b.io.dev), minor(b.io.dev))) < 0 &&
	    errno != EEXIST)
		r = log_error_errno(errno, "cannot create \"%s\"", node);
	goto out;
remove:
	dm_init(&b, name);
	ioctl(ctl, DM_DEV_REMOVE, &b);
out:
	close(ctl);
	return r;
}

#include "bootmount.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int bootmount_header_fs(const char *device, const char *dir)
{
	/* What /boot is made with on the images we serve; the kernel says
	 * EINVAL (bad superblock) or ENODEV (no driver) for the wrong ones. */
	static const char *const types[] = { "ext4", "xfs", "vfat", "ext2" };
	int err = ENODEV;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create mount point \"%s\"", dir);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (mount(device, dir, types[i], MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_NOATIME,
			  NULL) == 0) {
			log_debug("mounted \"%s\" (%s) on \"%s\" for the header", device, types[i],
				  dir);
			return 0;
		}
		if (errno != EINVAL && errno != ENODEV)
			return log_error_errno(errno, "cannot mount \"%s\" on \"%s\" (%s)", device,
					       dir, types[i]);
		err = errno;
	}
	return log_error_errno(err, "cannot mount \"%s\" for the detached header: not ext4, "
			       "XFS or FAT", device);
}

void bootmount_release(const char *dir)
{
	sync();
	if (umount2(dir, 0) < 0)
		log_warn("cannot unmount \"%s\": %s", dir, strerror(errno));
	else
		rmdir(dir);
}

int bootmount_fs(const char *device, const char *dir, unsigned long flags)
{
	static const char *const types[] = { "ext4", "xfs" };
	unsigned long f = flags | MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_NOATIME;
	int err = ENODEV;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create mount point \"%s\"", dir);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (mount(device, dir, types[i], f, NULL) == 0)
			return 0;
		if (errno != EINVAL && errno != ENODEV)
			return log_error_errno(errno, "cannot mount \"%s\" on \"%s\" (%s)", device,
					       dir, types[i]);
		err = errno;
	}
	return log_error_errno(err, "cannot mount \"%s\": not ext4 or XFS", device);
}

void bootmount_unmount(const char *dir)
{
	if (umount2(dir, 0) < 0 && errno != EINVAL && errno != ENOENT)
		log_warn("cannot unmount \"%s\": %s", dir, strerror(errno));
}

#include "online_header.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bootdev.h"
#include "bootmount.h"
#include "log.h"
#include "luks2.h"
#include "mountinfo.h"

/* The header file at path must be a regular file on the device dev (a
 * mount over a directory on the way would show someone else's file). */
static int on_device(const char *path, dev_t dev, char *why, size_t why_len)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(why, why_len, "no header file \"%.300s\" (%s)", path, strerror(errno));
		return log_error(ENOENT, "online: %s", why);
	}
	if (!S_ISREG(st.st_mode) || st.st_dev != dev) {
		snprintf(why, why_len, "\"%.300s\" is not a file on the header's file system "
			 "(%u:%u)", path, major(dev), minor(dev));
		return log_error(ENOENT, "online: %s", why);
	}
	return 0;
}

/* The file's LUKS2 UUID must be the marker's: another volume's header (a
 * file put there by hand, an older volume's) is never handed to
 * cryptsetup. */
static int same_volume(const char *path, const char *uuid, char *why, size_t why_len)
{
	struct luks2_hdr *h = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "cannot open the header \"%.300s\" (%s)", path,
			 strerror(errno));
		return log_error(ENOENT, "online: %s", why);
	}
	r = luks2_hdr_read(&h, fd, 0, NULL);
	close(fd);
	if (r < 0) {
		snprintf(why, why_len, "\"%.300s\" holds no readable LUKS2 header", path);
		return log_error(EINVAL, "online: %s", why);
	}
	if (strcmp(luks2_hdr_uuid(h), uuid) != 0) {
		snprintf(why, why_len, "the header \"%.300s\" is volume %.40s's, not volume %.40s's",
			 path, luks2_hdr_uuid(h), uuid);
		r = log_error(EINVAL, "online: %s", why);
	}
	luks2_hdr_free(h);
	return r;
}

/* Where the system has the header's file system mounted read-write:
 * 1 with the path, 0 when nowhere, -EROFS when read-only only. */
static int system_mount(dev_t dev, const char *header_path, char *out, size_t n,
			char *why, size_t why_len)
{
	bool ro = false;
	int r;

	r = mountinfo_locate_self(major(dev), minor(dev), header_path, out, n, &ro);
	/* mountinfo_locate's own errors are about the path */
	if (r < 0 && r != -ENAMETOOLONG && r != -EINVAL) {
		snprintf(why, why_len, "cannot read /proc/self/mountinfo");
		return r;
	}
	if (r == 1 && ro) {
		snprintf(why, why_len, "the header's file system is mounted read-only (\"%.300s\"); "
			 "cryptsetup writes the header during the pass", out);
		return log_error(EROFS, "online: %s", why);
	}
	if (r < 0)
		snprintf(why, why_len, "the header's path \"%.300s\" is too long", header_path);
	return r;
}

/* A mount namespace of our own whose mounts do not propagate back; then
 * the header's file system on a new directory under status_dir. */
static int private_mount(const char *status_dir, const char *node, struct online_header *h,
			 char *why, size_t why_len)
{
	int r;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		r = -errno;
		snprintf(why, why_len, "cannot make a private mount namespace for \"%.300s\" (%s)",
			 node, strerror(-r));
		return log_error(-r, "online: %s", why);
	}
	errno = 0;
	if ((size_t)snprintf(h->private_dir, sizeof(h->private_dir), "%s/header-fs.XXXXXX",
			     status_dir) >= sizeof(h->private_dir) || !mkdtemp(h->private_dir)) {
		r = errno ? -errno : -ENAMETOOLONG;
		snprintf(why, why_len, "cannot make a mount point in \"%.300s\"", status_dir);
		h->private_dir[0] = '\0';
		return log_error(-r, "online: %s", why);
	}
	r = bootmount_header_fs(node, h->private_dir);
	if (r < 0) {
		rmdir(h->private_dir);
		h->private_dir[0] = '\0';
		snprintf(why, why_len, "cannot mount the header's file system \"%.300s\"", node);
		return r;
	}
	log_info("online: mounted \"%s\" on \"%s\" for this pass (not visible to the system)",
		 node, h->private_dir);
	return 0;
}

int online_header_find(const char *status_dir, const struct online_marker *m,
		       struct online_header *ret, char *why, size_t why_len)
{
	struct online_header h = { 0 };
	char spec_path[PATH_MAX], node[PATH_MAX];
	struct stat st;
	int r;

	if (!m->header_fs[0]) {
		/* without header_device the initramfs read the path in its own
		 * tree: this system cannot tell which file that was, and a
		 * stale copy with the same UUID would be a wrong header */
		snprintf(why, why_len, "the initramfs read the header \"%.300s\" on no named file "
			 "system (header_device unset); give --header", m->header_path);
		return log_error(ENOENT, "online: %s", why);
	}
	if (bootdev_spec_path(m->header_fs, spec_path, sizeof(spec_path)) < 0 ||
	    !realpath(spec_path, node) || stat(node, &st) < 0 || !S_ISBLK(st.st_mode)) {
		snprintf(why, why_len, "the header's file system \"%.300s\" is not a block device "
			 "here", m->header_fs);
		return log_error(ENODEV, "online: %s", why);
	}
	r = system_mount(st.st_rdev, m->header_path, h.path, sizeof(h.path), why, why_len);
	if (r < 0)
		return r;
	if (r == 0) {
		r = private_mount(status_dir, node, &h, why, why_len);
		if (r < 0)
			return r;
		if ((size_t)snprintf(h.path, sizeof(h.path), "%s%s", h.private_dir,
				     m->header_path) >= sizeof(h.path)) {
			online_header_release(&h);
			snprintf(why, why_len, "the header's path \"%.300s\" is too long",
				 m->header_path);
			return log_error(ENAMETOOLONG, "online: %s", why);
		}
	}
	r = on_device(h.path, st.st_rdev, why, why_len);
	if (r == 0)
		r = same_volume(h.path, m->uuid, why, why_len);
	if (r < 0) {
		online_header_release(&h);
		return r;
	}
	*ret = h;
	return 0;
}

void online_header_release(struct online_header *h)
{
	if (!h->private_dir[0])
		return;
	bootmount_release(h->private_dir);
	h->private_dir[0] = '\0';
}

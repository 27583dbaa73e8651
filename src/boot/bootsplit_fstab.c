/* Step 4 of the /boot split (BOOT.md "fstab"): R's /etc/fstab gains the
 * line that mounts B on /boot, replaced whole by rename (ext4 journals it:
 * old or new text after a cut), the original kept beside it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootmount.h"
#include "bootsplit_fill.h"
#include "bootsplit_text.h"
#include "fileio.h"
#include "log.h"

#define FSTAB_MAX (1u << 20)

int bootsplit_fstab_apply(const char *r_root, const char *b_uuid)
{
	char path[PATH_MAX], *old = NULL, *new = NULL;
	struct stat st;
	size_t len;
	int etc, r;

	snprintf(path, sizeof(path), "%s/etc", r_root);
	etc = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (etc < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	if (fstatat(etc, "fstab", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = log_error_errno(errno, "cannot read the root's /etc/fstab");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = log_error(EINVAL, "the root's /etc/fstab is not a regular file: refusing to "
			      "replace it");
		goto out;
	}
	r = fileio_read_at(etc, "fstab", FSTAB_MAX, &old, &len);
	if (r < 0) {
		if (r == -ENOENT)
			log_error_errno(r, "cannot read the root's /etc/fstab");
		goto out;
	}
	if (strlen(old) != len) {
		r = log_error(EINVAL, "the root's /etc/fstab holds a NUL byte: refusing to edit it");
		goto out;
	}
	r = bootsplit_fstab_add(old, b_uuid, &new);
	if (r <= 0) {
		if (r == 0)
			log_debug("fstab already mounts UUID=%s on /boot", b_uuid);
		goto out;
	}
	/* the first run's original stays: a rerun after a cut sees the same
	 * text (the rename had not landed) or finds the line (it had) */
	if (faccessat(etc, "fstab.rootcrypt-orig", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		r = fileio_replace_at(etc, "fstab.rootcrypt-orig", "fstab.rootcrypt-orig.tmp", old,
				      len, &st);
		if (r < 0)
			goto out;
	}
	r = fileio_replace_at(etc, "fstab", "fstab.rootcrypt-new", new, strlen(new), &st);
out:
	free(old);
	free(new);
	close(etc);
	return r;
}

int bootsplit_fstab(const char *r_dev, const char *b_uuid, const char *work_dir)
{
	char rdir[PATH_MAX];
	int r, fd;

	if (mkdir(work_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create \"%s\"", work_dir);
	snprintf(rdir, sizeof(rdir), "%s/r", work_dir);
	r = bootmount_fs(r_dev, rdir, 0);
	if (r < 0)
		return r;
	r = bootsplit_fstab_apply(rdir, b_uuid);
	fd = open(rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (syncfs(fd) < 0 && r == 0)
			r = log_error_errno(errno, "cannot sync the root file system");
		close(fd);
	}
	bootmount_unmount(rdir);
	return r;
}

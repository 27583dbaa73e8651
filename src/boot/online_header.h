/* The detached header after switch-root (src/engine/ONLINE.md "Built so
 * far", detached layout in the unit). The initramfs names the header by
 * its file system (the marker's header_fs: header_device as configured)
 * and its path inside it (header_path); it mounted that file system on a
 * directory of its own, gone now. The running system may have it mounted
 * anywhere (usually /boot), or not at all. */
#pragma once
#include <limits.h>
#include <stddef.h>

#include "online_key.h"

struct online_header {
	char path[PATH_MAX];	  /* the header file as this process reaches it */
	char private_dir[PATH_MAX]; /* our own mount of its file system, or "" */
};

/* Finds the marker's header: the device header_fs names (a block device),
 * then a read-write mount of it in /proc/self/mountinfo that reaches
 * header_path (mount point + path); when none exists, mounts it read-write
 * (cryptsetup writes the header during the pass) on a new directory under
 * status_dir inside a mount namespace of this process's own, so nothing
 * else sees it and it cannot outlive the process. The file must be on that
 * device (a mount over part of the path would show another file) and hold
 * a LUKS2 header with the marker's UUID. 0, or negative errno with why
 * filled in (one line logged, nothing written): no header_fs, no such
 * device, mounted read-only only, no file there, another volume's header. */
int online_header_find(const char *status_dir, const struct online_marker *m,
		       struct online_header *ret, char *why, size_t why_len);

/* Unmounts (after sync) and removes a private mount; nothing otherwise. */
void online_header_release(struct online_header *h);

/* The file system holding a detached header (usually /boot), mounted by
 * `rootcrypt boot` for as long as it needs the header, then released so the
 * booted system mounts it as usual. */
#pragma once
#include <stddef.h>

/* Mounts device (a /dev path) read-write on dir (created), trying the file
 * system types a /boot is made with. -errno with one line logged. */
int bootmount_header_fs(const char *device, const char *dir);

/* Syncs and unmounts dir; logs a warning when it cannot (the header writes
 * were already made durable by the engine's fsyncs). */
void bootmount_release(const char *dir);

/* Mounts device on dir (created) as ext4 or XFS with flags (MS_RDONLY for
 * a read-only look: the root's /boot, B's marker), nodev, nosuid, noexec,
 * noatime. -errno with one line logged. */
int bootmount_fs(const char *device, const char *dir, unsigned long flags);

/* Unmounts dir (not mounted: nothing to do); a warning when it cannot. */
void bootmount_unmount(const char *dir);

/* Boot-time device lookup: "PARTUUID=…", "UUID=…", "PARTLABEL=…", "LABEL=…"
 * or a /dev path, waited for until udev has made it (or a timeout). */
#pragma once
#include <stddef.h>

/* The /dev/disk/by-* path a spec names, or the spec itself when it is a
 * path. Pure: no I/O. -EINVAL for an unknown form. */
int bootdev_spec_path(const char *spec, char *out, size_t n);

/* Resolves spec to a real device node path, waiting up to timeout_ms for it
 * to appear. -ETIMEDOUT with one line logged when it never does. */
int bootdev_wait(const char *spec, int timeout_ms, char *out, size_t n);

/* For a partition node (/dev/vda1): its disk (/dev/vda) and number (1),
 * from sysfs. -ENOTBLK when dev is not a partition. */
int bootdev_partition_of(const char *dev, char *disk, size_t n, unsigned *ret_partno);

/* After the shift layout grew the root partition in the on-disk table, the
 * running kernel still has the old size for /dev/<part>, and cryptsetup
 * would map a volume short by the growth (truncating the file system's
 * end). Tell the kernel the new size: `rootcrypt encrypt` right after the
 * grow (and at the end of every run, which covers a run killed in between),
 * `rootcrypt boot` before unlocking. */
#pragma once
#include <stddef.h>

/* Makes the kernel's partition partno of disk match the partition table.
 * part is the partition's device node, or NULL to find the kernel's
 * partition partno of disk in sysfs; then a kernel that has no such
 * partition (a loop device attached without partition scanning) has
 * nothing to be told: 0. 0 when they already match or after the resize;
 * negative errno. */
int bootpart_sync_kernel(const char *disk, const char *part, unsigned partno);

/* Makes the kernel know partition partno of disk as the table has it (added
 * with BLKPG when missing, resized when it differs) and gives its node in
 * out: /dev/NAME, or one made under node_dir. 0 or negative errno (one
 * line). */
int bootpart_node(const char *disk, unsigned partno, const char *node_dir, char *out, size_t n);

/* After the shift layout grew the root partition in the on-disk table, the
 * running kernel still has the old size for /dev/<part>, and cryptsetup
 * would map a volume short by the growth (truncating the file system's
 * end). Tell the kernel the new size before unlocking. */
#pragma once

/* Makes the kernel's partition partno of disk match the partition table.
 * 0 when they already match or after the resize; negative errno. */
int bootpart_sync_kernel(const char *disk, const char *part, unsigned partno);

/* Online mode's geometry (src/engine/ONLINE.md "Layouts and room"): stock
 * cryptsetup's in-place initialisation (`reencrypt --encrypt --init-only
 * --reduce-device-size 32M`) puts the data offset at 16 MiB and keeps a
 * copy of the first 16 MiB in the partition's last 16 MiB until its last
 * hotzone, so the file system must end by P - 32 MiB (offline: P - 18 MiB).
 * Pure. */
#pragma once
#include <stdint.h>

#define ONLINE_REDUCE_SIZE (32ull << 20)   /* --reduce-device-size */
#define ONLINE_DATA_OFF (ONLINE_REDUCE_SIZE / 2) /* where cryptsetup puts the data */

/* Bytes of the partition (size P) the file system may use for an online
 * in-place conversion: P aligned down to 4096, less ONLINE_REDUCE_SIZE;
 * 0 when P is smaller than that. */
uint64_t online_shift_capacity(uint64_t part_size);

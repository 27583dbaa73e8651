/* Step 1 of the /boot split (src/boot/BOOT.md "Sequence", 1. Shrink): the
 * root's ext4 file system shrinks to F, only when resize2fs has nothing
 * to move, with an intent record in the last 4 KiB of the partition that
 * lets an interrupted resize be finished (e2fsck -y, resize2fs again). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOOTSPLIT_INTENT_SIZE 4096u

/* What a shrink is for: the file system (R), the partition holding it, the
 * /boot partition it makes room for, and F. The record is trusted only
 * when all four equal what the caller expects now. */
struct bootsplit_intent {
	uint8_t fs_uuid[16];		/* R, as in the ext4 superblock */
	uint8_t part_guid[16];		/* p1's unique partition GUID */
	uint8_t boot_part_guid[16];	/* PB, chosen at enroll */
	uint64_t fs_target;		/* F, bytes from p1's start */
};

/* Pure: the 4 KiB record (magic, version, the fields little-endian,
 * sha256 over what precedes it, zeros after). */
void bootsplit_intent_encode(const struct bootsplit_intent *in, uint8_t out[BOOTSPLIT_INTENT_SIZE]);
/* Pure: 0 and *ret filled for a well-formed record, -EINVAL otherwise
 * (bad magic, version, checksum, non-zero padding or F not 4 KiB aligned). */
int bootsplit_intent_decode(const uint8_t in[BOOTSPLIT_INTENT_SIZE], struct bootsplit_intent *ret);

/* Shrinks the ext4 file system on dev (the root partition, unmounted) to
 * at most want->fs_target bytes, or finishes a shrink the record says was
 * started. 0 when the file system ends at or below F afterwards (also when
 * it already did: nothing is run); -ENOSPC when data lies at or beyond F,
 * -EUCLEAN when e2fsck cannot repair without questions and no record says
 * the damage is our own interrupted resize, -EOPNOTSUPP for file systems
 * whose shrink is not modelled; other negative errnos for I/O or tools.
 * Nothing is written before the checks pass except what e2fsck -p does on
 * every boot. One line names the reason. */
int bootsplit_shrink(const char *dev, const struct bootsplit_intent *want);

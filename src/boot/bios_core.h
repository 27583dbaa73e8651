/* The /boot split's BIOS step (BOOT.md "Boot loader repoint", step 6): a GRUB
 * i386-pc core image staged at enroll (it finds B by UUID) is embedded in
 * the second half of the BIOS boot partition (p14) the way grub-setup embeds
 * one (util/setup.c, without Reed-Solomon codes), then sector 0 is switched
 * to point at it: core first (flush, read back), then the one sector 0
 * (flush, read back). Until sector 0 lands, the old core in p14's first
 * half boots; after, the new one. Offsets below are GRUB 2's
 * (include/grub/i386/pc/boot.h, diskboot's blocklist). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"

#define BIOS_SECTOR 512u
#define BIOS_BPB_START 0x03u		/* BPB copied from the disk's sector 0 */
#define BIOS_BPB_END 0x5au
#define BIOS_KERNEL_SECTOR 0x5cu	/* 8 bytes LE: the core's first sector */
#define BIOS_BOOT_DRIVE 0x64u		/* 0xff: use the drive the BIOS passed */
#define BIOS_DRIVE_CHECK 0x66u		/* jmp replaced by two NOPs on hard disks */
#define BIOS_NT_MAGIC 0x1b8u		/* disk signature + partition table to 0x1ff */
#define BIOS_BLOCKLIST 0x1f4u		/* in the core's first sector: {u64 start, u16 len, u16 seg} */
#define BIOS_BLOCKLIST_SIZE 12u
#define BIOS_CORE_SEGMENT 0x820u	/* GRUB_BOOT_I386_PC_KERNEL_SEG + 0x20 */
#define BIOS_CORE_MAX (0xffffu * BIOS_SECTOR)

/* Where the new core goes: p14 start + half of p14 (sectors). */
uint64_t bios_core_l(uint64_t p14_start, uint64_t p14_sectors);

/* Pure. New sector 0 = boot_img with kernel_sector = l, boot drive 0xff,
 * drive check two NOPs, BPB (0x03-0x59) and 0x1b8-0x1ff from cur_mbr; core_out
 * (whole sectors: (core_len + 511) / 512 * 512 bytes, zero padded) = core with
 * its diskboot blocklist set to {l + 1, sectors - 1, 0x820} and a terminator
 * below it. -EINVAL with *why for a core that is not a diskboot image or of
 * a size GRUB itself would refuse. */
int bios_core_embed(const uint8_t boot_img[BIOS_SECTOR], const uint8_t cur_mbr[BIOS_SECTOR],
		    const uint8_t *core, size_t core_len, uint64_t l,
		    uint8_t new_mbr[BIOS_SECTOR], uint8_t *core_out, const char **why);

/* Pure. May the switch run? cur_mbr is the disk's sector 0, old_first the
 * sector its kernel_sector points at (NULL when outside the disk). 0 when
 * it may; -EINVAL with *why when: the new core does not fit in p14's second
 * half, sector 0's boot code is not boot_img's, or the old core (its first
 * sector and every blocklist extent) is not wholly in p14's first half. */
int bios_core_check(const uint8_t boot_img[BIOS_SECTOR], const uint8_t cur_mbr[BIOS_SECTOR],
		    const uint8_t *old_first, uint64_t p14_start, uint64_t p14_sectors,
		    size_t core_len, const char **why);

/* Step 6 on the whole disk d (512-byte sectors). 1: switched; 0: already
 * switched (sector 0 is the new one and the core at L is the new core);
 * negative errno with one error line, nothing written on a refusal. */
int bios_core_switch(struct blkdev *d, uint64_t p14_start, uint64_t p14_sectors,
		     const uint8_t boot_img[BIOS_SECTOR], const uint8_t *core, size_t core_len);
/* Read only: 1 when sector 0 of d points at L and is the new sector 0 for
 * this core, and the core at L is the staged one (step 6 done), 0 when not,
 * negative errno with one line. */
int bios_core_in_place(struct blkdev *d, uint64_t p14_start, uint64_t p14_sectors,
		       const uint8_t boot_img[BIOS_SECTOR], const uint8_t *core, size_t core_len);

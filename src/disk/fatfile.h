/* Read-only lookup of a file on a FAT12/16/32 file system (the EFI system
 * partition) straight from the block device: where its data starts on the
 * device, how long it is, and whether its clusters follow one another. The
 * /boot split rewrites one sector of an ESP file in place (src/boot/
 * esp_stub.c) without mounting the ESP: the initramfs then needs no vfat
 * module, and the write is one sector, old or new. Everything read from the
 * disk is bounds-checked (tests/fuzz/fuzz_fatfile.c). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "blkdev.h"

struct fatfile {
	unsigned fat_bits;	/* 12, 16 or 32 */
	uint32_t cluster_size;	/* bytes */
	uint32_t first_cluster;
	uint64_t size;		/* bytes, from the directory entry */
	uint64_t data_off;	/* device byte offset of the file's first byte */
	bool contiguous;	/* clusters first..first+n-1, then end of chain */
};

/* Finds PATH ("EFI/debian/grub.cfg", '/'-separated, case-insensitive 8.3
 * short names: long-name entries are not read) on the FAT file system that
 * fills d. 0 on success; -ENOENT when a component is missing; -EINVAL with
 * one error line when the file system or the entry is not what FAT says
 * (bad boot sector, a cluster outside the volume, a loop in a chain, a
 * directory where a file is expected). */
int fatfile_find(struct blkdev *d, const char *path, struct fatfile *ret);

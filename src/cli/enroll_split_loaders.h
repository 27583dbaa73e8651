/* enroll's checks of the two boot loaders the /boot split repoints
 * (BOOT.md "Boot loader repoint"), read from the disk without mounting or
 * writing anything on it. Internal to enroll_split.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "blkdev.h"
#include "parttable.h"

/* The ESP (GPT type ESP; none: *ret_present false, 0): which of the known
 * GRUB files on it name R, space separated into list, checked with
 * esp_file_patch as step 5 will patch them (to B with hint K). -errno with
 * one line for a file the switch would refuse (fragmented, a change across
 * a sector, R outside a search), and for an ESP where no file names R. */
int enroll_split_esp(struct blkdev *disk, const struct parttable_gpt_info *g, const char *r,
		     const char *b, unsigned k, char *list, size_t n, bool *ret_present);

/* Whether the disk boots through a BIOS GRUB: a BIOS boot partition and
 * boot code in sector 0. */
int enroll_split_bios_present(struct blkdev *disk, const struct parttable_gpt_info *g,
			      bool *ret);

/* Stages into dir (created) from the target tree's GRUB i386-pc directory
 * grub_dir: core.img finding B on partition K (enroll_bios_stage), boot.img,
 * and i386-pc/ with the modules grub-install copies into /boot/grub/i386-pc;
 * then holds the disk's sector 0, its old core and the BIOS boot partition
 * against the new core (bios_core_check). -errno with one line; dir may be
 * left partly filled (the caller removes it). */
int enroll_split_bios_stage(struct blkdev *disk, const struct parttable_gpt_info *g,
			    const char *grub_dir, const char *b, unsigned k, const char *dir,
			    char sha256[65]);

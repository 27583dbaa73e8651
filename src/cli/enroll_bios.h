/* enroll's part of the BIOS repoint (BOOT.md "Boot loader repoint", step 6):
 * stage a GRUB i386-pc core image that finds /boot's new file system B by
 * its UUID, built by the distro's grub-mkimage from the distro's modules, so
 * that the initramfs later only embeds bytes (src/boot/bios_core.c) and runs
 * no grub tool. */
#pragma once
#include <stddef.h>

#define ENROLL_BIOS_MODULES "biosdisk", "part_gpt", "part_msdos", "ext2", "search_fs_uuid"

/* The load.cfg the staged core embeds: `search.fs_uuid B root hd0,gptK`
 * and `set prefix=($root)'/grub'` (B's root is /boot). -EINVAL for a B
 * that is not a UUID or K outside 1-128, -ENOSPC when out is too small. */
int enroll_bios_load_cfg(const char *b_uuid, unsigned k, char *out, size_t out_len);

/* Writes DIR/load.cfg, runs `grub-mkimage -O i386-pc -d GRUB_DIR -c load.cfg
 * -p /grub -o DIR/core.img <modules>` and fsyncs the result. On success
 * ret_path (DIR/core.img) and ret_sha256 (64 hex digits + NUL) are set. One
 * error line on failure. */
int enroll_bios_stage(const char *grub_dir, const char *b_uuid, unsigned k, const char *dir,
		      char *ret_path, size_t path_len, char ret_sha256[65]);

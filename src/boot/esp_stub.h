/* The /boot split's ESP step (BOOT.md "Boot loader repoint", step 5): an ESP
 * file that names the root file system's UUID R (the grub.cfg stub that
 * Debian's signed grubx64.efi sources, or an unsigned GRUB image with an
 * embedded config) is rewritten in place, same length, to name B. The
 * change must lie in one sector of the file, written with one pwrite on the
 * ESP block device (found by fatfile.c, no vfat mount): old or new, never
 * mixed. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"

#define ESP_UUID_LEN 36
#define ESP_MAX_FILE (64u << 20)

/* A grub.cfg stub: in each line whose first word is `search.fs_uuid`, or
 * `search` with `--fs-uuid`/`-u`, and that names R, R becomes B, and a hint
 * `hd0,gptN` (also as --hint=/--hint-bios=/--hint-efi=) becomes `hd0,gptK`
 * when N and K have as many digits (else it stays: a hint is only tried
 * first). 1: out (len bytes) holds the patched stub; 0: no line names R
 * (out untouched); -EINVAL with *why: R anywhere else, bytes that are not
 * text, bad R/B/K. */
int esp_stub_patch(const uint8_t *in, size_t len, const char *r_uuid, const char *b_uuid,
		   unsigned k, uint8_t *out, const char **why);

/* An unsigned PE image (a GRUB core for x86_64-efi, not compressed) whose
 * embedded config names R: every R becomes B. A signed image (PE security
 * directory not empty) naming R is refused: patching would break its
 * signature. Same returns as esp_stub_patch. */
int esp_image_patch(const uint8_t *in, size_t len, const char *r_uuid, const char *b_uuid,
		    uint8_t *out, const char **why);

/* Either of the above by content ("MZ": image), and then the rule that
 * every changed byte lies in one `unit`-byte sector of the file: on 1,
 * [*ret_lo, *ret_hi) is the changed range. */
int esp_file_patch(const uint8_t *in, size_t len, const char *r_uuid, const char *b_uuid,
		   unsigned k, size_t unit, uint8_t *out, size_t *ret_lo, size_t *ret_hi,
		   const char **why);

/* Step 5 for one file on the ESP device: find it (FAT, read only), refuse
 * a fragmented file or a change that would straddle a sector, then write
 * the one sector, flush, read it back. 1: switched; 0: the file names no R
 * (nothing written); negative errno with one error line (nothing written
 * unless the write itself failed). */
int esp_switch(struct blkdev *esp, const char *path, const char *r_uuid, const char *b_uuid,
	       unsigned k);
/* Whether the ESP file names uuid where step 5 would patch it (a search
 * line of a stub, anywhere in an unsigned image), checked as the patch
 * uuid -> other (a different UUID) would be made: 1 yes, 0 no, negative
 * errno with one line (missing, fragmented, not text, signed naming it,
 * a change straddling a sector). */
int esp_file_names(struct blkdev *esp, const char *path, const char *uuid, const char *other,
		   unsigned k);

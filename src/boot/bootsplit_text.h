/* The /boot split's text edits (BOOT.md steps 3 and 4), pure: GRUB's
 * configuration copied to B, and R's /etc/fstab. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* A UUID as blkid and GRUB print it: 8-4-4-4-12 hex digits. */
bool bootsplit_uuid_valid(const char *s);

/* In every line whose first word is `search` or `search.fs_uuid`, each
 * occurrence of the UUID r (case-insensitive, as a whole word: not inside a
 * longer run of hex digits and dashes) becomes b; every other byte stays
 * (`linux ... root=UUID=r` keeps the root's UUID). *ret_out is malloc'ed,
 * *ret_count the number of replacements. 0 or -ENOMEM / -EINVAL (bad UUID). */
int bootsplit_grubcfg_rewrite(const char *in, size_t len, const char *r, const char *b,
			      char **ret_out, size_t *ret_len, unsigned *ret_count);

/* The line step 4 adds. */
#define BOOTSPLIT_FSTAB_FMT "UUID=%s /boot ext4 defaults 0 2\n"

/* R's fstab with `UUID=b /boot ext4 defaults 0 2` added before the first
 * line mounting /boot/efi, else at the end. 1 with *ret_out (malloc'ed,
 * NUL-terminated) when the text changes; 0 when a `UUID=b /boot` line is
 * already there (nothing to do); -EEXIST when another line mounts /boot
 * (one line logged: the fstab is not ours to rewrite); -EINVAL, -ENOMEM. */
int bootsplit_fstab_add(const char *in, const char *b, char **ret_out);

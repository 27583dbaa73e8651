/* Final unlock: hands the keyslot passphrase to the initramfs's stock
 * cryptsetup on a pipe (never argv or environment), which creates
 * /dev/mapper/NAME. Using stock cryptsetup keeps the dm-crypt table
 * (cipher, offsets, sector size, large IVs) exactly as cryptsetup derives
 * it from the LUKS2 header, so what boots is what any rescue system opens. */
#pragma once
#include <stddef.h>

/* Path of cryptsetup: the first of /sbin, /usr/sbin, /bin, /usr/bin that
 * exists (the test build: $ROOTCRYPT_CRYPTSETUP first). NULL when none. */
const char *unlock_cryptsetup_path(void);

/* 0 and the keyslot when the header at path (the volume, or a detached
 * header file) is the kind rootcrypt writes and the passphrase opens it
 * with rootcrypt's own reader; -EPERM (one line said why) otherwise. */
int unlock_check_header(const char *path, const void *pass, size_t pass_len, int *ret_slot);

/* target: LUKS2 device (or data device when header != NULL). Returns 0 when
 * /dev/mapper/NAME exists afterwards, -EPERM for a wrong passphrase,
 * -EEXIST when NAME is already active, -ENOENT without cryptsetup, -EIO
 * otherwise; one line logged. */
int unlock_open(const char *target, const char *header, const char *name, const void *pass,
		size_t pass_len);

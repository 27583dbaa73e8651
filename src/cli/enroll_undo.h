/* `enroll --undo` on a root rootcrypt already encrypted (or is encrypting).
 * Undoing the enrolment there would leave a VM that cannot boot: without
 * /etc/rootcrypt.conf the initramfs is built without rootcrypt, and GRUB's
 * root= goes back to a file system that is now inside LUKS2. So it keeps
 * those, says what it cannot undo and how that is done offline, and
 * removes only what the encrypted root no longer needs. */
#pragma once
#include <stdbool.h>

/* 0: the configured root device is not rootcrypt's volume (plain, or not
 * readable here: an image tree whose disk is not attached): the plain
 * undo applies. 1: it is; said so on stdout, removed the staged /boot
 * split (not with dry_run), wrote nothing else. Detached layout: the
 * partition holds no header, so its state is read with the header file,
 * found where the system has header_device mounted; -ENOENT (logged,
 * nothing written) when the partition is here but that file system is
 * not mounted. Negative errno when the removal failed. */
int enroll_undo_encrypted_root(const char *root, const char *conf_text, bool dry_run);

/* Online mode's first boot in the initramfs (src/engine/ONLINE.md "Boot 1",
 * steps 0 and 2-5, in-place layout) and what later boots do with the
 * states a cut can leave. Stock cryptsetup sets the conversion up
 * (`reencrypt --encrypt --init-only --reduce-device-size 32M`); rootcrypt
 * guards the one unsafe window of that step (src/engine/online_guard.c),
 * flushes what cryptsetup did not, and adds the azure-keyvault token with
 * its own LUKS2 writer (cryptsetup refuses token changes while the
 * reencryption requirement is set). The write-ahead key store (step 1) and
 * the unlock (step 6) are the caller's, as for offline mode. Detached
 * (ONLINE.md "Detached"): no room, no guard; the header file is made
 * whole, token included, under a temporary name and renamed into place. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keystore.h"

struct online_boot {
	const char *part;	/* cryptsetup's device: the partition node or image file */
	const char *disk;	/* its disk when the partition must grow, else NULL */
	unsigned partno;	/* with disk */
	uint64_t grow_to;	/* the partition's size after step 2; 0 = room is there */
	const char *work_dir;	/* writable (tmpfs): cryptsetup builds its header here */
	const char *header;	/* detached: the header file to create; NULL = in place */
};

/* Step 0, the fence: the cryptsetup rootcrypt would run
 * (unlock_cryptsetup_path) reports a version online mode may use
 * (csversion_online_ok). 0, or -EPERM with the reason in why. */
int online_boot_fence(char *why, size_t why_len);

/* Where the initramfs hooks record libcryptsetup12's package version at
 * build time (hook/rootcrypt-lib.sh rc_record_libcryptsetup). */
#define ONLINE_LIBCS_VERSION_FILE "/etc/rootcrypt/libcryptsetup.version"

/* Step 0, the library half (first boot, in the initramfs): the version
 * recorded in ONLINE_LIBCS_VERSION_FILE goes through csversion_library_ok.
 * No file or an empty one: the version is unknown, one line says that only
 * the binary is checked, 0. -EPERM with the reason in why when the version
 * is outside the fence, unreadable, or the file cannot be read. */
int online_boot_library_fence(char *why, size_t why_len);

/* Steps 2-5 for a volume whose key (the passphrase, pass_len bytes) is
 * stored and read back: grow, guard, `cryptsetup reencrypt --encrypt
 * --init-only` with UUID uuid, fdatasync, token (token_json:
 * volume_token_from_ref's text); detached: init-only into a temporary
 * header file, fsync, token, rename, directory fsync. 0 when the
 * in-progress header with the token is durable. */
int online_boot_start(const struct online_boot *ob, const char *uuid, const char *pass,
		      size_t pass_len, const char *token_json);

/* Step 5 on its own: when the header at hdr_path (cryptsetup's in-progress
 * online header) has no azure-keyvault token, checks that the passphrase
 * opens a keyslot (rootcrypt's reader; -EPERM, nothing written, when not)
 * and adds token_json serving that keyslot in one metadata commit. 0 also
 * when the token is there already. */
int online_boot_token(const char *hdr_path, const char *pass, size_t pass_len,
		      const char *token_json);

/* Step 4 on a later boot, for a volume that shows no header cryptsetup
 * can open (plain, foreign or unreadable at 0): reads the guard and acts
 * on online_guard_decide (wipe the guard; or write the head back from its
 * verified copy, then wipe). 1 when it changed the disk (the volume is
 * plain again: read it anew), 0 when there is no guard, -EIO when the disk
 * contradicts the argument (nothing touched; one line says why). */
int online_boot_settle(const char *part);

/* A later boot's key for an online in-progress header without its token
 * (a cut in step 5): the configured secret's latest version (the first
 * boot stored it and read it back), bound to the header's UUID uuid; the
 * token naming that version is added to the header at hdr_path once the
 * passphrase opens a keyslot there. Passphrase in secmem. -ESTALE when it
 * did not open and a valid guard on part undid the set-up (the volume is
 * plain again: online_boot_settle). */
int online_boot_untokened_key(const struct kv_config *kv, const char *hdr_path, const char *part,
			      const char *uuid, char **ret_secmem, size_t *ret_len);

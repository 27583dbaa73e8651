/* Online mode's handover from the initramfs to rootcrypt-online.service
 * after switch-root (src/engine/ONLINE.md "The key after switch-root",
 * choice (c), and "The systemd unit"): the keyslot passphrase as the
 * `user` key "rootcrypt:online:<UUID>" in root's user keyring with a
 * timeout, and the marker file STATUS_DIR/online naming the volume (the
 * unit's ConditionPathExists). Both survive switch-root: PID 1 and uid 0
 * persist, and both generators move /run into the real root. */
#pragma once
#include <limits.h>
#include <stddef.h>

/* How long the key lives unless the unit removes it first (every boot
 * adds it anew while the conversion runs). */
#define ONLINE_KEY_TIMEOUT_S (24u * 3600u)
#define ONLINE_MARKER_NAME "online"

struct online_marker {
	char uuid[40];		/* the LUKS2 header's UUID */
	char device[PATH_MAX];	/* the partition cryptsetup converts */
	char name[128];		/* its /dev/mapper name */
	/* detached layout (both "" in place): the file system holding the
	 * header as configured (header_device: "UUID=...", a /dev path; ""
	 * when the initramfs had none) and the header's path inside it */
	char header_fs[PATH_MAX];
	char header_path[PATH_MAX];
};

/* Adds the key (replacing one of an earlier boot) and writes the marker
 * (tmp + rename): uuid=, device=, name= lines, and header_fs=,
 * header_path= when set. 0 or negative errno (one line). */
int online_key_hand_over(const char *status_dir, const struct online_marker *m,
			 const char *pass, size_t pass_len);

/* The key for uuid into a new secmem buffer. -ENOKEY / -EKEYEXPIRED
 * (nothing logged) when it is not there. */
int online_key_read(const char *uuid, char **ret_secmem, size_t *ret_len);

/* Only the key (online_key_hand_over's first half): for the unit, which
 * put back a key it fetched from Key Vault. 0 or negative errno. */
int online_key_put(const char *uuid, const char *pass, size_t pass_len);

/* Removes the key for uuid: 1 when it was there, 0 when not, or negative
 * errno. */
int online_key_forget(const char *uuid);

/* Reads STATUS_DIR/online. -ENOENT (not logged) when absent, -EINVAL (one
 * line) when a line is missing, unknown or too long, or header_fs comes
 * without header_path. */
int online_marker_read(const char *status_dir, struct online_marker *ret);

/* Removes STATUS_DIR/online (absent is fine). */
int online_marker_remove(const char *status_dir);

/* The kernel keyring through raw syscalls (add_key, keyctl). Debian's
 * libkeyutils-dev does ship a static libkeyutils.a, but the calls used here
 * are thin syscall wrappers there too: not worth a build dependency. Online mode
 * hands the keyslot passphrase from the initramfs to the unit that
 * resumes the conversion after switch-root as a `user` key
 * (src/engine/ONLINE.md "The key after switch-root", choice (c)): kernel
 * memory, never swapped, gone after a timeout. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* ring: a KEY_SPEC_* value (<linux/keyctl.h>) or a keyring's serial. */

/* Adds (or replaces) the `user` key desc holding len bytes of data in
 * ring, readable by its possessor and by processes of its owner's uid
 * (view, read, search; nothing else), expiring after timeout_s seconds
 * (0: never). 0 or a negative errno (one error line). */
int keyring_user_add(int32_t ring, const char *desc, const void *data, size_t len,
		     unsigned timeout_s);

/* The `user` key desc found by searching ring: its bytes in a new secmem
 * buffer (NUL after them, not counted). -ENOKEY when there is none,
 * -EKEYEXPIRED when it timed out (nothing logged for either), another
 * negative errno with one error line. */
int keyring_user_read(int32_t ring, const char *desc, char **ret_secmem, size_t *ret_len);

/* Unlinks the `user` key desc linked in ring itself (expired or not) and
 * invalidates it (gone for every keyring that links it). 1 when it was
 * there, 0 when not, negative errno. */
int keyring_user_remove(int32_t ring, const char *desc);

/* `rootcrypt online-resume`: rootcrypt-online.service's work after
 * switch-root (src/engine/ONLINE.md "The systemd unit", "Version fence",
 * "The key after switch-root"). The volume named by the initramfs's
 * marker (STATUS_DIR/online) must still be online mode's conversion in
 * progress; the system's cryptsetup (binary and library) must be inside
 * the fence; the key comes from the kernel keyring and must open the
 * header (missing or expired: fetched from Key Vault through the header's
 * token and put back); a detached header is found where the marker says
 * (online_header.h); then stock `cryptsetup reencrypt --resume-only --active-name
 * NAME [--header H]` runs with the passphrase on stdin and its progress goes to
 * STATUS_DIR/status.json. At the end: status Encrypted, key removed,
 * marker removed. Anything refused changes nothing on the disk; the status
 * says "paused" and why. */
#pragma once
#include <stddef.h>

#include "keystore.h"

struct online_resume {
	const char *status_dir;	/* /run/rootcrypt */
	const char *header;	/* detached: the header file as the running system sees
				 * it; NULL = where the marker says (online_header.h) */
	unsigned rate_mbs;	/* online_rate: MB/s cap of the pass (io.max), 0 = none */
	const char *unit;	/* the systemd unit whose cgroup gets the cap */
	const struct kv_config *kv; /* the fallback when the keyring lost the key
				     * (online_refetch.h); NULL = none */
};

/* 0 when the conversion finished (or there was none to resume, or a
 * signal stopped cryptsetup at a safe point: the next start resumes);
 * -EPERM outside the fence or when the key does not open the header,
 * -ENOKEY / -EKEYEXPIRED without the key (and none from Key Vault), -ENOENT /
 * -ENODEV / -EROFS when the detached header cannot be reached, -EINVAL when the marker's
 * volume is not online mode's conversion in progress, -EIO when
 * cryptsetup failed. One line says why. */
int online_resume_run(const struct online_resume *o);

/* The library half of the fence: libcryptsetup's package version
 * (`dpkg-query -W libcryptsetup12`), through csversion_online_ok. 0 when
 * it is inside the fence or cannot be known (no dpkg-query, no such
 * package: logged, and the binary's check stands alone); -EPERM with the
 * reason in why. */
int online_resume_library_fence(char *why, size_t why_len);

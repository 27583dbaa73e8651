/* The /boot split's copy of R:/boot onto B (BOOT.md step 3), and the
 * manifest that says what R:/boot held: one line per entry in a fixed
 * order (names sorted bytewise), "TYPE MODE UID GID SIZE SHA256 PATH"
 * (+ " -> TARGET" for symlinks), and "changed SHA256 PATH" for a file
 * rootcrypt rewrites on B (grub/grub.cfg). efi/ is listed, its content is
 * not (the ESP's mount point). Times are not listed: only content, kind,
 * owner and mode say whether B still holds R:/boot. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct bootsplit_copy_opts {
	const char *r_uuid, *b_uuid;	/* for grub/grub.cfg's search lines */
	/* Test build: raise SIGKILL after this many files (-1: never). */
	long kill_after_files;
};

/* The manifest of the tree at src_dirfd (malloc'ed text). */
int bootsplit_manifest(int src_dirfd, const struct bootsplit_copy_opts *o, char **ret_text,
		       size_t *ret_len);

/* Copies the tree at src_dirfd into dst_dirfd (an empty file system's
 * root): each file to a temporary name, fsync, rename; directories,
 * symlinks, modes, owners, times; grub/grub.cfg rewritten. Then syncfs,
 * page cache dropped, every file read back and its sha256 compared with
 * what was written. *ret_text gets the manifest. -errno, one line logged;
 * nothing is written to src. */
int bootsplit_copy(int src_dirfd, int dst_dirfd, const struct bootsplit_copy_opts *o,
		   char **ret_text, size_t *ret_len);

/* Copies the regular files of the directory src_dirfd into dst_dirfd
 * (replacing same-named ones; no subdirectories), read back after syncfs
 * as above. For the staged GRUB i386-pc modules. */
int bootsplit_copy_flat(int src_dirfd, int dst_dirfd);

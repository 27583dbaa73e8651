/* The /boot split's steps 3 (fill B) and 4 (fstab) (src/boot/BOOT.md), and
 * the facts about them that bootsplit_decide needs. R (the root file
 * system) is only ever mounted read-only by step 3 and by the facts. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define BOOTSPLIT_MARKER ".rootcrypt-split"
#define BOOTSPLIT_MANIFEST ".rootcrypt-manifest"

struct bootsplit_fill_args {
	const char *pb_dev;	/* the new partition pB */
	const char *r_dev;	/* p1, holding R with /boot inside */
	const char *b_uuid;	/* B, chosen at enroll */
	const char *work_dir;	/* mount points go under it (r/, b/) */
	/* Directory on R (relative to its root) holding GRUB i386-pc modules
	 * staged at enroll for the new BIOS core, copied into B:/grub/i386-pc;
	 * NULL or absent on R: nothing is copied. */
	const char *i386pc_dir;
};

/* Step 3, from mkfs: zero pB's first and last MiB, mke2fs B, copy R:/boot,
 * `boot -> .`, grub.cfg's search lines to B, staged i386-pc modules, syncfs,
 * read back, manifest, marker. 0, or -errno with one line logged (R is
 * unchanged; B has no valid marker). Everything is unmounted on return. */
int bootsplit_fill(const struct bootsplit_fill_args *a);

/* Step 4 on a mounted R (r_root: its root directory): /etc/fstab gains the
 * `UUID=b /boot` line (kept /etc/fstab.rootcrypt-orig; written as
 * /etc/fstab.rootcrypt-new, fsync, rename, fsync /etc). 0 also when the
 * line is already there; -EEXIST when fstab mounts something else on
 * /boot; -errno, one line logged. */
int bootsplit_fstab_apply(const char *r_root, const char *b_uuid);
/* The same on R's device, mounted read-write under work_dir for it. */
int bootsplit_fstab(const char *r_dev, const char *b_uuid, const char *work_dir);

/* B's marker: valid when it parses, its check digest holds, it names b and
 * r, and B's manifest file has its digest. 0 with *ret_digest, -ENOENT (no
 * marker), -EBADMSG (invalid: the reason as a debug line). */
int bootsplit_marker_read(int b_root, const char *b_uuid, const char *r_uuid,
			  uint8_t ret_digest[32]);

/* What the disk says for step 3 and 4's rows of the decide table. */
struct bootsplit_fill_facts {
	bool marker_valid;
	bool manifest_matches;
	bool fstab_names_b;
	char r_uuid[37];
};
/* Mounts R (and pB, when it holds a file system) read-only under work_dir
 * and reads the facts. -errno only when R cannot be read. */
int bootsplit_fill_facts(const char *pb_dev, const char *r_dev, const char *b_uuid,
			 const char *work_dir, struct bootsplit_fill_facts *ret);

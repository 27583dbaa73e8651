/* enroll's side of the /boot split (src/boot/BOOT.md): when /boot is a
 * directory of the root, the first boot gives it a partition of its own
 * before it encrypts the root. enroll only checks, stages and records:
 * the plan's geometry (bootsplit_plan), the advisory ext4 tail check, which
 * ESP files name the root's UUID R, and a BIOS GRUB core (with its
 * boot.img and modules) staged under ENROLL_SPLIT_DIR on the root. It never
 * changes the disk's partitions or boot loaders. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootsplit_plan.h"
#include "enroll.h"

#define ENROLL_SPLIT_DIR "/var/lib/rootcrypt/bootsplit"
#define ENROLL_SPLIT_DEFAULT_MIB 512

struct enroll_split_req {
	const char *root;	/* "/" or the image tree */
	const char *node;	/* the root partition's device node, read only */
	uint64_t boot_mib;	/* N */
	bool dry_run;		/* stage into a temporary directory, removed after */
	const char *old_conf;	/* the existing /etc/rootcrypt.conf text, or NULL */
};

/* What enroll writes into /etc/rootcrypt.conf (enroll_split_opts). */
struct enroll_split {
	char b_uuid[37], pb_uuid[37], size[24];
	char core[sizeof(ENROLL_SPLIT_DIR "/core.img")];	/* "": no BIOS core */
	char core_sha256[65];
	char esp_files[256];	/* "": no ESP */
};

/* Reads the disk and R, plans, checks both loaders, stages the BIOS core
 * and prints the plan line. 0 with *ret filled; -errno with one line saying
 * why (and the disk growth that would help) and nothing written. B and PB
 * are kept from old_conf when it has them (a re-enroll), else random. */
int enroll_split_prepare(const struct enroll_split_req *q, struct enroll_split *ret);

/* The split an earlier enroll recorded in conf_text: 1 with *ret filled,
 * 0 when it has none. */
int enroll_split_from_conf(const char *conf_text, struct enroll_split *ret);

/* Points o's boot_split_* fields at s. */
void enroll_split_opts(const struct enroll_split *s, struct enroll_opts *o);

/* `enroll --undo`: the split's part. Before a boot split the disk, the
 * staged directory goes (the config lines go with the file); after, says
 * that /boot stays on its own partition. node may be "" (disk unknown). */
int enroll_split_undo(const char *root, const char *node, const char *conf_text, bool dry_run);
/* --undo when the root is already encrypted (enroll_undo.c): the split is
 * done by then; says /boot stays on its partition when the disk holding
 * node has PB, and removes the staged files (not with dry_run). */
int enroll_split_undo_encrypted(const char *root, const char *node, const char *conf_text,
				bool dry_run);

/* Pure. A random (version 4) UUID in lower-case text from 16 random bytes. */
void enroll_split_uuid(const uint8_t rnd[16], char out[37]);

/* Pure. The refusal for a plan that says BOOTSPLIT_REFUSE: its reason, in
 * the words of BOOT.md, and the growth that would help. tail_bytes: how
 * much of R's end must be empty (for "the last X MiB ... hold data"). */
void enroll_split_refusal(const struct bootsplit_plan *p, const struct bootsplit_fs *fs,
			  uint64_t tail_bytes, char *buf, size_t n);

/* Pure. The plan line for an accepted plan. */
void enroll_split_plan_text(const struct bootsplit_plan *p, const struct bootsplit_disk *d,
			    const struct bootsplit_fs *fs, const struct enroll_split *s,
			    char *buf, size_t n);

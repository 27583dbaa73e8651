/* Which step of the /boot split comes next, from what the disk shows alone
 * (src/boot/BOOT.md "On-disk states"). Pure: the caller gathers the facts
 * (engine header, both GPT copies, R's superblock, B's marker, R's fstab
 * and /boot, ESP stubs, MBR and the core at L); this only applies the
 * table, top to bottom, first match wins. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct bootsplit_facts {
	bool engine_plain;		/* the engine's state is "plain" */
	bool split_configured;		/* the config asks for a /boot split */
	uint64_t fs_end;		/* R's primary superblock: bytes from p1's start */
	uint64_t fs_target;		/* F */
	bool pb_in_primary;		/* pB is in the primary GPT */
	bool backup_equals_primary;	/* the backup GPT describes the same table */
	bool marker_valid;		/* B's .rootcrypt-split is valid for B and R */
	bool manifest_matches;		/* the marker's manifest digest = R:/boot's now */
	bool fstab_names_b;		/* R's fstab has the `UUID=B /boot` line */
	bool stub_names_b;		/* an ESP stub (or accepted image) names B */
	bool bios_core_names_b;		/* sector 0 points at the staged core at L */
	bool stub_names_r;		/* an ESP stub (or accepted image) names R */
	bool bios_core_staged;		/* a BIOS core for B is staged */
	bool bios_core_in_place;	/* kernel_sector = L and the core at L is the staged one */
};

enum bootsplit_state {
	BOOTSPLIT_NONE = 0,		/* no split configured: engine as today */
	BOOTSPLIT_SHRINK,		/* step 1 */
	BOOTSPLIT_TABLE,		/* step 2 */
	BOOTSPLIT_FILL,			/* step 3, from mkfs */
	BOOTSPLIT_FILL_STALE,		/* step 3, from mkfs: R:/boot changed since */
	BOOTSPLIT_DAMAGED,		/* stop and report */
	BOOTSPLIT_FSTAB,		/* step 4 */
	BOOTSPLIT_SWITCH_ESP,		/* step 5 */
	BOOTSPLIT_SWITCH_BIOS,		/* step 6 */
	BOOTSPLIT_DONE,			/* engine starts (or resumes) */
};

struct bootsplit_decision {
	enum bootsplit_state state;
	const char *why;		/* the table row that matched (static text) */
};

void bootsplit_decide(const struct bootsplit_facts *f, struct bootsplit_decision *ret);

/* The step name used in status and console lines ("shrink", "table",
 * "fill", "fstab", "switch-esp", "switch-bios"), "done", "none" or
 * "damaged". */
const char *bootsplit_state_name(enum bootsplit_state s);

#include "bootsplit_decide.h"

static struct bootsplit_decision row(enum bootsplit_state s, const char *why)
{
	return (struct bootsplit_decision){ .state = s, .why = why };
}

static struct bootsplit_decision decide(const struct bootsplit_facts *f)
{
	/* Anything naming B is only ever written after B's marker is durable
	 * (steps 4-6 follow step 3), so with no valid marker it cannot come
	 * from a cut: something else wrote it, and redoing B under it would
	 * rewrite a /boot that is in use. */
	bool b_named = f->fstab_names_b || f->stub_names_b || f->bios_core_names_b;

	if (!f->engine_plain)
		return row(BOOTSPLIT_DONE, "the engine has started: the split is complete");
	if (!f->split_configured)
		return row(BOOTSPLIT_NONE, "no /boot split configured");
	if (f->fs_end > f->fs_target)
		return row(BOOTSPLIT_SHRINK, "the root file system ends beyond its target");
	if (!f->pb_in_primary || !f->backup_equals_primary)
		return row(BOOTSPLIT_TABLE,
			   f->pb_in_primary ? "the backup GPT differs from the primary"
					    : "no /boot partition in the primary GPT");
	if (!f->marker_valid && !b_named)
		return row(BOOTSPLIT_FILL, "no valid marker on the /boot file system");
	if (!f->marker_valid)
		return row(BOOTSPLIT_DAMAGED,
			   "the /boot file system has no valid marker but fstab or a boot loader "
			   "names it");
	if (!f->manifest_matches && !b_named)
		return row(BOOTSPLIT_FILL_STALE,
			   "the root's /boot changed since the /boot file system was filled");
	if (!f->fstab_names_b)
		return row(BOOTSPLIT_FSTAB, "fstab does not mount the new /boot");
	if (f->stub_names_r)
		return row(BOOTSPLIT_SWITCH_ESP, "an ESP stub still names the root");
	if (f->bios_core_staged && !f->bios_core_in_place)
		return row(BOOTSPLIT_SWITCH_BIOS, "the staged BIOS core is not in place");
	return row(BOOTSPLIT_DONE, "every step is done");
}

void bootsplit_decide(const struct bootsplit_facts *f, struct bootsplit_decision *ret)
{
	*ret = decide(f);
}

const char *bootsplit_state_name(enum bootsplit_state s)
{
	switch (s) {
	case BOOTSPLIT_NONE: return "none";
	case BOOTSPLIT_SHRINK: return "shrink";
	case BOOTSPLIT_TABLE: return "table";
	case BOOTSPLIT_FILL:
	case BOOTSPLIT_FILL_STALE: return "fill";
	case BOOTSPLIT_DAMAGED: return "damaged";
	case BOOTSPLIT_FSTAB: return "fstab";
	case BOOTSPLIT_SWITCH_ESP: return "switch-esp";
	case BOOTSPLIT_SWITCH_BIOS: return "switch-bios";
	case BOOTSPLIT_DONE: return "done";
	}
	return "?";
}

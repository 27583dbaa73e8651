/* bootsplit_decide: every row of BOOT.md's "On-disk states" table, first
 * match wins. Each case starts from a disk where every step is done and
 * takes back the facts the steps would not yet have made true, so a row
 * is only reached when no row above it matches. */
#include "bootsplit_decide.h"
#include "test.h"

#define MIB (1ull << 20)

/* Every step done, a BIOS core staged and in place. */
static struct bootsplit_facts all_done(void)
{
	return (struct bootsplit_facts){
		.engine_plain = true, .split_configured = true, .fs_end = 1000 * MIB,
		.fs_target = 1000 * MIB, .pb_in_primary = true, .backup_equals_primary = true,
		.marker_valid = true, .manifest_matches = true, .fstab_names_b = true,
		.stub_names_b = true, .bios_core_names_b = true, .stub_names_r = false,
		.bios_core_staged = true, .bios_core_in_place = true,
	};
}

/* The disk as each step leaves it before the next one runs. */
static struct bootsplit_facts before(enum bootsplit_state s)
{
	struct bootsplit_facts f = all_done();

	switch (s) {
	case BOOTSPLIT_SHRINK:
		f.fs_end = f.fs_target + 4096;
		/* fall through */
	case BOOTSPLIT_TABLE:
		f.pb_in_primary = false;
		f.backup_equals_primary = false;
		/* fall through */
	case BOOTSPLIT_FILL:
		f.marker_valid = false;
		f.manifest_matches = false;
		/* fall through */
	case BOOTSPLIT_FSTAB:
		f.fstab_names_b = false;
		/* fall through */
	case BOOTSPLIT_SWITCH_ESP:
		f.stub_names_b = false;
		f.stub_names_r = true;
		/* fall through */
	case BOOTSPLIT_SWITCH_BIOS:
		f.bios_core_names_b = false;
		f.bios_core_in_place = false;
		break;
	default:
		break;
	}
	return f;
}

static enum bootsplit_state decide(const struct bootsplit_facts *f)
{
	struct bootsplit_decision d = { .state = -1 };

	bootsplit_decide(f, &d);
	return d.why && d.why[0] ? d.state : (enum bootsplit_state)-1;
}

TEST(bootsplit_decide_each_step_in_order)
{
	static const enum bootsplit_state steps[] = {
		BOOTSPLIT_SHRINK, BOOTSPLIT_TABLE, BOOTSPLIT_FILL,
		BOOTSPLIT_FSTAB, BOOTSPLIT_SWITCH_ESP, BOOTSPLIT_SWITCH_BIOS,
	};
	struct bootsplit_facts f;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		f = before(steps[i]);
		CHECK_EQ_INT(decide(&f), steps[i]);
	}
	f = all_done();
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DONE);
}

TEST(bootsplit_decide_engine_started_wins_over_everything)
{
	struct bootsplit_facts f = before(BOOTSPLIT_SHRINK);

	f.engine_plain = false;
	f.split_configured = false;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DONE);
}

TEST(bootsplit_decide_not_configured)
{
	struct bootsplit_facts f = before(BOOTSPLIT_SHRINK);

	f.split_configured = false;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_NONE);
	CHECK(strcmp(bootsplit_state_name(BOOTSPLIT_NONE), "none") == 0);
}

TEST(bootsplit_decide_shrink_only_beyond_target)
{
	struct bootsplit_facts f = before(BOOTSPLIT_TABLE);

	f.fs_end = f.fs_target; /* exactly at F: no shrink */
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_TABLE);
	f.fs_end = f.fs_target - 4096;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_TABLE);
	f.fs_end = f.fs_target + 1;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_SHRINK);
}

TEST(bootsplit_decide_table_needs_both_copies)
{
	struct bootsplit_facts f = before(BOOTSPLIT_FILL);

	f.pb_in_primary = true;
	f.backup_equals_primary = false; /* cut after the backup, or a torn backup */
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_TABLE);
	f.pb_in_primary = false;
	f.backup_equals_primary = true; /* both old */
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_TABLE);
	f.pb_in_primary = true;
	f.backup_equals_primary = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_FILL);
}

TEST(bootsplit_decide_fill_cut_and_damaged)
{
	struct bootsplit_facts f = before(BOOTSPLIT_FILL);

	/* a cut inside the fill: no marker, a manifest match is meaningless */
	f.manifest_matches = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_FILL);
	/* no marker, yet something names B: not a cut, stop */
	f.fstab_names_b = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DAMAGED);
	f.fstab_names_b = false;
	f.stub_names_b = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DAMAGED);
	f.stub_names_b = false;
	f.bios_core_names_b = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DAMAGED);
	CHECK(strcmp(bootsplit_state_name(BOOTSPLIT_DAMAGED), "damaged") == 0);
}

TEST(bootsplit_decide_fill_stale)
{
	struct bootsplit_facts f = before(BOOTSPLIT_FSTAB);

	/* a plain boot changed R:/boot after the fill, nothing names B yet */
	f.manifest_matches = false;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_FILL_STALE);
	CHECK(strcmp(bootsplit_state_name(BOOTSPLIT_FILL_STALE), "fill") == 0);
	/* once fstab names B, B is never rewritten: R:/boot is shadowed */
	f.fstab_names_b = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_SWITCH_ESP);
	/* a loader naming B also stops a refill (fstab lost by hand: step 4) */
	f.fstab_names_b = false;
	f.stub_names_b = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_FSTAB);
}

TEST(bootsplit_decide_switches)
{
	struct bootsplit_facts f = before(BOOTSPLIT_SWITCH_ESP);

	/* ESP comes before BIOS even when both are pending */
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_SWITCH_ESP);
	f.stub_names_r = false;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_SWITCH_BIOS);
	/* no BIOS core staged (a UEFI-only image): nothing to switch */
	f.bios_core_staged = false;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DONE);
	f.bios_core_staged = true;
	f.bios_core_in_place = true;
	CHECK_EQ_INT(decide(&f), BOOTSPLIT_DONE);
	CHECK(strcmp(bootsplit_state_name(BOOTSPLIT_SWITCH_BIOS), "switch-bios") == 0);
	CHECK(strcmp(bootsplit_state_name(BOOTSPLIT_SWITCH_ESP), "switch-esp") == 0);
}

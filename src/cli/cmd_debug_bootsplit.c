/* Hidden test command for the /boot split's steps 3 and 4
 * (src/boot/bootsplit_fill.c), so that an integration test can drive them
 * on loop devices and cut them:
 *   debug-bootsplit fill --work DIR [--i386-pc DIR-ON-ROOT] PB_DEV ROOT_DEV B_UUID
 *   debug-bootsplit fstab --work DIR ROOT_DEV B_UUID
 *   debug-bootsplit decide --work DIR PB_DEV ROOT_DEV B_UUID
 *   debug-bootsplit run --work DIR --config FILE DISK ROOT_DEV PARTNO
 * run is the whole split as `rootcrypt boot` runs it, from FILE's
 * boot_split_* settings, without the key and the engine.
 * decide reads the facts of steps 3 and 4 from the disks and takes the rest
 * as done (engine plain, split configured, shrink and table done, no loader
 * switched yet, no BIOS core staged), then prints "key value" lines and
 * "state NAME". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bootsplit_decide.h"
#include "bootsplit_fill.h"
#include "bootsplit_run.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "parse.h"

static int decide(const char *work, char **pos)
{
	struct bootsplit_fill_facts ff;
	struct bootsplit_facts f = { .engine_plain = true, .split_configured = true,
				     .pb_in_primary = true, .backup_equals_primary = true };
	struct bootsplit_decision d;
	int r = bootsplit_fill_facts(pos[0], pos[1], pos[2], work, &ff);

	if (r < 0)
		return r;
	f.marker_valid = ff.marker_valid;
	f.manifest_matches = ff.manifest_matches;
	f.fstab_names_b = ff.fstab_names_b;
	bootsplit_decide(&f, &d);
	printf("root_uuid %s\nmarker_valid %d\nmanifest_matches %d\nfstab_names_b %d\n"
	       "state %s\nstate_row %s\n", ff.r_uuid, ff.marker_valid, ff.manifest_matches,
	       ff.fstab_names_b, bootsplit_state_name(d.state), d.why);
	return 0;
}

static int run(const char *work, const char *config, char **pos)
{
	struct rootcrypt_config cfg = { 0 };
	struct bootsplit_run_args a = { .disk = pos[0], .part = pos[1], .work_dir = work };
	int partno = 0, r;

	if (parse_int(pos[2], 1, 128, &partno) < 0)
		return CMD_USAGE;
	a.partno = (unsigned)partno;
	r = config_load(&cfg, config, NULL);
	if (r == 0)
		r = bootsplit_args_from_config(&cfg, &a);
	if (r == -ENOENT)
		r = log_error(ENOENT, "\"%s\" configures no /boot split", config);
	if (r == 0)
		r = bootsplit_run(&a, NULL);
	config_free(&cfg);
	return r;
}

int cmd_debug_bootsplit(int argc, char **argv)
{
	const char *work = NULL, *i386pc = NULL, *config = NULL;
	char *pos[3];
	int npos = 0;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		printf("rootcrypt debug-bootsplit fill --work DIR [--i386-pc DIR] PB ROOT B_UUID\n"
		       "rootcrypt debug-bootsplit fstab --work DIR ROOT B_UUID\n"
		       "rootcrypt debug-bootsplit decide --work DIR PB ROOT B_UUID\n"
		       "rootcrypt debug-bootsplit run --work DIR --config FILE DISK ROOT PARTNO\n");
		return 0;
	}
	if (argc < 2)
		return CMD_USAGE;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--work") == 0 && i + 1 < argc)
			work = argv[++i];
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--i386-pc") == 0 && i + 1 < argc)
			i386pc = argv[++i];
		else if (npos < 3)
			pos[npos++] = argv[i];
		else
			return CMD_USAGE;
	}
	if (!work) {
		log_error(EINVAL, "debug-bootsplit: --work DIR is required");
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "fill") == 0 && npos == 3) {
		struct bootsplit_fill_args a = { .pb_dev = pos[0], .r_dev = pos[1],
						 .b_uuid = pos[2], .work_dir = work,
						 .i386pc_dir = i386pc };

		return bootsplit_fill(&a);
	}
	if (strcmp(argv[1], "fstab") == 0 && npos == 2)
		return bootsplit_fstab(pos[0], pos[1], work);
	if (strcmp(argv[1], "decide") == 0 && npos == 3)
		return decide(work, pos);
	if (strcmp(argv[1], "run") == 0 && npos == 3 && config)
		return run(work, config, pos);
	return CMD_USAGE;
}

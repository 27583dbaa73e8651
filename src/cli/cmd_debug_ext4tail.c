/* Hidden test command for the /boot split's shrink rule (src/disk/ext4tail.c):
 * reads an ext4 file system (read only) and prints, one "key value" line
 * each, its geometry, what the scan found, the lowest end with nothing to
 * move, and a verdict for every END given, so that an integration test can
 * hold the verdicts against resize2fs's own relocation output. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "blkdev.h"
#include "bootsplit_plan.h"
#include "cmd.h"
#include "ext4tail.h"
#include "log.h"
#include "parse.h"

int cmd_debug_ext4tail(int argc, char **argv)
{
	struct blkdev *d = NULL;
	struct ext4tail t;
	int r;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		printf("rootcrypt debug-ext4tail DEVICE [END...]   (END in bytes, or with K/M/G)\n");
		return 0;
	}
	if (argc < 2)
		return CMD_USAGE;
	for (int i = 2; i < argc; i++) {
		uint64_t v;

		if (parse_size(argv[i], &v) < 0) {
			log_error(EINVAL, "debug-ext4tail: bad END '%s'", argv[i]);
			return CMD_USAGE;
		}
	}
	r = blkdev_open(argv[1], BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	r = ext4tail_read(d, &t);
	blkdev_close(d);
	if (r < 0)
		return r;
	printf("blocks %" PRIu64 "\nblock_size %u\ngroups %u\nscanned_from %u\n"
	       "floor %" PRIu64 "\nfloor_at %" PRIu64 "\nfloor_why %s\nmin_end %" PRIu64 "\n",
	       t.blocks, t.block_size, t.ngroups, t.scanned_from, t.floor, t.floor_at,
	       t.floor_why, ext4tail_min_end(&t, BOOTSPLIT_GROUP_MARGIN));
	for (int i = 2; i < argc; i++) {
		struct ext4tail_verdict v;
		uint64_t f;

		parse_size(argv[i], &f);
		ext4tail_check(&t, f, &v);
		printf("check %" PRIu64 " %s end %" PRIu64 " at %" PRIu64 " %s\n", f,
		       v.pass ? "pass" : "fail", v.end * t.block_size, v.at, v.pass ? "-" : v.why);
	}
	ext4tail_free(&t);
	return 0;
}

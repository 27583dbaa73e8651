/* Hidden test command for step 1 of the /boot split (src/boot/BOOT.md):
 * shrinks the ext4 file system on DEVICE to TARGET with the intent record
 * in DEVICE's last 4 KiB, as `rootcrypt boot` will, so that an integration
 * test can run it on images, interrupt it, and run it again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bootsplit_shrink.h"
#include "cmd.h"
#include "log.h"
#include "parse.h"

int cmd_debug_shrink(int argc, char **argv)
{
	struct bootsplit_intent want = { 0 };

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		printf("rootcrypt debug-shrink DEVICE FS-UUID PART-UUID BOOT-UUID TARGET\n"
		       "  (TARGET in bytes, or with K/M/G; the UUIDs in text form)\n");
		return 0;
	}
	if (argc != 6)
		return CMD_USAGE;
	if (parse_uuid(argv[2], want.fs_uuid) < 0 || parse_uuid(argv[3], want.part_guid) < 0 ||
	    parse_uuid(argv[4], want.boot_part_guid) < 0) {
		log_error(EINVAL, "debug-shrink: bad UUID");
		return CMD_USAGE;
	}
	if (parse_size(argv[5], &want.fs_target) < 0) {
		log_error(EINVAL, "debug-shrink: bad TARGET '%s'", argv[5]);
		return CMD_USAGE;
	}
	return bootsplit_shrink(argv[1], &want);
}

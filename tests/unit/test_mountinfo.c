#include <errno.h>
#include <stdbool.h>

#include "mountinfo.h"
#include "test.h"

/* A /boot (8:2) mounted twice (read-only at /mnt/ro first, then read-write
 * at /boot), a bind mount of one of its directories, a mount point with a
 * space, another device, and an optional field before the separator. */
static const char mi[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"30 27 8:2 / /mnt/ro ro,relatime shared:5 - ext4 /dev/sda2 rw\n"
	"31 27 8:2 / /boot rw,relatime shared:6 - ext4 /dev/sda2 rw\n"
	"32 27 8:2 /keys /srv/keys rw,relatime - ext4 /dev/sda2 rw\n"
	"33 27 8:3 / /my\\040boot rw - ext4 /dev/sda3 rw\n"
	"34 27 8:4 / /sro rw - xfs /dev/sda4 ro,attr2\n";

TEST(mountinfo_locate_prefers_read_write)
{
	char out[256];
	bool ro = true;

	CHECK_EQ_INT(mountinfo_locate(mi, 8, 2, "/rootcrypt-root.luks", out, sizeof(out), &ro), 1);
	CHECK(strcmp(out, "/boot/rootcrypt-root.luks") == 0 && !ro);
}

TEST(mountinfo_locate_bind_root_and_escapes)
{
	char out[256];
	bool ro = true;

	/* only the bind mount of /keys and /boot reach /keys/h; the first rw wins */
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 2, "/keys/h", out, sizeof(out), &ro), 1);
	CHECK(strcmp(out, "/boot/keys/h") == 0);
	/* "/keysX" is not below the bind mount's root "/keys" */
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 2, "/keysX/h", out, sizeof(out), &ro), 1);
	CHECK(strcmp(out, "/boot/keysX/h") == 0);
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 3, "/h", out, sizeof(out), &ro), 1);
	CHECK(strcmp(out, "/my boot/h") == 0 && !ro);
}

TEST(mountinfo_locate_read_only_and_absent)
{
	static const char only_bind[] = "32 27 8:2 /keys /srv/keys rw,relatime - ext4 /dev/sda2 rw\n";
	char out[256];
	bool ro = false;

	/* a super block mounted read-only makes every mount of it read-only */
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 4, "/h", out, sizeof(out), &ro), 1);
	CHECK(strcmp(out, "/sro/h") == 0 && ro);
	CHECK_EQ_INT(mountinfo_locate(only_bind, 8, 2, "/keys/h", out, sizeof(out), &ro), 1);
	CHECK(strcmp(out, "/srv/keys/h") == 0 && !ro);
	CHECK_EQ_INT(mountinfo_locate(only_bind, 8, 2, "/h", out, sizeof(out), &ro), 0);
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 9, "/h", out, sizeof(out), &ro), 0);
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 2, "h", out, sizeof(out), &ro), -EINVAL);
	CHECK_EQ_INT(mountinfo_locate(mi, 8, 2, "/h", out, 5, &ro), -ENAMETOOLONG);
	CHECK_EQ_INT(mountinfo_locate("garbage\n27 1 8:2\n", 8, 2, "/h", out, sizeof(out), &ro), 0);
}

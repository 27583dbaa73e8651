/* The marker rootcrypt boot leaves for rootcrypt-online.service
 * (src/boot/online_key.c): read strictly, anything else refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "online_key.h"
#include "test.h"

static int read_text(const char *text, struct online_marker *m)
{
	char dir[] = "/tmp/rc-marker-XXXXXX", path[64];
	FILE *f;
	int r;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/" ONLINE_MARKER_NAME, dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	r = online_marker_read(dir, m);
	if (online_marker_remove(dir) < 0 || access(path, F_OK) == 0)
		r = -EEXIST;
	rmdir(dir);
	return r;
}

TEST(online_marker_read_strict)
{
	struct online_marker m;

	CHECK_EQ_INT(read_text("uuid=0b5d-u\ndevice=/dev/vda1\nname=root\n", &m), 0);
	CHECK_EQ_STR(m.uuid, "0b5d-u");
	CHECK_EQ_STR(m.device, "/dev/vda1");
	CHECK_EQ_STR(m.name, "root");
	CHECK_EQ_INT(read_text("uuid=u\ndevice=/dev/vda1\n", &m), -EINVAL);	  /* no name */
	CHECK_EQ_INT(read_text("uuid=u\ndevice=/d\nname=r\nkey=x\n", &m), -EINVAL); /* unknown */
	CHECK_EQ_INT(read_text("uuid=\ndevice=/d\nname=r\n", &m), -EINVAL);	  /* empty */
	CHECK_EQ_INT(read_text("uuid=0123456789012345678901234567890123456789x\ndevice=/d\n"
			       "name=r\n", &m), -EINVAL);			  /* too long */
	CHECK_EQ_INT(online_marker_read("/nonexistent-rc-dir", &m), -ENOENT);
}

/* Detached layout: where the header is, as the initramfs knew it. */
TEST(online_marker_read_header_lines)
{
	struct online_marker m;

	CHECK_EQ_INT(read_text("uuid=u\ndevice=/dev/vda1\nname=root\n", &m), 0);
	CHECK_EQ_STR(m.header_fs, "");
	CHECK_EQ_STR(m.header_path, "");
	CHECK_EQ_INT(read_text("uuid=u\ndevice=/dev/vda1\nname=root\nheader_fs=UUID=1234-ab\n"
			       "header_path=/rootcrypt-root.luks\n", &m), 0);
	CHECK_EQ_STR(m.header_fs, "UUID=1234-ab");
	CHECK_EQ_STR(m.header_path, "/rootcrypt-root.luks");
	/* no header_device in the initramfs: the path alone */
	CHECK_EQ_INT(read_text("uuid=u\ndevice=/d\nname=r\nheader_path=/h.luks\n", &m), 0);
	CHECK_EQ_STR(m.header_fs, "");
	CHECK_EQ_STR(m.header_path, "/h.luks");
	/* a file system without the path in it means nothing */
	CHECK_EQ_INT(read_text("uuid=u\ndevice=/d\nname=r\nheader_fs=/dev/vda2\n", &m), -EINVAL);
}

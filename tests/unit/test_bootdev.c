#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "bootdev.h"
#include "bootprompt.h"
#include "secmem.h"
#include "test.h"

TEST(bootdev_spec_forms)
{
	char p[256];

	CHECK(bootdev_spec_path("PARTUUID=ABCD-01", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/disk/by-partuuid/abcd-01");
	CHECK(bootdev_spec_path("UUID=F00D", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/disk/by-uuid/f00d");
	CHECK(bootdev_spec_path("PARTLABEL=Root", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/disk/by-partlabel/Root");
	CHECK(bootdev_spec_path("/dev/vda1", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/vda1");
	CHECK_EQ_INT(bootdev_spec_path("PARTUUID=", p, sizeof(p)), -EINVAL);
	CHECK_EQ_INT(bootdev_spec_path("UUID=../x", p, sizeof(p)), -EINVAL);
	CHECK_EQ_INT(bootdev_spec_path("vda1", p, sizeof(p)), -EINVAL);
}

TEST(bootdev_wait_times_out_on_missing_device)
{
	char p[256];

	CHECK_EQ_INT(bootdev_wait("/nonexistent/dev", 200, p, sizeof(p)), -ETIMEDOUT);
	CHECK(bootdev_wait("/dev/null", 0, p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/null");
}

TEST(bootprompt_reads_one_line_from_console_file)
{
	char path[] = "/tmp/console-XXXXXX";
	int fd = mkstemp(path);
	char *pass = NULL;
	size_t len = 0;
	int r;

	CHECK(fd >= 0);
	CHECK(write(fd, "s3cret-Value\nrest", 17) == 17);
	close(fd);
	setenv("ROOTCRYPT_CONSOLE", path, 1);
	r = bootprompt_read("", 5, &pass, &len);
	unsetenv("ROOTCRYPT_CONSOLE");
	unlink(path);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(len, 12);
	CHECK_EQ_STR(pass, "s3cret-Value");
	secmem_free(pass);
}

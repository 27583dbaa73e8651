#include <errno.h>
#include <string.h>

#include "csversion.h"
#include "test.h"

static int check(const char *text)
{
	struct csversion v;
	const char *why;
	int r = csversion_parse(text, &v);

	return r < 0 ? r : csversion_online_ok(&v, &why);
}

TEST(csversion_parses_cli_and_package_text)
{
	struct csversion v;

	CHECK_EQ_INT(csversion_parse("cryptsetup 2.6.1 flags: UDEV BLKID KEYRING KERNEL_CAPI \n", &v), 0);
	CHECK(v.major == 2 && v.minor == 6 && v.patch == 1 && !v.prerelease);
	CHECK_EQ_INT(csversion_parse("2:2.6.1-4~deb12u2", &v), 0);
	CHECK(v.major == 2 && v.minor == 6 && v.patch == 1);
	CHECK_EQ_INT(csversion_parse("2.7.0-1ubuntu4.1", &v), 0);
	CHECK(v.minor == 7 && v.patch == 0 && !v.prerelease);
	CHECK_EQ_INT(csversion_parse("cryptsetup 2.7.0-rc1", &v), 0);
	CHECK(v.prerelease);
	CHECK_EQ_INT(csversion_parse("cryptsetup 2.8.1", &v), 0);
	CHECK(v.minor == 8 && v.patch == 1);
	CHECK_EQ_INT(csversion_parse("", &v), -EINVAL);
	CHECK_EQ_INT(csversion_parse(NULL, &v), -EINVAL);
	CHECK_EQ_INT(csversion_parse("cryptsetup 2.7", &v), -EINVAL);
	CHECK_EQ_INT(csversion_parse("cryptsetup 2.7.x", &v), -EINVAL);
	CHECK_EQ_INT(csversion_parse("cryptsetup 2.7.4a", &v), -EINVAL);
	CHECK_EQ_INT(csversion_parse("veritysetup 2.6.1", &v), -EINVAL);
	CHECK_EQ_INT(csversion_parse("cryptsetup 2.12345678.1", &v), -EINVAL);
}

TEST(csversion_fence_refuses_2_7_0_to_2_7_4)
{
	CHECK_EQ_INT(check("cryptsetup 2.7.0"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.7.0-rc0"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.7.2 flags: UDEV BLKID KEYRING"), -EPERM);
	CHECK_EQ_INT(check("2.7.0-1ubuntu4.1"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.7.4"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.7.5-rc0"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.7.5"), 0);
	CHECK_EQ_INT(check("cryptsetup 2.6.1"), 0);
	CHECK_EQ_INT(check("2:2.6.1-4~deb12u2"), 0);
	CHECK_EQ_INT(check("cryptsetup 2.8.0"), 0);
	CHECK_EQ_INT(check("cryptsetup 3.0.0"), 0);
}

TEST(csversion_fence_refuses_before_2_4_3)
{
	CHECK_EQ_INT(check("cryptsetup 2.4.2"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.3.7"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 1.7.5"), -EPERM);
	CHECK_EQ_INT(check("cryptsetup 2.4.3"), 0);
}

/* libcryptsetup12's package version as the initramfs hooks record it
 * (dpkg's ${Version} and a newline) and dpkg-query prints it. */
TEST(csversion_library_ok_reads_package_versions)
{
	char why[200] = "";

	CHECK_EQ_INT(csversion_library_ok("2:2.6.1-4~deb12u2\n", why, sizeof(why)), 0);
	CHECK_EQ_INT(csversion_library_ok("2.7.5-1", why, sizeof(why)), 0);
	CHECK_EQ_INT(csversion_library_ok("2.8.0-1\n", why, sizeof(why)), 0);
	CHECK_EQ_INT(csversion_library_ok("2.7.0-1ubuntu4.1\n", why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "libcryptsetup 2.7.0: 2.7.0-2.7.4") != NULL);
	CHECK_EQ_INT(csversion_library_ok("2:2.7.4-1", why, sizeof(why)), -EPERM);
	CHECK_EQ_INT(csversion_library_ok("2.7.5~rc0-1\n", why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "(pre-release)") != NULL);
	CHECK_EQ_INT(csversion_library_ok("2.4.2-1\n", why, sizeof(why)), -EPERM);
	/* not a version: refused, and the text shown without its newline */
	CHECK_EQ_INT(csversion_library_ok("garbage\n", why, sizeof(why)), -EPERM);
	CHECK(strcmp(why, "cannot read a version in libcryptsetup12's \"garbage\"") == 0);
}

/* cryptsetup version text -> numbers, and the online-mode fence. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "csversion.h"

/* Reads one decimal number of at most 6 digits; the fence only needs
 * small numbers and this keeps overflow out of the question. */
static const char *read_number(const char *p, unsigned *ret)
{
	unsigned v = 0;
	int n = 0;

	while (*p >= '0' && *p <= '9' && n < 6) {
		v = v * 10 + (unsigned)(*p - '0');
		p++;
		n++;
	}
	if (n == 0 || (*p >= '0' && *p <= '9'))
		return NULL;
	*ret = v;
	return p;
}

int csversion_parse(const char *text, struct csversion *ret)
{
	static const char prefix[] = "cryptsetup ";
	struct csversion v = { 0 };
	const char *p = text, *q;
	unsigned epoch;

	if (!p)
		return -EINVAL;
	if (strncmp(p, prefix, sizeof(prefix) - 1) == 0)
		p += sizeof(prefix) - 1;
	/* package epoch "2:" */
	q = read_number(p, &epoch);
	if (q && *q == ':')
		p = q + 1;
	if (!(p = read_number(p, &v.major)) || *p++ != '.' || !(p = read_number(p, &v.minor)) ||
	    *p++ != '.' || !(p = read_number(p, &v.patch)))
		return -EINVAL;
	if (strncmp(p, "-rc", 3) == 0 || strncmp(p, "~rc", 3) == 0)
		v.prerelease = true;
	else if (*p && !strchr(" \n-~+", *p))
		return -EINVAL;
	*ret = v;
	return 0;
}

static unsigned long triple(unsigned major, unsigned minor, unsigned patch)
{
	return ((unsigned long)major * 1000000UL + minor) * 1000000UL + patch;
}

int csversion_online_ok(const struct csversion *v, const char **ret_why)
{
	unsigned long t = triple(v->major, v->minor, v->patch);

	if (t < triple(2, 4, 3)) {
		*ret_why = "older than 2.4.3: no digest over the reencryption metadata (CVE-2021-4122)";
		return -EPERM;
	}
	/* A release candidate of 2.7.5 would be refused too: its text says
	 * nothing about whether the fix is in. */
	if (t <= triple(2, 7, 4) && t >= triple(2, 7, 0)) {
		*ret_why = "2.7.0-2.7.4 can reencrypt online without direct I/O and corrupt data (fixed in 2.7.5)";
		return -EPERM;
	}
	if (v->prerelease && t == triple(2, 7, 5)) {
		*ret_why = "a 2.7.5 release candidate may lack the online reencryption fix";
		return -EPERM;
	}
	*ret_why = NULL;
	return 0;
}

int csversion_library_ok(const char *pkg_version, char *why, size_t why_len)
{
	size_t n = strcspn(pkg_version, "\n");
	struct csversion v;
	const char *reason;

	if (csversion_parse(pkg_version, &v) < 0) {
		snprintf(why, why_len, "cannot read a version in libcryptsetup12's \"%.*s\"",
			 (int)(n > 64 ? 64 : n), pkg_version);
		return -EPERM;
	}
	if (csversion_online_ok(&v, &reason) < 0) {
		snprintf(why, why_len, "libcryptsetup %u.%u.%u%s: %s", v.major, v.minor, v.patch,
			 v.prerelease ? " (pre-release)" : "", reason);
		return -EPERM;
	}
	return 0;
}

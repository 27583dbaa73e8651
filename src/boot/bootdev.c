#include "bootdev.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int bootdev_spec_path(const char *spec, char *out, size_t n)
{
	static const struct {
		const char *prefix, *dir;
		int lower; /* udev lower-cases PARTUUIDs and UUIDs of GPT/ext4 */
	} forms[] = {
		{ "PARTUUID=", "/dev/disk/by-partuuid/", 1 },
		{ "UUID=", "/dev/disk/by-uuid/", 1 },
		{ "PARTLABEL=", "/dev/disk/by-partlabel/", 0 },
		{ "LABEL=", "/dev/disk/by-label/", 0 },
	};

	if (spec[0] == '/') {
		if ((size_t)snprintf(out, n, "%s", spec) >= n)
			return -ENAMETOOLONG;
		return 0;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t pl = strlen(forms[i].prefix), len;
		const char *v = spec + pl;

		if (strncmp(spec, forms[i].prefix, pl) != 0)
			continue;
		if (!*v || strchr(v, '/'))
			return -EINVAL;
		len = (size_t)snprintf(out, n, "%s%s", forms[i].dir, v);
		if (len >= n)
			return -ENAMETOOLONG;
		if (forms[i].lower)
			for (char *c = out + strlen(forms[i].dir); *c; c++)
				*c = (char)tolower((unsigned char)*c);
		return 0;
	}
	return -EINVAL;
}

int bootdev_wait(const char *spec, int timeout_ms, char *out, size_t n)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int r = bootdev_spec_path(spec, path, sizeof(path));

	if (r < 0)
		return log_error(EINVAL, "cannot understand device \"%s\" (a /dev path, PARTUUID=, "
				 "UUID=, PARTLABEL= or LABEL=)", spec);
	for (int waited = 0;; waited += 100) {
		if (realpath(path, real)) {
			if ((size_t)snprintf(out, n, "%s", real) >= n)
				return -ENAMETOOLONG;
			return 0;
		}
		if (waited >= timeout_ms)
			return log_error(ETIMEDOUT, "device \"%s\" did not appear within %d s", spec,
					 timeout_ms / 1000);
		nanosleep(&ts, NULL);
	}
}

int bootdev_partition_of(const char *dev, char *disk, size_t n, unsigned *ret_partno)
{
	char sys[PATH_MAX], real[PATH_MAX], buf[32];
	const char *base = strrchr(dev, '/');
	unsigned partno;
	FILE *f;
	char *slash;

	base = base ? base + 1 : dev;
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/partition", base);
	f = fopen(sys, "re");
	if (!f)
		return -ENOTBLK;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%u", &partno) != 1) {
		fclose(f);
		return -ENOTBLK;
	}
	fclose(f);
	snprintf(sys, sizeof(sys), "/sys/class/block/%s", base);
	if (!realpath(sys, real))
		return -ENOTBLK;
	slash = strrchr(real, '/');
	if (!slash)
		return -ENOTBLK;
	*slash = '\0';
	slash = strrchr(real, '/');
	if (!slash || (size_t)snprintf(disk, n, "/dev/%s", slash + 1) >= n)
		return -ENOTBLK;
	*ret_partno = partno;
	return 0;
}

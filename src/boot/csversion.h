/* Which cryptsetup may drive online conversion. Pure: the text comes from
 * `cryptsetup --version` (the CLI's compile-time version) or a package
 * manager's version of libcryptsetup (the CLI only asks for a library
 * >= its own minor version, so the two can differ after a partial
 * upgrade; both are checked). See src/engine/ONLINE.md, "Version fence". */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct csversion {
	unsigned major, minor, patch;
	bool prerelease; /* "-rcN" after the numbers */
};

/* Parses "cryptsetup 2.6.1 flags: ...", "2.7.0-rc1", or a Debian/RPM package
 * version such as "2:2.6.1-4~deb12u2" (epoch and revision ignored).
 * -EINVAL (nothing logged) when no MAJOR.MINOR.PATCH is where it must be. */
int csversion_parse(const char *text, struct csversion *ret);

/* 0 when v may run LUKS2 online reencryption for rootcrypt; -EPERM and a
 * static reason otherwise: below 2.4.3 (no reencryption metadata digest,
 * CVE-2021-4122) or 2.7.0-2.7.4 (online reencryption could run without
 * direct I/O and corrupt data, fixed in 2.7.5). */
int csversion_online_ok(const struct csversion *v, const char **ret_why);

/* The library half of the fence over libcryptsetup12's package version
 * text (dpkg's ${Version}, trailing newline allowed): 0 inside the fence;
 * -EPERM with the reason in why (an unreadable version is refused too: it
 * cannot be shown to be outside 2.7.0-2.7.4). The caller decides what an
 * unknown version means before calling. */
int csversion_library_ok(const char *pkg_version, char *why, size_t why_len);

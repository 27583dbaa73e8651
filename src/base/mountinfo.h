/* Where a file of a given file system is visible now: /proc/self/mountinfo
 * read as text (proc(5): "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS
 * [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS", spaces and the like in
 * ROOT and MOUNTPOINT escaped as \ooo). Pure: tests hand it the text. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* The path under which `path` (absolute, inside the file system on the
 * block device major:minor) is reached through a mount of that device
 * whose root (field 4, "/" unless a bind mount of a subdirectory) is path
 * or one of its parent directories: mount point + the rest of path, in
 * out. A read-write mount wins over a read-only one; *ret_ro says whether
 * the chosen one is read-only (its mount options or its super block's).
 * 1 when found, 0 when no mount reaches path, -ENAMETOOLONG, -EINVAL for
 * a path that is not absolute. */
int mountinfo_locate(const char *text, unsigned major, unsigned minor, const char *path,
		     char *out, size_t n, bool *ret_ro);

/* mountinfo_locate over this process's /proc/self/mountinfo: the same
 * results, or the read's -errno (logged). */
int mountinfo_locate_self(unsigned major, unsigned minor, const char *path, char *out, size_t n,
			  bool *ret_ro);

/* Whole small files, read and replaced crash-safely: the new content goes
 * to a temporary name, is fsynced, renamed over the old name, and the
 * directory is fsynced, so a power cut leaves the old file or the new one,
 * never a mix (the rename is journaled by ext4/XFS). */
#pragma once
#include <stddef.h>
#include <sys/stat.h>

/* Reads name (relative to dirfd, symlinks not followed) whole, at most max
 * bytes, into a NUL-terminated malloc'ed buffer. -errno with one line
 * logged (-EFBIG beyond max, -ELOOP for a symlink); -ENOENT is not logged. */
int fileio_read_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len);

/* Writes buf to tmp_name in dirfd (replacing a stale one), fsync, renames
 * it over name, fsyncs dirfd. Mode, owner and group come from like when
 * given, else mode 0644 and the caller's ids. -errno with one line logged;
 * on failure name is untouched and tmp_name is removed. */
int fileio_replace_at(int dirfd, const char *name, const char *tmp_name, const void *buf,
		      size_t len, const struct stat *like);

/* fsync of the directory holding path (after a create or rename there);
 * 0 or -errno with one line logged. */
int fileio_sync_parent_dir(const char *path);

/* Writes len bytes (retrying short writes and EINTR); 0 or -errno. */
int fileio_write_all(int fd, const void *buf, size_t len);

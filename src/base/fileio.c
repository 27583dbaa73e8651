#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int fileio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fileio_read_at(int dirfd, const char *name, size_t max, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return log_error_errno(errno, "cannot open \"%s\"", name);
	}
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return log_error(ENOMEM, "cannot read \"%s\"", name);
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= max) {
				r = log_error(EFBIG, "\"%s\" is larger than %zu bytes", name, max);
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = log_error(ENOMEM, "cannot read \"%s\"", name);
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = log_error_errno(errno, "cannot read \"%s\"", name);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = 0;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int fileio_replace_at(int dirfd, const char *name, const char *tmp_name, const void *buf,
		      size_t len, const struct stat *like)
{
	int fd, r;

	if (unlinkat(dirfd, tmp_name, 0) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove stale \"%s\"", tmp_name);
	fd = openat(dirfd, tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    like ? (like->st_mode & 07777) : 0644);
	if (fd < 0)
		return log_error_errno(errno, "cannot create \"%s\"", tmp_name);
	r = fileio_write_all(fd, buf, len);
	if (r < 0) {
		log_error_errno(r, "cannot write \"%s\"", tmp_name);
		goto fail;
	}
	/* chown clears set-id bits: mode after owner */
	if (like && (fchown(fd, like->st_uid, like->st_gid) < 0 ||
		     fchmod(fd, like->st_mode & 07777) < 0)) {
		r = log_error_errno(errno, "cannot set owner and mode of \"%s\"", tmp_name);
		goto fail;
	}
	if (fsync(fd) < 0) {
		r = log_error_errno(errno, "cannot fsync \"%s\"", tmp_name);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (renameat(dirfd, tmp_name, dirfd, name) < 0) {
		r = log_error_errno(errno, "cannot rename \"%s\" to \"%s\"", tmp_name, name);
		goto fail;
	}
	if (fsync(dirfd) < 0)
		return log_error_errno(errno, "cannot fsync the directory of \"%s\"", name);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp_name, 0);
	return r;
}

int fileio_sync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return log_error(ENOMEM, "out of memory");
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = log_error_errno(errno, "cannot sync the directory of \"%s\"", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

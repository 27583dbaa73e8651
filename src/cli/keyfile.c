#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "secmem.h"

int keyfile_read(const char *path, char **ret_secmem, size_t *ret_len)
{
	bool is_stdin = strcmp(path, "-") == 0;
	char *buf = secmem_alloc(KEYFILE_MAX + 2);
	size_t len = 0;
	int fd, r = 0;

	if (!buf)
		return log_error(ENOMEM, "out of memory for the key");
	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = log_error_errno(errno, "cannot open key file \"%s\"", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, KEYFILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = log_error_errno(errno, "cannot read key file \"%s\"", path);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > KEYFILE_MAX) {
			r = log_error(EFBIG, "key file \"%s\" is larger than %d bytes", path,
				      KEYFILE_MAX);
			break;
		}
	}
	if (!is_stdin)
		close(fd);
	if (r == 0 && len == 0)
		r = log_error(EINVAL, "key file \"%s\" is empty", path);
out:
	if (r < 0) {
		secmem_free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_secmem = buf;
	*ret_len = len;
	return 0;
}

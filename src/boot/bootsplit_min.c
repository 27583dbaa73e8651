/* resize2fs's minimum size (bootsplit_min.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bootsplit_min.h"
#include "log.h"
#include "spawn.h"

#define MIN_LINE "minimum size of the filesystem:"

int bootsplit_resize_min(const char *node, uint32_t block_size, uint64_t *ret_bytes)
{
	const char *argv[] = { "resize2fs", "-P", node, NULL };
	char out[512] = "", *p, *end;
	struct spawn_io io = { .output = out, .output_size = sizeof(out), .stderr_too = true };
	unsigned long long blocks;
	int status, r;

	r = spawn_run(argv, &io, &status);
	if (r < 0)
		return log_error(-r, "cannot run resize2fs -P on \"%s\" (e2fsprogs)", node);
	p = strstr(out, MIN_LINE);
	if (status != 0 || !p) {
		size_t n = strlen(out);

		while (n && out[n - 1] == '\n')
			out[--n] = '\0';
		p = strrchr(out, '\n');
		return log_error(EIO, "resize2fs -P \"%s\" gave no minimum size (exit %d): %s", node,
				 status, p ? p + 1 : out);
	}
	p += strlen(MIN_LINE);
	errno = 0;
	blocks = strtoull(p, &end, 10);
	if (errno || end == p || blocks > UINT64_MAX / block_size)
		return log_error(EIO, "resize2fs -P \"%s\": cannot read \"%.40s\"", node, p);
	*ret_bytes = (uint64_t)blocks * block_size;
	return 0;
}

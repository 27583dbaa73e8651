#include "boot_token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "blkdev.h"
#include "log.h"
#include "parttable.h"

/* Byte offset and length of the partition (or whole target) in o->target. */
static int target_window(const struct engine_opts *o, uint64_t *off, uint64_t *len)
{
	struct parttable_part p = { 0 };
	struct blkdev *d = NULL;
	int r;

	r = blkdev_open(o->target, BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	if (o->partition) {
		r = parttable_find(d, o->partition, &p);
		*off = p.start;
		*len = p.size;
	} else {
		*off = 0;
		*len = d->size;
	}
	blkdev_close(d);
	return r;
}

int boot_azure_token(const struct engine_opts *o, struct luks2_azure_token *ret, char *uuid,
		     size_t uuid_size)
{
	struct engine_status st;
	struct luks2_hdr *h = NULL;
	const char *path = o->target;
	uint64_t base = 0, off, len;
	int fd, r;

	r = engine_status(o, &st);
	if (r < 0)
		return r;
	if (st.state != ENGINE_STATE_ENCRYPTING && st.state != ENGINE_STATE_ENCRYPTED)
		return log_error(ENOENT, "\"%s\" is not a rootcrypt volume", o->target);
	if (st.info.layout == ENGINE_LAYOUT_DETACHED) {
		path = o->header;
		if (!path)
			return log_error(EINVAL, "detached volume \"%s\" needs its header file",
					 o->target);
	} else {
		r = target_window(o, &off, &len);
		if (r < 0)
			return r;
		base = off;
		if (st.state == ENGINE_STATE_ENCRYPTING)
			base += engine_tail_offset(len, st.info.tail_size);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	r = luks2_hdr_read(&h, fd, base, NULL);
	close(fd);
	if (r < 0)
		return log_error(r, "cannot read the LUKS2 header of \"%s\"", path);
	r = luks2_token_azure_get(h, ret);
	snprintf(uuid, uuid_size, "%s", luks2_hdr_uuid(h));
	luks2_hdr_free(h);
	if (r == -ENOENT)
		return log_error(ENOENT, "\"%s\" has no azure-keyvault token", path);
	return r;
}

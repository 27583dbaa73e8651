#include "online_status.h"

#include <errno.h>

#include "log.h"
#include "luks2.h"

/* cryptsetup's default header (both copies + keyslots area), which is what
 * rootcrypt's online mode has it write */
#define ONLINE_HDR_READ (16u << 20)

int online_status_read(struct blkdev *hdr, uint64_t data_size, uint64_t *ret_done,
		       uint64_t *ret_total)
{
	size_t len = hdr->size < ONLINE_HDR_READ ? (size_t)hdr->size : ONLINE_HDR_READ;
	struct luks2_hdr *h = NULL;
	char why[160];
	uint8_t *buf;
	int r;

	if (len < 4096)
		return 0;
	buf = blkdev_alloc_large(len);
	if (!buf)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(hdr, buf, len, 0);
	if (r == 0 && luks2_hdr_read_mem(&h, buf, len, NULL) < 0)
		h = NULL; /* no header, or not one this could be: not online */
	blkdev_free_large(buf, len);
	if (r < 0)
		return log_error_errno(r, "cannot read the LUKS2 header of \"%s\"", hdr->name);
	r = 0;
	if (h && luks2_online_in_progress(h)) {
		if (luks2_online_check(h, why, sizeof(why)) < 0)
			log_debug("\"%s\": online reencryption header not rootcrypt's kind: %s",
				  hdr->name, why);
		else if (luks2_online_progress(h, data_size, ret_done, ret_total) == 0)
			r = 1;
	}
	luks2_hdr_free(h);
	return r;
}

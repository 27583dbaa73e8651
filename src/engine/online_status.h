/* `rootcrypt status` for a volume stock cryptsetup is converting in online
 * mode (src/engine/ONLINE.md "Unlock compatibility": engine_status /
 * rootcrypt status): the progress the header records, read from the disk
 * alone. */
#pragma once
#include <stdint.h>

#include "blkdev.h"

/* 1 with *ret_done / *ret_total (bytes) when the LUKS2 header at offset 0
 * of hdr is cryptsetup's online reencryption in progress, of the exact
 * kind rootcrypt's online mode makes (luks2_online_check); data_size is
 * the data device's size (for a detached header's dynamic segment). 0
 * when it is not (another LUKS2 header, or none); negative errno when it
 * cannot be read. */
int online_status_read(struct blkdev *hdr, uint64_t data_size, uint64_t *ret_done,
		       uint64_t *ret_total);

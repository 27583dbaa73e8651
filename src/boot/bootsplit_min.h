#pragma once
#include <stdint.h>

/* resize2fs's own floor for the ext4 file system on NODE (`resize2fs -P`),
 * in bytes (its block count times BLOCK_SIZE). resize2fs refuses to shrink
 * below this estimate even where every block above the target is free, so
 * a plan that only looks at the used blocks can promise a shrink it will
 * not do. -ENOENT when resize2fs cannot run, -EIO when it gives no figure. */
int bootsplit_resize_min(const char *node, uint32_t block_size, uint64_t *ret_bytes);

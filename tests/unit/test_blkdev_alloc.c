#include <stdint.h>

#include "blkdev.h"
#include "test.h"

/* Large I/O buffers must be 2 MiB aligned (so huge pages can back them),
 * read as zeros, and be usable end to end. */
TEST(blkdev_alloc_large_is_huge_page_aligned_zeroed_and_usable)
{
	const size_t len = (size_t)16 << 20;
	unsigned char *p = blkdev_alloc_large(len);

	CHECK(p != NULL);
	CHECK_EQ_INT((uintptr_t)p % ((size_t)2 << 20), 0);
	CHECK_EQ_INT(p[0], 0);
	CHECK_EQ_INT(p[len / 2], 0);
	CHECK_EQ_INT(p[len - 1], 0);
	p[0] = 1;
	p[len - 1] = 2;
	CHECK_EQ_INT(p[0] + p[len - 1], 3);
	blkdev_free_large(p, len);
}

TEST(blkdev_alloc_large_small_sizes_are_direct_io_aligned)
{
	unsigned char *p = blkdev_alloc_large(8192), *z = blkdev_alloc_large(0);

	CHECK(p != NULL && z != NULL);
	CHECK_EQ_INT((uintptr_t)p % BLKDEV_ALIGN, 0);
	CHECK_EQ_INT((uintptr_t)z % BLKDEV_ALIGN, 0);
	p[8191] = 7;
	CHECK_EQ_INT(p[8191], 7);
	blkdev_free_large(p, 8192);
	blkdev_free_large(z, 0);
}

/* An in-memory blkdev for the fuzz harnesses (fuzz_parttable.c,
 * fuzz_engine_hdr.c): reads and writes inside buf, nothing past it. */
#pragma once
#include <stdint.h>
#include <string.h>

#include "blkdev.h"

struct mem {
	uint8_t *buf;
	size_t len;
};

static int mem_pread(struct blkdev *d, void *buf, size_t len, uint64_t off)
{
	struct mem *m = d->priv;

	if (off > m->len || len > m->len - off)
		return -5; /* -EIO: short read */
	memcpy(buf, m->buf + off, len);
	return 0;
}

static int mem_pwrite(struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	struct mem *m = d->priv;

	if (off > m->len || len > m->len - off)
		return -5;
	memcpy(m->buf + off, buf, len);
	return 0;
}

static int mem_flush(struct blkdev *d)
{
	(void)d;
	return 0;
}

static const struct blkdev_ops mem_ops = { .pread = mem_pread, .pwrite = mem_pwrite,
					   .flush = mem_flush };

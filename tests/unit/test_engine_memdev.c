/* See test_engine_memdev.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_engine_memdev.h"

struct pending {
	uint64_t off, len;
	uint8_t *data;
};

struct memdev {
	struct memdev_clock *clock;
	uint8_t *cur, *durable;
	uint64_t durable_size;
	struct pending *pend;
	size_t npend;
	bool growable;
};

static int tick(struct memdev *m)
{
	if (m->clock->cut)
		return -EIO;
	if (m->clock->fail_at >= 0 && m->clock->ops == m->clock->fail_at) {
		m->clock->cut = true;
		return -EIO;
	}
	m->clock->ops++;
	return 0;
}

static int mem_pread(struct blkdev *d, void *buf, size_t len, uint64_t off)
{
	struct memdev *m = d->priv;

	if (m->clock->cut)
		return -EIO;
	if (off + len > d->size)
		return -EIO;
	memcpy(buf, m->cur + off, len);
	return 0;
}

static int mem_pwrite(struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	struct memdev *m = d->priv;
	struct pending *p;
	int r = tick(m);

	if (r < 0)
		return r;
	if (off + len > d->size)
		return -EIO;
	p = realloc(m->pend, (m->npend + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	m->pend = p;
	p = &m->pend[m->npend++];
	p->off = off;
	p->len = len;
	p->data = malloc(len);
	if (!p->data)
		return -ENOMEM;
	memcpy(p->data, buf, len);
	memcpy(m->cur + off, buf, len);
	return 0;
}

static void drop_pending(struct memdev *m)
{
	for (size_t i = 0; i < m->npend; i++)
		free(m->pend[i].data);
	free(m->pend);
	m->pend = NULL;
	m->npend = 0;
}

static int mem_flush(struct blkdev *d)
{
	struct memdev *m = d->priv;
	int r = tick(m);

	if (r < 0)
		return r;
	for (size_t i = 0; i < m->npend; i++)
		memcpy(m->durable + m->pend[i].off, m->pend[i].data, m->pend[i].len);
	drop_pending(m);
	return 0;
}

static int mem_grow(struct blkdev *d, uint64_t size)
{
	struct memdev *m = d->priv;
	uint8_t *c, *du;
	int r;

	if (!m->growable)
		return -EOPNOTSUPP;
	r = tick(m); /* ftruncate+fsync: one durable operation */
	if (r < 0)
		return r;
	c = realloc(m->cur, size);
	if (!c)
		return -ENOMEM;
	m->cur = c;
	du = realloc(m->durable, size);
	if (!du)
		return -ENOMEM;
	m->durable = du;
	if (size > d->size) {
		memset(m->cur + d->size, 0, size - d->size);
		memset(m->durable + d->size, 0, size - d->size);
	}
	d->size = size;
	m->durable_size = size;
	return 0;
}

static void mem_close(struct blkdev *d)
{
	struct memdev *m = d->priv;

	drop_pending(m);
	free(m->cur);
	free(m->durable);
	free(m);
}

static const struct blkdev_ops mem_ops = {
	.pread = mem_pread,
	.pwrite = mem_pwrite,
	.flush = mem_flush,
	.grow = mem_grow,
	.close = mem_close,
};

struct blkdev *memdev_new(const char *name, const uint8_t *data, uint64_t size,
			  struct memdev_clock *clock, bool growable)
{
	struct blkdev *d = calloc(1, sizeof(*d));
	struct memdev *m = calloc(1, sizeof(*m));

	d->ops = &mem_ops;
	d->name = strdup(name);
	d->size = size;
	d->sector_size = 512;
	d->is_regular = growable;
	d->fd = d->dfd = -1;
	d->priv = m;
	m->clock = clock;
	m->growable = growable;
	m->cur = malloc(size ? size : 1);
	m->durable = malloc(size ? size : 1);
	if (data) {
		memcpy(m->cur, data, size);
		memcpy(m->durable, data, size);
	} else {
		memset(m->cur, 0, size);
		memset(m->durable, 0, size);
	}
	m->durable_size = size;
	return d;
}

const uint8_t *memdev_data(struct blkdev *d)
{
	return ((struct memdev *)d->priv)->cur;
}

uint8_t *memdev_after_cut(struct blkdev *d, enum memdev_cut_mode mode, unsigned seed,
			  uint64_t *ret_size)
{
	struct memdev *m = d->priv;
	uint8_t *img = malloc(m->durable_size);

	memcpy(img, m->durable, m->durable_size);
	*ret_size = m->durable_size;
	for (size_t i = 0; i < m->npend; i++) {
		struct pending *p = &m->pend[i];

		seed = seed * 1103515245u + 12345u;
		if (mode == MEMDEV_LOSE_ALL)
			continue;
		if (mode == MEMDEV_RANDOM && (seed >> 16) % 2)
			continue;
		if (mode == MEMDEV_TORN) {
			/* each 512-byte sector of the write lands or not */
			for (uint64_t o = 0; o < p->len; o += 512) {
				seed = seed * 1103515245u + 12345u;
				if ((seed >> 16) % 2)
					memcpy(img + p->off + o, p->data + o,
					       p->len - o < 512 ? p->len - o : 512);
			}
			continue;
		}
		memcpy(img + p->off, p->data, p->len);
	}
	return img;
}

/* In-memory block device that records every write and flush, fails every
 * operation from a chosen one on (a power cut), and rebuilds what a disk
 * could hold after that cut: the flushed state plus none, all, or a random
 * subset of the unflushed writes, optionally torn at 512-byte granularity. */
#pragma once
#include <stdint.h>

#include "blkdev.h"

struct memdev_clock {
	long ops;		/* write/flush operations so far (all devices) */
	long fail_at;		/* the cut: operation index that fails, -1 never */
	bool cut;
};

enum memdev_cut_mode { MEMDEV_LOSE_ALL, MEMDEV_KEEP_ALL, MEMDEV_RANDOM, MEMDEV_TORN };

struct blkdev *memdev_new(const char *name, const uint8_t *data, uint64_t size,
			  struct memdev_clock *clock, bool growable);
/* What the device holds after the cut (size via *ret_size); malloc'ed. */
uint8_t *memdev_after_cut(struct blkdev *d, enum memdev_cut_mode mode, unsigned seed,
			  uint64_t *ret_size);
const uint8_t *memdev_data(struct blkdev *d);

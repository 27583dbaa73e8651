/* Block I/O for the conversion engine: one small ops table so that tests can
 * swap the real device for one that records every write and flush and
 * replays power cuts. Every write the engine makes goes through here. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blkdev;

struct blkdev_ops {
	/* Whole-length transfers: 0 or a negative errno (short I/O is -EIO). */
	int (*pread)(struct blkdev *d, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct blkdev *d, const void *buf, size_t len, uint64_t off);
	/* Everything written so far is durable when this returns 0. */
	int (*flush)(struct blkdev *d);
	/* Regular files only: grow to size (durably, including the inode). */
	int (*grow)(struct blkdev *d, uint64_t size);
	void (*close)(struct blkdev *d);
};

struct blkdev {
	const struct blkdev_ops *ops;
	char *name;		/* for messages */
	uint64_t size;		/* bytes */
	uint32_t sector_size;	/* logical sector of the medium (512 for files) */
	bool is_blockdev;
	bool is_regular;
	int fd;			/* buffered */
	int dfd;		/* O_DIRECT, or -1 when the target refuses it */
	uint64_t base;		/* windows: offset inside parent */
	struct blkdev *parent;	/* windows only */
	void *priv;		/* test devices */
};

/* Alignment of buffers and of offsets/lengths for the O_DIRECT path. */
#define BLKDEV_ALIGN 4096u

enum {
	BLKDEV_RDONLY = 1 << 0,
	BLKDEV_EXCL = 1 << 1,	/* refuse mounted/claimed/attached targets */
};

/* Opens a block device or regular file. With BLKDEV_EXCL: O_EXCL on block
 * devices, an flock on files, and a refusal when /proc/self/mountinfo or a
 * loop device shows the target in use. One error line is printed. */
int blkdev_open(const char *path, int flags, struct blkdev **ret);

/* A view of [off, off+len) of parent (a partition inside a disk image);
 * the parent must outlive it. */
int blkdev_window(struct blkdev *parent, uint64_t off, uint64_t len, const char *name,
		  struct blkdev **ret);

void blkdev_close(struct blkdev *d);

/* Checked I/O with one error line naming the device and offset. */
int blkdev_read(struct blkdev *d, void *buf, size_t len, uint64_t off);
int blkdev_write(struct blkdev *d, const void *buf, size_t len, uint64_t off);
int blkdev_flush(struct blkdev *d);
int blkdev_grow(struct blkdev *d, uint64_t size);

/* 4096-aligned zeroed buffer; free() it. NULL on ENOMEM. */
void *blkdev_alloc(size_t len);
/* The same for buffers of megabytes (pipeline units, whole-header reads),
 * mapped so that pages cost nothing until first used; release it with
 * blkdev_free_large() and the same length. */
void *blkdev_alloc_large(size_t len);
void blkdev_free_large(void *p, size_t len);

/* 1 when the device (st_rdev) or file (via a loop device) appears in
 * mountinfo or is attached to a loop device, 0 when not, negative errno. On 1
 * *ret_what says where (static buffer). Pure on its inputs for tests. */
int blkdev_in_use(const char *path, const char **ret_what);
int blkdev_mountinfo_has_dev(const char *mountinfo, unsigned major, unsigned minor);

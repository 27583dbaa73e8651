/* Real devices and files behind the blkdev ops table. Large aligned transfers
 * go through an O_DIRECT descriptor (no page-cache copy, no cache pollution);
 * small or unaligned ones (headers) through a buffered one. Linux keeps the
 * two coherent: direct reads write back dirty pages of their range first and
 * direct writes invalidate cached pages. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blkdev.h"
#include "log.h"
#include "test_hooks.h"

void *blkdev_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, BLKDEV_ALIGN, len ? len : BLKDEV_ALIGN) != 0)
		return NULL;
	memset(p, 0, len);
	return p;
}

/* No memset here: fresh anonymous pages read as zeros, and the kernel
 * supplies each one when it is first touched, which for unit buffers is the
 * O_DIRECT read that fills it. Zeroing up front touched all of them from user
 * space first: 0.19-0.23 s of a 2 GiB run's setup here (65 MiB: three 16 MiB
 * units and the 17 MiB header read), against ~0.04 s more in the first reads
 * without it.
 *
 * Buffers of 2 MiB or more are aligned to 2 MiB and asked for as transparent
 * huge pages: a request holds at most max_segments physical pieces (254 on
 * virtio-blk), so with scattered 4 KiB pages a 16 MiB read became ~500
 * requests of ~1 MiB; with 2 MiB pages it is four requests of max_sectors_kb
 * (4 MiB). Measured on a 512 MiB pass: 138 read requests instead of 471-494
 * and 40 % less time with the disk busy (src/engine/ENGINE.md). Without huge pages
 * (THP off, or no free 2 MiB pages) it is the same mapping as before. */
#define HUGE_PAGE_SIZE ((size_t)2 << 20)

static size_t large_len(size_t len)
{
	return len ? len : BLKDEV_ALIGN;
}

void *blkdev_alloc_large(size_t len)
{
	size_t want = large_len(len);
	char *p, *aligned;

	if (want < HUGE_PAGE_SIZE) {
		p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	/* map one huge page more, then give back the unaligned ends */
	p = mmap(NULL, want + HUGE_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (char *)(((uintptr_t)p + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	if (p + HUGE_PAGE_SIZE > aligned)
		munmap(aligned + want, (size_t)(p + HUGE_PAGE_SIZE - aligned));
	(void)madvise(aligned, want, MADV_HUGEPAGE); /* a hint: EINVAL without THP */
	return aligned;
}

void blkdev_free_large(void *p, size_t len)
{
	if (p)
		munmap(p, large_len(len));
}

static bool direct_ok(const struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	return d->dfd >= 0 && ((uintptr_t)buf % BLKDEV_ALIGN) == 0 && len % BLKDEV_ALIGN == 0 &&
	       off % BLKDEV_ALIGN == 0;
}

/* Fault injection for tests of the real binary (test build only, see
 * test_hooks.h): ROOTCRYPT_FAULT_AFTER_OPS=N makes every write/flush after
 * the first N fail with EIO, like a disk that went away (the process keeps
 * running and must stop cleanly). */
static long fault_budget(void)
{
	static long budget = -2;

	if (budget == -2) {
		const char *s = test_hook_getenv("ROOTCRYPT_FAULT_AFTER_OPS");

		budget = s ? atol(s) : -1;
	}
	return budget;
}

static int fault_tick(void)
{
	static long ops;

	if (fault_budget() >= 0 && ops++ >= fault_budget())
		return -EIO;
	return 0;
}

static int fd_pread(struct blkdev *d, void *buf, size_t len, uint64_t off)
{
	int fd = direct_ok(d, buf, len, off) ? d->dfd : d->fd;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int fd_pwrite(struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	int fd = direct_ok(d, buf, len, off) ? d->dfd : d->fd;
	size_t done = 0;

	if (fault_tick() < 0)
		return -EIO;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int fd_flush(struct blkdev *d)
{
	if (fault_tick() < 0)
		return -EIO;
	/* fdatasync: on a block device the same cache flush as fsync; on an
	 * image file it still covers block allocation and size (what reading
	 * the data back needs) but skips the journal commit that the mtime
	 * change of every write would force on each flush. */
	if (fdatasync(d->fd) < 0)
		return -errno;
	return 0;
}

static int fd_grow(struct blkdev *d, uint64_t size)
{
	if (!d->is_regular)
		return -EOPNOTSUPP;
	if (ftruncate(d->fd, (off_t)size) < 0)
		return -errno;
	if (fsync(d->fd) < 0)
		return -errno;
	d->size = size;
	return 0;
}

static void fd_close(struct blkdev *d)
{
	if (d->dfd >= 0)
		close(d->dfd);
	if (d->fd >= 0)
		close(d->fd);
}

static const struct blkdev_ops fd_ops = {
	.pread = fd_pread,
	.pwrite = fd_pwrite,
	.flush = fd_flush,
	.grow = fd_grow,
	.close = fd_close,
};

int blkdev_mountinfo_has_dev(const char *mountinfo, unsigned major, unsigned minor)
{
	const char *line = mountinfo;

	/* Fields: id parent major:minor root mountpoint ... */
	while (line && *line) {
		unsigned id, parent, ma, mi;

		if (sscanf(line, "%u %u %u:%u", &id, &parent, &ma, &mi) == 4 && ma == major &&
		    mi == minor)
			return 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *n = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!n) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = n;
		}
		size_t r = fread(buf + len, 1, cap - len - 1, f);

		len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int blkdev_in_use(const char *path, const char **ret_what)
{
	static char what[512];
	struct stat st;
	char *mi;
	int r = 0;

	if (stat(path, &st) < 0)
		return -errno;
	mi = read_small_file("/proc/self/mountinfo");
	if (S_ISBLK(st.st_mode)) {
		char holders[128];
		DIR *dir;

		if (mi && blkdev_mountinfo_has_dev(mi, major(st.st_rdev), minor(st.st_rdev))) {
			snprintf(what, sizeof(what), "mounted");
			r = 1;
			goto out;
		}
		/* dm/md/LVM on top of it show up as holders. */
		snprintf(holders, sizeof(holders), "/sys/dev/block/%u:%u/holders",
			 major(st.st_rdev), minor(st.st_rdev));
		dir = opendir(holders);
		if (dir) {
			struct dirent *e;

			while ((e = readdir(dir))) {
				if (e->d_name[0] == '.')
					continue;
				snprintf(what, sizeof(what), "held by %s", e->d_name);
				r = 1;
				break;
			}
			closedir(dir);
		}
	} else if (S_ISREG(st.st_mode)) {
		/* An image attached to a loop device may be mounted through it. */
		char real[4096];
		DIR *dir = opendir("/sys/block");
		struct dirent *e;

		if (!realpath(path, real) || !dir) {
			if (dir)
				closedir(dir);
			goto out;
		}
		while ((e = readdir(dir))) {
			char bf[300], *backing;
			size_t n;

			if (strncmp(e->d_name, "loop", 4) != 0)
				continue;
			snprintf(bf, sizeof(bf), "/sys/block/%s/loop/backing_file", e->d_name);
			backing = read_small_file(bf);
			if (!backing)
				continue;
			n = strlen(backing);
			while (n && backing[n - 1] == '\n')
				backing[--n] = '\0';
			if (strcmp(backing, real) == 0) {
				snprintf(what, sizeof(what), "attached to /dev/%s", e->d_name);
				r = 1;
			}
			free(backing);
			if (r)
				break;
		}
		closedir(dir);
	}
out:
	free(mi);
	if (r == 1 && ret_what)
		*ret_what = what;
	return r;
}

int blkdev_open(const char *path, int flags, struct blkdev **ret)
{
	bool rdonly = flags & BLKDEV_RDONLY, excl = flags & BLKDEV_EXCL;
	int oflags = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct blkdev *d;
	struct stat st;
	const char *what = NULL;
	int r;

	if (stat(path, &st) < 0)
		return log_error_errno(errno, "cannot access '%s'", path);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return log_error(EINVAL, "'%s' is neither a block device nor a regular file", path);
	if (excl) {
		r = blkdev_in_use(path, &what);
		if (r < 0)
			return log_error_errno(r, "cannot check whether '%s' is in use", path);
		if (r > 0)
			return log_error(EBUSY, "'%s' is in use (%s): refusing to touch it", path, what);
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->name = strdup(path))) {
		free(d);
		return log_error(ENOMEM, "out of memory");
	}
	d->ops = &fd_ops;
	d->dfd = -1;
	d->is_blockdev = S_ISBLK(st.st_mode);
	d->is_regular = S_ISREG(st.st_mode);
	if (excl && d->is_blockdev)
		oflags |= O_EXCL; /* the kernel refuses if mounted or claimed */
	d->fd = open(path, oflags);
	if (d->fd < 0) {
		r = errno;
		blkdev_close(d);
		if (r == EBUSY)
			return log_error(EBUSY, "'%s' is in use (opened exclusively elsewhere): refusing to touch it", path);
		return log_error_errno(r, "cannot open '%s'%s", path, rdonly ? "" : " for writing");
	}
	if (excl && d->is_regular && flock(d->fd, (rdonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		r = errno;
		blkdev_close(d);
		if (r == EWOULDBLOCK)
			return log_error(EBUSY, "'%s' is locked by another process", path);
		return log_error_errno(r, "cannot lock '%s'", path);
	}
	if (d->is_blockdev) {
		uint64_t sz = 0;
		int ss = 512;

		if (ioctl(d->fd, BLKGETSIZE64, &sz) < 0 || ioctl(d->fd, BLKSSZGET, &ss) < 0) {
			r = errno;
			blkdev_close(d);
			return log_error_errno(r, "cannot get the size of '%s'", path);
		}
		d->size = sz;
		d->sector_size = (uint32_t)ss;
	} else {
		d->size = (uint64_t)st.st_size;
		d->sector_size = 512;
	}
	/* O_DIRECT is best effort: tmpfs and some file systems refuse it. */
	d->dfd = open(path, (oflags & ~O_EXCL) | O_DIRECT);
	*ret = d;
	return 0;
}

static int win_pread(struct blkdev *d, void *buf, size_t len, uint64_t off)
{
	return d->parent->ops->pread(d->parent, buf, len, d->base + off);
}

static int win_pwrite(struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	return d->parent->ops->pwrite(d->parent, buf, len, d->base + off);
}

static int win_flush(struct blkdev *d)
{
	return d->parent->ops->flush(d->parent);
}

static int win_grow(struct blkdev *d, uint64_t size)
{
	(void)d;
	(void)size;
	return -EOPNOTSUPP; /* partitions grow through the partition table */
}

static void win_close(struct blkdev *d)
{
	(void)d;
}

static const struct blkdev_ops win_ops = {
	.pread = win_pread,
	.pwrite = win_pwrite,
	.flush = win_flush,
	.grow = win_grow,
	.close = win_close,
};

int blkdev_window(struct blkdev *parent, uint64_t off, uint64_t len, const char *name,
		  struct blkdev **ret)
{
	struct blkdev *d;

	if (off > parent->size || len > parent->size - off)
		return log_error(ERANGE, "'%s' [%llu, +%llu) lies outside '%s'", name,
				 (unsigned long long)off, (unsigned long long)len, parent->name);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->name = strdup(name))) {
		free(d);
		return log_error(ENOMEM, "out of memory");
	}
	d->ops = &win_ops;
	d->size = len;
	d->sector_size = parent->sector_size;
	d->is_blockdev = parent->is_blockdev;
	d->fd = d->dfd = -1;
	d->base = off;
	d->parent = parent;
	*ret = d;
	return 0;
}

void blkdev_close(struct blkdev *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	free(d->name);
	free(d);
}

int blkdev_read(struct blkdev *d, void *buf, size_t len, uint64_t off)
{
	int r;

	if (off > d->size || len > d->size - off)
		return log_error(EIO, "read of %zu bytes at %llu is past the end of '%s'", len,
				 (unsigned long long)off, d->name);
	r = d->ops->pread(d, buf, len, off);
	if (r < 0)
		return log_error_errno(r, "read of %zu bytes at %llu from '%s' failed", len,
				       (unsigned long long)off, d->name);
	return 0;
}

int blkdev_write(struct blkdev *d, const void *buf, size_t len, uint64_t off)
{
	int r;

	if (off > d->size || len > d->size - off)
		return log_error(EIO, "write of %zu bytes at %llu is past the end of '%s'", len,
				 (unsigned long long)off, d->name);
	r = d->ops->pwrite(d, buf, len, off);
	if (r < 0)
		return log_error_errno(r, "write of %zu bytes at %llu to '%s' failed", len,
				       (unsigned long long)off, d->name);
	return 0;
}

int blkdev_flush(struct blkdev *d)
{
	int r = d->ops->flush(d);

	if (r < 0)
		return log_error_errno(r, "flush of '%s' failed", d->name);
	return 0;
}

int blkdev_grow(struct blkdev *d, uint64_t size)
{
	int r = d->ops->grow(d, size);

	if (r < 0)
		return log_error_errno(r, "cannot extend '%s' to %llu bytes", d->name,
				       (unsigned long long)size);
	d->size = size;
	return 0;
}

/* FAT12/16/32 file lookup by path, read only (fatfile.h). Layout from the
 * FAT specification (Microsoft "FAT32 File System Specification" 1.03):
 * boot sector fields, the cluster-count rule for the FAT type, directory
 * entries of 32 bytes. Every number from the disk is checked before use. */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "fatfile.h"
#include "log.h"

struct fat {
	struct blkdev *d;
	unsigned bits;
	uint32_t bps;		/* bytes per sector */
	uint32_t cluster_size;
	uint64_t fat_off;	/* first FAT, bytes */
	uint64_t root_off;	/* FAT12/16 fixed root directory, bytes */
	uint32_t root_entries;
	uint32_t root_cluster;	/* FAT32 */
	uint64_t data_off;	/* cluster 2, bytes */
	uint32_t clusters;	/* data clusters: valid numbers are 2..clusters+1 */
};


static int bad(const struct fat *f, const char *what)
{
	return log_error(EINVAL, "'%s' is not a FAT file system rootcrypt can read: %s",
			 f->d->name, what);
}

static int fat_open(struct blkdev *d, struct fat *f)
{
	uint8_t s[512];
	uint32_t rsvd, nfats, fatsz, total, root_sectors, spc;
	uint64_t first_data;
	int r;

	memset(f, 0, sizeof(*f));
	f->d = d;
	r = blkdev_read(d, s, sizeof(s), 0);
	if (r < 0)
		return r;
	if (s[510] != 0x55 || s[511] != 0xaa)
		return bad(f, "no boot sector signature");
	f->bps = le16_get(s + 11);
	spc = s[13];
	rsvd = le16_get(s + 14);
	nfats = s[16];
	f->root_entries = le16_get(s + 17);
	total = le16_get(s + 19) ? le16_get(s + 19) : le32_get(s + 32);
	fatsz = le16_get(s + 22) ? le16_get(s + 22) : le32_get(s + 36);
	if (f->bps != 512 && f->bps != 1024 && f->bps != 2048 && f->bps != 4096)
		return bad(f, "bytes per sector");
	if (spc == 0 || (spc & (spc - 1)) || (uint64_t)spc * f->bps > 65536)
		return bad(f, "sectors per cluster");
	if (rsvd == 0 || nfats == 0 || fatsz == 0 || total == 0)
		return bad(f, "reserved sectors, FAT count, FAT size or sector count is zero");
	f->cluster_size = spc * f->bps;
	root_sectors = (f->root_entries * 32 + f->bps - 1) / f->bps;
	first_data = (uint64_t)rsvd + (uint64_t)nfats * fatsz + root_sectors;
	if (first_data >= total)
		return bad(f, "no data area");
	if ((uint64_t)total * f->bps > d->size)
		return bad(f, "larger than its device");
	f->clusters = (uint32_t)((total - first_data) / spc);
	f->bits = f->clusters < 4085 ? 12 : f->clusters < 65525 ? 16 : 32;
	if (f->bits == 32 && (le16_get(s + 22) != 0 || f->root_entries != 0))
		return bad(f, "FAT32 by size but with a FAT16 layout");
	if (f->bits != 32 && f->root_entries == 0)
		return bad(f, "FAT12/16 without root directory entries");
	/* the FAT must describe every cluster */
	if ((uint64_t)fatsz * f->bps * 8 < ((uint64_t)f->clusters + 2) * f->bits)
		return bad(f, "FAT too small for its clusters");
	f->fat_off = (uint64_t)rsvd * f->bps;
	f->root_off = ((uint64_t)rsvd + (uint64_t)nfats * fatsz) * f->bps;
	f->data_off = first_data * f->bps;
	if (f->bits == 32) {
		f->root_cluster = le32_get(s + 44) & 0x0fffffff;
		if (f->root_cluster < 2 || f->root_cluster > f->clusters + 1)
			return bad(f, "root directory cluster outside the volume");
	}
	return 0;
}

static bool valid_cluster(const struct fat *f, uint32_t c)
{
	return c >= 2 && c <= f->clusters + 1;
}

/* The FAT entry of cluster c (a valid cluster). */
static int fat_next(const struct fat *f, uint32_t c, uint32_t *ret)
{
	uint8_t b[4] = { 0 };
	uint64_t off;
	int r;

	off = f->bits == 12 ? c + c / 2 : (uint64_t)c * (f->bits / 8);
	r = blkdev_read(f->d, b, f->bits == 32 ? 4 : 2, f->fat_off + off);
	if (r < 0)
		return r;
	if (f->bits == 12)
		*ret = (c & 1) ? le16_get(b) >> 4 : le16_get(b) & 0xfff;
	else if (f->bits == 16)
		*ret = le16_get(b);
	else
		*ret = le32_get(b) & 0x0fffffff;
	return 0;
}

static bool end_of_chain(const struct fat *f, uint32_t v)
{
	return v >= (f->bits == 12 ? 0xff8u : f->bits == 16 ? 0xfff8u : 0x0ffffff8u);
}

static uint64_t cluster_off(const struct fat *f, uint32_t c)
{
	return f->data_off + (uint64_t)(c - 2) * f->cluster_size;
}

/* "NAME    EXT" of a directory entry as "NAME.EXT". */
static void short_name(const uint8_t *e, char out[13])
{
	int n = 0;

	for (int i = 0; i < 8 && e[i] != ' '; i++)
		out[n++] = (char)(i == 0 && e[i] == 0x05 ? 0xe5 : e[i]);
	if (e[8] != ' ') {
		out[n++] = '.';
		for (int i = 8; i < 11 && e[i] != ' '; i++)
			out[n++] = (char)e[i];
	}
	out[n] = 0;
}

static bool name_eq(const char *entry, const char *want, size_t want_len)
{
	if (strlen(entry) != want_len)
		return false;
	for (size_t i = 0; i < want_len; i++)
		if (toupper((unsigned char)entry[i]) != toupper((unsigned char)want[i]))
			return false;
	return true;
}

/* Looks for name in the directory at cluster dir (0: the FAT12/16 root).
 * 1 and *ret_entry when found, 0 when not, negative errno. */
static int dir_find(const struct fat *f, uint32_t dir, const char *name, size_t len,
		    uint8_t ret_entry[32])
{
	uint8_t *buf;
	uint32_t c = dir, steps = 0;
	int r = 0;

	buf = malloc(f->cluster_size > 512 ? f->cluster_size : 512);
	if (!buf)
		return log_error(ENOMEM, "no memory for a FAT directory of '%s'", f->d->name);
	for (;;) {
		uint64_t off, chunk;
		uint32_t count;

		if (dir == 0) { /* fixed root, read sector by sector */
			if ((uint64_t)steps * 16 >= f->root_entries)
				break;
			off = f->root_off + (uint64_t)steps * 512;
			chunk = 512;
		} else {
			if (!valid_cluster(f, c) || steps > f->clusters) {
				r = bad(f, "directory chain leaves the volume or loops");
				break;
			}
			off = cluster_off(f, c);
			chunk = f->cluster_size;
		}
		r = blkdev_read(f->d, buf, chunk, off);
		if (r < 0)
			break;
		count = (uint32_t)(chunk / 32);
		if (dir == 0 && f->root_entries - steps * 16 < count)
			count = f->root_entries - steps * 16;
		for (uint32_t i = 0; i < count; i++) {
			const uint8_t *e = buf + i * 32;
			char sn[13];

			if (e[0] == 0)
				goto out;
			if (e[0] == 0xe5 || e[11] == 0x0f || (e[11] & 0x08))
				continue;
			short_name(e, sn);
			if (name_eq(sn, name, len)) {
				memcpy(ret_entry, e, 32);
				r = 1;
				goto out;
			}
		}
		steps++;
		if (dir != 0) {
			r = fat_next(f, c, &c);
			if (r < 0)
				break;
			if (end_of_chain(f, c))
				break;
		}
	}
out:
	free(buf);
	return r;
}

static uint32_t entry_cluster(const struct fat *f, const uint8_t *e)
{
	return le16_get(e + 26) | (f->bits == 32 ? (uint32_t)le16_get(e + 20) << 16 : 0);
}

/* Follows the file's chain over every cluster its size needs. */
static int check_chain(const struct fat *f, struct fatfile *ff)
{
	uint64_t need = (ff->size + f->cluster_size - 1) / f->cluster_size;
	uint32_t c = ff->first_cluster, next;
	int r;

	ff->contiguous = true;
	if (need > f->clusters)
		return bad(f, "file larger than the volume");
	for (uint64_t i = 0; i < need; i++) {
		if (!valid_cluster(f, c))
			return bad(f, "file chain leaves the volume");
		r = fat_next(f, c, &next);
		if (r < 0)
			return r;
		if (i + 1 == need) {
			if (!end_of_chain(f, next))
				ff->contiguous = false; /* longer chain than its size: not ours to judge */
			break;
		}
		if (end_of_chain(f, next))
			return bad(f, "file chain shorter than its size");
		if (next != c + 1)
			ff->contiguous = false;
		c = next;
	}
	return 0;
}

int fatfile_find(struct blkdev *d, const char *path, struct fatfile *ret)
{
	struct fat f;
	uint8_t e[32] = { 0 };
	uint32_t dir;
	const char *p = path;
	int r;

	r = fat_open(d, &f);
	if (r < 0)
		return r;
	dir = f.bits == 32 ? f.root_cluster : 0;
	for (;;) {
		const char *slash;
		size_t len;
		bool last;

		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		last = !slash || slash[strspn(slash, "/")] == 0;
		if (len == 0 || len > 12)
			return log_error(EINVAL, "'%s': path component of '%s' is not a FAT short name",
					 d->name, path);
		r = dir_find(&f, dir, p, len, e);
		if (r < 0)
			return r;
		if (r == 0)
			return -ENOENT;
		if (last)
			break;
		if (!(e[11] & 0x10))
			return log_error(EINVAL, "'%s': a component of '%s' is not a directory", d->name,
					 path);
		dir = entry_cluster(&f, e);
		if (dir == 0 && f.bits == 32)
			dir = f.root_cluster; /* ".." to the root */
		if (dir != 0 && !valid_cluster(&f, dir))
			return bad(&f, "directory cluster outside the volume");
		p = slash;
	}
	if (e[11] & 0x10)
		return log_error(EINVAL, "'%s': '%s' is a directory", d->name, path);
	memset(ret, 0, sizeof(*ret));
	ret->fat_bits = f.bits;
	ret->cluster_size = f.cluster_size;
	ret->size = le32_get(e + 28);
	ret->first_cluster = entry_cluster(&f, e);
	if (ret->size == 0)
		return log_error(EINVAL, "'%s': '%s' is empty", d->name, path);
	if (!valid_cluster(&f, ret->first_cluster))
		return bad(&f, "file's first cluster outside the volume");
	ret->data_off = cluster_off(&f, ret->first_cluster);
	return check_chain(&f, ret);
}

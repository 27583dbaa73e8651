/* ext4 "nothing to move" check for a shrink (see ext4tail.h). On-disk
 * layout (ext4 disk format, e2fsprogs lib/ext2fs/ext2_fs.h): superblock at
 * byte 1024, group descriptors from the block after it, 32 bytes each (or
 * s_desc_size with 64bit: high halves of the locations at +0x20..0x2f). A
 * group with a superblock backup (all of them, or with sparse_super groups
 * 0, 1 and powers of 3, 5, 7) starts with it, the descriptor copies and the
 * reserved GDT blocks. With flex_bg a group's bitmaps and inode table may
 * lie in another group; BLOCK_UNINIT/INODE_UNINIT (with group checksums)
 * mean a bitmap was never written and nothing of that kind is in use. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "ext4tail.h"
#include "log.h"

#define COMPAT_SPARSE_SUPER2 0x0200u
#define INCOMPAT_COMPRESSION 0x0001u
#define INCOMPAT_RECOVER 0x0004u
#define INCOMPAT_JOURNAL_DEV 0x0008u
#define INCOMPAT_META_BG 0x0010u
#define INCOMPAT_64BIT 0x0080u
/* filetype extents 64bit mmp flex_bg ea_inode dirdata csum_seed largedir
 * inline_data encrypt casefold: none changes where a group's metadata is */
#define INCOMPAT_KNOWN 0x3f7c2u
#define RO_COMPAT_SPARSE_SUPER 0x0001u
#define RO_COMPAT_GDT_CSUM 0x0010u
#define RO_COMPAT_SNAPSHOT 0x0080u
#define RO_COMPAT_BIGALLOC 0x0200u
#define RO_COMPAT_METADATA_CSUM 0x0400u
#define BG_INODE_UNINIT 0x1u
#define BG_BLOCK_UNINIT 0x2u
/* resize2fs drops a last group keeping fewer blocks than its metadata + 50 */
#define RESIZE2FS_LAST_GROUP_SLACK 50u

static bool power_of(uint32_t n, uint32_t base)
{
	while (n > 1 && n % base == 0)
		n /= base;
	return n == 1;
}

static bool has_super(const struct ext4tail *t, uint32_t g)
{
	if (g <= 1 || !t->sparse_super)
		return true;
	return power_of(g, 3) || power_of(g, 5) || power_of(g, 7);
}

uint32_t ext4tail_group_meta(const struct ext4tail *t, uint32_t g, uint32_t desc_blocks)
{
	uint32_t n = 2 + t->inode_table_blocks;

	if (has_super(t, g))
		n += 1 + desc_blocks + t->reserved_gdt;
	return n;
}

static int refuse(const char **ret_why, const char *why)
{
	*ret_why = why;
	return -EOPNOTSUPP;
}

int ext4tail_parse_super(const uint8_t *sb, struct ext4tail *t, const char **ret_why)
{
	uint32_t log_bs = le32_get(sb + 0x18), compat = le32_get(sb + 0x5c);
	uint32_t incompat = le32_get(sb + 0x60), ro = le32_get(sb + 0x64);
	uint32_t inode_size = le32_get(sb + 0x4c) >= 1 ? le16_get(sb + 0x58) : 128;
	uint64_t groups;

	memset(t, 0, sizeof(*t));
	*ret_why = NULL;
	if (le16_get(sb + 0x38) != 0xEF53 || log_bs > 6)
		return -EINVAL;
	/* before the geometry: these change what the numbers mean */
	if (incompat & INCOMPAT_META_BG)
		return refuse(ret_why, "meta_bg (descriptor blocks spread over the file system, "
				       "which resize2fs may have to move)");
	if (ro & RO_COMPAT_BIGALLOC)
		return refuse(ret_why, "bigalloc (bitmaps count clusters, not blocks)");
	if (compat & COMPAT_SPARSE_SUPER2)
		return refuse(ret_why, "sparse_super2 (backup superblocks in chosen groups)");
	if (ro & RO_COMPAT_SNAPSHOT)
		return refuse(ret_why, "snapshots");
	if (incompat & INCOMPAT_RECOVER)
		return refuse(ret_why, "a journal that needs recovery (e2fsck replays it first)");
	if (incompat & (INCOMPAT_JOURNAL_DEV | INCOMPAT_COMPRESSION))
		return refuse(ret_why, "not a file system with data (journal device or "
				       "compression)");
	if (incompat & ~(INCOMPAT_KNOWN | INCOMPAT_RECOVER | INCOMPAT_JOURNAL_DEV |
			 INCOMPAT_COMPRESSION | INCOMPAT_META_BG))
		return refuse(ret_why, "an incompatible feature this check does not know");
	t->block_size = 1024u << log_bs;
	t->blocks = le32_get(sb + 0x04);
	if (incompat & INCOMPAT_64BIT)
		t->blocks |= (uint64_t)le32_get(sb + 0x150) << 32;
	t->first_data_block = le32_get(sb + 0x14);
	t->blocks_per_group = le32_get(sb + 0x20);
	t->inodes_per_group = le32_get(sb + 0x28);
	t->state = le16_get(sb + 0x3a);
	t->reserved_gdt = le16_get(sb + 0xce);
	t->desc_size = incompat & INCOMPAT_64BIT ? le16_get(sb + 0xfe) : 32;
	t->sparse_super = ro & RO_COMPAT_SPARSE_SUPER;
	t->uninit_flags = ro & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM);
	if (t->first_data_block != (t->block_size == 1024 ? 1u : 0u) ||
	    t->blocks_per_group == 0 || t->blocks_per_group % 8 ||
	    t->blocks_per_group > 8 * t->block_size || t->inodes_per_group == 0 ||
	    t->inodes_per_group > 8 * t->block_size || inode_size < 128 ||
	    inode_size > t->block_size || (inode_size & (inode_size - 1)) ||
	    t->desc_size < 32 || t->desc_size > 1024 || (t->desc_size & (t->desc_size - 1)) ||
	    t->blocks <= t->first_data_block || t->reserved_gdt > t->block_size / 4)
		return -EINVAL;
	groups = (t->blocks - t->first_data_block + t->blocks_per_group - 1) / t->blocks_per_group;
	if (groups > (1u << 24) || (uint64_t)le32_get(sb) != groups * t->inodes_per_group)
		return -EINVAL;
	t->ngroups = (uint32_t)groups;
	t->desc_blocks = (uint32_t)((groups * t->desc_size + t->block_size - 1) / t->block_size);
	t->inode_table_blocks = (t->inodes_per_group * inode_size + t->block_size - 1) /
				t->block_size;
	if (ext4tail_group_meta(t, 0, t->desc_blocks) >= t->blocks_per_group)
		return -EINVAL;
	return 0;
}

int ext4tail_parse_groups(const uint8_t *gdt, size_t len, struct ext4tail *t)
{
	bool wide = t->desc_size >= 64;

	if (len < (size_t)t->ngroups * t->desc_size)
		return -EINVAL;
	t->groups = calloc(t->ngroups, sizeof(*t->groups));
	if (!t->groups)
		return -ENOMEM;
	for (uint32_t g = 0; g < t->ngroups; g++) {
		const uint8_t *d = gdt + (size_t)g * t->desc_size;
		struct ext4tail_group *gr = &t->groups[g];

		gr->start = t->first_data_block + (uint64_t)g * t->blocks_per_group;
		gr->block_bitmap = le32_get(d + 0x00);
		gr->inode_bitmap = le32_get(d + 0x04);
		gr->inode_table = le32_get(d + 0x08);
		gr->free_inodes = le16_get(d + 0x0e);
		gr->flags = le16_get(d + 0x12);
		if (wide) {
			gr->block_bitmap |= (uint64_t)le32_get(d + 0x20) << 32;
			gr->inode_bitmap |= (uint64_t)le32_get(d + 0x24) << 32;
			gr->inode_table |= (uint64_t)le32_get(d + 0x28) << 32;
			gr->free_inodes |= (uint32_t)le16_get(d + 0x2e) << 16;
		}
		gr->data_hi = -1;
		if (gr->block_bitmap < t->first_data_block || gr->block_bitmap >= t->blocks ||
		    gr->inode_bitmap < t->first_data_block || gr->inode_bitmap >= t->blocks ||
		    gr->inode_table < t->first_data_block ||
		    gr->inode_table + t->inode_table_blocks > t->blocks ||
		    gr->free_inodes > t->inodes_per_group) {
			free(t->groups);
			t->groups = NULL;
			return -EINVAL;
		}
	}
	return 0;
}

void ext4tail_free(struct ext4tail *t)
{
	free(t->groups);
	t->groups = NULL;
}

/* Every group's metadata as sorted, merged extents [s, e). */
struct extent {
	uint64_t s, e;
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

static struct extent *meta_extents(const struct ext4tail *t, size_t *ret_n)
{
	struct extent *x = malloc((size_t)t->ngroups * 4 * sizeof(*x));
	size_t n = 0, m = 0;

	if (!x)
		return NULL;
	for (uint32_t g = 0; g < t->ngroups; g++) {
		const struct ext4tail_group *gr = &t->groups[g];

		if (has_super(t, g))
			x[n++] = (struct extent){ gr->start,
						  gr->start + 1 + t->desc_blocks + t->reserved_gdt };
		x[n++] = (struct extent){ gr->block_bitmap, gr->block_bitmap + 1 };
		x[n++] = (struct extent){ gr->inode_bitmap, gr->inode_bitmap + 1 };
		x[n++] = (struct extent){ gr->inode_table, gr->inode_table + t->inode_table_blocks };
	}
	qsort(x, n, sizeof(*x), cmp_extent);
	for (size_t i = 0; i < n; i++) {
		if (m && x[i].s <= x[m - 1].e) {
			if (x[i].e > x[m - 1].e)
				x[m - 1].e = x[i].e;
		} else {
			x[m++] = x[i];
		}
	}
	*ret_n = m;
	return x;
}

static bool is_meta(const struct extent *x, size_t n, uint64_t blk)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x[mid].e <= blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && x[lo].s <= blk;
}

static bool bit(const uint8_t *map, uint64_t i)
{
	return map[i / 8] >> (i % 8) & 1;
}

static int scan_group(struct blkdev *d, struct ext4tail *t, uint32_t g, const struct extent *x,
		      size_t nx, uint8_t *buf)
{
	struct ext4tail_group *gr = &t->groups[g];
	uint64_t len = t->blocks - gr->start, bs = t->block_size;
	int r;

	if (len > t->blocks_per_group)
		len = t->blocks_per_group;
	if (t->uninit_flags && (gr->flags & BG_INODE_UNINIT)) {
		gr->inodes_used = false;
	} else if (gr->free_inodes != t->inodes_per_group) {
		gr->inodes_used = true;
	} else {
		r = blkdev_read(d, buf, bs, gr->inode_bitmap * bs);
		if (r < 0)
			return r;
		for (uint32_t i = 0; i < t->inodes_per_group && !gr->inodes_used; i++)
			gr->inodes_used = bit(buf, i);
	}
	gr->data_hi = -1;
	if (t->uninit_flags && (gr->flags & BG_BLOCK_UNINIT))
		return 0; /* only its own metadata is in use */
	r = blkdev_read(d, buf, bs, gr->block_bitmap * bs);
	if (r < 0)
		return r;
	for (uint64_t i = len; i-- > 0;) {
		if (i % 8 == 7 && buf[i / 8] == 0) {
			i -= 7; /* a whole free byte */
			continue;
		}
		if (bit(buf, i) && !is_meta(x, nx, gr->start + i)) {
			gr->data_hi = (int64_t)(gr->start + i);
			break;
		}
	}
	return 0;
}

static int read_tail(struct blkdev *d, struct ext4tail *t, bool mounted)
{
	uint8_t *buf = blkdev_alloc(1024), *gdt = NULL;
	struct extent *x = NULL;
	const char *why;
	uint64_t gdt_off;
	size_t nx = 0, gdt_len;
	int r;

	if (!buf)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(d, buf, 1024, 1024);
	if (r < 0)
		goto out;
	/* A mounted ext4 says "needs recovery" until it is unmounted: its
	 * journal is in use, not waiting to be replayed. */
	if (mounted)
		buf[0x60] &= (uint8_t)~INCOMPAT_RECOVER;
	r = ext4tail_parse_super(buf, t, &why);
	if (r == -EOPNOTSUPP) {
		log_error(EOPNOTSUPP, "'%s': cannot tell whether a shrink moves data: the ext4 "
			  "file system uses %s", d->name, why);
		goto out;
	}
	if (r < 0) {
		log_error(EINVAL, "'%s' has no valid ext4 superblock", d->name);
		goto out;
	}
	if (t->blocks > d->size / t->block_size) {
		r = log_error(EINVAL, "'%s': the ext4 file system is larger than the device",
			      d->name);
		goto out;
	}
	gdt_len = (size_t)t->desc_blocks * t->block_size;
	gdt_off = (uint64_t)(t->first_data_block + 1) * t->block_size;
	free(buf);
	buf = blkdev_alloc(t->block_size);
	gdt = blkdev_alloc(gdt_len);
	if (!buf || !gdt) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	r = blkdev_read(d, gdt, gdt_len, gdt_off);
	if (r < 0)
		goto out;
	r = ext4tail_parse_groups(gdt, gdt_len, t);
	if (r < 0) {
		log_error(-r, "'%s': the ext4 group descriptors are %s", d->name,
			  r == -ENOMEM ? "too many for memory" : "inconsistent");
		goto out;
	}
	x = meta_extents(t, &nx);
	if (!x) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	/* Down from the last group until one must stay (inodes or data):
	 * no F at or below what it holds can work, so lower groups are not
	 * read. */
	t->floor = t->first_data_block + 1;
	t->floor_why = "the first group";
	t->floor_at = t->first_data_block;
	for (uint32_t g = t->ngroups; g-- > 0;) {
		struct ext4tail_group *gr = &t->groups[g];

		r = scan_group(d, t, g, x, nx, buf);
		if (r < 0)
			goto out;
		t->scanned_from = g;
		if (gr->data_hi >= 0) {
			t->floor = (uint64_t)gr->data_hi + 1;
			t->floor_why = "a block of data (a file, a directory or the journal)";
			t->floor_at = (uint64_t)gr->data_hi;
			break;
		}
		if (gr->inodes_used) {
			t->floor = gr->start + 1;
			t->floor_why = "a group with inodes in use";
			t->floor_at = gr->start;
			break;
		}
	}
	log_debug("'%s': ext4 %llu blocks of %u, %u groups; scanned from group %u: %s at "
		  "block %llu", d->name, (unsigned long long)t->blocks, t->block_size, t->ngroups,
		  t->scanned_from, t->floor_why, (unsigned long long)t->floor_at);
out:
	free(x);
	free(gdt);
	free(buf);
	if (r < 0)
		ext4tail_free(t);
	return r;
}

int ext4tail_read(struct blkdev *d, struct ext4tail *t)
{
	return read_tail(d, t, false);
}

int ext4tail_read_mounted(struct blkdev *d, struct ext4tail *t)
{
	return read_tail(d, t, true);
}

/* What resize2fs keeps when asked for fb blocks (adjust_fs_info): a last
 * group shorter than its metadata + 50 is dropped. Its overhead counts the
 * new descriptor blocks plus reserved ones that resize2fs may raise by the
 * difference: the old count bounds both, so the estimate only ever drops a
 * group resize2fs keeps (a larger range checked), never the reverse. 0 when
 * it would refuse (one group, too small). */
static uint64_t resize2fs_end(const struct ext4tail *t, uint64_t fb)
{
	uint64_t span = fb - t->first_data_block, rem = span % t->blocks_per_group;
	uint64_t ng = (span + t->blocks_per_group - 1) / t->blocks_per_group;
	uint32_t over;

	if (ng == 0)
		return 0;
	over = ext4tail_group_meta(t, (uint32_t)(ng - 1), t->desc_blocks);
	if (rem && rem < over && ng == 1)
		return 0;
	if (rem && rem < over + RESIZE2FS_LAST_GROUP_SLACK)
		return fb - rem;
	return fb;
}

static void fail(struct ext4tail_verdict *v, const char *why, uint64_t at)
{
	v->pass = false;
	v->why = why;
	v->at = at;
}

void ext4tail_check(const struct ext4tail *t, uint64_t f, struct ext4tail_verdict *v)
{
	uint64_t fb = f / t->block_size, end;
	uint32_t first;

	memset(v, 0, sizeof(*v));
	v->pass = true;
	v->end = t->blocks;
	if (fb >= t->blocks)
		return; /* nothing to shrink */
	end = fb > t->first_data_block ? resize2fs_end(t, fb) : 0;
	v->end = end;
	if (end <= t->first_data_block)
		return fail(v, "the file system cannot be that small", fb);
	if (end < t->floor)
		return fail(v, t->floor_why, t->floor_at);
	first = (uint32_t)((end - t->first_data_block) / t->blocks_per_group);
	for (uint32_t g = first; g < t->ngroups; g++) {
		const struct ext4tail_group *gr = &t->groups[g];

		if (g < t->scanned_from)
			return fail(v, "a group that was not scanned", gr->start);
		if (gr->data_hi >= 0 && (uint64_t)gr->data_hi >= end)
			return fail(v, "a block of data (a file, a directory or the journal)",
				    (uint64_t)gr->data_hi);
		if (gr->start >= end && gr->inodes_used)
			return fail(v, "a group with inodes in use", gr->start);
	}
	for (uint32_t g = 0; g < t->ngroups && t->groups[g].start < end; g++) {
		const struct ext4tail_group *gr = &t->groups[g];

		if (gr->block_bitmap >= end)
			return fail(v, "the block bitmap of a group that stays", gr->block_bitmap);
		if (gr->inode_bitmap >= end)
			return fail(v, "the inode bitmap of a group that stays", gr->inode_bitmap);
		if (gr->inode_table + t->inode_table_blocks > end)
			return fail(v, "the inode table of a group that stays", gr->inode_table);
	}
}

/* Raises fb until every group it keeps has its bitmaps and inode table
 * below it and its last group keeps its metadata + margin. */
static uint64_t settle(const struct ext4tail *t, uint64_t fb, uint32_t margin)
{
	for (;;) {
		uint64_t before = fb, rem, g;

		for (uint32_t h = 0; h < t->ngroups && t->groups[h].start < fb; h++) {
			const struct ext4tail_group *gr = &t->groups[h];
			uint64_t e = gr->inode_table + t->inode_table_blocks;

			if (gr->block_bitmap + 1 > e)
				e = gr->block_bitmap + 1;
			if (gr->inode_bitmap + 1 > e)
				e = gr->inode_bitmap + 1;
			if (e > fb)
				fb = e;
		}
		rem = (fb - t->first_data_block) % t->blocks_per_group;
		g = (fb - t->first_data_block) / t->blocks_per_group;
		if (rem && rem < (uint64_t)ext4tail_group_meta(t, (uint32_t)g, t->desc_blocks) + margin)
			fb += ext4tail_group_meta(t, (uint32_t)g, t->desc_blocks) + margin - rem;
		if (fb == before || fb >= t->blocks)
			return fb;
	}
}

uint64_t ext4tail_min_end(const struct ext4tail *t, uint32_t margin)
{
	uint64_t fb = settle(t, t->floor, margin);

	while (fb < t->blocks) {
		struct ext4tail_verdict v;
		uint64_t next;

		ext4tail_check(t, fb * t->block_size, &v);
		if (v.pass)
			return fb * t->block_size;
		/* not monotonic in general: try the next group's start */
		next = t->first_data_block +
		       ((fb - t->first_data_block) / t->blocks_per_group + 1) * t->blocks_per_group;
		fb = settle(t, next, margin);
	}
	return t->blocks * t->block_size;
}

int ext4tail_block_in_use(struct blkdev *d, const struct ext4tail *t, uint64_t blk,
			  bool *ret_used)
{
	struct extent *x;
	uint8_t *buf;
	size_t nx = 0;
	uint32_t g;
	int r = 0;

	if (blk < t->first_data_block || blk >= t->blocks || !t->groups)
		return log_error(EINVAL, "'%s': block %llu is outside the ext4 file system",
				 d->name, (unsigned long long)blk);
	g = (uint32_t)((blk - t->first_data_block) / t->blocks_per_group);
	x = meta_extents(t, &nx);
	buf = blkdev_alloc(t->block_size);
	if (!x || !buf) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	if (is_meta(x, nx, blk)) {
		*ret_used = true;
	} else if (t->uninit_flags && (t->groups[g].flags & BG_BLOCK_UNINIT)) {
		*ret_used = false; /* only the group's own metadata is in use */
	} else {
		r = blkdev_read(d, buf, t->block_size, t->groups[g].block_bitmap * t->block_size);
		if (r == 0)
			*ret_used = bit(buf, blk - t->groups[g].start);
	}
out:
	free(buf);
	free(x);
	return r;
}

/* Partition tables. GPT layout (UEFI spec 5.3): header at LBA 1 ("EFI
 * PART"), CRC32 of the header with its CRC field zeroed, entries array with
 * its own CRC32, a backup header at the last LBA pointing at a backup entries
 * array. MBR: four 16-byte entries at 446, signature 55 AA at 510. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parttable.h"

uint32_t parttable_crc32(const void *buf, size_t len)
{
	static uint32_t table[256];
	static bool init;
	const uint8_t *p = buf;
	uint32_t c = 0xffffffffu;

	if (!init) { /* benign race: every thread computes the same table */
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
		init = true;
	}
	for (size_t i = 0; i < len; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

struct gpt {
	uint32_t ss;
	uint8_t *hdr;		/* one LBA */
	uint8_t *ents;		/* entries array */
	size_t ents_len;
	uint64_t my_lba, alt_lba, ents_lba, last_usable;
	uint32_t nents, entsz;
};

static void gpt_free(struct gpt *g)
{
	free(g->hdr);
	free(g->ents);
	memset(g, 0, sizeof(*g));
}

/* Reads and validates the GPT header at lba (CRCs of header and entries). */
static int gpt_load(struct blkdev *d, uint32_t ss, uint64_t lba, struct gpt *g)
{
	uint32_t hsz, crc;
	int r;

	memset(g, 0, sizeof(*g));
	g->ss = ss;
	if ((lba + 1) * ss > d->size)
		return -EINVAL;
	g->hdr = blkdev_alloc(ss);
	if (!g->hdr)
		return -ENOMEM;
	r = d->ops->pread(d, g->hdr, ss, lba * ss);
	if (r < 0)
		goto fail;
	r = -EINVAL;
	if (memcmp(g->hdr, "EFI PART", 8) != 0)
		goto fail;
	hsz = get32(g->hdr + 12);
	if (hsz < 92 || hsz > ss)
		goto fail;
	crc = get32(g->hdr + 16);
	put32(g->hdr + 16, 0);
	if (parttable_crc32(g->hdr, hsz) != crc)
		goto fail;
	put32(g->hdr + 16, crc);
	g->my_lba = get64(g->hdr + 24);
	g->alt_lba = get64(g->hdr + 32);
	g->last_usable = get64(g->hdr + 48);
	g->ents_lba = get64(g->hdr + 72);
	g->nents = get32(g->hdr + 80);
	g->entsz = get32(g->hdr + 84);
	if (g->my_lba != lba || g->entsz < 128 || g->entsz > 4096 || g->nents > 65536)
		goto fail;
	g->ents_len = ((size_t)g->nents * g->entsz + ss - 1) / ss * ss;
	if ((g->ents_lba * ss) > d->size || g->ents_len > d->size - g->ents_lba * ss)
		goto fail;
	g->ents = blkdev_alloc(g->ents_len);
	if (!g->ents) {
		r = -ENOMEM;
		goto fail;
	}
	r = d->ops->pread(d, g->ents, g->ents_len, g->ents_lba * ss);
	if (r < 0)
		goto fail;
	if (parttable_crc32(g->ents, (size_t)g->nents * g->entsz) != get32(g->hdr + 88)) {
		r = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	gpt_free(g);
	return r;
}

static bool guid_zero(const uint8_t *p)
{
	for (int i = 0; i < 16; i++)
		if (p[i])
			return false;
	return true;
}

static int gpt_part(const struct gpt *g, unsigned number, struct parttable_part *ret)
{
	const uint8_t *e;
	uint64_t first, last, limit;

	if (number < 1 || number > g->nents)
		return -ENOENT;
	e = g->ents + (size_t)(number - 1) * g->entsz;
	if (guid_zero(e))
		return -ENOENT;
	first = get64(e + 32);
	last = get64(e + 40);
	if (last < first)
		return -EINVAL;
	limit = g->last_usable;
	for (uint32_t i = 0; i < g->nents; i++) {
		const uint8_t *o = g->ents + (size_t)i * g->entsz;
		uint64_t ofirst = get64(o + 32);

		if (i == number - 1 || guid_zero(o))
			continue;
		if (ofirst > last && ofirst - 1 < limit)
			limit = ofirst - 1;
		if (ofirst <= last && get64(o + 40) >= first)
			return -EINVAL; /* overlapping table */
	}
	ret->kind = PARTTABLE_GPT;
	ret->sector_size = g->ss;
	ret->number = number;
	ret->start = first * g->ss;
	ret->size = (last - first + 1) * g->ss;
	ret->max_size = (limit - first + 1) * g->ss;
	return 0;
}

static int mbr_part(const uint8_t *mbr, uint64_t disk_size, unsigned number,
		    struct parttable_part *ret)
{
	const uint8_t *e;
	uint64_t start, len, limit = disk_size / 512;

	if (number < 1 || number > 4)
		return -ENOENT; /* logical partitions are not supported */
	e = mbr + 446 + (number - 1) * 16;
	if (e[4] == 0 || get32(e + 12) == 0)
		return -ENOENT;
	if (e[4] == 0x05 || e[4] == 0x0f || e[4] == 0x85)
		return -EINVAL; /* extended container */
	start = get32(e + 8);
	len = get32(e + 12);
	if (limit > 0xffffffffull)
		limit = 0xffffffffull; /* MBR cannot describe more */
	for (int i = 0; i < 4; i++) {
		const uint8_t *o = mbr + 446 + i * 16;
		uint64_t ostart = get32(o + 8), olen = get32(o + 12);

		if (i == (int)number - 1 || o[4] == 0 || olen == 0)
			continue;
		if (ostart >= start + len && ostart < limit)
			limit = ostart;
		if (ostart < start + len && ostart + olen > start)
			return -EINVAL;
	}
	ret->kind = PARTTABLE_MBR;
	ret->sector_size = 512;
	ret->number = number;
	ret->start = start * 512;
	ret->size = len * 512;
	ret->max_size = (limit - start) * 512;
	return 0;
}

int parttable_find(struct blkdev *d, unsigned number, struct parttable_part *ret)
{
	uint8_t *mbr = blkdev_alloc(512);
	bool protective = false;
	int r;

	if (!mbr)
		return log_error(ENOMEM, "out of memory");
	r = d->size >= 512 ? d->ops->pread(d, mbr, 512, 0) : -EINVAL;
	if (r < 0 || mbr[510] != 0x55 || mbr[511] != 0xaa) {
		free(mbr);
		return log_error(EINVAL, "'%s' has no partition table (MBR signature missing)",
				 d->name);
	}
	for (int i = 0; i < 4; i++)
		if (mbr[446 + i * 16 + 4] == 0xee)
			protective = true;
	if (protective) {
		static const uint32_t sizes[] = { 512, 4096 };

		for (int i = 0; i < 2; i++) {
			struct gpt g;

			if (gpt_load(d, sizes[i], 1, &g) < 0) {
				/* primary torn: the backup must be good */
				uint64_t last = d->size / sizes[i] - 1;

				if (gpt_load(d, sizes[i], last, &g) < 0)
					continue;
				/* Only read here: this serves status, open and boot too,
				 * and a disk rootcrypt was only asked to read is never
				 * written. The primary is rebuilt by parttable_grow,
				 * when the table is written anyway. */
				log_warn("'%s': primary GPT invalid, using the backup", d->name);
			}
			r = gpt_part(&g, number, ret);
			gpt_free(&g);
			free(mbr);
			if (r == -ENOENT)
				return log_error(ENOENT, "'%s' has no partition %u", d->name, number);
			if (r < 0)
				return log_error(EINVAL, "'%s': GPT partition table is inconsistent",
						 d->name);
			return 0;
		}
		free(mbr);
		return log_error(EINVAL, "'%s': both GPT copies are invalid", d->name);
	}
	r = mbr_part(mbr, d->size, number, ret);
	free(mbr);
	if (r == -ENOENT)
		return log_error(ENOENT, "'%s' has no primary partition %u", d->name, number);
	if (r < 0)
		return log_error(EINVAL, "'%s': MBR partition %u cannot be used", d->name, number);
	return 0;
}

/* Rewrites one GPT copy with the new last LBA of the partition: entries
 * first, then the header whose CRC covers them. */
static int gpt_write_copy(struct blkdev *d, struct gpt *g, unsigned number, uint64_t new_last)
{
	uint8_t *e = g->ents + (size_t)(number - 1) * g->entsz;
	int r;

	put64(e + 40, new_last);
	put32(g->hdr + 88, parttable_crc32(g->ents, (size_t)g->nents * g->entsz));
	put32(g->hdr + 16, 0);
	put32(g->hdr + 16, parttable_crc32(g->hdr, get32(g->hdr + 12)));
	r = blkdev_write(d, g->ents, g->ents_len, g->ents_lba * g->ss);
	if (r < 0)
		return r;
	return blkdev_write(d, g->hdr, g->ss, g->my_lba * g->ss);
}

/* Makes g a copy of the valid table src placed at my_lba (entries at
 * ents_lba, the other copy at alt_lba); CRCs are set by gpt_write_copy. */
static int gpt_rebuild(const struct gpt *src, uint64_t my_lba, uint64_t alt_lba,
		       uint64_t ents_lba, struct gpt *g)
{
	*g = *src;
	g->hdr = blkdev_alloc(src->ss);
	g->ents = blkdev_alloc(src->ents_len);
	if (!g->hdr || !g->ents) {
		gpt_free(g);
		return -ENOMEM;
	}
	memcpy(g->hdr, src->hdr, src->ss);
	memcpy(g->ents, src->ents, src->ents_len);
	g->my_lba = my_lba;
	g->alt_lba = alt_lba;
	g->ents_lba = ents_lba;
	put64(g->hdr + 24, my_lba);
	put64(g->hdr + 32, alt_lba);
	put64(g->hdr + 72, ents_lba);
	return 0;
}

/* Loads both GPT copies; when one is invalid it is rebuilt from the other
 * where the spec puts it (primary: header at LBA 1, entries at LBA 2 as
 * sfdisk and gdisk write them; backup: header at the primary's alternate
 * LBA, entries just before it), so that writing both leaves two valid
 * copies. *ret_primary_trusted: the primary was valid (readers use it). */
static int gpt_load_pair(struct blkdev *d, uint32_t ss, struct gpt *prim, struct gpt *back,
			 bool *ret_primary_trusted)
{
	uint64_t nlba = d->size / ss;
	int rp, rb, r;

	/* -EINVAL: not a valid copy (rebuilt below); anything else is an I/O
	 * or memory failure, never a reason to overwrite a copy. */
	rp = gpt_load(d, ss, 1, prim);
	if (rp < 0 && rp != -EINVAL)
		return log_error_errno(rp, "cannot read the primary GPT of '%s'", d->name);
	rb = gpt_load(d, ss, rp == 0 ? prim->alt_lba : nlba - 1, back);
	if (rb < 0 && rb != -EINVAL) {
		gpt_free(prim);
		return log_error_errno(rb, "cannot read the backup GPT of '%s'", d->name);
	}
	if (rp < 0 && rb < 0)
		return log_error(EINVAL, "'%s': both GPT copies are invalid, not growing", d->name);
	*ret_primary_trusted = rp == 0;
	if (rp < 0) {
		uint64_t ents_end = 2 + back->ents_len / ss;

		if (ents_end > get64(back->hdr + 40) || back->alt_lba != 1) {
			gpt_free(back);
			return log_error(EINVAL, "'%s': primary GPT invalid and the backup leaves "
					 "no room to rebuild it, not growing", d->name);
		}
		log_info("'%s': rebuilding the invalid primary GPT from the backup", d->name);
		r = gpt_rebuild(back, 1, back->my_lba, 2, prim);
	} else if (rb < 0) {
		uint64_t ents = prim->ents_len / ss;

		if (prim->alt_lba >= nlba || prim->alt_lba < ents + 1 ||
		    prim->alt_lba - ents <= prim->last_usable) {
			gpt_free(prim);
			return log_error(EINVAL, "'%s': backup GPT invalid and the primary leaves "
					 "no room to rebuild it, not growing", d->name);
		}
		log_info("'%s': rebuilding the invalid backup GPT from the primary", d->name);
		r = gpt_rebuild(prim, prim->alt_lba, 1, prim->alt_lba - ents, back);
	} else {
		return 0;
	}
	if (r < 0) {
		gpt_free(prim);
		gpt_free(back);
		return log_error(ENOMEM, "out of memory");
	}
	return 0;
}

int parttable_grow(struct blkdev *d, const struct parttable_part *p, uint64_t new_size)
{
	int r;

	if (new_size <= p->size)
		return 0;
	if (new_size > p->max_size || new_size % p->sector_size)
		return log_error(ENOSPC, "partition %u of '%s' cannot grow to %llu bytes", p->number,
				 d->name, (unsigned long long)new_size);
	if (p->kind == PARTTABLE_GPT) {
		struct gpt prim = { 0 }, back = { 0 }, *first, *last;
		uint64_t new_last = (p->start + new_size) / p->sector_size - 1;
		bool primary_trusted = true;

		r = gpt_load_pair(d, p->sector_size, &prim, &back, &primary_trusted);
		if (r < 0)
			return r;
		/* The copy readers use now (the primary when valid, as every
		 * reader prefers it) is written last. A cut before it lands
		 * leaves it old and valid; a cut inside it leaves it CRC-invalid
		 * and the other copy new and valid (flushed). Either way one
		 * copy is valid, with the old or the new size. Writing the
		 * backup first when the primary was invalid could tear the
		 * only valid copy. */
		first = primary_trusted ? &back : &prim;
		last = primary_trusted ? &prim : &back;
		r = gpt_write_copy(d, first, p->number, new_last);
		if (r == 0)
			r = blkdev_flush(d);
		if (r == 0)
			r = gpt_write_copy(d, last, p->number, new_last);
		if (r == 0)
			r = blkdev_flush(d);
		gpt_free(&prim);
		gpt_free(&back);
		return r;
	}
	/* MBR: one 512-byte sector, written atomically by any disk. */
	uint8_t *mbr = blkdev_alloc(512);

	if (!mbr)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(d, mbr, 512, 0);
	if (r == 0) {
		put32(mbr + 446 + (p->number - 1) * 16 + 12, (uint32_t)(new_size / 512));
		r = blkdev_write(d, mbr, 512, 0);
	}
	if (r == 0)
		r = blkdev_flush(d);
	free(mbr);
	return r;
}

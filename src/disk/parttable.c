/* Partition tables. GPT layout (UEFI spec 5.3): header at LBA 1 ("EFI
 * PART"), CRC32 of the header with its CRC field zeroed, entries array with
 * its own CRC32, a backup header at the last LBA pointing at a backup entries
 * array. MBR: four 16-byte entries at 446, signature 55 AA at 510. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
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
	hsz = le32_get(g->hdr + 12);
	if (hsz < 92 || hsz > ss)
		goto fail;
	crc = le32_get(g->hdr + 16);
	le32_put(g->hdr + 16, 0);
	if (parttable_crc32(g->hdr, hsz) != crc)
		goto fail;
	le32_put(g->hdr + 16, crc);
	g->my_lba = le64_get(g->hdr + 24);
	g->alt_lba = le64_get(g->hdr + 32);
	g->last_usable = le64_get(g->hdr + 48);
	g->ents_lba = le64_get(g->hdr + 72);
	g->nents = le32_get(g->hdr + 80);
	g->entsz = le32_get(g->hdr + 84);
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
	if (parttable_crc32(g->ents, (size_t)g->nents * g->entsz) != le32_get(g->hdr + 88)) {
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
	first = le64_get(e + 32);
	last = le64_get(e + 40);
	if (last < first)
		return -EINVAL;
	limit = g->last_usable;
	for (uint32_t i = 0; i < g->nents; i++) {
		const uint8_t *o = g->ents + (size_t)i * g->entsz;
		uint64_t ofirst = le64_get(o + 32);

		if (i == number - 1 || guid_zero(o))
			continue;
		if (ofirst > last && ofirst - 1 < limit)
			limit = ofirst - 1;
		if (ofirst <= last && le64_get(o + 40) >= first)
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
	if (e[4] == 0 || le32_get(e + 12) == 0)
		return -ENOENT;
	if (e[4] == 0x05 || e[4] == 0x0f || e[4] == 0x85)
		return -EINVAL; /* extended container */
	start = le32_get(e + 8);
	len = le32_get(e + 12);
	if (limit > 0xffffffffull)
		limit = 0xffffffffull; /* MBR cannot describe more */
	for (int i = 0; i < 4; i++) {
		const uint8_t *o = mbr + 446 + i * 16;
		uint64_t ostart = le32_get(o + 8), olen = le32_get(o + 12);

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

/* Writes one GPT copy as it is in memory: entries first, then the header
 * whose CRCs cover them. */
static int gpt_commit_copy(struct blkdev *d, struct gpt *g)
{
	int r;

	le32_put(g->hdr + 88, parttable_crc32(g->ents, (size_t)g->nents * g->entsz));
	le32_put(g->hdr + 16, 0);
	le32_put(g->hdr + 16, parttable_crc32(g->hdr, le32_get(g->hdr + 12)));
	r = blkdev_write(d, g->ents, g->ents_len, g->ents_lba * g->ss);
	if (r < 0)
		return r;
	return blkdev_write(d, g->hdr, g->ss, g->my_lba * g->ss);
}

/* Makes g a copy of the valid table src placed at my_lba (entries at
 * ents_lba, the other copy at alt_lba); CRCs are set by gpt_commit_copy. */
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
	le64_put(g->hdr + 24, my_lba);
	le64_put(g->hdr + 32, alt_lba);
	le64_put(g->hdr + 72, ents_lba);
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

		if (ents_end > le64_get(back->hdr + 40) || back->alt_lba != 1) {
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

/* Writes both copies as they are in memory. The copy readers use now (the
 * primary when valid, as every reader prefers it) is written last. A cut
 * before it lands leaves it old and valid; a cut inside it leaves it
 * CRC-invalid and the other copy new and valid (flushed). Either way one
 * copy is valid, old or new. Writing the backup first when the primary was
 * invalid could tear the only valid copy. */
static int gpt_write_pair(struct blkdev *d, struct gpt *prim, struct gpt *back,
			  bool primary_trusted)
{
	struct gpt *first = primary_trusted ? back : prim, *last = primary_trusted ? prim : back;
	int r = gpt_commit_copy(d, first);

	if (r == 0)
		r = blkdev_flush(d);
	if (r == 0)
		r = gpt_commit_copy(d, last);
	if (r == 0)
		r = blkdev_flush(d);
	return r;
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
		uint64_t new_last = (p->start + new_size) / p->sector_size - 1;
		struct gpt prim = { 0 }, back = { 0 };
		bool primary_trusted = true;

		r = gpt_load_pair(d, p->sector_size, &prim, &back, &primary_trusted);
		if (r < 0)
			return r;
		le64_put(prim.ents + (size_t)(p->number - 1) * prim.entsz + 40, new_last);
		le64_put(back.ents + (size_t)(p->number - 1) * back.entsz + 40, new_last);
		r = gpt_write_pair(d, &prim, &back, primary_trusted);
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
		le32_put(mbr + 446 + (p->number - 1) * 16 + 12, (uint32_t)(new_size / 512));
		r = blkdev_write(d, mbr, 512, 0);
	}
	if (r == 0)
		r = blkdev_flush(d);
	free(mbr);
	return r;
}

static bool gpt_overlap(uint64_t a1, uint64_t a2, uint64_t b1, uint64_t b2)
{
	return a1 <= b2 && b1 <= a2;
}

/* The 128-byte entry e describes: type, unique GUID, LBAs, no attributes,
 * the name in UTF-16LE (ASCII only). */
static void gpt_fill_entry(uint8_t *out, size_t entsz, const struct parttable_new_entry *e)
{
	memset(out, 0, entsz);
	memcpy(out, e->type_guid, 16);
	memcpy(out + 16, e->part_guid, 16);
	le64_put(out + 32, e->first_lba);
	le64_put(out + 40, e->last_lba);
	for (size_t i = 0; e->name[i] && i < 36; i++)
		out[56 + 2 * i] = (uint8_t)e->name[i];
}

int parttable_gpt_split_entries(uint8_t *ents, uint32_t nents, uint32_t entsz,
				uint64_t first_usable, uint64_t last_usable, unsigned p1,
				uint64_t p1_last, const struct parttable_new_entry *e)
{
	uint8_t want[4096];
	uint8_t *e1, *slot;

	if (entsz < 128 || entsz > sizeof(want) || p1 < 1 || p1 > nents || e->number < 1 ||
	    e->number > nents || e->number == p1 || strlen(e->name) > 36 ||
	    guid_zero(e->type_guid) || guid_zero(e->part_guid))
		return -EINVAL;
	for (size_t i = 0; e->name[i]; i++)
		if ((unsigned char)e->name[i] < 0x20 || (unsigned char)e->name[i] > 0x7e)
			return -EINVAL;
	e1 = ents + (size_t)(p1 - 1) * entsz;
	slot = ents + (size_t)(e->number - 1) * entsz;
	if (guid_zero(e1) || p1_last < le64_get(e1 + 32) || p1_last > le64_get(e1 + 40))
		return -EINVAL;
	if (e->first_lba > e->last_lba || e->first_lba < first_usable || e->last_lba > last_usable ||
	    e->first_lba <= p1_last)
		return -EINVAL;
	gpt_fill_entry(want, entsz, e);
	/* a repeated run finds its own entry already there */
	if (!guid_zero(slot) && memcmp(slot, want, entsz) != 0)
		return -EEXIST;
	for (uint32_t i = 0; i < nents; i++) {
		const uint8_t *o = ents + (size_t)i * entsz;

		if (i == p1 - 1 || i == e->number - 1 || guid_zero(o))
			continue;
		if (gpt_overlap(le64_get(o + 32), le64_get(o + 40), e->first_lba, e->last_lba))
			return -EINVAL;
	}
	le64_put(e1 + 40, p1_last);
	memcpy(slot, want, entsz);
	return 0;
}

int parttable_split(struct blkdev *d, unsigned p1, uint64_t p1_last,
		    const struct parttable_new_entry *e)
{
	struct gpt prim = { 0 }, back = { 0 };
	struct parttable_part p;
	bool primary_trusted = true;
	int r;

	r = parttable_find(d, p1, &p);
	if (r < 0)
		return r;
	if (p.kind != PARTTABLE_GPT)
		return log_error(EOPNOTSUPP, "'%s' has an MBR partition table: no boot partition "
				 "can be added", d->name);
	r = gpt_load_pair(d, p.sector_size, &prim, &back, &primary_trusted);
	if (r < 0)
		return r;
	if (prim.nents != back.nents || prim.entsz != back.entsz ||
	    memcmp(prim.ents, back.ents, (size_t)prim.nents * prim.entsz) != 0)
		log_info("'%s': the two GPT copies list different partitions; the one in use "
			 "is written to both", d->name);
	r = parttable_gpt_split_entries(primary_trusted ? prim.ents : back.ents, prim.nents,
					prim.entsz, le64_get(prim.hdr + 40), prim.last_usable, p1,
					p1_last, e);
	if (r < 0) {
		log_error(-r, "'%s': cannot lower partition %u to LBA %llu and add partition %u at "
			  "LBA %llu-%llu%s", d->name, p1, (unsigned long long)p1_last, e->number,
			  (unsigned long long)e->first_lba, (unsigned long long)e->last_lba,
			  r == -EEXIST ? " (that entry is in use)" : "");
		goto out;
	}
	if (primary_trusted)
		memcpy(back.ents, prim.ents, (size_t)prim.nents * prim.entsz);
	else
		memcpy(prim.ents, back.ents, (size_t)prim.nents * prim.entsz);
	r = gpt_write_pair(d, &prim, &back, primary_trusted);
out:
	gpt_free(&prim);
	gpt_free(&back);
	return r;
}

const uint8_t PARTTABLE_TYPE_ESP[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
					 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
const uint8_t PARTTABLE_TYPE_BIOS_BOOT[16] = { 0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e,
					       0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49 };
const uint8_t PARTTABLE_TYPE_LINUX_FS[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
					      0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };

void parttable_guid_swap(const uint8_t in[16], uint8_t out[16])
{
	uint8_t t[16];

	memcpy(t, in, 16);
	out[0] = t[3], out[1] = t[2], out[2] = t[1], out[3] = t[0];
	out[4] = t[5], out[5] = t[4];
	out[6] = t[7], out[7] = t[6];
	memcpy(out + 8, t + 8, 8);
}

/* 1 with *ret loaded (primary when valid, else backup, and *other the
 * other copy when it is valid), 0 when the disk has no protective MBR. */
static int gpt_read_both(struct blkdev *d, uint32_t ss, struct gpt *prim, struct gpt *back)
{
	int rp, rb;

	rp = gpt_load(d, ss, 1, prim);
	if (rp < 0 && rp != -EINVAL)
		return rp;
	rb = gpt_load(d, ss, rp == 0 ? prim->alt_lba : d->size / ss - 1, back);
	if (rb < 0 && rb != -EINVAL) {
		gpt_free(prim);
		return rb;
	}
	return rp == 0 || rb == 0 ? 1 : 0;
}

int parttable_gpt_read(struct blkdev *d, struct parttable_gpt_info *ret)
{
	static const uint32_t sizes[] = { 512, 4096 };
	uint8_t mbr[512];
	bool protective = false;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (d->size < 512 * 3)
		return -EMEDIUMTYPE;
	r = d->ops->pread(d, mbr, 512, 0);
	if (r < 0)
		return log_error_errno(r, "cannot read sector 0 of '%s'", d->name);
	for (int i = 0; i < 4; i++)
		if (mbr[446 + i * 16 + 4] == 0xee)
			protective = true;
	if (mbr[510] != 0x55 || mbr[511] != 0xaa || !protective)
		return -EMEDIUMTYPE;
	for (int i = 0; i < 2; i++) {
		struct gpt prim, back;
		const struct gpt *use;

		r = gpt_read_both(d, sizes[i], &prim, &back);
		if (r < 0)
			return log_error_errno(r, "cannot read the GPT of '%s'", d->name);
		if (r == 0)
			continue;
		ret->sector_size = sizes[i];
		ret->primary_valid = prim.hdr != NULL;
		ret->backup_valid = back.hdr != NULL;
		use = ret->primary_valid ? &prim : &back;
		ret->first_usable = le64_get(use->hdr + 40);
		ret->last_usable = use->last_usable;
		ret->backup_equals_primary =
			ret->primary_valid && ret->backup_valid && prim.nents == back.nents &&
			prim.entsz == back.entsz &&
			memcmp(prim.ents, back.ents, (size_t)prim.nents * prim.entsz) == 0 &&
			le64_get(prim.hdr + 40) == le64_get(back.hdr + 40) &&
			prim.last_usable == back.last_usable;
		ret->ents = calloc(use->nents ? use->nents : 1, sizeof(*ret->ents));
		if (!ret->ents) {
			gpt_free(&prim);
			gpt_free(&back);
			return log_error(ENOMEM, "out of memory");
		}
		for (uint32_t n = 0; n < use->nents; n++) {
			const uint8_t *e = use->ents + (size_t)n * use->entsz;
			struct parttable_gpt_entry *o;

			if (guid_zero(e)) {
				if (!ret->free_number)
					ret->free_number = n + 1;
				continue;
			}
			o = &ret->ents[ret->count++];
			o->number = n + 1;
			memcpy(o->type_guid, e, 16);
			memcpy(o->part_guid, e + 16, 16);
			o->first_lba = le64_get(e + 32);
			o->last_lba = le64_get(e + 40);
		}
		gpt_free(&prim);
		gpt_free(&back);
		return 0;
	}
	return log_error(EINVAL, "'%s': both GPT copies are invalid", d->name);
}

void parttable_gpt_info_free(struct parttable_gpt_info *g)
{
	free(g->ents);
	memset(g, 0, sizeof(*g));
}

const struct parttable_gpt_entry *parttable_gpt_by_guid(const struct parttable_gpt_info *g,
							const uint8_t part_guid[16])
{
	for (unsigned i = 0; i < g->count; i++)
		if (memcmp(g->ents[i].part_guid, part_guid, 16) == 0)
			return &g->ents[i];
	return NULL;
}

const struct parttable_gpt_entry *parttable_gpt_by_type(const struct parttable_gpt_info *g,
							const uint8_t type_guid[16])
{
	for (unsigned i = 0; i < g->count; i++)
		if (memcmp(g->ents[i].type_guid, type_guid, 16) == 0)
			return &g->ents[i];
	return NULL;
}

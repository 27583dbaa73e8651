/* GPT/MBR: find and grow a partition on images made by sfdisk, checked
 * back with sfdisk (the oracle) and with CRCs of both GPT copies; a damaged
 * GPT copy is rebuilt by a grow (never by a read), and a grow cut at any
 * write/flush leaves a readable table. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "le.h"
#include "blkdev.h"
#include "parttable.h"
#include "test.h"
#include "test_engine_memdev.h"

static int make_image(char *path, const char *label, const char *script)
{
	char cmd[1024];
	int fd;

	strcpy(path, "/tmp/rootcrypt-pt-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, 64 << 20) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "printf 'label: %s\\n%s' | sfdisk -q '%s' >/dev/null 2>&1",
		 label, script, path);
	return system(cmd) == 0 ? 0 : -1;
}

static long long sfdisk_size(const char *path, int n)
{
	char cmd[512], line[256];
	long long size = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "sfdisk -d '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	for (int i = 0; fgets(line, sizeof(line), f);) {
		char *s = strstr(line, "size=");

		if (s && ++i == n)
			size = atoll(s + 5);
	}
	pclose(f);
	return size;
}

static int sfdisk_verify_ok(const char *path)
{
	char cmd[512];

	/* sfdisk --verify reports table problems on stdout; a CRC-invalid GPT
	 * copy only as a warning on stderr ("... is corrupt, but the backup
	 * appears OK"), still followed by "No errors detected". */
	snprintf(cmd, sizeof(cmd), "out=$(sfdisk --verify '%s' 2>&1) && "
		 "printf '%%s\\n' \"$out\" | grep -q '^No errors detected' && "
		 "! printf '%%s\\n' \"$out\" | grep -qi corrupt", path);
	return system(cmd) == 0;
}

static void grow_case(const char *label)
{
	char path[64];
	struct blkdev *d = NULL;
	struct parttable_part p;

	if (system("command -v sfdisk >/dev/null 2>&1") != 0)
		SKIP("no sfdisk");
	/* partition 1: 8 MiB at 1 MiB, 24 MiB free, partition 2 at 33 MiB */
	CHECK(make_image(path, label, "start=2048, size=16384\nstart=67584, size=8192\n") == 0);
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK(parttable_find(d, 1, &p) == 0);
	CHECK_EQ_INT(p.start, 1 << 20);
	CHECK_EQ_INT(p.size, 8 << 20);
	CHECK_EQ_INT(p.max_size, 32 << 20);
	CHECK(parttable_find(d, 3, &p) < 0);
	CHECK(parttable_find(d, 1, &p) == 0);
	CHECK(parttable_grow(d, &p, 33 << 20) < 0); /* would overlap partition 2 */
	CHECK(parttable_grow(d, &p, 20 << 20) == 0);
	blkdev_close(d);
	d = NULL;
	CHECK_EQ_INT(sfdisk_size(path, 1), (20 << 20) / 512);
	CHECK_EQ_INT(sfdisk_size(path, 2), 8192);
	CHECK(sfdisk_verify_ok(path));
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK(parttable_find(d, 2, &p) == 0);
	/* partition 2 runs into the end of the usable area */
	CHECK(p.max_size >= p.size);
	blkdev_close(d);
	unlink(path);
}

TEST(parttable_gpt_find_grow)
{
	grow_case("gpt");
}

TEST(parttable_mbr_find_grow)
{
	grow_case("dos");
}

TEST(parttable_crc32_known)
{
	CHECK_EQ_INT(parttable_crc32("123456789", 9), 0xcbf43926u);
}

/* ---- one GPT copy invalid ---- */

/* Our own oracle next to sfdisk: the copy at lba has a valid header CRC,
 * points at alt, and its entries match their CRC; *ret_ents is the array. */
static int gpt_copy_valid(const uint8_t *img, uint64_t size, uint64_t lba, uint64_t alt,
			  const uint8_t **ret_ents)
{
	uint8_t hdr[512];
	uint32_t hsz, crc, n, esz;
	uint64_t ents;

	if ((lba + 1) * 512 > size)
		return 0;
	memcpy(hdr, img + lba * 512, 512);
	hsz = le32_get(hdr + 12);
	if (memcmp(hdr, "EFI PART", 8) != 0 || hsz < 92 || hsz > 512)
		return 0;
	crc = le32_get(hdr + 16);
	memset(hdr + 16, 0, 4);
	if (parttable_crc32(hdr, hsz) != crc || le64_get(hdr + 24) != lba ||
	    le64_get(hdr + 32) != alt)
		return 0;
	ents = le64_get(hdr + 72);
	n = le32_get(hdr + 80);
	esz = le32_get(hdr + 84);
	if (ents * 512 + (uint64_t)n * esz > size)
		return 0;
	if (parttable_crc32(img + ents * 512, (size_t)n * esz) != le32_get(hdr + 88))
		return 0;
	*ret_ents = img + ents * 512;
	return 1;
}

/* Both copies valid, pointing at each other, with equal entries and
 * partition 1 ending at last_lba. */
static int gpt_both_valid(const uint8_t *img, uint64_t size, uint64_t last_lba)
{
	const uint8_t *pe = NULL, *be = NULL;
	uint64_t back = size / 512 - 1;

	if (!gpt_copy_valid(img, size, 1, back, &pe) || !gpt_copy_valid(img, size, back, 1, &be))
		return 0;
	return memcmp(pe, be, 128 * 128) == 0 && le64_get(pe + 40) == last_lba;
}

static int guid_zero_at(const uint8_t *p)
{
	for (int i = 0; i < 16; i++)
		if (p[i])
			return 0;
	return 1;
}

enum gpt_damage { DAMAGE_PRIMARY_HEADER, DAMAGE_PRIMARY_ENTRIES, DAMAGE_BACKUP_HEADER };

static void damage(uint8_t *img, uint64_t size, enum gpt_damage what)
{
	switch (what) {
	case DAMAGE_PRIMARY_HEADER:
		memset(img + 512, 0, 512); /* torn: nothing landed */
		break;
	case DAMAGE_PRIMARY_ENTRIES:
		img[1024 + 56] ^= 0x5a; /* partition 1's name: only the entries CRC fails */
		break;
	case DAMAGE_BACKUP_HEADER:
		img[size - 512 + 20] ^= 0x01; /* inside the header CRC's range */
		break;
	}
}

static uint8_t *read_image(const char *path, uint64_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *img = malloc(64 << 20);

	if (!f || !img || fread(img, 1, 64 << 20, f) != 64 << 20) {
		if (f)
			fclose(f);
		free(img);
		return NULL;
	}
	fclose(f);
	*ret_size = 64 << 20;
	return img;
}

static int write_image(const char *path, const uint8_t *img, uint64_t size)
{
	FILE *f = fopen(path, "r+b");
	int ok = f && fwrite(img, 1, size, f) == size;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Grows partition 1 of a GPT image whose one copy is damaged: reading
 * changes nothing, growing leaves two valid copies (sfdisk and our CRCs). */
static void grow_damaged_case(enum gpt_damage what)
{
	char path[64];
	struct blkdev *d = NULL;
	struct parttable_part p;
	uint8_t *img, *after;
	uint64_t size, asize;

	if (system("command -v sfdisk >/dev/null 2>&1") != 0)
		SKIP("no sfdisk");
	CHECK(make_image(path, "gpt", "start=2048, size=16384\nstart=67584, size=8192\n") == 0);
	img = read_image(path, &size);
	CHECK(img);
	CHECK(gpt_both_valid(img, size, 2048 + 16384 - 1));
	damage(img, size, what);
	CHECK(!gpt_both_valid(img, size, 2048 + 16384 - 1));
	CHECK(write_image(path, img, size) == 0);
	CHECK(!sfdisk_verify_ok(path));

	/* Only asked to read: the damaged copy stays as it is. */
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK(parttable_find(d, 1, &p) == 0);
	CHECK_EQ_INT(p.size, 8 << 20);
	CHECK_EQ_INT(p.max_size, 32 << 20);
	after = read_image(path, &asize);
	CHECK(after && memcmp(after, img, size) == 0);
	free(after);

	CHECK(parttable_grow(d, &p, 20 << 20) == 0);
	blkdev_close(d);
	d = NULL;
	after = read_image(path, &asize);
	CHECK(after);
	CHECK(gpt_both_valid(after, asize, 2048 + (20 << 20) / 512 - 1));
	free(after);
	CHECK(sfdisk_verify_ok(path));
	CHECK_EQ_INT(sfdisk_size(path, 1), (20 << 20) / 512);
	CHECK_EQ_INT(sfdisk_size(path, 2), 8192);
	free(img);
	unlink(path);
}

TEST(parttable_gpt_grow_rebuilds_torn_primary_header)
{
	grow_damaged_case(DAMAGE_PRIMARY_HEADER);
}

TEST(parttable_gpt_grow_rebuilds_primary_entries)
{
	grow_damaged_case(DAMAGE_PRIMARY_ENTRIES);
}

TEST(parttable_gpt_grow_rebuilds_backup)
{
	grow_damaged_case(DAMAGE_BACKUP_HEADER);
}

/* Power cut at every write/flush of a grow over a damaged (or healthy)
 * table: afterwards a table is always readable, with the old or the new
 * size; the uncut run leaves both copies valid. */
static long grow_cut_matrix(const uint8_t *img, uint64_t size, int *failures)
{
	static const enum memdev_cut_mode modes[] = { MEMDEV_LOSE_ALL, MEMDEV_KEEP_ALL,
						      MEMDEV_RANDOM, MEMDEV_TORN };
	struct memdev_clock clk = { .fail_at = -1 };
	struct parttable_part p;
	struct blkdev *d = memdev_new("disk", img, size, &clk, false);
	long total, cases = 0;

	if (parttable_find(d, 1, &p) < 0 || parttable_grow(d, &p, 20 << 20) < 0 ||
	    !gpt_both_valid(memdev_data(d), size, 2048 + (20 << 20) / 512 - 1)) {
		(*failures)++;
		blkdev_close(d);
		return 0;
	}
	total = clk.ops;
	blkdev_close(d);
	for (long k = 0; k < total; k++) {
		for (unsigned m = 0; m < 4; m++) {
			struct memdev_clock c1 = { .fail_at = k }, c2 = { .fail_at = -1 };
			struct blkdev *d1 = memdev_new("disk", img, size, &c1, false), *d2;
			uint8_t *cut;
			uint64_t csz;

			if (parttable_find(d1, 1, &p) < 0 || parttable_grow(d1, &p, 20 << 20) == 0)
				(*failures)++;
			cut = memdev_after_cut(d1, modes[m], (unsigned)(k * 31 + m), &csz);
			d2 = memdev_new("disk", cut, csz, &c2, false);
			if (parttable_find(d2, 1, &p) < 0 ||
			    (p.size != 8 << 20 && p.size != 20 << 20)) {
				fprintf(stdout, "cut at %ld/%ld mode %u: no usable table\n", k, total, m);
				(*failures)++;
			}
			free(cut);
			blkdev_close(d1);
			blkdev_close(d2);
			cases++;
		}
	}
	return cases;
}

/* Runs one cut matrix over the image sfdisk makes from script, healthy and
 * with each kind of damage; the number of cases, failures in *failures. */
static long cut_matrices(const char *script, long (*matrix)(const uint8_t *, uint64_t, int *),
			 int *failures)
{
	static const int what[] = { -1, DAMAGE_PRIMARY_HEADER, DAMAGE_PRIMARY_ENTRIES,
				    DAMAGE_BACKUP_HEADER };
	char path[64];
	uint8_t *img;
	uint64_t size;
	int saved, null;
	long cases = 0;

	if (make_image(path, "gpt", script) < 0)
		return -1;
	img = read_image(path, &size);
	unlink(path);
	if (!img)
		return -1;
	/* the failed writes' error lines are expected */
	saved = dup(2);
	null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		uint8_t *copy = malloc(size);

		memcpy(copy, img, size);
		if (what[i] >= 0)
			damage(copy, size, (enum gpt_damage)what[i]);
		cases += matrix(copy, size, failures);
		free(copy);
	}
	dup2(saved, 2);
	close(saved);
	close(null);
	free(img);
	return cases;
}

TEST(parttable_gpt_grow_cut_matrix)
{
	int failures = 0;
	long cases;

	if (system("command -v sfdisk >/dev/null 2>&1") != 0)
		SKIP("no sfdisk");
	cases = cut_matrices("start=2048, size=16384\nstart=67584, size=8192\n", grow_cut_matrix,
			     &failures);
	fprintf(stderr, "parttable cut matrix: %ld cases, %d failed\n", cases, failures);
	CHECK(cases >= 4 * 6 * 4);
	CHECK_EQ_INT(failures, 0);
}

/* ---- the /boot split's table step (BOOT.md step 2) ---- */

/* Linux file system data 0FC63DAF-8483-4772-8E79-3D69D8477DE4, on disk */
static const uint8_t linux_fs[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
				      0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };

/* 64 MiB: p1 from 1 MiB to the last usable LBA (131038); pB = 47..63 MiB,
 * the last whole MiB of the usable area back 16 MiB, as bootsplit_plan
 * places it; p1 then ends at 96255. */
static struct parttable_new_entry boot_entry(void)
{
	struct parttable_new_entry e = { .number = 2, .first_lba = 96256, .last_lba = 129023,
					 .name = "boot" };

	memcpy(e.type_guid, linux_fs, 16);
	for (int i = 0; i < 16; i++)
		e.part_guid[i] = (uint8_t)(i * 0x11);
	return e;
}

static int sfdisk_dump_has(const char *path, const char *text)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sfdisk -d '%s' 2>/dev/null | grep -qF '%s'", path, text);
	return system(cmd) == 0;
}

/* Both copies valid, equal, p1 ending at p1_last, and entry 2 present
 * (or empty) */
static int split_state(const uint8_t *img, uint64_t size, uint64_t p1_last, int with_boot)
{
	const uint8_t *pe = NULL, *be = NULL;
	uint64_t back = size / 512 - 1;

	if (!gpt_copy_valid(img, size, 1, back, &pe) || !gpt_copy_valid(img, size, back, 1, &be))
		return 0;
	if (memcmp(pe, be, 128 * 128) != 0 || le64_get(pe + 40) != p1_last)
		return 0;
	return with_boot ? memcmp(pe + 128, linux_fs, 16) == 0 && le64_get(pe + 128 + 32) == 96256 &&
				   le64_get(pe + 128 + 40) == 129023
			 : guid_zero_at(pe + 128);
}

TEST(parttable_gpt_split_sfdisk)
{
	struct parttable_new_entry e = boot_entry(), other;
	struct parttable_part p;
	struct blkdev *d = NULL;
	uint8_t *img, *again;
	uint64_t size, asize;
	char path[64];

	if (system("command -v sfdisk >/dev/null 2>&1") != 0)
		SKIP("no sfdisk");
	CHECK(make_image(path, "gpt", "start=2048, size=128991\n") == 0);
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK(parttable_find(d, 1, &p) == 0);
	CHECK_EQ_INT(p.start + p.size, 131039ull * 512);
	/* refused, nothing written: p1 would not end before pB, pB past the
	 * usable area, p1 grown, the slot of p1 itself */
	CHECK(parttable_split(d, 1, 96256, &e) < 0);
	other = e;
	other.last_lba = 131039;
	CHECK(parttable_split(d, 1, 96255, &other) < 0);
	CHECK(parttable_split(d, 1, 131039, &e) < 0);
	other = e;
	other.number = 1;
	CHECK(parttable_split(d, 1, 96255, &other) < 0);
	img = read_image(path, &size);
	CHECK(img && split_state(img, size, 131038, 0));

	CHECK_EQ_INT(parttable_split(d, 1, 96255, &e), 0);
	blkdev_close(d);
	d = NULL;
	free(img);
	img = read_image(path, &size);
	CHECK(img && split_state(img, size, 96255, 1));
	CHECK(sfdisk_verify_ok(path));
	CHECK_EQ_INT(sfdisk_size(path, 1), 96255 - 2048 + 1);
	CHECK_EQ_INT(sfdisk_size(path, 2), 32768);
	CHECK(sfdisk_dump_has(path, "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"));
	CHECK(sfdisk_dump_has(path, "uuid=33221100-5544-7766-8899-AABBCCDDEEFF"));
	CHECK(sfdisk_dump_has(path, "name=\"boot\""));

	/* a repeated run changes nothing; another partition in the slot is
	 * refused */
	CHECK(blkdev_open(path, 0, &d) == 0);
	CHECK_EQ_INT(parttable_split(d, 1, 96255, &e), 0);
	again = read_image(path, &asize);
	CHECK(again && memcmp(again, img, size) == 0);
	free(again);
	other = e;
	other.part_guid[0] ^= 1;
	CHECK(parttable_split(d, 1, 96255, &other) < 0);
	blkdev_close(d);
	free(img);
	unlink(path);
}

/* A cut at every write/flush of the split, from a healthy or damaged table:
 * the table read afterwards is the old one (p1 whole, no pB) or the new one
 * (p1 lowered, pB), never a mix; running the split again finishes it with
 * both copies valid and equal. */
static long split_cut_matrix(const uint8_t *img, uint64_t size, int *failures)
{
	static const enum memdev_cut_mode modes[] = { MEMDEV_LOSE_ALL, MEMDEV_KEEP_ALL,
						      MEMDEV_RANDOM, MEMDEV_TORN };
	struct parttable_new_entry e = boot_entry();
	struct memdev_clock clk = { .fail_at = -1 };
	struct blkdev *d = memdev_new("disk", img, size, &clk, false);
	long total, cases = 0;

	if (parttable_split(d, 1, 96255, &e) < 0 ||
	    !split_state(memdev_data(d), size, 96255, 1)) {
		(*failures)++;
		blkdev_close(d);
		return 0;
	}
	total = clk.ops;
	blkdev_close(d);
	for (long k = 0; k < total; k++) {
		for (unsigned m = 0; m < 4; m++) {
			struct memdev_clock c1 = { .fail_at = k }, c2 = { .fail_at = -1 };
			struct blkdev *d1 = memdev_new("disk", img, size, &c1, false), *d2;
			struct parttable_part p1, pb;
			uint8_t *cut;
			uint64_t csz;
			int has_b;

			if (parttable_split(d1, 1, 96255, &e) == 0)
				(*failures)++;
			cut = memdev_after_cut(d1, modes[m], (unsigned)(k * 31 + m), &csz);
			d2 = memdev_new("disk", cut, csz, &c2, false);
			has_b = parttable_find(d2, 2, &pb) == 0;
			if (parttable_find(d2, 1, &p1) < 0 ||
			    (has_b ? p1.size != (96255 - 2048 + 1) * 512ull ||
					     pb.start != 96256 * 512ull || pb.size != 32768 * 512ull
				   : p1.size != (131038 - 2048 + 1) * 512ull)) {
				fprintf(stdout, "split cut at %ld/%ld mode %u: mixed table\n", k, total,
					m);
				(*failures)++;
			}
			if (parttable_split(d2, 1, 96255, &e) < 0 ||
			    !split_state(memdev_data(d2), csz, 96255, 1)) {
				fprintf(stdout, "split cut at %ld/%ld mode %u: rerun did not finish\n",
					k, total, m);
				(*failures)++;
			}
			free(cut);
			blkdev_close(d1);
			blkdev_close(d2);
			cases++;
		}
	}
	return cases;
}

TEST(parttable_gpt_split_cut_matrix)
{
	int failures = 0;
	long cases;

	if (system("command -v sfdisk >/dev/null 2>&1") != 0)
		SKIP("no sfdisk");
	cases = cut_matrices("start=2048, size=128991\n", split_cut_matrix, &failures);
	fprintf(stderr, "parttable split cut matrix: %ld cases, %d failed\n", cases, failures);
	CHECK(cases >= 4 * 4 * 4);
	CHECK_EQ_INT(failures, 0);
}

TEST(parttable_gpt_split_entries_pure)
{
	struct parttable_new_entry e = boot_entry();
	uint8_t ents[4 * 128] = { 0 };

	memcpy(ents, linux_fs, 16);
	ents[16] = 1;
	le64_put(ents + 32, 2048);
	le64_put(ents + 40, 131038);
	/* p3 sits where pB would go */
	memcpy(ents + 2 * 128, linux_fs, 16);
	ents[2 * 128 + 16] = 3;
	le64_put(ents + 2 * 128 + 32, 120000);
	le64_put(ents + 2 * 128 + 40, 120100);
	CHECK_EQ_INT(parttable_gpt_split_entries(ents, 4, 128, 34, 131038, 1, 96255, &e), -EINVAL);
	memset(ents + 2 * 128, 0, 128);
	e.name = "a name far longer than thirty-six characters";
	CHECK_EQ_INT(parttable_gpt_split_entries(ents, 4, 128, 34, 131038, 1, 96255, &e), -EINVAL);
	e = boot_entry();
	e.number = 5;
	CHECK_EQ_INT(parttable_gpt_split_entries(ents, 4, 128, 34, 131038, 1, 96255, &e), -EINVAL);
	e = boot_entry();
	CHECK_EQ_INT(parttable_gpt_split_entries(ents, 4, 128, 34, 131038, 1, 96255, &e), 0);
	CHECK_EQ_INT(le64_get(ents + 40), 96255);
	CHECK_EQ_INT(le64_get(ents + 128 + 32), 96256);
	CHECK_EQ_INT(ents[128 + 56], 'b');
	CHECK_EQ_INT(ents[128 + 57], 0);
	CHECK_EQ_INT(ents[128 + 62], 't');
	CHECK_EQ_INT(parttable_gpt_split_entries(ents, 4, 128, 34, 131038, 1, 96255, &e), 0);
}

/* Online mode's guard (src/engine/online_guard.h, ONLINE.md "Boot 1" steps
 * 3-4): the record's strict reader, the step-4 decision over every case,
 * and install/restore on an in-memory device, with a power cut at every
 * write and flush of the install. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blkdev.h"
#include "crypto.h"
#include "online_guard.h"
#include "online_plan.h"
#include "test.h"
#include "test_engine_memdev.h"

#define MIB (1ull << 20)
#define UUID_A "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define UUID_B "ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static void sample(struct online_guard *g)
{
	memset(g, 0, sizeof(*g));
	strcpy(g->uuid, UUID_A);
	g->part_size = 64 * MIB;
	g->head_len = ONLINE_DATA_OFF;
	for (int i = 0; i < 32; i++)
		g->head_sha256[i] = (uint8_t)(i * 7 + 1);
}

static void reseal(uint8_t *rec)
{
	crypto_sha256(rec, 480, rec + 480);
}

TEST(online_guard_record_round_trip_and_strict_reader)
{
	struct online_guard g, back;
	uint8_t rec[ONLINE_GUARD_SIZE], bad[ONLINE_GUARD_SIZE];
	char why[128];

	sample(&g);
	online_guard_encode(&g, rec);
	CHECK_EQ_INT(online_guard_decode(rec, 64 * MIB, &back, why, sizeof(why)), 1);
	CHECK_EQ_STR(back.uuid, UUID_A);
	CHECK_EQ_INT(back.part_size, 64 * MIB);
	CHECK_EQ_INT(back.head_len, ONLINE_DATA_OFF);
	CHECK(memcmp(back.head_sha256, g.head_sha256, 32) == 0);
	/* another partition size: not this partition's guard */
	CHECK_EQ_INT(online_guard_decode(rec, 64 * MIB + 4096, &back, why, sizeof(why)), 0);
	/* any one byte changed (a torn or damaged record) */
	for (int i = 0; i < ONLINE_GUARD_SIZE; i++) {
		memcpy(bad, rec, sizeof(bad));
		bad[i] ^= 0x01;
		CHECK_EQ_INT(online_guard_decode(bad, 64 * MIB, &back, why, sizeof(why)), 0);
	}
	/* torn at 512-byte granularity cannot happen inside one sector, but a
	 * zeroed (lost) sector must read as no guard */
	memset(bad, 0, sizeof(bad));
	CHECK_EQ_INT(online_guard_decode(bad, 64 * MIB, &back, why, sizeof(why)), 0);
	/* fields checked even with a matching checksum */
	static const struct { int off; uint8_t val; } fields[] = {
		{ 0, 'X' },	/* magic */
		{ 11, 2 },	/* version 2 */
		{ 15, 1 },	/* flags */
		{ 16, 'A' },	/* UUID upper case: not canonical */
		{ 24, 'x' },	/* UUID: dash missing */
		{ 52, 'a' },	/* UUID field: bytes after the NUL */
		{ 63, 0x10 },	/* P */
		{ 66, 0x02 },	/* copy length */
		{ 200, 1 },	/* padding */
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		memcpy(bad, rec, sizeof(bad));
		bad[fields[i].off] = fields[i].val;
		reseal(bad);
		CHECK_EQ_INT(online_guard_decode(bad, 64 * MIB, &back, why, sizeof(why)), 0);
	}
}

/* ONLINE.md step 4, every combination of the facts. */
TEST(online_guard_decide_every_case)
{
	int n = 0;

	for (int opens = 0; opens < 2; opens++)
	for (int uuid = 0; uuid < 3; uuid++)	/* header UUID: same / other / unknown */
	for (int valid = 0; valid < 2; valid++)
	for (int head = 0; head < 2; head++)
	for (int copy = 0; copy < 2; copy++) {
		struct online_guard_facts f = {
			.header_opens = opens, .header_uuid = uuid == 0 ? UUID_A : uuid == 1 ? UUID_B : NULL,
			.guard_valid = valid, .guard_uuid = UUID_A,
			.head_matches = head, .copy_matches = copy,
		};
		enum online_guard_action want, got = online_guard_decide(&f);

		if (opens)	/* the header wins whatever the guard says, unless it is
				 * not the one rootcrypt asked for over a guarded head */
			want = valid && uuid != 0 ? ONLINE_REFUSE : ONLINE_INITIALISED;
		else if (!valid)	/* guard absent or torn: cryptsetup never ran */
			want = ONLINE_PLAIN;
		else if (head)		/* cryptsetup had not written over the head */
			want = ONLINE_PLAIN_WIPE_GUARD;
		else			/* head changed: restore from a verified copy only */
			want = copy ? ONLINE_RESTORE_HEAD : ONLINE_REFUSE;
		if (got != want)
			fprintf(stderr, "opens %d uuid %d valid %d head %d copy %d: %s, want %s\n", opens,
				uuid, valid, head, copy, online_guard_action_name(got),
				online_guard_action_name(want));
		CHECK_EQ_INT(got, want);
		/* the safety properties, stated apart from the table */
		CHECK(!(got == ONLINE_RESTORE_HEAD || got == ONLINE_PLAIN_WIPE_GUARD) || (!opens && valid));
		CHECK(got != ONLINE_RESTORE_HEAD || copy);
		n++;
	}
	CHECK_EQ_INT(n, 48);
}

#define DEV_SIZE (48 * MIB)

static uint8_t *random_image(void)
{
	uint8_t *img = malloc(DEV_SIZE);

	if (img)
		for (size_t i = 0; i < DEV_SIZE; i++)
			img[i] = (uint8_t)(i * 2654435761u >> 13);
	return img;
}

TEST(online_guard_install_restore_on_a_device)
{
	struct memdev_clock clk = { .fail_at = -1 };
	uint8_t *img = random_image();
	struct blkdev *d;
	struct online_guard g;
	uint8_t *junk;

	CHECK(img != NULL);
	d = memdev_new("dev", img, DEV_SIZE, &clk, false);
	CHECK(d != NULL);
	CHECK_EQ_INT(online_guard_read(d, &g), 0);
	CHECK_EQ_INT(online_guard_install(d, "not-a-uuid"), -EINVAL);
	{
		/* 47 MiB: the guard at P - 32 MiB would fall inside the head */
		struct memdev_clock c = { .fail_at = -1 };
		struct blkdev *small = memdev_new("small", img, 47 * MIB, &c, false);

		CHECK(small != NULL);
		CHECK_EQ_INT(online_guard_install(small, UUID_A), -EINVAL);
		CHECK(memcmp(memdev_data(small), img, 47 * MIB) == 0);
		blkdev_close(small);
	}
	CHECK_EQ_INT(online_guard_install(d, UUID_A), 0);
	CHECK_EQ_INT(online_guard_read(d, &g), 1);
	CHECK_EQ_STR(g.uuid, UUID_A);
	CHECK(memcmp(memdev_data(d) + DEV_SIZE - ONLINE_DATA_OFF, img, ONLINE_DATA_OFF) == 0);
	CHECK(memcmp(memdev_data(d), img, DEV_SIZE - ONLINE_REDUCE_SIZE) == 0);
	CHECK_EQ_INT(online_guard_range_matches(d, 0, &g), 1);
	CHECK_EQ_INT(online_guard_range_matches(d, online_guard_copy_offset(DEV_SIZE), &g), 1);
	/* cryptsetup's header lands over the head, torn: restore puts it back */
	junk = blkdev_alloc(MIB);
	CHECK(junk != NULL);
	memset(junk, 0x5a, MIB);
	CHECK_EQ_INT(blkdev_write(d, junk, MIB, 3 * MIB), 0);
	CHECK_EQ_INT(online_guard_range_matches(d, 0, &g), 0);
	CHECK_EQ_INT(online_guard_restore_head(d, &g), 0);
	CHECK(memcmp(memdev_data(d), img, ONLINE_DATA_OFF) == 0);
	CHECK_EQ_INT(online_guard_read(d, &g), 0);
	/* a copy that no longer matches is never written back */
	CHECK_EQ_INT(online_guard_install(d, UUID_A), 0);
	CHECK_EQ_INT(online_guard_read(d, &g), 1);
	CHECK_EQ_INT(blkdev_write(d, junk, MIB, 0), 0);
	CHECK_EQ_INT(blkdev_write(d, junk, MIB, DEV_SIZE - MIB), 0);
	CHECK_EQ_INT(online_guard_restore_head(d, &g), -EIO);
	CHECK(memcmp(memdev_data(d), junk, MIB) == 0);
	free(junk);
	blkdev_close(d);
	free(img);
}

/* A cut at every write and flush of step 3, each way the disk may keep the
 * unflushed writes: the head is never changed, and either no guard is
 * valid (plain) or a valid guard has a copy matching its digest. */
TEST(online_guard_install_survives_every_cut)
{
	uint8_t *img = random_image();
	long ops;
	int cuts = 0;
	/* (keeping every unflushed write is the uncut run up to k: covered by
	 * the random subsets) */
	static const enum memdev_cut_mode modes[] = { MEMDEV_LOSE_ALL, MEMDEV_RANDOM, MEMDEV_TORN };

	CHECK(img != NULL);
	{
		struct memdev_clock c = { .fail_at = -1 };
		struct blkdev *d = memdev_new("dev", img, DEV_SIZE, &c, false);

		CHECK(d != NULL);
		CHECK_EQ_INT(online_guard_install(d, UUID_A), 0);
		ops = c.ops;
		blkdev_close(d);
	}
	CHECK(ops > 2);
	for (long k = 0; k < ops; k++)
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			struct memdev_clock c1 = { .fail_at = k }, c2 = { .fail_at = -1 };
			struct blkdev *d1 = memdev_new("dev", img, DEV_SIZE, &c1, false), *d2;
			struct online_guard g;
			uint64_t sz;
			uint8_t *after;
			int valid;

			CHECK(d1 != NULL);
			CHECK(online_guard_install(d1, UUID_A) < 0);
			after = memdev_after_cut(d1, modes[m], (unsigned)(k * 4 + m), &sz);
			blkdev_close(d1);
			CHECK(after != NULL && sz == DEV_SIZE);
			CHECK(memcmp(after, img, DEV_SIZE - ONLINE_REDUCE_SIZE) == 0);
			d2 = memdev_new("dev", after, sz, &c2, false);
			CHECK(d2 != NULL);
			valid = online_guard_read(d2, &g);
			CHECK(valid == 0 || valid == 1);
			if (valid)
				CHECK_EQ_INT(online_guard_range_matches(d2, online_guard_copy_offset(sz), &g), 1);
			blkdev_close(d2);
			free(after);
			cuts++;
		}
	free(img);
	CHECK(cuts > 0);
}

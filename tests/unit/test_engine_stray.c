/* Stray in-progress headers in the tail of a plain device (issue 16, item 1):
 * bytes that look like a conversion underway, planted by a user inside a
 * file or left behind by a conversion interrupted before the partition was
 * reformatted, must not make the engine "resume" over a live file system. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "engine.h"
#include "engine_hdr.h"
#include "engine_pipe.h"
#include "test.h"
#include "test_engine_memdev.h"

#define FS_SIZE (8u << 20)
#define H (1u << 20)

/* Random bytes under an ext4 superblock that says the file system fills
 * size bytes (what blkid and fsprobe look at). */
static uint8_t *fake_ext4(uint64_t size, uint64_t seed)
{
	uint8_t *d = malloc(size);
	uint64_t x = seed * 2654435761u + 88172645463325252ull;
	uint32_t blocks = (uint32_t)(size / 4096), log_bs = 2, incompat = 0;
	uint16_t magic = 0xEF53;

	for (uint64_t i = 0; i < size; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(d + i, &x, 8);
	}
	memset(d, 0, 1024);
	memcpy(d + 1024 + 0x04, &blocks, 4);
	memcpy(d + 1024 + 0x18, &log_bs, 4);
	memcpy(d + 1024 + 0x38, &magic, 2);
	memcpy(d + 1024 + 0x60, &incompat, 4);
	return d;
}

static FILE *devnull(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

static void opts_on(struct engine_opts *o, struct blkdev *dev, const char *pass)
{
	memset(o, 0, sizeof(*o));
	o->layout = ENGINE_LAYOUT_SHIFT;
	o->passphrase = pass;
	o->passphrase_len = strlen(pass);
	o->sector_size = 4096;
	o->data_off = H;
	o->unit = 128 << 10;
	o->threads = 2;
	o->dev = dev;
	o->progress = devnull();
}

/* A conversion of a device holding data, cut with everything written so far
 * kept: returns the disk's bytes (size in *ret_size), mid-conversion. */
static uint8_t *interrupted(const uint8_t *data, uint64_t size, const char *pass,
			    uint64_t *ret_size)
{
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_opts o;
	struct blkdev *d = memdev_new("ref", data, size, &clk, true);
	uint8_t *img;
	long total;

	opts_on(&o, d, pass);
	if (engine_convert(&o) != 0)
		return NULL;
	total = clk.ops;
	blkdev_close(d);
	clk = (struct memdev_clock){ .fail_at = total / 2 };
	d = memdev_new("cut", data, size, &clk, true);
	opts_on(&o, d, pass);
	engine_convert(&o);
	img = memdev_after_cut(d, MEMDEV_KEEP_ALL, 1, ret_size);
	blkdev_close(d);
	return img;
}

static enum engine_state state_of(struct blkdev *d)
{
	struct engine_opts o;
	struct engine_status st;

	opts_on(&o, d, "unused");
	if (engine_status(&o, &st) != 0)
		return (enum engine_state)-1;
	return st.state;
}

/* 1 when d holds a finished volume whose first len bytes of plaintext are
 * want (decrypted with the passphrase). */
static int decrypts_to(struct blkdev *d, const char *pass, const uint8_t *want, uint64_t len)
{
	struct engine_hdr *h = NULL;
	struct engine_hdr_info hi;
	struct engine_cipher *x = NULL;
	uint8_t vk[64], *plain = malloc(len);
	int ok = 0;

	if (engine_hdr_load(d, 0, &h) != 1)
		goto out;
	engine_hdr_get(h, &hi);
	if (hi.in_progress || hi.plain_len < len || hi.data_off + len > d->size)
		goto out;
	if (engine_hdr_unlock(h, pass, strlen(pass), vk, sizeof(vk)) < 0 ||
	    engine_cipher_new(&x, vk, 64) < 0)
		goto out;
	ok = engine_xts(x, false, 0, hi.sector_size, memdev_data(d) + hi.data_off, plain, len) == 0 &&
	     memcmp(plain, want, len) == 0;
out:
	free(plain);
	engine_cipher_free(x);
	engine_hdr_free(h);
	return ok;
}

TEST(engine_stray_planted_tail_is_ignored)
{
	uint8_t *victim = fake_ext4(FS_SIZE, 1), *other = fake_ext4(FS_SIZE, 2), *plant;
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_opts o;
	struct blkdev *d;
	uint64_t psize;

	/* The attacker converts a disk of their own with their passphrase and
	 * stops half-way; the last 2 MiB are what they plant. */
	plant = interrupted(other, FS_SIZE, "attacker", &psize);
	CHECK(plant != NULL);
	d = memdev_new("attacker", plant, psize, &clk, false);
	CHECK_EQ_INT(state_of(d), ENGINE_STATE_ENCRYPTING); /* the bytes are convincing */
	blkdev_close(d);
	/* ... as a file's data in the last 2 MiB of the victim's file system */
	memcpy(victim + FS_SIZE - ENGINE_TAIL_SIZE, plant + psize - ENGINE_TAIL_SIZE, ENGINE_TAIL_SIZE);
	free(plant);

	d = memdev_new("victim", victim, FS_SIZE, &clk, true);
	CHECK_EQ_INT(state_of(d), ENGINE_STATE_PLAIN);
	opts_on(&o, d, "owner");
	CHECK_EQ_INT(engine_convert(&o), 0);
	CHECK(decrypts_to(d, "owner", victim, FS_SIZE)); /* the file's bytes too */
	blkdev_close(d);
	free(victim);
	free(other);
}

TEST(engine_stray_stale_tail_after_reformat)
{
	uint8_t *old = fake_ext4(FS_SIZE, 3), *img, *fresh;
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_opts o;
	struct blkdev *d;
	uint64_t size;

	img = interrupted(old, FS_SIZE, "first", &size);
	CHECK(img != NULL);
	d = memdev_new("interrupted", img, size, &clk, false);
	CHECK_EQ_INT(state_of(d), ENGINE_STATE_ENCRYPTING);
	blkdev_close(d);
	/* mkfs over the whole partition writes a new file system and leaves the
	 * old tail where it was */
	fresh = fake_ext4(size, 4);
	memcpy(fresh + size - ENGINE_TAIL_SIZE, img + size - ENGINE_TAIL_SIZE, ENGINE_TAIL_SIZE);
	d = memdev_new("reformatted", fresh, size, &clk, true);
	CHECK_EQ_INT(state_of(d), ENGINE_STATE_PLAIN);
	opts_on(&o, d, "second");
	CHECK_EQ_INT(engine_convert(&o), 0);
	CHECK(decrypts_to(d, "second", fresh, size));
	blkdev_close(d);
	free(fresh);
	free(img);
	free(old);
}

/* The legitimate half of the rule: a conversion cut right after the file
 * system's magic sector was zeroed (nothing else of the head yet) resumes. */
TEST(engine_stray_rule_keeps_real_resume)
{
	uint8_t *data = fake_ext4(FS_SIZE, 5), *img;
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_opts o;
	struct blkdev *d;
	uint64_t size;

	img = interrupted(data, FS_SIZE, "pass", &size);
	CHECK(img != NULL);
	/* mid-conversion the head shows no file system */
	CHECK(img[1024 + 0x38] == 0 && img[1024 + 0x39] == 0);
	d = memdev_new("resume", img, size, &clk, false);
	CHECK_EQ_INT(state_of(d), ENGINE_STATE_ENCRYPTING);
	opts_on(&o, d, "pass");
	CHECK_EQ_INT(engine_convert(&o), 0);
	CHECK(decrypts_to(d, "pass", data, FS_SIZE));
	blkdev_close(d);
	free(img);
	free(data);
}

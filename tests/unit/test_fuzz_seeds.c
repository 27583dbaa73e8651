/* The seeds of fuzz_engine_hdr and fuzz_luks2_keyslot (written from real
 * headers by tests/fuzz/make-seeds.sh) turned into images exactly as the
 * harnesses do it (tests/fuzz/fuzz_hdr_image.h) must be what they claim:
 * headers the engine reads as its own in-progress / finished conversion,
 * and keyslots that open with the harness's passphrase. A seed that stops
 * at the door would leave the deep paths unfuzzed without anyone noticing.
 * Run from the repository root (make check does); skipped elsewhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../fuzz/fuzz_hdr_image.h"
#include "engine_hdr.h"
#include "secmem.h"
#include "test.h"
#include "test_engine_memdev.h"
#include "volume_key_ref.h"

#define SEEDS "tests/fuzz/seeds/"

static uint8_t *seed_image(const char *name)
{
	static uint8_t in[FUZZ_HDR_IMG + 16384];
	uint8_t *img;
	FILE *f = fopen(name, "rb");
	size_t n;

	if (!f)
		return NULL;
	n = fread(in, 1, sizeof(in), f);
	fclose(f);
	img = malloc(FUZZ_HDR_IMG);
	if (img && fuzz_hdr_image(in, n, img) < 0) {
		free(img);
		img = NULL;
	}
	return img;
}

static int engine_info(const char *name, struct engine_hdr_info *ret)
{
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_hdr *h = NULL;
	struct blkdev *d;
	uint8_t *img = seed_image(name);
	int r;

	if (!img)
		return -ENOENT;
	d = memdev_new("seed", img, FUZZ_HDR_IMG, &clk, false);
	free(img);
	if (!d)
		return -ENOMEM;
	r = engine_hdr_load(d, 0, &h);
	if (r == 1) {
		engine_hdr_get(h, ret);
		engine_hdr_free(h);
	}
	blkdev_close(d);
	return r;
}

/* The status line's key reference of a seed's header, through the boot
 * layer's reading of the token the engine keeps opaque. */
static int seed_key_ref(const char *name, char *ref, size_t size)
{
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_hdr *h = NULL;
	struct blkdev *d;
	uint8_t *img = seed_image(name);
	char *tok = NULL;
	int r;

	ref[0] = '\0';
	if (!img)
		return -ENOENT;
	d = memdev_new("seed", img, FUZZ_HDR_IMG, &clk, false);
	free(img);
	if (!d)
		return -ENOMEM;
	r = engine_hdr_load(d, 0, &h);
	if (r == 1) {
		r = engine_hdr_key_token(h, VOLUME_TOKEN_TYPE, &tok);
		volume_ref_summary(tok, ref, size);
		free(tok);
		engine_hdr_free(h);
	}
	blkdev_close(d);
	return r;
}

TEST(fuzz_seeds_engine_hdr_are_real_conversions)
{
	struct engine_hdr_info i;
	char ref[512];
	FILE *f = fopen(SEEDS "engine_hdr/shift-in-progress.bin", "rb");

	if (!f)
		SKIP("not run from the repository root (seeds not found)");
	fclose(f);
	CHECK_EQ_INT(engine_info(SEEDS "engine_hdr/shift-in-progress.bin", &i), 1);
	CHECK(i.ours && i.in_progress && i.layout == ENGINE_LAYOUT_SHIFT);
	CHECK(i.mark > 0 && i.mark < i.plain_len && i.tail_size > 0);
	CHECK_EQ_INT(engine_info(SEEDS "engine_hdr/detached-in-progress.bin", &i), 1);
	CHECK(i.ours && i.in_progress && i.layout == ENGINE_LAYOUT_DETACHED && i.group > 0);
	CHECK_EQ_INT(engine_info(SEEDS "engine_hdr/final-with-token.bin", &i), 1);
	CHECK(i.ours && !i.in_progress);
	CHECK(seed_key_ref(SEEDS "engine_hdr/final-with-token.bin", ref, sizeof(ref)) == 0);
	CHECK(strncmp(ref, "azure-keyvault https://", 23) == 0);
}

static int seed_unlock(const char *name)
{
	struct luks2_read_status st = { 0 };
	struct luks2_hdr *h = NULL;
	uint8_t *img = seed_image(name);
	void *vk = NULL;
	size_t vk_len = 0;
	int r;

	if (!img)
		return -ENOENT;
	r = luks2_hdr_read_mem(&h, img, FUZZ_HDR_IMG, &st);
	free(img);
	if (r < 0)
		return r;
	r = luks2_unlock(h, -1, "fuzz-passphrase", 15, &vk, &vk_len, NULL);
	secmem_free(vk);
	luks2_hdr_free(h);
	return r;
}

TEST(fuzz_seeds_luks2_keyslot_open_with_the_harness_passphrase)
{
	FILE *f = fopen(SEEDS "luks2_keyslot/final-with-token.bin", "rb");

	if (!f)
		SKIP("not run from the repository root (seeds not found)");
	fclose(f);
	CHECK_EQ_INT(seed_unlock(SEEDS "luks2_keyslot/final-with-token.bin"), 0);
	CHECK_EQ_INT(seed_unlock(SEEDS "luks2_keyslot/shift-in-progress.bin"), 0);
}

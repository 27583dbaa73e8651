/* engine_hdr: the token members engine_hdr_get reports are parsed once and
 * follow every set_mark exactly as a fresh load of the same bytes would. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine_hdr.h"
#include "luks2.h"
#include "test.h"
#include "test_engine_memdev.h"

TEST(engine_hdr_get_follows_set_mark_like_a_load)
{
	struct engine_hdr_new n = { .layout = ENGINE_LAYOUT_SHIFT, .sector_size = 4096,
				    .data_off = 1 << 20, .plain_len = 8 << 20,
				    .tail_size = 2 << 20, .group = 1 << 20,
				    .passphrase = "pass", .passphrase_len = 4 };
	uint8_t vk[64];
	struct engine_hdr *h = NULL;
	struct engine_hdr_info i;
	char *tok = (char *)"unset";

	for (int k = 0; k < 64; k++)
		vk[k] = (uint8_t)(k * 3 + 1);
	n.volume_key = vk;
	CHECK(engine_hdr_new(&h, &n) == 0);
	engine_hdr_get(h, &i);
	CHECK(i.ours && i.in_progress);
	CHECK_EQ_INT(i.layout, ENGINE_LAYOUT_SHIFT);
	CHECK_EQ_INT(i.plain_len, 8 << 20);
	CHECK_EQ_INT(i.mark, 8 << 20);
	CHECK_EQ_INT(i.tail_size, 2 << 20);
	CHECK_EQ_INT(i.group, 1 << 20);
	CHECK_EQ_INT(i.data_off, 1 << 20);
	CHECK_EQ_INT(engine_hdr_key_token(h, "azure-keyvault", &tok), 0);
	CHECK(tok == NULL);
	CHECK(engine_hdr_set_mark(h, 3 << 20) == 0);
	engine_hdr_get(h, &i);
	CHECK(i.ours);
	CHECK_EQ_INT(i.mark, 3 << 20);
	CHECK_EQ_INT(i.plain_len, 8 << 20);
	/* a mark past the data is not our token any more, as on load */
	CHECK(engine_hdr_set_mark(h, (8 << 20) + 4096) == 0);
	engine_hdr_get(h, &i);
	CHECK(!i.ours);
	CHECK_EQ_INT(i.mark, 0);
	CHECK(engine_hdr_set_final(h) == 0);
	engine_hdr_get(h, &i);
	CHECK(!i.in_progress);
	engine_hdr_free(h);
}

/* The conversion token's numbers come from the disk: only a canonical
 * decimal that fits 64 bits counts (issue 16.5). A leading zero, a sign,
 * blanks or a value past 2^64 make the token not ours, where a bare
 * strtoull read "01" as 1, " 5" as 5 and wrapped 2^64 to UINT64_MAX. */
static bool token_with_mark_is_ours(const char *mark)
{
	struct engine_hdr_new n = { .layout = ENGINE_LAYOUT_SHIFT, .sector_size = 4096,
				    .data_off = 1 << 20, .plain_len = 8 << 20,
				    .tail_size = 2 << 20, .group = 1 << 20,
				    .passphrase = "pass", .passphrase_len = 4 };
	uint8_t vk[64] = { 1 };
	struct engine_hdr *eh = NULL, *back = NULL;
	struct engine_hdr_info info = { 0 };
	struct memdev_clock clock = { .fail_at = -1 };
	struct luks2_hdr *h = NULL;
	struct blkdev *dev;
	uint8_t *img;
	char json[512];
	size_t size = 1 << 20;
	int fd = memfd_create("engine_hdr", 0), id;
	bool ours = false;

	n.volume_key = vk;
	img = calloc(1, size);
	if (fd < 0 || !img || ftruncate(fd, (off_t)size) != 0 || engine_hdr_new(&eh, &n) != 0)
		goto out;
	dev = memdev_new("hdr", img, size, &clock, false);
	if (!dev || engine_hdr_write_full(eh, dev, 0) != 0 ||
	    pwrite(fd, memdev_data(dev), size, 0) != (ssize_t)size) {
		blkdev_close(dev);
		goto out;
	}
	blkdev_close(dev);
	/* rewrite the token through the LUKS2 writer: checksums stay valid */
	snprintf(json, sizeof(json),
		 "{\"type\":\"" ENGINE_TOKEN_TYPE "\",\"keyslots\":[],\"layout\":\"shift\","
		 "\"plain_len\":\"8388608\",\"tail_size\":\"2097152\",\"group\":\"1048576\","
		 "\"mark\":\"%s\"}",
		 mark);
	if (luks2_hdr_read(&h, fd, 0, NULL) < 0)
		goto out;
	id = luks2_token_find(h, ENGINE_TOKEN_TYPE);
	if (id < 0 || luks2_token_set_json(h, id, json, NULL) != 0 ||
	    luks2_hdr_write_metadata(h, fd, 0) != 0 || pread(fd, img, size, 0) != (ssize_t)size)
		goto out;
	dev = memdev_new("hdr", img, size, &clock, false);
	if (dev && engine_hdr_load(dev, 0, &back) == 1) {
		engine_hdr_get(back, &info);
		ours = info.ours;
	}
	blkdev_close(dev);
out:
	engine_hdr_free(back);
	engine_hdr_free(eh);
	luks2_hdr_free(h);
	free(img);
	if (fd >= 0)
		close(fd);
	return ours;
}

TEST(engine_hdr_token_numbers_are_canonical_decimals)
{
	/* the control: the same path with a proper number is ours */
	CHECK(token_with_mark_is_ours("4194304"));
	CHECK(token_with_mark_is_ours("0"));
	CHECK(!token_with_mark_is_ours("04194304"));
	CHECK(!token_with_mark_is_ours("+4194304"));
	CHECK(!token_with_mark_is_ours(" 4194304"));
	CHECK(!token_with_mark_is_ours("4194304 "));
	CHECK(!token_with_mark_is_ours("0x400000"));
	CHECK(!token_with_mark_is_ours(""));
	CHECK(!token_with_mark_is_ours("18446744073709551616"));
	CHECK(!token_with_mark_is_ours("-1"));
}

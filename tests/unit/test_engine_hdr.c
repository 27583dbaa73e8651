/* engine_hdr: the token members engine_hdr_get reports are parsed once and
 * follow every set_mark exactly as a fresh load of the same bytes would. */
#include <stdlib.h>
#include <string.h>

#include "engine_hdr.h"
#include "test.h"

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

/* The pipeline gives, in plan order, exactly the ciphertext a direct
 * crypto_xts_encrypt of each unit gives; records survive encode/decode and
 * reject torn or foreign slots. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "engine_pipe.h"
#include "engine_record.h"
#include "test.h"
#include "test_engine_memdev.h"

TEST(engine_pipe_matches_direct_xts)
{
	static const enum engine_layout layouts[] = { ENGINE_LAYOUT_SHIFT, ENGINE_LAYOUT_DETACHED };
	const uint64_t size = 1 << 20;
	struct memdev_clock clk = { .fail_at = -1 };
	uint8_t key[64], *data = malloc(size), *want = malloc(1 << 14);
	struct crypto_xts *x = NULL;
	struct engine_cipher *c = NULL;
	struct blkdev *d;

	for (uint64_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 9));
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	CHECK(crypto_xts_new(&x, key, 64) == 0);
	CHECK(engine_cipher_new(&c, key, 64) == 0);
	d = memdev_new("mem", data, size, &clk, false);
	for (int l = 0; l < 2; l++) {
		struct engine_plan pl = { .layout = layouts[l], .plain_len = size - (1 << 16),
					  .data_off = 1 << 16, .unit = 1 << 14,
					  .start = layouts[l] == ENGINE_LAYOUT_SHIFT ? size - (1 << 16) - 4096 : 4096 };
		struct engine_pipe *p = NULL;
		uint64_t n = engine_plan_units(&pl);

		CHECK(engine_pipe_start(&p, &pl, d, c, 4096, 3, 4, true, NULL, 0) == 0);
		for (uint64_t i = 0; i < n; i++) {
			struct engine_pipe_slot *s;

			CHECK(engine_pipe_get(p, i, &s) == 0);
			/* LUKS2: tweaks count 512-byte units even for 4096-byte sectors */
			for (uint64_t o = 0; o < s->u.len; o += 4096)
				CHECK(crypto_xts_encrypt(x, (s->u.plain_off + o) / 512, 4096,
							 data + s->u.src + o, want + o, 4096) == 0);
			CHECK_MEM(s->buf, want, s->u.len);
			CHECK(s->digests[0] == engine_sector_digest(data + s->u.src, 512));
			engine_pipe_put(p, i);
		}
		CHECK(engine_pipe_stop(p) == 0);
	}
	blkdev_close(d);
	engine_cipher_free(c);
	crypto_xts_free(x);
	free(data);
	free(want);
}

TEST(engine_record_roundtrip_and_torn)
{
	uint64_t slot = engine_record_slot_size(1 << 16), dig[128];
	uint8_t *buf = malloc(slot);
	struct engine_record rec = { .seq = 7, .group_off = 1 << 16, .group_len = 1 << 16,
				     .digests = dig }, out;

	for (int i = 0; i < 128; i++)
		dig[i] = 0x1234567890abcdefull * (uint64_t)(i + 1);
	strcpy(rec.uuid, "0f0e0d0c-aaaa-bbbb-cccc-000000000001");
	CHECK(engine_record_encode(&rec, buf, slot) == 0);
	CHECK_EQ_INT(engine_record_decode(buf, slot, rec.uuid, &out), 1);
	CHECK_EQ_INT(out.seq, 7);
	CHECK_EQ_INT(out.group_off, 1 << 16);
	CHECK_MEM(out.digests, dig, sizeof(dig));
	free(out.digests);
	CHECK_EQ_INT(engine_record_decode(buf, slot, "another-uuid", &out), 0);
	buf[200] ^= 1;
	CHECK_EQ_INT(engine_record_decode(buf, slot, rec.uuid, &out), 0);
	free(buf);
}

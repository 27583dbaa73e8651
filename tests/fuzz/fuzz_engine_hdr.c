/* libFuzzer target for the conversion token and the rest of what the
 * engine reads from a header it finds on a disk (make fuzz-hdr):
 * engine_hdr_load through an in-memory device, engine_hdr_get (the
 * rootcrypt-conversion token's layout and numbers, the azure-keyvault token
 * summary), then, for a header that is ours, a progress mark written back
 * and read again: what the engine commits it must be able to read, with
 * the same numbers (abort() otherwise, which libFuzzer reports).
 * Input format: fuzz_hdr_image.h. No keyslot is opened here (no KDF cost);
 * fuzz_luks2_keyslot.c does that. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blkdev.h"
#include "engine_hdr.h"
#include "fuzz_hdr_image.h"
#include "fuzz_memdev.h"
#include "log.h"

static void same_or_abort(const struct engine_hdr_info *a, const struct engine_hdr_info *b,
			  uint64_t mark)
{
	if (!b->ours || b->layout != a->layout || b->plain_len != a->plain_len ||
	    b->tail_size != a->tail_size || b->group != a->group || b->mark != mark ||
	    b->in_progress != a->in_progress || strcmp(b->uuid, a->uuid) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *img;
	struct mem m = { 0 };
	struct blkdev d = { .ops = &mem_ops, .name = "fuzz", .sector_size = 512,
			    .is_regular = true, .fd = -1, .dfd = -1, .priv = &m };
	struct engine_hdr *h = NULL, *h2 = NULL;
	struct engine_hdr_info info, info2;
	uint64_t mark;

	log_set_prefix("fuzz");
	if (!img && !(img = malloc(FUZZ_HDR_IMG)))
		return 0;
	if (fuzz_hdr_image(data, size, img) < 0)
		return 0;
	m.buf = img;
	m.len = FUZZ_HDR_IMG;
	d.size = FUZZ_HDR_IMG;
	if (engine_hdr_load(&d, 0, &h) != 1)
		return 0;
	engine_hdr_get(h, &info);
	(void)engine_hdr_len(h);
	if (info.ours && info.mark <= info.plain_len) {
		/* The next progress step: half way between 0 and the mark. */
		mark = info.mark / 2;
		if (engine_hdr_set_mark(h, mark) == 0 && engine_hdr_commit(h, &d, 0) == 0) {
			if (engine_hdr_load(&d, 0, &h2) != 1)
				abort(); /* committed a header it cannot read back */
			engine_hdr_get(h2, &info2);
			same_or_abort(&info, &info2, mark);
			engine_hdr_free(h2);
		}
	}
	engine_hdr_free(h);
	return 0;
}

/* libFuzzer target for the GPT/MBR reader and the grow planner (make
 * fuzz-disk). The input is the start of a disk (512-byte sectors) read
 * through an in-memory blkdev. CRCs would stop a fuzzer at the door, so an
 * odd first byte makes the harness fix the primary GPT header's entry-array
 * and header CRCs (within the input) before the disk is read. A partition
 * found is then grown on a writable copy. */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "blkdev.h"
#include "fuzz_memdev.h"
#include "parttable.h"

static void fix_gpt(uint8_t *d, size_t len)
{
	uint8_t *h = d + 512;
	uint32_t hsize, n, esize;
	uint64_t lba;

	if (len < 1024)
		return;
	hsize = le32_get(h + 12);
	memcpy(&lba, h + 72, 8);
	lba = le64toh(lba);
	n = le32_get(h + 80);
	esize = le32_get(h + 84);
	if (lba < len / 512 && n && esize && (uint64_t)n * esize <= len - lba * 512)
		le32_put(h + 88, parttable_crc32(d + lba * 512, (size_t)n * esize));
	if (hsize >= 92 && hsize <= 512) {
		le32_put(h + 16, 0);
		le32_put(h + 16, parttable_crc32(h, hsize));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m;
	struct blkdev d = { .ops = &mem_ops, .name = (char *)"fuzz", .sector_size = 512, .fd = -1,
			    .dfd = -1, .priv = &m };
	struct parttable_part p;

	if (size < 2 || size > (1u << 20))
		return 0;
	m.len = size - 1;
	m.buf = malloc(m.len);
	if (!m.buf)
		return 0;
	memcpy(m.buf, data + 1, m.len);
	if (data[0] & 1)
		fix_gpt(m.buf, m.len);
	/* the disk's size as its owner would claim it: the input, or more */
	d.size = m.len + (uint64_t)(data[0] >> 1) * 512;
	for (unsigned n = 1; n <= 4; n++) {
		if (parttable_find(&d, n, &p) != 0)
			continue;
		if (p.max_size > p.size)
			(void)parttable_grow(&d, &p, p.size + (p.max_size - p.size) / 2 / 512 * 512);
	}
	free(m.buf);
	return 0;
}

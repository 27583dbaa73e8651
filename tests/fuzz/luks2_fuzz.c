/* libFuzzer target for the LUKS2 header reader (make fuzz-luks2).
 *
 * Checksums would stop a fuzzer at the door, so the first input byte picks
 * a mode:
 *   even: the rest is JSON text; the harness wraps it in a primary binary
 *         header with a correct sha256 checksum (16 KiB metadata) followed
 *         by a zeroed keyslots area, so parsing, the duplicate check,
 *         validation and keyslot loading all see hostile metadata;
 *   odd:  the rest is a raw header image, as read from a disk.
 * Whatever is accepted is then exercised through the getters, the dump, the
 * token accessors and a metadata commit to /dev/null-like memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "luks2.h"
#include "luks2_internal.h"

#define MD 16384u
#define IMG (2 * MD + 512 * 1024)

static void exercise(struct luks2_hdr *h)
{
	uint32_t ks;
	char *s = NULL;
	FILE *f = fopen("/dev/null", "w");

	if (f) {
		luks2_hdr_dump(h, f);
		fclose(f);
	}
	(void)luks2_hdr_segment_offset(h);
	(void)luks2_hdr_segment_size(h);
	(void)luks2_hdr_sector_size(h);
	(void)luks2_hdr_key_size(h);
	(void)luks2_hdr_header_size(h);
	(void)luks2_hdr_iv_sector(h, 4096);
	for (size_t i = 0; i < luks2_requirement_count(h); i++)
		(void)luks2_requirement_name(h, i);
	if (luks2_hdr_json(h, &s) == 0)
		free(s);
	if (luks2_token_get(h, "azure-keyvault", &s, &ks) == 0)
		free(s);
	for (int i = 0; i < LUKS2_TOKENS_MAX; i++)
		if (luks2_token_get_json(h, i, &s) == 0)
			free(s);
	(void)luks2_requirement_set(h, LUKS2_REQ_CONVERSION);
	(void)luks2_token_set_string(h, "rootcrypt-progress", "done", "1");
	(void)luks2_hdr_set_segment(h, luks2_hdr_header_size(h), LUKS2_SEGMENT_DYNAMIC);
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++)
		if (luks2_keyslot_exists(h, i))
			(void)luks2_keyslot_remove(h, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *img;
	struct luks2_read_status st;
	struct luks2_hdr *h = NULL;

	if (size < 1)
		return 0;
	log_set_prefix("fuzz");
	if (!img && !(img = malloc(IMG)))
		return 0;
	if (data[0] & 1) {
		if (luks2_hdr_read_mem(&h, data + 1, size - 1, &st) == 0) {
			exercise(h);
			luks2_hdr_free(h);
		}
		return 0;
	}
	if (size - 1 > MD - LUKS2_BIN_HDR_SIZE)
		return 0;
	{
		struct luks2_bin b = { .hdr_size = MD, .seqid = 1 };
		uint8_t csum[32];

		memset(img, 0, IMG);
		strcpy(b.checksum_alg, "sha256");
		strcpy(b.uuid, "00000000-0000-4000-8000-000000000000");
		memcpy(img + LUKS2_BIN_HDR_SIZE, data + 1, size - 1);
		luks2_bin_encode(&b, false, img);
		luks2_bin_checksum(img, img + LUKS2_BIN_HDR_SIZE, MD - LUKS2_BIN_HDR_SIZE, csum);
		memcpy(b.csum, csum, 32);
		luks2_bin_encode(&b, false, img);
	}
	if (luks2_hdr_read_mem(&h, img, IMG, &st) == 0) {
		exercise(h);
		luks2_hdr_free(h);
	}
	return 0;
}

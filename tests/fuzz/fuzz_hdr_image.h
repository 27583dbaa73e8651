/* A LUKS2 header image from a fuzz input, shared by fuzz_engine_hdr.c,
 * fuzz_luks2_keyslot.c and the unit test that checks their seeds
 * (tests/unit/test_fuzz_seeds.c), so seeds and harnesses agree.
 *
 * Checksums would stop a fuzzer at the door, so the input is not a raw
 * header but what a header is made of:
 *   byte 0        flags: bit 0 set = write the secondary copy too
 *   JSON text     up to the first NUL byte (or the end of the input)
 *   NUL, area     the rest: the keyslots area, placed at 2 * FUZZ_HDR_MD
 *                 (where rootcrypt and cryptsetup put the first keyslot)
 * The image is a 16 KiB-metadata LUKS2 header with correct sha256
 * checksums, seqid 1, a fixed UUID, zeros elsewhere. Seeds are written by
 * tests/fuzz/make-seeds.sh from headers the product wrote. */
#pragma once
#include <stdint.h>
#include <string.h>

#include "luks2.h"
#include "luks2_internal.h"

#define FUZZ_HDR_MD 16384u
#define FUZZ_HDR_AREA_MAX (512u * 1024)
#define FUZZ_HDR_IMG (2 * FUZZ_HDR_MD + FUZZ_HDR_AREA_MAX)
#define FUZZ_HDR_UUID "00000000-0000-4000-8000-000000000000"

static void fuzz_hdr_copy(uint8_t *img, const uint8_t *json, size_t json_len, bool secondary)
{
	struct luks2_bin b = { .hdr_size = FUZZ_HDR_MD, .seqid = 1 };
	uint8_t *copy = img + (secondary ? FUZZ_HDR_MD : 0);
	uint8_t csum[32];

	strcpy(b.checksum_alg, "sha256");
	strcpy(b.uuid, FUZZ_HDR_UUID);
	b.hdr_offset = secondary ? FUZZ_HDR_MD : 0;
	memcpy(copy + LUKS2_BIN_HDR_SIZE, json, json_len);
	luks2_bin_encode(&b, secondary, copy);
	luks2_bin_checksum(copy, copy + LUKS2_BIN_HDR_SIZE, FUZZ_HDR_MD - LUKS2_BIN_HDR_SIZE, csum);
	memcpy(b.csum, csum, sizeof(csum));
	luks2_bin_encode(&b, secondary, copy);
}

/* Fills img (FUZZ_HDR_IMG bytes); 0, or -1 when the input cannot be one. */
static int fuzz_hdr_image(const uint8_t *in, size_t n, uint8_t *img)
{
	const uint8_t *json, *nul;
	size_t json_len, area_len = 0;

	if (n < 1)
		return -1;
	json = in + 1;
	nul = memchr(json, 0, n - 1);
	json_len = nul ? (size_t)(nul - json) : n - 1;
	if (json_len > FUZZ_HDR_MD - LUKS2_BIN_HDR_SIZE - 1)
		return -1;
	if (nul)
		area_len = n - 1 - json_len - 1;
	if (area_len > FUZZ_HDR_AREA_MAX)
		return -1;
	memset(img, 0, FUZZ_HDR_IMG);
	fuzz_hdr_copy(img, json, json_len, false);
	if (in[0] & 1)
		fuzz_hdr_copy(img, json, json_len, true);
	if (area_len)
		memcpy(img + 2 * FUZZ_HDR_MD, nul + 1, area_len);
	return 0;
}

/* Detached layout: the record of the chunk ("group") in flight, with a
 * digest of every 512-byte piece of its plaintext, so that a resume can tell
 * plaintext from ciphertext piece by piece after a torn write (cryptsetup's
 * "checksum" resilience, at 512-byte granularity so even a torn 4096-byte
 * sector is repaired). Two slots after the LUKS2 header in the header file,
 * written alternately; each is self-checking, the valid one with the higher
 * sequence number wins. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"

#define ENGINE_RECORD_PIECE 512u

struct engine_record {
	uint64_t seq;
	uint64_t group_off;	/* plaintext below this is ciphertext on disk */
	uint64_t group_len;	/* [off, off+len) may be mixed; above is plaintext */
	uint64_t *digests;	/* group_len / 512 entries */
	char uuid[40];		/* binds the record to its header */
};

uint64_t engine_record_slot_size(uint64_t group);
uint64_t engine_record_area_off(uint64_t hdr_len);

/* Pure encode/decode of one slot. decode: 1 valid (digests malloc'ed into
 * ret), 0 not valid for this uuid, negative errno. */
int engine_record_encode(const struct engine_record *rec, uint8_t *buf, size_t slot_size);
int engine_record_decode(const uint8_t *buf, size_t slot_size, const char *uuid,
			 struct engine_record *ret);
/* Reads both slots; 1 with the newest valid record, 0 when none. */
int engine_record_load(struct blkdev *hdr, uint64_t area_off, uint64_t slot_size,
		       const char *uuid, struct engine_record *ret);
/* Writes rec into slot seq % 2 and flushes. */
int engine_record_write(struct blkdev *hdr, uint64_t area_off, uint64_t slot_size,
			const struct engine_record *rec, uint8_t *scratch);

/* libFuzzer target for online mode's guard record as read from the disk
 * (make fuzz-disk). The self-checksum would stop a fuzzer at the door, so
 * the harness writes the right one over the last 32 bytes; the partition
 * size the record must name is taken from the record itself, so decoding
 * goes on to every field. A record the reader accepts must encode back to
 * the same bytes (nothing in it is ignored). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "online_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rec[ONLINE_GUARD_SIZE] = { 0 }, again[ONLINE_GUARD_SIZE];
	struct online_guard g;
	uint64_t part = 0;
	char why[128];

	if (size > ONLINE_GUARD_SIZE)
		return 0;
	memcpy(rec, data, size);
	crypto_sha256(rec, ONLINE_GUARD_SIZE - 32, rec + ONLINE_GUARD_SIZE - 32);
	for (int i = 56; i < 64; i++)
		part = part << 8 | rec[i];
	if (online_guard_decode(rec, part, &g, why, sizeof(why)) == 1) {
		online_guard_encode(&g, again);
		if (memcmp(rec, again, sizeof(rec)) != 0)
			abort();
	}
	return 0;
}

/* libFuzzer target for the detached layout's digest records as read from a
 * header file (make fuzz-disk). The record's self-digest would stop a
 * fuzzer at the door, so the harness writes the right one into the last 8
 * bytes; the UUID the record must carry is taken from the record itself, so
 * decoding goes on to the counts and lengths the disk claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_pipe.h"
#include "engine_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_record rec;
	char uuid[41];
	uint8_t *buf;
	uint64_t dig;

	if (size < 96 || size > (1u << 16))
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	dig = engine_sector_digest(buf, size - 8);
	memcpy(buf + size - 8, &dig, 8);
	memcpy(uuid, buf + 40, 40);
	uuid[40] = '\0';
	memset(&rec, 0, sizeof(rec));
	if (engine_record_decode(buf, size, uuid, &rec) == 1)
		free(rec.digests);
	free(buf);
	return 0;
}

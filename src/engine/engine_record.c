/* See engine_record.h. Slot layout (little endian):
 *   0 magic "RCRECRD1"  8 seq  16 group_off  24 group_len  32 count
 *   40 uuid[40]  80 digests[count]  ...  last 8 bytes: digest of all before. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "engine_pipe.h"
#include "engine_record.h"
#include "log.h"

#define REC_MAGIC "RCRECRD1"
#define REC_HDR 80u

uint64_t engine_record_slot_size(uint64_t group)
{
	uint64_t n = REC_HDR + group / ENGINE_RECORD_PIECE * 8 + 8;

	return (n + 4095) / 4096 * 4096;
}

uint64_t engine_record_area_off(uint64_t hdr_len)
{
	return (hdr_len + 4095) / 4096 * 4096;
}

int engine_record_encode(const struct engine_record *rec, uint8_t *buf, size_t slot_size)
{
	uint64_t count = rec->group_len / ENGINE_RECORD_PIECE;

	if (REC_HDR + count * 8 + 8 > slot_size)
		return -EINVAL;
	memset(buf, 0, slot_size);
	memcpy(buf, REC_MAGIC, 8);
	le64_put(buf + 8, rec->seq);
	le64_put(buf + 16, rec->group_off);
	le64_put(buf + 24, rec->group_len);
	le64_put(buf + 32, count);
	memcpy(buf + 40, rec->uuid, sizeof(rec->uuid));
	for (uint64_t i = 0; i < count; i++)
		le64_put(buf + REC_HDR + i * 8, rec->digests[i]);
	le64_put(buf + slot_size - 8, engine_sector_digest(buf, slot_size - 8));
	return 0;
}

int engine_record_decode(const uint8_t *buf, size_t slot_size, const char *uuid,
			 struct engine_record *ret)
{
	uint64_t count;

	if (memcmp(buf, REC_MAGIC, 8) != 0)
		return 0;
	if (le64_get(buf + slot_size - 8) != engine_sector_digest(buf, slot_size - 8))
		return 0; /* torn */
	if (strncmp((const char *)buf + 40, uuid, 40) != 0)
		return 0; /* left over from another conversion */
	count = le64_get(buf + 32);
	if (slot_size < REC_HDR + 8 || count > (slot_size - REC_HDR - 8) / 8 ||
	    count * ENGINE_RECORD_PIECE != le64_get(buf + 24))
		return 0;
	memset(ret, 0, sizeof(*ret));
	ret->seq = le64_get(buf + 8);
	ret->group_off = le64_get(buf + 16);
	ret->group_len = le64_get(buf + 24);
	memcpy(ret->uuid, buf + 40, sizeof(ret->uuid));
	ret->uuid[sizeof(ret->uuid) - 1] = '\0';
	ret->digests = calloc(count ? count : 1, 8);
	if (!ret->digests)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++)
		ret->digests[i] = le64_get(buf + REC_HDR + i * 8);
	return 1;
}

int engine_record_load(struct blkdev *hdr, uint64_t area_off, uint64_t slot_size,
		       const char *uuid, struct engine_record *ret)
{
	uint8_t *buf = blkdev_alloc(slot_size);
	struct engine_record best = { 0 };
	int found = 0, r = 0;

	if (!buf)
		return log_error(ENOMEM, "out of memory");
	for (int s = 0; s < 2; s++) {
		struct engine_record rec;

		if (area_off + (s + 1) * slot_size > hdr->size)
			break;
		r = blkdev_read(hdr, buf, slot_size, area_off + s * slot_size);
		if (r < 0)
			break;
		r = engine_record_decode(buf, slot_size, uuid, &rec);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (!found || rec.seq > best.seq) {
			free(best.digests);
			best = rec;
			found = 1;
		} else {
			free(rec.digests);
		}
	}
	free(buf);
	if (r < 0) {
		free(best.digests);
		return r;
	}
	if (found)
		*ret = best;
	return found;
}

int engine_record_write(struct blkdev *hdr, uint64_t area_off, uint64_t slot_size,
			const struct engine_record *rec, uint8_t *scratch)
{
	int r = engine_record_encode(rec, scratch, slot_size);

	if (r < 0)
		return log_error(EINVAL, "progress record does not fit its slot");
	r = blkdev_write(hdr, scratch, slot_size, area_off + (rec->seq % 2) * slot_size);
	if (r < 0)
		return r;
	return blkdev_flush(hdr);
}

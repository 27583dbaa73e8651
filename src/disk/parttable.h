/* GPT (both copies, CRC32) and MBR: find partition N of a disk image or
 * disk, and grow it into free space directly after it, crash-safely. The
 * parsers and the grow planner are pure over in-memory sectors. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "blkdev.h"

enum parttable_kind { PARTTABLE_MBR = 1, PARTTABLE_GPT };

struct parttable_part {
	enum parttable_kind kind;
	uint32_t sector_size;	/* LBA size of the table */
	unsigned number;	/* 1-based */
	uint64_t start;		/* bytes */
	uint64_t size;		/* bytes */
	uint64_t max_size;	/* bytes it may grow to: next partition or end of usable area */
};

uint32_t parttable_crc32(const void *buf, size_t len);

/* Finds partition number (1-based) on disk d. One error line on failure.
 * Never writes: with one GPT copy invalid it reads the other (a warning). */
int parttable_find(struct blkdev *d, unsigned number, struct parttable_part *ret);
/* Grows the partition so it is new_size bytes long (<= max_size), in an
 * order that leaves a valid table after a power cut at any point: GPT backup
 * entries+header, flush, then primary entries+header, flush; MBR one sector.
 * A GPT copy found invalid is rebuilt from the other one, so both are valid
 * afterwards; it is then written first (the valid one is never torn). */
int parttable_grow(struct blkdev *d, const struct parttable_part *p, uint64_t new_size);

/* A GPT entry to add. GUIDs as stored on disk (the first three fields
 * little-endian); name ASCII, at most 36 characters. */
struct parttable_new_entry {
	unsigned number;		/* 1-based slot, empty before */
	uint8_t type_guid[16], part_guid[16];
	uint64_t first_lba, last_lba;
	const char *name;
};

/* Pure, on one GPT entries array: partition p1 ends at p1_last (not after
 * its current end) and entry e is added behind it. 0 when done, also when
 * e is there already (a repeated run); -EEXIST when e's slot holds another
 * partition; -EINVAL when the result would overlap another partition or
 * leave [first_usable, last_usable]. */
int parttable_gpt_split_entries(uint8_t *ents, uint32_t nents, uint32_t entsz,
				uint64_t first_usable, uint64_t last_usable, unsigned p1,
				uint64_t p1_last, const struct parttable_new_entry *e);
/* The same on disk d, both GPT copies, in parttable_grow's order (backup
 * entries + header, flush, primary, flush; an invalid copy rebuilt and
 * written first): after a cut at any point the table read is the old one
 * or the new one. One error line on failure. */
int parttable_split(struct blkdev *d, unsigned p1, uint64_t p1_last,
		    const struct parttable_new_entry *e);

/* A GPT as a reader sees it, for the /boot split's facts (boot) and plan
 * (enroll). GUIDs as stored on disk; parttable_guid_text/parse convert. */
struct parttable_gpt_entry {
	unsigned number;		/* 1-based slot */
	uint8_t type_guid[16], part_guid[16];
	uint64_t first_lba, last_lba;	/* inclusive */
};
struct parttable_gpt_info {
	uint32_t sector_size;
	uint64_t first_usable, last_usable;
	struct parttable_gpt_entry *ents; /* the used slots, by number; malloc'ed */
	unsigned count;
	unsigned free_number;		/* lowest unused slot, 0 = none */
	bool primary_valid;		/* the entries above are the primary's */
	bool backup_valid;
	bool backup_equals_primary;	/* both valid, same entries array */
};
/* Reads both copies; the entries come from the primary when it is valid,
 * else from the backup. -EMEDIUMTYPE (quietly) when d has no GPT (MBR or
 * nothing), -EINVAL with one line when both copies are invalid. */
int parttable_gpt_read(struct blkdev *d, struct parttable_gpt_info *ret);
void parttable_gpt_info_free(struct parttable_gpt_info *g);
/* The used entry whose unique GUID is part_guid, or NULL. */
const struct parttable_gpt_entry *parttable_gpt_by_guid(const struct parttable_gpt_info *g,
							const uint8_t part_guid[16]);
/* The first used entry of that type, or NULL. */
const struct parttable_gpt_entry *parttable_gpt_by_type(const struct parttable_gpt_info *g,
							const uint8_t type_guid[16]);
/* GPT's mixed-endian GUID <-> the text byte order parse_uuid gives: the
 * first three fields swap byte order (its own inverse). */
void parttable_guid_swap(const uint8_t in[16], uint8_t out[16]);
/* Types the split needs (on-disk byte order). */
extern const uint8_t PARTTABLE_TYPE_ESP[16];		/* C12A7328-F81F-11D2-BA4B-00A0C93EC93B */
extern const uint8_t PARTTABLE_TYPE_BIOS_BOOT[16];	/* 21686148-6449-6E6F-744E-656564454649 */
extern const uint8_t PARTTABLE_TYPE_LINUX_FS[16];	/* 0FC63DAF-8483-4772-8E79-3D69D8477DE4 */

/* The guard of online mode's in-place initialisation (src/engine/ONLINE.md
 * "Boot 1", steps 3 and 4). Before stock cryptsetup's `reencrypt --encrypt
 * --init-only --reduce-device-size 32M` copies the first 16 MiB to the
 * partition's end and writes its header over them (neither flushed),
 * rootcrypt makes that copy itself, flushes, and writes a guard record at
 * P - 32 MiB (outside the file system, which ends by P - 32 MiB): magic,
 * the UUID it passes to cryptsetup, P, the sha256 of the 16 MiB copy and a
 * self-checksum. After a cut, the next boot decides from the disk alone
 * (online_guard_decide) whether the conversion was initialised, the volume
 * is still plain, or the head must be restored from the copy.
 *
 * Record (one 512-byte sector, big-endian numbers, unused bytes zero):
 *   0   magic "RCGUARD\0" (8)     8  version 1 (u32)   12 flags 0 (u32)
 *   16  UUID text, NUL padded (40)
 *   56  P, the partition's size in bytes (u64)
 *   64  bytes copied, ONLINE_DATA_OFF (u64)
 *   72  sha256 of the copy (32)
 *   480 sha256 of bytes [0, 480) (32) */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "blkdev.h"

#define ONLINE_GUARD_SIZE 512
#define ONLINE_GUARD_MAGIC "RCGUARD"	/* with its NUL: 8 bytes */
#define ONLINE_GUARD_VERSION 1

struct online_guard {
	char uuid[40];		/* canonical 36-character UUID */
	uint64_t part_size;	/* P */
	uint64_t head_len;	/* ONLINE_DATA_OFF */
	uint8_t head_sha256[32];
};

/* Where the guard and the copy live on a partition of P bytes (P a
 * multiple of 4096 and at least 48 MiB, so the guard lies past the head): guard at P - 32 MiB, copy of
 * [0, 16 MiB) at [P - 16 MiB, P). */
uint64_t online_guard_offset(uint64_t part_size);
uint64_t online_guard_copy_offset(uint64_t part_size);

/* Pure. The record's bytes for g (uuid must be a canonical UUID). */
void online_guard_encode(const struct online_guard *g, uint8_t out[ONLINE_GUARD_SIZE]);
/* Pure, strict: 1 and *ret when buf is a whole, valid record written for a
 * partition of part_size bytes (magic, version, flags 0, canonical UUID,
 * P == part_size, length ONLINE_DATA_OFF, zero padding, self-checksum);
 * 0 otherwise, with the reason in why. Never trusts a field before the
 * checksum has matched. */
int online_guard_decode(const uint8_t buf[ONLINE_GUARD_SIZE], uint64_t part_size,
			struct online_guard *ret, char *why, size_t whylen);

/* Step 3: copies [0, 16 MiB) to [P - 16 MiB, P), flushes, then writes the
 * guard for uuid at P - 32 MiB and flushes. The head is only read. */
int online_guard_install(struct blkdev *d, const char *uuid);
/* 1 and *ret when d holds a valid guard for its size, 0 when not
 * (absent, torn, another size: a debug line says why), negative errno on
 * I/O errors. */
int online_guard_read(struct blkdev *d, struct online_guard *ret);
/* 1 when sha256 of [off, off + g->head_len) equals the guard's digest. */
int online_guard_range_matches(struct blkdev *d, uint64_t off, const struct online_guard *g);
/* Zeroes the guard sector and flushes (the way back to plain). */
int online_guard_wipe(struct blkdev *d);
/* Writes the verified copy back over [0, 16 MiB), flushes, then wipes the
 * guard. -EIO (nothing written) when the copy no longer matches. */
int online_guard_restore_head(struct blkdev *d, const struct online_guard *g);

/* Step 4, pure: what the next boot does after a cut in steps 3-4. */
enum online_guard_action {
	ONLINE_INITIALISED = 1,	 /* cryptsetup's header at 0 opens: go on (step 5) */
	ONLINE_PLAIN,		 /* no valid guard, no header: nothing was written over the head */
	ONLINE_PLAIN_WIPE_GUARD, /* guard valid, head untouched: wipe the guard, plain */
	ONLINE_RESTORE_HEAD,	 /* guard valid, head changed: copy back, wipe guard, plain */
	ONLINE_REFUSE,		 /* the disk contradicts the argument: touch nothing */
};
struct online_guard_facts {
	bool header_opens;	  /* a LUKS2 header at 0, requirement online-reencrypt-v2,
				   * keyslot 0 opens with the passphrase */
	const char *header_uuid;  /* its UUID (when header_opens) */
	bool guard_valid;	  /* online_guard_read() == 1 */
	const char *guard_uuid;	  /* the guard's UUID (when guard_valid) */
	bool head_matches;	  /* sha256 of [0, 16 MiB) == the guard's digest */
	bool copy_matches;	  /* sha256 of the copy at the end == the guard's digest */
};
enum online_guard_action online_guard_decide(const struct online_guard_facts *f);
const char *online_guard_action_name(enum online_guard_action a);

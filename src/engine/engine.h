/* In-place conversion of a plain partition, disk or image file to LUKS2,
 * resumable after a power cut at any instant (argument in src/engine/ENGINE.md).
 * Called by `rootcrypt encrypt` (passphrase from a key file) and by
 * `rootcrypt boot` (passphrase from Key Vault, plus its token). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "blkdev.h"
#include "engine_hdr.h"
#include "engine_plan.h"

/* T: the in-progress header (first half) and the saved head (second half)
 * at the end of the device. */
/* ENGINE_DATA_OFF_DEFAULT (H), ENGINE_UNIT_DEFAULT (U), ENGINE_GROUP_DEFAULT (G)
 * and ENGINE_SHIFT_BUFFERS live in engine_plan.h, beside the one function
 * that applies them. */
#define ENGINE_TAIL_SIZE (2ull << 20)
/* Shift: the first bytes (every file system/RAID/LVM signature blkid looks
 * for, btrfs's at 64 KiB included) are saved in the tail and zeroed on disk
 * while converting, so nothing mounts a half-moved file system. */
#define ENGINE_HEAD_HIDE (128ull << 10)
#define ENGINE_MIN_SIZE (1ull << 20)		/* smaller targets are refused */

struct engine_opts {
	const char *target;		/* block device or image file */
	unsigned partition;		/* N: partition N of target (GPT/MBR), 0 = target itself */
	enum engine_layout layout;	/* 0 = shift */
	const char *header;		/* detached: header file */
	const char *passphrase;		/* keyslot passphrase (not NUL-terminated) */
	size_t passphrase_len;
	/* The caller's key reference token for the new header (rootcrypt boot:
	 * its azure-keyvault token), as a JSON object with a "type" string and
	 * members the engine does not read; or NULL. The engine adds the
	 * "keyslots" of the keyslot it makes. */
	const char *key_token;
	/* engine_status: the type of token to hand back in key_token, or NULL. */
	const char *key_token_type;
	/* UUID of the new LUKS2 header (rootcrypt boot: the one the key was
	 * tagged with before anything was written), or NULL = random. */
	const char *uuid;
	uint32_t sector_size;		/* encryption sector; 0 = 4096 when possible, else 512 */
	bool json;			/* progress as JSON objects */
	FILE *progress;			/* NULL = stderr */
	/* Tuning (0 = default); tests use small values to get many crash points. */
	uint64_t data_off, unit, group;
	unsigned threads;
	/* Tests: already open devices instead of paths (target = whole disk
	 * when partition is set). Not closed by the engine. */
	struct blkdev *dev, *hdr_dev;
};

/* 0 when the target is fully converted (also when it already was). */
int engine_convert(const struct engine_opts *o);

enum engine_state {
	ENGINE_STATE_PLAIN,
	ENGINE_STATE_ENCRYPTING,
	ENGINE_STATE_ENCRYPTED,
	ENGINE_STATE_FOREIGN,		/* LUKS or another signature not ours */
};

struct engine_status {
	enum engine_state state;
	struct engine_hdr_info info;	/* ENCRYPTING/ENCRYPTED */
	uint64_t done, total;		/* bytes of plaintext converted / to convert */
	const char *what;		/* FOREIGN: what was found */
	/* ENCRYPTING/ENCRYPTED with o->key_token_type: that token's JSON text
	 * from the header the state was read from (malloc'ed), NULL if it has
	 * none. */
	char *key_token;
	/* ENCRYPTING: stock cryptsetup's online reencryption runs (online
	 * mode, src/engine/ONLINE.md); done/total from its header */
	bool online;
};

/* Reads the volume once (read-only): state, header facts, the key token.
 * Release with engine_status_clear(). */
int engine_status(const struct engine_opts *o, struct engine_status *ret);
void engine_status_clear(struct engine_status *st);
const char *engine_state_name(enum engine_state s);
const char *engine_layout_name(enum engine_layout l);

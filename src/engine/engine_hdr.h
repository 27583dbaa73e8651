/* The engine's view of a LUKS2 header, on top of luks2.h: build one for a
 * conversion, keep rootcrypt's own token (layout, lengths, progress mark) in
 * it, and write/read it through a blkdev at any base offset in the crash-safe
 * order the engine's argument relies on (ENGINE.md). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"
#include "engine_plan.h"

/* While converting, the header carries luks2.h's mandatory requirement
 * LUKS2_REQ_CONVERSION: stock cryptsetup refuses to open it. */
/* Type of rootcrypt's token (no secret in it). */
#define ENGINE_TOKEN_TYPE "rootcrypt-conversion"

struct engine_hdr;

struct engine_hdr_info {
	char uuid[40];
	bool ours;		/* carries our token */
	bool in_progress;	/* our requirement is set */
	bool both_copies;	/* both binary header copies valid and equal seqid */
	enum engine_layout layout;
	uint32_t sector_size;
	uint64_t data_off;	/* segment offset */
	uint64_t plain_len;	/* D */
	uint64_t tail_size;	/* T (shift) */
	uint64_t group;		/* detached record group size */
	uint64_t mark;		/* shift: plaintext [mark, D) done, durable */
	uint64_t hdr_len;	/* bytes of header (both json areas + keyslots) */
	char cipher[48];
};

struct engine_hdr_new {
	enum engine_layout layout;
	uint32_t sector_size;
	uint64_t data_off;
	uint64_t plain_len;
	uint64_t tail_size;
	uint64_t group;
	const uint8_t *volume_key;	/* 64 bytes */
	const char *passphrase;
	size_t passphrase_len;
	const char *key_token;	/* caller's token JSON (engine_opts.key_token), or NULL */
	const char *uuid;			/* NULL = random */
};

int engine_hdr_new(struct engine_hdr **ret, const struct engine_hdr_new *n);
/* 1 and *ret on a valid LUKS2 header at base (-EINVAL corrupt but LUKS
 * magic present, 0 none). */
int engine_hdr_load(struct blkdev *d, uint64_t base, struct engine_hdr **ret);
void engine_hdr_get(const struct engine_hdr *h, struct engine_hdr_info *ret);
/* The token of `type` (a caller's, opaque here): malloc'ed JSON text, or
 * NULL when the header has none. 0 or -ENOMEM. */
int engine_hdr_key_token(const struct engine_hdr *h, const char *type, char **ret_json);
/* Whether eh is what stock cryptsetup leaves when online mode's pass is
 * done (src/engine/ONLINE.md "At the end"): no requirement at all, the
 * caller's key token (key_token_type) present, aes-xts-plain64 with a
 * 512-bit key. Such a volume is rootcrypt's though it has no conversion
 * token: the key token is what decides. */
bool engine_hdr_online_finished(const struct engine_hdr *eh, const char *key_token_type);
/* Unlocks keyslot(s) with the passphrase into vk (64 bytes). -EPERM when
 * the passphrase is wrong. */
int engine_hdr_unlock(struct engine_hdr *h, const char *pass, size_t pass_len, uint8_t *vk,
		      size_t vk_size);
int engine_hdr_set_mark(struct engine_hdr *h, uint64_t mark);
/* Clears the in-progress requirement (the header becomes openable). */
int engine_hdr_set_final(struct engine_hdr *h);
/* Writes the whole header (keyslots too) at base: keyslots area, flush,
 * secondary copy, flush, primary copy, flush. Until the last step no valid
 * primary exists at base. */
int engine_hdr_write_full(struct engine_hdr *h, struct blkdev *d, uint64_t base);
/* Metadata-only update (seqid+1): primary copy, flush, secondary, flush;
 * at any cut one copy is whole and the higher valid seqid wins on load. */
int engine_hdr_commit(struct engine_hdr *h, struct blkdev *d, uint64_t base);
uint64_t engine_hdr_len(const struct engine_hdr *h);
void engine_hdr_free(struct engine_hdr *h);

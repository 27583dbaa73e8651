/* The data pipeline: one reader thread, N encryptor threads, and the caller
 * as the single writer. All writes and flushes happen in the caller's thread
 * in plan order, so the crash-safety argument (and the crash tests, which
 * count write/flush operations) see one deterministic sequence. Memory is
 * bounded by slots * unit. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blkdev.h"
#include "engine_plan.h"

struct engine_cipher;
struct engine_pipe;

struct engine_pipe_slot {
	struct engine_unit u;
	uint8_t *buf;		/* ciphertext after encryption */
	uint64_t *digests;	/* per-512-byte plaintext digests (if requested) */
};

/* Starts the threads over the units of pl, reading from src. digests: also
 * compute a digest of each plaintext sector before encrypting it. head: the
 * real plaintext of [0, head_len) when the disk holds zeros there (shift
 * layout hides the head while converting), else NULL. */
int engine_pipe_start(struct engine_pipe **ret, const struct engine_plan *pl, struct blkdev *src,
		      struct engine_cipher *xts, uint32_t sector_size, unsigned threads,
		      unsigned slots, bool digests, const uint8_t *head, uint64_t head_len);
/* Blocks until unit i is encrypted; units must be taken in order. */
int engine_pipe_get(struct engine_pipe *p, uint64_t i, struct engine_pipe_slot **ret);
/* Gives unit i's buffer back to the reader. */
void engine_pipe_put(struct engine_pipe *p, uint64_t i);
/* Stops (on error or at the end) and joins the threads; returns the first
 * error a thread saw, else 0. */
int engine_pipe_stop(struct engine_pipe *p);

/* AES-XTS of a run of whole sectors at plaintext offset plain_off, as LUKS2
 * and dm-crypt do it: the tweak counts 512-byte units whatever the sector
 * size (LUKS2 never sets iv_large_sectors), so a 4096-byte sector k uses
 * tweak 8k. Verified against cryptsetup's decryption. */
int engine_xts(struct engine_cipher *c, bool encrypt, uint64_t plain_off, uint32_t sector_size,
	       const void *in, void *out, size_t len);

/* The data cipher: the crypto layer's bulk AES-XTS (crypto_xts_bulk_new in
 * crypto.h picks the implementation for this CPU and honours ROOTCRYPT_XTS);
 * engine_xts adds LUKS2's tweak numbering on top. */
int engine_cipher_new(struct engine_cipher **ret, const void *key, size_t key_len);
const char *engine_cipher_name(const struct engine_cipher *c);
void engine_cipher_free(struct engine_cipher *c);

/* 64-bit digest of one sector, used to tell plaintext from ciphertext when
 * resuming a torn detached chunk (not a security primitive: the record is
 * wiped at the end). */
uint64_t engine_sector_digest(const void *data, size_t len);

/* LUKS2 on-disk format: build, write, read, validate and unlock standard
 * LUKS2 headers that stock cryptsetup (2.6) accepts.
 *
 * A struct luks2_hdr is self-contained: it holds the JSON metadata tree, the
 * binary header fields and the (encrypted, AF-split) material of every
 * keyslot, so a header read from one place can be written to another (the
 * engine moves a temporary header to its final place this way) and unlocked
 * without touching the disk again.
 *
 * Layout at a base byte offset B (0 for a header at the start of a device, or
 * anything else for a temporary header or one inside a larger file):
 *   B                      primary binary header (4096) + JSON area
 *   B + metadata_size      secondary binary header + JSON area
 *   B + 2*metadata_size    keyslots area (keyslots_size bytes, 4 KiB aligned)
 *   B + header_size        end of the header (= 2*metadata_size + keyslots_size)
 * All offsets inside the header (keyslot areas, segment offset) are relative
 * to B, as cryptsetup sees them when B is the start of the device/file.
 *
 * Functions return 0 or a negative errno, after printing one line naming what
 * failed (validation errors say which JSON object is wrong). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LUKS2_BIN_HDR_SIZE 4096
#define LUKS2_DEFAULT_METADATA_SIZE (16u * 1024)	 /* one copy: binary + JSON */
#define LUKS2_DEFAULT_HEADER_SIZE (16u * 1024 * 1024) /* both copies + keyslots */
#define LUKS2_KEYSLOTS_MAX 32
#define LUKS2_TOKENS_MAX 32
#define LUKS2_VOLUME_KEY_SIZE 64 /* aes-xts-plain64, 512-bit key */
/* Cryptsetup refuses fewer than 1000 PBKDF2 iterations. The keyslot
 * passphrase is a 256-bit random secret from Key Vault (DESIGN.md), so the
 * minimum is enough and unlocking costs ~nothing in a small VM. Callers may
 * ask for more. */
#define LUKS2_PBKDF2_MIN_ITERATIONS 1000u
#define LUKS2_PBKDF2_DEFAULT_ITERATIONS 1000u
#define LUKS2_AF_STRIPES 4000
/* The most PBKDF2 iterations rootcrypt computes for one keyslot or digest:
 * 1000x what it writes (its default and cryptsetup's minimum), about 0.5 s
 * of SHA-256 natively. A header asking for more is not one rootcrypt made,
 * and must not stall a boot for hours (UINT32_MAX iterations per keyslot).
 * AF stripes must be exactly LUKS2_AF_STRIPES, as every LUKS2 writer uses. */
#define LUKS2_PBKDF2_MAX_ITERATIONS 1000000u
/* segment size "dynamic": the segment runs to the end of the device */
#define LUKS2_SEGMENT_DYNAMIC UINT64_MAX

/* Mandatory requirement rootcrypt sets while a conversion is unfinished:
 * stock cryptsetup refuses to open the volume ("unmet requirements"). */
#define LUKS2_REQ_CONVERSION "rootcrypt-conversion"
/* cryptsetup's requirement while a LUKS2 reencryption (online mode) runs */
#define LUKS2_REQ_ONLINE "online-reencrypt-v2"

struct luks2_hdr;

struct luks2_params {
	uint64_t metadata_size;	 /* one copy; 16 KiB..4 MiB power of two; 0 = 16 KiB */
	uint64_t header_size;	 /* total incl. keyslots area, 4 KiB aligned; 0 = 16 MiB */
	uint32_t sector_size;	 /* 512 or 4096; 0 = 512 */
	uint64_t segment_offset; /* bytes from B: 0 detached, header_size for shift */
	uint64_t segment_size;	 /* bytes, or LUKS2_SEGMENT_DYNAMIC */
	const char *uuid;	 /* NULL: random (v4) */
	const char *label;	 /* NULL: none; at most 47 bytes */
	uint32_t digest_iterations; /* 0 = LUKS2_PBKDF2_DEFAULT_ITERATIONS */
};

/* New header for a volume with the given volume key (key_len must be
 * LUKS2_VOLUME_KEY_SIZE): one crypt segment aes-xts-plain64, a pbkdf2
 * digest of the key, no keyslots yet, seqid 0. */
int luks2_hdr_new(struct luks2_hdr **ret, const struct luks2_params *p, const void *volume_key,
		  size_t key_len);
void luks2_hdr_free(struct luks2_hdr *h);
/* A random (v4) UUID as text into out (at least 37 bytes), as
 * luks2_hdr_new() makes one: for a caller that must know a volume's UUID
 * before its header exists (the key's VolumeUUID tag). */
int luks2_uuid_random(char *out, size_t n);

/* --- Keyslots ------------------------------------------------------------ */

/* Adds a luks2 keyslot (PBKDF2-SHA256, AF 4000 stripes sha256, area
 * aes-xts-plain64) holding volume_key under passphrase. slot < 0 picks the
 * lowest free id; iterations 0 = default (>= LUKS2_PBKDF2_MIN_ITERATIONS).
 * The key is checked against the digest first (-EPERM if it does not match).
 * The area goes to the first free 4 KiB-aligned gap of the keyslots area
 * (-ENOSPC if none). Memory only: commit with luks2_hdr_write(). */
int luks2_keyslot_add(struct luks2_hdr *h, int slot, const void *volume_key, size_t key_len,
		      const void *passphrase, size_t pass_len, uint32_t iterations, int *ret_slot);
/* Removes a keyslot from the metadata (and from every digest/token that
 * lists it). Its area on disk is not wiped: get it with luks2_keyslot_area()
 * first, commit the metadata, then luks2_wipe_region(fd, base + off, len). */
int luks2_keyslot_remove(struct luks2_hdr *h, int slot);
/* Byte offset (from the header base) and length of a keyslot's area;
 * -ENOENT if the keyslot does not exist. */
int luks2_keyslot_area(const struct luks2_hdr *h, int slot, uint64_t *ret_off, uint64_t *ret_len);
/* 1 if the keyslot exists, 0 if not. */
int luks2_keyslot_exists(const struct luks2_hdr *h, int slot);

/* Passphrase -> volume key. slot < 0 tries every keyslot. On success
 * *ret_key is a secmem allocation (mlock'ed; release with secmem_free) of
 * *ret_key_len bytes, verified against the digest in constant time.
 * -EPERM: wrong passphrase. -ENOTSUP: keyslot uses a KDF rootcrypt does not
 * implement (argon2i/argon2id: refused with a clear message). */
int luks2_unlock(const struct luks2_hdr *h, int slot, const void *passphrase, size_t pass_len,
		 void **ret_key, size_t *ret_key_len, int *ret_slot);
/* 0 if volume_key matches the header's segment digest, -EPERM if not. */
int luks2_volume_key_verify(const struct luks2_hdr *h, const void *volume_key, size_t key_len);

/* --- Disk I/O --------------------------------------------------------------
 * fd may be a block device or a file; base is the byte offset of the header.
 *
 * luks2_hdr_write(): full write. seqid++, then
 *   1. every keyslot area, fdatasync
 *   2. first copy (see below): JSON area and binary header with checksum,
 *      fdatasync
 *   3. second copy, fdatasync.
 * New keyslot areas go only to gaps no keyslot of the in-memory header uses,
 * and areas of unchanged keyslots are rewritten with identical bytes, so step
 * 1 cannot harm the old header (the one exception: a keyslot removed and
 * re-allocated before the same commit loses its old area at step 1, which is
 * what removing it meant). A crash in step 2 leaves the second copy (old or
 * absent), a crash in step 3 leaves the first (new).
 * The first copy written is the primary, unless luks2_hdr_read() found only
 * the primary valid: then the damaged secondary is written first. Either way
 * the sole valid copy on disk is overwritten last, after the other one is
 * durable, so a torn write never destroys the last valid copy.
 *
 * luks2_hdr_write_metadata(): the same without step 1 (seqid++, both copies).
 * This is the cheap path for requirement flags and progress tokens: two
 * metadata_size writes + two fdatasync. */
int luks2_hdr_write(struct luks2_hdr *h, int fd, uint64_t base);
/* True when the next commit must write the secondary copy before the primary
 * (the header was read with only the primary valid). For callers that copy
 * the serialized bytes to the disk themselves, in their own order. */
bool luks2_hdr_secondary_first(const struct luks2_hdr *h);
int luks2_hdr_write_metadata(struct luks2_hdr *h, int fd, uint64_t base);

/* What luks2_hdr_read() found. */
struct luks2_read_status {
	bool primary_ok;
	bool secondary_ok;
	bool seqid_mismatch; /* both valid, different seqid: the newer was used */
	char primary_error[160];   /* why the primary was rejected ("" if ok) */
	char secondary_error[160]; /* same for the secondary */
};

/* Reads both copies, checks magic/version/checksum, parses and validates the
 * JSON (never trusting any size or offset), and keeps the valid copy with
 * the higher seqid, then loads each keyslot's area. If one copy is damaged a
 * warning naming it is printed and st (optional) says which; repair with
 * luks2_hdr_repair(). -ENODEV without a message (debug line only) if neither copy has
 * LUKS2 magic; -EINVAL with one line if both are damaged. */
int luks2_hdr_read(struct luks2_hdr **ret, int fd, uint64_t base, struct luks2_read_status *st);
/* Same from memory: buf holds the bytes from base on. Pure (fuzz target). */
int luks2_hdr_read_mem(struct luks2_hdr **ret, const void *buf, size_t len,
		       struct luks2_read_status *st);
/* Rewrites only the copy st says is damaged, from h (same seqid), then
 * fdatasync. No-op if both are fine. */
int luks2_hdr_repair(struct luks2_hdr *h, int fd, uint64_t base, const struct luks2_read_status *st);

/* 1 if a LUKS2 binary header (either copy's magic) is at base, 0 if not. */
int luks2_probe(int fd, uint64_t base);

/* Overwrites [base, base+len) with zeros and fdatasync (erase a temporary
 * header; len is typically luks2_hdr_header_size()). */
int luks2_wipe_region(int fd, uint64_t base, uint64_t len);

/* --- Segment and header getters / setters --------------------------------- */
uint64_t luks2_hdr_segment_offset(const struct luks2_hdr *h);
uint64_t luks2_hdr_segment_size(const struct luks2_hdr *h); /* or LUKS2_SEGMENT_DYNAMIC */
uint32_t luks2_hdr_sector_size(const struct luks2_hdr *h);
const char *luks2_hdr_cipher(const struct luks2_hdr *h); /* "aes-xts-plain64" */
size_t luks2_hdr_key_size(const struct luks2_hdr *h);	 /* bytes */
const char *luks2_hdr_uuid(const struct luks2_hdr *h);
const char *luks2_hdr_label(const struct luks2_hdr *h);
uint64_t luks2_hdr_seqid(const struct luks2_hdr *h);
uint64_t luks2_hdr_metadata_size(const struct luks2_hdr *h); /* one copy */
uint64_t luks2_hdr_keyslots_size(const struct luks2_hdr *h);
/* 2*metadata_size + keyslots_size: the lower bound for the data offset of a
 * non-detached header and the length to wipe. */
uint64_t luks2_hdr_header_size(const struct luks2_hdr *h);
/* XTS tweak ("sector" argument of crypto_xts_*) for data at byte offset
 * seg_off from the start of the data segment: iv_tweak + seg_off / 512.
 * LUKS2 does NOT use dm-crypt's iv_large_sectors (only BITLK does): with
 * 4096-byte sectors the tweak still counts 512-byte units, i.e. it advances
 * by 8 per sector. crypto_xts_* advance the tweak by 1 per sector within one
 * call, so with 4096-byte sectors call it once per sector:
 *   crypto_xts_encrypt(x, luks2_hdr_iv_sector(h, off), 4096, in, out, 4096)
 * (verified: cryptsetup 2.6.1 reencrypt --decrypt gives back the payload
 * only this way; see tests/integration/luks2-data.sh). */
uint64_t luks2_hdr_iv_sector(const struct luks2_hdr *h, uint64_t seg_off);
/* Changes the data segment (engine: e.g. from a temporary to final layout).
 * Validated like a read header. */
int luks2_hdr_set_segment(struct luks2_hdr *h, uint64_t offset, uint64_t size);
int luks2_hdr_set_label(struct luks2_hdr *h, const char *label);

/* --- Requirements (config.requirements.mandatory) -------------------------- */
int luks2_requirement_set(struct luks2_hdr *h, const char *name);
int luks2_requirement_clear(struct luks2_hdr *h, const char *name); /* absent is fine */
bool luks2_requirement_has(const struct luks2_hdr *h, const char *name);
/* Number of mandatory requirements and the i-th name (for status/dump). */
size_t luks2_requirement_count(const struct luks2_hdr *h);
const char *luks2_requirement_name(const struct luks2_hdr *h, size_t i);

/* --- cryptsetup's online reencryption (src/engine/ONLINE.md) --------------
 * While the requirement online-reencrypt-v2 is set, the segment getters
 * above (offset, size, sector size, cipher, key size, IV) and unlock read
 * the segment flagged backup-final: the volume as it will be. */
bool luks2_online_in_progress(const struct luks2_hdr *h);
/* 0 when the in-progress header is exactly the kind rootcrypt's online mode
 * has cryptsetup write: requirement online-reencrypt-v2 only, keyslots
 * luks2 and one reencrypt (mode encrypt), segments linear/crypt with
 * cryptsetup's flags, one backup-final crypt segment, every crypt segment
 * aes-xts-plain64 under the final segment's digest, 512-bit key. -EPERM
 * with the reason in err otherwise. Pure; prints nothing. */
int luks2_online_check(const struct luks2_hdr *h, char *err, size_t errlen);
/* Progress from the header alone: *ret_done = bytes in crypt segments
 * without flags (committed), *ret_total = size of the backup-previous
 * segment (dynamic: dev_size less its offset; dev_size is the data
 * device's size). -EINVAL when not in progress or inconsistent. */
int luks2_online_progress(const struct luks2_hdr *h, uint64_t dev_size, uint64_t *ret_done,
			  uint64_t *ret_total);

/* --- Tokens --------------------------------------------------------------
 * A token is a JSON object with at least "type" (string) and "keyslots"
 * (array of string ids), as cryptsetup requires; other members are kept
 * verbatim. id < 0 picks the lowest free id. */
int luks2_token_set_json(struct luks2_hdr *h, int id, const char *json, int *ret_id);
/* *ret_json: malloc'ed compact JSON text of token id; -ENOENT if none. */
int luks2_token_get_json(const struct luks2_hdr *h, int id, char **ret_json);
/* Lowest token id of that type, or -ENOENT. */
int luks2_token_find(const struct luks2_hdr *h, const char *type);
int luks2_token_remove(struct luks2_hdr *h, int id);

/* Cheap engine progress: set/replace the single token of `type` holding one
 * string member `key` = value (e.g. type "rootcrypt-progress", key
 * "done", value "123456789"), keyslots [] — then luks2_hdr_write_metadata(). */
int luks2_token_set_string(struct luks2_hdr *h, const char *type, const char *key,
			   const char *value);
/* *ret: malloc'ed copy of the member; -ENOENT if no such token/member. */
int luks2_token_get_string(const struct luks2_hdr *h, const char *type, const char *key,
			   char **ret);

/* A key reference token whose members only the caller understands (the
 * boot layer's azure-keyvault token, or any other type). json: a JSON
 * object with a "type" string and the caller's members; the token written
 * is "type", then "keyslots" (the ids set in the keyslots mask, which must
 * exist), then the caller's other members in their order ("keyslots" in
 * json is ignored). Replaces the token of that type (same id), else adds
 * one. Memory only. */
int luks2_token_put(struct luks2_hdr *h, const char *json, uint32_t keyslots, int *ret_id);
/* The lowest-id token of `type`: *ret_json its malloc'ed compact JSON text
 * (all members as on disk), *ret_keyslots (optional) its keyslot mask.
 * -ENOENT without a message when there is none. */
int luks2_token_get(const struct luks2_hdr *h, const char *type, char **ret_json,
		    uint32_t *ret_keyslots);

/* Human-readable dump (debug-luks2 dump): no key material. */
void luks2_hdr_dump(const struct luks2_hdr *h, FILE *f);
/* Compact JSON text of the whole metadata (malloc'ed). */
int luks2_hdr_json(const struct luks2_hdr *h, char **ret_json);

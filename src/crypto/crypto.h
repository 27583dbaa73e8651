/* The single crypto interface. Only crypto backend files include mbedTLS. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* "mbed TLS 2.28.3" for --version. */
const char *crypto_library_version(void);

/* Fills buf from getrandom(2); 0 or a negative errno. */
int crypto_random(void *buf, size_t len);

/* AES-XTS over whole data units of sector_size bytes: the tweak of each
 * unit is its little-endian 64-bit index, starting at first_sector and
 * growing by one per unit. dm-crypt's aes-xts-plain64 as LUKS2 uses it
 * counts the IV in 512-byte units even for 4096-byte sectors (no
 * iv_large_sectors), so such callers encrypt one 4096-byte unit per call
 * with first_sector = byte offset / 512 (see engine_xts()). key_len is 64
 * (AES-256-XTS) or 32 (AES-128-XTS). A context is read-only after init, so
 * several threads may use one concurrently. */
struct crypto_xts;
int crypto_xts_new(struct crypto_xts **ret, const void *key, size_t key_len);
int crypto_xts_encrypt(struct crypto_xts *x, uint64_t first_sector, size_t sector_size,
		       const void *in, void *out, size_t len);
int crypto_xts_decrypt(struct crypto_xts *x, uint64_t first_sector, size_t sector_size,
		       const void *in, void *out, size_t len);
void crypto_xts_free(struct crypto_xts *x);

/* The bulk data cipher (disk conversion): same contract as crypto_xts_*, but
 * the fastest implementation this CPU runs correctly, chosen here once per
 * key: AES-NI (with its VAES kernel when the CPU has AVX-512 VAES) when it
 * gives mbedTLS's bytes both ways on a self-test unit, else mbedTLS. The
 * environment variable ROOTCRYPT_XTS=mbedtls forces the reference, =aesni the
 * 128-bit AES-NI loop without VAES (benchmarks, tests); anything else is the
 * default choice. crypto_xts_bulk_name says which one runs: "mbedtls",
 * "aes-ni" or "vaes-avx512". Read-only after new: threads may share one. */
struct crypto_xts_bulk;
int crypto_xts_bulk_new(struct crypto_xts_bulk **ret, const void *key, size_t key_len);
int crypto_xts_bulk_encrypt(struct crypto_xts_bulk *x, uint64_t first_sector, size_t sector_size,
			    const void *in, void *out, size_t len);
int crypto_xts_bulk_decrypt(struct crypto_xts_bulk *x, uint64_t first_sector, size_t sector_size,
			    const void *in, void *out, size_t len);
const char *crypto_xts_bulk_name(const struct crypto_xts_bulk *x);
void crypto_xts_bulk_free(struct crypto_xts_bulk *x);

/* Hashes by cryptsetup name: "sha1", "sha256", "sha512" (LUKS2 headers made
 * by cryptsetup may use any of them for PBKDF2 and AF). Size in bytes, or
 * -EINVAL for a hash rootcrypt does not support. */
int crypto_hash_size(const char *name);
struct crypto_hash;
/* crypto_hash_new keeps the state in locked memory (for key material);
 * crypto_hash_new_public is for public bytes such as header checksums. */
int crypto_hash_new(struct crypto_hash **ret, const char *name);
int crypto_hash_new_public(struct crypto_hash **ret, const char *name);
int crypto_hash_update(struct crypto_hash *h, const void *buf, size_t len);
/* Writes the first out_len (<= hash size) bytes of the digest and resets the
 * context for reuse. */
int crypto_hash_final(struct crypto_hash *h, void *out, size_t out_len);
void crypto_hash_free(struct crypto_hash *h);
/* One-shot SHA-256 (32 bytes out). */
int crypto_sha256(const void *buf, size_t len, void *out);
/* HMAC with the named hash; out gets the full MAC (crypto_hash_size bytes). */
int crypto_hmac(const char *hash, const void *key, size_t key_len, const void *buf, size_t len,
		void *out);
/* PBKDF2 (RFC 8018) with HMAC-<hash>. iterations >= 1. */
int crypto_pbkdf2(const char *hash, const void *pass, size_t pass_len, const void *salt,
		  size_t salt_len, uint32_t iterations, void *out, size_t out_len);
/* Constant-time comparison: 0 if equal. */
int crypto_memneq(const void *a, const void *b, size_t len);

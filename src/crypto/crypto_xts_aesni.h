/* AES-256-XTS with AES-NI (8 blocks in flight; 32 with VAES), used by the engine when the
 * CPU has it; crypto_xts (mbedTLS) stays the reference and the fallback.
 * Checked byte for byte against IEEE 1619 vector 10 and against mbedTLS. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aesni_xts;

/* true when the CPU (cpuid) has AES-NI and SSE4.1. */
bool aesni_xts_supported(void);
/* key: 64 bytes (key1 || key2). -ENOTSUP without AES-NI. Locked memory. */
int aesni_xts_new(struct aesni_xts **ret, const void *key, size_t key_len);
/* One data unit of len bytes (multiple of 16) with tweak = le64(tweak_index). */
void aesni_xts_encrypt(const struct aesni_xts *x, uint64_t tweak_index, const void *in,
		       void *out, size_t len);
void aesni_xts_decrypt(const struct aesni_xts *x, uint64_t tweak_index, const void *in,
		       void *out, size_t len);
void aesni_xts_free(struct aesni_xts *x);
/* Runs of 512 bytes or more use the VAES kernel (crypto_xts_vaes.h) when the
 * CPU has it, which aesni_xts_new turns on by itself; this turns it off or
 * back on (tests compare both paths). Returns whether it is now on. */
bool aesni_xts_set_wide(struct aesni_xts *x, bool on);

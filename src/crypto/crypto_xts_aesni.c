/* AES-256-XTS on AES-NI. Only the functions marked with the "aes" target use
 * the instructions, so the rest of the binary stays baseline x86-64 and the
 * engine picks this backend only after a cpuid check. Key schedule per the
 * Intel AES-NI white paper (AES-256 expansion with aeskeygenassist); XTS per
 * IEEE 1619: T = E_K2(tweak), C = E_K1(P ^ T) ^ T, T *= x in GF(2^128). */
#include <errno.h>
#include <string.h>

#include "crypto_xts_aesni.h"
#include "crypto_xts_vaes.h"
#include "log.h"
#include "secmem.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AES_TARGET __attribute__((target("aes,sse4.1")))

struct aesni_xts {
	__m128i ek1[15], dk1[15], ek2[15];
	bool wide; /* runs of >= 512 bytes go to the VAES kernel */
};

bool aesni_xts_supported(void)
{
	__builtin_cpu_init(); /* needed before cpu_supports in static binaries */
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}

AES_TARGET static __m128i expand_a(__m128i k, __m128i t)
{
	t = _mm_shuffle_epi32(t, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, t);
}

AES_TARGET static __m128i expand_b(__m128i k1, __m128i k0)
{
	__m128i t = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k1, 0), 0xaa);

	k0 = _mm_xor_si128(k0, _mm_slli_si128(k0, 4));
	k0 = _mm_xor_si128(k0, _mm_slli_si128(k0, 4));
	k0 = _mm_xor_si128(k0, _mm_slli_si128(k0, 4));
	return _mm_xor_si128(k0, t);
}

AES_TARGET static void expand256(const uint8_t *key, __m128i *rk)
{
	rk[0] = _mm_loadu_si128((const __m128i *)key);
	rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
#define ROUND(i, rcon)                                                                      \
	rk[i] = expand_a(rk[i - 2], _mm_aeskeygenassist_si128(rk[i - 1], rcon));             \
	if (i + 1 < 15)                                                                     \
		rk[i + 1] = expand_b(rk[i], rk[i - 1]);
	ROUND(2, 0x01)
	ROUND(4, 0x02)
	ROUND(6, 0x04)
	ROUND(8, 0x08)
	ROUND(10, 0x10)
	ROUND(12, 0x20)
	ROUND(14, 0x40)
#undef ROUND
}

AES_TARGET static void make_dec(const __m128i *ek, __m128i *dk)
{
	dk[0] = ek[14];
	for (int i = 1; i < 14; i++)
		dk[i] = _mm_aesimc_si128(ek[14 - i]);
	dk[14] = ek[0];
}

int aesni_xts_new(struct aesni_xts **ret, const void *key, size_t key_len)
{
	struct aesni_xts *x;

	if (key_len != 64)
		return log_error(EINVAL, "AES-NI XTS needs a 64-byte key, not %zu", key_len);
	if (!aesni_xts_supported())
		return -ENOTSUP;
	x = secmem_alloc(sizeof(*x));
	if (!x)
		return log_error(ENOMEM, "cannot allocate AES-NI XTS context");
	if ((uintptr_t)x % 16) { /* secmem is page-backed; keep the check honest */
		secmem_free(x);
		return log_error(EINVAL, "AES-NI XTS context is misaligned");
	}
	expand256(key, x->ek1);
	expand256((const uint8_t *)key + 32, x->ek2);
	make_dec(x->ek1, x->dk1);
	x->wide = vaes_xts_supported();
	*ret = x;
	return 0;
}

bool aesni_xts_set_wide(struct aesni_xts *x, bool on)
{
	x->wide = on && vaes_xts_supported();
	return x->wide;
}

void aesni_xts_free(struct aesni_xts *x)
{
	secmem_free(x);
}

/* T * x in GF(2^128), IEEE 1619 little-endian convention: shift the 128-bit
 * value left by one; bit 63 carries into bit 64, bit 127 folds back as 0x87. */
AES_TARGET static inline __m128i gf_double(__m128i t)
{
	__m128i s = _mm_shuffle_epi32(_mm_srai_epi32(t, 31), 0x13);

	return _mm_xor_si128(_mm_slli_epi64(t, 1), _mm_and_si128(s, _mm_set_epi32(0, 1, 0, 0x87)));
}

#define LANES 8

AES_TARGET static void xts_run(const struct aesni_xts *x, bool enc, uint64_t idx,
			       const uint8_t *in, uint8_t *out, size_t len)
{
	const __m128i *k = enc ? x->ek1 : x->dk1;
	__m128i t = _mm_xor_si128(_mm_set_epi64x(0, (long long)idx), x->ek2[0]);
	size_t n = len / 16, i = 0;

	for (int r = 1; r < 14; r++)
		t = _mm_aesenc_si128(t, x->ek2[r]);
	t = _mm_aesenclast_si128(t, x->ek2[14]);

	if (x->wide && len >= 512) {
		uint8_t tw[16];

		_mm_storeu_si128((__m128i *)tw, t);
		vaes_xts_bulk(k, enc, tw, in, out, len & ~(size_t)511);
		t = _mm_loadu_si128((const __m128i *)tw);
		i = (len & ~(size_t)511) / 16;
	}
	for (; i + LANES <= n; i += LANES) {
		__m128i tw[LANES], b[LANES];

		tw[0] = t;
		for (int j = 1; j < LANES; j++)
			tw[j] = gf_double(tw[j - 1]);
		t = gf_double(tw[LANES - 1]);
		for (int j = 0; j < LANES; j++)
			b[j] = _mm_xor_si128(_mm_xor_si128(
				_mm_loadu_si128((const __m128i *)(in + 16 * (i + j))), tw[j]), k[0]);
		if (enc) {
			for (int r = 1; r < 14; r++)
				for (int j = 0; j < LANES; j++)
					b[j] = _mm_aesenc_si128(b[j], k[r]);
			for (int j = 0; j < LANES; j++)
				b[j] = _mm_aesenclast_si128(b[j], k[14]);
		} else {
			for (int r = 1; r < 14; r++)
				for (int j = 0; j < LANES; j++)
					b[j] = _mm_aesdec_si128(b[j], k[r]);
			for (int j = 0; j < LANES; j++)
				b[j] = _mm_aesdeclast_si128(b[j], k[14]);
		}
		for (int j = 0; j < LANES; j++)
			_mm_storeu_si128((__m128i *)(out + 16 * (i + j)), _mm_xor_si128(b[j], tw[j]));
	}
	for (; i < n; i++) {
		__m128i b = _mm_xor_si128(
			_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * i)), t), k[0]);

		for (int r = 1; r < 14; r++)
			b = enc ? _mm_aesenc_si128(b, k[r]) : _mm_aesdec_si128(b, k[r]);
		b = enc ? _mm_aesenclast_si128(b, k[14]) : _mm_aesdeclast_si128(b, k[14]);
		_mm_storeu_si128((__m128i *)(out + 16 * i), _mm_xor_si128(b, t));
		t = gf_double(t);
	}
}

void aesni_xts_encrypt(const struct aesni_xts *x, uint64_t tweak_index, const void *in,
		       void *out, size_t len)
{
	xts_run(x, true, tweak_index, in, out, len);
}

void aesni_xts_decrypt(const struct aesni_xts *x, uint64_t tweak_index, const void *in,
		       void *out, size_t len)
{
	xts_run(x, false, tweak_index, in, out, len);
}

#else /* not x86-64: no fast path, mbedTLS does the work */

struct aesni_xts {
	int unused;
};

bool aesni_xts_set_wide(struct aesni_xts *x, bool on)
{
	(void)x, (void)on;
	return false;
}

bool aesni_xts_supported(void)
{
	return false;
}

int aesni_xts_new(struct aesni_xts **ret, const void *key, size_t key_len)
{
	(void)ret;
	(void)key;
	(void)key_len;
	return -ENOTSUP;
}

void aesni_xts_encrypt(const struct aesni_xts *x, uint64_t tweak_index, const void *in,
		       void *out, size_t len)
{
	(void)x, (void)tweak_index, (void)in, (void)out, (void)len;
}

void aesni_xts_decrypt(const struct aesni_xts *x, uint64_t tweak_index, const void *in,
		       void *out, size_t len)
{
	(void)x, (void)tweak_index, (void)in, (void)out, (void)len;
}

bool aesni_xts_set_wide(struct aesni_xts *x, bool on)
{
	x->wide = on && vaes_xts_supported();
	return x->wide;
}

void aesni_xts_free(struct aesni_xts *x)
{
	(void)x;
}
#endif

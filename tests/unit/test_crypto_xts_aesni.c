/* The AES-NI XTS backend, with and without its VAES kernel: IEEE 1619
 * vector 10 (AES-256, data unit 0xff) and byte-for-byte agreement with mbedTLS
 * over many tweaks, lengths (below, at and past the 512-byte wide step) and
 * keys, in both directions. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "crypto_xts_aesni.h"
#include "crypto_xts_vaes.h"
#include "test.h"

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;

	while (s[0] && s[1] && n < max) {
		unsigned v;

		sscanf(s, "%2x", &v);
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return n;
}

static const char v10_ct[] =
	"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44"
	"680a86ac35adfc3345befecb4bb188fd5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
	"c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca2a3e7a7d7df7b10355165c8b9a6d0a7d"
	"e8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
	"93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6"
	"dc3966380ad8fecb17b6ba02469a020a84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
	"505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae9be69a2ffeceb1bec9de244fbe15992b"
	"11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
	"6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493"
	"c27b3429eaedb4ed5376441a77ed43851ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
	"773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";

static void vector10(bool wide)
{
	unsigned char key[64], pt[512], ct[512], want[512], back[512];
	struct aesni_xts *x = NULL;

	CHECK(unhex("27182818284590452353602874713526624977572470936999595749669676273141592653589793238462643383279502884197169399375105820974944592",
		    key, 64) == 64);
	CHECK(unhex(v10_ct, want, 512) == 512);
	for (int i = 0; i < 512; i++)
		pt[i] = (unsigned char)i;
	CHECK(aesni_xts_new(&x, key, 64) == 0);
	CHECK(aesni_xts_set_wide(x, wide) == wide);
	memset(ct, 0, sizeof(ct));
	aesni_xts_encrypt(x, 0xff, pt, ct, 512);
	aesni_xts_decrypt(x, 0xff, ct, back, 512);
	aesni_xts_free(x);
	CHECK_MEM(ct, want, 512);
	CHECK_MEM(back, pt, 512);
}

TEST(aesni_xts_ieee1619_vector10)
{
	if (!aesni_xts_supported())
		SKIP("this CPU has no AES-NI");
	vector10(false);
}

TEST(vaes_xts_ieee1619_vector10)
{
	if (!aesni_xts_supported() || !vaes_xts_supported())
		SKIP("this CPU has no VAES/VPCLMULQDQ/AVX-512 for the wide kernel");
	vector10(true);
}

static void matches_mbedtls(bool wide)
{
	static const size_t lens[] = { 16, 32, 112, 128, 144, 512, 528, 1136, 4096 };
	static unsigned char key[64], in[4096], a[4096], b[4096];
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (int k = 0; k < 8; k++) {
		struct aesni_xts *x = NULL;
		struct crypto_xts *ref = NULL;

		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (unsigned char)((seed = seed * 6364136223846793005ull + 1) >> 56);
		for (size_t i = 0; i < sizeof(in); i++)
			in[i] = (unsigned char)((seed = seed * 6364136223846793005ull + 1) >> 56);
		CHECK(aesni_xts_new(&x, key, 64) == 0);
		CHECK(crypto_xts_new(&ref, key, 64) == 0);
		CHECK(aesni_xts_set_wide(x, wide) == wide);
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			uint64_t tweak = seed >> (k * 7); /* large and small indexes */

			CHECK(crypto_xts_encrypt(ref, tweak, lens[l], in, a, lens[l]) == 0);
			aesni_xts_encrypt(x, tweak, in, b, lens[l]);
			CHECK_MEM(a, b, lens[l]);
			aesni_xts_decrypt(x, tweak, a, b, lens[l]);
			CHECK_MEM(b, in, lens[l]);
		}
		aesni_xts_free(x);
		crypto_xts_free(ref);
	}
}

TEST(aesni_xts_matches_mbedtls)
{
	if (!aesni_xts_supported())
		SKIP("this CPU has no AES-NI");
	matches_mbedtls(false);
}

TEST(vaes_xts_matches_mbedtls)
{
	if (!aesni_xts_supported() || !vaes_xts_supported())
		SKIP("this CPU has no VAES/VPCLMULQDQ/AVX-512 for the wide kernel");
	matches_mbedtls(true);
}

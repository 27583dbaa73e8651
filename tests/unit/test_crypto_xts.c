/* AES-XTS against IEEE 1619 known answers (vectors 1 and 10). */
#include <stdint.h>
#include <stdlib.h>

#include "crypto.h"
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

TEST(xts_ieee1619_vector1_aes128_zero)
{
	unsigned char key[32] = { 0 }, pt[32] = { 0 }, ct[32], back[32], want[32];
	struct crypto_xts *x;

	unhex("917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e", want, 32);
	CHECK(crypto_xts_new(&x, key, 32) == 0);
	CHECK(crypto_xts_encrypt(x, 0, 32, pt, ct, 32) == 0);
	CHECK_MEM(ct, want, 32);
	CHECK(crypto_xts_decrypt(x, 0, 32, ct, back, 32) == 0);
	CHECK_MEM(back, pt, 32);
	crypto_xts_free(x);
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

TEST(xts_ieee1619_vector10_aes256_sector255)
{
	unsigned char key[64], pt[512], ct[512], want[512], back[512];
	struct crypto_xts *x;

	CHECK(unhex("27182818284590452353602874713526624977572470936999595749669676273141592653589793238462643383279502884197169399375105820974944592",
		    key, 64) == 64);
	CHECK(unhex(v10_ct, want, 512) == 512);
	for (int i = 0; i < 512; i++)
		pt[i] = (unsigned char)i;
	CHECK(crypto_xts_new(&x, key, 64) == 0);
	CHECK(crypto_xts_encrypt(x, 0xff, 512, pt, ct, 512) == 0);
	CHECK_MEM(ct, want, 512);
	CHECK(crypto_xts_decrypt(x, 0xff, 512, ct, back, 512) == 0);
	CHECK_MEM(back, pt, 512);
	crypto_xts_free(x);
}

TEST(xts_multi_sector_uses_consecutive_tweaks)
{
	unsigned char key[64], pt[2048], ct[2048], one[512];
	struct crypto_xts *x;

	for (int i = 0; i < 64; i++)
		key[i] = (unsigned char)(i * 7 + 1);
	for (int i = 0; i < 2048; i++)
		pt[i] = (unsigned char)(i * 13);
	CHECK(crypto_xts_new(&x, key, 64) == 0);
	CHECK(crypto_xts_encrypt(x, 1000, 512, pt, ct, 2048) == 0);
	/* Sector 1002 alone must equal the third sector of the batch. */
	CHECK(crypto_xts_encrypt(x, 1002, 512, pt + 1024, one, 512) == 0);
	CHECK_MEM(one, ct + 1024, 512);
	CHECK(crypto_xts_encrypt(x, 0, 512, pt, ct, 100) < 0);
	crypto_xts_free(x);
}

TEST(xts_rejects_bad_key_length)
{
	unsigned char key[48] = { 0 };
	struct crypto_xts *x = NULL;

	CHECK(crypto_xts_new(&x, key, 48) < 0);
	CHECK(x == NULL);
}

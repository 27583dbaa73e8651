/* SHA-256, HMAC and PBKDF2 against published vectors (FIPS 180-2,
 * RFC 4231, RFC 6070, RFC 7914 section 11). */
#include <errno.h>
#include <stdint.h>

#include "crypto.h"
#include "test.h"

static void unhex(const char *s, unsigned char *out)
{
	for (size_t n = 0; s[0] && s[1]; s += 2, n++) {
		unsigned v;

		sscanf(s, "%2x", &v);
		out[n] = (unsigned char)v;
	}
}

TEST(sha256_abc)
{
	unsigned char out[32], want[32];

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	CHECK(crypto_sha256("abc", 3, out) == 0);
	CHECK_MEM(out, want, 32);
}

TEST(hash_incremental_and_truncated)
{
	struct crypto_hash *h;
	unsigned char out[32], want[32];

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	CHECK(crypto_hash_new(&h, "sha256") == 0);
	CHECK(crypto_hash_update(h, "a", 1) == 0);
	CHECK(crypto_hash_update(h, "bc", 2) == 0);
	CHECK(crypto_hash_final(h, out, 32) == 0);
	CHECK_MEM(out, want, 32);
	/* the context is reusable, and a truncated final gives the prefix */
	memset(out, 0, sizeof(out));
	CHECK(crypto_hash_update(h, "abc", 3) == 0);
	CHECK(crypto_hash_final(h, out, 7) == 0);
	CHECK_MEM(out, want, 7);
	CHECK(out[7] == 0);
	crypto_hash_free(h);
	CHECK(crypto_hash_size("sha512") == 64);
	CHECK(crypto_hash_size("sha1") == 20);
	CHECK(crypto_hash_size("md5") < 0);
	CHECK(crypto_hash_new(&h, "whirlpool") < 0);
}

TEST(hmac_sha256_rfc4231_case2)
{
	unsigned char out[32], want[32];
	const char *msg = "what do ya want for nothing?";

	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
	CHECK(crypto_hmac("sha256", "Jefe", 4, msg, strlen(msg), out) == 0);
	CHECK_MEM(out, want, 32);
}

TEST(pbkdf2_sha256_rfc7914)
{
	unsigned char out[64], want[64];

	unhex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	      "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783", want);
	CHECK(crypto_pbkdf2("sha256", "passwd", 6, "salt", 4, 1, out, 64) == 0);
	CHECK_MEM(out, want, 64);
	unhex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	      "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d", want);
	CHECK(crypto_pbkdf2("sha256", "Password", 8, "NaCl", 4, 80000, out, 64) == 0);
	CHECK_MEM(out, want, 64);
}

TEST(pbkdf2_sha1_rfc6070)
{
	unsigned char out[20], want[20];

	unhex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957", want);
	CHECK(crypto_pbkdf2("sha1", "password", 8, "salt", 4, 2, out, 20) == 0);
	CHECK_MEM(out, want, 20);
	CHECK(crypto_pbkdf2("sha256", "p", 1, "s", 1, 0, out, 20) < 0);
}

TEST(memneq_constant_time_compare)
{
	CHECK(crypto_memneq("abcd", "abcd", 4) == 0);
	CHECK(crypto_memneq("abcd", "abce", 4) != 0);
	CHECK(crypto_memneq("xbcd", "abcd", 4) != 0);
	CHECK(crypto_memneq("", "", 0) == 0);
}

TEST(hash_public_context_gives_the_same_digest)
{
	struct crypto_hash *h;
	unsigned char out[32], want[32];

	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	CHECK(crypto_hash_new_public(&h, "sha256") == 0);
	CHECK(crypto_hash_update(h, "ab", 2) == 0);
	CHECK(crypto_hash_update(h, "c", 1) == 0);
	CHECK(crypto_hash_final(h, out, 32) == 0);
	crypto_hash_free(h);
	CHECK_MEM(out, want, 32);
	CHECK(crypto_hash_new_public(&h, "md5") == -EINVAL);
}

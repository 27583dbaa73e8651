/* The crypto layer's bulk AES-XTS chooser (crypto_xts_bulk_new): it picks
 * the best implementation this CPU has, honours the ROOTCRYPT_XTS override,
 * and whatever it picks gives the reference's (mbedTLS) bytes both ways. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "crypto_xts_aesni.h"
#include "crypto_xts_vaes.h"
#include "test.h"

#define LEN (8 * 4096)

/* Runs fn with ROOTCRYPT_XTS set to force (NULL: unset), restoring the
 * caller's value after. Returns the chosen name in name (static strings). */
static int bulk_with(const char *force, const uint8_t *key, struct crypto_xts_bulk **ret)
{
	const char *old = getenv("ROOTCRYPT_XTS");
	char *saved = old ? strdup(old) : NULL;
	int r;

	if (force)
		setenv("ROOTCRYPT_XTS", force, 1);
	else
		unsetenv("ROOTCRYPT_XTS");
	r = crypto_xts_bulk_new(ret, key, 64);
	if (saved)
		setenv("ROOTCRYPT_XTS", saved, 1);
	else
		unsetenv("ROOTCRYPT_XTS");
	free(saved);
	return r;
}

/* Both sector sizes LUKS2 uses, at a tweak past 2^32: bulk == reference. */
static int agrees_with_reference(struct crypto_xts_bulk *b, const uint8_t *key)
{
	static uint8_t in[LEN], want[LEN], got[LEN], back[LEN];
	static const size_t sizes[] = { 512, 4096 };
	struct crypto_xts *ref = NULL;
	int ok = 1;

	for (size_t i = 0; i < LEN; i++)
		in[i] = (uint8_t)(i * 13 + (i >> 7));
	if (crypto_xts_new(&ref, key, 64) < 0)
		return 0;
	for (size_t s = 0; s < 2 && ok; s++) {
		uint64_t first = (UINT64_C(1) << 33) + 77;

		ok = crypto_xts_encrypt(ref, first, sizes[s], in, want, LEN) == 0 &&
		     crypto_xts_bulk_encrypt(b, first, sizes[s], in, got, LEN) == 0 &&
		     memcmp(want, got, LEN) == 0 &&
		     crypto_xts_bulk_decrypt(b, first, sizes[s], got, back, LEN) == 0 &&
		     memcmp(back, in, LEN) == 0;
	}
	crypto_xts_free(ref);
	return ok;
}

static void key_init(uint8_t *key)
{
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(0xa5 ^ (i * 29));
}

TEST(crypto_xts_bulk_picks_best_for_this_cpu)
{
	const char *want = !aesni_xts_supported() ? "mbedtls" :
			   vaes_xts_supported()   ? "vaes-avx512" :
						    "aes-ni";
	struct crypto_xts_bulk *b = NULL;
	uint8_t key[64];

	key_init(key);
	CHECK(bulk_with(NULL, key, &b) == 0);
	CHECK_EQ_STR(crypto_xts_bulk_name(b), want);
	CHECK(agrees_with_reference(b, key));
	crypto_xts_bulk_free(b);
	/* an unknown override value is the default choice */
	CHECK(bulk_with("fastest-please", key, &b) == 0);
	CHECK_EQ_STR(crypto_xts_bulk_name(b), want);
	crypto_xts_bulk_free(b);
}

TEST(crypto_xts_bulk_override_mbedtls)
{
	struct crypto_xts_bulk *b = NULL;
	uint8_t key[64];

	key_init(key);
	CHECK(bulk_with("mbedtls", key, &b) == 0);
	CHECK_EQ_STR(crypto_xts_bulk_name(b), "mbedtls");
	CHECK(agrees_with_reference(b, key));
	crypto_xts_bulk_free(b);
}

TEST(crypto_xts_bulk_override_aesni_without_vaes)
{
	struct crypto_xts_bulk *b = NULL;
	uint8_t key[64];

	if (!aesni_xts_supported())
		SKIP("this CPU has no AES-NI");
	key_init(key);
	CHECK(bulk_with("aesni", key, &b) == 0);
	CHECK_EQ_STR(crypto_xts_bulk_name(b), "aes-ni");
	CHECK(agrees_with_reference(b, key));
	crypto_xts_bulk_free(b);
}

/* Every backend refuses a length that is not whole sectors, and a key of
 * the wrong size is refused before anything is chosen. */
TEST(crypto_xts_bulk_refuses_bad_lengths_and_keys)
{
	static const char *const forces[] = { NULL, "aesni", "mbedtls" };
	uint8_t key[64], buf[1024] = { 0 };
	struct crypto_xts_bulk *b = NULL;

	key_init(key);
	for (size_t i = 0; i < 3; i++) {
		CHECK(bulk_with(forces[i], key, &b) == 0);
		CHECK_EQ_INT(crypto_xts_bulk_encrypt(b, 0, 512, buf, buf, 1000), -EINVAL);
		CHECK_EQ_INT(crypto_xts_bulk_decrypt(b, 0, 24, buf, buf, 48), -EINVAL);
		crypto_xts_bulk_free(b);
	}
	CHECK_EQ_INT(crypto_xts_bulk_new(&b, key, 48), -EINVAL);
}

/* The bulk data cipher: which AES-XTS implementation converts a disk is the
 * crypto layer's decision, made once per key here, so callers (the engine)
 * see one type whatever the CPU has. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "crypto_xts_aesni.h"
#include "log.h"

struct crypto_xts_bulk {
	struct crypto_xts *ref;	/* mbedTLS: the reference, and the fallback */
	struct aesni_xts *fast;	/* NULL when the reference does the work */
	bool wide;		/* fast uses its VAES kernel */
};

static int bulk_run(struct crypto_xts_bulk *x, bool encrypt, uint64_t first_sector,
		    size_t sector_size, const void *in, void *out, size_t len)
{
	if (!x->fast)
		return (encrypt ? crypto_xts_encrypt : crypto_xts_decrypt)(x->ref, first_sector,
									  sector_size, in, out, len);
	if (sector_size < 16 || sector_size % 16 || len % sector_size)
		return log_error(EINVAL, "AES-XTS length %zu is not a multiple of sector size %zu",
				 len, sector_size);
	for (size_t o = 0; o < len; o += sector_size)
		(encrypt ? aesni_xts_encrypt : aesni_xts_decrypt)(
			x->fast, first_sector + o / sector_size, (const uint8_t *)in + o,
			(uint8_t *)out + o, sector_size);
	return 0;
}

int crypto_xts_bulk_encrypt(struct crypto_xts_bulk *x, uint64_t first_sector, size_t sector_size,
			    const void *in, void *out, size_t len)
{
	return bulk_run(x, true, first_sector, sector_size, in, out, len);
}

int crypto_xts_bulk_decrypt(struct crypto_xts_bulk *x, uint64_t first_sector, size_t sector_size,
			    const void *in, void *out, size_t len)
{
	return bulk_run(x, false, first_sector, sector_size, in, out, len);
}

/* The fast path must give the reference's bytes, both ways, before any disk
 * sees them: one 4096-byte unit at an arbitrary tweak. */
static bool fast_agrees(struct crypto_xts_bulk *x)
{
	struct crypto_xts_bulk ref = { .ref = x->ref };
	uint8_t in[4096], a[4096], b[4096];
	bool ok;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 31 + (i >> 8));
	ok = bulk_run(&ref, true, 123 * 8, 4096, in, a, sizeof(in)) == 0 &&
	     bulk_run(x, true, 123 * 8, 4096, in, b, sizeof(in)) == 0 &&
	     memcmp(a, b, sizeof(a)) == 0 &&
	     bulk_run(x, false, 123 * 8, 4096, b, a, sizeof(in)) == 0 &&
	     memcmp(a, in, sizeof(in)) == 0;
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	return ok;
}

int crypto_xts_bulk_new(struct crypto_xts_bulk **ret, const void *key, size_t key_len)
{
	struct crypto_xts_bulk *x = calloc(1, sizeof(*x));
	/* Not a test hook (test_hooks.h), kept in the release build: it picks
	 * among implementations of the same XTS, each checked against mbedTLS
	 * before use, so whoever sets it (also through a dot-less kernel
	 * parameter) changes the speed only, never the bytes written. */
	const char *force = getenv("ROOTCRYPT_XTS");
	int r;

	if (!x)
		return log_error(ENOMEM, "cannot allocate the AES-XTS bulk cipher");
	r = crypto_xts_new(&x->ref, key, key_len);
	if (r < 0) {
		free(x);
		return r;
	}
	if (!(force && strcmp(force, "mbedtls") == 0) && aesni_xts_supported() &&
	    aesni_xts_new(&x->fast, key, key_len) == 0) {
		x->wide = aesni_xts_set_wide(x->fast, !(force && strcmp(force, "aesni") == 0));
		if (x->wide && !fast_agrees(x)) {
			log_warn("VAES XTS kernel disagrees with mbedTLS: using AES-NI alone");
			x->wide = aesni_xts_set_wide(x->fast, false);
		}
		if (!fast_agrees(x)) {
			log_warn("AES-NI XTS disagrees with mbedTLS: using mbedTLS");
			aesni_xts_free(x->fast);
			x->fast = NULL;
		}
	}
	*ret = x;
	return 0;
}

const char *crypto_xts_bulk_name(const struct crypto_xts_bulk *x)
{
	return !x->fast ? "mbedtls" : x->wide ? "vaes-avx512" : "aes-ni";
}

void crypto_xts_bulk_free(struct crypto_xts_bulk *x)
{
	if (!x)
		return;
	aesni_xts_free(x->fast);
	crypto_xts_free(x->ref);
	free(x);
}

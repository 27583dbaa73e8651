/* AES-XTS through mbedTLS, aes-xts-plain64 semantics. The engine may add a
 * faster backend behind the same functions; this one is the reference. */
#include <endian.h>
#include <errno.h>
#include <mbedtls/aes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "secmem.h"

struct crypto_xts {
	mbedtls_aes_xts_context enc;
	mbedtls_aes_xts_context dec;
};

int crypto_xts_new(struct crypto_xts **ret, const void *key, size_t key_len)
{
	struct crypto_xts *x;
	int r;

	if (key_len != 32 && key_len != 64)
		return log_error(EINVAL, "AES-XTS key must be 32 or 64 bytes, not %zu", key_len);
	/* The expanded key schedule is key material too: keep it locked. */
	x = secmem_alloc(sizeof(*x));
	if (!x)
		return log_error(ENOMEM, "cannot allocate AES-XTS context");
	mbedtls_aes_xts_init(&x->enc);
	mbedtls_aes_xts_init(&x->dec);
	r = mbedtls_aes_xts_setkey_enc(&x->enc, key, (unsigned)key_len * 8);
	if (r == 0)
		r = mbedtls_aes_xts_setkey_dec(&x->dec, key, (unsigned)key_len * 8);
	if (r != 0) {
		log_debug("mbedtls_aes_xts_setkey: -0x%04x", (unsigned)-r);
		crypto_xts_free(x);
		return log_error(EINVAL, "AES-XTS key setup failed");
	}
	*ret = x;
	return 0;
}

static int xts_run(struct crypto_xts *x, int mode, uint64_t sector, size_t sector_size,
		   const unsigned char *in, unsigned char *out, size_t len)
{
	if (sector_size < 16 || sector_size % 16 || len % sector_size)
		return log_error(EINVAL, "AES-XTS length %zu is not a multiple of sector size %zu",
				 len, sector_size);
	for (size_t off = 0; off < len; off += sector_size, sector++) {
		unsigned char tweak[16] = { 0 };
		uint64_t le = htole64(sector);
		int r;

		memcpy(tweak, &le, sizeof(le));
		r = mbedtls_aes_crypt_xts(mode == MBEDTLS_AES_ENCRYPT ? &x->enc : &x->dec, mode,
					  sector_size, tweak, in + off, out + off);
		if (r != 0) {
			log_debug("mbedtls_aes_crypt_xts: -0x%04x at sector %llu", (unsigned)-r,
				  (unsigned long long)sector);
			return log_error(EIO, "AES-XTS failed at sector %llu",
					 (unsigned long long)sector);
		}
	}
	return 0;
}

int crypto_xts_encrypt(struct crypto_xts *x, uint64_t first_sector, size_t sector_size,
		       const void *in, void *out, size_t len)
{
	return xts_run(x, MBEDTLS_AES_ENCRYPT, first_sector, sector_size, in, out, len);
}

int crypto_xts_decrypt(struct crypto_xts *x, uint64_t first_sector, size_t sector_size,
		       const void *in, void *out, size_t len)
{
	return xts_run(x, MBEDTLS_AES_DECRYPT, first_sector, sector_size, in, out, len);
}

void crypto_xts_free(struct crypto_xts *x)
{
	if (!x)
		return;
	mbedtls_aes_xts_free(&x->enc);
	mbedtls_aes_xts_free(&x->dec);
	secmem_free(x);
}

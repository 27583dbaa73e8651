/* Hashes, HMAC and PBKDF2 through mbedTLS (LUKS2 digests, keyslots, AF,
 * header checksums). mbedTLS errors stop here as -EINVAL/-ENOMEM. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "secmem.h"

struct crypto_hash {
	mbedtls_md_context_t md;
	size_t size;
	bool secret;
};

static const mbedtls_md_info_t *md_info(const char *name)
{
	static const struct {
		const char *name;
		mbedtls_md_type_t type;
	} table[] = {
		{ "sha1", MBEDTLS_MD_SHA1 },
		{ "sha256", MBEDTLS_MD_SHA256 },
		{ "sha512", MBEDTLS_MD_SHA512 },
	};

	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(name, table[i].name) == 0)
			return mbedtls_md_info_from_type(table[i].type);
	return NULL;
}

int crypto_hash_size(const char *name)
{
	const mbedtls_md_info_t *info = md_info(name);

	return info ? (int)mbedtls_md_get_size(info) : -EINVAL;
}

static void hash_release(struct crypto_hash *h)
{
	mbedtls_md_free(&h->md);
	if (h->secret) {
		secmem_free(h);
	} else {
		explicit_bzero(h, sizeof(*h));
		free(h);
	}
}

static int hash_new(struct crypto_hash **ret, const char *name, bool secret)
{
	const mbedtls_md_info_t *info = md_info(name);
	struct crypto_hash *h;
	int r;

	if (!info)
		return -EINVAL;
	h = secret ? secmem_alloc(sizeof(*h)) : calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->secret = secret;
	mbedtls_md_init(&h->md);
	r = mbedtls_md_setup(&h->md, info, 0);
	if (r == 0)
		r = mbedtls_md_starts(&h->md);
	if (r != 0) {
		log_debug("mbedtls_md_setup(%s): -0x%04x", name, (unsigned)-r);
		hash_release(h);
		return r == MBEDTLS_ERR_MD_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	h->size = mbedtls_md_get_size(info);
	*ret = h;
	return 0;
}

/* The AF diffuser hashes key material: keep the state locked. */
int crypto_hash_new(struct crypto_hash **ret, const char *name)
{
	return hash_new(ret, name, true);
}

/* Header checksums hash public bytes, once per header copy written: no
 * mlock/munlock pair (each one drains every CPU's page lists, up to ~10 ms
 * here while the encryptors keep both CPUs busy). */
int crypto_hash_new_public(struct crypto_hash **ret, const char *name)
{
	return hash_new(ret, name, false);
}

int crypto_hash_update(struct crypto_hash *h, const void *buf, size_t len)
{
	return mbedtls_md_update(&h->md, buf, len) == 0 ? 0 : -EINVAL;
}

int crypto_hash_final(struct crypto_hash *h, void *out, size_t out_len)
{
	unsigned char full[MBEDTLS_MD_MAX_SIZE];
	int r;

	if (out_len > h->size)
		return -EINVAL;
	r = mbedtls_md_finish(&h->md, full);
	if (r == 0)
		r = mbedtls_md_starts(&h->md);
	memcpy(out, full, out_len);
	secmem_wipe(full, sizeof(full));
	return r == 0 ? 0 : -EINVAL;
}

void crypto_hash_free(struct crypto_hash *h)
{
	if (h)
		hash_release(h);
}

int crypto_sha256(const void *buf, size_t len, void *out)
{
	return mbedtls_md(md_info("sha256"), buf, len, out) == 0 ? 0 : -EINVAL;
}

int crypto_hmac(const char *hash, const void *key, size_t key_len, const void *buf, size_t len,
		void *out)
{
	const mbedtls_md_info_t *info = md_info(hash);

	if (!info)
		return -EINVAL;
	return mbedtls_md_hmac(info, key, key_len, buf, len, out) == 0 ? 0 : -EINVAL;
}

int crypto_pbkdf2(const char *hash, const void *pass, size_t pass_len, const void *salt,
		  size_t salt_len, uint32_t iterations, void *out, size_t out_len)
{
	const mbedtls_md_info_t *info = md_info(hash);
	mbedtls_md_context_t md;
	int r;

	if (!info || iterations == 0 || out_len > UINT32_MAX)
		return -EINVAL;
	mbedtls_md_init(&md);
	r = mbedtls_md_setup(&md, info, 1);
	if (r == 0)
		r = mbedtls_pkcs5_pbkdf2_hmac(&md, pass, pass_len, salt, salt_len, iterations,
					      (uint32_t)out_len, out);
	mbedtls_md_free(&md);
	if (r != 0) {
		log_debug("mbedtls_pkcs5_pbkdf2_hmac(%s): -0x%04x", hash, (unsigned)-r);
		return r == MBEDTLS_ERR_MD_ALLOC_FAILED ? -ENOMEM : -EINVAL;
	}
	return 0;
}

int crypto_memneq(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

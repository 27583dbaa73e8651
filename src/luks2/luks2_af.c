/* Anti-forensic splitter (LUKS1 AF, used by LUKS2 keyslots): the key is
 * spread over `stripes` blocks, each diffused through a hash, so wiping any
 * part of the area destroys the key. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "luks2_internal.h"
#include "secmem.h"

size_t luks2_af_size(size_t key_len, unsigned stripes)
{
	size_t n = key_len * stripes;

	return (n + 511) / 512 * 512;
}

/* Each hash-sized chunk i of buf becomes H(be32(i) || chunk), the last
 * (partial) chunk truncated to its length. */
static int diffuse(struct crypto_hash *h, size_t hsize, uint8_t *buf, size_t len)
{
	uint8_t out[64];

	for (uint32_t i = 0; (size_t)i * hsize < len; i++) {
		size_t off = (size_t)i * hsize, n = len - off < hsize ? len - off : hsize;
		uint32_t be = htobe32(i);
		int r;

		if ((r = crypto_hash_update(h, &be, sizeof(be))) < 0 ||
		    (r = crypto_hash_update(h, buf + off, n)) < 0 || (r = crypto_hash_final(h, out, n)) < 0)
			return r;
		memcpy(buf + off, out, n);
	}
	secmem_wipe(out, sizeof(out));
	return 0;
}

static void xor_into(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] ^= src[i];
}

static int af_setup(const char *hash, size_t key_len, unsigned stripes, struct crypto_hash **h,
		    uint8_t **acc, size_t *hsize)
{
	int s = crypto_hash_size(hash), r;

	if (s <= 0 || s > 64 || key_len == 0 || key_len > 512 || stripes == 0)
		return -EINVAL;
	*hsize = (size_t)s;
	r = crypto_hash_new(h, hash);
	if (r < 0)
		return r;
	*acc = secmem_alloc(key_len);
	if (!*acc) {
		crypto_hash_free(*h);
		return -ENOMEM;
	}
	return 0;
}

int luks2_af_split(const void *key, size_t key_len, unsigned stripes, const char *hash, void *out)
{
	struct crypto_hash *h;
	uint8_t *acc, *o = out;
	size_t hsize;
	int r = af_setup(hash, key_len, stripes, &h, &acc, &hsize);

	if (r < 0)
		return r;
	memset(o, 0, luks2_af_size(key_len, stripes));
	for (unsigned i = 0; i + 1 < stripes; i++) {
		uint8_t *blk = o + (size_t)i * key_len;

		if ((r = crypto_random(blk, key_len)) < 0)
			goto out;
		xor_into(acc, blk, key_len);
		if ((r = diffuse(h, hsize, acc, key_len)) < 0)
			goto out;
	}
	memcpy(o + (size_t)(stripes - 1) * key_len, key, key_len);
	xor_into(o + (size_t)(stripes - 1) * key_len, acc, key_len);
out:
	secmem_free(acc);
	crypto_hash_free(h);
	return r;
}

int luks2_af_merge(const void *in, size_t key_len, unsigned stripes, const char *hash, void *key)
{
	const uint8_t *p = in;
	struct crypto_hash *h;
	uint8_t *acc;
	size_t hsize;
	int r = af_setup(hash, key_len, stripes, &h, &acc, &hsize);

	if (r < 0)
		return r;
	for (unsigned i = 0; i + 1 < stripes; i++) {
		xor_into(acc, p + (size_t)i * key_len, key_len);
		if ((r = diffuse(h, hsize, acc, key_len)) < 0)
			goto out;
	}
	memcpy(key, p + (size_t)(stripes - 1) * key_len, key_len);
	xor_into(key, acc, key_len);
out:
	secmem_free(acc);
	crypto_hash_free(h);
	return r;
}

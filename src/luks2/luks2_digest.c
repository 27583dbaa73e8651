/* Digest type "pbkdf2": PBKDF2(volume key, salt) stored in the header so a
 * candidate volume key can be checked without touching the data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "luks2_internal.h"
#include "secmem.h"

int luks2_digest_new(struct json_object **ret, const void *vk, size_t vk_len, uint32_t iterations)
{
	uint8_t salt[LUKS2_KDF_SALT_LEN], dig[32];
	char *salt64 = NULL, *dig64 = NULL;
	struct json_object *d;
	int r;

	r = crypto_random(salt, sizeof(salt));
	if (r < 0)
		return r;
	r = crypto_pbkdf2("sha256", vk, vk_len, salt, sizeof(salt), iterations, dig, sizeof(dig));
	if (r < 0)
		return r;
	if ((r = luks2_base64_encode(salt, sizeof(salt), &salt64)) < 0 ||
	    (r = luks2_base64_encode(dig, sizeof(dig), &dig64)) < 0)
		goto out;
	d = json_object_new_object();
	if (!d) {
		r = -ENOMEM;
		goto out;
	}
	json_object_object_add(d, "type", json_object_new_string("pbkdf2"));
	json_object_object_add(d, "keyslots", json_object_new_array());
	json_object_object_add(d, "segments", json_object_new_array());
	json_object_object_add(d, "hash", json_object_new_string("sha256"));
	json_object_object_add(d, "iterations", json_object_new_int64(iterations));
	json_object_object_add(d, "salt", json_object_new_string(salt64));
	json_object_object_add(d, "digest", json_object_new_string(dig64));
	*ret = d;
out:
	free(salt64);
	free(dig64);
	secmem_wipe(dig, sizeof(dig));
	return r;
}

int luks2_digest_verify(struct json_object *d, const void *vk, size_t vk_len)
{
	struct json_object *o;
	uint8_t salt[LUKS2_KDF_SALT_LEN], want[64], got[64];
	const char *hash;
	size_t dlen;
	int64_t iter;
	int hsize, r;

	o = luks2_json_get(d, "type", json_type_string);
	if (!o || strcmp(json_object_get_string(o), "pbkdf2") != 0)
		return -ENOTSUP;
	o = luks2_json_get(d, "hash", json_type_string);
	hash = o ? json_object_get_string(o) : NULL;
	hsize = crypto_hash_size(hash);
	if (hsize <= 0)
		return -ENOTSUP;
	if (!luks2_json_int(luks2_json_get(d, "iterations", json_type_int), 1, UINT32_MAX, &iter))
		return -EINVAL;
	if (iter > LUKS2_PBKDF2_MAX_ITERATIONS)
		return -ENOTSUP; /* see luks2.h: not a header rootcrypt made */
	o = luks2_json_get(d, "salt", json_type_string);
	if (!o || luks2_base64_decode(json_object_get_string(o), salt, sizeof(salt), sizeof(salt), NULL) < 0)
		return -EINVAL;
	o = luks2_json_get(d, "digest", json_type_string);
	if (!o || luks2_base64_decode(json_object_get_string(o), want, LUKS2_DIGEST_LEN_MIN, sizeof(want), &dlen) < 0)
		return -EINVAL;
	/* cryptsetup: 20 bytes (LUKS1 heritage) or the full hash size */
	if (dlen != LUKS2_DIGEST_LEN_MIN && dlen != (size_t)hsize)
		return -EINVAL;
	r = crypto_pbkdf2(hash, vk, vk_len, salt, sizeof(salt), (uint32_t)iter, got, dlen);
	if (r == 0)
		r = crypto_memneq(got, want, dlen) ? -EPERM : 0;
	secmem_wipe(got, sizeof(got));
	return r;
}

struct json_object *luks2_digest_for_segment(const struct luks2_hdr *h)
{
	char seg[12];

	snprintf(seg, sizeof(seg), "%d", luks2_data_segment_id(h));
	json_object_object_foreach(luks2_json_section(h, "digests"), id, d)
	{
		(void)id;
		if (luks2_json_array_has(luks2_json_get(d, "segments", json_type_array), seg))
			return d;
	}
	return NULL;
}

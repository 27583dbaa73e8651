/* Keyslot type "luks2": PBKDF2 turns the passphrase into an area key, the
 * area (aes-xts-plain64, 512-byte sectors counted from the area start)
 * holds the AF-split volume key. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "luks2_internal.h"
#include "secmem.h"

#define AREA_CIPHER "aes-xts-plain64"

int luks2_keyslot_exists(const struct luks2_hdr *h, int slot)
{
	return slot >= 0 && slot < LUKS2_KEYSLOTS_MAX &&
	       luks2_json_by_id(luks2_json_section(h, "keyslots"), slot) != NULL;
}

int luks2_keyslot_area(const struct luks2_hdr *h, int slot, uint64_t *ret_off, uint64_t *ret_len)
{
	struct json_object *ks = slot >= 0 ? luks2_json_by_id(luks2_json_section(h, "keyslots"), slot) : NULL;
	struct json_object *area = luks2_json_get(ks, "area", json_type_object);

	/* validated on read and on every change */
	if (!luks2_json_u64(luks2_json_get(area, "offset", json_type_string), ret_off) ||
	    !luks2_json_u64(luks2_json_get(area, "size", json_type_string), ret_len))
		return -ENOENT;
	return 0;
}

int luks2_volume_key_verify(const struct luks2_hdr *h, const void *volume_key, size_t key_len)
{
	struct json_object *d = luks2_digest_for_segment(h);
	int r;

	if (!d)
		return log_error(EINVAL, "LUKS2 header has no digest for segment 0");
	r = luks2_digest_verify(d, volume_key, key_len);
	if (r == -EINVAL || r == -ENOTSUP)
		return log_error(-r, "LUKS2 segment digest is malformed or of an unsupported type");
	return r;
}

/* First 4 KiB-aligned gap of `len` bytes in the keyslots area. */
static int area_alloc(const struct luks2_hdr *h, uint64_t len, uint64_t *ret)
{
	uint64_t lo = 2 * h->hdr_size, hi = lo + luks2_hdr_keyslots_size(h), cand = lo;
	bool moved = true;

	/* at most 32 areas: restart the scan whenever the candidate moves */
	while (moved) {
		moved = false;
		json_object_object_foreach(luks2_json_section(h, "keyslots"), id, ks)
		{
			struct json_object *area = luks2_json_get(ks, "area", json_type_object);
			uint64_t off, size;

			(void)id;
			if (!luks2_json_u64(luks2_json_get(area, "offset", json_type_string), &off) ||
			    !luks2_json_u64(luks2_json_get(area, "size", json_type_string), &size))
				continue;
			if (cand < off + size && off < cand + len) {
				cand = (off + size + 4095) / 4096 * 4096;
				moved = true;
			}
		}
	}
	if (cand > hi || len > hi - cand)
		return -ENOSPC;
	*ret = cand;
	return 0;
}

static struct json_object *keyslot_json(size_t key_len, uint64_t off, uint64_t len, uint32_t iter,
					const char *salt64)
{
	struct json_object *ks = json_object_new_object(), *af, *area, *kdf;

	if (!ks)
		return NULL;
	af = json_object_new_object();
	area = json_object_new_object();
	kdf = json_object_new_object();
	json_object_object_add(ks, "type", json_object_new_string("luks2"));
	json_object_object_add(ks, "key_size", json_object_new_int((int)key_len));
	json_object_object_add(af, "type", json_object_new_string("luks1"));
	json_object_object_add(af, "stripes", json_object_new_int(LUKS2_AF_STRIPES));
	json_object_object_add(af, "hash", json_object_new_string("sha256"));
	json_object_object_add(ks, "af", af);
	json_object_object_add(area, "type", json_object_new_string("raw"));
	json_object_object_add(area, "offset", luks2_json_new_u64(off));
	json_object_object_add(area, "size", luks2_json_new_u64(len));
	json_object_object_add(area, "encryption", json_object_new_string(AREA_CIPHER));
	json_object_object_add(area, "key_size", json_object_new_int((int)key_len));
	json_object_object_add(ks, "area", area);
	json_object_object_add(kdf, "type", json_object_new_string("pbkdf2"));
	json_object_object_add(kdf, "hash", json_object_new_string("sha256"));
	json_object_object_add(kdf, "iterations", json_object_new_int64(iter));
	json_object_object_add(kdf, "salt", json_object_new_string(salt64));
	json_object_object_add(ks, "kdf", kdf);
	return ks;
}

static int xts_area(bool enc, const void *key, size_t key_len, const void *in, void *out, size_t len)
{
	struct crypto_xts *x;
	int r = crypto_xts_new(&x, key, key_len);

	if (r < 0)
		return r;
	r = enc ? crypto_xts_encrypt(x, 0, 512, in, out, len) : crypto_xts_decrypt(x, 0, 512, in, out, len);
	crypto_xts_free(x);
	return r;
}

int luks2_keyslot_add(struct luks2_hdr *h, int slot, const void *volume_key, size_t key_len,
		      const void *passphrase, size_t pass_len, uint32_t iterations, int *ret_slot)
{
	size_t af_len = luks2_af_size(key_len, LUKS2_AF_STRIPES);
	uint64_t area_len = (af_len + 4095) / 4096 * 4096, off;
	uint8_t salt[LUKS2_KDF_SALT_LEN];
	_cleanup_secmem_ uint8_t *area_key = NULL, *af = NULL;
	uint8_t *data = NULL;
	char *salt64 = NULL, id[8];
	struct json_object *ks;
	int r;

	if (iterations == 0)
		iterations = LUKS2_PBKDF2_DEFAULT_ITERATIONS;
	if (iterations < LUKS2_PBKDF2_MIN_ITERATIONS)
		return log_error(EINVAL, "PBKDF2 iterations %" PRIu32 " below cryptsetup's minimum %u", iterations,
				 LUKS2_PBKDF2_MIN_ITERATIONS);
	if (key_len != 32 && key_len != 64)
		return log_error(EINVAL, "volume key must be 32 or 64 bytes, not %zu", key_len);
	if (slot < 0) {
		for (slot = 0; slot < LUKS2_KEYSLOTS_MAX && luks2_keyslot_exists(h, slot); slot++)
			;
		if (slot == LUKS2_KEYSLOTS_MAX)
			return log_error(ENOSPC, "all %d LUKS2 keyslots are in use", LUKS2_KEYSLOTS_MAX);
	} else if (slot >= LUKS2_KEYSLOTS_MAX) {
		return log_error(EINVAL, "LUKS2 keyslot %d out of range 0..%d", slot, LUKS2_KEYSLOTS_MAX - 1);
	} else if (luks2_keyslot_exists(h, slot)) {
		return log_error(EEXIST, "LUKS2 keyslot %d is in use", slot);
	}
	r = luks2_volume_key_verify(h, volume_key, key_len);
	if (r == -EPERM)
		return log_error(EPERM, "volume key does not match the LUKS2 header's digest");
	if (r < 0)
		return r;
	if (area_alloc(h, area_len, &off) < 0)
		return log_error(ENOSPC, "no free %" PRIu64 "-byte gap in the LUKS2 keyslots area", area_len);

	area_key = secmem_alloc(key_len);
	af = secmem_alloc(af_len);
	data = calloc(1, area_len);
	if (!area_key || !af || !data) {
		r = log_error(ENOMEM, "cannot allocate LUKS2 keyslot buffers");
		goto out;
	}
	if ((r = crypto_random(salt, sizeof(salt))) < 0)
		goto out;
	r = crypto_pbkdf2("sha256", passphrase, pass_len, salt, sizeof(salt), iterations, area_key, key_len);
	if (r == 0)
		r = luks2_af_split(volume_key, key_len, LUKS2_AF_STRIPES, "sha256", af);
	if (r == 0)
		r = xts_area(true, area_key, key_len, af, data, af_len);
	if (r < 0) {
		r = log_error(-r, "cannot build LUKS2 keyslot %d", slot);
		goto out;
	}
	if ((r = luks2_base64_encode(salt, sizeof(salt), &salt64)) < 0)
		goto out;
	ks = keyslot_json(key_len, off, area_len, iterations, salt64);
	if ((r = luks2_json_add_by_id(luks2_json_section(h, "keyslots"), slot, ks)) < 0)
		goto out;
	snprintf(id, sizeof(id), "%d", slot);
	r = luks2_json_array_add(luks2_json_get(luks2_digest_for_segment(h), "keyslots", json_type_array), id);
	if (r < 0) {
		json_object_object_del(luks2_json_section(h, "keyslots"), id);
		goto out;
	}
	free(h->ks_data[slot]);
	h->ks_data[slot] = data;
	h->ks_len[slot] = area_len;
	h->ks_dirty[slot] = true;
	data = NULL;
	if (ret_slot)
		*ret_slot = slot;
out:
	if (r == -ENOMEM)
		log_error(ENOMEM, "cannot add LUKS2 keyslot");
	free(salt64);
	free(data);
	return r;
}

int luks2_keyslot_remove(struct luks2_hdr *h, int slot)
{
	char id[8];

	if (!luks2_keyslot_exists(h, slot))
		return log_error(ENOENT, "LUKS2 keyslot %d does not exist", slot);
	snprintf(id, sizeof(id), "%d", slot);
	json_object_object_foreach(luks2_json_section(h, "digests"), did, d)
	{
		(void)did;
		luks2_json_array_del(luks2_json_get(d, "keyslots", json_type_array), id);
	}
	json_object_object_foreach(luks2_json_section(h, "tokens"), tid, t)
	{
		(void)tid;
		luks2_json_array_del(luks2_json_get(t, "keyslots", json_type_array), id);
	}
	json_object_object_del(luks2_json_section(h, "keyslots"), id);
	free(h->ks_data[slot]);
	h->ks_data[slot] = NULL;
	h->ks_len[slot] = 0;
	h->ks_dirty[slot] = false;
	return 0;
}

/* Opens one keyslot: 0 with the volume key in *ret, -EPERM for a wrong
 * passphrase, -ENOTSUP for a keyslot kind rootcrypt cannot open (reason in
 * why), -EINVAL for malformed parameters. */
static int keyslot_open(const struct luks2_hdr *h, int slot, const void *pass, size_t pass_len,
			uint8_t **ret, size_t *ret_len, char *why, size_t whylen)
{
	struct json_object *ks = luks2_json_by_id(luks2_json_section(h, "keyslots"), slot);
	struct json_object *kdf = luks2_json_get(ks, "kdf", json_type_object);
	struct json_object *af = luks2_json_get(ks, "af", json_type_object);
	struct json_object *area = luks2_json_get(ks, "area", json_type_object);
	const char *kdf_type, *kdf_hash, *af_hash, *enc;
	int64_t key_size, area_key_size, iter, stripes;
	uint8_t salt[128];
	size_t salt_len, af_len;
	_cleanup_secmem_ uint8_t *area_key = NULL, *plain = NULL;
	uint8_t *vk = NULL;
	int r;

	if (strcmp(luks2_str(luks2_json_get(ks, "type", json_type_string)), "luks2") != 0) {
		luks2_err(why, whylen, "keyslot %d has type \"%s\"", slot,
			  luks2_str(luks2_json_get(ks, "type", json_type_string)));
		return -ENOTSUP;
	}
	kdf_type = luks2_str(luks2_json_get(kdf, "type", json_type_string));
	if (strcmp(kdf_type, "pbkdf2") != 0) {
		luks2_err(why, whylen, "keyslot %d uses KDF \"%s\"; rootcrypt supports only pbkdf2 (convert with: cryptsetup luksConvertKey --pbkdf pbkdf2)",
			  slot, kdf_type);
		return -ENOTSUP;
	}
	kdf_hash = luks2_str(luks2_json_get(kdf, "hash", json_type_string));
	af_hash = luks2_str(luks2_json_get(af, "hash", json_type_string));
	enc = luks2_str(luks2_json_get(area, "encryption", json_type_string));
	if (crypto_hash_size(kdf_hash) <= 0 || crypto_hash_size(af_hash) <= 0 || strcmp(enc, AREA_CIPHER) != 0) {
		luks2_err(why, whylen, "keyslot %d uses hash \"%s\"/\"%s\" or area cipher \"%s\", not supported",
			  slot, kdf_hash, af_hash, enc);
		return -ENOTSUP;
	}
	if (!luks2_json_int(luks2_json_get(ks, "key_size", json_type_int), 1, 512, &key_size) ||
	    !luks2_json_int(luks2_json_get(area, "key_size", json_type_int), 1, 512, &area_key_size) ||
	    !luks2_json_int(luks2_json_get(kdf, "iterations", json_type_int), 1, UINT32_MAX, &iter) ||
	    !luks2_json_int(luks2_json_get(af, "stripes", json_type_int), 1, INT32_MAX, &stripes) ||
	    luks2_base64_decode(luks2_str(luks2_json_get(kdf, "salt", json_type_string)), salt, 1,
				sizeof(salt), &salt_len) < 0) {
		luks2_err(why, whylen, "keyslot %d has malformed parameters", slot);
		return -EINVAL;
	}
	if (iter > LUKS2_PBKDF2_MAX_ITERATIONS) {
		luks2_err(why, whylen, "keyslot %d asks for %" PRId64 " PBKDF2 iterations, over rootcrypt's limit of %u",
			  slot, iter, LUKS2_PBKDF2_MAX_ITERATIONS);
		return -ENOTSUP;
	}
	if (stripes != LUKS2_AF_STRIPES) {
		luks2_err(why, whylen, "keyslot %d has %" PRId64 " AF stripes, not %d", slot, stripes,
			  LUKS2_AF_STRIPES);
		return -EINVAL;
	}
	if (area_key_size != 32 && area_key_size != 64) {
		luks2_err(why, whylen, "keyslot %d area key size %" PRId64 " is not 32 or 64", slot, area_key_size);
		return -ENOTSUP;
	}
	/* the split key must fit the area that was read (never trust stripes) */
	if ((uint64_t)stripes > h->ks_len[slot] / (uint64_t)key_size ||
	    (af_len = luks2_af_size((size_t)key_size, (unsigned)stripes)) > h->ks_len[slot] || !h->ks_data[slot]) {
		luks2_err(why, whylen, "keyslot %d: %" PRId64 " stripes of %" PRId64 " bytes exceed its area", slot,
			  stripes, key_size);
		return -EINVAL;
	}
	area_key = secmem_alloc((size_t)area_key_size);
	plain = secmem_alloc(af_len);
	vk = secmem_alloc((size_t)key_size);
	if (!area_key || !plain || !vk) {
		secmem_free(vk);
		return -ENOMEM;
	}
	r = crypto_pbkdf2(kdf_hash, pass, pass_len, salt, salt_len, (uint32_t)iter, area_key, (size_t)area_key_size);
	if (r == 0)
		r = xts_area(false, area_key, (size_t)area_key_size, h->ks_data[slot], plain, af_len);
	if (r == 0)
		r = luks2_af_merge(plain, (size_t)key_size, (unsigned)stripes, af_hash, vk);
	if (r == 0)
		r = luks2_digest_verify(luks2_digest_for_segment(h), vk, (size_t)key_size);
	if (r < 0) {
		secmem_free(vk);
		if (r != -EPERM)
			luks2_err(why, whylen, "keyslot %d could not be opened (%s)", slot, strerror(-r));
		return r;
	}
	*ret = vk;
	*ret_len = (size_t)key_size;
	return 0;
}

int luks2_unlock(const struct luks2_hdr *h, int slot, const void *passphrase, size_t pass_len,
		 void **ret_key, size_t *ret_key_len, int *ret_slot)
{
	struct json_object *d = luks2_digest_for_segment(h);
	struct json_object *arr = luks2_json_get(d, "keyslots", json_type_array);
	char why[LUKS2_ERR_LEN] = "", skipped[LUKS2_ERR_LEN] = "";
	int r = -ENOENT;

	if (slot >= 0 && !luks2_keyslot_exists(h, slot))
		return log_error(ENOENT, "LUKS2 keyslot %d does not exist", slot);
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++) {
		char id[8];
		uint8_t *vk;
		size_t len;
		int q;

		snprintf(id, sizeof(id), "%d", i);
		if ((slot >= 0 && i != slot) || !luks2_json_array_has(arr, id))
			continue;
		q = keyslot_open(h, i, passphrase, pass_len, &vk, &len, why, sizeof(why));
		if (q == 0) {
			*ret_key = vk;
			*ret_key_len = len;
			if (ret_slot)
				*ret_slot = i;
			return 0;
		}
		if (q == -ENOMEM)
			return log_error(ENOMEM, "cannot allocate LUKS2 keyslot buffers");
		/* a wrong passphrase wins over "unsupported": say the
		 * interesting thing only when no keyslot could be tried */
		if (r == -ENOENT || (r != -EPERM && q == -EPERM))
			r = q;
		if (q != -EPERM) {
			log_debug("%s", why);
			memcpy(skipped, why, sizeof(skipped));
		}
	}
	if (r == -EPERM)
		return log_error(EPERM, "no LUKS2 keyslot opens with this passphrase%s%s%s",
				 *skipped ? " (skipped: " : "", skipped, *skipped ? ")" : "");
	if (r == -ENOENT)
		return log_error(ENOENT, "no LUKS2 keyslot%s holds the volume key", slot >= 0 ? " with that id" : "");
	return log_error(-r, "%s", why);
}

/* libFuzzer target for opening a keyslot of a header found on a disk (make
 * fuzz-hdr): luks2_hdr_read_mem, then luks2_unlock with the seeds'
 * passphrase over every keyslot (PBKDF2, the keyslot area's aes-xts
 * decryption, AF merge, digest check) and luks2_volume_key_verify of what
 * it gives. The header's own limit of 1,000,000 PBKDF2 iterations costs
 * about a second per call, so the harness opens only headers whose every
 * "iterations" is at most FUZZ_MAX_ITERATIONS (what rootcrypt writes);
 * others are still parsed and validated. Input format: fuzz_hdr_image.h. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_hdr_image.h"
#include "log.h"
#include "secmem.h"

#define FUZZ_MAX_ITERATIONS 1000
#define FUZZ_PASSPHRASE "fuzz-passphrase"

/* Every "iterations" member anywhere in the metadata is small. */
static bool cheap(struct json_object *o)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!cheap(json_object_array_get_idx(o, i)))
				return false;
		return true;
	}
	if (!json_object_is_type(o, json_type_object))
		return true;
	json_object_object_foreach(o, k, v) {
		if (strcmp(k, "iterations") == 0 &&
		    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		     json_object_get_int64(v) > FUZZ_MAX_ITERATIONS))
			return false;
		if (!cheap(v))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *img;
	struct luks2_read_status st;
	struct luks2_hdr *h = NULL;
	struct json_object *o;
	char *json = NULL;
	void *vk = NULL;
	size_t vk_len = 0;
	int slot = -1;
	bool ok;

	log_set_prefix("fuzz");
	if (!img && !(img = malloc(FUZZ_HDR_IMG)))
		return 0;
	if (fuzz_hdr_image(data, size, img) < 0)
		return 0;
	memset(&st, 0, sizeof(st));
	if (luks2_hdr_read_mem(&h, img, FUZZ_HDR_IMG, &st) != 0)
		return 0;
	if (luks2_hdr_json(h, &json) != 0) {
		luks2_hdr_free(h);
		return 0;
	}
	o = json_tokener_parse(json);
	ok = o && cheap(o);
	json_object_put(o);
	free(json);
	if (ok && luks2_unlock(h, -1, FUZZ_PASSPHRASE, strlen(FUZZ_PASSPHRASE), &vk, &vk_len,
			       &slot) == 0) {
		/* An unlocked key matches the digest, or luks2_unlock lied. */
		if (luks2_volume_key_verify(h, vk, vk_len) != 0 || slot < 0 ||
		    luks2_keyslot_exists(h, slot) != 1)
			abort();
		secmem_free(vk);
	}
	luks2_hdr_free(h);
	return 0;
}

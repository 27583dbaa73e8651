/* Headers of stock cryptsetup's LUKS2 online reencryption (`reencrypt
 * --encrypt --init-only`, requirement online-reencrypt-v2), as rootcrypt's
 * online mode has cryptsetup write them (src/engine/ONLINE.md "Unlock
 * compatibility"): which segment holds the volume key, whether a header is
 * exactly that kind, and the progress the header records. Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "luks2_internal.h"

/* Segment flags cryptsetup 2.6 writes during an encryption. */
static const char *const known_flags[] = { "backup-final", "backup-previous",
					   "backup-moved-segment", "in-reencryption" };

bool luks2_online_in_progress(const struct luks2_hdr *h)
{
	return luks2_requirement_has(h, LUKS2_REQ_ONLINE);
}

static bool has_flag(struct json_object *seg, const char *flag)
{
	return luks2_json_array_has(luks2_json_get(seg, "flags", json_type_array), flag);
}

/* While the requirement is set, segment 0 is the part not converted yet
 * (linear, no key); the volume key's digest is bound to the segment
 * flagged backup-final, the volume as it will be. */
int luks2_data_segment_id(const struct luks2_hdr *h)
{
	if (!luks2_online_in_progress(h))
		return 0;
	json_object_object_foreach(luks2_json_section(h, "segments"), id, seg)
		if (has_flag(seg, "backup-final") && luks2_numbered(id))
			return (int)strtol(id, NULL, 10);
	return 0;
}

static const char *str_of(struct json_object *o, const char *key)
{
	return luks2_str(luks2_json_get(o, key, json_type_string));
}

int luks2_online_check(const struct luks2_hdr *h, char *err, size_t errlen)
{
	struct json_object *req = luks2_json_get(luks2_json_get(luks2_json_section(h, "config"),
								 "requirements", json_type_object),
						 "mandatory", json_type_array);
	struct json_object *final = NULL, *digest;
	const char *final_id = NULL;
	int reencrypt = 0;

	if (!req || json_object_array_length(req) != 1 || !luks2_online_in_progress(h)) {
		luks2_err(err, errlen, "requirements are not exactly \"%s\"", LUKS2_REQ_ONLINE);
		return -EPERM;
	}
	json_object_object_foreach(luks2_json_section(h, "keyslots"), kid, ks)
	{
		const char *type = str_of(ks, "type");

		if (strcmp(type, "reencrypt") == 0) {
			if (strcmp(str_of(ks, "mode"), "encrypt") != 0) {
				luks2_err(err, errlen, "reencrypt keyslot %s has mode \"%s\", not encrypt",
					  kid, str_of(ks, "mode"));
				return -EPERM;
			}
			reencrypt++;
		} else if (strcmp(type, "luks2") != 0) {
			luks2_err(err, errlen, "keyslot %s has type \"%s\"", kid, type);
			return -EPERM;
		}
	}
	if (reencrypt != 1) {
		luks2_err(err, errlen, "%d reencrypt keyslots, not one", reencrypt);
		return -EPERM;
	}
	json_object_object_foreach(luks2_json_section(h, "segments"), sid, seg)
	{
		const char *type = str_of(seg, "type");
		struct json_object *flags = luks2_json_get(seg, "flags", json_type_array);

		if (strcmp(type, "linear") != 0 && strcmp(type, "crypt") != 0) {
			luks2_err(err, errlen, "segment %s has type \"%s\"", sid, type);
			return -EPERM;
		}
		for (size_t i = 0; flags && i < json_object_array_length(flags); i++) {
			const char *f = json_object_get_string(json_object_array_get_idx(flags, i));
			bool known = false;

			for (size_t k = 0; k < sizeof(known_flags) / sizeof(known_flags[0]); k++)
				known |= strcmp(f, known_flags[k]) == 0;
			if (!known) {
				luks2_err(err, errlen, "segment %s has flag \"%s\"", sid, f);
				return -EPERM;
			}
		}
		if (has_flag(seg, "backup-final")) {
			if (final) {
				luks2_err(err, errlen, "more than one backup-final segment");
				return -EPERM;
			}
			final = seg;
			final_id = sid;
		}
	}
	if (!final || strcmp(str_of(final, "type"), "crypt") != 0) {
		luks2_err(err, errlen, "no crypt segment flagged backup-final");
		return -EPERM;
	}
	digest = luks2_digest_for_segment(h);
	/* every crypt segment (the final one and the parts already done) is
	 * aes-xts-plain64 under the volume key the final segment's digest
	 * checks: no part of the volume maps with another cipher or key */
	json_object_object_foreach(luks2_json_section(h, "segments"), cid, cseg)
	{
		if (strcmp(str_of(cseg, "type"), "crypt") != 0)
			continue;
		if (strcmp(str_of(cseg, "encryption"), "aes-xts-plain64") != 0) {
			luks2_err(err, errlen, "segment %s is encrypted with \"%s\", not aes-xts-plain64",
				  cid, str_of(cseg, "encryption"));
			return -EPERM;
		}
		if (!luks2_json_array_has(luks2_json_get(digest, "segments", json_type_array), cid)) {
			luks2_err(err, errlen, "crypt segment %s is not covered by the digest of segment %s",
				  cid, final_id);
			return -EPERM;
		}
	}
	if (luks2_hdr_key_size(h) != LUKS2_VOLUME_KEY_SIZE) {
		luks2_err(err, errlen, "final segment key is %zu bytes, not %d", luks2_hdr_key_size(h),
			  LUKS2_VOLUME_KEY_SIZE);
		return -EPERM;
	}
	return 0;
}

static bool seg_size(struct json_object *seg, uint64_t dynamic_size, uint64_t *ret)
{
	const char *size = str_of(seg, "size");

	if (strcmp(size, "dynamic") == 0) {
		*ret = dynamic_size;
		return true;
	}
	return luks2_json_u64(luks2_json_get(seg, "size", json_type_string), ret);
}

int luks2_online_progress(const struct luks2_hdr *h, uint64_t dev_size, uint64_t *ret_done,
			  uint64_t *ret_total)
{
	uint64_t done = 0, total = 0, off = 0, sz;
	bool have_total = false;

	if (!luks2_online_in_progress(h))
		return -EINVAL;
	json_object_object_foreach(luks2_json_section(h, "segments"), id, seg)
	{
		(void)id;
		if (has_flag(seg, "backup-previous")) {
			/* the volume before the conversion: its size is the total;
			 * dynamic (detached) = the data device from its offset */
			if (!luks2_json_u64(luks2_json_get(seg, "offset", json_type_string), &off) ||
			    off > dev_size || !seg_size(seg, dev_size - off, &total))
				return -EINVAL;
			have_total = true;
		}
		/* done: crypt segments that are neither a backup nor the hotzone
		 * in flight (in-reencryption: counted once it is committed) */
		if (strcmp(str_of(seg, "type"), "crypt") != 0 ||
		    luks2_json_get(seg, "flags", json_type_array))
			continue;
		if (!seg_size(seg, UINT64_MAX, &sz) || sz == UINT64_MAX || sz > UINT64_MAX - done)
			return -EINVAL;
		done += sz;
	}
	if (!have_total || done > total)
		return -EINVAL;
	*ret_done = done;
	*ret_total = total;
	return 0;
}

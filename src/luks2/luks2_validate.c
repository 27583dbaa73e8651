/* Validation of a parsed LUKS2 JSON tree: a table of pure checks, each
 * naming the object it rejects. Nothing read from disk is trusted: every
 * size and offset used later has been bounded here. Mirrors what
 * cryptsetup 2.6 enforces, plus: ids below 32, no overlap, sector sizes
 * 512..4096 powers of two. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "luks2_internal.h"

struct vctx {
	struct json_object *root;
	uint64_t hdr_size;
	uint64_t keyslots_size;
	char *err;
	size_t errlen;
};

#define FAIL(c, ...) (luks2_err((c)->err, (c)->errlen, __VA_ARGS__), -EINVAL)

static struct json_object *sect(struct vctx *c, const char *name)
{
	return luks2_json_get(c->root, name, json_type_object);
}

static bool id_ok(const char *key)
{
	return luks2_numbered(key) && strlen(key) <= 2 && atoi(key) < LUKS2_KEYSLOTS_MAX;
}

static bool nonempty_str(struct json_object *o, const char *key)
{
	struct json_object *v = luks2_json_get(o, key, json_type_string);

	return v && json_object_get_string_len(v) > 0;
}

static bool string_array(struct json_object *arr)
{
	size_t n;

	if (!arr)
		return false;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(arr, i), json_type_string))
			return false;
	return true;
}

/* Every element names an existing member of section. */
static bool refs_ok(struct json_object *arr, struct json_object *section)
{
	size_t n;

	if (!string_array(arr))
		return false;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++)
		if (!luks2_json_get(section, json_object_get_string(json_object_array_get_idx(arr, i)),
				    json_type_object))
			return false;
	return true;
}

static int check_sections(struct vctx *c)
{
	static const char *const names[] = { "keyslots", "tokens", "segments", "digests", "config" };

	if (!json_object_is_type(c->root, json_type_object))
		return FAIL(c, "JSON metadata is not an object");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!sect(c, names[i]))
			return FAIL(c, "JSON metadata lacks the \"%s\" object", names[i]);
	return 0;
}

static int check_config(struct vctx *c)
{
	struct json_object *cfg = sect(c, "config"), *o;
	uint64_t json_size;

	if (!luks2_json_u64(luks2_json_get(cfg, "json_size", json_type_string), &json_size))
		return FAIL(c, "config.json_size missing or not a decimal string");
	if (json_size != c->hdr_size - LUKS2_BIN_HDR_SIZE)
		return FAIL(c, "config.json_size %" PRIu64 " does not match header size %" PRIu64,
			    json_size, c->hdr_size);
	if (!luks2_json_u64(luks2_json_get(cfg, "keyslots_size", json_type_string), &c->keyslots_size))
		return FAIL(c, "config.keyslots_size missing or not a decimal string");
	if (c->keyslots_size % 4096 || c->keyslots_size > LUKS2_KEYSLOTS_SIZE_MAX)
		return FAIL(c, "config.keyslots_size %" PRIu64 " is not 4 KiB aligned or exceeds 128 MiB",
			    c->keyslots_size);
	if (json_object_object_get_ex(cfg, "flags", &o) &&
	    !(json_object_is_type(o, json_type_array) && string_array(o)))
		return FAIL(c, "config.flags is not an array of strings");
	if (json_object_object_get_ex(cfg, "requirements", &o)) {
		struct json_object *m;

		if (!json_object_is_type(o, json_type_object))
			return FAIL(c, "config.requirements is not an object");
		if (json_object_object_get_ex(o, "mandatory", &m) &&
		    !(json_object_is_type(m, json_type_array) && string_array(m)))
			return FAIL(c, "config.requirements.mandatory is not an array of strings");
	}
	return 0;
}

static int check_keyslot_luks2(struct vctx *c, const char *id, struct json_object *ks)
{
	struct json_object *kdf = luks2_json_get(ks, "kdf", json_type_object);
	struct json_object *af = luks2_json_get(ks, "af", json_type_object);
	const char *type;
	int64_t v;

	if (!kdf || !nonempty_str(kdf, "type") || !nonempty_str(kdf, "salt"))
		return FAIL(c, "keyslot %s: kdf object missing or incomplete", id);
	type = json_object_get_string(luks2_json_get(kdf, "type", json_type_string));
	if (strcmp(type, "pbkdf2") == 0) {
		if (json_object_object_length(kdf) != 4 || !nonempty_str(kdf, "hash") ||
		    !luks2_json_int(luks2_json_get(kdf, "iterations", json_type_int), 1, UINT32_MAX, &v))
			return FAIL(c, "keyslot %s: pbkdf2 kdf needs exactly type, salt, hash, iterations", id);
	} else if (strcmp(type, "argon2i") == 0 || strcmp(type, "argon2id") == 0) {
		if (json_object_object_length(kdf) != 5 ||
		    !luks2_json_int(luks2_json_get(kdf, "time", json_type_int), 1, UINT32_MAX, &v) ||
		    !luks2_json_int(luks2_json_get(kdf, "memory", json_type_int), 1, UINT32_MAX, &v) ||
		    !luks2_json_int(luks2_json_get(kdf, "cpus", json_type_int), 1, UINT32_MAX, &v))
			return FAIL(c, "keyslot %s: %s kdf needs exactly type, salt, time, memory, cpus", id, type);
	}
	if (!af || !nonempty_str(af, "type") ||
	    strcmp(json_object_get_string(luks2_json_get(af, "type", json_type_string)), "luks1") != 0 ||
	    !nonempty_str(af, "hash") ||
	    !luks2_json_int(luks2_json_get(af, "stripes", json_type_int), 1, UINT32_MAX, &v))
		return FAIL(c, "keyslot %s: af must be type luks1 with hash and stripes", id);
	return 0;
}

static int check_keyslots(struct vctx *c)
{
	struct json_object *kss = sect(c, "keyslots");
	struct {
		uint64_t off, len;
		const char *id;
	} iv[LUKS2_KEYSLOTS_MAX];
	size_t n = 0;
	uint64_t lo = 2 * c->hdr_size, hi = lo + c->keyslots_size;

	json_object_object_foreach(kss, id, ks)
	{
		struct json_object *area;
		int64_t v;
		uint64_t off, len;
		int r;

		if (!id_ok(id))
			return FAIL(c, "keyslot id \"%.20s\" is not a number below 32", id);
		if (!json_object_is_type(ks, json_type_object) || !nonempty_str(ks, "type") ||
		    !luks2_json_int(luks2_json_get(ks, "key_size", json_type_int), 1, 512, &v))
			return FAIL(c, "keyslot %s: type or key_size missing or invalid", id);
		area = luks2_json_get(ks, "area", json_type_object);
		if (!area || !nonempty_str(area, "type"))
			return FAIL(c, "keyslot %s: area object missing", id);
		if (!luks2_json_u64(luks2_json_get(area, "offset", json_type_string), &off) ||
		    !luks2_json_u64(luks2_json_get(area, "size", json_type_string), &len))
			return FAIL(c, "keyslot %s: area offset/size missing or not decimal strings", id);
		if (strcmp(json_object_get_string(luks2_json_get(area, "type", json_type_string)), "raw") == 0 &&
		    (!nonempty_str(area, "encryption") ||
		     !luks2_json_int(luks2_json_get(area, "key_size", json_type_int), 1, 512, &v)))
			return FAIL(c, "keyslot %s: raw area needs encryption and key_size", id);
		if (len == 0 || off < lo || off > hi || len > hi - off)
			return FAIL(c, "keyslot %s: area [%" PRIu64 ", +%" PRIu64 ") outside the keyslots area [%" PRIu64 ", %" PRIu64 ")",
				    id, off, len, lo, hi);
		for (size_t j = 0; j < n; j++)
			if (off < iv[j].off + iv[j].len && iv[j].off < off + len)
				return FAIL(c, "keyslot %s area overlaps keyslot %s area", id, iv[j].id);
		iv[n].off = off;
		iv[n].len = len;
		iv[n].id = id;
		n++;
		if (strcmp(json_object_get_string(luks2_json_get(ks, "type", json_type_string)), "luks2") == 0 &&
		    (r = check_keyslot_luks2(c, id, ks)) < 0)
			return r;
	}
	return 0;
}

static int check_tokens(struct vctx *c)
{
	struct json_object *kss = sect(c, "keyslots");

	json_object_object_foreach(sect(c, "tokens"), id, tok)
	{
		if (!id_ok(id))
			return FAIL(c, "token id \"%.20s\" is not a number below 32", id);
		if (!json_object_is_type(tok, json_type_object) || !nonempty_str(tok, "type"))
			return FAIL(c, "token %s: type missing", id);
		if (!refs_ok(luks2_json_get(tok, "keyslots", json_type_array), kss))
			return FAIL(c, "token %s: keyslots missing or naming a keyslot that does not exist", id);
	}
	return 0;
}

static int check_digests(struct vctx *c)
{
	struct json_object *kss = sect(c, "keyslots"), *segs = sect(c, "segments");

	json_object_object_foreach(sect(c, "digests"), id, d)
	{
		if (!id_ok(id))
			return FAIL(c, "digest id \"%.20s\" is not a number below 32", id);
		if (!json_object_is_type(d, json_type_object) || !nonempty_str(d, "type"))
			return FAIL(c, "digest %s: type missing", id);
		if (!refs_ok(luks2_json_get(d, "keyslots", json_type_array), kss))
			return FAIL(c, "digest %s: keyslots missing or naming a keyslot that does not exist", id);
		if (!refs_ok(luks2_json_get(d, "segments", json_type_array), segs))
			return FAIL(c, "digest %s: segments missing or naming a segment that does not exist", id);
	}
	return 0;
}

static bool segment_has_digest(struct vctx *c, const char *id)
{
	json_object_object_foreach(sect(c, "digests"), did, d)
	{
		(void)did;
		if (luks2_json_array_has(luks2_json_get(d, "segments", json_type_array), id))
			return true;
	}
	return false;
}

static bool segment_is_backup(struct json_object *seg)
{
	struct json_object *flags = luks2_json_get(seg, "flags", json_type_array);
	size_t n = flags ? json_object_array_length(flags) : 0;

	for (size_t i = 0; i < n; i++)
		if (strncmp(json_object_get_string(json_object_array_get_idx(flags, i)), "backup-", 7) == 0)
			return true;
	return false;
}

static int check_segments(struct vctx *c)
{
	struct json_object *segs = sect(c, "segments");
	struct {
		uint64_t off, len; /* len UINT64_MAX: dynamic */
	} iv[LUKS2_KEYSLOTS_MAX];
	int count = json_object_object_length(segs), regular = 0;
	uint64_t min_off = UINT64_MAX;

	if (count < 1)
		return FAIL(c, "no segments");
	json_object_object_foreach(segs, id, seg)
	{
		struct json_object *o;
		uint64_t off, len;
		const char *type, *size;

		if (!id_ok(id))
			return FAIL(c, "segment id \"%.20s\" is not a number below 32", id);
		if (!json_object_is_type(seg, json_type_object) || !nonempty_str(seg, "type") ||
		    !nonempty_str(seg, "size"))
			return FAIL(c, "segment %s: type or size missing", id);
		if (!luks2_json_u64(luks2_json_get(seg, "offset", json_type_string), &off))
			return FAIL(c, "segment %s: offset missing or not a decimal string", id);
		size = json_object_get_string(luks2_json_get(seg, "size", json_type_string));
		if (strcmp(size, "dynamic") == 0)
			len = UINT64_MAX;
		else if (!luks2_json_u64(luks2_json_get(seg, "size", json_type_string), &len) || len == 0)
			return FAIL(c, "segment %s: size is neither \"dynamic\" nor a positive decimal string", id);
		if (off % 512 || (len != UINT64_MAX && (len % 512 || off > UINT64_MAX - len)))
			return FAIL(c, "segment %s: offset/size not 512-byte aligned or overflowing", id);
		if (json_object_object_get_ex(seg, "flags", &o) &&
		    !(json_object_is_type(o, json_type_array) && string_array(o)))
			return FAIL(c, "segment %s: flags is not an array of strings", id);
		type = json_object_get_string(luks2_json_get(seg, "type", json_type_string));
		if (strcmp(type, "crypt") == 0) {
			int64_t ss;
			uint64_t tweak;

			if (!luks2_json_u64(luks2_json_get(seg, "iv_tweak", json_type_string), &tweak) ||
			    !nonempty_str(seg, "encryption") ||
			    !luks2_json_int(luks2_json_get(seg, "sector_size", json_type_int), 512, 4096, &ss) ||
			    (ss & (ss - 1)))
				return FAIL(c, "segment %s: crypt segment needs iv_tweak, encryption, sector_size 512..4096", id);
			if (len != UINT64_MAX && len % (uint64_t)ss)
				return FAIL(c, "segment %s: size is not a multiple of the sector size", id);
			if (off % (uint64_t)ss)
				return FAIL(c, "segment %s: offset is not a multiple of the sector size", id);
			if (!segment_has_digest(c, id))
				return FAIL(c, "segment %s: no digest covers it", id);
		}
		if (segment_is_backup(seg))
			continue;
		for (int j = 0; j < regular; j++) {
			bool a_before_b = len != UINT64_MAX && off + len <= iv[j].off;
			bool b_before_a = iv[j].len != UINT64_MAX && iv[j].off + iv[j].len <= off;

			if (!a_before_b && !b_before_a)
				return FAIL(c, "segment %s overlaps another segment", id);
		}
		iv[regular].off = off;
		iv[regular].len = len;
		regular++;
		if (off < min_off)
			min_off = off;
	}
	if (regular == 0)
		return FAIL(c, "no regular segment");
	for (int i = 0; i < count; i++)
		if (!luks2_json_by_id(segs, i))
			return FAIL(c, "segment ids are not contiguous (no segment %d)", i);
	/* A header in front of its data must not reach into it; offset 0
	 * means a detached header. */
	if (min_off && min_off < 2 * c->hdr_size + c->keyslots_size)
		return FAIL(c, "data offset %" PRIu64 " lies inside the header (%" PRIu64 " bytes)", min_off,
			    2 * c->hdr_size + c->keyslots_size);
	return 0;
}

int luks2_validate(struct json_object *root, uint64_t hdr_size, char *err, size_t errlen)
{
	static int (*const checks[])(struct vctx *) = {
		check_sections, check_config, check_keyslots, check_tokens, check_digests, check_segments,
	};
	struct vctx c = { .root = root, .hdr_size = hdr_size, .err = err, .errlen = errlen };

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int r = checks[i](&c);

		if (r < 0)
			return r;
	}
	return 0;
}

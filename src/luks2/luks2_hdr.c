/* In-memory LUKS2 header: creation of a new one, getters and setters for
 * segment, labels and requirements, and a human-readable dump. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "luks2_internal.h"
#include "secmem.h"

static bool uuid_ok(const char *u)
{
	if (strlen(u) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !strchr("0123456789abcdefABCDEF", u[i]))
			return false;
	}
	return true;
}

static int uuid_random(char out[LUKS2_UUID_LEN])
{
	uint8_t b[16];
	int r = crypto_random(b, sizeof(b));

	if (r < 0)
		return r;
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, LUKS2_UUID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int luks2_uuid_random(char *out, size_t n)
{
	char u[LUKS2_UUID_LEN];
	int r;

	if (n < 37)
		return -EINVAL;
	r = uuid_random(u);
	if (r == 0)
		snprintf(out, n, "%s", u);
	return r;
}

static struct json_object *segment_new(const struct luks2_params *p, uint32_t sector)
{
	struct json_object *s = json_object_new_object();

	if (!s)
		return NULL;
	json_object_object_add(s, "type", json_object_new_string("crypt"));
	json_object_object_add(s, "offset", luks2_json_new_u64(p->segment_offset));
	json_object_object_add(s, "size", p->segment_size == LUKS2_SEGMENT_DYNAMIC
						  ? json_object_new_string("dynamic")
						  : luks2_json_new_u64(p->segment_size));
	json_object_object_add(s, "iv_tweak", json_object_new_string("0"));
	json_object_object_add(s, "encryption", json_object_new_string("aes-xts-plain64"));
	json_object_object_add(s, "sector_size", json_object_new_int(sector));
	return s;
}

int luks2_hdr_new(struct luks2_hdr **ret, const struct luks2_params *p, const void *volume_key,
		  size_t key_len)
{
	uint64_t md = p->metadata_size ? p->metadata_size : LUKS2_DEFAULT_METADATA_SIZE;
	uint64_t total = p->header_size ? p->header_size : LUKS2_DEFAULT_HEADER_SIZE;
	uint32_t sector = p->sector_size ? p->sector_size : 512;
	uint32_t iter = p->digest_iterations ? p->digest_iterations : LUKS2_PBKDF2_DEFAULT_ITERATIONS;
	struct json_object *root = NULL, *cfg, *digest = NULL, *segs, *digs;
	struct luks2_hdr *h;
	char err[LUKS2_ERR_LEN];
	int r;

	if (md < LUKS2_DEFAULT_METADATA_SIZE || md > LUKS2_METADATA_MAX || (md & (md - 1)))
		return log_error(EINVAL, "LUKS2 metadata size %" PRIu64 " is not a power of two in 16 KiB..4 MiB", md);
	if (total % 4096 || total <= 2 * md || total - 2 * md > LUKS2_KEYSLOTS_SIZE_MAX)
		return log_error(EINVAL, "LUKS2 header size %" PRIu64 " must be 4 KiB aligned, above twice the metadata size and leave at most 128 MiB of keyslots",
				 total);
	if (sector != 512 && sector != 4096)
		return log_error(EINVAL, "LUKS2 sector size %" PRIu32 " is not 512 or 4096", sector);
	if (p->segment_offset % sector || (p->segment_offset && p->segment_offset < total))
		return log_error(EINVAL, "LUKS2 data offset %" PRIu64 " must be 0 (detached) or >= the header size %" PRIu64 " and a multiple of %" PRIu32,
				 p->segment_offset, total, sector);
	if (p->segment_size != LUKS2_SEGMENT_DYNAMIC && (p->segment_size == 0 || p->segment_size % sector))
		return log_error(EINVAL, "LUKS2 data size %" PRIu64 " is not a positive multiple of the sector size %" PRIu32,
				 p->segment_size, sector);
	if (p->uuid && !uuid_ok(p->uuid))
		return log_error(EINVAL, "\"%s\" is not a UUID", p->uuid);
	if (p->label && strlen(p->label) >= LUKS2_LABEL_LEN)
		return log_error(EINVAL, "LUKS2 label \"%s\" is longer than 47 bytes", p->label);
	if (key_len != LUKS2_VOLUME_KEY_SIZE)
		return log_error(EINVAL, "volume key must be %d bytes, not %zu", LUKS2_VOLUME_KEY_SIZE, key_len);
	if (iter < LUKS2_PBKDF2_MIN_ITERATIONS)
		return log_error(EINVAL, "PBKDF2 iterations %" PRIu32 " below cryptsetup's minimum %u", iter,
				 LUKS2_PBKDF2_MIN_ITERATIONS);

	h = calloc(1, sizeof(*h));
	if (!h)
		return log_error(ENOMEM, "cannot allocate LUKS2 header");
	h->hdr_size = md;
	h->origin = LUKS2_ORIGIN_NEW;
	if (p->label)
		snprintf(h->label, sizeof(h->label), "%s", p->label);
	if (p->uuid)
		snprintf(h->uuid, sizeof(h->uuid), "%s", p->uuid);
	else if ((r = uuid_random(h->uuid)) < 0)
		goto fail;
	if ((r = crypto_random(h->salt, sizeof(h->salt))) < 0)
		goto fail;
	if ((r = luks2_digest_new(&digest, volume_key, key_len, iter)) < 0)
		goto fail;
	json_object_array_add(luks2_json_get(digest, "segments", json_type_array), json_object_new_string("0"));

	r = -ENOMEM;
	root = json_object_new_object();
	cfg = json_object_new_object();
	segs = json_object_new_object();
	digs = json_object_new_object();
	if (!root || !cfg || !segs || !digs) {
		json_object_put(cfg);
		json_object_put(segs);
		json_object_put(digs);
		goto fail;
	}
	json_object_object_add(root, "keyslots", json_object_new_object());
	json_object_object_add(root, "tokens", json_object_new_object());
	json_object_object_add(root, "segments", segs);
	json_object_object_add(root, "digests", digs);
	json_object_object_add(root, "config", cfg);
	if (luks2_json_add_by_id(segs, 0, segment_new(p, sector)) < 0)
		goto fail;
	json_object_object_add(digs, "0", digest);
	digest = NULL;
	json_object_object_add(cfg, "json_size", luks2_json_new_u64(md - LUKS2_BIN_HDR_SIZE));
	json_object_object_add(cfg, "keyslots_size", luks2_json_new_u64(total - 2 * md));
	h->jobj = root;
	root = NULL;
	if (luks2_validate(h->jobj, h->hdr_size, err, sizeof(err)) < 0) {
		r = log_error(EINVAL, "new LUKS2 metadata is invalid: %s", err);
		goto fail;
	}
	*ret = h;
	return 0;
fail:
	json_object_put(digest);
	json_object_put(root);
	luks2_hdr_free(h);
	return r == -ENOMEM ? log_error(ENOMEM, "cannot build LUKS2 metadata") : r;
}

void luks2_hdr_free(struct luks2_hdr *h)
{
	if (!h)
		return;
	json_object_put(h->jobj);
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++)
		free(h->ks_data[i]);
	secmem_wipe(h, sizeof(*h));
	free(h);
}

static struct json_object *segment0(const struct luks2_hdr *h)
{
	return luks2_json_by_id(luks2_json_section(h, "segments"), 0);
}

/* The segment the getters describe: segment 0, or the backup-final one
 * while cryptsetup's online reencryption runs (luks2_data_segment_id). */
static struct json_object *data_segment(const struct luks2_hdr *h)
{
	return luks2_json_by_id(luks2_json_section(h, "segments"), luks2_data_segment_id(h));
}

uint64_t luks2_hdr_segment_offset(const struct luks2_hdr *h)
{
	uint64_t v = 0;

	luks2_json_u64(luks2_json_get(data_segment(h), "offset", json_type_string), &v);
	return v;
}

uint64_t luks2_hdr_segment_size(const struct luks2_hdr *h)
{
	uint64_t v = LUKS2_SEGMENT_DYNAMIC;

	luks2_json_u64(luks2_json_get(data_segment(h), "size", json_type_string), &v);
	return v;
}

uint32_t luks2_hdr_sector_size(const struct luks2_hdr *h)
{
	int64_t v = 512;

	luks2_json_int(luks2_json_get(data_segment(h), "sector_size", json_type_int), 512, 4096, &v);
	return (uint32_t)v;
}

const char *luks2_hdr_cipher(const struct luks2_hdr *h)
{
	struct json_object *o = luks2_json_get(data_segment(h), "encryption", json_type_string);

	return o ? json_object_get_string(o) : "";
}

size_t luks2_hdr_key_size(const struct luks2_hdr *h)
{
	struct json_object *d = luks2_digest_for_segment(h);
	struct json_object *ks = luks2_json_section(h, "keyslots");
	struct json_object *arr = luks2_json_get(d, "keyslots", json_type_array);
	int64_t v;

	/* the key size is recorded per keyslot; all keyslots of the
	 * segment's digest hold the same key */
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(arr, i));

		if (luks2_json_int(luks2_json_get(luks2_json_get(ks, id, json_type_object), "key_size",
						  json_type_int), 1, 512, &v))
			return (size_t)v;
	}
	return LUKS2_VOLUME_KEY_SIZE;
}

const char *luks2_hdr_uuid(const struct luks2_hdr *h)
{
	return h->uuid;
}

const char *luks2_hdr_label(const struct luks2_hdr *h)
{
	return h->label;
}

uint64_t luks2_hdr_seqid(const struct luks2_hdr *h)
{
	return h->seqid;
}

uint64_t luks2_hdr_metadata_size(const struct luks2_hdr *h)
{
	return h->hdr_size;
}

uint64_t luks2_hdr_keyslots_size(const struct luks2_hdr *h)
{
	uint64_t v = 0;

	luks2_json_u64(luks2_json_get(luks2_json_section(h, "config"), "keyslots_size", json_type_string), &v);
	return v;
}

uint64_t luks2_hdr_header_size(const struct luks2_hdr *h)
{
	return 2 * h->hdr_size + luks2_hdr_keyslots_size(h);
}

uint64_t luks2_hdr_iv_sector(const struct luks2_hdr *h, uint64_t seg_off)
{
	uint64_t tweak = 0;

	luks2_json_u64(luks2_json_get(data_segment(h), "iv_tweak", json_type_string), &tweak);
	return tweak + seg_off / 512;
}

int luks2_hdr_set_segment(struct luks2_hdr *h, uint64_t offset, uint64_t size)
{
	struct json_object *s = segment0(h), *old_off, *old_size;
	char err[LUKS2_ERR_LEN];

	if (!s)
		return log_error(EINVAL, "LUKS2 header has no segment 0");
	old_off = json_object_get(luks2_json_get(s, "offset", json_type_string));
	old_size = json_object_get(luks2_json_get(s, "size", json_type_string));
	json_object_object_add(s, "offset", luks2_json_new_u64(offset));
	json_object_object_add(s, "size", size == LUKS2_SEGMENT_DYNAMIC ? json_object_new_string("dynamic")
									 : luks2_json_new_u64(size));
	if (luks2_validate(h->jobj, h->hdr_size, err, sizeof(err)) < 0) {
		json_object_object_add(s, "offset", old_off);
		json_object_object_add(s, "size", old_size);
		return log_error(EINVAL, "cannot set LUKS2 data segment to offset %" PRIu64 ": %s", offset, err);
	}
	json_object_put(old_off);
	json_object_put(old_size);
	return 0;
}

int luks2_hdr_set_label(struct luks2_hdr *h, const char *label)
{
	if (!label)
		label = "";
	if (strlen(label) >= LUKS2_LABEL_LEN)
		return log_error(EINVAL, "LUKS2 label \"%s\" is longer than 47 bytes", label);
	snprintf(h->label, sizeof(h->label), "%s", label);
	return 0;
}

/* --- requirements ------------------------------------------------------ */

static struct json_object *mandatory(const struct luks2_hdr *h)
{
	struct json_object *req = luks2_json_get(luks2_json_section(h, "config"), "requirements", json_type_object);

	return luks2_json_get(req, "mandatory", json_type_array);
}

int luks2_requirement_set(struct luks2_hdr *h, const char *name)
{
	struct json_object *cfg = luks2_json_section(h, "config"), *req, *m;

	if (!name || !*name)
		return log_error(EINVAL, "empty LUKS2 requirement name");
	req = luks2_json_get(cfg, "requirements", json_type_object);
	if (!req) {
		req = json_object_new_object();
		if (!req || json_object_object_add(cfg, "requirements", req) < 0)
			return log_error(ENOMEM, "cannot add LUKS2 requirement");
	}
	m = luks2_json_get(req, "mandatory", json_type_array);
	if (!m) {
		m = json_object_new_array();
		if (!m || json_object_object_add(req, "mandatory", m) < 0)
			return log_error(ENOMEM, "cannot add LUKS2 requirement");
	}
	return luks2_json_array_add(m, name) < 0 ? log_error(ENOMEM, "cannot add LUKS2 requirement") : 0;
}

int luks2_requirement_clear(struct luks2_hdr *h, const char *name)
{
	struct json_object *cfg = luks2_json_section(h, "config");
	struct json_object *req = luks2_json_get(cfg, "requirements", json_type_object);
	struct json_object *m = mandatory(h);

	if (!m)
		return 0;
	luks2_json_array_del(m, name);
	/* leave no empty objects behind: the header then looks like any
	 * other finished volume */
	if (json_object_array_length(m) == 0)
		json_object_object_del(req, "mandatory");
	if (json_object_object_length(req) == 0)
		json_object_object_del(cfg, "requirements");
	return 0;
}

bool luks2_requirement_has(const struct luks2_hdr *h, const char *name)
{
	return luks2_json_array_has(mandatory(h), name);
}

size_t luks2_requirement_count(const struct luks2_hdr *h)
{
	struct json_object *m = mandatory(h);

	return m ? json_object_array_length(m) : 0;
}

const char *luks2_requirement_name(const struct luks2_hdr *h, size_t i)
{
	struct json_object *m = mandatory(h);

	if (!m || i >= json_object_array_length(m))
		return NULL;
	return json_object_get_string(json_object_array_get_idx(m, i));
}

/* --- dump ---------------------------------------------------------------- */

int luks2_hdr_json(const struct luks2_hdr *h, char **ret_json)
{
	char *s = strdup(luks2_json_on_disk(h->jobj));

	if (!s)
		return log_error(ENOMEM, "cannot copy LUKS2 metadata");
	*ret_json = s;
	return 0;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v = luks2_json_get(o, key, json_type_string);

	return v ? json_object_get_string(v) : "-";
}

void luks2_hdr_dump(const struct luks2_hdr *h, FILE *f)
{
	uint64_t size = luks2_hdr_segment_size(h);

	fprintf(f, "uuid: %s\nlabel: %s\nseqid: %" PRIu64 "\nmetadata_size: %" PRIu64
		   "\nkeyslots_size: %" PRIu64 "\nheader_size: %" PRIu64 "\n",
		h->uuid, h->label, h->seqid, h->hdr_size, luks2_hdr_keyslots_size(h), luks2_hdr_header_size(h));
	for (size_t i = 0; i < luks2_requirement_count(h); i++)
		fprintf(f, "requirement: %s\n", luks2_requirement_name(h, i));
	fprintf(f, "segment: offset %" PRIu64 " size ", luks2_hdr_segment_offset(h));
	if (size == LUKS2_SEGMENT_DYNAMIC)
		fprintf(f, "dynamic");
	else
		fprintf(f, "%" PRIu64, size);
	fprintf(f, " cipher %s sector_size %" PRIu32 "\n", luks2_hdr_cipher(h), luks2_hdr_sector_size(h));
	json_object_object_foreach(luks2_json_section(h, "keyslots"), id, ks)
	{
		struct json_object *kdf = luks2_json_get(ks, "kdf", json_type_object);
		struct json_object *area = luks2_json_get(ks, "area", json_type_object);

		fprintf(f, "keyslot %s: %s kdf %s area %s+%s\n", id, str_of(ks, "type"), str_of(kdf, "type"),
			str_of(area, "offset"), str_of(area, "size"));
	}
	json_object_object_foreach(luks2_json_section(h, "tokens"), tid, tok)
		fprintf(f, "token %s: %s\n", tid, str_of(tok, "type"));
}

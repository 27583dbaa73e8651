/* LUKS2 headers for the engine, on top of luks2.h. luks2.h writes to a file
 * descriptor; the engine needs every write to go through its blkdev (the
 * crash tests record them) in its own order, so a header is serialized into
 * a memfd by luks2.h and the bytes are then written by us:
 *   full:     keyslots area, flush, secondary copy, flush, primary, flush
 *   metadata: primary, flush, secondary, flush.
 * Reading goes the other way: bytes through blkdev, luks2_hdr_read_mem(). */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine_hdr.h"
#include "log.h"
#include "luks2.h"
#include "secmem.h"

#define HDR_METADATA (16u * 1024)
/* Both copies and room for a few keyslots; equals the tail area T. */
#define HDR_SIZE (1u << 20)
/* Largest header we read back when probing someone else's LUKS2. */
#define HDR_READ_MAX (17u << 20)

struct engine_hdr {
	struct luks2_hdr *h;
	bool both_copies;
	/* The tokens as parsed once (at load, at new, after each set_mark):
	 * engine_hdr_get is called a dozen times per run and would otherwise
	 * serialise and re-parse the JSON each time. Only the members that
	 * come from tokens are kept here; the rest is read from h. */
	struct engine_hdr_info tokens;
};

void engine_hdr_free(struct engine_hdr *eh)
{
	if (!eh)
		return;
	luks2_hdr_free(eh->h);
	free(eh);
}

uint64_t engine_hdr_len(const struct engine_hdr *eh)
{
	return luks2_hdr_header_size(eh->h);
}

static int token_write(struct engine_hdr *eh, enum engine_layout layout, uint64_t plain_len,
		       uint64_t tail_size, uint64_t group, uint64_t mark)
{
	char json[512];
	int id = luks2_token_find(eh->h, ENGINE_TOKEN_TYPE);

	/* Numbers as strings, like every LUKS2 size: no 2^53 limit. */
	snprintf(json, sizeof(json),
		 "{\"type\":\"" ENGINE_TOKEN_TYPE "\",\"keyslots\":[],\"layout\":\"%s\","
		 "\"plain_len\":\"%" PRIu64 "\",\"tail_size\":\"%" PRIu64 "\",\"group\":\"%" PRIu64
		 "\",\"mark\":\"%" PRIu64 "\"}",
		 layout == ENGINE_LAYOUT_DETACHED ? "detached" : "shift", plain_len, tail_size, group,
		 mark);
	return luks2_token_set_json(eh->h, id >= 0 ? id : -1, json, NULL);
}

/* A number of our token: a canonical decimal string that fits 64 bits.
 * Anything else makes the token not ours (the disk speaks here). */
static bool member_u64(struct json_object *o, const char *key, uint64_t *ret)
{
	struct json_object *v;
	const char *s;
	uint64_t x = 0;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	if (!s || !*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*ret = x;
	return true;
}

/* Fills the token members of eh->tokens (ours, layout, plain_len,
 * tail_size, group, mark) from the header's JSON. */
static void tokens_parse(struct engine_hdr *eh)
{
	struct engine_hdr_info *ret = &eh->tokens;
	char *json = NULL;
	int id;

	memset(ret, 0, sizeof(*ret));
	id = luks2_token_find(eh->h, ENGINE_TOKEN_TYPE);
	if (id >= 0 && luks2_token_get_json(eh->h, id, &json) == 0) {
		struct json_object *o = json_tokener_parse(json);
		struct json_object *v;

		if (o && json_object_object_get_ex(o, "layout", &v)) {
			const char *l = json_object_get_string(v);

			ret->ours = true;
			ret->layout = l && strcmp(l, "detached") == 0 ? ENGINE_LAYOUT_DETACHED :
									ENGINE_LAYOUT_SHIFT;
			if (!member_u64(o, "plain_len", &ret->plain_len) ||
			    !member_u64(o, "tail_size", &ret->tail_size) ||
			    !member_u64(o, "group", &ret->group) || !member_u64(o, "mark", &ret->mark) ||
			    ret->mark > ret->plain_len) {
				ret->ours = false;
				ret->plain_len = ret->tail_size = ret->group = ret->mark = 0;
			}
		}
		json_object_put(o);
		free(json);
	}
}

int engine_hdr_key_token(const struct engine_hdr *eh, const char *type, char **ret_json)
{
	int r = luks2_token_get(eh->h, type, ret_json, NULL);

	if (r == -ENOENT)
		*ret_json = NULL;
	return r == -ENOENT ? 0 : r;
}

bool engine_hdr_online_finished(const struct engine_hdr *eh, const char *key_token_type)
{
	return luks2_requirement_count(eh->h) == 0 && key_token_type &&
	       luks2_token_find(eh->h, key_token_type) >= 0 &&
	       strcmp(luks2_hdr_cipher(eh->h), "aes-xts-plain64") == 0 &&
	       luks2_hdr_key_size(eh->h) == 64;
}

void engine_hdr_get(const struct engine_hdr *eh, struct engine_hdr_info *ret)
{
	*ret = eh->tokens;
	snprintf(ret->uuid, sizeof(ret->uuid), "%s", luks2_hdr_uuid(eh->h));
	snprintf(ret->cipher, sizeof(ret->cipher), "%s", luks2_hdr_cipher(eh->h));
	ret->in_progress = luks2_requirement_has(eh->h, LUKS2_REQ_CONVERSION);
	ret->both_copies = eh->both_copies;
	ret->sector_size = luks2_hdr_sector_size(eh->h);
	ret->data_off = luks2_hdr_segment_offset(eh->h);
	ret->hdr_len = luks2_hdr_header_size(eh->h);
}

int engine_hdr_new(struct engine_hdr **ret, const struct engine_hdr_new *n)
{
	struct luks2_params p = {
		.metadata_size = HDR_METADATA,
		.header_size = HDR_SIZE,
		.sector_size = n->sector_size,
		.segment_offset = n->data_off,
		.segment_size = LUKS2_SEGMENT_DYNAMIC,
		.uuid = n->uuid,
	};
	struct engine_hdr *eh = calloc(1, sizeof(*eh));
	int r, slot;

	if (!eh)
		return log_error(ENOMEM, "out of memory");
	r = luks2_hdr_new(&eh->h, &p, n->volume_key, LUKS2_VOLUME_KEY_SIZE);
	if (r == 0)
		r = luks2_keyslot_add(eh->h, -1, n->volume_key, LUKS2_VOLUME_KEY_SIZE, n->passphrase,
				      n->passphrase_len, 0, &slot);
	if (r == 0)
		r = luks2_requirement_set(eh->h, LUKS2_REQ_CONVERSION);
	if (r == 0)
		r = token_write(eh, n->layout, n->plain_len, n->tail_size, n->group, n->plain_len);
	if (r == 0 && n->key_token)
		r = luks2_token_put(eh->h, n->key_token, UINT32_C(1) << slot, NULL);
	if (r < 0) {
		engine_hdr_free(eh);
		return r;
	}
	eh->both_copies = true;
	tokens_parse(eh);
	*ret = eh;
	return 0;
}

static int has_magic(const uint8_t *b, size_t len)
{
	static const uint8_t m1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	static const uint8_t m2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

	if (len >= 6 && memcmp(b, m1, 6) == 0)
		return 1;
	/* secondary copies sit at one of the metadata sizes (16 KiB..4 MiB) */
	for (size_t off = 16384; off <= (4u << 20) && off + 6 <= len; off *= 2)
		if (memcmp(b + off, m2, 6) == 0)
			return 1;
	return 0;
}

int engine_hdr_load(struct blkdev *d, uint64_t base, struct engine_hdr **ret)
{
	uint64_t avail = d->size > base ? d->size - base : 0;
	/* Enough for our header and for someone else's larger one (16 MiB is
	 * cryptsetup's default); read once so a damaged one is reported once. */
	size_t len = avail < HDR_READ_MAX ? (size_t)avail : HDR_READ_MAX;
	struct luks2_read_status st;
	struct luks2_hdr *h = NULL;
	uint8_t *buf;
	int r;

	size_t probe = len < (4u << 20) + 4096 ? len : (4u << 20) + 4096;

	if (len < 4096)
		return 0;
	/* Cheap look for either copy's magic first: plain volumes have none. */
	buf = blkdev_alloc_large(len);
	if (!buf)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(d, buf, probe, base);
	if (r == 0 && !has_magic(buf, probe))
		r = 1;
	else if (r == 0 && memcmp(buf, "LUKS\xba\xbe", 6) == 0 && (buf[6] != 0 || buf[7] != 2))
		r = -EPROTONOSUPPORT; /* LUKS1 or a future version: not ours */
	else if (r == 0 && len > probe)
		r = blkdev_read(d, buf + probe, len - probe, base + probe);
	if (r != 0) {
		blkdev_free_large(buf, len);
		return r == 1 ? 0 : r;
	}
	memset(&st, 0, sizeof(st));
	r = luks2_hdr_read_mem(&h, buf, len, &st);
	blkdev_free_large(buf, len);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return -EINVAL;
	*ret = calloc(1, sizeof(**ret));
	if (!*ret) {
		luks2_hdr_free(h);
		return log_error(ENOMEM, "out of memory");
	}
	(*ret)->h = h;
	(*ret)->both_copies = st.primary_ok && st.secondary_ok && !st.seqid_mismatch;
	tokens_parse(*ret);
	return 1;
}

int engine_hdr_unlock(struct engine_hdr *eh, const char *pass, size_t pass_len, uint8_t *vk,
		      size_t vk_size)
{
	void *key = NULL;
	size_t klen = 0;
	int r;

	r = luks2_unlock(eh->h, -1, pass, pass_len, &key, &klen, NULL);
	if (r < 0)
		return r;
	if (klen != vk_size) {
		secmem_free(key);
		return log_error(EINVAL, "volume key is %zu bytes, expected %zu", klen, vk_size);
	}
	memcpy(vk, key, klen);
	secmem_free(key);
	return 0;
}

int engine_hdr_set_mark(struct engine_hdr *eh, uint64_t mark)
{
	const struct engine_hdr_info *i = &eh->tokens;
	int r = token_write(eh, i->layout, i->plain_len, i->tail_size, i->group, mark);

	/* parsed back as a load would (a mark past plain_len makes it not ours) */
	tokens_parse(eh);
	return r;
}

int engine_hdr_set_final(struct engine_hdr *eh)
{
	return luks2_requirement_clear(eh->h, LUKS2_REQ_CONVERSION);
}

/* Serializes through luks2.h into memory: full or metadata only. */
static int serialize(struct engine_hdr *eh, bool full, uint8_t **ret, size_t *ret_len)
{
	size_t len = full ? luks2_hdr_header_size(eh->h) : 2 * luks2_hdr_metadata_size(eh->h);
	uint8_t *buf = NULL;
	size_t done = 0;
	int fd, r;

	fd = memfd_create("rootcrypt-luks2", MFD_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "memfd_create failed");
	if (ftruncate(fd, (off_t)luks2_hdr_header_size(eh->h)) < 0) {
		r = log_error_errno(errno, "memfd ftruncate failed");
		goto out;
	}
	r = full ? luks2_hdr_write(eh->h, fd, 0) : luks2_hdr_write_metadata(eh->h, fd, 0);
	if (r < 0)
		goto out;
	buf = blkdev_alloc(len);
	if (!buf) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);

		if (n <= 0) {
			r = log_error_errno(n < 0 ? errno : EIO, "memfd read failed");
			goto out;
		}
		done += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

static int write_flush(struct blkdev *d, const uint8_t *buf, size_t len, uint64_t off)
{
	int r = blkdev_write(d, buf, len, off);

	return r < 0 ? r : blkdev_flush(d);
}

int engine_hdr_write_full(struct engine_hdr *eh, struct blkdev *d, uint64_t base)
{
	size_t m = luks2_hdr_metadata_size(eh->h), len;
	uint8_t *buf;
	int r;

	r = serialize(eh, true, &buf, &len);
	if (r < 0)
		return r;
	r = write_flush(d, buf + 2 * m, len - 2 * m, base + 2 * m);
	if (r == 0)
		r = write_flush(d, buf + m, m, base + m);
	if (r == 0)
		r = write_flush(d, buf, m, base);
	free(buf);
	if (r == 0)
		eh->both_copies = true;
	return r;
}

int engine_hdr_commit(struct engine_hdr *eh, struct blkdev *d, uint64_t base)
{
	size_t m = luks2_hdr_metadata_size(eh->h), len;
	uint8_t *buf;
	int r;

	r = serialize(eh, false, &buf, &len);
	if (r < 0)
		return r;
	r = write_flush(d, buf, m, base);
	if (r == 0)
		r = write_flush(d, buf + m, m, base + m);
	free(buf);
	if (r == 0)
		eh->both_copies = true;
	return r;
}

/* The 4096-byte binary LUKS2 header: big-endian fields, converted to and
 * from struct luks2_bin by pure functions, and its sha256 checksum. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "crypto.h"
#include "luks2_internal.h"

/* Field offsets of the on-disk header (LUKS2 on-disk format, section 2). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 6,
	OFF_HDR_SIZE = 8,
	OFF_SEQID = 16,
	OFF_LABEL = 24,
	OFF_CSUM_ALG = 72,
	OFF_SALT = 104,
	OFF_UUID = 168,
	OFF_SUBSYSTEM = 208,
	OFF_HDR_OFFSET = 256,
	OFF_CSUM = 448,
};

static void put_be16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint16_t get_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* Copies a string into a fixed field, always NUL terminated. */
static void put_str(uint8_t *p, const char *s, size_t field)
{
	size_t n = strnlen(s, field - 1);

	memcpy(p, s, n);
}

static void get_str(char *dst, const uint8_t *p, size_t field)
{
	memcpy(dst, p, field);
	dst[field - 1] = '\0';
}

void luks2_bin_encode(const struct luks2_bin *b, bool secondary, void *out4096)
{
	uint8_t *p = out4096;

	memset(p, 0, LUKS2_BIN_HDR_SIZE);
	memcpy(p + OFF_MAGIC, secondary ? LUKS2_MAGIC_2ND : LUKS2_MAGIC_1ST, LUKS2_MAGIC_LEN);
	put_be16(p + OFF_VERSION, 2);
	put_be64(p + OFF_HDR_SIZE, b->hdr_size);
	put_be64(p + OFF_SEQID, b->seqid);
	put_str(p + OFF_LABEL, b->label, LUKS2_LABEL_LEN);
	put_str(p + OFF_CSUM_ALG, b->checksum_alg, LUKS2_CSUM_ALG_LEN);
	memcpy(p + OFF_SALT, b->salt, LUKS2_SALT_LEN);
	put_str(p + OFF_UUID, b->uuid, LUKS2_UUID_LEN);
	put_str(p + OFF_SUBSYSTEM, b->subsystem, LUKS2_LABEL_LEN);
	put_be64(p + OFF_HDR_OFFSET, b->hdr_offset);
	memcpy(p + OFF_CSUM, b->csum, LUKS2_CSUM_LEN);
}

static bool valid_metadata_size(uint64_t s)
{
	/* the sizes cryptsetup accepts: 16 KiB .. 4 MiB, powers of two */
	return s >= LUKS2_DEFAULT_METADATA_SIZE && s <= LUKS2_METADATA_MAX && (s & (s - 1)) == 0;
}

int luks2_bin_decode(const void *in4096, bool secondary, uint64_t expected_offset,
		     struct luks2_bin *b, char *err, size_t errlen)
{
	const uint8_t *p = in4096;

	memset(b, 0, sizeof(*b));
	if (memcmp(p + OFF_MAGIC, secondary ? LUKS2_MAGIC_2ND : LUKS2_MAGIC_1ST, LUKS2_MAGIC_LEN)) {
		luks2_err(err, errlen, "no LUKS2 magic");
		return -ENODEV;
	}
	b->version = get_be16(p + OFF_VERSION);
	if (b->version != 2) {
		luks2_err(err, errlen, "unsupported LUKS version %u", b->version);
		return -EINVAL;
	}
	b->hdr_size = get_be64(p + OFF_HDR_SIZE);
	b->seqid = get_be64(p + OFF_SEQID);
	get_str(b->label, p + OFF_LABEL, LUKS2_LABEL_LEN);
	get_str(b->checksum_alg, p + OFF_CSUM_ALG, LUKS2_CSUM_ALG_LEN);
	memcpy(b->salt, p + OFF_SALT, LUKS2_SALT_LEN);
	get_str(b->uuid, p + OFF_UUID, LUKS2_UUID_LEN);
	get_str(b->subsystem, p + OFF_SUBSYSTEM, LUKS2_LABEL_LEN);
	b->hdr_offset = get_be64(p + OFF_HDR_OFFSET);
	memcpy(b->csum, p + OFF_CSUM, LUKS2_CSUM_LEN);

	if (!valid_metadata_size(b->hdr_size)) {
		luks2_err(err, errlen, "bogus header size %" PRIu64, b->hdr_size);
		return -EINVAL;
	}
	if (b->hdr_offset != expected_offset) {
		luks2_err(err, errlen, "header offset field %" PRIu64 " is not its position %" PRIu64,
			  b->hdr_offset, expected_offset);
		return -EINVAL;
	}
	if (secondary && b->hdr_size != expected_offset) {
		luks2_err(err, errlen, "secondary header size %" PRIu64 " does not match its offset %" PRIu64,
			  b->hdr_size, expected_offset);
		return -EINVAL;
	}
	if (strcmp(b->checksum_alg, "sha256") != 0) {
		luks2_err(err, errlen, "unsupported header checksum \"%s\"", b->checksum_alg);
		return -EINVAL;
	}
	return 0;
}

int luks2_bin_checksum(const void *bin4096, const void *json_area, size_t json_len, uint8_t out[32])
{
	uint8_t tmp[LUKS2_BIN_HDR_SIZE];
	struct crypto_hash *h;
	int r;

	memcpy(tmp, bin4096, sizeof(tmp));
	memset(tmp + OFF_CSUM, 0, LUKS2_CSUM_LEN);
	r = crypto_hash_new_public(&h, "sha256");
	if (r < 0)
		return r;
	r = crypto_hash_update(h, tmp, sizeof(tmp));
	if (r == 0)
		r = crypto_hash_update(h, json_area, json_len);
	if (r == 0)
		r = crypto_hash_final(h, out, 32);
	crypto_hash_free(h);
	return r;
}

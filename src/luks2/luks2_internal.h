/* Internals shared by the luks2_*.c files; outside them only the unit
 * tests and the debug-luks2 test command include this. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "luks2.h"

#define LUKS2_MAGIC_1ST "LUKS\xba\xbe"
#define LUKS2_MAGIC_2ND "SKUL\xba\xbe"
#define LUKS2_MAGIC_LEN 6
#define LUKS2_LABEL_LEN 48
#define LUKS2_CSUM_ALG_LEN 32
#define LUKS2_SALT_LEN 64
#define LUKS2_UUID_LEN 40
#define LUKS2_CSUM_LEN 64
#define LUKS2_METADATA_MAX (4u * 1024 * 1024)
#define LUKS2_KEYSLOTS_SIZE_MAX (128u * 1024 * 1024)
#define LUKS2_KDF_SALT_LEN 32 /* keyslot and digest salts (cryptsetup) */
#define LUKS2_DIGEST_LEN_MIN 20
#define LUKS2_ERR_LEN 160

/* Native form of one binary header copy. */
struct luks2_bin {
	uint16_t version;
	uint64_t hdr_size;
	uint64_t seqid;
	char label[LUKS2_LABEL_LEN];
	char checksum_alg[LUKS2_CSUM_ALG_LEN];
	uint8_t salt[LUKS2_SALT_LEN];
	char uuid[LUKS2_UUID_LEN];
	char subsystem[LUKS2_LABEL_LEN];
	uint64_t hdr_offset;
	uint8_t csum[LUKS2_CSUM_LEN];
};

/* Which copy luks2_hdr_read() kept: decides the write order (the damaged
 * copy is replaced last). */
enum luks2_origin { LUKS2_ORIGIN_NEW, LUKS2_ORIGIN_BOTH, LUKS2_ORIGIN_PRIMARY, LUKS2_ORIGIN_SECONDARY };

struct luks2_hdr {
	uint64_t hdr_size; /* one metadata copy */
	uint64_t seqid;
	char label[LUKS2_LABEL_LEN];
	char subsystem[LUKS2_LABEL_LEN];
	char uuid[LUKS2_UUID_LEN];
	uint8_t salt[2][LUKS2_SALT_LEN];
	enum luks2_origin origin;
	struct json_object *jobj;
	/* Encrypted AF material of keyslot i (not secret by itself, but it is
	 * what a passphrase opens: never log it). NULL for no keyslot. */
	uint8_t *ks_data[LUKS2_KEYSLOTS_MAX];
	size_t ks_len[LUKS2_KEYSLOTS_MAX];
	/* Material added in memory and not yet written. */
	bool ks_dirty[LUKS2_KEYSLOTS_MAX];
};

/* luks2_disk.c: binary header <-> native, pure. */
void luks2_bin_encode(const struct luks2_bin *b, bool secondary, void *out4096);
/* 0, or -EINVAL with a reason in err. Checks magic/version/size/offset, not
 * the checksum. */
int luks2_bin_decode(const void *in4096, bool secondary, uint64_t expected_offset,
		     struct luks2_bin *b, char *err, size_t errlen);
/* sha256 over the binary header with csum zeroed, then the JSON area. */
int luks2_bin_checksum(const void *bin4096, const void *json_area, size_t json_len,
		       uint8_t out[32]);

/* luks2_json.c: helpers */
bool luks2_json_u64(struct json_object *o, uint64_t *ret); /* decimal string */
struct json_object *luks2_json_new_u64(uint64_t v);
bool luks2_json_int(struct json_object *o, int64_t min, int64_t max, int64_t *ret);
struct json_object *luks2_json_get(struct json_object *o, const char *key, json_type type);
struct json_object *luks2_json_section(const struct luks2_hdr *h, const char *name);
struct json_object *luks2_json_by_id(struct json_object *section, int id);
int luks2_json_add_by_id(struct json_object *section, int id, struct json_object *v);
bool luks2_json_array_has(struct json_object *arr, const char *s);
int luks2_json_array_add(struct json_object *arr, const char *s);
void luks2_json_array_del(struct json_object *arr, const char *s);
bool luks2_numbered(const char *s);
const char *luks2_str(struct json_object *string_or_null);
const char *luks2_json_on_disk(struct json_object *o); /* compact text */
int luks2_base64_encode(const void *in, size_t len, char **ret);
/* -EINVAL unless the decoded length is in [min_len, max_len]. */
int luks2_base64_decode(const char *in, void *out, size_t min_len, size_t max_len, size_t *ret_len);
/* Rejects duplicate member names anywhere in the text (json-c keeps the
 * last silently). Pure. */
int luks2_json_check_duplicates(const char *text, size_t len, char *err, size_t errlen);

/* luks2_validate.c: whole-tree validation against the metadata size;
 * 0 or -EINVAL with a one-line reason in err. */
int luks2_validate(struct json_object *root, uint64_t hdr_size, char *err, size_t errlen);

/* luks2_af.c */
size_t luks2_af_size(size_t key_len, unsigned stripes); /* rounded to 512 */
int luks2_af_split(const void *key, size_t key_len, unsigned stripes, const char *hash, void *out);
int luks2_af_merge(const void *in, size_t key_len, unsigned stripes, const char *hash, void *key);

/* luks2_digest.c */
int luks2_digest_new(struct json_object **ret, const void *vk, size_t vk_len, uint32_t iterations);
/* 0 match, -EPERM mismatch, -EINVAL/-ENOTSUP bad digest object. */
int luks2_digest_verify(struct json_object *digest, const void *vk, size_t vk_len);
/* The digest object that lists the data segment (luks2_data_segment_id;
 * there is one by validation). */
struct json_object *luks2_digest_for_segment(const struct luks2_hdr *h);

/* luks2_online.c: the id of the segment that holds the volume: 0, or while
 * cryptsetup's online reencryption is in progress (requirement
 * online-reencrypt-v2) the segment flagged backup-final. */
int luks2_data_segment_id(const struct luks2_hdr *h);

void luks2_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* luks2_debug.c (tests only): JSON into one copy with a valid checksum. */
int luks2_debug_put_json(int fd, uint64_t base, bool secondary, const char *json);

/* LUKS2 module: AF, base64, binary header, build/commit/read/unlock,
 * validation of hostile metadata, copy fallback and repair, requirements
 * and tokens. All in memory (memfd), no cryptsetup here: the integration
 * scripts hold the result against stock cryptsetup. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto.h"
#include "luks2.h"
#include "luks2_internal.h"
#include "secmem.h"
#include "test.h"

#define MD 16384u
#define TOTAL (2 * MD + 2 * 258048u + 8192u) /* room for two keyslots */

static const uint8_t vk[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
				22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
				41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
				60, 61, 62, 63, 64 };

static struct luks2_hdr *mkhdr(void)
{
	struct luks2_params p = { .metadata_size = MD, .header_size = TOTAL, .sector_size = 4096,
				  .segment_offset = 1 << 20, .segment_size = LUKS2_SEGMENT_DYNAMIC,
				  .uuid = "12345678-1234-4234-8234-123456789abc", .label = "t" };
	struct luks2_hdr *h = NULL;

	if (luks2_hdr_new(&h, &p, vk, sizeof(vk)) < 0)
		return NULL;
	if (luks2_keyslot_add(h, -1, vk, sizeof(vk), "pw", 2, 0, NULL) < 0) {
		luks2_hdr_free(h);
		return NULL;
	}
	return h;
}

/* Whole header image in a fresh buffer (caller frees). */
static uint8_t *image(struct luks2_hdr *h, int *ret_fd)
{
	int fd = memfd_create("luks2", 0);
	uint8_t *buf = malloc(TOTAL);

	if (fd < 0 || !buf || ftruncate(fd, TOTAL) < 0 || luks2_hdr_write(h, fd, 0) < 0 ||
	    pread(fd, buf, TOTAL, 0) != (ssize_t)TOTAL) {
		free(buf);
		return NULL;
	}
	if (ret_fd)
		*ret_fd = fd;
	else
		close(fd);
	return buf;
}

/* Puts json into one copy of buf and fixes its checksum, as an attacker
 * (or a buggy tool) with a correct checksum would. */
static void rewrite_copy(uint8_t *buf, bool secondary, const char *json)
{
	uint8_t *p = buf + (secondary ? MD : 0), csum[32];
	struct luks2_bin b;

	luks2_bin_decode(p, secondary, secondary ? MD : 0, &b, NULL, 0);
	memset(p + LUKS2_BIN_HDR_SIZE, 0, MD - LUKS2_BIN_HDR_SIZE);
	memcpy(p + LUKS2_BIN_HDR_SIZE, json, strlen(json));
	memset(b.csum, 0, sizeof(b.csum));
	luks2_bin_encode(&b, secondary, p);
	luks2_bin_checksum(p, p + LUKS2_BIN_HDR_SIZE, MD - LUKS2_BIN_HDR_SIZE, csum);
	memcpy(b.csum, csum, 32);
	luks2_bin_encode(&b, secondary, p);
}

static char *json_of(struct luks2_hdr *h)
{
	char *j = NULL;

	luks2_hdr_json(h, &j);
	return j;
}

/* Replaces the first occurrence of `from` with `to` in a malloc'ed string. */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	if (!at)
		return NULL;
	out = malloc(strlen(s) + strlen(to) + 1);
	sprintf(out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

TEST(af_split_merge_roundtrip)
{
	size_t len = luks2_af_size(64, 4000);
	uint8_t *af = malloc(len), key[64];

	CHECK(len == 256000);
	CHECK(luks2_af_size(32, 4000) == 128000);
	CHECK(luks2_af_size(64, 3) == 512);
	CHECK(luks2_af_split(vk, 64, 4000, "sha256", af) == 0);
	CHECK(luks2_af_merge(af, 64, 4000, "sha256", key) == 0);
	CHECK_MEM(key, vk, 64);
	/* any damaged stripe destroys the key */
	af[12345] ^= 1;
	CHECK(luks2_af_merge(af, 64, 4000, "sha256", key) == 0);
	CHECK(memcmp(key, vk, 64) != 0);
	free(af);
}

TEST(af_merge_two_stripes_by_hand)
{
	/* stripes=2: key = s1 XOR diffuse(s0); diffuse hashes each 32-byte
	 * chunk i as sha256(be32(i) || chunk) */
	uint8_t s[128], key[64], want[64], in[36];

	for (int i = 0; i < 128; i++)
		s[i] = (uint8_t)(i * 7 + 3);
	for (uint32_t c = 0; c < 2; c++) {
		in[0] = 0, in[1] = 0, in[2] = 0, in[3] = (uint8_t)c;
		memcpy(in + 4, s + 32 * c, 32);
		crypto_sha256(in, 36, want + 32 * c);
	}
	for (int i = 0; i < 64; i++)
		want[i] ^= s[64 + i];
	CHECK(luks2_af_merge(s, 64, 2, "sha256", key) == 0);
	CHECK_MEM(key, want, 64);
}

TEST(base64_roundtrip_and_rejects)
{
	uint8_t out[8];
	size_t n;
	char *s;

	CHECK(luks2_base64_encode("foobar", 6, &s) == 0);
	CHECK_EQ_STR(s, "Zm9vYmFy");
	free(s);
	CHECK(luks2_base64_encode("fo", 2, &s) == 0);
	CHECK_EQ_STR(s, "Zm8=");
	free(s);
	CHECK(luks2_base64_decode("Zm8=", out, 1, 8, &n) == 0 && n == 2 && memcmp(out, "fo", 2) == 0);
	CHECK(luks2_base64_decode("Zg==", out, 1, 8, &n) == 0 && n == 1);
	CHECK(luks2_base64_decode("Zm9vYmFy", out, 1, 5, &n) < 0); /* too long for the buffer */
	CHECK(luks2_base64_decode("Zm9", out, 1, 8, &n) < 0);
	CHECK(luks2_base64_decode("Z=9v", out, 1, 8, &n) < 0);
	CHECK(luks2_base64_decode("Zm8=Zm8=", out, 1, 8, &n) < 0); /* padding in the middle */
	CHECK(luks2_base64_decode("Zm!v", out, 1, 8, &n) < 0);
}

TEST(duplicate_json_members)
{
	char err[160];
	const char *ok = "{\"a\":{\"0\":1,\"1\":2},\"b\":[{\"0\":1},{\"0\":2}],\"s\":\"x\\\"y\"}";
	const char *dup = "{\"keyslots\":{\"0\":{},\"0\":{}}}";

	CHECK(luks2_json_check_duplicates(ok, strlen(ok), err, sizeof(err)) == 0);
	CHECK(luks2_json_check_duplicates(dup, strlen(dup), err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "duplicate") != NULL);
}

TEST(bin_header_encode_decode)
{
	struct luks2_bin b = { .hdr_size = MD, .seqid = 0x0102030405060708ull, .hdr_offset = MD }, d;
	uint8_t raw[4096];
	char err[160];

	strcpy(b.label, "lbl");
	strcpy(b.checksum_alg, "sha256");
	strcpy(b.uuid, "u");
	luks2_bin_encode(&b, true, raw);
	CHECK(memcmp(raw, "SKUL\xba\xbe\x00\x02", 8) == 0);
	CHECK(raw[16] == 1 && raw[23] == 8); /* big-endian seqid */
	CHECK(luks2_bin_decode(raw, true, MD, &d, err, sizeof(err)) == 0);
	CHECK(d.seqid == b.seqid && d.hdr_size == MD);
	CHECK_EQ_STR(d.label, "lbl");
	CHECK(luks2_bin_decode(raw, false, 0, &d, err, sizeof(err)) == -ENODEV);
	CHECK(luks2_bin_decode(raw, true, 2 * MD, &d, err, sizeof(err)) == -EINVAL);
	b.hdr_size = 12345;
	luks2_bin_encode(&b, true, raw);
	CHECK(luks2_bin_decode(raw, true, MD, &d, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "size") != NULL);
}

TEST(new_write_read_unlock)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	struct luks2_read_status st;
	void *key;
	size_t len;
	int slot, fd;
	uint8_t *buf;

	CHECK(h);
	buf = image(h, &fd);
	CHECK(buf);
	CHECK(luks2_hdr_seqid(h) == 1);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.primary_ok && st.secondary_ok);
	CHECK_EQ_STR(luks2_hdr_uuid(r), "12345678-1234-4234-8234-123456789abc");
	CHECK_EQ_STR(luks2_hdr_label(r), "t");
	CHECK(luks2_hdr_segment_offset(r) == 1 << 20);
	CHECK(luks2_hdr_segment_size(r) == LUKS2_SEGMENT_DYNAMIC);
	CHECK(luks2_hdr_sector_size(r) == 4096);
	CHECK_EQ_STR(luks2_hdr_cipher(r), "aes-xts-plain64");
	CHECK(luks2_hdr_header_size(r) == TOTAL);
	CHECK(luks2_hdr_key_size(r) == 64);
	CHECK(luks2_hdr_iv_sector(r, 8192) == 16);
	CHECK(luks2_unlock(r, -1, "pw", 2, &key, &len, &slot) == 0);
	CHECK(len == 64 && slot == 0);
	CHECK_MEM(key, vk, 64);
	secmem_free(key);
	CHECK(luks2_unlock(r, -1, "pX", 2, &key, &len, &slot) == -EPERM);
	CHECK(luks2_unlock(r, 3, "pw", 2, &key, &len, &slot) == -ENOENT);
	CHECK(luks2_volume_key_verify(r, vk, 64) == 0);
	{
		uint8_t bad[64];

		memcpy(bad, vk, 64);
		bad[63] ^= 0x80;
		CHECK(luks2_volume_key_verify(r, bad, 64) == -EPERM);
		CHECK(luks2_keyslot_add(r, -1, bad, 64, "x", 1, 0, NULL) == -EPERM);
	}
	luks2_hdr_free(r);
	close(fd);
	free(buf);
	luks2_hdr_free(h);
}

TEST(second_keyslot_fills_area_then_enospc)
{
	struct luks2_hdr *h = mkhdr();
	void *key;
	size_t len;
	int slot;

	CHECK(h);
	CHECK(luks2_keyslot_add(h, 5, vk, 64, "second", 6, 2000, &slot) == 0 && slot == 5);
	CHECK(luks2_keyslot_add(h, -1, vk, 64, "third", 5, 0, NULL) == -ENOSPC);
	CHECK(luks2_keyslot_add(h, 5, vk, 64, "again", 5, 0, NULL) == -EEXIST);
	CHECK(luks2_keyslot_add(h, -1, vk, 64, "x", 1, 999, NULL) == -EINVAL); /* below minimum */
	CHECK(luks2_unlock(h, -1, "second", 6, &key, &len, &slot) == 0 && slot == 5);
	secmem_free(key);
	{
		uint64_t off, alen;

		CHECK(luks2_keyslot_area(h, 5, &off, &alen) == 0);
		CHECK(off == 2 * MD + 258048 && alen == 258048);
		CHECK(luks2_keyslot_area(h, 6, &off, &alen) == -ENOENT);
	}
	CHECK(luks2_keyslot_remove(h, 0) == 0);
	CHECK(luks2_unlock(h, -1, "pw", 2, &key, &len, &slot) == -EPERM);
	/* the freed area is reused */
	CHECK(luks2_keyslot_add(h, -1, vk, 64, "third", 5, 0, &slot) == 0 && slot == 0);
	luks2_hdr_free(h);
}

TEST(params_rejected)
{
	struct luks2_params p = { .segment_size = LUKS2_SEGMENT_DYNAMIC };
	struct luks2_hdr *h = NULL;

	p.metadata_size = 20000;
	CHECK(luks2_hdr_new(&h, &p, vk, 64) == -EINVAL);
	p.metadata_size = 0;
	p.sector_size = 1024;
	CHECK(luks2_hdr_new(&h, &p, vk, 64) == -EINVAL);
	p.sector_size = 4096;
	p.segment_offset = 4096; /* inside the 16 MiB header */
	CHECK(luks2_hdr_new(&h, &p, vk, 64) == -EINVAL);
	p.segment_offset = 0;
	p.segment_size = 1000;
	CHECK(luks2_hdr_new(&h, &p, vk, 64) == -EINVAL);
	p.segment_size = LUKS2_SEGMENT_DYNAMIC;
	p.uuid = "not-a-uuid";
	CHECK(luks2_hdr_new(&h, &p, vk, 64) == -EINVAL);
	p.uuid = NULL;
	CHECK(luks2_hdr_new(&h, &p, vk, 32) == -EINVAL);
	CHECK(luks2_hdr_new(&h, &p, vk, 64) == 0);
	CHECK(strlen(luks2_hdr_uuid(h)) == 36 && luks2_hdr_uuid(h)[14] == '4');
	CHECK(luks2_hdr_header_size(h) == LUKS2_DEFAULT_HEADER_SIZE);
	luks2_hdr_free(h);
}

/* One damaged copy -> the other one is used and the damage reported. */
static int read_with(uint8_t *buf, struct luks2_read_status *st)
{
	struct luks2_hdr *r = NULL;
	int ret = luks2_hdr_read_mem(&r, buf, TOTAL, st);

	if (ret == 0) {
		void *key;
		size_t len;

		ret = luks2_unlock(r, -1, "pw", 2, &key, &len, NULL);
		if (ret == 0)
			secmem_free(key);
	}
	luks2_hdr_free(r);
	return ret;
}

TEST(primary_damage_falls_back_to_secondary)
{
	struct luks2_hdr *h = mkhdr();
	struct luks2_read_status st;
	uint8_t *buf = image(h, NULL), *copy = malloc(TOTAL);
	char *j = json_of(h), *bad;
	static const size_t flips[] = { 0 /* magic */, 7 /* version */, 9 /* hdr_size */,
					300 /* padding: checksum */, 448 /* checksum */,
					4096 + 5 /* JSON text */, MD - 1 /* JSON area tail */ };

	CHECK(buf && copy && j);
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(copy, buf, TOTAL);
		copy[flips[i]] ^= 0x20;
		CHECK_EQ_INT(read_with(copy, &st), 0);
		CHECK(!st.primary_ok && st.secondary_ok);
		CHECK(st.primary_error[0]);
	}
	/* valid checksum, hostile JSON in the primary */
	{
		static const char *const evil[][2] = {
			{ "\"offset\":\"32768\"", "\"offset\":\"4096\"" },	      /* area in the metadata */
			{ "\"size\":\"258048\"", "\"size\":\"99999999999\"" },	      /* area beyond the end */
			{ "\"size\":\"258048\"", "\"size\":\"18446744073709551615\"" }, /* overflow */
			{ "\"keyslots_size\":\"", "\"keyslots_size\":\"1" },	      /* huge, unaligned */
			{ "\"json_size\":\"12288\"", "\"json_size\":\"4194304\"" },
			{ "\"sector_size\":4096", "\"sector_size\":1000" },
			{ "\"offset\":\"1048576\"", "\"offset\":\"4096\"" },	      /* data in the header */
			{ "\"segments\":[\"0\"]", "\"segments\":[\"7\"]" },	      /* dangling ref */
			{ "\"keyslots\":{\"0\":", "\"keyslots\":{\"99\":" },	      /* id out of range */
			{ "{\"keyslots\":{", "{\"keyslots\":{\"1\":{\"type\":\"x\"}," },
			{ "\"tokens\":{}", "\"tokens\":{\"0\":{\"type\":\"t\",\"keyslots\":[\"3\"]}}" },
			{ "\"tokens\":{}", "\"tokens\":{},\"tokens\":{}" },	      /* duplicate */
			{ "\"config\":{", "\"config\":[" },			      /* syntax */
			{ "{", "  {" },					      /* leading junk */
		};
		for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
			bad = subst(j, evil[i][0], evil[i][1]);
			CHECK(bad);
			memcpy(copy, buf, TOTAL);
			rewrite_copy(copy, false, bad);
			if (read_with(copy, &st) != 0)
				fprintf(stderr, "evil case %zu: fallback failed\n", i);
			CHECK(read_with(copy, &st) == 0);
			CHECK(!st.primary_ok && st.secondary_ok);
			/* both copies hostile: refused with both reasons */
			rewrite_copy(copy, true, bad);
			CHECK(read_with(copy, &st) == -EINVAL);
			free(bad);
		}
	}
	free(j);
	free(copy);
	free(buf);
	luks2_hdr_free(h);
}

TEST(overlapping_keyslot_areas_rejected)
{
	struct luks2_hdr *h = mkhdr();
	char err[160], *j, *bad;
	struct json_object *o;

	CHECK(h);
	CHECK(luks2_keyslot_add(h, 1, vk, 64, "b", 1, 0, NULL) == 0);
	j = json_of(h);
	/* keyslot 1 lives at 32768+258048=290816: move it onto keyslot 0 */
	bad = subst(j, "\"offset\":\"290816\"", "\"offset\":\"40960\"");
	CHECK(bad);
	o = json_tokener_parse(bad);
	CHECK(luks2_validate(o, MD, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "overlaps") != NULL);
	json_object_put(o);
	free(bad);
	free(j);
	luks2_hdr_free(h);
}

TEST(secondary_damage_and_repair)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	struct luks2_read_status st;
	int fd;
	uint8_t *buf = image(h, &fd);

	CHECK(buf);
	CHECK(pwrite(fd, "XXXX", 4, MD + 100) == 4);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.primary_ok && !st.secondary_ok);
	CHECK(strstr(st.secondary_error, "checksum") != NULL);
	CHECK(luks2_hdr_repair(r, fd, 0, &st) == 0);
	luks2_hdr_free(r);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.primary_ok && st.secondary_ok && luks2_hdr_seqid(r) == 1);
	luks2_hdr_free(r);
	/* a torn commit: only the primary got the new seqid */
	CHECK(pwrite(fd, "\0\0\0\0", 4, 0) == 4); /* no primary magic */
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(!st.primary_ok && st.secondary_ok);
	luks2_hdr_free(r);
	CHECK(pwrite(fd, "\0\0\0\0\0\0", 6, MD) == 6);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == -ENODEV);
	close(fd);
	free(buf);
	luks2_hdr_free(h);
}

TEST(metadata_commit_bumps_seqid_keeps_areas)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	struct luks2_read_status st;
	uint32_t ks = 0;
	char *v = NULL;
	void *key;
	size_t len;
	int fd;
	uint8_t *buf = image(h, &fd);

	CHECK(buf);
	CHECK(luks2_requirement_set(h, LUKS2_REQ_CONVERSION) == 0);
	CHECK(luks2_token_set_string(h, "rootcrypt-progress", "done", "4096") == 0);
	CHECK(luks2_token_put(h, "{\"type\":\"azure-keyvault\",\"vault_url\":\"https://v.vault.azure.net\","
			      "\"secret_name\":\"s\"}", 1, NULL) == 0);
	CHECK(luks2_hdr_write_metadata(h, fd, 0) == 0);
	CHECK(luks2_token_set_string(h, "rootcrypt-progress", "done", "8192") == 0);
	CHECK(luks2_hdr_write_metadata(h, fd, 0) == 0);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.primary_ok && st.secondary_ok);
	CHECK(luks2_hdr_seqid(r) == 3);
	CHECK(luks2_requirement_has(r, LUKS2_REQ_CONVERSION));
	CHECK(luks2_requirement_count(r) == 1);
	CHECK(luks2_token_get_string(r, "rootcrypt-progress", "done", &v) == 0);
	CHECK_EQ_STR(v, "8192");
	free(v);
	CHECK(luks2_token_find(r, "rootcrypt-progress") == 0);
	CHECK(luks2_token_find(r, "azure-keyvault") == 1);
	CHECK(luks2_token_get(r, "azure-keyvault", &v, &ks) == 0);
	CHECK_EQ_STR(v, "{\"type\":\"azure-keyvault\",\"keyslots\":[\"0\"],"
			"\"vault_url\":\"https://v.vault.azure.net\",\"secret_name\":\"s\"}");
	CHECK(ks == 1);
	free(v);
	CHECK(luks2_unlock(r, -1, "pw", 2, &key, &len, NULL) == 0);
	secmem_free(key);
	/* clearing leaves no trace in config */
	CHECK(luks2_requirement_clear(r, LUKS2_REQ_CONVERSION) == 0);
	CHECK(luks2_requirement_count(r) == 0);
	{
		char *j = json_of(r);

		CHECK(strstr(j, "requirements") == NULL);
		free(j);
	}
	/* a new keyslot needs the full write */
	CHECK(luks2_keyslot_add(r, -1, vk, 64, "n", 1, 0, NULL) == 0);
	CHECK(luks2_hdr_write_metadata(r, fd, 0) == -EINVAL);
	luks2_hdr_free(r);
	close(fd);
	free(buf);
	luks2_hdr_free(h);
}

TEST(tokens_generic)
{
	struct luks2_hdr *h = mkhdr();
	char *j = NULL;
	int id;

	CHECK(h);
	CHECK(luks2_token_set_json(h, -1, "{\"type\":\"x\",\"keyslots\":[\"0\"],\"k\":1}", &id) == 0 && id == 0);
	CHECK(luks2_token_set_json(h, -1, "{\"type\":\"x\",\"keyslots\":[\"4\"]}", &id) == -EINVAL);
	CHECK(luks2_token_set_json(h, -1, "{\"keyslots\":[]}", &id) == -EINVAL);
	CHECK(luks2_token_set_json(h, -1, "[1]", &id) == -EINVAL);
	CHECK(luks2_token_get_json(h, 0, &j) == 0);
	CHECK_EQ_STR(j, "{\"type\":\"x\",\"keyslots\":[\"0\"],\"k\":1}");
	free(j);
	CHECK(luks2_token_get_json(h, 1, &j) == -ENOENT);
	/* removing the keyslot drops it from the token */
	CHECK(luks2_keyslot_remove(h, 0) == 0);
	CHECK(luks2_token_get_json(h, 0, &j) == 0);
	CHECK(strstr(j, "\"keyslots\":[]") != NULL);
	free(j);
	CHECK(luks2_token_remove(h, 0) == 0);
	CHECK(luks2_token_remove(h, 0) == -ENOENT);
	luks2_hdr_free(h);
}

TEST(set_segment_validated)
{
	struct luks2_hdr *h = mkhdr();

	CHECK(h);
	CHECK(luks2_hdr_set_segment(h, 0, 1 << 20) == 0);
	CHECK(luks2_hdr_segment_offset(h) == 0 && luks2_hdr_segment_size(h) == 1 << 20);
	CHECK(luks2_hdr_set_segment(h, 4096, LUKS2_SEGMENT_DYNAMIC) == -EINVAL); /* inside header */
	CHECK(luks2_hdr_set_segment(h, TOTAL, 1000) == -EINVAL);		 /* not sectors */
	CHECK(luks2_hdr_segment_offset(h) == 0 && luks2_hdr_segment_size(h) == 1 << 20);
	luks2_hdr_free(h);
}

TEST(header_at_base_offset)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	int fd = memfd_create("luks2", 0);
	const uint64_t base = 3 << 20;

	CHECK(h && fd >= 0);
	CHECK(luks2_hdr_write(h, fd, base) == 0);
	CHECK(luks2_probe(fd, 0) == 0);
	CHECK(luks2_probe(fd, base) == 1);
	CHECK(luks2_hdr_read(&r, fd, base, NULL) == 0);
	luks2_hdr_free(r);
	CHECK(luks2_wipe_region(fd, base, TOTAL) == 0);
	CHECK(luks2_probe(fd, base) == 0);
	CHECK(luks2_hdr_read(&r, fd, base, NULL) == -ENODEV);
	close(fd);
	luks2_hdr_free(h);
}

TEST(truncated_images_refused)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	uint8_t *buf = image(h, NULL);
	static const size_t lens[] = { 0, 100, 4096, MD, 2 * MD, 2 * MD + 1000 };

	CHECK(buf);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		int ret = luks2_hdr_read_mem(&r, buf, lens[i], NULL);

		CHECK(ret < 0);
	}
	free(buf);
	luks2_hdr_free(h);
}

/* Crash states of a commit, built from the images before and after it:
 * every prefix of the write sequence (areas, first copy, second copy), with
 * the copy being written torn in half, must read back as the old or the new
 * header and unlock. */
static void check_state(uint8_t *img, uint64_t old_seq, uint64_t new_seq, const char *pw, int *bad)
{
	struct luks2_hdr *r = NULL;
	void *key;
	size_t len;

	if (luks2_hdr_read_mem(&r, img, TOTAL, NULL) < 0) {
		(*bad)++;
		return;
	}
	if (luks2_hdr_seqid(r) != old_seq && luks2_hdr_seqid(r) != new_seq)
		(*bad)++;
	if (luks2_unlock(r, -1, pw, strlen(pw), &key, &len, NULL) == 0)
		secmem_free(key);
	else
		(*bad)++;
	luks2_hdr_free(r);
}

static void crash_states(uint8_t *before, uint8_t *after, bool secondary_first, uint64_t old_seq, int *bad,
			 int *states)
{
	uint8_t *img = malloc(TOTAL);
	size_t first = secondary_first ? MD : 0, second = secondary_first ? 0 : MD;

	/* 1: keyslot areas written, metadata old */
	memcpy(img, before, TOTAL);
	memcpy(img + 2 * MD, after + 2 * MD, TOTAL - 2 * MD);
	check_state(img, old_seq, old_seq + 1, "pw", bad);
	/* 2: first copy torn: new binary header over old JSON, and old
	 * binary header over new JSON */
	memcpy(img + first, after + first, LUKS2_BIN_HDR_SIZE);
	check_state(img, old_seq, old_seq + 1, "pw", bad);
	memcpy(img + first, before + first, LUKS2_BIN_HDR_SIZE);
	memcpy(img + first + LUKS2_BIN_HDR_SIZE, after + first + LUKS2_BIN_HDR_SIZE, MD - LUKS2_BIN_HDR_SIZE);
	check_state(img, old_seq, old_seq + 1, "pw", bad);
	/* 3: first copy complete, second torn both ways */
	memcpy(img + first, after + first, MD);
	check_state(img, old_seq, old_seq + 1, "pw", bad);
	memcpy(img + second, after + second, LUKS2_BIN_HDR_SIZE);
	check_state(img, old_seq, old_seq + 1, "pw", bad);
	memcpy(img + second, before + second, LUKS2_BIN_HDR_SIZE);
	memcpy(img + second + LUKS2_BIN_HDR_SIZE, after + second + LUKS2_BIN_HDR_SIZE, MD - LUKS2_BIN_HDR_SIZE);
	check_state(img, old_seq, old_seq + 1, "pw", bad);
	/* 4: done */
	memcpy(img + second, after + second, MD);
	check_state(img, old_seq + 1, old_seq + 1, "pw", bad);
	*states += 7;
	free(img);
}

TEST(commit_crash_states_all_readable)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	struct luks2_read_status st;
	uint8_t *before, *after = malloc(TOTAL);
	int fd, bad = 0, states = 0;

	CHECK(h && after);
	before = image(h, &fd);
	CHECK(before);
	/* metadata commit */
	CHECK(luks2_requirement_set(h, LUKS2_REQ_CONVERSION) == 0);
	CHECK(luks2_hdr_write_metadata(h, fd, 0) == 0);
	CHECK(pread(fd, after, TOTAL, 0) == (ssize_t)TOTAL);
	crash_states(before, after, false, 1, &bad, &states);
	/* full commit adding a keyslot in a free gap */
	memcpy(before, after, TOTAL);
	CHECK(luks2_keyslot_add(h, -1, vk, 64, "pw2", 3, 0, NULL) == 0);
	CHECK(luks2_hdr_write(h, fd, 0) == 0);
	CHECK(pread(fd, after, TOTAL, 0) == (ssize_t)TOTAL);
	crash_states(before, after, false, 2, &bad, &states);
	/* a header read with only the primary valid commits the secondary
	 * first: the sole valid copy is overwritten last */
	CHECK(pwrite(fd, "XX", 2, MD + 5000) == 2);
	CHECK(pread(fd, before, TOTAL, 0) == (ssize_t)TOTAL);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0 && st.primary_ok && !st.secondary_ok);
	CHECK(luks2_hdr_secondary_first(r));
	CHECK(luks2_token_set_string(r, "rootcrypt-progress", "done", "1") == 0);
	CHECK(luks2_hdr_write_metadata(r, fd, 0) == 0);
	CHECK(pread(fd, after, TOTAL, 0) == (ssize_t)TOTAL);
	crash_states(before, after, true, 3, &bad, &states);
	/* with the order reversed, a torn primary would lose everything */
	{
		uint8_t *img = malloc(TOTAL);
		struct luks2_hdr *x = NULL;

		memcpy(img, before, TOTAL);
		memcpy(img, after, LUKS2_BIN_HDR_SIZE);
		CHECK(luks2_hdr_read_mem(&x, img, TOTAL, NULL) == -EINVAL);
		free(img);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(states, 21);
	luks2_hdr_free(r);
	close(fd);
	free(before);
	free(after);
	luks2_hdr_free(h);
}

TEST(seqid_mismatch_picks_newer_and_repairs)
{
	struct luks2_hdr *h = mkhdr(), *r = NULL;
	struct luks2_read_status st;
	uint8_t *old, *cur = malloc(TOTAL);
	int fd;

	CHECK(h && cur);
	old = image(h, &fd);
	CHECK(old);
	CHECK(luks2_hdr_set_label(h, "newer") == 0);
	CHECK(luks2_hdr_write_metadata(h, fd, 0) == 0);
	/* crash between the copies: the secondary still holds seqid 1 */
	CHECK(pwrite(fd, old + MD, MD, MD) == (ssize_t)MD);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.seqid_mismatch && st.primary_ok && !st.secondary_ok);
	CHECK(luks2_hdr_seqid(r) == 2);
	CHECK_EQ_STR(luks2_hdr_label(r), "newer");
	CHECK(luks2_hdr_repair(r, fd, 0, &st) == 0);
	luks2_hdr_free(r);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.primary_ok && st.secondary_ok && !st.seqid_mismatch && luks2_hdr_seqid(r) == 2);
	luks2_hdr_free(r);
	/* and the other way round: only the secondary got the new seqid */
	CHECK(pread(fd, cur, TOTAL, 0) == (ssize_t)TOTAL);
	CHECK(pwrite(fd, old, MD, 0) == (ssize_t)MD);
	CHECK(luks2_hdr_read(&r, fd, 0, &st) == 0);
	CHECK(st.seqid_mismatch && !st.primary_ok && st.secondary_ok && luks2_hdr_seqid(r) == 2);
	luks2_hdr_free(r);
	close(fd);
	free(old);
	free(cur);
	luks2_hdr_free(h);
}

/* Header-controlled cost (issue 16): a keyslot asking for more PBKDF2 work
 * than rootcrypt would ever write is refused before any is done, and AF
 * stripes other than 4000 are malformed. */
TEST(keyslot_cost_is_capped)
{
	static const struct { const char *from, *to; int want; } cases[] = {
		{ "\"iterations\":1000", "\"iterations\":2000000", -ENOTSUP },
		{ "\"stripes\":4000", "\"stripes\":3999", -EINVAL },
		{ "\"stripes\":4000", "\"stripes\":1", -EINVAL },
	};
	struct luks2_hdr *h = mkhdr();
	uint8_t *buf = image(h, NULL);
	char *j = json_of(h);

	CHECK(h && buf && j);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct luks2_hdr *r = NULL;
		struct luks2_read_status st;
		uint8_t *copy = malloc(TOTAL);
		char *bad = subst(j, cases[i].from, cases[i].to);
		void *key = NULL;
		size_t len;
		int slot, fd = memfd_create("luks2", 0), rc;

		CHECK(bad && copy && fd >= 0);
		memcpy(copy, buf, TOTAL);
		rewrite_copy(copy, false, bad);
		rewrite_copy(copy, true, bad);
		CHECK(pwrite(fd, copy, TOTAL, 0) == (ssize_t)TOTAL);
		CHECK_EQ_INT(luks2_hdr_read(&r, fd, 0, &st), 0);
		rc = luks2_unlock(r, -1, "pw", 2, &key, &len, &slot);
		if (rc == 0)
			secmem_free(key);
		CHECK_EQ_INT(rc, cases[i].want);
		luks2_hdr_free(r);
		close(fd);
		free(bad);
		free(copy);
	}
	free(j);
	free(buf);
	luks2_hdr_free(h);
}

TEST(numbers_are_canonical_decimal)
{
	CHECK(luks2_numbered("0"));
	CHECK(luks2_numbered("10"));
	CHECK(luks2_numbered("18446744073709551615"));
	CHECK(!luks2_numbered("01"));
	CHECK(!luks2_numbered("00"));
	CHECK(!luks2_numbered("+1"));
	CHECK(!luks2_numbered(""));
}

#include "online_guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "online_plan.h"

#define OFF_VERSION 8
#define OFF_FLAGS 12
#define OFF_UUID 16
#define UUID_FIELD 40
#define OFF_PART 56
#define OFF_LEN 64
#define OFF_DIGEST 72
#define OFF_CSUM 480
#define COPY_CHUNK (4u << 20) /* 16 MiB in four I/Os */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

uint64_t online_guard_offset(uint64_t part_size)
{
	return part_size - ONLINE_REDUCE_SIZE;
}

uint64_t online_guard_copy_offset(uint64_t part_size)
{
	return part_size - ONLINE_DATA_OFF;
}

static bool uuid_canonical(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

void online_guard_encode(const struct online_guard *g, uint8_t out[ONLINE_GUARD_SIZE])
{
	memset(out, 0, ONLINE_GUARD_SIZE);
	memcpy(out, ONLINE_GUARD_MAGIC, sizeof(ONLINE_GUARD_MAGIC));
	put_be(out + OFF_VERSION, ONLINE_GUARD_VERSION, 4);
	memcpy(out + OFF_UUID, g->uuid, strnlen(g->uuid, UUID_FIELD - 1));
	put_be(out + OFF_PART, g->part_size, 8);
	put_be(out + OFF_LEN, g->head_len, 8);
	memcpy(out + OFF_DIGEST, g->head_sha256, 32);
	crypto_sha256(out, OFF_CSUM, out + OFF_CSUM);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int online_guard_decode(const uint8_t buf[ONLINE_GUARD_SIZE], uint64_t part_size,
			struct online_guard *ret, char *why, size_t whylen)
{
	uint8_t sum[32], diff = 0;
	size_t ulen;

	if (memcmp(buf, ONLINE_GUARD_MAGIC, sizeof(ONLINE_GUARD_MAGIC)) != 0) {
		snprintf(why, whylen, "no guard magic");
		return 0;
	}
	if (crypto_sha256(buf, OFF_CSUM, sum) < 0) {
		snprintf(why, whylen, "cannot compute the checksum");
		return 0;
	}
	for (size_t i = 0; i < 32; i++)
		diff |= sum[i] ^ buf[OFF_CSUM + i];
	if (diff) {
		snprintf(why, whylen, "checksum mismatch (torn or damaged record)");
		return 0;
	}
	if (get_be(buf + OFF_VERSION, 4) != ONLINE_GUARD_VERSION || get_be(buf + OFF_FLAGS, 4) != 0) {
		snprintf(why, whylen, "version %llu flags %llu, not 1 and 0",
			 (unsigned long long)get_be(buf + OFF_VERSION, 4),
			 (unsigned long long)get_be(buf + OFF_FLAGS, 4));
		return 0;
	}
	ulen = strnlen((const char *)buf + OFF_UUID, UUID_FIELD);
	if (!uuid_canonical((const char *)buf + OFF_UUID, ulen) ||
	    !all_zero(buf + OFF_UUID + ulen, UUID_FIELD - ulen)) {
		snprintf(why, whylen, "UUID field is not a canonical UUID");
		return 0;
	}
	if (get_be(buf + OFF_PART, 8) != part_size) {
		snprintf(why, whylen, "written for a partition of %llu bytes, this one has %llu",
			 (unsigned long long)get_be(buf + OFF_PART, 8), (unsigned long long)part_size);
		return 0;
	}
	if (get_be(buf + OFF_LEN, 8) != ONLINE_DATA_OFF) {
		snprintf(why, whylen, "copy length %llu, not %llu",
			 (unsigned long long)get_be(buf + OFF_LEN, 8), (unsigned long long)ONLINE_DATA_OFF);
		return 0;
	}
	if (!all_zero(buf + OFF_DIGEST + 32, OFF_CSUM - OFF_DIGEST - 32)) {
		snprintf(why, whylen, "unused bytes are not zero");
		return 0;
	}
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->uuid, buf + OFF_UUID, ulen);
	ret->part_size = part_size;
	ret->head_len = ONLINE_DATA_OFF;
	memcpy(ret->head_sha256, buf + OFF_DIGEST, 32);
	return 1;
}

/* The guard (at P - 32 MiB) must lie past the head it protects. */
static bool geometry_fits(uint64_t size)
{
	return size % 4096 == 0 && size >= ONLINE_REDUCE_SIZE + ONLINE_DATA_OFF;
}

static int geometry_ok(const struct blkdev *d)
{
	if (!geometry_fits(d->size))
		return log_error(EINVAL, "\"%s\": %llu bytes is not a multiple of 4096 of at least "
				 "48 MiB: no room for online mode's guard", d->name,
				 (unsigned long long)d->size);
	return 0;
}

/* Copies (dst != NULL) and hashes len bytes from src_off, in COPY_CHUNK pieces. */
static int copy_hash(struct blkdev *d, uint64_t src_off, uint64_t len, const uint64_t *dst_off,
		     uint8_t out[32])
{
	struct crypto_hash *hs = NULL;
	uint8_t *buf = blkdev_alloc(COPY_CHUNK);
	int r = buf ? crypto_hash_new_public(&hs, "sha256") : -ENOMEM;

	for (uint64_t done = 0; r == 0 && done < len; done += COPY_CHUNK) {
		r = blkdev_read(d, buf, COPY_CHUNK, src_off + done);
		if (r == 0 && dst_off)
			r = blkdev_write(d, buf, COPY_CHUNK, *dst_off + done);
		if (r == 0)
			r = crypto_hash_update(hs, buf, COPY_CHUNK);
	}
	if (r == 0)
		r = crypto_hash_final(hs, out, 32);
	crypto_hash_free(hs);
	free(buf);
	return r;
}

static int write_guard_sector(struct blkdev *d, const uint8_t rec[ONLINE_GUARD_SIZE])
{
	uint8_t *buf = blkdev_alloc(4096);
	int r;

	if (!buf)
		return log_error(ENOMEM, "out of memory");
	memset(buf, 0, 4096);
	if (rec)
		memcpy(buf, rec, ONLINE_GUARD_SIZE);
	r = blkdev_write(d, buf, 4096, online_guard_offset(d->size));
	if (r == 0)
		r = blkdev_flush(d);
	free(buf);
	return r < 0 ? log_error_errno(r, "cannot write online mode's guard on \"%s\"", d->name) : 0;
}

int online_guard_install(struct blkdev *d, const char *uuid)
{
	struct online_guard g = { .part_size = d->size, .head_len = ONLINE_DATA_OFF };
	uint64_t dst = online_guard_copy_offset(d->size);
	uint8_t rec[ONLINE_GUARD_SIZE];
	int r = geometry_ok(d);

	if (r < 0)
		return r;
	if (!uuid_canonical(uuid, strlen(uuid)))
		return log_error(EINVAL, "\"%s\" is not a canonical UUID", uuid);
	snprintf(g.uuid, sizeof(g.uuid), "%s", uuid);
	r = copy_hash(d, 0, ONLINE_DATA_OFF, &dst, g.head_sha256);
	if (r == 0)
		r = blkdev_flush(d);
	if (r < 0)
		return log_error_errno(r, "cannot copy the first 16 MiB of \"%s\" to its end", d->name);
	online_guard_encode(&g, rec);
	return write_guard_sector(d, rec);
}

int online_guard_read(struct blkdev *d, struct online_guard *ret)
{
	uint8_t *buf;
	char why[128];
	int r;

	if (!geometry_fits(d->size))
		return 0;
	buf = blkdev_alloc(4096);
	if (!buf)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(d, buf, 4096, online_guard_offset(d->size));
	if (r == 0) {
		r = online_guard_decode(buf, d->size, ret, why, sizeof(why));
		if (r == 0)
			log_debug("\"%s\": no online guard: %s", d->name, why);
	} else {
		r = log_error_errno(r, "cannot read online mode's guard on \"%s\"", d->name);
	}
	free(buf);
	return r;
}

int online_guard_range_matches(struct blkdev *d, uint64_t off, const struct online_guard *g)
{
	uint8_t sum[32];
	int r = copy_hash(d, off, g->head_len, NULL, sum);

	if (r < 0)
		return log_error_errno(r, "cannot read \"%s\" at %llu", d->name, (unsigned long long)off);
	return memcmp(sum, g->head_sha256, 32) == 0;
}

int online_guard_wipe(struct blkdev *d)
{
	int r = geometry_ok(d);

	return r < 0 ? r : write_guard_sector(d, NULL);
}

int online_guard_restore_head(struct blkdev *d, const struct online_guard *g)
{
	uint64_t dst = 0;
	uint8_t sum[32];
	int r = online_guard_range_matches(d, online_guard_copy_offset(d->size), g);

	if (r < 0)
		return r;
	if (r == 0)
		return log_error(EIO, "\"%s\": the copy of the first 16 MiB no longer matches its "
				 "guard: not restoring", d->name);
	r = copy_hash(d, online_guard_copy_offset(d->size), g->head_len, &dst, sum);
	if (r == 0)
		r = blkdev_flush(d);
	if (r < 0)
		return log_error_errno(r, "cannot restore the first 16 MiB of \"%s\"", d->name);
	return online_guard_wipe(d);
}

enum online_guard_action online_guard_decide(const struct online_guard_facts *f)
{
	if (f->header_opens) {
		/* a header rootcrypt did not ask for, over a guarded head */
		if (f->guard_valid && (!f->header_uuid || !f->guard_uuid ||
				       strcmp(f->header_uuid, f->guard_uuid) != 0))
			return ONLINE_REFUSE;
		return ONLINE_INITIALISED;
	}
	if (!f->guard_valid)
		return ONLINE_PLAIN;
	if (f->head_matches)
		return ONLINE_PLAIN_WIPE_GUARD;
	return f->copy_matches ? ONLINE_RESTORE_HEAD : ONLINE_REFUSE;
}

const char *online_guard_action_name(enum online_guard_action a)
{
	switch (a) {
	case ONLINE_INITIALISED: return "initialised";
	case ONLINE_PLAIN: return "plain";
	case ONLINE_PLAIN_WIPE_GUARD: return "plain-wipe-guard";
	case ONLINE_RESTORE_HEAD: return "restore-head-then-plain";
	case ONLINE_REFUSE: return "refuse";
	}
	return "?";
}

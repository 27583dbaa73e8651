#include "bootsplit_shrink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkdev.h"
#include "crypto.h"
#include "ext4tail.h"
#include "le.h"
#include "log.h"
#include "spawn.h"

static const uint8_t intent_magic[8] = { 'R', 'C', 'B', 'S', 'P', 'L', 'I', 'T' };
#define INTENT_VERSION 1u
/* magic 8, version 4, three GUIDs 48, F 8: the checksum follows */
#define INTENT_BODY 68u

void bootsplit_intent_encode(const struct bootsplit_intent *in, uint8_t out[BOOTSPLIT_INTENT_SIZE])
{
	memset(out, 0, BOOTSPLIT_INTENT_SIZE);
	memcpy(out, intent_magic, 8);
	le32_put(out + 8, INTENT_VERSION);
	memcpy(out + 12, in->fs_uuid, 16);
	memcpy(out + 28, in->part_guid, 16);
	memcpy(out + 44, in->boot_part_guid, 16);
	le64_put(out + 60, in->fs_target);
	crypto_sha256(out, INTENT_BODY, out + INTENT_BODY);
}

int bootsplit_intent_decode(const uint8_t in[BOOTSPLIT_INTENT_SIZE], struct bootsplit_intent *ret)
{
	uint8_t sum[32];

	if (memcmp(in, intent_magic, 8) != 0 || le32_get(in + 8) != INTENT_VERSION)
		return -EINVAL;
	if (crypto_sha256(in, INTENT_BODY, sum) < 0 || memcmp(sum, in + INTENT_BODY, 32) != 0)
		return -EINVAL;
	for (size_t i = INTENT_BODY + 32; i < BOOTSPLIT_INTENT_SIZE; i++)
		if (in[i])
			return -EINVAL;
	memcpy(ret->fs_uuid, in + 12, 16);
	memcpy(ret->part_guid, in + 28, 16);
	memcpy(ret->boot_part_guid, in + 44, 16);
	ret->fs_target = le64_get(in + 60);
	if (ret->fs_target == 0 || ret->fs_target % 4096)
		return -EINVAL;
	return 0;
}

static bool intent_equal(const struct bootsplit_intent *a, const struct bootsplit_intent *b)
{
	return memcmp(a->fs_uuid, b->fs_uuid, 16) == 0 &&
	       memcmp(a->part_guid, b->part_guid, 16) == 0 &&
	       memcmp(a->boot_part_guid, b->boot_part_guid, 16) == 0 &&
	       a->fs_target == b->fs_target;
}

/* The partition's last 4 KiB: a record naming this shrink? */
static int intent_read(struct blkdev *d, const struct bootsplit_intent *want, bool *ret_valid)
{
	uint8_t *buf = blkdev_alloc(BOOTSPLIT_INTENT_SIZE);
	struct bootsplit_intent got;
	int r;

	if (!buf)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(d, buf, BOOTSPLIT_INTENT_SIZE, d->size - BOOTSPLIT_INTENT_SIZE);
	*ret_valid = r == 0 && bootsplit_intent_decode(buf, &got) == 0 && intent_equal(&got, want);
	free(buf);
	return r;
}

/* The superblock alone: UUID, state, size (pure parse; nothing else read). */
static int super_read(struct blkdev *d, struct ext4tail *t, uint8_t uuid[16], bool *ret_modelled)
{
	uint8_t *sb = blkdev_alloc(1024);
	const char *why;
	int r;

	if (!sb)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(d, sb, 1024, 1024);
	if (r == 0) {
		memcpy(uuid, sb + 0x68, 16); /* s_uuid */
		r = ext4tail_parse_super(sb, t, &why);
		*ret_modelled = r == 0;
		if (r == -EOPNOTSUPP && sb[0x18] <= 6) {
			/* e2fsck first (it may replay the journal); the size
			 * alone, from the fields every ext4 has */
			t->block_size = 1024u << sb[0x18];
			t->blocks = le32_get(sb + 4);
			if (sb[0x60] & 0x80) /* INCOMPAT_64BIT */
				t->blocks |= (uint64_t)le32_get(sb + 0x150) << 32;
			t->state = le16_get(sb + 0x3a);
			r = 0;
		} else if (r < 0)
			r = log_error(EINVAL, "\"%s\" has no valid ext4 superblock", d->name);
	}
	free(sb);
	return r;
}

/* The file system's UUID and its geometry, read fresh (after a tool ran). */
static int fs_read(const char *dev, int flags, struct blkdev **ret_d, struct ext4tail *t,
		   uint8_t uuid[16])
{
	bool modelled;
	int r;

	r = blkdev_open(dev, flags, ret_d);
	if (r < 0)
		return r;
	r = super_read(*ret_d, t, uuid, &modelled);
	if (r == 0)
		r = ext4tail_read(*ret_d, t);
	if (r < 0) {
		blkdev_close(*ret_d);
		*ret_d = NULL;
	}
	return r;
}

static int run_tool(const char *const *argv, int *ret_status)
{
	int r = spawn_wait(argv, ret_status);

	if (r < 0)
		return r;
	log_info("boot split: %s %s %s exited with %d", argv[0], argv[1], argv[2], *ret_status);
	return 0;
}

/* e2fsck -f -p; with a valid record also -y: the only differences a cut
 * inside resize2fs leaves are allocation metadata (BOOT.md, step 1). */
static int fsck(const char *dev, bool intent_valid)
{
	const char *preen[] = { "e2fsck", "-f", "-p", dev, NULL };
	const char *yes[] = { "e2fsck", "-f", "-y", dev, NULL };
	int status, r;

	r = run_tool(preen, &status);
	if (r < 0)
		return r;
	/* 1: errors corrected; anything from 4 up: not (or not run) */
	if ((status & ~1) == 0)
		return 0;
	if (!intent_valid)
		return log_error(EUCLEAN, "boot split: e2fsck -p could not repair \"%s\" (exit %d) "
				 "and no interrupted shrink of ours explains it; not shrinking",
				 dev, status);
	r = run_tool(yes, &status);
	if (r < 0)
		return r;
	if ((status & ~1) != 0)
		return log_error(EUCLEAN, "boot split: e2fsck -y could not repair \"%s\" (exit %d)",
				 dev, status);
	return 0;
}

static int refuse_tail(const char *dev, const struct ext4tail *t, uint64_t f,
		       const struct ext4tail_verdict *v)
{
	uint64_t end = (uint64_t)t->blocks * t->block_size;

	return log_error(ENOSPC, "boot split: the last %" PRIu64 " MiB of the root file system "
			 "on \"%s\" hold %s (block %" PRIu64 "): cannot shrink it to %" PRIu64
			 " MiB without moving data; grow the disk instead",
			 (end - f) >> 20, dev, v->why, v->at, f >> 20);
}

/* The record goes to the partition's last 4 KiB: outside the file system,
 * or a block it does not use (data there would be overwritten). */
static int intent_write(struct blkdev *d, const struct ext4tail *t,
			const struct bootsplit_intent *want)
{
	uint64_t off = d->size - BOOTSPLIT_INTENT_SIZE, end = (uint64_t)t->blocks * t->block_size;
	uint8_t *buf;
	int r;

	if (off < end) {
		bool used = true;

		r = ext4tail_block_in_use(d, t, off / t->block_size, &used);
		if (r < 0)
			return r;
		if (used)
			return log_error(ENOSPC, "boot split: the last block of \"%s\" is in use by "
					 "the file system; no room for the shrink's record", d->name);
	}
	buf = blkdev_alloc(BOOTSPLIT_INTENT_SIZE);
	if (!buf)
		return log_error(ENOMEM, "out of memory");
	bootsplit_intent_encode(want, buf);
	r = blkdev_write(d, buf, BOOTSPLIT_INTENT_SIZE, off);
	if (r == 0)
		r = blkdev_flush(d);
	free(buf);
	if (r < 0)
		return log_error_errno(r, "boot split: cannot write the shrink record to \"%s\"",
				       d->name);
	return 0;
}

int bootsplit_shrink(const char *dev, const struct bootsplit_intent *want)
{
	struct ext4tail t = { 0 };
	struct ext4tail_verdict v;
	struct blkdev *d = NULL;
	char size_arg[32];
	const char *resize[] = { "resize2fs", dev, size_arg, NULL };
	uint8_t uuid[16];
	bool intent_valid = false, modelled = false;
	int status, r;

	if (want->fs_target == 0 || want->fs_target % 4096)
		return log_error(EINVAL, "boot split: invalid shrink target %" PRIu64,
				 want->fs_target);
	/* Before anything runs: the planned file system? done already? a
	 * record of ours? data in the tail (advisory, on a clean file system
	 * only: e2fsck may still change the bitmaps; an interrupted resize
	 * leaves descriptors this parser rightly calls inconsistent)? */
	r = blkdev_open(dev, BLKDEV_RDONLY | BLKDEV_EXCL, &d);
	if (r < 0)
		return r;
	r = super_read(d, &t, uuid, &modelled);
	if (r < 0)
		goto out;
	if (memcmp(uuid, want->fs_uuid, 16) != 0) {
		r = log_error(ESTALE, "boot split: \"%s\" holds another file system than the one "
			      "the split was planned for", dev);
		goto out;
	}
	r = intent_read(d, want, &intent_valid);
	if (r < 0)
		goto out;
	if ((uint64_t)t.blocks * t.block_size <= want->fs_target) {
		log_info("boot split: the root file system already ends within %" PRIu64 " MiB",
			 want->fs_target >> 20);
		goto out;
	}
	if (!intent_valid && modelled && t.state == 1) {
		r = ext4tail_read(d, &t);
		if (r < 0)
			goto out;
		ext4tail_check(&t, want->fs_target, &v);
		if (!v.pass) {
			r = refuse_tail(dev, &t, want->fs_target, &v);
			goto out;
		}
	}
	ext4tail_free(&t);
	blkdev_close(d);
	d = NULL;
	r = fsck(dev, intent_valid);
	if (r < 0)
		return r;
	/* Authoritative: the checked file system. */
	r = fs_read(dev, BLKDEV_EXCL, &d, &t, uuid);
	if (r < 0)
		return r;
	if ((uint64_t)t.blocks * t.block_size <= want->fs_target)
		goto out; /* e2fsck took a backup superblock that has the new size */
	ext4tail_check(&t, want->fs_target, &v);
	if (!v.pass) {
		r = refuse_tail(dev, &t, want->fs_target, &v);
		goto out;
	}
	if (!intent_valid) {
		r = intent_write(d, &t, want);
		if (r < 0)
			goto out;
	}
	ext4tail_free(&t);
	blkdev_close(d);
	d = NULL;

	log_info("boot split: shrinking the root file system on \"%s\" to %" PRIu64 " MiB", dev,
		 want->fs_target >> 20);
	snprintf(size_arg, sizeof(size_arg), "%" PRIu64 "K", want->fs_target / 1024);
	r = run_tool(resize, &status);
	if (r < 0)
		return r;
	if (status != 0)
		return log_error(EIO, "boot split: resize2fs \"%s\" %s failed (exit %d)", dev,
				 size_arg, status);
	r = fs_read(dev, BLKDEV_RDONLY | BLKDEV_EXCL, &d, &t, uuid);
	if (r < 0)
		return r;
	if ((uint64_t)t.blocks * t.block_size > want->fs_target)
		r = log_error(EIO, "boot split: after resize2fs the file system on \"%s\" still "
			      "ends at %" PRIu64 " MiB", dev,
			      ((uint64_t)t.blocks * t.block_size) >> 20);
out:
	ext4tail_free(&t);
	blkdev_close(d);
	return r;
}

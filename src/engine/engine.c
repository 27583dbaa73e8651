/* The conversion engine: find the state from the disk alone, decide, and run
 * the shift (backward, header at 0 at the end) or detached (forward, digest
 * records) pass. Every write and flush is issued from this thread, in the
 * order ENGINE.md argues for. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootpart.h"
#include "crypto.h"
#include "engine.h"
#include "engine_pipe.h"
#include "engine_record.h"
#include "fileio.h"
#include "online_status.h"
#include "fsprobe.h"
#include "log.h"
#include "parttable.h"
#include "progress.h"
#include "secmem.h"

#define VK_LEN 64

struct engine {
	const struct engine_opts *o;
	struct blkdev *disk;	/* what was opened */
	struct blkdev *dev;	/* the data: disk or a partition window */
	struct blkdev *hdev;	/* detached header file */
	bool own_disk, own_hdev;
	struct parttable_part part;
	enum engine_layout layout;
	/* Geometry, in ENGINE.md's notation: H the shift (bytes the data moves
	 * up for the LUKS2 header; 0 detached), T the tail area at the end of
	 * the device (in-progress header + saved head), U the I/O unit; and G
	 * the detached layout's group (bytes per digest record, whole units). */
	uint64_t H, T, U, G;
	unsigned threads;
	uint8_t *vk;
	struct engine_cipher *xts;
	struct engine_hdr *head, *tail; /* shift: at 0 / at the tail; detached: head only */
	int head_r, tail_r;		/* engine_hdr_load results */
	uint8_t *head_copy;		/* shift: saved plaintext of [0, head_len) */
	uint64_t head_len;
	struct progress prog;
};

const char *engine_state_name(enum engine_state s)
{
	switch (s) {
	case ENGINE_STATE_PLAIN: return "plain";
	case ENGINE_STATE_ENCRYPTING: return "encrypting";
	case ENGINE_STATE_ENCRYPTED: return "encrypted";
	case ENGINE_STATE_FOREIGN: return "foreign";
	}
	return "?";
}

const char *engine_layout_name(enum engine_layout l)
{
	return l == ENGINE_LAYOUT_DETACHED ? "detached" : "shift";
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

static void engine_close(struct engine *e)
{
	engine_hdr_free(e->head);
	engine_hdr_free(e->tail);
	engine_cipher_free(e->xts);
	secmem_free(e->vk);
	if (e->head_copy)
		explicit_bzero(e->head_copy, ENGINE_HEAD_HIDE + 4096);
	free(e->head_copy);
	if (e->dev && e->dev != e->disk)
		blkdev_close(e->dev);
	if (e->own_disk)
		blkdev_close(e->disk);
	if (e->own_hdev)
		blkdev_close(e->hdev);
}

static int open_window(struct engine *e)
{
	char name[4200];
	int r;

	if (e->dev && e->dev != e->disk)
		blkdev_close(e->dev);
	e->dev = NULL;
	if (!e->o->partition) {
		e->dev = e->disk;
		return 0;
	}
	r = parttable_find(e->disk, e->o->partition, &e->part);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "%s partition %u", e->disk->name, e->o->partition);
	return blkdev_window(e->disk, e->part.start, e->part.size, name, &e->dev);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int shift_tail_trusted(struct engine *e);

/* Opens the devices (read-only for status) and loads whatever headers exist. */
static int engine_open(struct engine *e, const struct engine_opts *o, bool rdonly)
{
	/* Reading the state takes no claim: `status` must work while dm-crypt
	 * holds the partition of a running encrypted system. */
	int flags = rdonly ? BLKDEV_RDONLY : BLKDEV_EXCL;
	struct engine_sizes sz;
	int r;

	memset(e, 0, sizeof(*e));
	e->o = o;
	e->layout = o->layout ? o->layout : ENGINE_LAYOUT_SHIFT;
	e->T = ENGINE_TAIL_SIZE;
	if (engine_plan_sizes(e->layout, o->data_off, o->unit, o->group, &sz) < 0)
		return log_error(EINVAL, "data offset and unit sizes must be multiples of 4096");
	e->H = sz.data_off;
	e->U = sz.unit;
	e->G = sz.group;
	if (o->threads)
		e->threads = o->threads;
	else {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		e->threads = n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
	}
	if (e->layout == ENGINE_LAYOUT_DETACHED && !o->header && !o->hdr_dev)
		return log_error(EINVAL, "--layout detached needs --header FILE");

	if (o->dev) {
		e->disk = o->dev;
	} else {
		r = blkdev_open(o->target, flags, &e->disk);
		if (r < 0)
			return r;
		e->own_disk = true;
	}
	r = open_window(e);
	if (r < 0)
		return r;

	if (e->layout == ENGINE_LAYOUT_DETACHED) {
		if (o->hdr_dev) {
			e->hdev = o->hdr_dev;
		} else if (access(o->header, F_OK) == 0) {
			r = blkdev_open(o->header, flags, &e->hdev);
			if (r < 0)
				return r;
			e->own_hdev = true;
		}
		e->head_r = 0;
		if (e->hdev && e->hdev->size > 0) {
			size_t n = e->hdev->size < 4096 ? (size_t)e->hdev->size : 4096;

			if (e->hdev->size >= 4096)
				e->head_r = engine_hdr_load(e->hdev, 0, &e->head);
			if (e->head_r == 0 || e->head_r == -EINVAL) {
				/* A crash while creating the header leaves zeros where
				 * the primary goes (it is written last): not started.
				 * Anything else that is not our header is not ours to
				 * overwrite. */
				uint8_t *b = blkdev_alloc(4096);

				if (!b)
					return log_error(ENOMEM, "out of memory");
				r = blkdev_read(e->hdev, b, n, 0);
				if (r == 0 && all_zero(b, n))
					e->head_r = 0;
				else if (r == 0 && e->head_r == 0)
					e->head_r = -ENOTBLK;
				free(b);
				if (r < 0)
					return r;
			}
		}
		return 0;
	}
	e->head_r = engine_hdr_load(e->dev, 0, &e->head);
	e->tail_r = e->dev->size > e->T ?
		engine_hdr_load(e->dev, engine_tail_offset(e->dev->size, e->T), &e->tail) : 0;
	if (e->tail_r == 1) {
		struct engine_hdr_info ti;

		engine_hdr_get(e->tail, &ti);
		/* Only our in-progress header counts; anything else there is data. */
		if (!ti.ours || ti.layout != ENGINE_LAYOUT_SHIFT) {
			engine_hdr_free(e->tail);
			e->tail = NULL;
			e->tail_r = 0;
		}
	} else if (e->tail_r < 0) {
		e->tail_r = 0; /* torn first write of the tail: nothing was moved yet */
	}
	if (e->tail_r == 1 && e->head_r != 1) {
		r = shift_tail_trusted(e);
		if (r < 0)
			return r;
		if (r == 0) {
			engine_hdr_free(e->tail);
			e->tail = NULL;
			e->tail_r = 0;
		}
	}
	return 0;
}

static int engine_found(struct engine *e, struct engine_found *f, const char **sig)
{
	struct fsprobe_fs fs;
	struct engine_hdr_info hi = { 0 }, ti = { 0 };
	int r;

	memset(f, 0, sizeof(*f));
	*sig = NULL;
	if (e->head)
		engine_hdr_get(e->head, &hi);
	if (e->tail)
		engine_hdr_get(e->tail, &ti);
	f->head_luks = e->head_r == 1 || e->head_r == -EPROTONOSUPPORT;
	f->head_ours = f->head_luks && hi.ours && hi.layout == e->layout;
	f->head_requirement = f->head_luks && hi.in_progress;
	f->tail_luks = e->tail_r == 1;
	f->tail_done = f->tail_luks && ti.mark == 0;
	f->head_same_uuid = f->head_luks && f->tail_luks && strcmp(hi.uuid, ti.uuid) == 0;
	if (e->layout == ENGINE_LAYOUT_SHIFT && f->head_luks && f->tail_luks && f->head_same_uuid &&
	    !hi.both_copies)
		f->head_luks = false; /* cut while writing the final header: write it again */
	/* luks2.h has said in one line why the header is damaged: stop. */
	if (e->layout == ENGINE_LAYOUT_SHIFT && e->head_r == -EINVAL && !f->tail_luks)
		return -EINVAL;
	if (e->layout == ENGINE_LAYOUT_DETACHED && e->head_r == -EINVAL)
		return -EINVAL;
	if (e->layout == ENGINE_LAYOUT_DETACHED && e->head_r == -ENOTBLK)
		return log_error(EEXIST, "header file '%s' exists and is not a LUKS2 header: "
				 "refusing to overwrite it", e->hdev->name);
	if (e->head_r < 0 && e->head_r != -EINVAL && e->head_r != -ENOTBLK &&
	    e->head_r != -EPROTONOSUPPORT)
		return e->head_r;
	/* Foreign signatures only matter before anything is ours. */
	if (!f->head_luks && !f->tail_luks && !(e->layout == ENGINE_LAYOUT_DETACHED && e->head)) {
		r = fsprobe_read(e->dev, &fs, sig);
		if (r < 0)
			return r;
		if (*sig && strcmp(*sig, "LUKS") == 0) {
			f->head_luks = true; /* LUKS1, or LUKS2 in the data area */
			f->head_ours = false;
			if (e->layout == ENGINE_LAYOUT_DETACHED)
				return log_error(EEXIST, "'%s' is already LUKS: refusing to encrypt it again",
						 e->dev->name);
		} else if (*sig) {
			f->other_signature = true;
		}
	}
	return 0;
}

static int setup_key(struct engine *e, struct engine_hdr *h)
{
	int r;

	if (!e->vk) {
		e->vk = secmem_alloc(VK_LEN);
		if (!e->vk)
			return log_error(ENOMEM, "cannot allocate locked memory for the volume key");
	}
	if (h) {
		r = engine_hdr_unlock(h, e->o->passphrase, e->o->passphrase_len, e->vk, VK_LEN);
		if (r == -EPERM)
			return r; /* luks2_unlock said so in one line */
		if (r < 0)
			return log_error_errno(r, "cannot unlock the LUKS2 header of '%s'", e->dev->name);
	} else {
		r = crypto_random(e->vk, VK_LEN);
		if (r < 0)
			return log_error_errno(r, "cannot generate a volume key");
	}
	return engine_cipher_new(&e->xts, e->vk, VK_LEN);
}

static uint32_t pick_sector(const struct engine *e, uint64_t D, const struct fsprobe_fs *fs,
			    bool have_fs)
{
	if (e->o->sector_size)
		return e->o->sector_size;
	if (D % 4096 == 0 && (!have_fs || fs->max_sector >= 4096))
		return 4096;
	return 512;
}

static int check_sector(const struct engine *e, uint32_t S, uint64_t D,
			const struct fsprobe_fs *fs, bool have_fs)
{
	if (S != 512 && S != 1024 && S != 2048 && S != 4096)
		return log_error(EINVAL, "sector size %u is not one of 512, 1024, 2048, 4096", S);
	if (have_fs && S > fs->max_sector)
		return log_error(EINVAL, "sector size %u: the %s file system on '%s' mounts only on "
				 "sectors of at most %u bytes (use --sector-size %u)", S, fs->type,
				 e->dev->name, fs->max_sector, fs->max_sector);
	if (S < e->dev->sector_size)
		return log_error(EINVAL, "sector size %u is below the device's %u", S,
				 e->dev->sector_size);
	if (D % S)
		return log_error(EINVAL, "'%s': %llu bytes of data are not a multiple of the "
				 "sector size %u", e->dev->name, (unsigned long long)D, S);
	if (D == 0)
		return log_error(ENOSPC, "'%s' is too small", e->dev->name);
	return 0;
}

/* ---- shift layout ---- */

/* The saved head: one 4 KiB block (magic, header UUID, length, digest) and
 * the bytes, in the second half of the tail area. */
#define HEAD_MAGIC "RCHEAD01"

static uint64_t head_save_off(const struct engine *e)
{
	return engine_tail_offset(e->dev->size, e->T) + e->T / 2;
}

static void head_block(uint8_t *blk, const char *uuid, uint64_t len, const uint8_t *data)
{
	uint64_t dig = engine_sector_digest(data, len);

	memset(blk, 0, 4096);
	memcpy(blk, HEAD_MAGIC, 8);
	memcpy(blk + 8, &len, 8);
	memcpy(blk + 16, &dig, 8);
	snprintf((char *)blk + 24, 40, "%s", uuid);
}

/* 1 when the in-progress header found in the tail describes a conversion
 * that really began on this device, 0 when it is stray bytes (a file's data
 * in the last 2 MiB of a live file system, or the leftover of a conversion
 * interrupted before the partition was reformatted). It is trusted only
 * when the head was saved under its UUID and the head no longer shows a file
 * system: the first write that changes the head zeroes the sector holding
 * the file system's magic, after the saved copy is durable (ENGINE.md,
 * "Stray tail headers"). */
static int shift_tail_trusted(struct engine *e)
{
	struct engine_hdr_info ti;
	uint64_t len;
	uint8_t *buf, want[4096];
	int r;

	engine_hdr_get(e->tail, &ti);
	len = ti.plain_len < ENGINE_HEAD_HIDE ? ti.plain_len : ENGINE_HEAD_HIDE;
	if (!len || e->dev->size < FSPROBE_HEAD)
		return 0;
	buf = blkdev_alloc(4096 + ENGINE_HEAD_HIDE);
	if (!buf)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(e->dev, buf, FSPROBE_HEAD, 0);
	if (r < 0)
		goto out;
	if (fsprobe_head_in_use(buf, FSPROBE_HEAD)) {
		log_info("'%s': ignoring an in-progress LUKS2 header in its last %llu MiB: "
			 "the start of the device still holds a file system", e->dev->name,
			 (unsigned long long)(e->T >> 20));
		r = 0;
		goto out;
	}
	r = blkdev_read(e->dev, buf, 4096 + len, head_save_off(e));
	if (r < 0)
		goto out;
	head_block(want, ti.uuid, len, buf + 4096);
	r = memcmp(want, buf, 4096) == 0;
	if (!r)
		log_info("'%s': ignoring an in-progress LUKS2 header in its last %llu MiB: "
			 "no saved copy of the device's first bytes goes with it", e->dev->name,
			 (unsigned long long)(e->T >> 20));
out:
	explicit_bzero(buf, 4096 + ENGINE_HEAD_HIDE);
	free(buf);
	return r;
}

/* Makes e->head_copy hold the real first bytes: from the tail when they were
 * saved (the disk may already show zeros there), else saved now and then
 * zeroed on disk. The head is only zeroed once its copy is durable. */
static int head_hide(struct engine *e, const char *uuid, uint64_t plain_len)
{
	uint64_t len = plain_len < ENGINE_HEAD_HIDE ? plain_len : ENGINE_HEAD_HIDE;
	uint8_t *buf = blkdev_alloc(4096 + ENGINE_HEAD_HIDE), *zeros, want[4096];
	long magic;
	int r;

	if (!buf)
		return log_error(ENOMEM, "out of memory");
	e->head_copy = buf;
	e->head_len = len;
	r = blkdev_read(e->dev, buf, 4096 + len, head_save_off(e));
	if (r < 0)
		return r;
	head_block(want, uuid, len, buf + 4096);
	if (memcmp(want, buf, 4096) == 0) {
		memmove(buf, buf + 4096, len);
		return 0;
	}
	r = blkdev_read(e->dev, buf + 4096, len, 0);
	if (r < 0)
		return r;
	head_block(buf, uuid, len, buf + 4096);
	r = blkdev_write(e->dev, buf, 4096 + len, head_save_off(e));
	if (r == 0)
		r = blkdev_flush(e->dev);
	if (r < 0)
		return r;
	memmove(buf, buf + 4096, len);
	zeros = blkdev_alloc(len);
	if (!zeros)
		return log_error(ENOMEM, "out of memory");
	/* First the one sector holding the file system's magic, alone: while
	 * it is there nothing else of the head has changed, so a tail header
	 * over a head that still shows a file system is stray (ENGINE.md).
	 * One sector is written whole or not at all. */
	magic = fsprobe_magic_offset(buf, len);
	if (magic >= 0) {
		uint64_t ss = e->dev->sector_size ? e->dev->sector_size : 512;
		uint64_t at = (uint64_t)magic / ss * ss;

		if (at + ss <= len) {
			r = blkdev_write(e->dev, zeros, ss, at);
			if (r == 0)
				r = blkdev_flush(e->dev);
			if (r < 0) {
				free(zeros);
				return r;
			}
		}
	}
	/* then the rest in one write (not one per 4 KiB: 32 small writes cost
	 * 20-40 ms here); torn or not, the saved copy is what resume uses */
	r = blkdev_write(e->dev, zeros, len, 0);
	free(zeros);
	if (r == 0)
		r = blkdev_flush(e->dev);
	return r;
}

static int shift_wipe_tail(struct engine *e);

static int shift_finish(struct engine *e)
{
	int r;

	r = engine_hdr_set_final(e->tail);
	if (r < 0)
		return r;
	r = engine_hdr_write_full(e->tail, e->dev, 0);
	if (r < 0)
		return r;
	/* From here the volume opens with stock tools; the tail is redundant. */
	return shift_wipe_tail(e);
}

/* Before the unit whose destination is [u->src + H, ...) is written: if that
 * would overwrite source bytes the durable mark does not yet cover, make the
 * data written so far durable, then the mark (ENGINE.md, step 3). */
static int shift_commit_before(struct engine *e, uint64_t *mark, const struct engine_unit *u,
			       uint64_t data_off, uint64_t toff)
{
	int r;

	if (!engine_shift_need_commit(*mark, u->src, data_off))
		return 0;
	r = blkdev_flush(e->dev);
	if (r == 0)
		r = engine_hdr_set_mark(e->tail, u->src + u->len);
	if (r == 0)
		r = engine_hdr_commit(e->tail, e->dev, toff);
	if (r == 0)
		*mark = u->src + u->len;
	return r;
}

static int shift_pass(struct engine *e)
{
	struct engine_hdr_info ti;
	struct engine_pass_io io;
	struct engine_pipe *p = NULL;
	struct engine_plan pl;
	uint64_t toff = engine_tail_offset(e->dev->size, e->T), mark, n, done;
	int r = 0, r2;

	engine_hdr_get(e->tail, &ti);
	mark = ti.mark;
	if (engine_plan_pass_io(ENGINE_LAYOUT_SHIFT, e->U, ti.data_off, ti.group, &io) < 0 ||
	    ti.data_off > toff || ti.plain_len > toff - ti.data_off)
		return log_error(EINVAL, "'%s': in-progress header geometry does not fit the device",
				 e->dev->name);
	e->U = io.unit;
	pl = (struct engine_plan){ .layout = ENGINE_LAYOUT_SHIFT, .plain_len = ti.plain_len,
				   .data_off = ti.data_off, .unit = e->U, .start = mark };
	n = engine_plan_units(&pl);
	progress_init(&e->prog, e->o->progress ? e->o->progress : stderr, e->o->json, "encrypting",
		      ti.plain_len, ti.plain_len - mark);
	if (n) {
		r = head_hide(e, ti.uuid, ti.plain_len);
		if (r < 0)
			return r;
		/* one unit being read, one encrypted, one written, at least */
		r = engine_pipe_start(&p, &pl, e->dev, e->xts, ti.sector_size, e->threads, io.slots,
				      false, e->head_copy, e->head_len);
		if (r < 0)
			return r;
	}
	/* The commit before unit i + 1 is made right after unit i is written
	 * and before its buffer goes back to the reader: the next read then
	 * runs alongside the next write, and the commit's small writes and
	 * flushes do not wait behind that read. The units' places come from the
	 * plan, so the order of writes and flushes is the same as committing
	 * when unit i + 1 arrives. */
	for (uint64_t i = 0; i < n && r == 0; i++) {
		struct engine_pipe_slot *s;
		struct engine_unit next;

		if (i == 0) {
			engine_plan_unit(&pl, 0, &next);
			r = shift_commit_before(e, &mark, &next, ti.data_off, toff);
			if (r < 0)
				break;
		}
		r = engine_pipe_get(p, i, &s);
		if (r < 0)
			break;
		r = blkdev_write(e->dev, s->buf, s->u.len, s->u.dst);
		done = ti.plain_len - s->u.src;
		if (r == 0 && i + 1 < n) {
			engine_plan_unit(&pl, i + 1, &next);
			r = shift_commit_before(e, &mark, &next, ti.data_off, toff);
		}
		engine_pipe_put(p, i); /* the reader reuses the slot once put */
		progress_update(&e->prog, done, false);
	}
	r2 = engine_pipe_stop(p);
	if (r == 0 && r2 < 0)
		r = r2;
	if (r < 0)
		return r;
	if (mark != 0) {
		r = blkdev_flush(e->dev);
		if (r == 0)
			r = engine_hdr_set_mark(e->tail, 0);
		if (r == 0)
			r = engine_hdr_commit(e->tail, e->dev, toff);
		if (r < 0)
			return r;
	}
	progress_update(&e->prog, ti.plain_len, true);
	return shift_finish(e);
}

/* --partition on a block device: the kernel keeps its own size for the
 * partition, read when the table was scanned. After a grow it must be told,
 * or cryptsetup would map a volume short by the growth (cutting off the end
 * of the file system). Called right after the grow and again at the end of
 * every run, which covers a run killed in between (a power cut makes the
 * kernel read the new table anyway). Images and test devices have no kernel
 * side. */
static int shift_sync_kernel(const struct engine *e)
{
	if (e->layout != ENGINE_LAYOUT_SHIFT || !e->o->partition || e->o->dev ||
	    !e->disk->is_blockdev)
		return 0;
	return bootpart_sync_kernel(e->o->target, NULL, e->o->partition);
}

/* Makes room for H + T after the data, or proves it is there. Sets *D. */
static int shift_make_room(struct engine *e, const struct fsprobe_fs *fs, bool have_fs,
			   uint64_t *ret_D)
{
	uint64_t P = e->dev->size, cap = engine_shift_capacity(P, e->H, e->T);
	uint64_t need, newP;
	int r;

	if (have_fs && fs->size <= cap) {
		log_debug("%s of %llu bytes fits in %llu", fs->type, (unsigned long long)fs->size,
			  (unsigned long long)cap);
		*ret_D = cap;
		return 0;
	}
	/* Keep every byte: the data is the whole device. */
	newP = align_up(align_up(P, 4096) + e->H + e->T, 1 << 20);
	need = newP - P;
	if (e->o->partition) {
		if (e->part.max_size >= newP) {
			log_info("growing partition %u of '%s' by %llu bytes", e->o->partition,
				 e->disk->name, (unsigned long long)need);
			r = parttable_grow(e->disk, &e->part, newP);
			if (r < 0)
				return r;
			r = open_window(e);
			if (r == 0)
				r = shift_sync_kernel(e);
			if (r < 0)
				return r;
			*ret_D = P;
			return 0;
		}
		need = newP - e->part.max_size;
	} else if (e->dev->is_regular) {
		r = blkdev_grow(e->dev, newP);
		if (r < 0)
			return r;
		*ret_D = P;
		return 0;
	}
	return log_error(ENOSPC, "'%s' lacks %llu bytes after its data for the LUKS2 header "
			 "(%s): free space after the partition or a smaller file system is needed; "
			 "or use the detached layout (encrypt --layout detached; at boot: layout = detached)", e->dev->name, (unsigned long long)need,
			 have_fs ? "the file system fills it" : "no ext4/XFS file system found");
}

static int shift_start(struct engine *e)
{
	struct engine_hdr_new n = { 0 };
	struct fsprobe_fs fs;
	const char *sig;
	uint64_t D = 0;
	uint32_t S;
	int r, have_fs;

	have_fs = fsprobe_read(e->dev, &fs, &sig);
	if (have_fs < 0)
		return have_fs;
	r = shift_make_room(e, &fs, have_fs == 1, &D);
	if (r < 0)
		return r;
	S = pick_sector(e, D, &fs, have_fs == 1);
	r = check_sector(e, S, D, &fs, have_fs == 1);
	if (r < 0)
		return r;
	r = setup_key(e, NULL);
	if (r < 0)
		return r;
	n = (struct engine_hdr_new){ .layout = ENGINE_LAYOUT_SHIFT, .sector_size = S,
				     .data_off = e->H, .plain_len = D, .tail_size = e->T,
				     .volume_key = e->vk, .passphrase = e->o->passphrase,
				     .passphrase_len = e->o->passphrase_len,
				     .key_token = e->o->key_token, .uuid = e->o->uuid };
	r = engine_hdr_new(&e->tail, &n);
	if (r < 0)
		return r;
	if (engine_hdr_len(e->tail) > e->T)
		return log_error(EINVAL, "LUKS2 header of %llu bytes exceeds the tail area",
				 (unsigned long long)engine_hdr_len(e->tail));
	r = engine_hdr_set_mark(e->tail, D);
	if (r < 0)
		return r;
	log_info("encrypting '%s' in place: %llu bytes, shift layout, sector %u", e->dev->name,
		 (unsigned long long)D, S);
	/* The key and the plan are durable before any data moves. */
	r = engine_hdr_write_full(e->tail, e->dev, engine_tail_offset(e->dev->size, e->T));
	if (r < 0)
		return r;
	return shift_pass(e);
}

static int shift_wipe_tail(struct engine *e)
{
	uint64_t toff = engine_tail_offset(e->dev->size, e->T);
	uint8_t *z = blkdev_alloc(e->T / 2);
	int r;

	if (!z)
		return log_error(ENOMEM, "out of memory");
	/* The saved plaintext head first: a cut between the two leaves a
	 * detectable header (wiped again on the next run), never a lone copy. */
	r = blkdev_write(e->dev, z, e->T / 2, toff + e->T / 2);
	if (r == 0)
		r = blkdev_flush(e->dev);
	if (r == 0)
		r = blkdev_write(e->dev, z, e->T / 2, toff);
	if (r == 0)
		r = blkdev_flush(e->dev);
	free(z);
	return r;
}

/* ---- detached layout ---- */

/* Resume of the group in flight: each 512-byte piece is plaintext if its
 * digest matches, ciphertext if its decryption matches, else we stop. */
static int detached_repair(struct engine *e, const struct engine_hdr_info *hi,
			   const struct engine_record *rec)
{
	uint32_t S = hi->sector_size;
	uint8_t *raw = blkdev_alloc_large(e->U), *dec = blkdev_alloc_large(e->U);
	int r = 0;

	if (!raw || !dec) {
		blkdev_free_large(raw, e->U);
		blkdev_free_large(dec, e->U);
		return log_error(ENOMEM, "out of memory");
	}
	for (uint64_t off = rec->group_off; off < rec->group_off + rec->group_len && r == 0;
	     off += e->U) {
		uint64_t len = rec->group_off + rec->group_len - off;

		if (len > e->U)
			len = e->U;
		r = blkdev_read(e->dev, raw, len, off);
		if (r == 0)
			r = engine_xts(e->xts, false, off, S, raw, dec, len);
		for (uint64_t o = 0; o < len && r == 0; o += ENGINE_RECORD_PIECE) {
			uint64_t want = rec->digests[(off - rec->group_off + o) / ENGINE_RECORD_PIECE];

			if (engine_sector_digest(raw + o, ENGINE_RECORD_PIECE) == want)
				memcpy(dec + o, raw + o, ENGINE_RECORD_PIECE);
			else if (engine_sector_digest(dec + o, ENGINE_RECORD_PIECE) != want)
				r = log_error(EIO, "'%s': bytes at %llu are neither the recorded "
					      "plaintext nor its ciphertext: refusing to continue",
					      e->dev->name, (unsigned long long)(off + o));
		}
		if (r == 0)
			r = engine_xts(e->xts, true, off, S, dec, raw, len);
		if (r == 0)
			r = blkdev_write(e->dev, raw, len, off);
	}
	if (r == 0)
		r = blkdev_flush(e->dev);
	explicit_bzero(dec, e->U);
	blkdev_free_large(raw, e->U);
	blkdev_free_large(dec, e->U);
	return r;
}

/* The digest records describe plaintext and are only needed while the
 * header says "in progress": once the final header is durable, both slots
 * are zeroed (flushed), then a regular header file is trimmed after the
 * header. Idempotent: the finish calls it, and so does every later run that
 * finds the final header, which clears what a cut during the finish left.
 * Nothing is written when the slots are already zeros, so a finished volume
 * is left alone. 1 when something was cleared, 0 when nothing was there. */
static int detached_clear_records(struct engine *e, const struct engine_hdr_info *hi)
{
	uint64_t area = engine_record_area_off(hi->hdr_len);
	uint64_t end = area + 2 * engine_record_slot_size(hi->group);
	uint8_t *buf;
	int r = 0, cleared = 0;

	if (end > e->hdev->size)
		end = e->hdev->size;
	if (end > area) {
		buf = blkdev_alloc(end - area);
		if (!buf)
			return log_error(ENOMEM, "out of memory");
		r = blkdev_read(e->hdev, buf, end - area, area);
		if (r == 0 && !all_zero(buf, end - area)) {
			/* A cut inside the final commit leaves one copy still "in
			 * progress"; were it ever the one read, the records are
			 * what tells its resume that the data is ciphertext. Make
			 * both copies final before they go. */
			if (!hi->both_copies)
				r = engine_hdr_commit(e->head, e->hdev, 0);
			if (r == 0) {
				memset(buf, 0, end - area);
				r = blkdev_write(e->hdev, buf, end - area, area);
			}
			if (r == 0)
				r = blkdev_flush(e->hdev);
			cleared = 1;
		}
		free(buf);
		if (r < 0)
			return r;
	}
	if (e->hdev->size > area && e->hdev->fd >= 0 && e->hdev->is_regular) {
		if (ftruncate(e->hdev->fd, (off_t)area) < 0 || fsync(e->hdev->fd) < 0)
			log_warn("cannot trim header file '%s': %m", e->hdev->name);
		else
			e->hdev->size = area;
	}
	return cleared;
}

static int detached_finish(struct engine *e, const struct engine_hdr_info *hi)
{
	struct engine_hdr_info fi;
	int r;

	r = engine_hdr_set_final(e->head);
	if (r == 0)
		r = engine_hdr_commit(e->head, e->hdev, 0);
	if (r < 0)
		return r;
	/* Both copies are final and flushed: the records can go. */
	fi = *hi;
	fi.both_copies = true;
	r = detached_clear_records(e, &fi);
	return r < 0 ? r : 0;
}

static int detached_pass(struct engine *e, uint64_t start, uint64_t seq)
{
	struct engine_hdr_info hi;
	struct engine_pass_io io;
	struct engine_pipe *p = NULL;
	struct engine_plan pl;
	struct engine_record rec = { 0 };
	uint64_t area, slot, n, i = 0;
	uint8_t *scratch = NULL;
	int r = 0, r2;

	engine_hdr_get(e->head, &hi);
	area = engine_record_area_off(hi.hdr_len);
	slot = engine_record_slot_size(hi.group);
	engine_plan_pass_io(ENGINE_LAYOUT_DETACHED, e->U, 0, hi.group, &io);
	e->U = io.unit;
	pl = (struct engine_plan){ .layout = ENGINE_LAYOUT_DETACHED, .plain_len = hi.plain_len,
				   .unit = e->U, .group = hi.group, .start = start };
	n = engine_plan_units(&pl);
	progress_init(&e->prog, e->o->progress ? e->o->progress : stderr, e->o->json, "encrypting",
		      hi.plain_len, start);
	scratch = blkdev_alloc(slot);
	rec.digests = calloc(hi.group / ENGINE_RECORD_PIECE, sizeof(uint64_t));
	if (!scratch || !rec.digests) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	memcpy(rec.uuid, hi.uuid, sizeof(rec.uuid));
	if (n) {
		r = engine_pipe_start(&p, &pl, e->dev, e->xts, hi.sector_size, e->threads, io.slots,
				      true, NULL, 0);
		if (r < 0)
			goto out;
	}
	for (uint64_t goff = start; goff < hi.plain_len && r == 0; goff += hi.group) {
		uint64_t glen = hi.plain_len - goff < hi.group ? hi.plain_len - goff : hi.group;
		uint64_t first = i, last;
		struct engine_pipe_slot *s;

		/* Wait for the whole group: its record must be durable before any
		 * of its bytes are overwritten. */
		for (last = i; last < n; last++) {
			r = engine_pipe_get(p, last, &s);
			if (r < 0)
				break;
			if (s->u.src >= goff + glen)
				break;
			memcpy(rec.digests + (s->u.src - goff) / ENGINE_RECORD_PIECE, s->digests,
			       s->u.len / ENGINE_RECORD_PIECE * sizeof(uint64_t));
		}
		if (r < 0)
			break;
		rec.seq = ++seq;
		rec.group_off = goff;
		rec.group_len = glen;
		r = engine_record_write(e->hdev, area, slot, &rec, scratch);
		for (i = first; i < last && r == 0; i++) {
			r = engine_pipe_get(p, i, &s);
			if (r == 0)
				r = blkdev_write(e->dev, s->buf, s->u.len, s->u.dst);
			engine_pipe_put(p, i);
		}
		if (r == 0)
			r = blkdev_flush(e->dev);
		progress_update(&e->prog, goff + glen, false);
	}
	r2 = engine_pipe_stop(p);
	p = NULL;
	if (r == 0 && r2 < 0)
		r = r2;
	if (r == 0) {
		progress_update(&e->prog, hi.plain_len, true);
		r = detached_finish(e, &hi);
	}
out:
	engine_pipe_stop(p);
	free(scratch);
	free(rec.digests);
	return r;
}

static int create_header_file(struct engine *e)
{
	int fd;

	if (e->hdev)
		return 0;
	fd = open(e->o->header, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_error_errno(errno, "cannot create header file '%s'", e->o->header);
	close(fd);
	e->own_hdev = true;
	return blkdev_open(e->o->header, BLKDEV_EXCL, &e->hdev);
}

static int detached_start(struct engine *e)
{
	struct engine_hdr_new n;
	struct engine_hdr_info hi;
	struct fsprobe_fs fs;
	const char *sig;
	uint64_t D = e->dev->size / 512 * 512;
	uint32_t S;
	int r, have_fs;

	have_fs = fsprobe_read(e->dev, &fs, &sig);
	if (have_fs < 0)
		return have_fs;
	S = pick_sector(e, D, &fs, have_fs == 1);
	r = check_sector(e, S, D, &fs, have_fs == 1);
	if (r < 0)
		return r;
	r = setup_key(e, NULL);
	if (r < 0)
		return r;
	n = (struct engine_hdr_new){ .layout = ENGINE_LAYOUT_DETACHED, .sector_size = S,
				     .data_off = 0, .plain_len = D, .group = e->G,
				     .volume_key = e->vk, .passphrase = e->o->passphrase,
				     .passphrase_len = e->o->passphrase_len,
				     .key_token = e->o->key_token, .uuid = e->o->uuid };
	r = engine_hdr_new(&e->head, &n);
	if (r < 0)
		return r;
	r = create_header_file(e);
	if (r < 0)
		return r;
	engine_hdr_get(e->head, &hi);
	log_info("encrypting '%s' in place: %llu bytes, header in '%s', sector %u", e->dev->name,
		 (unsigned long long)D, e->hdev->name, S);
	if (e->hdev->size < engine_record_area_off(hi.hdr_len) + 2 * engine_record_slot_size(e->G)) {
		r = blkdev_grow(e->hdev, engine_record_area_off(hi.hdr_len) +
					 2 * engine_record_slot_size(e->G));
		if (r < 0)
			return r;
	}
	r = engine_hdr_write_full(e->head, e->hdev, 0);
	if (r == 0 && e->own_hdev)
		r = fileio_sync_parent_dir(e->o->header);
	if (r < 0)
		return r;
	return detached_pass(e, 0, 0);
}

static int detached_resume(struct engine *e)
{
	struct engine_hdr_info hi;
	struct engine_record rec;
	int r;

	engine_hdr_get(e->head, &hi);
	r = setup_key(e, e->head);
	if (r < 0)
		return r;
	r = engine_record_load(e->hdev, engine_record_area_off(hi.hdr_len),
			       engine_record_slot_size(hi.group), hi.uuid, &rec);
	if (r < 0)
		return r;
	if (r == 0) {
		log_info("resuming '%s' from the start (nothing was written yet)", e->dev->name);
		return detached_pass(e, 0, 0);
	}
	log_info("resuming '%s' at %llu of %llu bytes", e->dev->name,
		 (unsigned long long)rec.group_off, (unsigned long long)hi.plain_len);
	r = detached_repair(e, &hi, &rec);
	if (r == 0)
		r = detached_pass(e, rec.group_off + rec.group_len, rec.seq);
	free(rec.digests);
	return r;
}

int engine_convert(const struct engine_opts *o)
{
	struct engine e;
	struct engine_found f;
	enum engine_action a;
	const char *sig = NULL;
	int r;

	r = engine_open(&e, o, false);
	if (r == 0)
		r = engine_found(&e, &f, &sig);
	if (r < 0)
		goto out;
	a = engine_decide(e.layout, &f);
	log_debug("'%s': action %s", e.dev->name, engine_action_name(a));
	switch (a) {
	case ENGINE_REFUSE_LUKS:
		r = log_error(EEXIST, "'%s' is already LUKS (not a rootcrypt %s conversion): "
			      "refusing to touch it", e.dev->name, engine_layout_name(e.layout));
		break;
	case ENGINE_REFUSE_SIGNATURE:
		if (sig && strncmp(sig, FSPROBE_PARTITION_TABLE, strlen(FSPROBE_PARTITION_TABLE)) == 0)
			r = log_error(EEXIST, "'%s' starts with a %s: it is a whole disk; name the "
				      "partition to encrypt (--partition N, or rootcrypt.device= "
				      "the partition at boot)", e.dev->name, sig);
		else
			r = log_error(EEXIST, "'%s' holds a %s signature: refusing to touch it",
				      e.dev->name, sig ? sig : "foreign");
		break;
	case ENGINE_DONE:
		log_info("'%s' is already encrypted", e.dev->name);
		r = 0;
		if (e.layout == ENGINE_LAYOUT_DETACHED) {
			struct engine_hdr_info hi;

			/* a cut during the finish may have left the records */
			engine_hdr_get(e.head, &hi);
			r = detached_clear_records(&e, &hi);
			if (r == 1)
				log_info("cleared the progress records an interrupted finish left "
					 "in header file '%s'", e.hdev->name);
			if (r > 0)
				r = 0;
		}
		break;
	case ENGINE_CLEANUP:
		r = setup_key(&e, e.head);
		if (r == 0)
			r = shift_wipe_tail(&e);
		break;
	case ENGINE_FINISH:
		r = setup_key(&e, e.tail);
		if (r == 0)
			r = shift_finish(&e);
		break;
	case ENGINE_RESUME:
		if (e.layout == ENGINE_LAYOUT_DETACHED) {
			r = detached_resume(&e);
		} else {
			struct engine_hdr_info ti;

			engine_hdr_get(e.tail, &ti);
			r = setup_key(&e, e.tail);
			if (r == 0)
				log_info("resuming '%s': %llu of %llu bytes done", e.dev->name,
					 (unsigned long long)(ti.plain_len - ti.mark),
					 (unsigned long long)ti.plain_len);
			if (r == 0)
				r = shift_pass(&e);
		}
		break;
	case ENGINE_START:
		if (!o->passphrase || !o->passphrase_len) {
			r = log_error(EINVAL, "no passphrase for the keyslot");
			break;
		}
		if (e.dev->size < ENGINE_MIN_SIZE) {
			r = log_error(ENOSPC, "'%s' is too small (%llu bytes) to be encrypted",
				      e.dev->name, (unsigned long long)e.dev->size);
			break;
		}
		r = e.layout == ENGINE_LAYOUT_DETACHED ? detached_start(&e) : shift_start(&e);
		break;
	}
	if (r == 0)
		r = shift_sync_kernel(&e);
	if (r == 0 && a != ENGINE_DONE && a != ENGINE_REFUSE_LUKS && a != ENGINE_REFUSE_SIGNATURE)
		log_info("'%s' is encrypted", e.dev->name);
out:
	engine_close(&e);
	return r;
}

void engine_status_clear(struct engine_status *st)
{
	free(st->key_token);
	st->key_token = NULL;
}

int engine_status(const struct engine_opts *o, struct engine_status *ret)
{
	const struct engine_hdr *from = NULL; /* the header the state was read from */
	struct engine e;
	struct engine_found f;
	const char *sig = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = engine_open(&e, o, true);
	if (r == 0)
		r = engine_found(&e, &f, &sig);
	if (r < 0)
		goto out;
	switch (engine_decide(e.layout, &f)) {
	case ENGINE_START:
		ret->state = ENGINE_STATE_PLAIN;
		break;
	case ENGINE_REFUSE_LUKS:
		/* not ours, but perhaps cryptsetup converting for online mode */
		r = e.head ? online_status_read(e.layout == ENGINE_LAYOUT_DETACHED ? e.hdev : e.dev,
						 e.dev->size, &ret->done, &ret->total) : 0;
		if (r < 0)
			goto out;
		if (r == 1) {
			ret->state = ENGINE_STATE_ENCRYPTING;
			ret->online = true;
			from = e.head;
			engine_hdr_get(e.head, &ret->info);
			ret->info.layout = e.layout;
			r = 0;
			break;
		}
		/* ...or done with it: no requirement, the key token there */
		if (r == 0 && e.head && engine_hdr_online_finished(e.head, o->key_token_type)) {
			ret->state = ENGINE_STATE_ENCRYPTED;
			from = e.head;
			engine_hdr_get(e.head, &ret->info);
			ret->info.layout = e.layout;
			/* the crypt segment is dynamic: the rest of the data device */
			ret->info.plain_len = e.dev->size > ret->info.data_off
						      ? e.dev->size - ret->info.data_off : 0;
			ret->done = ret->total = ret->info.plain_len;
			break;
		}
		/* fall through */
	case ENGINE_REFUSE_SIGNATURE:
		ret->state = ENGINE_STATE_FOREIGN;
		ret->what = sig ? sig : "LUKS";
		break;
	case ENGINE_DONE:
	case ENGINE_CLEANUP:
		ret->state = ENGINE_STATE_ENCRYPTED;
		from = e.head;
		engine_hdr_get(e.head, &ret->info);
		ret->done = ret->total = ret->info.plain_len;
		break;
	case ENGINE_FINISH:
	case ENGINE_RESUME:
		ret->state = ENGINE_STATE_ENCRYPTING;
		if (e.layout == ENGINE_LAYOUT_SHIFT) {
			from = e.tail;
			engine_hdr_get(e.tail, &ret->info);
			ret->done = ret->info.plain_len - ret->info.mark;
		} else {
			struct engine_record rec;

			from = e.head;
			engine_hdr_get(e.head, &ret->info);
			r = engine_record_load(e.hdev, engine_record_area_off(ret->info.hdr_len),
					       engine_record_slot_size(ret->info.group),
					       ret->info.uuid, &rec);
			if (r < 0)
				goto out;
			ret->done = r ? rec.group_off : 0;
			if (r)
				free(rec.digests);
			r = 0;
		}
		ret->total = ret->info.plain_len;
		break;
	}
	if (from && o->key_token_type)
		r = engine_hdr_key_token(from, o->key_token_type, &ret->key_token);
out:
	engine_close(&e);
	return r;
}

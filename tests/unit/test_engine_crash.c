/* Power cuts at every write/flush boundary. The engine runs on recording
 * devices; at operation k the "power" goes (that operation and all later ones
 * fail); the disk is rebuilt as it could be after the cut (unflushed writes
 * all lost, all kept, a random subset, or torn per 512-byte sector); a fresh
 * engine resumes; then the volume must open with the passphrase and decrypt
 * to the original bytes, the final header must be in both copies, nothing
 * of the conversion may be left (shift: tail; detached: the digest record
 * slots), and a further run must change nothing. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "engine.h"
#include "engine_pipe.h"
#include "engine_hdr.h"
#include "engine_record.h"
#include "test.h"
#include "test_engine_memdev.h"

#define PASS "crash-test-passphrase"
#define ORIG_SIZE (3u << 20)
#define H (1u << 20)

static uint8_t *original(void)
{
	uint8_t *d = malloc(ORIG_SIZE);
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < ORIG_SIZE; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(d + i, &x, 8);
	}
	/* runs of zeros must be encrypted too */
	memset(d + 4096 * 5, 0, 8192);
	/* an ext4 superblock filling the image: the engine hides its magic
	 * sector first, and a cut on either side of that write must resume */
	{
		uint32_t blocks = ORIG_SIZE / 4096, log_bs = 2, incompat = 0;
		uint16_t magic = 0xEF53;

		memcpy(d + 1024 + 0x04, &blocks, 4);
		memcpy(d + 1024 + 0x18, &log_bs, 4);
		memcpy(d + 1024 + 0x38, &magic, 2);
		memcpy(d + 1024 + 0x60, &incompat, 4);
	}
	return d;
}

static FILE *devnull(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

static void opts_for(struct engine_opts *o, enum engine_layout layout, uint32_t S,
		     struct blkdev *dev, struct blkdev *hdr)
{
	memset(o, 0, sizeof(*o));
	o->layout = layout;
	o->passphrase = PASS;
	o->passphrase_len = strlen(PASS);
	o->sector_size = S;
	o->data_off = H;
	o->unit = 128 << 10;
	o->group = 512 << 10;
	o->threads = 2;
	o->dev = dev;
	o->hdr_dev = hdr;
	o->progress = devnull();
}

/* Detached: 1 when both digest record slots after the header are zeros (or
 * trimmed away): the digests describe plaintext and must not outlive the
 * conversion, torn or whole. */
static int records_cleared(struct blkdev *hdrdev, const struct engine_hdr_info *hi)
{
	uint64_t area = engine_record_area_off(hi->hdr_len);
	uint64_t end = area + 2 * engine_record_slot_size(hi->group);
	const uint8_t *b = memdev_data(hdrdev);

	for (uint64_t i = area; i < end && i < hdrdev->size; i++)
		if (b[i])
			return 0;
	return 1;
}

/* NULL when the device holds the finished volume and decrypts to the
 * original plaintext, else what is wrong. */
static const char *verify(struct blkdev *dev, struct blkdev *hdrdev, enum engine_layout layout,
			  const uint8_t *orig)
{
	struct engine_hdr *h = NULL;
	struct engine_hdr_info hi;
	struct engine_cipher *x = NULL;
	uint8_t vk[64], *plain = NULL;
	const char *bad = NULL;

	if (engine_hdr_load(layout == ENGINE_LAYOUT_SHIFT ? dev : hdrdev, 0, &h) != 1)
		return "no LUKS2 header";
	engine_hdr_get(h, &hi);
	if (hi.in_progress || !hi.ours || hi.plain_len < ORIG_SIZE) {
		bad = "header not final";
		goto out;
	}
	if (!hi.both_copies) {
		bad = "final header not in both copies";
		goto out;
	}
	if (engine_hdr_unlock(h, PASS, strlen(PASS), vk, sizeof(vk)) < 0 ||
	    engine_cipher_new(&x, vk, 64) < 0) {
		bad = "header does not unlock";
		goto out;
	}
	plain = malloc(ORIG_SIZE);
	if (engine_xts(x, false, 0, hi.sector_size, memdev_data(dev) + hi.data_off, plain,
		       ORIG_SIZE) < 0 || memcmp(plain, orig, ORIG_SIZE) != 0) {
		bad = "data does not decrypt to the original";
		goto out;
	}
	if (layout == ENGINE_LAYOUT_SHIFT) {
		/* the saved plaintext head is zeros and no in-progress header is
		 * left (a torn wipe may leave fragments of it: the same keyslot
		 * bytes the final header holds) */
		uint64_t toff = engine_tail_offset(dev->size, ENGINE_TAIL_SIZE);
		struct engine_hdr *t = NULL;

		for (uint64_t i = toff + ENGINE_TAIL_SIZE / 2; i < dev->size && !bad; i++)
			if (memdev_data(dev)[i])
				bad = "saved plaintext head left in the tail";
		if (!bad && engine_hdr_load(dev, toff, &t) == 1) {
			bad = "in-progress header left in the tail";
			engine_hdr_free(t);
		}
	}
	if (layout == ENGINE_LAYOUT_DETACHED && !records_cleared(hdrdev, &hi))
		bad = "digest record slots left in the header file";
out:
	free(plain);
	engine_cipher_free(x);
	engine_hdr_free(h);
	return bad;
}

static char first_failure[256];

#define NOTE_FAILURE(...)                                                          \
	do {                                                                       \
		if (!first_failure[0])                                             \
			snprintf(first_failure, sizeof(first_failure), __VA_ARGS__); \
		(*failures)++;                                                     \
	} while (0)

static long run_matrix_quiet(enum engine_layout layout, uint32_t S, int *failures);

/* The engine's error lines for hundreds of cuts are expected: silence them
 * and report the count and the first failure. */
static long run_matrix(enum engine_layout layout, uint32_t S, int *failures)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	long points;

	first_failure[0] = '\0';
	dup2(null, 2);
	points = run_matrix_quiet(layout, S, failures);
	dup2(saved, 2);
	close(saved);
	close(null);
	fprintf(stderr, "crash matrix %s sector %u: %ld cut cases, %d failed%s%s\n",
		engine_layout_name(layout), S, points, *failures, *failures ? ": " : "",
		first_failure);
	return points;
}

static long run_matrix_quiet(enum engine_layout layout, uint32_t S, int *failures)
{
	static const enum memdev_cut_mode modes[] = { MEMDEV_LOSE_ALL, MEMDEV_KEEP_ALL,
						      MEMDEV_RANDOM, MEMDEV_TORN };
	uint8_t *orig = original();
	struct memdev_clock clk = { .fail_at = -1 };
	struct engine_opts o;
	struct blkdev *dev, *hdr = NULL;
	long total, points = 0;

	/* Reference run: counts the operations. */
	dev = memdev_new("img", orig, ORIG_SIZE, &clk, layout == ENGINE_LAYOUT_SHIFT);
	if (layout == ENGINE_LAYOUT_DETACHED)
		hdr = memdev_new("hdr", NULL, 0, &clk, true);
	opts_for(&o, layout, S, dev, hdr);
	if (engine_convert(&o) != 0 || verify(dev, hdr, layout, orig)) {
		NOTE_FAILURE("reference conversion failed");
		return 0;
	}
	total = clk.ops;
	blkdev_close(dev);
	blkdev_close(hdr);

	for (long k = 0; k < total; k++) {
		/* 512-byte sectors: the two harshest models keep make check short */
		for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m += S == 512 ? 3 : 1) {
			struct memdev_clock c1 = { .fail_at = k }, c2 = { .fail_at = -1 };
			struct blkdev *d1, *h1 = NULL, *d2, *h2 = NULL;
			uint8_t *img, *himg = NULL;
			uint64_t isz, hsz = 0;
			unsigned seed = (unsigned)(k * 7919 + m);
			const char *bad;

			d1 = memdev_new("img", orig, ORIG_SIZE, &c1, layout == ENGINE_LAYOUT_SHIFT);
			if (layout == ENGINE_LAYOUT_DETACHED)
				h1 = memdev_new("hdr", NULL, 0, &c1, true);
			opts_for(&o, layout, S, d1, h1);
			if (engine_convert(&o) == 0) {
				NOTE_FAILURE("cut at %ld did not stop the engine", k);
			}
			img = memdev_after_cut(d1, modes[m], seed, &isz);
			if (h1)
				himg = memdev_after_cut(h1, modes[m], seed + 1, &hsz);
			d2 = memdev_new("img", img, isz, &c2, layout == ENGINE_LAYOUT_SHIFT);
			if (layout == ENGINE_LAYOUT_DETACHED)
				h2 = memdev_new("hdr", himg, hsz, &c2, true);
			opts_for(&o, layout, S, d2, h2);
			if (engine_convert(&o) != 0) {
				NOTE_FAILURE("cut at op %ld/%ld mode %u: resume failed", k, total, m);
			} else if ((bad = verify(d2, h2, layout, orig))) {
				NOTE_FAILURE("cut at op %ld/%ld mode %u: after resume: %s", k, total,
					     m, bad);
			} else {
				long before = c2.ops;

				/* a finished volume is left alone */
				opts_for(&o, layout, S, d2, h2);
				if (engine_convert(&o) != 0 || c2.ops != before) {
					NOTE_FAILURE("cut at %ld mode %u: second run changed the disk", k, m);
				}
			}
			points++;
			free(img);
			free(himg);
			blkdev_close(d1);
			blkdev_close(h1);
			blkdev_close(d2);
			blkdev_close(h2);
		}
	}
	free(orig);
	return points;
}

TEST(engine_crash_shift_4096)
{
	int failures = 0;

	CHECK(run_matrix(ENGINE_LAYOUT_SHIFT, 4096, &failures) > 0);
	CHECK_EQ_INT(failures, 0);
}

TEST(engine_crash_shift_512)
{
	int failures = 0;

	CHECK(run_matrix(ENGINE_LAYOUT_SHIFT, 512, &failures) > 0);
	CHECK_EQ_INT(failures, 0);
}

TEST(engine_crash_detached_4096)
{
	int failures = 0;

	CHECK(run_matrix(ENGINE_LAYOUT_DETACHED, 4096, &failures) > 0);
	CHECK_EQ_INT(failures, 0);
}

TEST(engine_crash_detached_512)
{
	int failures = 0;

	CHECK(run_matrix(ENGINE_LAYOUT_DETACHED, 512, &failures) > 0);
	CHECK_EQ_INT(failures, 0);
}

/* Cut, resume, cut the resume too, resume again: the resume path has its
 * own write sequence (head restore, commits) that must be as safe. */
static long run_double(enum engine_layout layout, int *failures)
{
	uint8_t *orig = original();
	struct engine_opts o;
	long cases = 0;

	for (long k = 1; k < 200; k += 3) {
		struct memdev_clock c1 = { .fail_at = k }, c2 = { .fail_at = -1 }, c3 = { .fail_at = -1 };
		struct blkdev *d1, *h1 = NULL, *d2, *h2 = NULL, *d3, *h3 = NULL;
		uint8_t *img, *himg = NULL, *img2, *himg2 = NULL;
		uint64_t isz, hsz = 0, isz2, hsz2 = 0;
		bool shift = layout == ENGINE_LAYOUT_SHIFT;
		const char *bad;

		d1 = memdev_new("img", orig, ORIG_SIZE, &c1, shift);
		h1 = shift ? NULL : memdev_new("hdr", NULL, 0, &c1, true);
		opts_for(&o, layout, 4096, d1, h1);
		if (engine_convert(&o) == 0) { /* k past the end: done */
			blkdev_close(d1);
			blkdev_close(h1);
			break;
		}
		img = memdev_after_cut(d1, MEMDEV_TORN, (unsigned)k, &isz);
		himg = h1 ? memdev_after_cut(h1, MEMDEV_TORN, (unsigned)k + 1, &hsz) : NULL;
		/* second cut somewhere inside the resume */
		c2.fail_at = (k * 13) % 40;
		d2 = memdev_new("img", img, isz, &c2, shift);
		h2 = shift ? NULL : memdev_new("hdr", himg, hsz, &c2, true);
		opts_for(&o, layout, 4096, d2, h2);
		engine_convert(&o);
		img2 = memdev_after_cut(d2, MEMDEV_RANDOM, (unsigned)k + 2, &isz2);
		himg2 = h2 ? memdev_after_cut(h2, MEMDEV_RANDOM, (unsigned)k + 3, &hsz2) : NULL;
		d3 = memdev_new("img", img2, isz2, &c3, shift);
		h3 = shift ? NULL : memdev_new("hdr", himg2, hsz2, &c3, true);
		opts_for(&o, layout, 4096, d3, h3);
		if (engine_convert(&o) != 0)
			NOTE_FAILURE("double cut at %ld then %ld: resume failed", k, c2.fail_at);
		else if ((bad = verify(d3, h3, layout, orig)))
			NOTE_FAILURE("double cut at %ld then %ld: %s", k, c2.fail_at, bad);
		cases++;
		free(img);
		free(himg);
		free(img2);
		free(himg2);
		blkdev_close(d1);
		blkdev_close(h1);
		blkdev_close(d2);
		blkdev_close(h2);
		blkdev_close(d3);
		blkdev_close(h3);
	}
	free(orig);
	return cases;
}

TEST(engine_crash_double_cut)
{
	int failures = 0, saved = dup(2), null = open("/dev/null", O_WRONLY);
	long a, b;

	first_failure[0] = '\0';
	dup2(null, 2);
	a = run_double(ENGINE_LAYOUT_SHIFT, &failures);
	b = run_double(ENGINE_LAYOUT_DETACHED, &failures);
	dup2(saved, 2);
	close(saved);
	close(null);
	fprintf(stderr, "crash matrix double cut: %ld shift + %ld detached cases, %d failed%s%s\n",
		a, b, failures, failures ? ": " : "", first_failure);
	CHECK(a > 10 && b > 10);
	CHECK_EQ_INT(failures, 0);
}

/* The state a cut right after the final commit leaves: final header, whole
 * records in both slots. The next run clears them (and a run after that
 * writes nothing); the volume still decrypts. */
TEST(engine_detached_done_clears_leftover_records)
{
	uint8_t *orig = original();
	struct memdev_clock clk = { .fail_at = -1 };
	struct blkdev *dev = memdev_new("img", orig, ORIG_SIZE, &clk, false);
	struct blkdev *hdr = memdev_new("hdr", NULL, 0, &clk, true);
	struct engine_record rec = { .group_len = 512 << 10 };
	struct engine_hdr *h = NULL;
	struct engine_hdr_info hi;
	struct engine_opts o;
	uint64_t area, slot;
	uint8_t *scratch;
	long before;

	opts_for(&o, ENGINE_LAYOUT_DETACHED, 4096, dev, hdr);
	CHECK(engine_convert(&o) == 0);
	CHECK(verify(dev, hdr, ENGINE_LAYOUT_DETACHED, orig) == NULL);
	CHECK(engine_hdr_load(hdr, 0, &h) == 1);
	engine_hdr_get(h, &hi);
	engine_hdr_free(h);
	area = engine_record_area_off(hi.hdr_len);
	slot = engine_record_slot_size(hi.group);
	CHECK(hdr->size >= area + 2 * slot);
	scratch = blkdev_alloc(slot);
	rec.digests = calloc(rec.group_len / ENGINE_RECORD_PIECE, sizeof(uint64_t));
	memcpy(rec.uuid, hi.uuid, sizeof(rec.uuid));
	for (rec.seq = 5; rec.seq <= 6; rec.seq++) {
		rec.group_off = (rec.seq - 5) * rec.group_len;
		CHECK(engine_record_write(hdr, area, slot, &rec, scratch) == 0);
	}
	free(scratch);
	free(rec.digests);
	CHECK(verify(dev, hdr, ENGINE_LAYOUT_DETACHED, orig) != NULL);

	opts_for(&o, ENGINE_LAYOUT_DETACHED, 4096, dev, hdr);
	CHECK(engine_convert(&o) == 0);
	CHECK(verify(dev, hdr, ENGINE_LAYOUT_DETACHED, orig) == NULL);
	before = clk.ops;
	opts_for(&o, ENGINE_LAYOUT_DETACHED, 4096, dev, hdr);
	CHECK(engine_convert(&o) == 0);
	CHECK_EQ_INT(clk.ops, before);
	blkdev_close(dev);
	blkdev_close(hdr);
	free(orig);
}

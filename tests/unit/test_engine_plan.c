/* Chunk planning, the shift commit rule and resume decisions. */
#include <errno.h>
#include <stdlib.h>
#include "engine_plan.h"
#include "progress.h"
#include "test.h"

/* Walks a shift plan from its start and checks it covers [0, start) exactly
 * once, backward, in units of at most U, boundaries aligned. */
TEST(engine_plan_shift_covers_backward)
{
	static const uint64_t starts[] = { 1 << 20, (1 << 20) + 4096, 4096, 7 * 4096, 0, 512 * 3 };

	for (unsigned k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		struct engine_plan pl = { .layout = ENGINE_LAYOUT_SHIFT, .plain_len = 1 << 21,
					  .data_off = 1 << 16, .unit = 1 << 14, .start = starts[k] };
		uint64_t n = engine_plan_units(&pl), expect_hi = pl.start;

		for (uint64_t i = 0; i < n; i++) {
			struct engine_unit u;

			engine_plan_unit(&pl, i, &u);
			CHECK_EQ_INT(u.src + u.len, expect_hi);
			CHECK(u.len > 0 && u.len <= pl.unit);
			CHECK_EQ_INT(u.src % pl.unit, 0);
			CHECK_EQ_INT(u.dst, u.src + pl.data_off);
			CHECK_EQ_INT(u.plain_off, u.src);
			expect_hi = u.src;
		}
		CHECK_EQ_INT(expect_hi, 0);
	}
}

TEST(engine_plan_detached_covers_forward)
{
	static const uint64_t starts[] = { 0, 4096, 1 << 14, (1 << 21) - 512, 1 << 21 };

	for (unsigned k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		struct engine_plan pl = { .layout = ENGINE_LAYOUT_DETACHED,
					  .plain_len = (1 << 21) - 1024, .unit = 1 << 14,
					  .start = starts[k] };
		uint64_t n = engine_plan_units(&pl), expect_lo = pl.start;

		if (pl.start >= pl.plain_len) {
			CHECK_EQ_INT(n, 0);
			continue;
		}
		for (uint64_t i = 0; i < n; i++) {
			struct engine_unit u;

			engine_plan_unit(&pl, i, &u);
			CHECK_EQ_INT(u.src, expect_lo);
			CHECK_EQ_INT(u.dst, u.src);
			CHECK(u.len > 0 && u.len <= pl.unit);
			expect_lo = u.src + u.len;
		}
		CHECK_EQ_INT(expect_lo, pl.plain_len);
	}
}

/* Simulates the writer: the mark on disk is never more than H above a
 * destination being written, and commits happen once per H bytes. */
TEST(engine_plan_shift_commit_rule_bounds_lag)
{
	const uint64_t H = 1 << 16, U = 1 << 14;
	struct engine_plan pl = { .layout = ENGINE_LAYOUT_SHIFT, .plain_len = 1 << 20,
				  .data_off = H, .unit = U, .start = 1 << 20 };
	uint64_t mark = pl.start, commits = 0, n = engine_plan_units(&pl);

	for (uint64_t i = 0; i < n; i++) {
		struct engine_unit u;

		engine_plan_unit(&pl, i, &u);
		if (engine_shift_need_commit(mark, u.src, H)) {
			mark = u.src + u.len; /* everything above this unit is written */
			commits++;
		}
		/* the destination never reaches below the mark's region... */
		CHECK(u.dst >= mark);
		/* ...and never overwrites unconsumed source */
		CHECK(u.dst >= u.src + u.len || u.dst + u.len <= u.src || H >= u.len);
	}
	CHECK_EQ_INT(commits, (1 << 20) / H - 1);
	CHECK(!engine_shift_need_commit(H, 0, H));
	CHECK(engine_shift_need_commit(H + 1, 0, H));
}

TEST(engine_plan_capacity)
{
	CHECK_EQ_INT(engine_tail_offset(100 << 20, 1 << 20), 99 << 20);
	CHECK_EQ_INT(engine_shift_capacity(100 << 20, 16 << 20, 1 << 20), 83 << 20);
	CHECK_EQ_INT(engine_shift_capacity(17 << 20, 16 << 20, 1 << 20), 0);
	CHECK_EQ_INT(engine_shift_capacity(1 << 20, 16 << 20, 1 << 20), 0);
	CHECK_EQ_INT(engine_shift_capacity((100 << 20) + 512, 16 << 20, 1 << 20), 83 << 20);
}

TEST(engine_plan_decisions)
{
	struct engine_found f = { 0 };

	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_START);
	f.other_signature = true;
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_REFUSE_SIGNATURE);
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_DETACHED, &f), ENGINE_REFUSE_SIGNATURE);
	f = (struct engine_found){ .tail_luks = true };
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_RESUME);
	f.tail_done = true;
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_FINISH);
	f = (struct engine_found){ .head_luks = true, .head_ours = true };
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_DONE);
	f.tail_luks = true;
	f.head_same_uuid = true;
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_CLEANUP);
	f.head_same_uuid = false;
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_REFUSE_LUKS);
	f = (struct engine_found){ .head_luks = true };
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_SHIFT, &f), ENGINE_REFUSE_LUKS);
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_DETACHED, &f), ENGINE_REFUSE_LUKS);
	f.head_ours = true;
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_DETACHED, &f), ENGINE_DONE);
	f.head_requirement = true;
	CHECK_EQ_INT(engine_decide(ENGINE_LAYOUT_DETACHED, &f), ENGINE_RESUME);
}

TEST(progress_format_line_and_json)
{
	char buf[256];

	progress_format(buf, sizeof(buf), false, "encrypting", 2ull << 30, 0, 1ull << 30, 2.0);
	CHECK_EQ_STR(buf, "encrypting  50.0% 1.00/2.00 GiB, 536.9 MB/s, ETA 0:00:02");
	progress_format(buf, sizeof(buf), true, "encrypting", 1000, 500, 750, 1.0);
	CHECK_EQ_STR(buf, "{\"state\":\"encrypting\",\"percent\":75.0,\"bytes_done\":750,"
			  "\"bytes_total\":1000,\"mb_per_s\":0.0,\"eta_s\":1}");
	progress_format(buf, sizeof(buf), false, "encrypting", 1000, 0, 0, 0);
	CHECK(strstr(buf, "ETA --:--:--") != NULL);
}

TEST(progress_prints_every_tenth_even_within_the_interval)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct progress p;
	unsigned lines = 0;

	CHECK(out != NULL);
	progress_init(&p, out, true, "encrypting", 1000, 0);
	/* all within one interval: only the steps that cross a tenth print */
	for (uint64_t done = 0; done <= 990; done += 33)
		progress_update(&p, done, false);
	fclose(out);
	for (const char *s = text; (s = strchr(s, '\n')); s++)
		lines++;
	/* 33-byte steps cross 100, 200, ... 900: nine lines, one per tenth */
	CHECK_EQ_INT(lines, 9);
	CHECK(strstr(text, "\"percent\":79.2") == NULL);
	CHECK(strstr(text, "\"percent\":72.6") != NULL);
	free(text);

	/* a step landing exactly on a tenth prints there, not one step later
	 * (96 MiB in 4 MiB units: 12 units = 50.0 %) */
	text = NULL;
	out = open_memstream(&text, &len);
	CHECK(out != NULL);
	progress_init(&p, out, true, "encrypting", 96ull << 20, 0);
	for (uint64_t done = 4ull << 20; done < 96ull << 20; done += 4ull << 20)
		progress_update(&p, done, false);
	fclose(out);
	CHECK(strstr(text, "\"percent\":50.0") != NULL);
	CHECK(strstr(text, "\"percent\":54.2") == NULL);
	free(text);
}

TEST(progress_final_line_is_not_repeated)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct progress p;

	CHECK(out != NULL);
	progress_init(&p, out, true, "encrypting", 1000, 0);
	progress_update(&p, 1000, false); /* the tenth rule prints 100 % */
	progress_update(&p, 1000, true);  /* the engine's forced final update */
	fclose(out);
	CHECK(strstr(text, "\"percent\":100.0") != NULL);
	CHECK(strstr(strstr(text, "\"percent\":100.0") + 1, "\"percent\":100.0") == NULL);
	free(text);

	/* a forced update with nothing printed yet (a finished resume) prints */
	text = NULL;
	out = open_memstream(&text, &len);
	CHECK(out != NULL);
	progress_init(&p, out, true, "encrypting", 1000, 1000);
	progress_update(&p, 1000, true);
	fclose(out);
	CHECK(strstr(text, "\"percent\":100.0") != NULL);
	free(text);
}

/* The sizes a conversion opens with (engine_plan_sizes): defaults, U cut to
 * H (shift) and to G, G rounded to whole units, refusal of unaligned sizes. */
TEST(engine_plan_sizes_defaults_and_clamps)
{
	struct engine_sizes s;

	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_SHIFT, 0, 0, 0, &s), 0);
	CHECK_EQ_INT(s.data_off, ENGINE_DATA_OFF_DEFAULT);
	CHECK_EQ_INT(s.unit, ENGINE_UNIT_DEFAULT);
	CHECK_EQ_INT(s.group, ENGINE_GROUP_DEFAULT);
	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_DETACHED, 1 << 20, 0, 0, &s), 0);
	CHECK_EQ_INT(s.data_off, 0);	/* detached never shifts */
	CHECK_EQ_INT(s.unit, ENGINE_UNIT_DEFAULT);
	/* shift: a unit never exceeds H */
	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_SHIFT, 64 << 10, 1 << 20, 0, &s), 0);
	CHECK_EQ_INT(s.unit, 64 << 10);
	/* nor G; G is then whole units */
	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_DETACHED, 0, 1 << 20, 256 << 10, &s), 0);
	CHECK_EQ_INT(s.unit, 256 << 10);
	CHECK_EQ_INT(s.group, 256 << 10);
	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_DETACHED, 0, 64 << 10, 200 << 10, &s), 0);
	CHECK_EQ_INT(s.unit, 64 << 10);
	CHECK_EQ_INT(s.group, 192 << 10);
	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_SHIFT, 4096 + 512, 0, 0, &s), -EINVAL);
	CHECK_EQ_INT(engine_plan_sizes(ENGINE_LAYOUT_DETACHED, 0, 6000, 0, &s), -EINVAL);
}

/* The unit and slots of one pass (engine_plan_pass_io), from the header
 * being converted. */
TEST(engine_plan_pass_io_unit_and_slots)
{
	struct engine_pass_io io;

	/* shift: budget / unit slots, at least 3; unit cut to the header's H */
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_SHIFT, 16 << 20, 16 << 20, 0, &io), 0);
	CHECK_EQ_INT(io.unit, 16 << 20);
	CHECK_EQ_INT(io.slots, 3);
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_SHIFT, 1 << 20, 16 << 20, 0, &io), 0);
	CHECK_EQ_INT(io.slots, ENGINE_SHIFT_BUFFERS / (1 << 20));
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_SHIFT, 1 << 20, 64 << 10, 0, &io), 0);
	CHECK_EQ_INT(io.unit, 64 << 10);
	CHECK_EQ_INT(io.slots, ENGINE_SHIFT_BUFFERS / (64 << 10));
	/* a header whose shift is 0 or unaligned cannot be converted */
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_SHIFT, 1 << 20, 0, 0, &io), -EINVAL);
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_SHIFT, 1 << 20, 6000, 0, &io), -EINVAL);
	/* detached: two groups and one unit of slots */
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_DETACHED, 64 << 10, 0, 256 << 10, &io), 0);
	CHECK_EQ_INT(io.unit, 64 << 10);
	CHECK_EQ_INT(io.slots, 9);
	/* a header group that is not whole units: the unit becomes the group */
	CHECK_EQ_INT(engine_plan_pass_io(ENGINE_LAYOUT_DETACHED, 64 << 10, 0, 96 << 10, &io), 0);
	CHECK_EQ_INT(io.unit, 96 << 10);
	CHECK_EQ_INT(io.slots, 3);
}

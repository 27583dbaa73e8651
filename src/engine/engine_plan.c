/* Pure planning and decisions; see engine_plan.h and ENGINE.md. */
#include <errno.h>

#include "engine_plan.h"

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x / a * a;
}

uint64_t engine_plan_units(const struct engine_plan *pl)
{
	if (pl->layout == ENGINE_LAYOUT_SHIFT) {
		if (pl->start == 0)
			return 0;
		return align_down(pl->start - 1, pl->unit) / pl->unit + 1;
	}
	if (pl->start >= pl->plain_len)
		return 0;
	/* first (possibly short) unit up to the next boundary, then whole ones */
	uint64_t first_end = align_down(pl->start, pl->unit) + pl->unit;

	if (first_end >= pl->plain_len)
		return 1;
	return 1 + (pl->plain_len - first_end + pl->unit - 1) / pl->unit;
}

void engine_plan_unit(const struct engine_plan *pl, uint64_t i, struct engine_unit *u)
{
	uint64_t lo, hi;

	if (pl->layout == ENGINE_LAYOUT_SHIFT) {
		uint64_t y0 = align_down(pl->start - 1, pl->unit);

		if (i == 0) {
			lo = y0;
			hi = pl->start;
		} else {
			lo = y0 - i * pl->unit;
			hi = lo + pl->unit;
		}
		u->plain_off = lo;
		u->src = lo;
		u->dst = lo + pl->data_off;
		u->len = hi - lo;
		return;
	}
	lo = i == 0 ? pl->start : align_down(pl->start, pl->unit) + i * pl->unit;
	hi = align_down(pl->start, pl->unit) + (i + 1) * pl->unit;
	if (hi > pl->plain_len)
		hi = pl->plain_len;
	u->plain_off = lo;
	u->src = u->dst = lo;
	u->len = hi - lo;
}

bool engine_shift_need_commit(uint64_t mark, uint64_t y, uint64_t data_off)
{
	return mark > y + data_off;
}

uint64_t engine_tail_offset(uint64_t dev_size, uint64_t tail_size)
{
	if (dev_size < tail_size)
		return 0;
	return align_down(dev_size - tail_size, 4096);
}

uint64_t engine_shift_capacity(uint64_t dev_size, uint64_t data_off, uint64_t tail_size)
{
	uint64_t tail = engine_tail_offset(dev_size, tail_size);

	if (dev_size < tail_size || tail < data_off)
		return 0;
	return align_down(tail - data_off, 4096);
}

enum engine_action engine_decide(enum engine_layout layout, const struct engine_found *f)
{
	if (layout == ENGINE_LAYOUT_DETACHED) {
		/* The header file alone tells; a missing file means plain. */
		if (!f->head_luks)
			return f->other_signature ? ENGINE_REFUSE_SIGNATURE : ENGINE_START;
		if (!f->head_ours)
			return ENGINE_REFUSE_LUKS;
		return f->head_requirement ? ENGINE_RESUME : ENGINE_DONE;
	}
	if (f->head_luks) {
		if (!f->head_ours)
			return ENGINE_REFUSE_LUKS;
		if (f->head_requirement)
			return ENGINE_REFUSE_LUKS; /* we never set it at 0: not ours after all */
		/* The tail is wiped last: a leftover one with our UUID is finished work. */
		if (f->tail_luks)
			return f->head_same_uuid ? ENGINE_CLEANUP : ENGINE_REFUSE_LUKS;
		return ENGINE_DONE;
	}
	if (f->tail_luks)
		return f->tail_done ? ENGINE_FINISH : ENGINE_RESUME;
	return f->other_signature ? ENGINE_REFUSE_SIGNATURE : ENGINE_START;
}

const char *engine_action_name(enum engine_action a)
{
	switch (a) {
	case ENGINE_START: return "start";
	case ENGINE_RESUME: return "resume";
	case ENGINE_FINISH: return "finish";
	case ENGINE_CLEANUP: return "cleanup";
	case ENGINE_DONE: return "done";
	case ENGINE_REFUSE_LUKS: return "refuse-luks";
	case ENGINE_REFUSE_SIGNATURE: return "refuse-signature";
	}
	return "?";
}

int engine_plan_sizes(enum engine_layout layout, uint64_t want_data_off, uint64_t want_unit,
		      uint64_t want_group, struct engine_sizes *ret)
{
	uint64_t H = layout == ENGINE_LAYOUT_SHIFT ?
			     (want_data_off ? want_data_off : ENGINE_DATA_OFF_DEFAULT) : 0;
	uint64_t U = want_unit ? want_unit : ENGINE_UNIT_DEFAULT;
	uint64_t G = want_group ? want_group : ENGINE_GROUP_DEFAULT;

	if (layout == ENGINE_LAYOUT_SHIFT && U > H)
		U = H;
	if (G < U)
		U = G;
	if (H % 4096 || U % 4096 || !U)
		return -EINVAL;
	ret->data_off = H;
	ret->unit = U;
	ret->group = G / U * U;
	return 0;
}

int engine_plan_pass_io(enum engine_layout layout, uint64_t unit, uint64_t hdr_data_off,
			uint64_t hdr_group, struct engine_pass_io *ret)
{
	if (layout == ENGINE_LAYOUT_SHIFT) {
		if (unit > hdr_data_off)
			unit = hdr_data_off;
		if (!unit || unit % 4096)
			return -EINVAL;
		ret->unit = unit;
		ret->slots = ENGINE_SHIFT_BUFFERS / unit > 3 ? (unsigned)(ENGINE_SHIFT_BUFFERS / unit) : 3;
		return 0;
	}
	if (hdr_group % unit)
		unit = hdr_group;
	ret->unit = unit;
	ret->slots = (unsigned)(2 * hdr_group / unit) + 1;
	return 0;
}

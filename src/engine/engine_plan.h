/* The pure core of the conversion engine: geometry, the order of I/O units,
 * when a progress record must be committed, and what to do on resume. No I/O
 * here, so the unit tests can walk every case. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

enum engine_layout {
	ENGINE_LAYOUT_SHIFT = 1,	/* header at 0, data moved up by data_off */
	ENGINE_LAYOUT_DETACHED,		/* header in a file, data at the same offsets */
};

#define ENGINE_DATA_OFF_DEFAULT (16ull << 20)	/* H, like cryptsetup's default */
#define ENGINE_UNIT_DEFAULT (16ull << 20)	/* U: one I/O, like dd's best block size here */
#define ENGINE_SHIFT_BUFFERS (32ull << 20)	/* shift read-ahead budget (min 3 units) */
#define ENGINE_GROUP_DEFAULT (16ull << 20)	/* G, detached: bytes per digest record */

/* Sizes chosen when a conversion is opened, from the caller's tuning
 * (0 = default): H the shift (0 for detached), U the I/O unit, G the
 * detached group. U never exceeds H (shift) nor G, and G is whole units. */
struct engine_sizes {
	uint64_t data_off;	/* H */
	uint64_t unit;		/* U */
	uint64_t group;		/* G */
};
/* -EINVAL (nothing logged) when H or U is not a multiple of 4096 or U is 0. */
int engine_plan_sizes(enum engine_layout layout, uint64_t want_data_off, uint64_t want_unit,
		      uint64_t want_group, struct engine_sizes *ret);

/* The unit and the pipeline's slot count for one pass over a header's data:
 * the open-time unit, cut to the header's shift (shift: a unit never
 * exceeds H, ENGINE.md) or raised to the header's group when the group is
 * not whole units (detached: a record covers whole units). Slots: shift
 * ENGINE_SHIFT_BUFFERS worth, at least 3 (one unit read, one encrypted, one
 * written); detached two groups and one more (a whole group is held for its
 * record while the next is read ahead). -EINVAL when the shift unit ends up
 * 0 or not a multiple of 4096 (a header whose shift is not). */
struct engine_pass_io {
	uint64_t unit;
	unsigned slots;
};
int engine_plan_pass_io(enum engine_layout layout, uint64_t unit, uint64_t hdr_data_off,
			uint64_t hdr_group, struct engine_pass_io *ret);

/* One I/O unit: plaintext at src (plain_off for the tweak) goes to dst. */
struct engine_unit {
	uint64_t plain_off;	/* offset inside the plaintext; tweak = plain_off / sector */
	uint64_t src, dst, len;
};

struct engine_plan {
	enum engine_layout layout;
	uint64_t plain_len;	/* D: bytes of plaintext converted */
	uint64_t data_off;	/* H: shift (0 for detached) */
	uint64_t unit;		/* U: I/O unit, multiple of 4096 */
	uint64_t group;		/* detached: bytes covered by one digest record (multiple of unit) */
	uint64_t start;		/* resume point: shift = mark (plaintext [start, D) done);
				 * detached = plaintext [0, start) done */
};

/* Number of units still to do from plan->start. */
uint64_t engine_plan_units(const struct engine_plan *pl);
/* Unit i (0-based, in processing order). Shift: backward from start, unit
 * boundaries aligned to the unit size; detached: forward. */
void engine_plan_unit(const struct engine_plan *pl, uint64_t i, struct engine_unit *u);

/* Shift: true when the durable mark must be advanced (committed) before the
 * unit whose plaintext starts at y may be written: its destination
 * [y+H, ...) would overwrite source bytes below the mark. */
bool engine_shift_need_commit(uint64_t mark, uint64_t y, uint64_t data_off);

/* Shift geometry: device of size P, header/shift H, tail header T at the
 * end. Returns the largest plaintext length that fits (P - H - T rounded
 * down to 4096), 0 if none. */
uint64_t engine_shift_capacity(uint64_t dev_size, uint64_t data_off, uint64_t tail_size);
/* Offset of the tail (in-progress) header in a device of size P. */
uint64_t engine_tail_offset(uint64_t dev_size, uint64_t tail_size);

/* What the disk says, as found by the engine's probe. */
struct engine_found {
	bool head_luks;		/* valid LUKS2 header at 0 (shift) / in the header file (detached) */
	bool head_ours;		/* ...carrying our rootcrypt token */
	bool head_requirement;	/* ...with our in-progress requirement still set */
	bool head_same_uuid;	/* ...same UUID as the tail header (shift) */
	bool tail_luks;		/* shift: valid in-progress header in the tail area */
	bool tail_done;		/* its progress says every chunk is written */
	bool other_signature;	/* LVM/md/swap/LUKS1/... in the first bytes */
};

enum engine_action {
	ENGINE_START,		/* plain: begin from scratch */
	ENGINE_RESUME,		/* continue from the durable progress */
	ENGINE_FINISH,		/* all data done: (re)write the final header, wipe the tail */
	ENGINE_CLEANUP,		/* final header in place: wipe the leftover tail header */
	ENGINE_DONE,		/* already encrypted by us: change nothing */
	ENGINE_REFUSE_LUKS,	/* someone else's LUKS */
	ENGINE_REFUSE_SIGNATURE,/* another known signature */
};

enum engine_action engine_decide(enum engine_layout layout, const struct engine_found *f);
const char *engine_action_name(enum engine_action a);

/* The /boot split's member of status.json (src/boot/BOOT.md "enroll,
 * status"): {"state": "in-progress|done|refused|incomplete", "step":
 * "shrink|table|fill|fstab|switch-esp|switch-bios" or null, "reason": text
 * or null}. Written by `rootcrypt boot` as the split goes and when it ends;
 * read back by `rootcrypt status`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum bootstatus_split_state {
	BOOTSTATUS_SPLIT_NONE = 0,	/* no split configured: no member at all */
	BOOTSTATUS_SPLIT_IN_PROGRESS,	/* step is running */
	BOOTSTATUS_SPLIT_DONE,		/* /boot has its partition; the engine may start */
	BOOTSTATUS_SPLIT_REFUSED,	/* stopped before it changed the disk */
	BOOTSTATUS_SPLIT_INCOMPLETE,	/* stopped after it began; the next boot goes on */
};

struct bootstatus_split {
	enum bootstatus_split_state state;
	const char *step;	/* the step running or last begun; NULL: none */
	const char *reason;	/* why it was refused or stopped; NULL: none */
};

const char *bootstatus_split_state_name(enum bootstatus_split_state s);

/* Adds "boot_split" {state, step, reason} to the JSON object o (NULL
 * step or reason: null). 0 or -ENOMEM. */
int bootstatus_split_add(struct json_object *o, const char *state, const char *step,
			 const char *reason);
/* The same from sp, unless its state is NONE (then nothing). */
int bootstatus_split_to_json(const struct bootstatus_split *sp, struct json_object *o);

/* The member as read back: empty strings for null. */
struct bootstatus_split_text {
	char state[16];
	char step[16];
	char reason[512];
};

/* Reads dir/status.json. 1 with ret filled when the file exists, its
 * "device" is the same device or file as `device`, and it has the member;
 * 0 when any of that is missing (no boot status here, another device, no
 * split); negative errno (one line) when the file cannot be read or parsed. */
int bootstatus_split_read(const char *dir, const char *device, struct bootstatus_split_text *ret);

/* One line for people, e.g. "/boot split: refused: REASON". */
void bootstatus_split_line(const struct bootstatus_split_text *t, char *out, size_t n);

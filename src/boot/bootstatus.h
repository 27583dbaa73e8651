/* /run/rootcrypt/status.json: what the initramfs did, readable after
 * switch-root (systemd keeps /run). States are named like the platform's
 * encryption status so operators' tooling can read them. */
#pragma once
#include <stdint.h>

#include "bootstatus_split.h"

enum bootstatus_state {
	BOOTSTATUS_NOT_ENCRYPTED,
	BOOTSTATUS_IN_PROGRESS,
	BOOTSTATUS_ENCRYPTED,
};

struct bootstatus {
	enum bootstatus_state state;
	const char *device;     /* the partition being converted */
	const char *layout;     /* "shift" or "detached", or NULL */
	uint64_t bytes_done;
	uint64_t bytes_total;
	double mb_per_s;
	const char *last_error; /* NULL when none */
	struct bootstatus_split split; /* state NONE: no /boot split, no member */
};

const char *bootstatus_state_name(enum bootstatus_state s);
/* Serialises to a newly allocated JSON string (free()). */
char *bootstatus_to_json(const struct bootstatus *st);
/* Writes dir/status.json atomically (tmp + rename). 0 or negative errno. */
int bootstatus_write(const char *dir, const struct bootstatus *st);

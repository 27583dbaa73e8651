/* The /boot split as `rootcrypt boot` runs it (src/boot/BOOT.md): read
 * what the disk shows, let bootsplit_decide name the next step, run it,
 * and again, until the split is done. Every step is one of the crash-safe
 * steps BOOT.md argues for; a cut anywhere leaves a disk this function
 * carries on from, because it keeps no state but the disk's. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct rootcrypt_config;

struct bootsplit_run_args {
	const char *disk;	/* the whole disk node */
	const char *part;	/* the root partition's node (p1, holding R) */
	unsigned partno;	/* p1's number */
	const char *b_uuid;	/* B: the new /boot file system's UUID */
	const char *pb_uuid;	/* PB: the new partition's unique GUID */
	uint64_t boot_size;	/* N, bytes */
	const char *core_path;	/* staged BIOS core on R (absolute), or NULL */
	const char *core_sha256;
	const char *esp_files;	/* ESP files naming R, space separated, or NULL */
	const char *work_dir;	/* mount points and device nodes go under it */
	/* told as each step begins (its name, static text), e.g. to write the
	 * boot's status; NULL: nobody listens */
	void (*step_begins)(void *ctx, const char *step);
	void *ctx;
};

/* How a run ended, for status.json's boot_split member. */
struct bootsplit_outcome {
	const char *step;	/* the step last begun (static text); NULL: none */
	/* it stopped before changing the disk: the plan or a check refused
	 * (no room, data in the tail, no GPT, ...), nothing of an earlier
	 * run's split on the disk either. false: it began and stopped. */
	bool refused;
	char why[LOG_LAST_ERROR_MAX];	/* the error line it stopped on; "" when done */
};

/* 0 when the split is done (the engine may start); negative errno with the
 * reason logged (and in ret, which may be NULL) when a step refused or
 * failed. The disk is then in a state
 * that boots plain: until both boot loaders are switched they read R, whose
 * /boot the split never changes. */
int bootsplit_run(const struct bootsplit_run_args *a, struct bootsplit_outcome *ret);

/* The split's settings from the configuration (boot_split_*: written by
 * enroll). 0 with ret's settings filled (disk, part, partno and work_dir
 * are the caller's), -ENOENT when no split is configured, -EINVAL (one
 * line) when the settings are incomplete. */
int bootsplit_args_from_config(const struct rootcrypt_config *cfg,
			       struct bootsplit_run_args *ret);

/* Progress lines for long conversions: percent, GiB done/total, MB/s, ETA,
 * at least every PROGRESS_INTERVAL_S seconds and whenever another tenth of the
 * total is done (so every 10 % step is seen however fast the disk is), on
 * stderr (the console in the initramfs); with json one object per line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_INTERVAL_S 5.0

struct progress {
	FILE *out;
	bool json;
	const char *what;	/* "encrypting" */
	uint64_t total;
	uint64_t done_at_start;	/* resumed runs: rate counts this run only */
	double start, last;	/* monotonic seconds */
	unsigned last_tenth;	/* tenths of total done at the last line */
	uint64_t last_done;	/* bytes done at the last line */
	bool printed;		/* a line was printed */
};

void progress_init(struct progress *p, FILE *out, bool json, const char *what, uint64_t total,
		   uint64_t done);
/* Prints when the interval has passed or another tenth is done, or on force
 * unless the last line already said the same bytes done; cheap otherwise. */
void progress_update(struct progress *p, uint64_t done, bool force);

/* Pure: formats one update for done bytes after elapsed seconds (rate over
 * done - done_at_start). Returns the length written (truncated like snprintf). */
int progress_format(char *buf, size_t size, bool json, const char *what, uint64_t total,
		    uint64_t done_at_start, uint64_t done, double elapsed);

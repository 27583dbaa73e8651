/* Shift layout: the progress mark committed by its own thread, so the data
 * writes go on while a commit's flushes run (ENGINE.md, "Shift layout",
 * step 3). The writer asks for a commit at fixed points of the plan, so the
 * set of writes and flushes a run issues does not depend on timing (the crash
 * tests count on that); only how they interleave does. */
#pragma once
#include <stdint.h>

#include "blkdev.h"
#include "engine_hdr.h"

struct engine_committer;

/* mark: the durable mark found on disk; commits go to the header at base on
 * dev. */
int engine_committer_start(struct engine_committer **ret, struct engine_hdr *tail,
			   struct blkdev *dev, uint64_t base, uint64_t mark);
/* Plaintext [mark, D) has been written (every write returned): commit it
 * once earlier requests are done. Does not wait for the commit. Marks must
 * decrease. */
int engine_committer_request(struct engine_committer *c, uint64_t mark);
/* Waits until the durable mark is at most `need`; returns 0 or the error of
 * a failed commit (then nothing more may be written). */
int engine_committer_wait(struct engine_committer *c, uint64_t need);
/* Finishes the requests made so far, stops the thread and frees it; returns
 * the first commit error, else 0. Sets *durable to the durable mark. */
int engine_committer_stop(struct engine_committer *c, uint64_t *durable);

/* Memory for key material: locked against swap (best effort), wiped on free.
 * Never strdup/realloc a secret; hand buffers over and clear the giver. */
#pragma once
#include <stddef.h>

/* Zeroed, mlock'ed allocation in pages no other allocation shares, followed
 * by an inaccessible guard page; NULL on ENOMEM. */
void *secmem_alloc(size_t size);
/* Wipes and frees; NULL is fine. */
void secmem_free(void *p);
/* Size given to secmem_alloc. */
size_t secmem_size(const void *p);
/* Whether mlock succeeded (it may not under RLIMIT_MEMLOCK). */
int secmem_is_locked(const void *p);
/* Wipe a stack or heap buffer in a way the compiler cannot elide. */
void secmem_wipe(void *p, size_t size);

static inline void secmem_freep(void *pp) { secmem_free(*(void **)pp); }
#define _cleanup_secmem_ __attribute__((cleanup(secmem_freep)))

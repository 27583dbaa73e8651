/* Every secret gets pages of its own. mlock and munlock act on whole pages
 * and do not nest, so when two secrets shared a heap page, freeing one
 * unlocked the page under the other (a malloc-based safe allocation, like
 * cryptsetup's, has that property). Layout of one allocation, an anonymous
 * mapping of its own:
 *   [header | payload, 64-byte aligned | slack to the page end][guard page]
 * The guard page is inaccessible, so running off the end of the mapping
 * faults instead of reading what follows; the pages are left out of core
 * dumps. munmap wipes nothing, so free zeroes the payload first. */
#include "secmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* 64 bytes keeps the payload aligned for vector code. */
struct secmem_hdr {
	size_t size;
	size_t map_len;
	int locked;
	unsigned char pad[64 - 2 * sizeof(size_t) - sizeof(int)];
};

void secmem_wipe(void *p, size_t size)
{
	if (p && size)
		explicit_bzero(p, size);
}

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

void *secmem_alloc(size_t size)
{
	size_t page = page_size(), data_len, map_len;
	struct secmem_hdr *h;
	unsigned char *m;

	if (size > SIZE_MAX - sizeof(*h) - 2 * page)
		return NULL;
	data_len = (sizeof(*h) + size + page - 1) / page * page;
	map_len = data_len + page;
	m = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m + data_len, page, PROT_NONE) != 0) {
		munmap(m, map_len);
		return NULL;
	}
	(void)madvise(m, data_len, MADV_DONTDUMP); /* a hint: older kernels lack it */
	h = (struct secmem_hdr *)m;
	h->size = size;
	h->map_len = map_len;
	/* mlock can fail under RLIMIT_MEMLOCK; the wipe on free still holds. */
	h->locked = mlock(m, data_len) == 0;
	return h + 1;
}

size_t secmem_size(const void *p)
{
	return p ? ((const struct secmem_hdr *)p - 1)->size : 0;
}

int secmem_is_locked(const void *p)
{
	return p ? ((const struct secmem_hdr *)p - 1)->locked : 0;
}

void secmem_free(void *p)
{
	struct secmem_hdr *h;

	if (!p)
		return;
	h = (struct secmem_hdr *)p - 1;
	explicit_bzero(p, h->size);
	/* unmapping also unlocks; no other secret lives in these pages */
	munmap(h, h->map_len);
}

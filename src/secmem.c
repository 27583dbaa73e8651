#include "secmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Header in front of each secret buffer; 64 bytes keeps the payload aligned
 * for vector code. */
struct secmem_hdr {
	size_t size;
	int locked;
	unsigned char pad[64 - sizeof(size_t) - sizeof(int)];
};

void secmem_wipe(void *p, size_t size)
{
	if (p && size)
		explicit_bzero(p, size);
}

void *secmem_alloc(size_t size)
{
	struct secmem_hdr *h;

	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = calloc(1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	/* mlock can fail under RLIMIT_MEMLOCK; the wipe on free still holds. */
	h->locked = mlock(h, sizeof(*h) + size) == 0;
	return h + 1;
}

size_t secmem_size(const void *p)
{
	return p ? ((const struct secmem_hdr *)p - 1)->size : 0;
}

void secmem_free(void *p)
{
	struct secmem_hdr *h;
	size_t total;

	if (!p)
		return;
	h = (struct secmem_hdr *)p - 1;
	total = sizeof(*h) + h->size;
	explicit_bzero(p, h->size);
	if (h->locked)
		munlock(h, total);
	free(h);
}

/* See harden.h. The wrappers cover every call to free()/realloc() in the
 * static link (our code, libcurl, json-c, mbedTLS); glibc's own internal
 * frees are not redirected, and hold no secret of ours. */
#include "harden.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "log.h"

void __real_free(void *p);
void *__real_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t n);

void __wrap_free(void *p)
{
	if (p)
		explicit_bzero(p, malloc_usable_size(p));
	__real_free(p);
}

/* realloc may move the block and free the old one inside glibc, unwiped:
 * move it ourselves. */
void *__wrap_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return malloc(n);
	if (n == 0) {
		__wrap_free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p; /* shrinking in place keeps every byte in our block */
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	__wrap_free(p);
	return q;
}

int harden_process(void)
{
	struct rlimit none = { 0, 0 };
	int r = 0;

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		r = log_error_errno(errno, "cannot disable core dumps");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		r = log_error_errno(errno, "cannot make the process non-dumpable");
	return r;
}

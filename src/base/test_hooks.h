/* Test hooks: environment variables through which the integration tests
 * redirect what the product must never let anyone redirect at boot (which
 * program receives the passphrase, where /dev/mapper is) or inject faults
 * (I/O errors after N writes). initramfs-tools turns every dot-less kernel
 * parameter into an environment variable, so in a shipped binary such a
 * variable would be settable from the kernel command line.
 *
 * They exist only in a build with -DROOTCRYPT_TEST_HOOKS (the Makefile's
 * build/rootcrypt-test and its ASan twin, used by tests/integration). The
 * release `rootcrypt` (what `make install` and `make deb` ship) is built
 * without: there test_hook_getenv() is NULL and the variable's name is not
 * even in the binary (tests/integration/release-no-hooks.sh checks both).
 * This header is the only place that decides. */
#pragma once
#include <stdlib.h>

#ifdef ROOTCRYPT_TEST_HOOKS
/* The variable's value, NULL when unset or empty. */
static inline const char *test_hook_getenv(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}
#else
/* A macro, not an inline function: the name must not survive as a string
 * in the object even without optimisation (sizeof evaluates nothing). */
#define test_hook_getenv(name) ((void)sizeof(name), (const char *)NULL)
#endif

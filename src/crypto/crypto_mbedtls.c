#include "crypto.h"

#include <errno.h>
#include <mbedtls/version.h>
#include <sys/random.h>

#include "log.h"

const char *crypto_library_version(void)
{
	static char version[32];

	mbedtls_version_get_string_full(version);
	return version;
}

int crypto_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(errno, "getrandom failed");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

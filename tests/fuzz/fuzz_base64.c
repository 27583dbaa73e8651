/* libFuzzer: base64/base64url decode never overflows, and whatever
 * decodes re-encodes to an equivalent text that decodes the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int url = 0; url < 2; url++) {
		size_t max = base64_decoded_max(size), n, n2;
		unsigned char *out = malloc(max ? max : 1), *out2;
		char *enc;

		if (!out)
			return 0;
		if (base64_decode((const char *)data, size, out, &n, url) == 0) {
			if (n > max)
				abort();
			enc = malloc(base64_encoded_len(n, url) + 1);
			out2 = malloc(n + 3);
			if (enc && out2) {
				size_t e = base64_encode(out, n, enc, url);

				if (base64_decode(enc, e, out2, &n2, url) != 0 || n2 != n ||
				    memcmp(out, out2, n) != 0)
					abort();
			}
			free(enc);
			free(out2);
		}
		free(out);
	}
	return 0;
}

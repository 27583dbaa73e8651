/* libFuzzer: Key Vault error bodies must always give one bounded line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyvault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512];

	kv_error_message((const char *)data, size, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg))
		abort();
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			abort();
	return 0;
}

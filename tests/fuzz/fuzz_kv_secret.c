/* libFuzzer: SecretBundle and wrapkey/unwrapkey replies, and vault URLs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyvault.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_secret s;
	struct kv_url u;
	char *kid, *val, *str;

	if (kv_parse_secret_bundle((const char *)data, size, &s) == 0) {
		if (!s.value || !s.version || !*s.version)
			abort();
		kv_secret_free(&s);
	}
	if (kv_parse_key_result((const char *)data, size, &kid, &val) == 0) {
		free(kid);
		secmem_free(val);
	}
	str = malloc(size + 1);
	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	if (kv_url_parse(str, &u) == 0) {
		/* Whatever parses must name an Azure vault host. */
		if (!u.base || !u.host || !u.resource || strncmp(u.base, "https://", 8) != 0)
			abort();
		kv_url_free(&u);
	}
	free(str);
	return 0;
}

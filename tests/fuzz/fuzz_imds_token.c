/* libFuzzer: IMDS replies (token, instance metadata, error) and the
 * Key Vault challenge header, as they arrive off the network. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imds.h"
#include "keyvault.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = NULL, *id = NULL, *name = NULL, msg[256], *s;
	int64_t exp;

	if (imds_parse_token((const char *)data, size, 1700000000, &tok, &exp) == 0) {
		if (!tok || !*tok)
			abort();
		secmem_free(tok);
	}
	if (imds_parse_instance((const char *)data, size, &id, &name) == 0) {
		free(id);
		free(name);
	}
	imds_error_message((const char *)data, size, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg) || strchr(msg, '\n'))
		abort();
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	{
		char *res = NULL;

		if (kv_parse_challenge(s, &res) == 0) {
			kv_challenge_resource_ok(res, "v.vault.azure.net");
			free(res);
		}
	}
	free(s);
	return 0;
}

/* libFuzzer: /etc/rootcrypt.conf text and the kernel command line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rootcrypt_config c = { 0 };
	char *s;

	config_parse_file_text(&c, (const char *)data, size, "fuzz");
	config_free(&c);
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	config_parse_cmdline(&c, s);
	config_validate(&c);
	config_free(&c);
	free(s);
	return 0;
}

/* Reading a passphrase from a file ("-" = stdin) into secmem: the whole
 * content, byte for byte, as cryptsetup's --key-file does. */
#pragma once
#include <stddef.h>

#define KEYFILE_MAX 8192

/* Empty or larger than KEYFILE_MAX is refused with one line. The buffer is
 * NUL-terminated (not counted in *ret_len); free with secmem_free(). */
int keyfile_read(const char *path, char **ret_secmem, size_t *ret_len);

/* Recovery prompt on the console: when Key Vault stays unreachable for an
 * encrypted volume, the operator types or pastes the secret (the keyslot
 * passphrase as stored in Key Vault). Echo is off on a terminal. */
#pragma once
#include <stddef.h>

/* Console device: $ROOTCRYPT_CONSOLE, else /dev/console. */
const char *bootprompt_console(void);

/* Prints prompt on the console, reads one line (without the newline) into
 * secmem. -ETIMEDOUT after timeout_s seconds without input (0 = wait
 * forever), -ENODATA on end of input. */
int bootprompt_read(const char *prompt, int timeout_s, char **ret_secmem, size_t *ret_len);

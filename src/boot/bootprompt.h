/* Recovery prompt on the console: when Key Vault stays unreachable for an
 * encrypted volume, the operator types or pastes the secret (the keyslot
 * passphrase as stored in Key Vault). */
#pragma once
#include <stddef.h>

#define BOOTPROMPT_CONSOLE "/dev/console"

/* Prints prompt on console (a terminal: BOOTPROMPT_CONSOLE at boot), reads
 * one line (without the newline) into secmem. Echo is turned off while it
 * reads; where it cannot be (not a terminal, or the line refuses), one
 * warning line before the prompt says the typed text will be visible, and
 * the prompt still comes. -ETIMEDOUT after timeout_s seconds without input
 * (0 = wait forever), -ENODATA on end of input. */
int bootprompt_read(const char *console, const char *prompt, int timeout_s, char **ret_secmem,
		    size_t *ret_len);

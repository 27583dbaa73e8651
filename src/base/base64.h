/* Base64 (RFC 4648 §4) and base64url (§5) without any library: Key Vault's
 * wrapkey/unwrapkey values are base64url without padding, and secret values
 * may be stored as text. Pure functions, fuzzed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Length of the encoding of n bytes, without the terminating NUL. */
size_t base64_encoded_len(size_t n, bool url);

/* Encodes n bytes into out (size >= base64_encoded_len(n, url) + 1),
 * NUL-terminated. url=true: '-' '_' alphabet and no '=' padding, as JOSE and
 * Key Vault use; url=false: standard alphabet with padding. Returns the length. */
size_t base64_encode(const void *in, size_t n, char *out, bool url);

/* Upper bound of the decoded size of a text of length n. */
size_t base64_decoded_max(size_t n);

/* Decodes text (len bytes) into out (size >= base64_decoded_max(len)).
 * url=true accepts only the url alphabet, url=false only the standard one;
 * both accept missing padding, correct padding, and reject: other
 * characters, whitespace, a lone final character, non-zero trailing bits,
 * padding in the middle. Returns 0 and *ret_len, or -EINVAL. out may hold
 * a secret: the caller wipes it. */
int base64_decode(const char *text, size_t len, void *out, size_t *ret_len, bool url);

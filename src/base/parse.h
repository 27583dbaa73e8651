/* Strict numbers from the command line: the whole string is one number in
 * range, decimal or hexadecimal after "0x". Empty strings, signs, spaces,
 * trailing garbage and overflow are refused (-EINVAL, -ERANGE); nothing is
 * logged, the caller says which option was wrong. */
#pragma once
#include <stdint.h>

int parse_u64(const char *s, uint64_t *ret);

/* As parse_u64, with an optional binary suffix: K or k (KiB), M (MiB), G (GiB). */
int parse_size(const char *s, uint64_t *ret);

/* As parse_u64, for a value in [min, max] (min >= 0). */
int parse_int(const char *s, int min, int max, int *ret);

/* A UUID in its text form (8-4-4-4-12 hex digits, either case) to its 16
 * bytes in text order, as an ext4 superblock or a LUKS2 header holds it.
 * (A GPT entry stores the first three groups little-endian: the caller
 * swaps them.) */
int parse_uuid(const char *s, uint8_t out[16]);
/* 0 when s is a UUID in text form, -EINVAL when not (parse_uuid's check
 * without the bytes). */
int parse_uuid_text(const char *s);

/* Wide AES-XTS kernel (VAES + VPCLMULQDQ on 512-bit registers) used by the
 * AES-NI backend (crypto_xts_aesni.c) for runs of 512 bytes or more. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when the CPU has AVX-512 F/BW/VL, VAES and VPCLMULQDQ and the OS
 * saves the 512-bit registers. */
bool vaes_xts_supported(void);

/* XTS over len bytes (a multiple of 512) of one data unit. round_keys: 15
 * 16-byte-aligned AES-256 round keys for the direction (encryption keys, or
 * the AES-NI decryption schedule when !enc). tweak: the tweak of the first
 * block on entry, that of the block after the last on return. */
void vaes_xts_bulk(const void *round_keys, bool enc, uint8_t tweak[16], const uint8_t *in,
		   uint8_t *out, size_t len);

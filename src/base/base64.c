#include "base64.h"

#include <errno.h>
#include <stdint.h>

static const char b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64_encoded_len(size_t n, bool url)
{
	if (url)
		return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	return (n + 2) / 3 * 4;
}

size_t base64_encode(const void *in, size_t n, char *out, bool url)
{
	const unsigned char *p = in;
	const char *a = url ? b64_url : b64_std;
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (!url) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t base64_decoded_max(size_t n)
{
	return n / 4 * 3 + 3;
}

/* Table-free and branch-light so secret bytes do not index a table. */
static int b64_value(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

int base64_decode(const char *text, size_t len, void *out, size_t *ret_len, bool url)
{
	unsigned char *o = out;
	size_t pad = 0, n = 0, olen = 0;
	uint32_t acc = 0;

	/* Up to two '=' only at the very end, and only where they belong. */
	while (pad < 2 && len > pad && text[len - pad - 1] == '=')
		pad++;
	if (pad && len % 4 != 0)
		return -EINVAL;
	len -= pad;
	if (len % 4 == 1)
		return -EINVAL;
	if (pad && (len % 4) + pad != 4)
		return -EINVAL;

	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)text[i], url);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			o[olen++] = (unsigned char)(acc >> 16);
			o[olen++] = (unsigned char)(acc >> 8);
			o[olen++] = (unsigned char)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 2) {
		if (acc & 0xf)
			return -EINVAL;
		o[olen++] = (unsigned char)(acc >> 4);
	} else if (n == 3) {
		if (acc & 0x3)
			return -EINVAL;
		o[olen++] = (unsigned char)(acc >> 10);
		o[olen++] = (unsigned char)(acc >> 2);
	}
	*ret_len = olen;
	return 0;
}

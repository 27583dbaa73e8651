#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Digits up to the first non-digit; *end points there. */
static int parse_digits(const char *s, uint64_t *ret, const char **end)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool any = false;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	for (;; s++, any = true) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (!any)
		return -EINVAL;
	*ret = v;
	*end = s;
	return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s || (r = parse_digits(s, &v, &end)) < 0)
		return s ? r : -EINVAL;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	const char *end;
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (!s || (r = parse_digits(s, &v, &end)) < 0)
		return s ? r : -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M')
		shift = 20, end++;
	else if (*end == 'G')
		shift = 30, end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX >> shift)
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

int parse_int(const char *s, int min, int max, int *ret)
{
	uint64_t v;
	int r;

	if ((r = parse_u64(s, &v)) < 0)
		return r;
	if (min < 0 || v < (uint64_t)min || v > (uint64_t)max)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

int parse_uuid(const char *s, uint8_t out[16])
{
	static const unsigned dash_at[] = { 8, 13, 18, 23 };
	uint8_t v[16];
	unsigned n = 0, d = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (unsigned i = 0; i < 36; i++) {
		int x;

		if (d < 4 && i == dash_at[d]) {
			if (s[i] != '-')
				return -EINVAL;
			d++;
			continue;
		}
		if (s[i] >= '0' && s[i] <= '9')
			x = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			x = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			x = s[i] - 'A' + 10;
		else
			return -EINVAL;
		v[n / 2] = (uint8_t)(n % 2 ? v[n / 2] | x : x << 4);
		n++;
	}
	memcpy(out, v, 16);
	return 0;
}

int parse_uuid_text(const char *s)
{
	uint8_t bytes[16];

	return parse_uuid(s, bytes);
	return 0;
}

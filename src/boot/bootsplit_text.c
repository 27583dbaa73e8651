#include "bootsplit_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define UUID_LEN 36

bool bootsplit_uuid_valid(const char *s)
{
	for (int i = 0; i < UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[UUID_LEN] == 0;
}

static bool uuid_char(char c)
{
	return isxdigit((unsigned char)c) || c == '-';
}

/* The first word of line [p, end): after blanks, up to a blank. */
static bool first_word_is_search(const char *p, const char *end)
{
	const char *w;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	w = p;
	while (p < end && !isspace((unsigned char)*p))
		p++;
	return ((size_t)(p - w) == 6 && memcmp(w, "search", 6) == 0) ||
	       ((size_t)(p - w) == 14 && memcmp(w, "search.fs_uuid", 14) == 0);
}

int bootsplit_grubcfg_rewrite(const char *in, size_t len, const char *r, const char *b,
			      char **ret_out, size_t *ret_len, unsigned *ret_count)
{
	/* Both UUIDs have UUID_LEN bytes: the output is as long as the input. */
	const char *end = in + len, *line = in;
	unsigned count = 0;
	char *out;

	if (!bootsplit_uuid_valid(r) || !bootsplit_uuid_valid(b))
		return -EINVAL;
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, in, len);
	out[len] = 0;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *lend = nl ? nl : end;

		if (first_word_is_search(line, lend)) {
			for (const char *p = line; p + UUID_LEN <= lend; p++) {
				if (strncasecmp(p, r, UUID_LEN) != 0 || (p > line && uuid_char(p[-1])) ||
				    (p + UUID_LEN < lend && uuid_char(p[UUID_LEN])))
					continue;
				memcpy(out + (p - in), b, UUID_LEN);
				count++;
				p += UUID_LEN - 1;
			}
		}
		line = lend + (nl ? 1 : 0);
	}
	*ret_out = out;
	*ret_len = len;
	*ret_count = count;
	return 0;
}

/* Field n (0-based) of an fstab line, as a pointer and length; false when
 * the line has fewer fields. */
static bool field(const char *line, const char *end, int n, const char **ret, size_t *ret_len)
{
	const char *p = line;

	for (int i = 0;; i++) {
		const char *w;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return false;
		w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (i == n) {
			*ret = w;
			*ret_len = (size_t)(p - w);
			return true;
		}
	}
}

/* Mount point of the line equals dir, trailing slashes ignored. */
static bool mounts_on(const char *line, const char *end, const char *dir)
{
	const char *f;
	size_t n, dl = strlen(dir);

	if (!field(line, end, 1, &f, &n))
		return false;
	while (n > 1 && f[n - 1] == '/')
		n--;
	return n == dl && memcmp(f, dir, dl) == 0;
}

static bool is_comment(const char *line, const char *end)
{
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	return line == end || *line == '#';
}

int bootsplit_fstab_add(const char *in, const char *b, char **ret_out)
{
	const char *end = in + strlen(in), *line = in, *efi = NULL, *rest;
	char add[96];
	size_t len = strlen(in), alen, at;
	bool need_nl;
	char *out;

	if (!bootsplit_uuid_valid(b))
		return -EINVAL;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *lend = nl ? nl : end;
		const char *spec;
		size_t sl;

		if (!is_comment(line, lend)) {
			if (mounts_on(line, lend, "/boot")) {
				field(line, lend, 0, &spec, &sl);
				if (sl == 5 + UUID_LEN && strncmp(spec, "UUID=", 5) == 0 &&
				    strncasecmp(spec + 5, b, UUID_LEN) == 0)
					return 0;
				return log_error(EEXIST, "fstab already mounts \"%.*s\" on /boot: "
						 "refusing to add the new /boot", (int)sl, spec);
			}
			if (!efi && mounts_on(line, lend, "/boot/efi"))
				efi = line;
		}
		line = lend + (nl ? 1 : 0);
	}
	/* old text up to the /boot/efi line (or all of it), the new line, the rest */
	rest = efi ? efi : end;
	at = (size_t)(rest - in);
	need_nl = at && in[at - 1] != '\n';
	alen = (size_t)snprintf(add, sizeof(add), BOOTSPLIT_FSTAB_FMT, b);
	out = malloc(len + alen + 2);
	if (!out)
		return -ENOMEM;
	memcpy(out, in, at);
	if (need_nl)
		out[at++] = '\n';
	memcpy(out + at, add, alen);
	at += alen;
	memcpy(out + at, rest, (size_t)(end - rest));
	out[at + (size_t)(end - rest)] = 0;
	*ret_out = out;
	return 1;
}

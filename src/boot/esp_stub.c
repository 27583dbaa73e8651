/* ESP stub and unsigned image switch (esp_stub.h, BOOT.md step 5). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "le.h"
#include "esp_stub.h"
#include "fatfile.h"
#include "log.h"
#include "parse.h"

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Token [s, e) of a line; returns the start of the next token or e. */
static size_t next_token(const uint8_t *l, size_t n, size_t i, size_t *ret_end)
{
	while (i < n && is_space(l[i]))
		i++;
	*ret_end = i;
	while (*ret_end < n && !is_space(l[*ret_end]))
		(*ret_end)++;
	return i;
}

static bool tok_is(const uint8_t *t, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(t, s, len) == 0;
}

static bool tok_is_uuid(const uint8_t *t, size_t len, const char *uuid)
{
	return len == ESP_UUID_LEN && strncasecmp((const char *)t, uuid, ESP_UUID_LEN) == 0;
}

/* Where in token t a `hd0,gptN` hint's digits are (after an optional
 * --hint*= prefix): 1 and [*ret_d, *ret_d + *ret_n) or 0. */
static int hint_digits(const uint8_t *t, size_t len, size_t *ret_d, size_t *ret_n)
{
	static const char *const prefixes[] = { "", "--hint=", "--hint-bios=", "--hint-efi=",
						"--hint-baremetal=" };
	static const char hd[] = "hd0,gpt";

	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		size_t pl = strlen(prefixes[p]), d = pl + sizeof(hd) - 1, n = 0;

		if (len <= d || memcmp(t, prefixes[p], pl) != 0 || memcmp(t + pl, hd, d - pl) != 0)
			continue;
		while (d + n < len && isdigit(t[d + n]))
			n++;
		if (n == 0 || d + n != len)
			return 0;
		*ret_d = d;
		*ret_n = n;
		return 1;
	}
	return 0;
}

static bool contains_uuid(const uint8_t *p, size_t len, const char *uuid)
{
	for (size_t i = 0; i + ESP_UUID_LEN <= len; i++)
		if (strncasecmp((const char *)p + i, uuid, ESP_UUID_LEN) == 0)
			return true;
	return false;
}

/* One stub line [l, l+n) in out: 1 patched, 0 not a search for R. */
static int patch_line(uint8_t *l, size_t n, const char *r_uuid, const char *b_uuid, unsigned k)
{
	char kd[12];
	size_t s, e, i;
	bool search, uuid_mode = false, named = false;

	s = next_token(l, n, 0, &e);
	search = tok_is(l + s, e - s, "search.fs_uuid");
	if (!search && !tok_is(l + s, e - s, "search"))
		return 0;
	uuid_mode = search;
	for (i = e; (s = next_token(l, n, i, &e)) < n; i = e)
		if (tok_is(l + s, e - s, "--fs-uuid") || tok_is(l + s, e - s, "-u"))
			uuid_mode = true;
	if (!uuid_mode)
		return 0;
	for (i = 0; (s = next_token(l, n, i, &e)) < n; i = e)
		if (tok_is_uuid(l + s, e - s, r_uuid)) {
			memcpy(l + s, b_uuid, ESP_UUID_LEN);
			named = true;
		}
	if (!named)
		return 0;
	snprintf(kd, sizeof(kd), "%u", k);
	for (i = 0; (s = next_token(l, n, i, &e)) < n; i = e) {
		size_t d, dn;

		if (hint_digits(l + s, e - s, &d, &dn) && dn == strlen(kd))
			memcpy(l + s + d, kd, dn);
	}
	return 1;
}

static int check_args(const char *r_uuid, const char *b_uuid, const char **why)
{
	if (parse_uuid_text(r_uuid) < 0 || parse_uuid_text(b_uuid) < 0)
		return refuse(why, "R and B must be file system UUIDs (36 characters)");
	if (strcasecmp(r_uuid, b_uuid) == 0)
		return refuse(why, "R and B are the same UUID");
	return 0;
}

int esp_stub_patch(const uint8_t *in, size_t len, const char *r_uuid, const char *b_uuid,
		   unsigned k, uint8_t *out, const char **why)
{
	size_t start = 0;
	int r, patched = 0;

	*why = NULL;
	r = check_args(r_uuid, b_uuid, why);
	if (r < 0)
		return r;
	if (k == 0 || k > 128)
		return refuse(why, "partition number out of range 1-128");
	for (size_t i = 0; i < len; i++)
		if (in[i] != '\n' && in[i] != '\t' && in[i] != '\r' && (in[i] < 0x20 || in[i] > 0x7e))
			return refuse(why, "not a text stub (control or non-ASCII bytes)");
	memcpy(out, in, len);
	while (start < len) {
		const uint8_t *nl = memchr(out + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - (out + start)) : len - start;

		if (contains_uuid(out + start, n, r_uuid)) {
			if (patch_line(out + start, n, r_uuid, b_uuid, k) != 1 ||
			    contains_uuid(out + start, n, r_uuid))
				return refuse(why, "R appears outside a search.fs_uuid/search --fs-uuid "
						   "argument");
			patched = 1;
		}
		start += n + 1;
	}
	return patched;
}

/* 1 when the PE image carries an Authenticode signature (security data
 * directory, index 4, has a size), 0 when not, -EINVAL when not a PE. */
static int pe_signed(const uint8_t *in, size_t len, const char **why)
{
	uint64_t pe, dirs;
	uint32_t ndirs;
	uint16_t magic;

	if (len < 0x40 || in[0] != 'M' || in[1] != 'Z')
		return refuse(why, "not a PE image (no MZ header)");
	pe = le32_get(in + 0x3c);
	if (pe > len || len - pe < 24 + 2 || memcmp(in + pe, "PE\0\0", 4) != 0)
		return refuse(why, "not a PE image (no PE signature)");
	magic = (uint16_t)(in[pe + 24] | in[pe + 25] << 8);
	if (magic == 0x20b)
		dirs = pe + 24 + 112;
	else if (magic == 0x10b)
		dirs = pe + 24 + 96;
	else
		return refuse(why, "PE optional header of unknown kind");
	if (dirs > len)
		return refuse(why, "PE optional header truncated");
	ndirs = le32_get(in + dirs - 4);
	if (ndirs <= 4)
		return 0; /* no security directory at all */
	if (len - dirs < 5 * 8)
		return refuse(why, "PE data directories truncated");
	return le32_get(in + dirs + 4 * 8 + 4) != 0;
}

int esp_image_patch(const uint8_t *in, size_t len, const char *r_uuid, const char *b_uuid,
		    uint8_t *out, const char **why)
{
	int r, sig, patched = 0;

	*why = NULL;
	r = check_args(r_uuid, b_uuid, why);
	if (r < 0)
		return r;
	sig = pe_signed(in, len, why);
	if (sig < 0)
		return sig;
	if (!contains_uuid(in, len, r_uuid))
		return 0;
	if (sig)
		return refuse(why, "a signed image names R: patching it would break its signature");
	memcpy(out, in, len);
	for (size_t i = 0; i + ESP_UUID_LEN <= len; i++)
		if (strncasecmp((const char *)out + i, r_uuid, ESP_UUID_LEN) == 0) {
			memcpy(out + i, b_uuid, ESP_UUID_LEN);
			patched = 1;
		}
	return patched;
}

int esp_file_patch(const uint8_t *in, size_t len, const char *r_uuid, const char *b_uuid,
		   unsigned k, size_t unit, uint8_t *out, size_t *ret_lo, size_t *ret_hi,
		   const char **why)
{
	size_t lo = 0, hi = 0;
	int r;

	if (len >= 2 && in[0] == 'M' && in[1] == 'Z')
		r = esp_image_patch(in, len, r_uuid, b_uuid, out, why);
	else
		r = esp_stub_patch(in, len, r_uuid, b_uuid, k, out, why);
	if (r <= 0)
		return r;
	while (lo < len && in[lo] == out[lo])
		lo++;
	for (size_t i = lo; i < len; i++)
		if (in[i] != out[i])
			hi = i + 1;
	if (lo == len)
		return 0; /* R replaced by itself cannot happen (R != B); be safe */
	if (unit == 0 || lo / unit != (hi - 1) / unit)
		return refuse(why, "the change would straddle a sector boundary of the file");
	*ret_lo = lo;
	*ret_hi = hi;
	return 1;
}

int esp_switch(struct blkdev *esp, const char *path, const char *r_uuid, const char *b_uuid,
	       unsigned k)
{
	struct fatfile f;
	uint8_t *in = NULL, *out = NULL, *sec = NULL, *back = NULL;
	size_t unit = esp->sector_size >= 512 ? esp->sector_size : 512, lo = 0, hi = 0, s, n;
	const char *why = NULL;
	int r;

	r = fatfile_find(esp, path, &f);
	if (r == -ENOENT)
		return log_error(ENOENT, "'%s' has no file '%s'", esp->name, path);
	if (r < 0)
		return r;
	if (!f.contiguous)
		return log_error(EINVAL, "'%s' on '%s' is fragmented: not switched in place", path,
				 esp->name);
	if (f.size > ESP_MAX_FILE)
		return log_error(EFBIG, "'%s' on '%s' is larger than %u MiB", path, esp->name,
				 ESP_MAX_FILE >> 20);
	if (f.data_off % unit)
		return log_error(EINVAL, "'%s' on '%s' does not start on a %zu-byte sector", path,
				 esp->name, unit);
	in = malloc(f.size);
	out = malloc(f.size);
	sec = blkdev_alloc(unit);
	back = blkdev_alloc(unit);
	if (!in || !out || !sec || !back) {
		r = log_error(ENOMEM, "no memory for '%s'", path);
		goto out;
	}
	r = blkdev_read(esp, in, f.size, f.data_off);
	if (r < 0)
		goto out;
	r = esp_file_patch(in, f.size, r_uuid, b_uuid, k, unit, out, &lo, &hi, &why);
	if (r < 0) {
		r = log_error(EINVAL, "'%s' on '%s' not switched: %s", path, esp->name, why);
		goto out;
	}
	if (r == 0)
		goto out;
	s = lo / unit * unit;
	n = f.size - s < unit ? f.size - s : unit;
	/* the sector beyond the file's end (slack of its last cluster) keeps its bytes */
	r = blkdev_read(esp, sec, unit, f.data_off + s);
	if (r < 0)
		goto out;
	memcpy(sec, out + s, n);
	r = blkdev_write(esp, sec, unit, f.data_off + s);
	if (r == 0)
		r = blkdev_flush(esp);
	if (r == 0)
		r = blkdev_read(esp, back, unit, f.data_off + s);
	if (r == 0 && memcmp(sec, back, unit) != 0)
		r = log_error(EIO, "'%s' on '%s' reads back different after the switch", path,
			      esp->name);
	if (r == 0)
		r = 1;
out:
	free(in);
	free(out);
	free(sec);
	free(back);
	return r;
}

int esp_file_names(struct blkdev *esp, const char *path, const char *uuid, const char *other,
		   unsigned k)
{
	struct fatfile f;
	uint8_t *in = NULL, *out = NULL;
	size_t lo, hi, unit = esp->sector_size >= 512 ? esp->sector_size : 512;
	const char *why = NULL;
	int r;

	r = fatfile_find(esp, path, &f);
	if (r == -ENOENT)
		return log_error(ENOENT, "'%s' has no file '%s'", esp->name, path);
	if (r < 0)
		return r;
	if (f.size > ESP_MAX_FILE)
		return log_error(EFBIG, "'%s' on '%s' is larger than %u MiB", path, esp->name,
				 ESP_MAX_FILE >> 20);
	if (!f.contiguous)
		return log_error(EINVAL, "'%s' on '%s' is fragmented", path, esp->name);
	in = malloc(f.size ? f.size : 1);
	out = malloc(f.size ? f.size : 1);
	if (!in || !out) {
		r = log_error(ENOMEM, "no memory for '%s'", path);
		goto out;
	}
	r = blkdev_read(esp, in, f.size, f.data_off);
	if (r < 0)
		goto out;
	/* what step 5 would do with uuid -> other says whether it is named */
	r = esp_file_patch(in, f.size, uuid, other, k, unit, out, &lo, &hi, &why);
	if (r < 0)
		r = log_error(EINVAL, "'%s' on '%s': %s", path, esp->name, why);
out:
	free(in);
	free(out);
	return r;
}

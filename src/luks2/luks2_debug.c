/* Test-only: put arbitrary JSON into one header copy with a correct
 * checksum, so tests can present hostile metadata that only validation
 * (not the checksum) can reject. Used by debug-luks2 put-json. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "luks2_internal.h"

int luks2_debug_put_json(int fd, uint64_t base, bool secondary, const char *json)
{
	uint8_t raw[LUKS2_BIN_HDR_SIZE], csum[32], *area;
	uint64_t off = 0;
	struct luks2_bin b;
	char err[LUKS2_ERR_LEN];
	size_t area_len;
	int r;

	if (secondary) {
		/* the secondary sits at the primary's size */
		if (pread(fd, raw, sizeof(raw), (off_t)base) != (ssize_t)sizeof(raw) ||
		    luks2_bin_decode(raw, false, 0, &b, err, sizeof(err)) < 0)
			return log_error(EINVAL, "put-json: need a readable primary binary header to find the secondary");
		off = b.hdr_size;
	}
	if (pread(fd, raw, sizeof(raw), (off_t)(base + off)) != (ssize_t)sizeof(raw) ||
	    luks2_bin_decode(raw, secondary, off, &b, err, sizeof(err)) < 0)
		return log_error(EINVAL, "put-json: binary header at %" PRIu64 " unusable: %s", off, err);
	area_len = b.hdr_size - LUKS2_BIN_HDR_SIZE;
	if (strlen(json) > area_len)
		return log_error(ENOSPC, "put-json: JSON longer than the area");
	area = calloc(1, area_len);
	if (!area)
		return -ENOMEM;
	memcpy(area, json, strlen(json));
	memset(b.csum, 0, sizeof(b.csum));
	luks2_bin_encode(&b, secondary, raw);
	r = luks2_bin_checksum(raw, area, area_len, csum);
	if (r == 0) {
		memcpy(b.csum, csum, sizeof(csum));
		luks2_bin_encode(&b, secondary, raw);
		if (pwrite(fd, raw, sizeof(raw), (off_t)(base + off)) != (ssize_t)sizeof(raw) ||
		    pwrite(fd, area, area_len, (off_t)(base + off + LUKS2_BIN_HDR_SIZE)) != (ssize_t)area_len)
			r = log_error_errno(errno, "put-json: write failed");
	}
	free(area);
	return r;
}

/* LUKS2 header I/O: reading both copies (from an fd or from memory),
 * choosing the valid newest one, loading keyslot areas, and the ordered,
 * synced writes of a commit. Offsets are relative to a base byte offset. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "luks2_internal.h"

/* Reads len bytes at off (relative to the header base): 0, -EIO for an
 * I/O error, -ENODATA for a short read (end of device/file/buffer). */
struct luks2_src {
	int (*read)(const struct luks2_src *s, void *buf, size_t len, uint64_t off);
	int fd;
	uint64_t base;
	const uint8_t *mem;
	size_t mem_len;
};

static int fd_read(const struct luks2_src *s, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	if (off > UINT64_MAX - s->base)
		return -ENODATA;
	while (len > 0) {
		ssize_t n = pread(s->fd, p, len, (off_t)(s->base + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int mem_read(const struct luks2_src *s, void *buf, size_t len, uint64_t off)
{
	if (off > s->mem_len || len > s->mem_len - off)
		return -ENODATA;
	memcpy(buf, s->mem + off, len);
	return 0;
}

static const uint64_t metadata_sizes[] = { 0x4000, 0x8000, 0x10000, 0x20000, 0x40000,
					   0x80000, 0x100000, 0x200000, 0x400000 };

/* One copy, fully checked. On success *ret_jobj is the validated tree. */
static int read_copy(const struct luks2_src *s, uint64_t off, bool secondary, struct luks2_bin *bin,
		     struct json_object **ret_jobj, char *err, size_t errlen)
{
	uint8_t raw[LUKS2_BIN_HDR_SIZE], csum[32];
	struct json_tokener *tok = NULL;
	struct json_object *jobj = NULL;
	char *area = NULL;
	size_t json_len, end;
	int r;

	r = s->read(s, raw, sizeof(raw), off);
	if (r < 0) {
		luks2_err(err, errlen, "%s", r == -ENODATA ? "beyond the end" : strerror(-r));
		return r == -ENODATA ? -ENODEV : r;
	}
	r = luks2_bin_decode(raw, secondary, off, bin, err, errlen);
	if (r < 0)
		return r;
	json_len = bin->hdr_size - LUKS2_BIN_HDR_SIZE;
	area = malloc(json_len);
	if (!area)
		return -ENOMEM;
	r = s->read(s, area, json_len, off + LUKS2_BIN_HDR_SIZE);
	if (r < 0) {
		luks2_err(err, errlen, "JSON area %s", r == -ENODATA ? "truncated" : strerror(-r));
		goto out;
	}
	r = luks2_bin_checksum(raw, area, json_len, csum);
	if (r < 0)
		goto out;
	if (memcmp(csum, bin->csum, sizeof(csum)) != 0) {
		luks2_err(err, errlen, "checksum mismatch");
		r = -EINVAL;
		goto out;
	}
	r = -EINVAL;
	if (area[0] != '{') {
		luks2_err(err, errlen, "JSON area does not start with '{'");
		goto out;
	}
	tok = json_tokener_new();
	if (!tok) {
		r = -ENOMEM;
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	jobj = json_tokener_parse_ex(tok, area, (int)json_len);
	if (!jobj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		luks2_err(err, errlen, "JSON syntax error: %s",
			  e == json_tokener_continue ? "unterminated" : json_tokener_error_desc(e));
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	if (end >= json_len) {
		luks2_err(err, errlen, "JSON fills the area with no terminating zero byte");
		goto out;
	}
	for (size_t i = end; i < json_len; i++)
		if (area[i] != '\0') {
			luks2_err(err, errlen, "non-zero byte after the JSON text at offset %zu", i);
			goto out;
		}
	if ((r = luks2_json_check_duplicates(area, end, err, errlen)) < 0)
		goto out;
	if ((r = luks2_validate(jobj, bin->hdr_size, err, errlen)) < 0)
		goto out;
	*ret_jobj = jobj;
	jobj = NULL;
	r = 0;
out:
	if (tok)
		json_tokener_free(tok);
	json_object_put(jobj);
	free(area);
	return r;
}

static int load_areas(const struct luks2_src *s, struct luks2_hdr *h)
{
	json_object_object_foreach(luks2_json_section(h, "keyslots"), id, ks)
	{
		struct json_object *area = luks2_json_get(ks, "area", json_type_object);
		uint64_t off, len;
		int slot = atoi(id), r;

		/* validated: inside the keyslots area, at most 128 MiB */
		if (!luks2_json_u64(luks2_json_get(area, "offset", json_type_string), &off) ||
		    !luks2_json_u64(luks2_json_get(area, "size", json_type_string), &len))
			return log_error(EINVAL, "LUKS2 keyslot %s area vanished", id);
		h->ks_data[slot] = malloc(len);
		if (!h->ks_data[slot])
			return log_error(ENOMEM, "cannot allocate %" PRIu64 " bytes for LUKS2 keyslot %s", len, id);
		h->ks_len[slot] = len;
		r = s->read(s, h->ks_data[slot], len, off);
		if (r < 0)
			return log_error(r == -ENODATA ? EIO : -r, "cannot read LUKS2 keyslot %s area at offset %" PRIu64 "%s",
					 id, off, r == -ENODATA ? ": beyond the end of the device" : "");
	}
	return 0;
}

static int hdr_read(struct luks2_hdr **ret, const struct luks2_src *s, struct luks2_read_status *st_out)
{
	struct luks2_read_status st = { 0 };
	struct luks2_bin b1, b2;
	struct json_object *j1 = NULL, *j2 = NULL;
	struct luks2_hdr *h = NULL;
	bool use1;
	int r1, r2 = -ENODEV, r;

	r1 = read_copy(s, 0, false, &b1, &j1, st.primary_error, sizeof(st.primary_error));
	if (r1 == -ENOMEM)
		return log_error(ENOMEM, "cannot allocate LUKS2 JSON area");
	if (r1 == 0) {
		r2 = read_copy(s, b1.hdr_size, true, &b2, &j2, st.secondary_error, sizeof(st.secondary_error));
	} else {
		/* the damaged primary's size field is not trusted: look for the
		 * secondary at every size cryptsetup may have used */
		for (size_t i = 0; i < sizeof(metadata_sizes) / sizeof(metadata_sizes[0]); i++) {
			char e[LUKS2_ERR_LEN];

			r = read_copy(s, metadata_sizes[i], true, &b2, &j2, e, sizeof(e));
			if (r == -ENOMEM)
				return log_error(ENOMEM, "cannot allocate LUKS2 JSON area");
			if (r == 0) {
				r2 = 0;
				break;
			}
			/* report the first copy that has magic but is damaged */
			if (r != -ENODEV && r2 == -ENODEV) {
				r2 = r;
				luks2_err(st.secondary_error, sizeof(st.secondary_error), "at offset %" PRIu64 ": %s",
					  metadata_sizes[i], e);
			}
		}
		if (r2 == -ENODEV)
			luks2_err(st.secondary_error, sizeof(st.secondary_error), "none found at any known offset");
	}
	st.primary_ok = r1 == 0;
	st.secondary_ok = r2 == 0;
	if (!st.primary_ok && !st.secondary_ok) {
		if (st_out)
			*st_out = st;
		if (r1 == -ENODEV && r2 == -ENODEV) {
			log_debug("no LUKS2 header: primary %s; secondary %s", st.primary_error, st.secondary_error);
			return -ENODEV;
		}
		return log_error(EINVAL, "both LUKS2 header copies are damaged: primary: %s; secondary: %s",
				 st.primary_error, st.secondary_error);
	}
	if (st.primary_ok && st.secondary_ok && b1.seqid != b2.seqid) {
		st.seqid_mismatch = true;
		if (b1.seqid > b2.seqid) {
			st.secondary_ok = false;
			luks2_err(st.secondary_error, sizeof(st.secondary_error), "older seqid %" PRIu64 " than the primary's %" PRIu64,
				 b2.seqid, b1.seqid);
		} else {
			st.primary_ok = false;
			luks2_err(st.primary_error, sizeof(st.primary_error), "older seqid %" PRIu64 " than the secondary's %" PRIu64,
				 b1.seqid, b2.seqid);
		}
	}
	use1 = st.primary_ok;
	h = calloc(1, sizeof(*h));
	if (!h) {
		json_object_put(j1);
		json_object_put(j2);
		return log_error(ENOMEM, "cannot allocate LUKS2 header");
	}
	{
		const struct luks2_bin *b = use1 ? &b1 : &b2;

		h->hdr_size = b->hdr_size;
		h->seqid = b->seqid;
		memcpy(h->label, b->label, sizeof(h->label));
		memcpy(h->subsystem, b->subsystem, sizeof(h->subsystem));
		memcpy(h->uuid, b->uuid, sizeof(h->uuid));
		h->jobj = use1 ? j1 : j2;
		json_object_put(use1 ? j2 : j1);
	}
	/* keep each copy's salt when it is readable; fresh ones are not
	 * needed for correctness */
	memcpy(h->salt[0], r1 == 0 ? b1.salt : b2.salt, LUKS2_SALT_LEN);
	memcpy(h->salt[1], r2 == 0 ? b2.salt : b1.salt, LUKS2_SALT_LEN);
	h->origin = st.primary_ok && st.secondary_ok ? LUKS2_ORIGIN_BOTH
		    : st.primary_ok		     ? LUKS2_ORIGIN_PRIMARY
						     : LUKS2_ORIGIN_SECONDARY;
	r = load_areas(s, h);
	if (r < 0) {
		luks2_hdr_free(h);
		return r;
	}
	if (!st.primary_ok)
		log_warn("LUKS2 primary header is damaged (%s); using the secondary copy (seqid %" PRIu64 ")",
			 st.primary_error, h->seqid);
	else if (!st.secondary_ok)
		log_warn("LUKS2 secondary header is damaged (%s); using the primary copy (seqid %" PRIu64 ")",
			 st.secondary_error, h->seqid);
	if (st_out)
		*st_out = st;
	*ret = h;
	return 0;
}

int luks2_hdr_read(struct luks2_hdr **ret, int fd, uint64_t base, struct luks2_read_status *st)
{
	struct luks2_src s = { .read = fd_read, .fd = fd, .base = base };

	return hdr_read(ret, &s, st);
}

int luks2_hdr_read_mem(struct luks2_hdr **ret, const void *buf, size_t len, struct luks2_read_status *st)
{
	struct luks2_src s = { .read = mem_read, .mem = buf, .mem_len = len };

	return hdr_read(ret, &s, st);
}

int luks2_probe(int fd, uint64_t base)
{
	struct luks2_src s = { .read = fd_read, .fd = fd, .base = base };
	uint8_t raw[LUKS2_MAGIC_LEN];

	if (s.read(&s, raw, sizeof(raw), 0) == 0 && memcmp(raw, LUKS2_MAGIC_1ST, LUKS2_MAGIC_LEN) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(metadata_sizes) / sizeof(metadata_sizes[0]); i++)
		if (s.read(&s, raw, sizeof(raw), metadata_sizes[i]) == 0 &&
		    memcmp(raw, LUKS2_MAGIC_2ND, LUKS2_MAGIC_LEN) == 0)
			return 1;
	return 0;
}

/* --- writing --------------------------------------------------------------- */

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int sync_fd(int fd, uint64_t base, const char *what)
{
	if (fdatasync(fd) < 0)
		return log_error_errno(errno, "fdatasync after writing LUKS2 %s at offset %" PRIu64 " failed", what, base);
	return 0;
}

/* The bytes of one copy: binary header with checksum + JSON area. */
static int build_copy(const struct luks2_hdr *h, bool secondary, const char *json, uint8_t **ret)
{
	struct luks2_bin b = { 0 };
	size_t json_len = strlen(json);
	uint8_t *buf, csum[32];
	int r;

	buf = calloc(1, h->hdr_size);
	if (!buf)
		return log_error(ENOMEM, "cannot allocate LUKS2 metadata buffer");
	b.hdr_size = h->hdr_size;
	b.seqid = h->seqid;
	memcpy(b.label, h->label, sizeof(b.label));
	memcpy(b.subsystem, h->subsystem, sizeof(b.subsystem));
	memcpy(b.uuid, h->uuid, sizeof(b.uuid));
	snprintf(b.checksum_alg, sizeof(b.checksum_alg), "sha256");
	memcpy(b.salt, h->salt[secondary], LUKS2_SALT_LEN);
	b.hdr_offset = secondary ? h->hdr_size : 0;
	luks2_bin_encode(&b, secondary, buf);
	memcpy(buf + LUKS2_BIN_HDR_SIZE, json, json_len);
	r = luks2_bin_checksum(buf, buf + LUKS2_BIN_HDR_SIZE, h->hdr_size - LUKS2_BIN_HDR_SIZE, csum);
	if (r < 0) {
		free(buf);
		return log_error(-r, "cannot compute LUKS2 header checksum");
	}
	memcpy(b.csum, csum, sizeof(csum));
	luks2_bin_encode(&b, secondary, buf);
	*ret = buf;
	return 0;
}

static int write_copy(const struct luks2_hdr *h, int fd, uint64_t base, bool secondary, const char *json)
{
	const char *what = secondary ? "secondary header" : "primary header";
	uint64_t off = base + (secondary ? h->hdr_size : 0);
	uint8_t *buf;
	int r;

	r = build_copy(h, secondary, json, &buf);
	if (r < 0)
		return r;
	r = pwrite_all(fd, buf, h->hdr_size, off);
	free(buf);
	if (r < 0)
		return log_error_errno(-r, "cannot write LUKS2 %s at offset %" PRIu64, what, off);
	return sync_fd(fd, off, what);
}

/* JSON text checked against the area, and the validation a read would do:
 * never commit what we would refuse to read back. */
static int commit_json(const struct luks2_hdr *h, const char **ret)
{
	char err[LUKS2_ERR_LEN];
	const char *json;
	size_t len;

	if (luks2_validate(h->jobj, h->hdr_size, err, sizeof(err)) < 0)
		return log_error(EINVAL, "refusing to write invalid LUKS2 metadata: %s", err);
	json = luks2_json_on_disk(h->jobj);
	len = json ? strlen(json) : 0;
	if (!json)
		return log_error(ENOMEM, "cannot serialize LUKS2 metadata");
	if (len >= h->hdr_size - LUKS2_BIN_HDR_SIZE)
		return log_error(ENOSPC, "LUKS2 metadata (%zu bytes) does not fit the %" PRIu64 "-byte JSON area",
				 len, h->hdr_size - LUKS2_BIN_HDR_SIZE);
	*ret = json;
	return 0;
}

bool luks2_hdr_secondary_first(const struct luks2_hdr *h)
{
	return h->origin == LUKS2_ORIGIN_PRIMARY;
}

static int write_both(struct luks2_hdr *h, int fd, uint64_t base)
{
	/* overwrite the sole valid copy last (see luks2.h) */
	bool first_secondary = luks2_hdr_secondary_first(h);
	const char *json;
	int r;

	h->seqid++;
	r = commit_json(h, &json);
	if (r == 0)
		r = write_copy(h, fd, base, first_secondary, json);
	if (r == 0)
		r = write_copy(h, fd, base, !first_secondary, json);
	if (r < 0) {
		h->seqid--;
		return r;
	}
	h->origin = LUKS2_ORIGIN_BOTH;
	return 0;
}

int luks2_hdr_write(struct luks2_hdr *h, int fd, uint64_t base)
{
	const char *json;
	int r;

	/* fail before touching the disk if the metadata cannot be written */
	r = commit_json(h, &json);
	if (r < 0)
		return r;
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++) {
		struct json_object *area = luks2_json_get(luks2_json_by_id(luks2_json_section(h, "keyslots"), i),
							  "area", json_type_object);
		uint64_t off;

		if (!h->ks_data[i] || !luks2_json_u64(luks2_json_get(area, "offset", json_type_string), &off))
			continue;
		r = pwrite_all(fd, h->ks_data[i], h->ks_len[i], base + off);
		if (r < 0)
			return log_error_errno(-r, "cannot write LUKS2 keyslot %d area at offset %" PRIu64, i, base + off);
	}
	/* cryptsetup refuses a header file shorter than the whole header
	 * (keyslots area included): extend a regular file, sparsely */
	{
		struct stat st;
		uint64_t end = base + luks2_hdr_header_size(h);

		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < end &&
		    ftruncate(fd, (off_t)end) < 0)
			return log_error_errno(errno, "cannot extend the header file to %" PRIu64 " bytes", end);
	}
	r = sync_fd(fd, base, "keyslot areas");
	if (r < 0)
		return r;
	r = write_both(h, fd, base);
	if (r < 0)
		return r;
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++)
		h->ks_dirty[i] = false;
	return 0;
}

int luks2_hdr_write_metadata(struct luks2_hdr *h, int fd, uint64_t base)
{
	for (int i = 0; i < LUKS2_KEYSLOTS_MAX; i++)
		if (h->ks_dirty[i])
			return log_error(EINVAL, "LUKS2 keyslot %d is new: write the full header, not only the metadata", i);
	return write_both(h, fd, base);
}

int luks2_hdr_repair(struct luks2_hdr *h, int fd, uint64_t base, const struct luks2_read_status *st)
{
	const char *json;
	int r;

	if (st->primary_ok && st->secondary_ok)
		return 0;
	r = commit_json(h, &json);
	if (r < 0)
		return r;
	/* only the damaged copy, same seqid: the good one stays untouched */
	if (!st->primary_ok && (r = write_copy(h, fd, base, false, json)) < 0)
		return r;
	if (!st->secondary_ok && (r = write_copy(h, fd, base, true, json)) < 0)
		return r;
	h->origin = LUKS2_ORIGIN_BOTH;
	log_info("repaired the LUKS2 %s header", !st->primary_ok && !st->secondary_ok ? "primary and secondary"
						 : !st->primary_ok			   ? "primary"
											   : "secondary");
	return 0;
}

int luks2_wipe_region(int fd, uint64_t base, uint64_t len)
{
	enum { CHUNK = 1024 * 1024 };
	uint8_t *zero = calloc(1, CHUNK);
	int r = 0;

	if (!zero)
		return log_error(ENOMEM, "cannot allocate wipe buffer");
	for (uint64_t done = 0; done < len && r == 0;) {
		size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;

		r = pwrite_all(fd, zero, n, base + done);
		done += n;
	}
	free(zero);
	if (r < 0)
		return log_error_errno(-r, "cannot wipe %" PRIu64 " bytes at offset %" PRIu64, len, base);
	return sync_fd(fd, base, "wipe");
}

#include "online_boot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkdev.h"
#include "bootpart.h"
#include "csversion.h"
#include "fileio.h"
#include "fsprobe.h"
#include "log.h"
#include "luks2.h"
#include "online_guard.h"
#include "parttable.h"
#include "secmem.h"
#include "spawn.h"
#include "test_hooks.h"
#include "unlock.h"
#include "volume_key_ref.h"

/* PBKDF2 iterations of keyslot 0, as the offline engine writes them: the
 * passphrase is 256 random bits, so the KDF's cost buys nothing. */
#define ONLINE_PBKDF2_ITERATIONS "1000"

/* Test build only (test_hooks.h): ROOTCRYPT_FAULT_KILL_AT=online-guard
 * (after step 3) or online-init (after step 4, before the token) ends
 * the process as a power cut would, to test what the next boot finds. */
static void kill_point(const char *name)
{
	const char *at = test_hook_getenv("ROOTCRYPT_FAULT_KILL_AT");

	if (at && strcmp(at, name) == 0)
		raise(SIGKILL);
}

int online_boot_fence(char *why, size_t why_len)
{
	const char *cs = unlock_cryptsetup_path(), *reason = NULL;
	const char *argv[] = { cs, "--version", NULL };
	char out[256] = "";
	struct spawn_io io = { .output = out, .output_size = sizeof(out) };
	struct csversion v;
	int status, r;

	if (!cs) {
		snprintf(why, why_len, "no cryptsetup in the initramfs");
		return -EPERM;
	}
	r = spawn_run(argv, &io, &status);
	if (r < 0 || status != 0) {
		snprintf(why, why_len, "\"%s --version\" failed", cs);
		return -EPERM;
	}
	out[strcspn(out, "\n")] = '\0';
	if (csversion_parse(out, &v) < 0) {
		snprintf(why, why_len, "cannot read a version in \"%s\"", out);
		return -EPERM;
	}
	if (csversion_online_ok(&v, &reason) < 0) {
		snprintf(why, why_len, "cryptsetup %u.%u.%u%s: %s", v.major, v.minor, v.patch,
			 v.prerelease ? " (pre-release)" : "", reason);
		return -EPERM;
	}
	log_debug("online mode: cryptsetup %u.%u.%u is inside the fence", v.major, v.minor,
		  v.patch);
	return 0;
}

int online_boot_library_fence(char *why, size_t why_len)
{
	/* test build only: the integration tests cannot write /etc */
	const char *path = test_hook_getenv("ROOTCRYPT_LIBCS_VERSION_FILE");
	char *text = NULL;
	size_t len;
	int r;

	if (!path)
		path = ONLINE_LIBCS_VERSION_FILE;
	r = fileio_read_at(AT_FDCWD, path, 256, &text, &len);
	if (r == -ENOENT || (r == 0 && text[strspn(text, " \t\n")] == '\0')) {
		log_info("online: the initramfs records no libcryptsetup version (\"%s\"): only the "
			 "cryptsetup binary's version is checked", path);
		free(text);
		return 0;
	}
	if (r < 0) {
		snprintf(why, why_len, "cannot read libcryptsetup's recorded version \"%s\"", path);
		return -EPERM;
	}
	r = csversion_library_ok(text, why, why_len);
	if (r == 0)
		log_debug("online mode: libcryptsetup \"%.*s\" is inside the fence",
			  (int)strcspn(text, "\n"), text);
	free(text);
	return r;
}

/* Step 2: the partition (or image file) reaches ob->grow_to, as the
 * offline engine's shift grows it (parttable_grow's crash-safe order). */
static int grow(const struct online_boot *ob)
{
	struct parttable_part p;
	struct blkdev *d = NULL;
	int r;

	if (!ob->grow_to)
		return 0;
	r = blkdev_open(ob->disk ? ob->disk : ob->part, BLKDEV_EXCL, &d);
	if (r < 0)
		return r;
	if (!ob->disk) {
		if (d->size < ob->grow_to && !d->is_regular)
			r = log_error(ENOSPC, "\"%s\" cannot grow to %llu bytes", d->name,
				      (unsigned long long)ob->grow_to);
		else if (d->size < ob->grow_to)
			r = blkdev_grow(d, ob->grow_to);
		blkdev_close(d);
		return r;
	}
	r = parttable_find(d, ob->partno, &p);
	if (r == 0 && p.size < ob->grow_to) {
		log_info("growing partition %u of \"%s\" by %llu bytes for online mode", ob->partno,
			 d->name, (unsigned long long)(ob->grow_to - p.size));
		r = parttable_grow(d, &p, ob->grow_to);
	}
	blkdev_close(d);
	return r < 0 ? r : bootpart_sync_kernel(ob->disk, ob->part, ob->partno);
}

/* fdatasync of a device or file someone else wrote (cryptsetup). */
static int sync_path(const char *path)
{
	struct blkdev *d = NULL;
	int r = blkdev_open(path, 0, &d);

	if (r == 0)
		r = blkdev_flush(d);
	blkdev_close(d);
	return r;
}

/* The encryption sector the file system allows (cryptsetup refuses 4096
 * over a file system of smaller blocks). */
static const char *sector_for(struct blkdev *d)
{
	struct fsprobe_fs fs;
	const char *sig = NULL;

	return fsprobe_read(d, &fs, &sig) == 1 && fs.max_sector >= 4096 ? "4096" : "512";
}

/* Step 3 (the guard), and the encryption sector size. */
static int guard(const struct online_boot *ob, const char *uuid, const char **ret_sector)
{
	struct blkdev *d = NULL;
	int r = blkdev_open(ob->part, BLKDEV_EXCL, &d);

	if (r < 0)
		return r;
	*ret_sector = sector_for(d);
	r = online_guard_install(d, uuid);
	blkdev_close(d);
	return r;
}

/* Step 4: cryptsetup writes its in-progress header: in place over the
 * head (no flush of its own: rootcrypt's fdatasync follows), or detached
 * into header_tmp (journal resilience: ONLINE.md "Layouts and room"). */
static int init_only(const struct online_boot *ob, const char *uuid, const char *sector,
		     const char *pass, size_t pass_len, const char *header_tmp)
{
	const char *cs = unlock_cryptsetup_path();
	const char *argv[40] = { cs, "reencrypt", "--encrypt", "--init-only", "--type", "luks2",
				 "--cipher", "aes-xts-plain64", "--key-size", "512", "--sector-size",
				 sector, "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
				 ONLINE_PBKDF2_ITERATIONS, "--uuid", uuid, "--key-file", "-",
				 "--batch-mode" };
	/* the CLI builds an in-place header in ./LUKS2-temp-<UUID>.new first */
	struct spawn_io io = { .input = pass, .input_len = pass_len, .cwd = ob->work_dir };
	int n = 0, status, r;

	if (!cs)
		return log_error(ENOENT, "cannot set up online mode on \"%s\": cryptsetup not found",
				 ob->part);
	while (argv[n])
		n++;
	if (header_tmp) {
		argv[n++] = "--header";
		argv[n++] = header_tmp;
		argv[n++] = "--resilience";
		argv[n++] = "journal";
	} else {
		argv[n++] = "--reduce-device-size";
		argv[n++] = "32M";
	}
	argv[n++] = ob->part;
	argv[n] = NULL;
	log_info("setting up online encryption of \"%s\" (volume %s, sector %s%s%s)", ob->part,
		 uuid, sector, header_tmp ? ", header " : "", header_tmp ? ob->header : "");
	r = spawn_run(argv, &io, &status);
	if (r < 0)
		return r;
	if (status != 0)
		return log_error(EIO, "cryptsetup reencrypt --init-only \"%s\" %s %d", ob->part,
				 status < 256 ? "failed with exit code" : "died with signal",
				 status < 256 ? status : status - 256);
	/* what cryptsetup wrote is durable before anything builds on it */
	return sync_path(header_tmp ? header_tmp : ob->part);
}

int online_boot_token(const char *hdr_path, const char *pass, size_t pass_len,
		      const char *token_json)
{
	struct luks2_hdr *h = NULL;
	void *vk = NULL;
	size_t vk_len = 0;
	char why[160];
	int fd, slot = -1, r;

	fd = open(hdr_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", hdr_path);
	r = luks2_hdr_read(&h, fd, 0, NULL);
	if (r < 0) {
		r = log_error_errno(r, "cannot read the LUKS2 header of \"%s\"", hdr_path);
		goto out;
	}
	if (!luks2_online_in_progress(h) || luks2_online_check(h, why, sizeof(why)) < 0) {
		r = log_error(EPERM, "\"%s\" is not an online conversion rootcrypt set up%s%s",
			      hdr_path, luks2_online_in_progress(h) ? ": " : "",
			      luks2_online_in_progress(h) ? why : "");
		goto out;
	}
	/* the passphrase must open it before the header is touched */
	r = luks2_unlock(h, -1, pass, pass_len, &vk, &vk_len, &slot);
	secmem_free(vk);
	if (r < 0)
		goto out;
	if (luks2_token_find(h, VOLUME_TOKEN_TYPE) >= 0)
		goto out;
	r = luks2_token_put(h, token_json, 1u << slot, NULL);
	if (r == 0)
		r = luks2_hdr_write_metadata(h, fd, 0);
	if (r < 0)
		r = log_error_errno(r, "cannot add the " VOLUME_TOKEN_TYPE " token to \"%s\"",
				    hdr_path);
	else
		log_info("\"%s\": " VOLUME_TOKEN_TYPE " token added to the online conversion's header",
			 hdr_path);
out:
	luks2_hdr_free(h);
	close(fd);
	return r;
}

/* Detached: the header is made complete (token included) under a
 * temporary name and renamed into place; until the rename the volume is
 * plain (cryptsetup's init does not touch the data in this layout). */
static int start_detached(const struct online_boot *ob, const char *uuid, const char *pass,
			  size_t pass_len, const char *token_json)
{
	char tmp[PATH_MAX];
	struct blkdev *d = NULL;
	const char *sector;
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.rootcrypt-new", ob->header) >= sizeof(tmp))
		return log_error(ENAMETOOLONG, "header path \"%s\" is too long", ob->header);
	/* left by a cut before the rename: never used, nothing depends on it */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove \"%s\"", tmp);
	r = blkdev_open(ob->part, BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	sector = sector_for(d);
	blkdev_close(d);
	r = init_only(ob, uuid, sector, pass, pass_len, tmp);
	if (r < 0)
		return r;
	kill_point("online-init");
	r = online_boot_token(tmp, pass, pass_len, token_json);
	if (r == 0 && rename(tmp, ob->header) < 0)
		r = log_error_errno(errno, "cannot rename \"%s\" to \"%s\"", tmp, ob->header);
	return r < 0 ? r : fileio_sync_parent_dir(ob->header);
}

int online_boot_start(const struct online_boot *ob, const char *uuid, const char *pass,
		      size_t pass_len, const char *token_json)
{
	const char *sector = "512";
	int r;

	if (ob->header)
		return start_detached(ob, uuid, pass, pass_len, token_json);
	r = grow(ob);
	if (r == 0)
		r = guard(ob, uuid, &sector);
	if (r < 0)
		return r;
	kill_point("online-guard");
	r = init_only(ob, uuid, sector, pass, pass_len, NULL);
	if (r < 0)
		return r;
	kill_point("online-init");
	return online_boot_token(ob->part, pass, pass_len, token_json);
}

int online_boot_settle(const char *part)
{
	struct online_guard_facts f = { 0 };
	struct online_guard g;
	struct blkdev *d = NULL;
	/* read-only first: most volumes have no guard, and may be in use */
	int r = blkdev_open(part, BLKDEV_RDONLY, &d);

	if (r < 0)
		return r;
	r = online_guard_read(d, &g);
	blkdev_close(d);
	d = NULL;
	if (r <= 0)
		return r;
	r = blkdev_open(part, BLKDEV_EXCL, &d);
	if (r < 0)
		return r;
	/* the same record under the claim (nothing may have changed it) */
	r = online_guard_read(d, &g);
	if (r <= 0)
		goto out;
	/* no header cryptsetup can open is at 0 (the caller's state) */
	f.guard_valid = true;
	f.guard_uuid = g.uuid;
	r = online_guard_range_matches(d, 0, &g);
	if (r < 0)
		goto out;
	f.head_matches = r == 1;
	if (!f.head_matches) {
		r = online_guard_range_matches(d, online_guard_copy_offset(d->size), &g);
		if (r < 0)
			goto out;
		f.copy_matches = r == 1;
	}
	switch (online_guard_decide(&f)) {
	case ONLINE_PLAIN_WIPE_GUARD:
		log_info("\"%s\": online set-up of volume %s was cut before cryptsetup wrote its "
			 "header; the data is untouched, starting over", part, g.uuid);
		r = online_guard_wipe(d);
		break;
	case ONLINE_RESTORE_HEAD:
		log_warn("\"%s\": online set-up of volume %s was cut while cryptsetup wrote its "
			 "header; writing the first 16 MiB back from their verified copy", part,
			 g.uuid);
		r = online_guard_restore_head(d, &g);
		break;
	default:
		r = log_error(EIO, "\"%s\": online mode's guard for volume %s is valid, but neither "
			      "the first 16 MiB nor their copy match it: not touching the disk",
			      part, g.uuid);
		goto out;
	}
	if (r == 0)
		r = 1;
out:
	blkdev_close(d);
	return r;
}

int online_boot_untokened_key(const struct kv_config *kv, const char *hdr_path, const char *part,
			      const char *uuid, char **ret_secmem, size_t *ret_len)
{
	struct kv_ref ref = { 0 };
	char *tok = NULL;
	int r;

	log_info("\"%s\": the online conversion's header has no key reference yet; taking "
		 "the latest version of the configured secret", hdr_path);
	r = keystore_fetch_latest(kv, uuid, ret_secmem, ret_len, &ref);
	if (r < 0)
		return r;
	r = volume_token_from_ref(&ref, &tok);
	if (r == 0)
		r = online_boot_token(hdr_path, *ret_secmem, *ret_len, tok);
	/* a header that does not open over a valid guard: cryptsetup's write
	 * was cut (torn keyslot area); the guard's copy makes it plain again */
	if (r == -EPERM && online_boot_settle(part) == 1)
		r = -ESTALE;
	if (r < 0) {
		secmem_free(*ret_secmem);
		*ret_secmem = NULL;
	}
	free(tok);
	kv_ref_free(&ref);
	return r;
}

#include "unlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "luks2.h"
#include "secmem.h"
#include "spawn.h"
#include "test_hooks.h"

const char *unlock_cryptsetup_path(void)
{
	static const char *const candidates[] = { "/sbin/cryptsetup", "/usr/sbin/cryptsetup",
						  "/bin/cryptsetup", "/usr/bin/cryptsetup" };
	/* Test build only: a stand-in that checks the passphrase where the
	 * host cannot create device-mapper devices. */
	const char *env = test_hook_getenv("ROOTCRYPT_CRYPTSETUP");

	if (env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

/* What cryptsetup is about to open must be the kind of volume rootcrypt
 * writes (or, in online mode, has cryptsetup write: luks2_online_check),
 * read with rootcrypt's own LUKS2 reader first: data segment
 * aes-xts-plain64 with a 512-bit key, and a keyslot that this passphrase
 * opens through PBKDF2 (bounded cost) and an aes-xts-plain64 keyslot area,
 * whose key matches the digest. A header from the disk that would open
 * with any passphrase (cipher_null) never reaches cryptsetup, and
 * cryptsetup is held to the keyslot checked here (*ret_slot). */
int unlock_check_header(const char *path, const void *pass, size_t pass_len, int *ret_slot)
{
	struct luks2_read_status st;
	struct luks2_hdr *h = NULL;
	void *vk = NULL;
	size_t vk_len = 0;
	char why[160];
	int fd, r, slot = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	r = luks2_hdr_read(&h, fd, 0, &st);
	close(fd);
	if (r < 0)
		return log_error_errno(r, "cannot read the LUKS2 header of \"%s\"", path);
	/* cryptsetup's online reencryption in progress (online mode): only
	 * the exact shape rootcrypt has cryptsetup write; the cipher and key
	 * checks below then read the final segment */
	if (luks2_online_in_progress(h) && luks2_online_check(h, why, sizeof(why)) < 0) {
		r = log_error(EPERM, "\"%s\": an online reencryption header rootcrypt does not "
			      "write (%s): not unlocking it", path, why);
		goto out;
	}
	if (strcmp(luks2_hdr_cipher(h), "aes-xts-plain64") != 0 || luks2_hdr_key_size(h) != 64) {
		r = log_error(EPERM, "\"%s\": data encrypted with \"%s\" (%zu-byte key), not "
			      "aes-xts-plain64 with a 512-bit key as rootcrypt writes: not unlocking it",
			      path, luks2_hdr_cipher(h), luks2_hdr_key_size(h));
		goto out;
	}
	r = luks2_unlock(h, -1, pass, pass_len, &vk, &vk_len, &slot);
	if (r < 0)
		goto out; /* luks2_unlock said why in one line */
	*ret_slot = slot;
out:
	secmem_free(vk);
	luks2_hdr_free(h);
	return r;
}

int unlock_open(const char *target, const char *header, const char *name, const void *pass,
		size_t pass_len)
{
	char slot_arg[32];
	int slot;
	const char *cs = unlock_cryptsetup_path(), *mapper_dir;
	char mapper[256];
	struct spawn_io io = { .input = pass, .input_len = pass_len };
	const char *argv[12];
	int n = 0, status, r;
	struct stat st;

	if (!cs)
		return log_error(ENOENT, "cannot unlock \"%s\": cryptsetup not found", target);
	if (!name[0] || strchr(name, '/') || strlen(name) > 127)
		return log_error(EINVAL, "invalid mapping name \"%s\"", name);
	/* ROOTCRYPT_MAPPER_DIR (test build only): tests without device-mapper
	 * point it (with ROOTCRYPT_CRYPTSETUP) at a directory of their own. */
	mapper_dir = test_hook_getenv("ROOTCRYPT_MAPPER_DIR");
	snprintf(mapper, sizeof(mapper), "%s/%s", mapper_dir ? mapper_dir : "/dev/mapper", name);
	if (stat(mapper, &st) == 0)
		return log_error(EEXIST, "cannot unlock \"%s\": \"%s\" already exists", target, mapper);
	r = unlock_check_header(header ? header : target, pass, pass_len, &slot);
	if (r < 0)
		return r;
	snprintf(slot_arg, sizeof(slot_arg), "--key-slot=%d", slot);
	argv[n++] = cs;
	argv[n++] = "open";
	argv[n++] = "--type";
	argv[n++] = "luks2";
	argv[n++] = "--key-file=-";
	argv[n++] = slot_arg;
	if (header) {
		argv[n++] = "--header";
		argv[n++] = header;
	}
	argv[n++] = target;
	argv[n++] = name;
	argv[n] = NULL;
	r = spawn_run(argv, &io, &status);
	if (r < 0)
		return r;
	if (status >= 256)
		return log_error(EIO, "cryptsetup open \"%s\" died with signal %d", target,
				 status - 256);
	switch (status) {
	case 0:
		break;
	case 2: /* cryptsetup: no permission (bad passphrase) */
		return log_error(EPERM, "cryptsetup open \"%s\": wrong passphrase for the keyslot",
				 target);
	case 5: /* device already exists or busy */
		return log_error(EEXIST, "cryptsetup open \"%s\": \"%s\" busy or already exists",
				 target, mapper);
	case 127:
		return log_error(ENOENT, "cannot execute \"%s\"", cs);
	default:
		return log_error(EIO, "cryptsetup open \"%s\" failed with exit code %d", target,
				 status);
	}
	/* Without udev the node may lag; the caller's root wait covers it, but
	 * report a missing node so a silent failure cannot follow. */
	for (int i = 0; i < 50 && stat(mapper, &st) < 0; i++)
		usleep(100000);
	if (stat(mapper, &st) < 0)
		return log_error(ENOENT, "cryptsetup opened \"%s\" but \"%s\" did not appear", target,
				 mapper);
	return 0;
}

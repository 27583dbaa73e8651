/* Staging of the BIOS core for the /boot split (enroll_bios.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "enroll_bios.h"
#include "log.h"
#include "spawn.h"
#include "parse.h"

int enroll_bios_load_cfg(const char *b_uuid, unsigned k, char *out, size_t out_len)
{
	int n;

	if (parse_uuid_text(b_uuid) < 0 || k == 0 || k > 128)
		return -EINVAL;
	n = snprintf(out, out_len, "search.fs_uuid %s root hd0,gpt%u\nset prefix=($root)'/grub'\n",
		     b_uuid, k);
	return n < 0 || (size_t)n >= out_len ? -ENOSPC : 0;
}

static int write_synced(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r = 0;

	if (fd < 0)
		return log_error_errno(errno, "cannot create \"%s\"", path);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = log_error_errno(errno ? errno : EIO, "cannot write \"%s\"", path);
	close(fd);
	return r;
}

/* sha256 of a file, as hex; fsyncs it on the way. */
static int sha256_file(const char *path, char hex[65])
{
	struct crypto_hash *h = NULL;
	unsigned char buf[65536], d[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", path);
	r = crypto_hash_new_public(&h, "sha256");
	while (r == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			r = log_error_errno(errno, "cannot read \"%s\"", path);
			break;
		}
		r = crypto_hash_update(h, buf, (size_t)n);
	}
	if (r == 0)
		r = crypto_hash_final(h, d, sizeof(d));
	if (r == 0 && fsync(fd) < 0)
		r = log_error_errno(errno, "cannot fsync \"%s\"", path);
	close(fd);
	crypto_hash_free(h);
	for (int i = 0; r == 0 && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return r;
}

int enroll_bios_stage(const char *grub_dir, const char *b_uuid, unsigned k, const char *dir,
		      char *ret_path, size_t path_len, char ret_sha256[65])
{
	char cfg[160], cfg_path[4096], tmp[4096], out[4096];
	int r;

	r = enroll_bios_load_cfg(b_uuid, k, cfg, sizeof(cfg));
	if (r < 0)
		return log_error(EINVAL, "BIOS core: B \"%s\" is not a UUID or partition %u is out "
					 "of range", b_uuid, k);
	if ((size_t)snprintf(cfg_path, sizeof(cfg_path), "%s/load.cfg", dir) >= sizeof(cfg_path) ||
	    (size_t)snprintf(out, sizeof(out), "%s/core.img", dir) >= sizeof(out) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/core.img.new", dir) >= sizeof(tmp) ||
	    strlen(out) >= path_len)
		return log_error(ENAMETOOLONG, "BIOS core: staging directory \"%s\" too long", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create \"%s\"", dir);
	r = write_synced(cfg_path, cfg);
	if (r < 0)
		return r;
	{
		const char *argv[] = { "grub-mkimage", "-O", "i386-pc", "-d", grub_dir, "-c",
				       cfg_path, "-p", "/grub", "-o", tmp, ENROLL_BIOS_MODULES,
				       NULL };

		r = run_program(argv);
	}
	if (r == 0)
		r = sha256_file(tmp, ret_sha256);
	if (r == 0 && rename(tmp, out) < 0)
		r = log_error_errno(errno, "cannot rename \"%s\"", tmp);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 || fsync(dfd) < 0)
			r = log_error_errno(errno, "cannot fsync \"%s\"", dir);
		if (dfd >= 0)
			close(dfd);
		if (r < 0)
			return r;
	}
	snprintf(ret_path, path_len, "%s", out);
	return 0;
}

/* enroll_split_loaders.h: the ESP files naming R, and the BIOS core staged
 * and checked against the disk. */
#include "enroll_split_loaders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bios_core.h"
#include "enroll_bios.h"
#include "esp_stub.h"
#include "fatfile.h"
#include "fileio.h"
#include "le.h"
#include "log.h"

/* Where Debian's and Ubuntu's grub-install put GRUB on the ESP (8.3 names). */
static const char *const esp_candidates[] = {
	"EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/grub.cfg",	  "EFI/debian/grub.cfg",
	"EFI/debian/grubx64.efi", "EFI/ubuntu/grub.cfg", "EFI/ubuntu/grubx64.efi",
};

static int window_of(struct blkdev *disk, const struct parttable_gpt_info *g,
		     const struct parttable_gpt_entry *e, const char *name, struct blkdev **ret)
{
	uint64_t ss = g->sector_size;

	return blkdev_window(disk, e->first_lba * ss, (e->last_lba - e->first_lba + 1) * ss, name,
			     ret);
}

/* Whether R appears in the file at all (as esp_stub.c reads it: case
 * ignored). A file without it (shim, a signed GRUB sourcing the stub) needs
 * no repoint and is not judged further. */
static bool mentions(const uint8_t *in, size_t len, const char *r)
{
	for (size_t i = 0; i + ESP_UUID_LEN <= len; i++)
		if (strncasecmp((const char *)in + i, r, ESP_UUID_LEN) == 0)
			return true;
	return false;
}

/* 1 when the ESP file names R (and step 5 can patch it), 0 when not. */
static int esp_file_names_r(struct blkdev *esp, const char *path, const char *r, const char *b,
			    unsigned k)
{
	uint8_t *in = NULL, *out = NULL;
	struct fatfile f;
	const char *why = NULL;
	size_t lo, hi;
	int ret;

	ret = fatfile_find(esp, path, &f);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (f.size == 0)
		return 0;
	if (f.size > ESP_MAX_FILE)
		return log_error(EFBIG, "ESP file %s is larger than %u MiB; rootcrypt does not read "
				 "it", path, ESP_MAX_FILE >> 20);
	if (!f.contiguous)
		return log_error(EINVAL, "ESP file %s is fragmented (its clusters do not follow one "
				 "another): the first boot could not patch it in place", path);
	in = malloc(f.size);
	out = malloc(f.size);
	if (!in || !out) {
		ret = log_error(ENOMEM, "out of memory for ESP file %s", path);
		goto out;
	}
	ret = blkdev_read(esp, in, f.size, f.data_off);
	if (ret < 0)
		goto out;
	if (!mentions(in, f.size, r)) {
		ret = 0;
		goto out;
	}
	ret = esp_file_patch(in, f.size, r, b, k, BIOS_SECTOR, out, &lo, &hi, &why);
	if (ret == -EINVAL)
		ret = log_error(EINVAL, "ESP file %s cannot be repointed from the root to /boot: %s",
				path, why ? why : "refused");
	else if (ret < 0)
		ret = log_error(-ret, "ESP file %s: cannot check it", path);
out:
	free(in);
	free(out);
	return ret;
}

int enroll_split_esp(struct blkdev *disk, const struct parttable_gpt_info *g, const char *r,
		     const char *b, unsigned k, char *list, size_t n, bool *ret_present)
{
	const struct parttable_gpt_entry *e = parttable_gpt_by_type(g, PARTTABLE_TYPE_ESP);
	struct blkdev *esp = NULL;
	size_t used = 0;
	int ret;

	list[0] = '\0';
	*ret_present = e != NULL;
	if (!e)
		return 0;
	ret = window_of(disk, g, e, "the ESP", &esp);
	if (ret < 0)
		return ret;
	for (size_t i = 0; ret >= 0 && i < sizeof(esp_candidates) / sizeof(esp_candidates[0]);
	     i++) {
		ret = esp_file_names_r(esp, esp_candidates[i], r, b, k);
		if (ret == 1) {
			int w = snprintf(list + used, n - used, "%s%s", used ? " " : "",
					 esp_candidates[i]);

			if (w < 0 || (size_t)w >= n - used)
				ret = log_error(ENOSPC, "too many ESP files name the root");
			else
				used += (size_t)w;
		}
	}
	blkdev_close(esp);
	if (ret < 0)
		return ret;
	if (!used)
		return log_error(EOPNOTSUPP, "the ESP's GRUB does not find /boot by the root's UUID "
				 "%s (none of EFI/BOOT, EFI/debian, EFI/ubuntu names it): not "
				 "supported", r);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int enroll_split_bios_present(struct blkdev *disk, const struct parttable_gpt_info *g,
			      bool *ret)
{
	uint8_t *s0;
	int r;

	*ret = false;
	if (!parttable_gpt_by_type(g, PARTTABLE_TYPE_BIOS_BOOT))
		return 0;
	s0 = blkdev_alloc(BIOS_SECTOR);
	if (!s0)
		return log_error(ENOMEM, "out of memory");
	r = blkdev_read(disk, s0, BIOS_SECTOR, 0);
	/* a protective MBR without a loader has no code before the BPB's end
	 * or between it and the disk signature */
	if (r == 0)
		*ret = !all_zero(s0, BIOS_BPB_START) ||
		       !all_zero(s0 + BIOS_BPB_END, BIOS_NT_MAGIC - BIOS_BPB_END);
	free(s0);
	return r;
}

static bool wanted_module_file(const char *name)
{
	size_t l = strlen(name);

	/* what grub-install copies into /boot/grub/i386-pc (util/
	 * grub-install-common.c: every .mod, the .lst files, efiemu and
	 * modinfo.sh) */
	return (l > 4 && (strcmp(name + l - 4, ".mod") == 0 || strcmp(name + l - 4, ".lst") == 0)) ||
	       strcmp(name, "efiemu32.o") == 0 || strcmp(name, "efiemu64.o") == 0 ||
	       strcmp(name, "modinfo.sh") == 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t got;
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, r = 0;

	if (in < 0)
		return log_error_errno(errno, "cannot open \"%s\"", from);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		r = log_error_errno(errno, "cannot create \"%s\"", to);
		goto out;
	}
	while (r == 0 && (got = read(in, buf, sizeof(buf))) != 0) {
		if (got < 0)
			r = log_error_errno(errno, "cannot read \"%s\"", from);
		else if (fileio_write_all(out, buf, (size_t)got) < 0)
			r = log_error_errno(errno ? errno : EIO, "cannot write \"%s\"", to);
	}
	if (r == 0 && fsync(out) < 0)
		r = log_error_errno(errno, "cannot fsync \"%s\"", to);
out:
	if (out >= 0)
		close(out);
	close(in);
	return r;
}

static int copy_modules(const char *grub_dir, const char *dir)
{
	char sub[4096], from[4096 + 256], to[4096 + 256];
	unsigned mods = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(sub, sizeof(sub), "%s/i386-pc", dir);
	if (mkdir(sub, 0755) < 0)
		return log_error_errno(errno, "cannot create \"%s\"", sub);
	d = opendir(grub_dir);
	if (!d)
		return log_error_errno(errno, "cannot list \"%s\"", grub_dir);
	while (r == 0 && (de = readdir(d))) {
		struct stat st;

		if (!wanted_module_file(de->d_name))
			continue;
		snprintf(from, sizeof(from), "%s/%s", grub_dir, de->d_name);
		if (lstat(from, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(to, sizeof(to), "%s/%s", sub, de->d_name);
		r = copy_file(from, to);
		mods += strstr(de->d_name, ".mod") != NULL;
	}
	closedir(d);
	if (r == 0 && mods == 0)
		r = log_error(ENOENT, "\"%s\" holds no GRUB modules", grub_dir);
	return r;
}

static int slurp(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	char *buf;
	int r = fileio_read_at(AT_FDCWD, path, max, &buf, ret_len);

	if (r == -ENOENT)
		return log_error(ENOENT, "\"%s\" is missing", path);
	*ret = (uint8_t *)buf;
	return r;
}

int enroll_split_bios_stage(struct blkdev *disk, const struct parttable_gpt_info *g,
			    const char *grub_dir, const char *b, unsigned k, const char *dir,
			    char sha256[65])
{
	const struct parttable_gpt_entry *e = parttable_gpt_by_type(g, PARTTABLE_TYPE_BIOS_BOOT);
	uint64_t per = g->sector_size / BIOS_SECTOR, ks;
	uint8_t *boot = NULL, *core = NULL, *s0 = NULL, *old = NULL;
	size_t boot_len = 0, core_len = 0;
	char path[4096], core_path[4096], src[4096];
	const char *why = NULL;
	int r;

	snprintf(src, sizeof(src), "%s/boot.img", grub_dir);
	snprintf(path, sizeof(path), "%s/moddep.lst", grub_dir);
	if (access(src, R_OK) < 0 || access(path, R_OK) < 0)
		return log_error(ENOENT, "a BIOS GRUB is installed on this disk but \"%s\" has no "
				 "GRUB i386-pc modules (boot.img, moddep.lst): install grub-pc-bin, "
				 "the new core for /boot is built from them", grub_dir);
	r = enroll_bios_stage(grub_dir, b, k, dir, core_path, sizeof(core_path), sha256);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/boot.img", dir);
		r = copy_file(src, path);
	}
	if (r == 0)
		r = copy_modules(grub_dir, dir);
	if (r == 0)
		r = slurp(path, BIOS_SECTOR, &boot, &boot_len);
	if (r == 0)
		r = slurp(core_path, BIOS_CORE_MAX, &core, &core_len);
	if (r == 0 && boot_len != BIOS_SECTOR)
		r = log_error(EINVAL, "\"%s/boot.img\" is not one sector", grub_dir);
	if (r == 0 && (!(s0 = blkdev_alloc(BIOS_SECTOR)) || !(old = blkdev_alloc(BIOS_SECTOR))))
		r = log_error(ENOMEM, "out of memory");
	if (r == 0)
		r = blkdev_read(disk, s0, BIOS_SECTOR, 0);
	if (r == 0) {
		ks = le64_get(s0 + BIOS_KERNEL_SECTOR);
		if (ks < disk->size / BIOS_SECTOR)
			r = blkdev_read(disk, old, BIOS_SECTOR, ks * BIOS_SECTOR);
		else {
			free(old);
			old = NULL;
		}
	}
	if (r == 0 && bios_core_check(boot, s0, old, e->first_lba * per,
				      (e->last_lba - e->first_lba + 1) * per, core_len, &why) < 0)
		r = log_error(EINVAL, "the BIOS boot loader cannot be switched to /boot's new "
			      "partition: %s", why ? why : "refused");
	free(boot);
	free(core);
	free(s0);
	free(old);
	return r;
}

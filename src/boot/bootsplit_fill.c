/* Step 3 of the /boot split (BOOT.md "Fill B") and the marker that says it
 * is complete. The marker is written last, after every byte of B was read
 * back: a cut anywhere before leaves no valid marker, nothing names B yet,
 * and the step is redone from mkfs (bootsplit_decide: "fill"). */
#include "bootsplit_fill.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkdev.h"
#include "bootmount.h"
#include "bootsplit_copy.h"
#include "bootsplit_text.h"
#include "crypto.h"
#include "fileio.h"
#include "fsprobe.h"
#include "log.h"
#include "parse.h"
#include "spawn.h"
#include "test_hooks.h"

#define MIB (1u << 20)
#define MARKER_MAX 4096
#define MANIFEST_MAX (64u << 20)

static void lower(const char *in, char out[37])
{
	for (int i = 0; i < 37; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* R's UUID and type from its superblock (read only). */
static int root_uuid(const char *r_dev, char out[37])
{
	struct fsprobe_fs fs;
	struct blkdev *d;
	const char *sig;
	int r = blkdev_open(r_dev, BLKDEV_RDONLY, &d);

	if (r < 0)
		return r;
	r = fsprobe_read(d, &fs, &sig);
	blkdev_close(d);
	if (r < 0)
		return r;
	if (r == 0)
		return log_error(EINVAL, "\"%s\" holds no ext4 or XFS file system", r_dev);
	memcpy(out, fs.uuid, 37);
	return 0;
}

/* Old bytes of R lived where pB is now: zero its first and last MiB so no
 * stale superblock or signature outlives mke2fs (which keeps some). */
static int zero_ends(const char *pb_dev)
{
	struct blkdev *d;
	void *z;
	int r = blkdev_open(pb_dev, BLKDEV_EXCL, &d);

	if (r < 0)
		return r;
	if (d->size < 2 * MIB) {
		blkdev_close(d);
		return log_error(EINVAL, "\"%s\" is too small for /boot", pb_dev);
	}
	z = blkdev_alloc(MIB);
	if (!z) {
		blkdev_close(d);
		return log_error(ENOMEM, "cannot allocate a zero buffer");
	}
	r = blkdev_write(d, z, MIB, 0);
	if (r == 0)
		r = blkdev_write(d, z, MIB, (d->size - MIB) / BLKDEV_ALIGN * BLKDEV_ALIGN);
	if (r == 0)
		r = blkdev_flush(d);
	free(z);
	blkdev_close(d);
	return r;
}

static int make_fs(const char *pb_dev, const char *b)
{
	/* The features GRUB 2.06 reads (BOOT.md step 3), every table written
	 * now (nothing initialised lazily behind our back after the marker). */
	const char *argv[] = { "mke2fs", "-q", "-t", "ext4", "-U", b, "-L", "boot",
			       "-O", "^metadata_csum_seed,^orphan_file",
			       "-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard",
			       "-F", pb_dev, NULL };

	return run_program(argv);
}

static int marker_text(const char *b, const char *r, const uint8_t digest[32], char *out,
		       size_t cap)
{
	char dh[65], ch[65];
	uint8_t check[32];
	int n;

	hex(digest, 32, dh);
	n = snprintf(out, cap, "rootcrypt-split 1\nboot-uuid %s\nroot-uuid %s\nmanifest-sha256 %s\n",
		     b, r, dh);
	if (n < 0 || (size_t)n >= cap)
		return -EINVAL;
	crypto_sha256(out, (size_t)n, check);
	hex(check, 32, ch);
	n += snprintf(out + n, cap - (size_t)n, "check %s\n", ch);
	return n;
}

int bootsplit_marker_read(int b_root, const char *b_uuid, const char *r_uuid,
			  uint8_t ret_digest[32])
{
	char b[37], r[37], want[512];
	uint8_t digest[32], msha[32];
	char *text = NULL, *man = NULL;
	size_t len, mlen;
	const char *p;
	int n, ret;

	if (!bootsplit_uuid_valid(b_uuid) || !bootsplit_uuid_valid(r_uuid))
		return -EINVAL;
	lower(b_uuid, b);
	lower(r_uuid, r);
	ret = fileio_read_at(b_root, BOOTSPLIT_MARKER, MARKER_MAX, &text, &len);
	if (ret < 0)
		return ret == -ENOENT ? -ENOENT : -EBADMSG;
	/* the digest is the only free field: take it, then the whole text must
	 * be exactly what we would write for b, r and it */
	p = strstr(text, "\nmanifest-sha256 ");
	ret = -EBADMSG;
	if (!p || strlen(p) < 17 + 64) {
		log_debug("marker: no manifest digest");
		goto out;
	}
	p += 17;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(p + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)p[2 * i + 1])) {
			log_debug("marker: bad manifest digest");
			goto out;
		}
		digest[i] = (uint8_t)v;
	}
	n = marker_text(b, r, digest, want, sizeof(want));
	if (n < 0 || (size_t)n != len || memcmp(want, text, len) != 0) {
		log_debug("marker: not the marker for /boot %s and root %s (or damaged)", b, r);
		goto out;
	}
	if (fileio_read_at(b_root, BOOTSPLIT_MANIFEST, MANIFEST_MAX, &man, &mlen) < 0) {
		log_debug("marker: no manifest");
		goto out;
	}
	crypto_sha256(man, mlen, msha);
	if (memcmp(msha, digest, 32) != 0) {
		log_debug("marker: the manifest does not have the marker's digest");
		goto out;
	}
	memcpy(ret_digest, digest, 32);
	ret = 0;
out:
	free(text);
	free(man);
	return ret;
}

/* B's root holds `boot -> .` so that paths /boot/... (the ESP stub's
 * prefix, grub.cfg's kernel paths) resolve on B. */
static int boot_link(int b_root)
{
	char t[8];
	ssize_t n = readlinkat(b_root, "boot", t, sizeof(t));

	if (n == 1 && t[0] == '.')
		return 0;
	if (n >= 0 || errno != ENOENT)
		return log_error(EEXIST, "the root's /boot holds an entry \"boot\" that is not a "
				 "link to \".\": refusing to split /boot");
	if (symlinkat(".", b_root, "boot") < 0)
		return log_error_errno(errno, "cannot make the link boot -> . on the new /boot");
	return 0;
}

/* The staged i386-pc modules (enroll put them on R) go to B:/grub/i386-pc,
 * replacing R's copies: core and modules must be one GRUB version. */
static int stage_modules(int r_root, int b_root, const char *rel)
{
	struct stat gst, dst_st;
	int src, grub, dst, r;

	src = openat(r_root, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 && errno == ENOENT) {
		log_debug("no staged i386-pc modules at \"%s\" on the root", rel);
		return 0;
	}
	if (src < 0)
		return log_error_errno(errno, "cannot open staged modules \"%s\" on the root", rel);
	if ((mkdirat(b_root, "grub", 0755) < 0 && errno != EEXIST) ||
	    (grub = openat(b_root, "grub", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = log_error_errno(errno, "cannot make grub/ on the new /boot");
		close(src);
		return r;
	}
	if ((mkdirat(grub, "i386-pc", 0755) < 0 && errno != EEXIST) ||
	    (dst = openat(grub, "i386-pc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = log_error_errno(errno, "cannot make grub/i386-pc on the new /boot");
		close(grub);
		close(src);
		return r;
	}
	/* the copy keeps grub/'s and grub/i386-pc/'s times as R had them */
	if (fstat(grub, &gst) < 0 || fstat(dst, &dst_st) < 0)
		r = log_error_errno(errno, "cannot stat grub/ on the new /boot");
	else
		r = bootsplit_copy_flat(src, dst);
	if (r == 0) {
		struct timespec gt[2] = { gst.st_atim, gst.st_mtim };
		struct timespec dt[2] = { dst_st.st_atim, dst_st.st_mtim };

		if (futimens(dst, dt) < 0 || futimens(grub, gt) < 0)
			r = log_error_errno(errno, "cannot set the times of grub/ on the new /boot");
	}
	close(dst);
	close(grub);
	close(src);
	return r;
}

static void join(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int same_device(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	return S_ISBLK(sa.st_mode) ? sa.st_rdev == sb.st_rdev : sa.st_ino == sb.st_ino &&
								 sa.st_dev == sb.st_dev;
}

static long kill_after_files(void)
{
	/* test build only (test_hooks.h): a cut in the middle of the copy */
	const char *s = test_hook_getenv("ROOTCRYPT_FAULT_KILL_AFTER_FILES");
	uint64_t v;

	return s && parse_u64(s, &v) == 0 && v < LONG_MAX ? (long)v : -1;
}

static int fill_mounted(const struct bootsplit_fill_args *a, const char *rdir, const char *bdir,
			const char *b, const char *r)
{
	struct bootsplit_copy_opts o = { .r_uuid = r, .b_uuid = b,
					 .kill_after_files = kill_after_files() };
	char mtext[600], *man = NULL;
	uint8_t digest[32];
	size_t mlen;
	int rroot = -1, broot = -1, src = -1, ret, n;

	rroot = open(rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	broot = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rroot < 0 || broot < 0) {
		ret = log_error_errno(errno, "cannot open the mounted file systems");
		goto out;
	}
	src = openat(rroot, "boot", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0) {
		ret = log_error_errno(errno, "the root file system on \"%s\" has no /boot directory",
				      a->r_dev);
		goto out;
	}
	ret = bootsplit_copy(src, broot, &o, &man, &mlen);
	if (ret == 0)
		ret = boot_link(broot);
	if (ret == 0 && a->i386pc_dir)
		ret = stage_modules(rroot, broot, a->i386pc_dir);
	if (ret == 0 && syncfs(broot) < 0)
		ret = log_error_errno(errno, "cannot sync the new /boot");
	if (ret < 0)
		goto out;
	crypto_sha256(man, mlen, digest);
	ret = fileio_replace_at(broot, BOOTSPLIT_MANIFEST, BOOTSPLIT_MANIFEST ".tmp", man, mlen,
				NULL);
	if (ret < 0)
		goto out;
	n = marker_text(b, r, digest, mtext, sizeof(mtext));
	ret = n < 0 ? log_error(EINVAL, "cannot build the marker")
		    : fileio_replace_at(broot, BOOTSPLIT_MARKER, BOOTSPLIT_MARKER ".tmp", mtext,
					(size_t)n, NULL);
out:
	free(man);
	if (src >= 0)
		close(src);
	if (rroot >= 0)
		close(rroot);
	if (broot >= 0)
		close(broot);
	return ret;
}

int bootsplit_fill(const struct bootsplit_fill_args *a)
{
	char b[37], r[37], rdir[PATH_MAX], bdir[PATH_MAX];
	int ret;

	if (!bootsplit_uuid_valid(a->b_uuid))
		return log_error(EINVAL, "invalid /boot UUID \"%s\"", a->b_uuid);
	lower(a->b_uuid, b);
	if (same_device(a->pb_dev, a->r_dev))
		return log_error(EINVAL, "\"%s\" is the root file system's device: refusing to make "
				 "/boot on it", a->pb_dev);
	ret = root_uuid(a->r_dev, r);
	if (ret < 0)
		return ret;
	if (strcmp(r, b) == 0)
		return log_error(EINVAL, "the new /boot UUID %s is the root's UUID", b);
	ret = zero_ends(a->pb_dev);
	if (ret == 0)
		ret = make_fs(a->pb_dev, b);
	if (ret < 0)
		return ret;
	if (mkdir(a->work_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create \"%s\"", a->work_dir);
	join(rdir, sizeof(rdir), a->work_dir, "r");
	join(bdir, sizeof(bdir), a->work_dir, "b");
	ret = bootmount_fs(a->r_dev, rdir, MS_RDONLY);
	if (ret < 0)
		return ret;
	ret = bootmount_fs(a->pb_dev, bdir, 0);
	if (ret == 0) {
		ret = fill_mounted(a, rdir, bdir, b, r);
		bootmount_unmount(bdir);
	}
	bootmount_unmount(rdir);
	return ret;
}

int bootsplit_fill_facts(const char *pb_dev, const char *r_dev, const char *b_uuid,
			 const char *work_dir, struct bootsplit_fill_facts *ret)
{
	struct bootsplit_copy_opts o = { .kill_after_files = -1 };
	char b[37], rdir[PATH_MAX], bdir[PATH_MAX], etc[PATH_MAX + 8];
	uint8_t digest[32], now[32];
	char *man = NULL, *fstab = NULL, *unused = NULL;
	size_t len;
	int r, fd, src;

	memset(ret, 0, sizeof(*ret));
	if (!bootsplit_uuid_valid(b_uuid))
		return log_error(EINVAL, "invalid /boot UUID \"%s\"", b_uuid);
	lower(b_uuid, b);
	r = root_uuid(r_dev, ret->r_uuid);
	if (r < 0)
		return r;
	if (mkdir(work_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create \"%s\"", work_dir);
	join(rdir, sizeof(rdir), work_dir, "r");
	join(bdir, sizeof(bdir), work_dir, "b");
	r = bootmount_fs(r_dev, rdir, MS_RDONLY);
	if (r < 0)
		return r;
	/* B: a missing or unmountable file system is simply "no marker" */
	if (mkdir(bdir, 0700) == 0 || errno == EEXIST) {
		if (mount(pb_dev, bdir, "ext4", MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID, NULL) ==
		    0) {
			fd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0) {
				ret->marker_valid =
					bootsplit_marker_read(fd, b, ret->r_uuid, digest) == 0;
				close(fd);
			}
			bootmount_unmount(bdir);
		}
	}
	o.r_uuid = ret->r_uuid;
	o.b_uuid = b;
	src = open(rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src >= 0) {
		fd = openat(src, "boot", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ret->marker_valid && fd >= 0 && bootsplit_manifest(fd, &o, &man, &len) == 0) {
			crypto_sha256(man, len, now);
			ret->manifest_matches = memcmp(now, digest, 32) == 0;
		}
		if (fd >= 0)
			close(fd);
		close(src);
	}
	snprintf(etc, sizeof(etc), "%s/etc", rdir);
	fd = open(etc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fileio_read_at(fd, "fstab", 1u << 20, &fstab, &len) == 0)
			ret->fstab_names_b = bootsplit_fstab_add(fstab, b, &unused) == 0;
		close(fd);
	}
	free(unused);
	free(fstab);
	free(man);
	bootmount_unmount(rdir);
	return 0;
}

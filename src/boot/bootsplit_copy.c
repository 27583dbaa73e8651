#include "bootsplit_copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootsplit_text.h"
#include "crypto.h"
#include "fileio.h"
#include "log.h"

#define TMP_NAME ".rootcrypt-tmp"
#define GRUB_CFG "grub/grub.cfg"
#define GRUB_CFG_MAX (16u << 20)
#define CHUNK (1u << 20)

struct text {
	char *buf;
	size_t len, cap;
	int err;
};

struct check {
	char *rel;
	uint8_t sha[32];
};

struct copy {
	const struct bootsplit_copy_opts *o;
	int dst_root;		/* -1: manifest only */
	struct text m;
	struct check *checks;
	size_t nchecks, cap;
	long files;
	char *chunk;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = -EINVAL;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
		char *nb = realloc(t->buf, cap);

		if (!nb) {
			t->err = -ENOMEM;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
}

/* A path in the manifest: bytes other than a safe set as %XX, so that a
 * name with spaces or newlines cannot forge a line. */
static void text_path(struct text *t, const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/._-+~,:@=", c))
			text_add(t, "%c", c);
		else
			text_add(t, "%%%02X", c);
	}
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int sha256_file_fd(int fd, char *chunk, uint8_t out[32])
{
	struct crypto_hash *h;
	int r;

	r = crypto_hash_new_public(&h, "sha256");
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, chunk, CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		crypto_hash_update(h, chunk, (size_t)n);
	}
	if (r == 0)
		r = crypto_hash_final(h, out, 32);
	crypto_hash_free(h);
	return r;
}

static int add_check(struct copy *c, const char *rel, const uint8_t sha[32])
{
	if (c->nchecks == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct check *n = realloc(c->checks, cap * sizeof(*n));

		if (!n)
			return log_error(ENOMEM, "cannot record \"%s\" for the read-back", rel);
		c->checks = n;
		c->cap = cap;
	}
	c->checks[c->nchecks].rel = strdup(rel);
	if (!c->checks[c->nchecks].rel)
		return log_error(ENOMEM, "cannot record \"%s\" for the read-back", rel);
	memcpy(c->checks[c->nchecks++].sha, sha, 32);
	return 0;
}

/* Owner, mode (after the owner: chown clears set-id bits) and times of an
 * open file or directory on B. */
static int set_meta(int fd, const struct stat *st, const char *rel)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 ||
	    futimens(fd, ts) < 0)
		return log_error_errno(errno, "cannot set owner, mode and times of \"%s\" on the "
				       "new /boot", rel);
	return 0;
}

/* The file's bytes as they go to B: streamed, or (grub.cfg) whole and
 * rewritten. Writes the manifest line; with a destination, the file is
 * written under TMP_NAME, synced and renamed. */
static int do_file(struct copy *c, int sfd, int dfd, const char *name, const char *rel,
		   const struct stat *st)
{
	bool is_cfg = strcmp(rel, GRUB_CFG) == 0;
	uint8_t src_sha[32], dst_sha[32];
	char shex[65], dhex[65];
	char *cfg = NULL, *out = NULL;
	struct crypto_hash *hs = NULL;
	int in = -1, fd = -1, r;

	in = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return log_error_errno(errno, "cannot open \"%s\" on the root's /boot", rel);
	if (dfd >= 0) {
		unlinkat(dfd, TMP_NAME, 0);
		fd = openat(dfd, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    0600);
		if (fd < 0) {
			r = log_error_errno(errno, "cannot create a file for \"%s\" on the new /boot",
					    rel);
			goto out;
		}
	}
	if (is_cfg) {
		size_t len, olen;
		unsigned n;

		close(in);
		in = -1;
		r = fileio_read_at(sfd, name, GRUB_CFG_MAX, &cfg, &len);
		if (r < 0)
			goto out;
		r = bootsplit_grubcfg_rewrite(cfg, len, c->o->r_uuid, c->o->b_uuid, &out, &olen, &n);
		if (r < 0) {
			log_error_errno(r, "cannot rewrite \"%s\"", rel);
			goto out;
		}
		log_debug("%s: %u search UUID(s) now name the new /boot", rel, n);
		crypto_sha256(cfg, len, src_sha);
		crypto_sha256(out, olen, dst_sha);
		if (fd >= 0 && (r = fileio_write_all(fd, out, olen)) < 0) {
			log_error_errno(r, "cannot write \"%s\" on the new /boot", rel);
			goto out;
		}
	} else {
		if ((r = crypto_hash_new_public(&hs, "sha256")) < 0)
			goto out;
		for (;;) {
			ssize_t n = read(in, c->chunk, CHUNK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = log_error_errno(errno, "cannot read \"%s\" on the root's /boot", rel);
				goto out;
			}
			if (n == 0)
				break;
			crypto_hash_update(hs, c->chunk, (size_t)n);
			if (fd >= 0 && (r = fileio_write_all(fd, c->chunk, (size_t)n)) < 0) {
				log_error_errno(r, "cannot write \"%s\" on the new /boot", rel);
				goto out;
			}
		}
		crypto_hash_final(hs, src_sha, 32);
		memcpy(dst_sha, src_sha, 32);
	}
	hex(src_sha, 32, shex);
	text_add(&c->m, "f %04o %u %u %" PRIu64 " %s ", (unsigned)(st->st_mode & 07777),
		 (unsigned)st->st_uid, (unsigned)st->st_gid, (uint64_t)st->st_size, shex);
	text_path(&c->m, rel);
	text_add(&c->m, "\n");
	if (is_cfg) {
		hex(dst_sha, 32, dhex);
		text_add(&c->m, "changed %s ", dhex);
		text_path(&c->m, rel);
		text_add(&c->m, "\n");
	}
	r = 0;
	if (fd >= 0) {
		if ((r = set_meta(fd, st, rel)) < 0)
			goto out;
		if (fsync(fd) < 0) {
			r = log_error_errno(errno, "cannot fsync \"%s\" on the new /boot", rel);
			goto out;
		}
		if (renameat(dfd, TMP_NAME, dfd, name) < 0) {
			r = log_error_errno(errno, "cannot rename \"%s\" into place on the new /boot",
					    rel);
			goto out;
		}
		r = add_check(c, rel, dst_sha);
		c->files++;
		if (c->o->kill_after_files >= 0 && c->files >= c->o->kill_after_files)
			raise(SIGKILL); /* test build only: a cut in the middle of the copy */
	}
out:
	if (hs)
		crypto_hash_free(hs);
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	if (r < 0 && dfd >= 0)
		unlinkat(dfd, TMP_NAME, 0);
	free(cfg);
	free(out);
	return r;
}

static int do_symlink(struct copy *c, int sfd, int dfd, const char *name, const char *rel,
		      const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (n < 0)
		return log_error_errno(errno, "cannot read the link \"%s\" on the root's /boot", rel);
	target[n] = 0;
	text_add(&c->m, "l 0777 %u %u %zd - ", (unsigned)st->st_uid, (unsigned)st->st_gid, n);
	text_path(&c->m, rel);
	text_add(&c->m, " -> ");
	text_path(&c->m, target);
	text_add(&c->m, "\n");
	if (dfd < 0)
		return 0;
	unlinkat(dfd, TMP_NAME, 0);
	if (symlinkat(target, dfd, TMP_NAME) < 0 ||
	    fchownat(dfd, TMP_NAME, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    utimensat(dfd, TMP_NAME, ts, AT_SYMLINK_NOFOLLOW) < 0 ||
	    renameat(dfd, TMP_NAME, dfd, name) < 0)
		return log_error_errno(errno, "cannot make the link \"%s\" on the new /boot", rel);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted bytewise (locale-free, so the manifest
 * is the same wherever it is computed). */
static int list_dir(int dirfd, const char *rel, char ***ret, size_t *ret_n)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return log_error_errno(errno, "cannot list \"%s\"", *rel ? rel : "/boot");
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*nn));

			if (!nn)
				goto nomem;
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto nomem;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	*ret = names;
	*ret_n = n;
	return 0;
nomem:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return log_error(ENOMEM, "cannot list \"%s\"", rel);
}

static int walk(struct copy *c, int sfd, int dfd, const char *rel);

static int do_dir(struct copy *c, int sfd, int dfd, const char *name, const char *rel,
		  const struct stat *st)
{
	/* efi/ is the ESP's mount point: listed and made, never entered */
	bool enter = strcmp(rel, "efi") != 0;
	int cs = -1, cd = -1, r = 0;

	text_add(&c->m, "d %04o %u %u 0 - ", (unsigned)(st->st_mode & 07777),
		 (unsigned)st->st_uid, (unsigned)st->st_gid);
	text_path(&c->m, rel);
	text_add(&c->m, "\n");
	if (dfd >= 0) {
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
			return log_error_errno(errno, "cannot make \"%s\" on the new /boot", rel);
		cd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cd < 0)
			return log_error_errno(errno, "cannot open \"%s\" on the new /boot", rel);
	}
	if (enter) {
		cs = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cs < 0)
			r = log_error_errno(errno, "cannot open \"%s\" on the root's /boot", rel);
		else
			r = walk(c, cs, cd, rel);
	}
	/* after the children: adding them changed the directory's times */
	if (r == 0 && cd >= 0)
		r = set_meta(cd, st, rel);
	if (cs >= 0)
		close(cs);
	if (cd >= 0)
		close(cd);
	return r;
}

static int walk(struct copy *c, int sfd, int dfd, const char *rel)
{
	char **names = NULL;
	size_t n = 0;
	int r = list_dir(sfd, rel, &names, &n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		char child[PATH_MAX];
		struct stat st;

		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
				     names[i]) >= sizeof(child)) {
			r = log_error(ENAMETOOLONG, "path too long under \"%s\"", rel);
			break;
		}
		if (fstatat(sfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = log_error_errno(errno, "cannot stat \"%s\" on the root's /boot", child);
			break;
		}
		if (S_ISREG(st.st_mode))
			r = do_file(c, sfd, dfd, names[i], child, &st);
		else if (S_ISDIR(st.st_mode))
			r = do_dir(c, sfd, dfd, names[i], child, &st);
		else if (S_ISLNK(st.st_mode))
			r = do_symlink(c, sfd, dfd, names[i], child, &st);
		else
			r = log_error(EINVAL, "\"%s\" on the root's /boot is a device, pipe or "
				      "socket: refusing to copy /boot", child);
		if (r == 0 && c->m.err)
			r = log_error(-c->m.err, "cannot build the /boot manifest");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* syncfs, then each file copied read back from the disk (its clean pages
 * dropped first) and compared with what was written. */
static int read_back(struct copy *c)
{
	if (syncfs(c->dst_root) < 0)
		return log_error_errno(errno, "cannot sync the new /boot");
	for (size_t i = 0; i < c->nchecks; i++) {
		uint8_t sha[32];
		int fd = openat(c->dst_root, c->checks[i].rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		int r;

		if (fd < 0)
			return log_error_errno(errno, "cannot read back \"%s\" on the new /boot",
					       c->checks[i].rel);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		r = sha256_file_fd(fd, c->chunk, sha);
		close(fd);
		if (r < 0)
			return log_error_errno(r, "cannot read back \"%s\" on the new /boot",
					       c->checks[i].rel);
		if (memcmp(sha, c->checks[i].sha, 32) != 0)
			return log_error(EIO, "\"%s\" on the new /boot reads back different from "
					 "what was written", c->checks[i].rel);
	}
	return 0;
}

static void copy_free(struct copy *c)
{
	for (size_t i = 0; i < c->nchecks; i++)
		free(c->checks[i].rel);
	free(c->checks);
	free(c->chunk);
	free(c->m.buf);
}

static int run(int src, int dst, const struct bootsplit_copy_opts *o, char **ret_text,
	       size_t *ret_len)
{
	struct copy c = { .o = o, .dst_root = dst };
	int r;

	c.chunk = malloc(CHUNK);
	if (!c.chunk)
		return log_error(ENOMEM, "cannot allocate the copy buffer");
	r = walk(&c, src, dst, "");
	if (r == 0 && dst >= 0)
		r = read_back(&c);
	if (r == 0 && !c.m.buf)
		text_add(&c.m, "%s", "");
	if (r == 0 && c.m.err)
		r = log_error(-c.m.err, "cannot build the /boot manifest");
	if (r == 0 && ret_text) {
		*ret_text = c.m.buf;
		*ret_len = c.m.len;
		c.m.buf = NULL;
	}
	copy_free(&c);
	return r;
}

int bootsplit_manifest(int src_dirfd, const struct bootsplit_copy_opts *o, char **ret_text,
		       size_t *ret_len)
{
	return run(src_dirfd, -1, o, ret_text, ret_len);
}

int bootsplit_copy(int src_dirfd, int dst_dirfd, const struct bootsplit_copy_opts *o,
		   char **ret_text, size_t *ret_len)
{
	return run(src_dirfd, dst_dirfd, o, ret_text, ret_len);
}

int bootsplit_copy_flat(int src_dirfd, int dst_dirfd)
{
	struct bootsplit_copy_opts o = { .kill_after_files = -1 };
	struct copy c = { .o = &o, .dst_root = dst_dirfd };
	char **names = NULL;
	size_t n = 0;
	int r;

	c.chunk = malloc(CHUNK);
	if (!c.chunk)
		return log_error(ENOMEM, "cannot allocate the copy buffer");
	r = list_dir(src_dirfd, "i386-pc", &names, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct stat st;

		if (fstatat(src_dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = log_error_errno(errno, "cannot stat staged \"%s\"", names[i]);
		else if (S_ISREG(st.st_mode))
			r = do_file(&c, src_dirfd, dst_dirfd, names[i], names[i], &st);
	}
	if (r == 0) {
		/* read_back opens names relative to dst_root */
		r = read_back(&c);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	copy_free(&c);
	return r;
}

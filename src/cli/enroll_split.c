/* enroll's side of the /boot split (enroll_split.h): facts, plan, loader
 * checks, staging, and the undo. */
#include "enroll_split.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "blkdev.h"
#include "bootdev.h"
#include "bootsplit_geom.h"
#include "config.h"
#include "crypto.h"
#include "fileio.h"
#include "bootsplit_text.h"
#include "enroll_split_loaders.h"
#include "ext4tail.h"
#include "log.h"
#include "parse.h"
#include "parttable.h"

#define MIB (1ull << 20)

static void in_root(const char *root, const char *p, char *out, size_t n)
{
	snprintf(out, n, "%s%s", strcmp(root, "/") == 0 ? "" : root, p);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_tree(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove \"%s\"", path);
	return 0;
}

/* B and PB: an earlier enroll's when its config has them (the staged core
 * and a half-done split name them), else new random ones. */
static int split_ids(const char *old_conf, struct enroll_split *s)
{
	struct enroll_split old;
	uint8_t rnd[32];
	int r;

	if (enroll_split_from_conf(old_conf, &old) == 1) {
		memcpy(s->b_uuid, old.b_uuid, sizeof(s->b_uuid));
		memcpy(s->pb_uuid, old.pb_uuid, sizeof(s->pb_uuid));
		return 0;
	}
	r = crypto_random(rnd, sizeof(rnd));
	if (r < 0)
		return log_error(-r, "cannot get random bytes for the /boot partition's UUIDs");
	enroll_split_uuid(rnd, s->b_uuid);
	enroll_split_uuid(rnd + 16, s->pb_uuid);
	return 0;
}

/* The partition whose unique GUID is the text uuid, or NULL. */
static const struct parttable_gpt_entry *by_partuuid(const struct parttable_gpt_info *g,
						     const char *uuid)
{
	uint8_t text[16], disk[16];

	if (parse_uuid(uuid, text) < 0)
		return NULL;
	parttable_guid_swap(text, disk);
	return parttable_gpt_by_guid(g, disk);
}

static uint64_t boot_bytes;
static dev_t boot_dev;

static int add_usage(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	/* efi/ is the ESP's mount point (its content is not copied), and
	 * other mounts below /boot are not /boot's */
	if (st->st_dev != boot_dev || (ftw->level == 1 && strcmp(path + ftw->base, "efi") == 0))
		return FTW_SKIP_SUBTREE;
	boot_bytes += (uint64_t)st->st_blocks * 512;
	return FTW_CONTINUE;
}

/* N must hold /boot twice (a kernel update while the old one stays) plus
 * 64 MiB (BOOT.md). */
static int check_boot_size(const char *root, uint64_t boot_mib)
{
	char boot[PATH_MAX];
	struct stat st;
	uint64_t need;

	in_root(root, "/boot", boot, sizeof(boot));
	if (stat(boot, &st) < 0)
		return log_error_errno(errno, "cannot stat \"%s\"", boot);
	boot_bytes = 0;
	boot_dev = st.st_dev;
	if (nftw(boot, add_usage, 16, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) < 0)
		return log_error_errno(errno, "cannot measure \"%s\"", boot);
	need = (2 * boot_bytes + 64 * MIB + MIB - 1) / MIB;
	if (boot_mib < need)
		return log_error(ENOSPC, "a %llu MiB /boot partition is too small for the %llu MiB "
				 "in \"%s\": give --boot-size %llu or more",
				 (unsigned long long)boot_mib,
				 (unsigned long long)((boot_bytes + MIB - 1) / MIB), boot,
				 (unsigned long long)need);
	return 0;
}

/* Step 4 adds /boot to R's /etc/fstab: it must be a file that edit can
 * take (no other /boot mount), or the first boot would stop half way. */
static int check_fstab(const char *root, const char *b)
{
	char path[PATH_MAX], *text = NULL, *out = NULL;
	size_t len;
	int r;

	in_root(root, "/etc/fstab", path, sizeof(path));
	r = fileio_read_at(AT_FDCWD, path, 1u << 20, &text, &len);
	if (r == -ENOENT || r == -ELOOP)
		return log_error(-r, "\"%s\" is %s: the /boot split adds /boot's mount to it",
				 path, r == -ENOENT ? "missing" : "a symbolic link");
	if (r < 0)
		return r;
	r = bootsplit_fstab_add(text, b, &out);
	free(text);
	free(out);
	if (r == -EEXIST)
		return log_error(EEXIST, "\"%s\" already mounts something on /boot while /boot is a "
				 "directory of the root: remove that line first", path);
	return r < 0 ? log_error(-r, "cannot plan the /boot line of \"%s\"", path) : 0;
}

struct split_disk {
	struct blkdev *disk, *part;
	struct parttable_gpt_info gpt;
	struct bootsplit_disk d;
	struct bootsplit_fs fs;
	struct ext4tail tail;
	char r_uuid[37];
};

static void split_disk_close(struct split_disk *x)
{
	if (x->part)
		blkdev_close(x->part);
	if (x->disk)
		blkdev_close(x->disk);
	parttable_gpt_info_free(&x->gpt);
	ext4tail_free(&x->tail);
}

/* The disk (the partition's parent), its GPT and R. */
static int split_disk_read(const char *node, struct split_disk *x)
{
	char disk[PATH_MAX];
	unsigned p1;
	int r;

	if (bootdev_partition_of(node, disk, sizeof(disk), &p1) < 0)
		return log_error(ENOTBLK, "\"%s\" is not a partition of a disk: the /boot split "
				 "needs the disk's partition table", node);
	r = blkdev_open(disk, BLKDEV_RDONLY, &x->disk);
	if (r < 0)
		return r;
	/* The running system writes the ESP (and GRUB's tools p14) through the
	 * partitions' devices, whose page caches are not the disk's: after the
	 * caller's sync, drop what the disk's own cache may still hold from an
	 * earlier read, so the buffered reads below see the disk. */
	posix_fadvise(x->disk->fd, 0, 0, POSIX_FADV_DONTNEED);
	r = parttable_gpt_read(x->disk, &x->gpt);
	if (r == -EMEDIUMTYPE)
		return log_error(EOPNOTSUPP, "\"%s\" has no GPT: the /boot split supports GPT disks "
				 "only", disk);
	if (r < 0)
		return r;
	r = bootsplit_disk_from_gpt(&x->gpt, p1, &x->d);
	if (r < 0)
		return r;
	r = blkdev_open(node, BLKDEV_RDONLY, &x->part);
	if (r < 0)
		return r;
	return bootsplit_fs_read_mounted(x->part, &x->fs, x->r_uuid, &x->tail);
}

/* Plans; on a refusal says why with the growth that would help. */
static int split_plan(struct split_disk *x, uint64_t n, struct bootsplit_plan *p)
{
	struct ext4tail_verdict v = { .pass = true };
	struct bootsplit_fs any = x->fs;
	struct bootsplit_plan q;
	char msg[512];
	int r;

	r = bootsplit_plan(&x->d, &x->fs, n, p);
	if (r < 0)
		return r;
	if (p->layout != BOOTSPLIT_REFUSE && p->shrink_fs)
		ext4tail_check(&x->tail, p->fs_target, &v);
	if (p->layout != BOOTSPLIT_REFUSE && v.pass)
		return 0;
	/* how much of R's end the split needs empty: the plan's F when the
	 * tail did not matter */
	any.keep_min = 0;
	any.resize_min = 0;
	if (bootsplit_plan(&x->d, &any, n, &q) < 0 || q.layout == BOOTSPLIT_REFUSE)
		q.fs_target = x->fs.size;
	if (!v.pass) { /* the plan's measure passed but the check at F did not */
		any.keep_min = x->fs.size;
		if (bootsplit_plan(&x->d, &any, n, p) < 0 || p->layout != BOOTSPLIT_REFUSE)
			*p = (struct bootsplit_plan){ .reason = "the end of the root file system "
							       "holds data" };
	}
	enroll_split_refusal(p, &x->fs, x->fs.size - q.fs_target, msg, sizeof(msg));
	return log_error(ENOSPC, "%s", msg);
}

/* A temporary directory for the staging that checks the core (tmp, removed
 * by the caller): a refusal must leave the tree as it was, directory times
 * included. */
static int stage_tmp(char *dir, size_t n, char *tmp, size_t tn)
{
	snprintf(tmp, tn, "%s/rootcrypt-enroll.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
									  : "/tmp");
	if (!mkdtemp(tmp))
		return log_error_errno(errno, "cannot create a temporary directory");
	snprintf(dir, n, "%s/bootsplit", tmp);
	return 0;
}

/* The staging for real: ENROLL_SPLIT_DIR.new in the tree, renamed over
 * the old one by stage_commit. */
static int stage_tree(const char *root, char *dir, size_t n)
{
	char parent[PATH_MAX];

	in_root(root, "/var/lib/rootcrypt", parent, sizeof(parent));
	if (mkdir(parent, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create \"%s\"", parent);
	in_root(root, ENROLL_SPLIT_DIR ".new", dir, n);
	return rm_tree(dir);
}

/* The staged directory replaces an earlier enroll's. */
static int stage_commit(const char *root, const char *staged)
{
	char final[PATH_MAX], parent[PATH_MAX];
	int dfd, r = 0;

	in_root(root, ENROLL_SPLIT_DIR, final, sizeof(final));
	in_root(root, "/var/lib/rootcrypt", parent, sizeof(parent));
	if (rm_tree(final) < 0)
		return -EIO;
	if (rename(staged, final) < 0)
		return log_error_errno(errno, "cannot rename \"%s\"", staged);
	dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		r = log_error_errno(errno, "cannot fsync \"%s\"", parent);
	if (dfd >= 0)
		close(dfd);
	return r;
}

int enroll_split_prepare(const struct enroll_split_req *q, struct enroll_split *s)
{
	struct split_disk x = { 0 };
	struct bootsplit_plan p;
	char grub_dir[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], line[1024];
	bool esp = false, bios = false;
	const struct parttable_gpt_entry *done;
	int r;

	memset(s, 0, sizeof(*s));
	tmp[0] = '\0';
	r = check_boot_size(q->root, q->boot_mib);
	if (r == 0)
		r = split_ids(q->old_conf, s);
	snprintf(s->size, sizeof(s->size), "%llu", (unsigned long long)q->boot_mib);
	if (r == 0)
		r = split_disk_read(q->node, &x);
	if (r < 0)
		goto out;
	done = by_partuuid(&x.gpt, s->pb_uuid);
	if (done) {
		r = log_error(EBUSY, "the /boot split has begun on this disk (partition %u is "
			      "PARTUUID %s) but /boot is still part of the root: let the next boot "
			      "finish it", done->number, s->pb_uuid);
		goto out;
	}
	r = split_plan(&x, q->boot_mib * MIB, &p);
	if (r == 0)
		r = check_fstab(q->root, s->b_uuid);
	if (r == 0)
		r = enroll_split_esp(x.disk, &x.gpt, x.r_uuid, s->b_uuid, p.pb_number, s->esp_files,
				     sizeof(s->esp_files), &esp);
	if (r == 0)
		r = enroll_split_bios_present(x.disk, &x.gpt, &bios);
	if (r == 0 && !esp && !bios)
		r = log_error(EOPNOTSUPP, "neither an ESP nor a BIOS GRUB on this disk: no boot "
			      "loader the /boot split could repoint");
	if (r < 0 || !bios)
		goto out;
	in_root(q->root, "/usr/lib/grub/i386-pc", grub_dir, sizeof(grub_dir));
	r = stage_tmp(dir, sizeof(dir), tmp, sizeof(tmp));
	if (r == 0)
		r = enroll_split_bios_stage(x.disk, &x.gpt, grub_dir, s->b_uuid, p.pb_number, dir,
					    s->core_sha256);
	/* checked: now the same into the tree (checked again: the core the
	 * config names is this one) */
	if (r == 0 && !q->dry_run) {
		r = stage_tree(q->root, dir, sizeof(dir));
		if (r == 0)
			r = enroll_split_bios_stage(x.disk, &x.gpt, grub_dir, s->b_uuid,
						    p.pb_number, dir, s->core_sha256);
		if (r == 0)
			r = stage_commit(q->root, dir);
		if (r < 0)
			rm_tree(dir);
	}
	snprintf(s->core, sizeof(s->core), "%s", ENROLL_SPLIT_DIR "/core.img");
out:
	if (tmp[0])
		rm_tree(tmp);
	if (r == 0) {
		enroll_split_plan_text(&p, &x.d, &x.fs, s, line, sizeof(line));
		printf("  %s\n", line);
		if (s->core[0])
			printf("  %s BIOS core for /boot in %s%s\n", q->dry_run ? "would stage the" :
			       "staged the", ENROLL_SPLIT_DIR, q->dry_run ? " (checked in a "
			       "temporary directory)" : "");
	}
	split_disk_close(&x);
	return r;
}

int enroll_split_from_conf(const char *conf_text, struct enroll_split *s)
{
	struct rootcrypt_config c = { 0 };
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (conf_text && config_parse_file_text(&c, conf_text, strlen(conf_text),
						 "/etc/rootcrypt.conf") == 0 &&
	    c.boot_split_uuid && c.boot_split_partuuid && c.boot_split_size) {
		snprintf(s->b_uuid, sizeof(s->b_uuid), "%s", c.boot_split_uuid);
		snprintf(s->pb_uuid, sizeof(s->pb_uuid), "%s", c.boot_split_partuuid);
		snprintf(s->size, sizeof(s->size), "%s", c.boot_split_size);
		if (c.boot_split_core && c.boot_split_core_sha256 &&
		    strlen(c.boot_split_core) < sizeof(s->core)) {
			snprintf(s->core, sizeof(s->core), "%s", c.boot_split_core);
			snprintf(s->core_sha256, sizeof(s->core_sha256), "%s",
				 c.boot_split_core_sha256);
		}
		if (c.boot_split_esp_files && strlen(c.boot_split_esp_files) < sizeof(s->esp_files))
			snprintf(s->esp_files, sizeof(s->esp_files), "%s", c.boot_split_esp_files);
		r = 1;
	}
	config_free(&c);
	return r;
}

void enroll_split_opts(const struct enroll_split *s, struct enroll_opts *o)
{
	o->boot_split_uuid = s->b_uuid;
	o->boot_split_partuuid = s->pb_uuid;
	o->boot_split_size = s->size;
	o->boot_split_core = s->core[0] ? s->core : NULL;
	o->boot_split_core_sha256 = s->core[0] ? s->core_sha256 : NULL;
	o->boot_split_esp_files = s->esp_files[0] ? s->esp_files : NULL;
}

/* 1 when the disk holding node has the partition PB (a boot split it). */
static int split_done(const char *node, const char *pb)
{
	struct parttable_gpt_info g = { 0 };
	struct blkdev *d = NULL;
	char disk[PATH_MAX];
	unsigned p1;
	int r;

	if (!node[0] || bootdev_partition_of(node, disk, sizeof(disk), &p1) < 0 ||
	    blkdev_open(disk, BLKDEV_RDONLY, &d) < 0)
		return 0;
	r = parttable_gpt_read(d, &g) == 0 && by_partuuid(&g, pb) != NULL;
	parttable_gpt_info_free(&g);
	blkdev_close(d);
	return r;
}

int enroll_split_undo_encrypted(const char *root, const char *node, const char *conf_text,
				bool dry_run)
{
	struct enroll_split old;
	char dir[PATH_MAX];

	if (enroll_split_from_conf(conf_text, &old) == 1 && split_done(node, old.pb_uuid))
		printf("  /boot stays on its own partition (PARTUUID %s, file system UUID %s): "
		       "rootcrypt cannot merge /boot back into the root\n", old.pb_uuid, old.b_uuid);
	/* the engine starts only once the split is done, so the staged core
	 * and modules have served: GRUB reads /boot's own copies */
	in_root(root, ENROLL_SPLIT_DIR, dir, sizeof(dir));
	if (access(dir, F_OK) < 0)
		return 0;
	printf("  removing %s (the staged /boot split: used only until both boot loaders read "
	       "/boot's partition)\n", dir);
	return dry_run ? 0 : rm_tree(dir);
}

int enroll_split_undo(const char *root, const char *node, const char *conf_text, bool dry_run)
{
	struct enroll_split old;
	char dir[PATH_MAX];

	in_root(root, ENROLL_SPLIT_DIR, dir, sizeof(dir));
	if (enroll_split_from_conf(conf_text, &old) == 1 && split_done(node, old.pb_uuid)) {
		printf("  the /boot split is done: /boot stays on its own partition (rootcrypt "
		       "does not merge it back); %s is kept\n", dir);
		return 0;
	}
	if (access(dir, F_OK) < 0)
		return 0;
	printf("  removing %s (the staged /boot split)\n", dir);
	return dry_run ? 0 : rm_tree(dir);
}

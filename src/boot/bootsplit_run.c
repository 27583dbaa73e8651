/* The /boot split's driver (bootsplit_run.h): facts from the disk ->
 * bootsplit_decide -> one step -> again. The facts are read fresh before
 * every step, so what a cut left behind is what the next run (or the next
 * turn of the loop) acts on. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bios_core.h"
#include "blkdev.h"
#include "bootmount.h"
#include "bootpart.h"
#include "bootsplit_decide.h"
#include "bootsplit_fill.h"
#include "bootsplit_geom.h"
#include "bootsplit_run.h"
#include "bootsplit_shrink.h"
#include "config.h"
#include "crypto.h"
#include "esp_stub.h"
#include "fileio.h"
#include "log.h"
#include "parse.h"
#include "parttable.h"
#include "spawn.h"
#include "test_hooks.h"

/* The GPT name of the new partition (BOOT.md "Geometry"). */
#define PB_NAME "boot"
/* More turns than there are steps: each turn either finishes a step or
 * stops with an error, so this only bounds a step that reports success
 * without the disk showing it. */
#define MAX_TURNS 12

struct run {
	const struct bootsplit_run_args *a;
	char r_uuid[37];
	uint8_t pb_guid[16];		/* on-disk byte order */
	struct bootsplit_fs fs;
	struct parttable_gpt_info gpt;
	struct bootsplit_plan plan;
	char pb_dev[PATH_MAX];
	char esp_dev[PATH_MAX];
	const struct parttable_gpt_entry *p14;
	uint8_t *core;			/* the staged BIOS core, read from R */
	size_t core_len;
	uint8_t boot_img[BIOS_SECTOR];
	/* the disk shows the split under way (pB in the table), or this run
	 * began a step that did not refuse: a stop now is "incomplete" */
	bool begun;
};

/* mkdir -p, 0700 */
static int mkdir_parents(const char *path)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static void sub_dir(const struct run *s, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", s->a->work_dir, name);
	(void)mkdir(out, 0700);
}

/* An ext4 root left with a journal to replay (the plain system was cut
 * off) is not modelled by the tail scan; e2fsck -p replays it, as the
 * booted system's fsck would. */
static int read_fs(struct run *s)
{
	struct blkdev *d = NULL;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		r = blkdev_open(s->a->part, BLKDEV_RDONLY, &d);
		if (r < 0)
			return r;
		r = bootsplit_fs_read(d, &s->fs, s->r_uuid);
		blkdev_close(d);
		if (r != -EOPNOTSUPP || attempt > 0)
			return r;
		{
			const char *argv[] = { "e2fsck", "-p", s->a->part, NULL };
			int status = -1;

			if (spawn_wait(argv, &status) < 0 || status > 1)
				return r;
			log_info("/boot split: e2fsck -p \"%s\" exited %d", s->a->part, status);
		}
	}
	return r;
}

static int read_table(struct run *s)
{
	struct blkdev *d = NULL;
	int r;

	parttable_gpt_info_free(&s->gpt);
	r = blkdev_open(s->a->disk, BLKDEV_RDONLY, &d);
	if (r < 0)
		return r;
	r = parttable_gpt_read(d, &s->gpt);
	blkdev_close(d);
	if (r == -EMEDIUMTYPE)
		return log_error(EMEDIUMTYPE, "\"%s\" has no GPT: the /boot split needs one",
				 s->a->disk);
	return r;
}

/* The staged BIOS core and GRUB's boot.img next to it, from R (read only),
 * checked against the sha256 enroll recorded. */
static int load_core(struct run *s)
{
	char dir[PATH_MAX], rel[PATH_MAX], *slash, *buf = NULL;
	uint8_t sha[32];
	char hex[65];
	size_t len = 0;
	int root = -1, r;

	if (s->core)
		return 0;
	sub_dir(s, "core", dir, sizeof(dir));
	r = bootmount_fs(s->a->part, dir, MS_RDONLY);
	if (r < 0)
		return r;
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		r = log_error_errno(errno, "cannot open \"%s\"", dir);
		goto out;
	}
	snprintf(rel, sizeof(rel), "%s", s->a->core_path + 1);
	r = fileio_read_at(root, rel, BIOS_CORE_MAX, &buf, &len);
	if (r < 0) {
		log_error_errno(r, "cannot read the staged BIOS core \"%s\"", s->a->core_path);
		goto out;
	}
	crypto_sha256(buf, len, sha);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	if (strcmp(hex, s->a->core_sha256) != 0) {
		r = log_error(EBADMSG, "the staged BIOS core \"%s\" is not the one enroll staged "
				       "(sha256 %s)", s->a->core_path, hex);
		goto out;
	}
	s->core = (uint8_t *)buf;
	s->core_len = len;
	buf = NULL;
	slash = strrchr(rel, '/');
	snprintf(slash ? slash + 1 : rel, sizeof(rel) - (size_t)(slash ? slash + 1 - rel : 0),
		 "boot.img");
	r = fileio_read_at(root, rel, BIOS_SECTOR, &buf, &len);
	if (r == 0 && len != BIOS_SECTOR)
		r = -EINVAL;
	if (r < 0) {
		log_error_errno(r, "cannot read GRUB's boot.img staged beside \"%s\"",
				s->a->core_path);
		goto out;
	}
	memcpy(s->boot_img, buf, BIOS_SECTOR);
out:
	free(buf);
	if (root >= 0)
		close(root);
	bootmount_unmount(dir);
	return r;
}

/* Calls fn(path) for each ESP file enroll listed; stops at the first error. */
static int each_esp_file(struct run *s, int (*fn)(struct run *, struct blkdev *, const char *, void *),
			 void *arg)
{
	char *list, *save = NULL;
	struct blkdev *d = NULL;
	int r = 0;

	if (!s->a->esp_files || !*s->a->esp_files)
		return 0;
	r = blkdev_open(s->esp_dev, 0, &d);
	if (r < 0)
		return r;
	list = strdup(s->a->esp_files);
	if (!list) {
		blkdev_close(d);
		return log_error(ENOMEM, "out of memory");
	}
	for (char *p = strtok_r(list, " \t", &save); p && r >= 0; p = strtok_r(NULL, " \t", &save))
		r = fn(s, d, p, arg);
	free(list);
	blkdev_close(d);
	return r;
}

static int esp_facts_one(struct run *s, struct blkdev *d, const char *path, void *arg)
{
	struct bootsplit_facts *f = arg;
	unsigned k = s->plan.pb_number;
	int r;

	r = esp_file_names(d, path, s->r_uuid, s->a->b_uuid, k);
	if (r > 0)
		f->stub_names_r = true;
	if (r >= 0)
		r = esp_file_names(d, path, s->a->b_uuid, s->r_uuid, k);
	if (r > 0)
		f->stub_names_b = true;
	return r < 0 ? r : 0;
}

static int esp_switch_one(struct run *s, struct blkdev *d, const char *path, void *arg)
{
	int r = esp_switch(d, path, s->r_uuid, s->a->b_uuid, s->plan.pb_number);

	(void)arg;
	if (r > 0)
		log_info("/boot split: \"%s\" on the ESP now names %s", path, s->a->b_uuid);
	return r < 0 ? r : 0;
}

/* Nodes for pB and the ESP, the kernel told of p1's and pB's extents. */
static int kernel_nodes(struct run *s)
{
	const struct parttable_gpt_entry *esp = parttable_gpt_by_type(&s->gpt, PARTTABLE_TYPE_ESP);
	char nodes[PATH_MAX];
	int r;

	sub_dir(s, "dev", nodes, sizeof(nodes));
	r = bootpart_sync_kernel(s->a->disk, s->a->part, s->a->partno);
	if (r == 0)
		r = bootpart_node(s->a->disk, s->plan.pb_number, nodes, s->pb_dev, sizeof(s->pb_dev));
	if (r == 0 && s->a->esp_files && *s->a->esp_files) {
		if (!esp)
			return log_error(ENOENT, "\"%s\" has no EFI system partition, but ESP files "
					 "are configured", s->a->disk);
		r = bootpart_node(s->a->disk, esp->number, nodes, s->esp_dev, sizeof(s->esp_dev));
	}
	return r;
}

/* Everything the decide table looks at, read top to bottom: a row that
 * matches early makes the later facts irrelevant, so they are not read
 * (R is not mounted while its shrink is unfinished). */
static int gather(struct run *s, struct bootsplit_facts *f)
{
	char dir[PATH_MAX];
	struct bootsplit_fill_facts ff;
	int r;

	memset(f, 0, sizeof(*f));
	f->engine_plain = true;
	f->split_configured = true;
	r = read_fs(s);
	if (r == 0)
		r = read_table(s);
	if (r == 0)
		r = bootsplit_target(&s->gpt, s->a->partno, s->pb_guid, &s->fs, s->a->boot_size,
				     &s->plan);
	if (r < 0)
		return r;
	if (s->plan.layout == BOOTSPLIT_REFUSE) {
		if (s->plan.grow_mib)
			return log_error(ENOSPC, "/boot split refused: %s; grow the disk by %llu MiB",
					 s->plan.reason, (unsigned long long)s->plan.grow_mib);
		return log_error(ENOSPC, "/boot split refused: %s", s->plan.reason);
	}
	f->fs_end = s->fs.size;
	f->fs_target = s->plan.fs_target;
	f->pb_in_primary = s->gpt.primary_valid && parttable_gpt_by_guid(&s->gpt, s->pb_guid);
	f->backup_equals_primary = s->gpt.backup_equals_primary;
	if (f->pb_in_primary)
		s->begun = true;
	if (f->fs_end > f->fs_target || !f->pb_in_primary || !f->backup_equals_primary)
		return 0;
	r = kernel_nodes(s);
	if (r < 0)
		return r;
	sub_dir(s, "facts", dir, sizeof(dir));
	r = bootsplit_fill_facts(s->pb_dev, s->a->part, s->a->b_uuid, dir, &ff);
	if (r < 0)
		return r;
	f->marker_valid = ff.marker_valid;
	f->manifest_matches = ff.manifest_matches;
	f->fstab_names_b = ff.fstab_names_b;
	r = each_esp_file(s, esp_facts_one, f);
	if (r < 0)
		return r;
	s->p14 = parttable_gpt_by_type(&s->gpt, PARTTABLE_TYPE_BIOS_BOOT);
	if (s->a->core_path) {
		struct blkdev *d = NULL;

		if (!s->p14 || s->gpt.sector_size != BIOS_SECTOR)
			return log_error(ENOENT, "a BIOS core is staged but \"%s\" has no BIOS boot "
					 "partition with 512-byte sectors", s->a->disk);
		r = load_core(s);
		if (r == 0)
			r = blkdev_open(s->a->disk, BLKDEV_RDONLY, &d);
		if (r == 0) {
			r = bios_core_in_place(d, s->p14->first_lba,
					       s->p14->last_lba - s->p14->first_lba + 1, s->boot_img,
					       s->core, s->core_len);
			blkdev_close(d);
		}
		if (r < 0)
			return r;
		f->bios_core_staged = true;
		f->bios_core_in_place = r == 1;
		f->bios_core_names_b = r == 1;
	}
	return 0;
}

static int step_shrink(struct run *s)
{
	const struct parttable_gpt_entry *p1 = NULL;
	struct bootsplit_intent want = { .fs_target = s->plan.fs_target };

	for (unsigned i = 0; i < s->gpt.count; i++)
		if (s->gpt.ents[i].number == s->a->partno)
			p1 = &s->gpt.ents[i];
	if (!p1 || parse_uuid(s->r_uuid, want.fs_uuid) < 0 ||
	    parse_uuid(s->a->pb_uuid, want.boot_part_guid) < 0)
		return log_error(EINVAL, "/boot split: cannot name the shrink's intent");
	parttable_guid_swap(p1->part_guid, want.part_guid);
	return bootsplit_shrink(s->a->part, &want);
}

static int step_table(struct run *s)
{
	struct parttable_new_entry e = { .number = s->plan.pb_number,
					 .first_lba = s->plan.pb_first,
					 .last_lba = s->plan.pb_last,
					 .name = PB_NAME };
	struct blkdev *d = NULL;
	int r;

	memcpy(e.type_guid, PARTTABLE_TYPE_LINUX_FS, 16);
	memcpy(e.part_guid, s->pb_guid, 16);
	r = blkdev_open(s->a->disk, 0, &d);
	if (r < 0)
		return r;
	r = parttable_split(d, s->a->partno, s->plan.p1_last, &e);
	blkdev_close(d);
	return r;
}

static int step_fill(struct run *s)
{
	char dir[PATH_MAX], mods[PATH_MAX] = "";
	struct bootsplit_fill_args fa = { .pb_dev = s->pb_dev, .r_dev = s->a->part,
					  .b_uuid = s->a->b_uuid };

	sub_dir(s, "fill", dir, sizeof(dir));
	fa.work_dir = dir;
	if (s->a->core_path) {
		/* the modules staged beside the core, relative to R's root */
		const char *slash = strrchr(s->a->core_path, '/');

		snprintf(mods, sizeof(mods), "%.*s/i386-pc", (int)(slash - s->a->core_path - 1),
			 s->a->core_path + 1);
		fa.i386pc_dir = mods;
	}
	return bootsplit_fill(&fa);
}

static int step_bios(struct run *s)
{
	struct blkdev *d = NULL;
	int r = blkdev_open(s->a->disk, 0, &d);

	if (r < 0)
		return r;
	r = bios_core_switch(d, s->p14->first_lba, s->p14->last_lba - s->p14->first_lba + 1,
			     s->boot_img, s->core, s->core_len);
	blkdev_close(d);
	return r < 0 ? r : 0;
}

static int run_step(struct run *s, enum bootsplit_state st)
{
	char dir[PATH_MAX];

	switch (st) {
	case BOOTSPLIT_SHRINK:
		return step_shrink(s);
	case BOOTSPLIT_TABLE:
		return step_table(s);
	case BOOTSPLIT_FILL:
	case BOOTSPLIT_FILL_STALE:
		return step_fill(s);
	case BOOTSPLIT_FSTAB:
		sub_dir(s, "fstab", dir, sizeof(dir));
		return bootsplit_fstab(s->a->part, s->a->b_uuid, dir);
	case BOOTSPLIT_SWITCH_ESP:
		return each_esp_file(s, esp_switch_one, NULL);
	case BOOTSPLIT_SWITCH_BIOS:
		return step_bios(s);
	default:
		return log_error(EINVAL, "/boot split: no step for state %s",
				 bootsplit_state_name(st));
	}
}

/* Test build only (test_hooks.h): a cut right after the named step. */
static void fault_after(const char *step)
{
	const char *want = test_hook_getenv("ROOTCRYPT_FAULT_KILL_AFTER_STEP");

	if (want && strcmp(want, step) == 0)
		raise(SIGKILL);
}

/* The outcome of a run that stopped with r < 0. */
static void stopped(const struct run *s, const char *step, int r, struct bootsplit_outcome *ret)
{
	const char *line = log_last_error();

	if (!ret)
		return;
	ret->step = step;
	ret->refused = !s->begun;
	snprintf(ret->why, sizeof(ret->why), "%s", *line ? line : strerror(-r));
}

int bootsplit_run(const struct bootsplit_run_args *a, struct bootsplit_outcome *ret)
{
	struct run s = { .a = a };
	enum bootsplit_state last = BOOTSPLIT_NONE;
	const char *step = NULL;
	int r;

	if (ret)
		*ret = (struct bootsplit_outcome){ 0 };
	log_last_error_clear();

	if (parse_uuid(a->pb_uuid, s.pb_guid) < 0 || parse_uuid_text(a->b_uuid) < 0 ||
	    (a->core_path && (a->core_path[0] != '/' || !a->core_sha256 ||
			      !strchr(a->core_path + 1, '/'))))
		return log_error(EINVAL, "/boot split: the configured UUIDs or core path are invalid");
	parttable_guid_swap(s.pb_guid, s.pb_guid);
	r = mkdir_parents(a->work_dir);
	if (r < 0)
		return log_error_errno(r, "cannot create \"%s\"", a->work_dir);
	for (int turn = 0;; turn++) {
		struct bootsplit_facts f;
		struct bootsplit_decision d;

		r = gather(&s, &f);
		if (r < 0)
			break;
		bootsplit_decide(&f, &d);
		if (d.state == BOOTSPLIT_DONE || d.state == BOOTSPLIT_NONE) {
			log_info("/boot split: done (/boot is the file system %s on partition %u)",
				 a->b_uuid, s.plan.pb_number);
			r = 0;
			break;
		}
		if (d.state == BOOTSPLIT_DAMAGED) {
			r = log_error(EUCLEAN, "/boot split stopped: %s", d.why);
			break;
		}
		if (d.state == last || turn >= MAX_TURNS) {
			r = log_error(EIO, "/boot split: step %s did not take effect (%s)",
				      bootsplit_state_name(d.state), d.why);
			break;
		}
		step = bootsplit_state_name(d.state);
		log_info("/boot split: step %s (%s)", step, d.why);
		if (a->step_begins)
			a->step_begins(a->ctx, step);
		r = run_step(&s, d.state);
		/* the shrink's own checks (data in the tail) refuse before it
		 * writes; any other way out of a step may have written */
		if (!(r == -ENOSPC && d.state == BOOTSPLIT_SHRINK))
			s.begun = true;
		if (r < 0)
			break;
		fault_after(step);
		last = d.state;
	}
	if (r < 0)
		stopped(&s, step, r, ret);
	parttable_gpt_info_free(&s.gpt);
	free(s.core);
	return r;
}

int bootsplit_args_from_config(const struct rootcrypt_config *cfg,
			       struct bootsplit_run_args *ret)
{
	uint64_t mib = 512;

	if (!cfg->boot_split_uuid)
		return -ENOENT;
	if (!cfg->boot_split_partuuid || (!cfg->boot_split_core != !cfg->boot_split_core_sha256) ||
	    (cfg->boot_split_size && parse_u64(cfg->boot_split_size, &mib) < 0))
		return log_error(EINVAL, "the /boot split settings are incomplete: boot_split_uuid "
				 "needs boot_split_partuuid, and boot_split_core its sha256");
	ret->b_uuid = cfg->boot_split_uuid;
	ret->pb_uuid = cfg->boot_split_partuuid;
	ret->boot_size = mib << 20;
	ret->core_path = cfg->boot_split_core;
	ret->core_sha256 = cfg->boot_split_core_sha256;
	ret->esp_files = cfg->boot_split_esp_files;
	return 0;
}

/* `rootcrypt enroll`: prepare a running system or an image tree so the next
 * boot encrypts the root partition. Writes /etc/rootcrypt.conf, regenerates
 * the initramfs with whichever generator the system uses, and puts the
 * kernel parameters into GRUB's defaults. No key is made here: each machine
 * makes its own at first boot (an image must never carry a volume key). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootdev.h"
#include "cmd.h"
#include "engine.h"
#include "engine_record.h"
#include "luks2.h"
#include "enroll.h"
#include "enroll_grub.h"
#include "enroll_split.h"
#include "enroll_undo.h"
#include "log.h"
#include "online_plan.h"
#include "parse.h"

struct enroll_ctx {
	const char *root;   /* "/" or an image tree */
	bool dry_run;
	uint64_t boot_mib;  /* --boot-size: the /boot split's partition */
};

static void path_in(const struct enroll_ctx *c, const char *p, char *out, size_t n)
{
	snprintf(out, n, "%s%s", strcmp(c->root, "/") == 0 ? "" : c->root, p);
}

static bool exists_in(const struct enroll_ctx *c, const char *p)
{
	char full[PATH_MAX];

	path_in(c, p, full, sizeof(full));
	return access(full, F_OK) == 0;
}

/* Runs argv inside the target root (chroot when it is not "/"). */
static int run_in(const struct enroll_ctx *c, const char *const *argv)
{
	int status;
	pid_t pid;

	printf("  running:");
	for (const char *const *a = argv; *a; a++)
		printf(" %s", *a);
	printf("%s\n", strcmp(c->root, "/") ? " (in chroot)" : "");
	if (c->dry_run)
		return 0;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return log_error_errno(errno, "cannot fork for \"%s\"", argv[0]);
	if (pid == 0) {
		if (strcmp(c->root, "/") != 0 && (chroot(c->root) < 0 || chdir("/") < 0))
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(errno, "waiting for \"%s\"", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return log_error(EIO, "\"%s\" failed (status %d)", argv[0],
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int write_file(const struct enroll_ctx *c, const char *p, const char *text, mode_t mode)
{
	char full[PATH_MAX], tmp[PATH_MAX + 8];
	size_t len = strlen(text);
	int fd;

	path_in(c, p, full, sizeof(full));
	printf("  writing %s\n", full);
	if (c->dry_run)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.new", full);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return log_error_errno(errno, "cannot write \"%s\"", tmp);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		int r = errno ? errno : EIO;

		close(fd);
		unlink(tmp);
		return log_error_errno(r, "cannot write \"%s\"", tmp);
	}
	close(fd);
	if (rename(tmp, full) < 0)
		return log_error_errno(errno, "cannot replace \"%s\"", full);
	return 0;
}

/* Online mode's background pass after switch-root (src/engine/ONLINE.md
 * "The systemd unit"): shipped by make install / the package, enabled
 * here as `systemctl enable` would (its WantedBy link), which also works
 * on an image tree without systemd running. */
#define ONLINE_UNIT "rootcrypt-online.service"
#define ONLINE_UNIT_FILE "/usr/lib/systemd/system/" ONLINE_UNIT
#define ONLINE_UNIT_WANTS_DIR "/etc/systemd/system/multi-user.target.wants"

/* enable: the link points at the unit (replaced when there); otherwise it
 * goes (offline mode, --undo). */
static int online_unit_enable(const struct enroll_ctx *c, bool enable)
{
	static const char *const dirs[] = { "/etc/systemd", "/etc/systemd/system",
					    ONLINE_UNIT_WANTS_DIR };
	char link[PATH_MAX], dir[PATH_MAX];
	struct stat st;

	path_in(c, ONLINE_UNIT_WANTS_DIR "/" ONLINE_UNIT, link, sizeof(link));
	if (!enable) {
		if (lstat(link, &st) < 0)
			return 0;
		printf("  disabling %s: removing %s\n", ONLINE_UNIT, link);
		if (!c->dry_run && unlink(link) < 0 && errno != ENOENT)
			return log_error_errno(errno, "cannot remove \"%s\"", link);
		return 0;
	}
	if (!exists_in(c, ONLINE_UNIT_FILE))
		log_warn("%s is not installed%s%s: online mode's background pass will not start "
			 "until it is (make install or the rootcrypt package ship it)",
			 ONLINE_UNIT_FILE, strcmp(c->root, "/") ? " in " : "",
			 strcmp(c->root, "/") ? c->root : "");
	printf("  enabling %s: %s -> %s\n", ONLINE_UNIT, link, ONLINE_UNIT_FILE);
	if (c->dry_run)
		return 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_in(c, dirs[i], dir, sizeof(dir));
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return log_error_errno(errno, "cannot create \"%s\"", dir);
	}
	if (unlink(link) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot replace \"%s\"", link);
	if (symlink(ONLINE_UNIT_FILE, link) < 0)
		return log_error_errno(errno, "cannot create the link \"%s\"", link);
	return 0;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

/* The block device mounted at `dir`, from mountinfo field 10. */
static int mount_source(const char *dir, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int r = -ENOENT;

	if (!f)
		return log_error_errno(errno, "cannot read /proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], src[PATH_MAX], *dash;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strcmp(mnt, dir) != 0)
			continue;
		dash = strstr(line, " - ");
		if (dash && sscanf(dash + 3, "%*s %4095s", src) == 1 && src[0] == '/') {
			snprintf(out, n, "%s", src);
			r = 0; /* keep going: the last mount on top wins */
		}
	}
	fclose(f);
	return r;
}

/* One blkid tag of dev read from the disk itself (-p: no cache, no udev),
 * e.g. PART_ENTRY_UUID from the partition table entry. 0 when found. */
static int blkid_tag(const char *dev, const char *tag, char *out, size_t n)
{
	char cmd[PATH_MAX + 128], line[128];
	FILE *p;
	int r = -ENOENT;

	if (strchr(dev, '\''))
		return -EINVAL;
	snprintf(cmd, sizeof(cmd), "blkid -p -s %s -o value '%s' 2>/dev/null", tag, dev);
	p = popen(cmd, "re");
	if (!p)
		return -errno;
	if (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0]) {
			snprintf(out, n, "%s", line);
			r = 0;
		}
	}
	pclose(p);
	return r;
}

/* A name for dev that finds it in the VM, where /dev/loop0p1 or /dev/sdb1
 * of the build host means nothing: PARTUUID= of its partition table entry
 * (udev's link, else read from the disk with blkid -p), or for a file system
 * that stays plain (fs_uuid_ok: the detached header's) its UUID=. The root
 * partition cannot go by its file system's UUID: once encrypted that UUID
 * is no longer on the partition. Refuses with one line otherwise. */
static int stable_device_name(const char *dev, bool fs_uuid_ok, const char *what,
			      char *out, size_t n)
{
	char real[PATH_MAX], link[PATH_MAX + 300], target[PATH_MAX], id[200];
	DIR *d = opendir("/dev/disk/by-partuuid");
	struct dirent *e;

	if (d && realpath(dev, real)) {
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "/dev/disk/by-partuuid/%s", e->d_name);
			if (realpath(link, target) && strcmp(target, real) == 0) {
				snprintf(out, n, "PARTUUID=%s", e->d_name);
				closedir(d);
				return 0;
			}
		}
	}
	if (d)
		closedir(d);
	if (blkid_tag(dev, "PART_ENTRY_UUID", id, sizeof(id)) == 0) {
		snprintf(out, n, "PARTUUID=%s", id);
		return 0;
	}
	if (fs_uuid_ok && blkid_tag(dev, "UUID", id, sizeof(id)) == 0) {
		snprintf(out, n, "UUID=%s", id);
		return 0;
	}
	return log_error(EINVAL, "cannot name %s \"%s\" by %s read from the disk (a name like "
			 "that does not exist in the VM); give --%s PARTUUID=...", what, dev,
			 fs_uuid_ok ? "PARTUUID or UUID" : "PARTUUID",
			 strcmp(what, "the root device") ? "header-device" : "device");
}

/* Detached layout: the header file must live on a file system other than
 * the root being encrypted (usually a separate /boot). Finds the mount
 * holding header's directory: the boot config then names that file system
 * (header_device) and the header's path inside it, because the initramfs
 * mounts it on its own. */
static int detached_header_location(const struct enroll_ctx *c, const char *header,
				    char *dev_out, size_t dev_n, const char **ret_rel)
{
	char dir[PATH_MAX], up[PATH_MAX], rootp[PATH_MAX], dev[PATH_MAX], *slash;
	struct stat st, pst, rst;
	int r;

	if (header[0] != '/')
		return log_error(EINVAL, "--header \"%s\" must be an absolute path", header);
	path_in(c, header, dir, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	path_in(c, "/", rootp, sizeof(rootp));
	if (stat(dir, &st) < 0)
		return log_error_errno(errno, "cannot reach the header's directory \"%s\"", dir);
	if (stat(rootp, &rst) < 0)
		return log_error_errno(errno, "cannot stat \"%s\"", rootp);
	if (st.st_dev == rst.st_dev)
		return log_error(EINVAL, "header \"%s\" would be on the root file system being "
				 "encrypted; put it on a separate file system such as /boot", header);
	/* climb while the parent is still the same file system */
	while (strcmp(dir, "/") != 0) {
		snprintf(up, sizeof(up), "%s", dir);
		slash = strrchr(up, '/');
		if (slash == up)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(up, &pst) < 0 || pst.st_dev != st.st_dev)
			break;
		snprintf(dir, sizeof(dir), "%s", up);
	}
	if (mount_source(dir, dev, sizeof(dev)) < 0)
		return log_error(ENOENT, "cannot find the device mounted at \"%s\" (for the header)",
				 dir);
	if (dev_out) {
		r = stable_device_name(dev, true, "the header's file system", dev_out, dev_n);
		if (r < 0)
			return r;
	}
	/* the header's path inside that file system */
	*ret_rel = header + (strlen(dir) - (strcmp(c->root, "/") == 0 ? 0 : strlen(c->root)));
	if (**ret_rel != '/')
		return log_error(EINVAL, "cannot place \"%s\" inside \"%s\"", header, dir);
	return 0;
}

static int regenerate_initramfs(const struct enroll_ctx *c)
{
	if (exists_in(c, "/usr/lib/dracut/modules.d/90rootcrypt/module-setup.sh") &&
	    (exists_in(c, "/usr/bin/dracut") || exists_in(c, "/usr/sbin/dracut"))) {
		const char *argv[] = { "dracut", "--force", "--regenerate-all", NULL };

		return run_in(c, argv);
	}
	if (exists_in(c, "/usr/share/initramfs-tools/hooks/rootcrypt") &&
	    exists_in(c, "/usr/sbin/update-initramfs")) {
		const char *argv[] = { "update-initramfs", "-u", "-k", "all", NULL };

		return run_in(c, argv);
	}
	return log_error(ENOENT, "neither dracut nor initramfs-tools with rootcrypt's parts found "
				 "under \"%s\" (run 'make install' first)", c->root);
}

/* A /etc/default/grub.d snippet is sourced after /etc/default/grub: one
 * that sets GRUB_DEVICE (or a root=) would silently beat enroll's lines and
 * the VM would boot root=UUID=<hidden fs>. Refused before anything is
 * written; the way out is named. */
static int check_grub_snippets(const struct enroll_ctx *c)
{
	char dir[PATH_MAX], path[PATH_MAX + 256], why[128];
	struct dirent *de;
	DIR *d;
	int r = 0;

	path_in(c, "/etc/default/grub.d", dir, sizeof(dir));
	d = opendir(dir);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *text;

		if (l < 5 || strcmp(de->d_name + l - 4, ".cfg"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = read_file(path);
		if (!text)
			continue;
		if (enroll_grub_snippet_overrides(text, why, sizeof(why)))
			r = log_error(EINVAL, "\"%s\": %s, which overrides the root= enroll sets in "
				      "/etc/default/grub; remove that setting (or move it into "
				      "/etc/default/grub) and enroll again", path, why);
		free(text);
	}
	closedir(d);
	return r;
}

/* update-grub is the authority on what GRUB will boot: read back what it
 * wrote and insist on the one root= rootcrypt needs. */
static int check_grub_cfg(const struct enroll_ctx *c, const char *name)
{
	char path[PATH_MAX], why[256];
	char *cfg;
	int bad;

	path_in(c, "/boot/grub/grub.cfg", path, sizeof(path));
	cfg = read_file(path);
	if (!cfg)
		return log_error(ENOENT, "update-grub ran but \"%s\" cannot be read back", path);
	bad = enroll_grub_cfg_check(cfg, name, why, sizeof(why));
	free(cfg);
	if (bad)
		return log_error(EBADMSG, "\"%s\": %s; GRUB would not boot the encrypted root",
				 path, why);
	printf("  %s: every kernel line has root=/dev/mapper/%s\n", path, name);
	return 0;
}

/* The detached header file (LUKS2 header plus two digest-record slots) is
 * created at the first boot: check now that its file system has room. */
static int check_header_room(const struct enroll_ctx *c, const char *header)
{
	uint64_t need = engine_record_area_off(LUKS2_DEFAULT_HEADER_SIZE) +
			2 * engine_record_slot_size(ENGINE_GROUP_DEFAULT) + (1ull << 20);
	char path[PATH_MAX], dir[PATH_MAX], *slash;
	struct statvfs sv;
	struct stat st;

	path_in(c, header, path, sizeof(path));
	if (stat(path, &st) == 0)
		return 0;	/* already there (an earlier enroll or a half-done run) */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if (statvfs(dir, &sv) < 0)
		return log_error_errno(errno, "cannot read the free space of \"%s\"", dir);
	if ((uint64_t)sv.f_bavail * sv.f_frsize < need)
		return log_error(ENOSPC, "\"%s\" has %llu MiB free; the detached header needs "
				 "%llu MiB there", dir,
				 (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize >> 20),
				 (unsigned long long)((need + (1ull << 20) - 1) >> 20));
	return 0;
}

#define SAVED_PREFIX "#rootcrypt-saved: "

/* Edits /etc/default/grub: GRUB_CMDLINE_LINUX gets params (root= dropped
 * from it), and grub_lines (GRUB_DEVICE=/dev/mapper/NAME ...) go at the end
 * so 10_linux's own root= is the one root= on the line. params "" and
 * grub_lines NULL undo both. */
static int update_grub(const struct enroll_ctx *c, const char *params, const char *grub_lines,
		       const char *name)
{
	char path[PATH_MAX], *text, *out = NULL, *line, *end, *merged = NULL, *saved;
	size_t out_len = 0;
	FILE *f;
	bool found = false;
	int r;

	path_in(c, "/etc/default/grub", path, sizeof(path));
	text = read_file(path);
	if (!text) {
		if (*params)
			printf("  no %s: add these kernel parameters to the boot loader yourself "
			       "(replacing its root=):\n    root=/dev/mapper/%s %s\n", path, name,
			       params);
		return 0;
	}
	f = open_memstream(&out, &out_len);
	if (!f) {
		free(text);
		return log_error(ENOMEM, "out of memory");
	}
	/* Enroll keeps the original line as a comment so --undo restores it
	 * exactly (including a root= it had to replace). */
	saved = strstr(text, SAVED_PREFIX);
	for (line = text; *line; line = end) {
		end = strchrnul(line, '\n');
		if (*end)
			end++;
		if (strncmp(line, SAVED_PREFIX, strlen(SAVED_PREFIX)) == 0)
			continue;
		/* our GRUB_DEVICE lines: written again below (or dropped by --undo) */
		{
			size_t ll = (size_t)(end - line), ml = strlen(ENROLL_GRUB_MARK);

			if (ll && line[ll - 1] == '\n')
				ll--;
			if (ll >= ml && memcmp(line + ll - ml, ENROLL_GRUB_MARK, ml) == 0)
				continue;
		}
		if (strncmp(line, "GRUB_CMDLINE_LINUX=\"", 20) == 0 && !found) {
			found = true;
			if (!*params && saved) {
				const char *orig = saved + strlen(SAVED_PREFIX);

				fprintf(f, "%.*s\n", (int)(strchrnul(orig, '\n') - orig), orig);
				continue;
			}
			if (*params && !saved)
				fprintf(f, "%s%.*s", SAVED_PREFIX, (int)(end - line), line);
			else if (*params && saved) {
				const char *orig = saved + strlen(SAVED_PREFIX);

				fprintf(f, "%s%.*s\n", SAVED_PREFIX,
					(int)(strchrnul(orig, '\n') - orig), orig);
			}
			char *q = strchr(line + 20, '"');
			char *cur = q ? strndup(line + 20, (size_t)(q - line - 20)) : strdup("");

			merged = cur ? enroll_cmdline_merge(cur, params) : NULL;
			free(cur);
			if (!merged)
				break;
			fprintf(f, "GRUB_CMDLINE_LINUX=\"%s\"\n", merged);
			continue;
		}
		fwrite(line, 1, (size_t)(end - line), f);
	}
	if (!found)
		fprintf(f, "GRUB_CMDLINE_LINUX=\"%s\"\n", params);
	if (grub_lines)
		fputs(grub_lines, f);
	fclose(f);
	free(merged);
	free(text);
	r = write_file(c, "/etc/default/grub", out, 0644);
	free(out);
	if (r < 0)
		return r;
	if (exists_in(c, "/usr/sbin/update-grub")) {
		const char *argv[] = { "update-grub", NULL };

		r = run_in(c, argv);
		if (r < 0 || !*params || c->dry_run)
			return r;
		return check_grub_cfg(c, name);
	}
	printf("  update-grub not found: regenerate the GRUB configuration yourself\n");
	return 0;
}

#define MIB(x) ((unsigned long long)(((x) + (1ull << 20) - 1) >> 20))

/* GRUB reads the kernel and its configuration from /boot: when that is a
 * directory of the root being encrypted, GRUB stops at "unknown
 * filesystem" on the second boot unless /boot gets a file system of its
 * own first (issue 15: the /boot split). */
static bool boot_inside_root(const struct enroll_ctx *c)
{
	char boot[PATH_MAX], rootp[PATH_MAX], grub[PATH_MAX];
	struct stat bst, rst;

	path_in(c, "/boot", boot, sizeof(boot));
	path_in(c, "/", rootp, sizeof(rootp));
	path_in(c, "/boot/grub", grub, sizeof(grub));
	return access(grub, F_OK) == 0 && stat(boot, &bst) == 0 && stat(rootp, &rst) == 0 &&
	       bst.st_dev == rst.st_dev;
}

/* The shift layout with /boot inside the root: the /boot split's plan,
 * checks and staging (enroll_split.c), or a refusal. */
static int plan_split(const struct enroll_ctx *c, const struct enroll_opts *o, const char *node,
		      const char *old_conf, struct enroll_split *split)
{
	struct enroll_split_req q = { .root = c->root, .node = node, .boot_mib = c->boot_mib,
				      .dry_run = c->dry_run, .old_conf = old_conf };

	if (o->mode && !strcmp(o->mode, "online"))
		return log_error(EOPNOTSUPP, "/boot is a directory of the root and its split is "
				 "planned for the offline mode only: enroll with --mode offline");
	if (!node[0])
		return log_error(ENOENT, "/boot is a directory of the root, and %s is not readable "
				 "here to plan giving /boot a partition of its own", o->device);
	/* the ext4 tail check reads the bitmaps from the device */
	sync();
	return enroll_split_prepare(&q, split);
}

/* /boot is no longer a directory of the root because a first boot split it
 * (/boot is B now, by fstab) but may have stopped before repointing both
 * loaders: the split's lines stay, or the boot side would encrypt the root
 * with a loader still reading R. */
static void keep_split_lines(const struct enroll_ctx *c, struct enroll_opts *o,
			     const char *old_conf, struct enroll_split *split)
{
	char boot[PATH_MAX], dev[PATH_MAX], uuid[64];

	if (enroll_split_from_conf(old_conf, split) != 1)
		return;
	path_in(c, "/boot", boot, sizeof(boot));
	if (mount_source(boot, dev, sizeof(dev)) < 0 ||
	    blkid_tag(dev, "UUID", uuid, sizeof(uuid)) < 0 || strcmp(uuid, split->b_uuid) != 0)
		return;
	printf("  /boot is the split's file system (UUID %s): its boot_split_* lines stay, so "
	       "the next boot finishes repointing the boot loaders if a boot stopped before\n",
	       split->b_uuid);
	enroll_split_opts(split, o);
}

/* Says what the first boot will do with the root partition, by the
 * engine's rules, or refuses (nothing written yet) when it cannot work. */
static int say_plan(const struct enroll_ctx *c, struct enroll_opts *o, const char *node,
		    const char *old_conf, struct enroll_split *split)
{
	struct enroll_geom g;
	uint64_t bytes, room;
	char msg[512];
	bool online;
	int r;

	r = check_grub_snippets(c);
	if (r < 0)
		return r;
	if (boot_inside_root(c)) {
		if (!strcmp(o->layout, "detached"))
			return log_error(EINVAL, "/boot is a directory of the root file system and "
					 "GRUB reads the kernel from it: once the root is encrypted "
					 "GRUB cannot boot; give /boot a file system of its own "
					 "first, or use the shift layout (it splits /boot off)");
		r = plan_split(c, o, node, old_conf, split);
		if (r == 0)
			enroll_split_opts(split, o);
		return r;
	}
	keep_split_lines(c, o, old_conf, split);

	if (!strcmp(o->layout, "detached")) {
		printf("  plan: the first boot writes the LUKS2 header to \"%s\" on %s (a file system "
		       "other than the root) and encrypts %s in place%s; nothing moves\n",
		       o->header, o->header_device, o->device,
		       o->mode && !strcmp(o->mode, "online") ? " in the background (online)" : "");
		return 0;
	}
	if (!node[0]) {
		printf("  plan: %s is not readable here; the first boot checks the room for the "
		       "header itself\n", o->device);
		return 0;
	}
	r = enroll_probe(node, &g);
	if (r < 0)
		return log_error(-r, "cannot read \"%s\" to plan the first boot", node);
	online = o->mode && !strcmp(o->mode, "online");
	room = online ? ONLINE_REDUCE_SIZE : ENGINE_DATA_OFF_DEFAULT;
	switch (enroll_room_plan(&g, online, &bytes)) {
	case ENROLL_SHIFT_FS_SMALLER:
		printf("  plan: shift%s - the %s file system (%llu MiB) leaves %llu MiB of its "
		       "%llu MiB partition free; the first boot %s by %llu MiB "
		       "inside the partition for the LUKS2 header%s\n", online ? " (online)" : "",
		       g.fs_type, MIB(g.fs_size), MIB(bytes), MIB(g.part_size),
		       online ? "boots on at once; cryptsetup reserves" : "moves the data up",
		       MIB(room), online ? " and its moving copy, and moves the data in the background" : "");
		return 0;
	case ENROLL_SHIFT_GROW:
		printf("  plan: shift%s - the first boot grows the %llu MiB partition by %llu MiB "
		       "into the free disk space after it (%llu MiB free), then %s %llu MiB for the "
		       "LUKS2 header%s\n", online ? " (online)" : "", MIB(g.part_size), MIB(bytes),
		       MIB(g.max_size - g.part_size),
		       online ? "boots on at once; cryptsetup reserves" : "moves the data up by",
		       MIB(room), online ? " and its moving copy, and moves the data in the background" : "");
		return 0;
	default:
		enroll_shift_refusal(node, bytes, msg, sizeof(msg));
		return log_error(ENOSPC, "%s%s", msg, online ? " (online mode needs 32 MiB behind "
				 "the file system, offline 18 MiB)" : "");
	}
}

/* The generated grub.cfg is wrong: put back what enroll changed (GRUB's
 * defaults, the config, the initramfs), so no boot converts a disk that
 * GRUB would then fail to boot. */
static void undo_after_bad_grub(const struct enroll_ctx *c, const char *old_conf)
{
	char path[PATH_MAX];

	printf("  undoing: the GRUB configuration would not boot the encrypted root\n");
	update_grub(c, "", NULL, NULL);
	if (old_conf)
		write_file(c, "/etc/rootcrypt.conf", old_conf, 0600);
	else {
		path_in(c, "/etc/rootcrypt.conf", path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			log_error_errno(errno, "cannot remove \"%s\"", path);
	}
	regenerate_initramfs(c);
}

static void usage(FILE *f)
{
	fprintf(f,
		"rootcrypt enroll --vault URL [--secret NAME] [--kek KEY-URL] [--kek-alg ALG]\n"
		"                 [--layout shift|detached] [--header PATH] [--header-device SPEC]\n"
		"                 [--mode offline|online] [--boot-size MIB]\n"
		"                 [--device PARTUUID=...|DEV]\n"
		"                 [--name NAME] [--client-id ID] [--root DIR] [--dry-run]\n"
		"rootcrypt enroll --undo [--root DIR]\n\n"
		"Prepares this system (or the image tree at --root) so the next boot encrypts the\n"
		"root partition with a key stored in Key Vault. Without --secret each machine\n"
		"names its secret after its vmId at first boot (right for images).\n"
		"It first says what the first boot will do for the layout it finds, and refuses,\n"
		"writing nothing, when that cannot work. --dry-run says the same and writes nothing.\n"
		"Lines of an existing /etc/rootcrypt.conf it does not set (ca_file, resolve, ...)\n"
		"are kept. When /boot is a directory of the root (shift layout), the first boot\n"
		"gives it a partition of its own first: --boot-size MiB (default 512, at least 64).\n");
}

int cmd_enroll(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vault", required_argument, NULL, 'v' },
		{ "secret", required_argument, NULL, 's' },
		{ "kek", required_argument, NULL, 'k' },
		{ "kek-alg", required_argument, NULL, 'a' },
		{ "layout", required_argument, NULL, 'l' },
		{ "mode", required_argument, NULL, 'm' },
		{ "header", required_argument, NULL, 'H' },
		{ "device", required_argument, NULL, 'd' },
		{ "header-device", required_argument, NULL, 'E' },
		{ "name", required_argument, NULL, 'n' },
		{ "client-id", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "undo", no_argument, NULL, 'u' },
		{ "boot-size", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct enroll_opts o = { .name = "root", .layout = "shift", .mode = "offline" };
	struct enroll_ctx c = { .root = "/", .boot_mib = ENROLL_SPLIT_DEFAULT_MIB };
	struct enroll_split split;
	char dev[PATH_MAX], stable[PATH_MAX + 16], mnt[PATH_MAX], header_dev[PATH_MAX + 16];
	char node[PATH_MAX];
	char *conf = NULL, *params = NULL, *grub_lines = NULL, *old_conf = NULL;
	const char *header_rel = NULL;
	bool undo = false;
	int ch, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'v': o.vault = optarg; break;
		case 's': o.secret = optarg; break;
		case 'k': o.kek = optarg; break;
		case 'a': o.kek_alg = optarg; break;
		case 'l': o.layout = optarg; break;
		case 'm': o.mode = optarg; break;
		case 'H': o.header = optarg; break;
		case 'd': o.device = optarg; break;
		case 'E': o.header_device = optarg; break;
		case 'n': o.name = optarg; break;
		case 'c': o.client_id = optarg; break;
		case 'r': c.root = optarg; break;
		case 'D': c.dry_run = true; break;
		case 'u': undo = true; break;
		case 'B': {
			int mib;

			if (parse_int(optarg, (int)(BOOTSPLIT_MIN_BOOT_SIZE >> 20), 1048576, &mib) < 0) {
				log_error(EINVAL, "--boot-size \"%s\": a number of MiB, at least %llu",
					  optarg, BOOTSPLIT_MIN_BOOT_SIZE >> 20);
				return CMD_USAGE;
			}
			c.boot_mib = (uint64_t)mib;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CMD_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (undo) {
		char path[PATH_MAX];

		printf("rootcrypt enroll --undo%s:\n", c.dry_run ? " (dry run)" : "");
		path_in(&c, "/etc/rootcrypt.conf", path, sizeof(path));
		old_conf = read_file(path);
		r = enroll_undo_encrypted_root(c.root, old_conf, c.dry_run);
		if (r != 0) {
			free(old_conf);
			return r < 0 ? r : log_error(EPERM, "--undo stopped there: the root is "
						     "encrypted, nothing else was changed");
		}
		if (mount_source(c.root, node, sizeof(node)) < 0)
			node[0] = '\0';
		r = enroll_split_undo(c.root, node, old_conf, c.dry_run);
		free(old_conf);
		if (r < 0)
			return r;
		r = update_grub(&c, "", NULL, NULL);
		if (r == 0)
			r = online_unit_enable(&c, false);
		printf("  removing %s\n", path);
		if (!c.dry_run && unlink(path) < 0 && errno != ENOENT)
			return log_error_errno(errno, "cannot remove \"%s\"", path);
		if (r == 0)
			r = regenerate_initramfs(&c);
		if (r == 0)
			printf("Done. A volume already encrypted stays encrypted; this only stops "
			       "future boots from converting.\n");
		return r;
	}
	if (!o.vault) {
		log_error(EINVAL, "enroll needs --vault URL");
		return CMD_USAGE;
	}
	if (strcmp(o.layout, "shift") && strcmp(o.layout, "detached")) {
		log_error(EINVAL, "unknown layout \"%s\" (shift or detached)", o.layout);
		return CMD_USAGE;
	}
	if (strcmp(o.mode, "offline") && strcmp(o.mode, "online")) {
		log_error(EINVAL, "unknown mode \"%s\" (offline or online)", o.mode);
		return CMD_USAGE;
	}
	if (!strcmp(o.layout, "detached")) {
		if (!o.header)
			o.header = "/boot/rootcrypt-header.img";
		r = detached_header_location(&c, o.header, o.header_device ? NULL : header_dev,
					     sizeof(header_dev), &header_rel);
		if (r == 0)
			r = check_header_room(&c, o.header);
		o.header = header_rel;
		if (r < 0)
			return r;
		if (!o.header_device)
			o.header_device = header_dev;
	}
	/* The node to read for the plan, and the name the VM will know it by. */
	node[0] = '\0';
	if (o.device && o.device[0] == '/') {
		snprintf(node, sizeof(node), "%s", o.device);
		r = stable_device_name(node, false, "the root device", stable, sizeof(stable));
		if (r < 0)
			return r;
		o.device = stable;
	} else if (o.device) {
		char by[PATH_MAX];

		if (bootdev_spec_path(o.device, by, sizeof(by)) < 0)
			return log_error(EINVAL, "cannot understand --device \"%s\"", o.device);
		if (!realpath(by, node))
			node[0] = '\0';
	} else {
		snprintf(mnt, sizeof(mnt), "%s", c.root);
		if (mount_source(mnt, node, sizeof(node)) < 0)
			return log_error(ENOENT, "cannot find the device mounted at \"%s\"; give --device",
					 c.root);
		r = stable_device_name(node, false, "the root device", stable, sizeof(stable));
		if (r < 0)
			return r;
		o.device = stable;
	}

	printf("rootcrypt enroll%s: root device %s, layout %s, mode %s, vault %s\n",
	       c.dry_run ? " (dry run)" : "", o.device, o.layout, o.mode, o.vault);
	path_in(&c, "/etc/rootcrypt.conf", dev, sizeof(dev));
	old_conf = read_file(dev);
	r = say_plan(&c, &o, node, old_conf, &split);
	if (r < 0)
		goto out;
	conf = enroll_config_merge(old_conf, &o);
	params = enroll_kernel_params(&o);
	grub_lines = enroll_grub_root_lines(&o);
	if (!conf || !params || !grub_lines) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	r = write_file(&c, "/etc/rootcrypt.conf", conf, 0600);
	if (r == 0)
		r = online_unit_enable(&c, strcmp(o.mode, "online") == 0);
	if (r == 0)
		r = regenerate_initramfs(&c);
	if (r == 0) {
		r = update_grub(&c, params, grub_lines, o.name);
		if (r == -EBADMSG)
			undo_after_bad_grub(&c, old_conf);
	}
	if (r == 0)
		printf("Done. The next boot encrypts %s (the key goes to %s first).\n"
		       "Kernel parameters: root=/dev/mapper/%s (GRUB_DEVICE) %s\n"
		       "Undo before that boot: rootcrypt enroll --undo%s%s\n",
		       o.device, o.vault, o.name, params, strcmp(c.root, "/") ? " --root " : "",
		       strcmp(c.root, "/") ? c.root : "");
out:
	free(old_conf);
	free(conf);
	free(params);
	free(grub_lines);
	return r;
}

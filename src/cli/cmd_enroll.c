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
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "enroll.h"
#include "log.h"

struct enroll_ctx {
	const char *root;   /* "/" or an image tree */
	bool dry_run;
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

/* "PARTUUID=..." for a partition, so the config survives renumbering. */
static void stable_device_name(const char *dev, char *out, size_t n)
{
	char real[PATH_MAX], link[PATH_MAX + 300], target[PATH_MAX];
	DIR *d = opendir("/dev/disk/by-partuuid");
	struct dirent *e;

	snprintf(out, n, "%s", dev);
	if (!d || !realpath(dev, real)) {
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/dev/disk/by-partuuid/%s", e->d_name);
		if (realpath(link, target) && strcmp(target, real) == 0) {
			snprintf(out, n, "PARTUUID=%s", e->d_name);
			break;
		}
	}
	closedir(d);
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
	stable_device_name(dev, dev_out, dev_n);
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

#define SAVED_PREFIX "#rootcrypt-saved: "

static int update_grub(const struct enroll_ctx *c, const char *params)
{
	char path[PATH_MAX], *text, *out = NULL, *line, *end, *merged = NULL, *saved;
	size_t out_len = 0;
	FILE *f;
	bool found = false;
	int r;

	path_in(c, "/etc/default/grub", path, sizeof(path));
	text = read_file(path);
	if (!text) {
		printf("  no %s: add these kernel parameters to the boot loader yourself:\n    %s\n",
		       path, params);
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
	fclose(f);
	free(merged);
	free(text);
	r = write_file(c, "/etc/default/grub", out, 0644);
	free(out);
	if (r < 0)
		return r;
	if (exists_in(c, "/usr/sbin/update-grub")) {
		const char *argv[] = { "update-grub", NULL };

		return run_in(c, argv);
	}
	printf("  update-grub not found: regenerate the GRUB configuration yourself\n");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"rootcrypt enroll --vault URL [--secret NAME] [--kek KEY-URL] [--kek-alg ALG]\n"
		"                 [--layout shift|detached] [--header PATH] [--device DEV]\n"
		"                 [--name NAME] [--client-id ID] [--root DIR] [--dry-run]\n"
		"rootcrypt enroll --undo [--root DIR]\n\n"
		"Prepares this system (or the image tree at --root) so the next boot encrypts the\n"
		"root partition with a key stored in Key Vault. Without --secret each machine\n"
		"names its secret after its vmId at first boot (right for images).\n");
}

int cmd_enroll(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vault", required_argument, NULL, 'v' },
		{ "secret", required_argument, NULL, 's' },
		{ "kek", required_argument, NULL, 'k' },
		{ "kek-alg", required_argument, NULL, 'a' },
		{ "layout", required_argument, NULL, 'l' },
		{ "header", required_argument, NULL, 'H' },
		{ "device", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "client-id", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "undo", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct enroll_opts o = { .name = "root", .layout = "shift" };
	struct enroll_ctx c = { .root = "/" };
	char dev[PATH_MAX], stable[PATH_MAX + 16], mnt[PATH_MAX], header_dev[PATH_MAX + 16];
	char *conf = NULL, *params = NULL;
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
		case 'H': o.header = optarg; break;
		case 'd': o.device = optarg; break;
		case 'n': o.name = optarg; break;
		case 'c': o.client_id = optarg; break;
		case 'r': c.root = optarg; break;
		case 'D': c.dry_run = true; break;
		case 'u': undo = true; break;
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
		r = update_grub(&c, "");
		path_in(&c, "/etc/rootcrypt.conf", path, sizeof(path));
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
	if (!strcmp(o.layout, "detached")) {
		if (!o.header)
			o.header = "/boot/rootcrypt-header.img";
		r = detached_header_location(&c, o.header, header_dev, sizeof(header_dev), &o.header);
		if (r < 0)
			return r;
		o.header_device = header_dev;
	}
	if (!o.device) {
		snprintf(mnt, sizeof(mnt), "%s", c.root);
		if (mount_source(mnt, dev, sizeof(dev)) < 0)
			return log_error(ENOENT, "cannot find the device mounted at \"%s\"; give --device",
					 c.root);
		stable_device_name(dev, stable, sizeof(stable));
		o.device = stable;
	}

	printf("rootcrypt enroll%s: root device %s, layout %s, vault %s\n",
	       c.dry_run ? " (dry run)" : "", o.device, o.layout, o.vault);
	conf = enroll_config_text(&o);
	params = enroll_kernel_params(&o);
	if (!conf || !params) {
		r = log_error(ENOMEM, "out of memory");
		goto out;
	}
	r = write_file(&c, "/etc/rootcrypt.conf", conf, 0600);
	if (r == 0)
		r = regenerate_initramfs(&c);
	if (r == 0)
		r = update_grub(&c, params);
	if (r == 0)
		printf("Done. The next boot encrypts %s (the key goes to %s first).\n"
		       "Kernel parameters: %s\n"
		       "Undo before that boot: rootcrypt enroll --undo%s%s\n",
		       o.device, o.vault, params, strcmp(c.root, "/") ? " --root " : "",
		       strcmp(c.root, "/") ? c.root : "");
out:
	free(conf);
	free(params);
	return r;
}

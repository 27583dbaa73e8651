#include "unlock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

const char *unlock_cryptsetup_path(void)
{
	static const char *const candidates[] = { "/sbin/cryptsetup", "/usr/sbin/cryptsetup",
						  "/bin/cryptsetup", "/usr/bin/cryptsetup" };
	const char *env = getenv("ROOTCRYPT_CRYPTSETUP");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int unlock_open(const char *target, const char *header, const char *name, const void *pass,
		size_t pass_len)
{
	const char *cs = unlock_cryptsetup_path();
	char mapper[256];
	int pipefd[2], status, r;
	struct stat st;
	pid_t pid;

	if (!cs)
		return log_error(ENOENT, "cannot unlock \"%s\": cryptsetup not found", target);
	if (!name[0] || strchr(name, '/') || strlen(name) > 127)
		return log_error(EINVAL, "invalid mapping name \"%s\"", name);
	/* ROOTCRYPT_MAPPER_DIR: tests on hosts without device-mapper point it
	 * (with ROOTCRYPT_CRYPTSETUP) at a directory of their own. */
	snprintf(mapper, sizeof(mapper), "%s/%s",
		 getenv("ROOTCRYPT_MAPPER_DIR") ? getenv("ROOTCRYPT_MAPPER_DIR") : "/dev/mapper", name);
	if (stat(mapper, &st) == 0)
		return log_error(EEXIST, "cannot unlock \"%s\": \"%s\" already exists", target, mapper);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return log_error_errno(errno, "cannot create pipe for cryptsetup");

	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return log_error_errno(r, "cannot start cryptsetup");
	}
	if (pid == 0) {
		const char *argv[12];
		int n = 0;

		if (dup2(pipefd[0], STDIN_FILENO) < 0)
			_exit(127);
		argv[n++] = cs;
		argv[n++] = "open";
		argv[n++] = "--type";
		argv[n++] = "luks2";
		argv[n++] = "--key-file=-";
		if (header) {
			argv[n++] = "--header";
			argv[n++] = header;
		}
		argv[n++] = target;
		argv[n++] = name;
		argv[n] = NULL;
		execv(cs, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[0]);
	/* cryptsetup may exit before reading everything (e.g. bad header);
	 * a SIGPIPE must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	r = write_all(pipefd[1], pass, pass_len);
	close(pipefd[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(errno, "waiting for cryptsetup failed");
	if (r < 0 && r != -EPIPE)
		return log_error_errno(r, "cannot pass the key to cryptsetup");
	if (!WIFEXITED(status))
		return log_error(EIO, "cryptsetup open \"%s\" died with signal %d", target,
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	switch (WEXITSTATUS(status)) {
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
				 WEXITSTATUS(status));
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

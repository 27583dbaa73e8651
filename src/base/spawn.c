#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

int spawn_wait(const char *const *argv, int *ret_status)
{
	int report[2], status, exec_err = 0;
	ssize_t n;
	pid_t pid;

	/* The child writes its execvp errno here; a clean exec closes the
	 * pipe (O_CLOEXEC) and the read sees end of file. */
	if (pipe2(report, O_CLOEXEC) < 0)
		return log_error_errno(errno, "cannot create a pipe for \"%s\"", argv[0]);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(report[0]);
		close(report[1]);
		return log_error_errno(r, "cannot start \"%s\"", argv[0]);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		exec_err = errno;
		(void)!write(report[1], &exec_err, sizeof(exec_err));
		_exit(127);
	}
	close(report[1]);
	do
		n = read(report[0], &exec_err, sizeof(exec_err));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(errno, "waiting for \"%s\" failed", argv[0]);
	if (n == (ssize_t)sizeof(exec_err))
		return log_error_errno(exec_err == ENOENT ? ENOENT : exec_err,
				       "cannot execute \"%s\"", argv[0]);
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
	return 0;
}

int run_program(const char *const *argv)
{
	int status, r = spawn_wait(argv, &status);

	if (r < 0)
		return r;
	if (status == 0)
		return 0;
	if (status < 256)
		return log_error(EIO, "\"%s\" failed with exit code %d", argv[0], status);
	return log_error(EIO, "\"%s\" died with signal %d", argv[0], status - 256);
}

#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

int run_program(const char *const *argv)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return log_error_errno(errno, "cannot start \"%s\"", argv[0]);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(errno, "waiting for \"%s\"", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return log_error(ENOENT, "cannot execute \"%s\" (not on PATH?)", argv[0]);
	if (WIFEXITED(status))
		return log_error(EIO, "\"%s\" failed with exit code %d", argv[0],
				 WEXITSTATUS(status));
	return log_error(EIO, "\"%s\" died with signal %d", argv[0],
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

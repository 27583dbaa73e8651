#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"

int spawn_wait(const char *const *argv, int *ret_status)
{
	return spawn_run(argv, NULL, ret_status);
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* The child's side: stdin, stdout and the working directory as io asks,
 * then exec; an errno that stops it goes to the parent on report. */
static void child(const char *const *argv, const struct spawn_io *io, const int in[2],
		  const int out[2], int report)
{
	int fd = in[0] >= 0 ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC), err;

	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	if (out[1] >= 0)
		dup2(out[1], STDOUT_FILENO);
	if (out[1] >= 0 && io && io->stderr_too)
		dup2(out[1], STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	if (io && io->cwd && chdir(io->cwd) < 0) {
		err = errno;
	} else {
		execvp(argv[0], (char *const *)argv);
		err = errno;
	}
	(void)!write(report, &err, sizeof(err));
	_exit(127);
}

/* Lines of the child's stdout to io->on_line until end of file. */
static void read_lines(int fd, const struct spawn_io *io)
{
	char buf[1024], *nl;
	size_t n = 0;
	bool cut = false; /* the rest of an over-long line is dropped */

	for (;;) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		while ((nl = memchr(buf, '\n', n))) {
			*nl = '\0';
			if (!cut)
				io->on_line(buf, io->line_ctx);
			cut = false;
			n -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, n);
		}
		if (n == sizeof(buf) - 1) {
			if (!cut)
				io->on_line(buf, io->line_ctx);
			cut = true;
			n = 0;
		}
	}
	if (n && !cut) {
		buf[n] = '\0';
		io->on_line(buf, io->line_ctx);
	}
}

/* The parent's side of the pipes: all of the input (it fits a pipe's
 * buffer: passphrases are small), then the output to its end. */
static int feed_and_collect(const struct spawn_io *io, int in[2], int out[2])
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	size_t n = 0;
	int r = 0;

	if (in[1] >= 0) {
		/* a child that exits before reading must not kill us */
		sigaction(SIGPIPE, &ign, &old);
		r = fileio_write_all(in[1], io->input, io->input_len);
		sigaction(SIGPIPE, &old, NULL);
		close(in[1]);
		in[1] = -1;
		if (r == -EPIPE)
			r = 0;
	}
	if (out[0] >= 0 && io->on_line)
		return r < 0 ? r : (read_lines(out[0], io), 0);
	while (out[0] >= 0) {
		char sink[256];
		bool keep = n + 1 < io->output_size;
		ssize_t k = read(out[0], keep ? io->output + n : sink,
				 keep ? io->output_size - 1 - n : sizeof(sink));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (keep)
			n += (size_t)k;
	}
	if (out[0] >= 0)
		io->output[n] = '\0';
	return r;
}

int spawn_run(const char *const *argv, const struct spawn_io *io, int *ret_status)
{
	int report[2], in[2] = { -1, -1 }, out[2] = { -1, -1 }, status, exec_err = 0, r;
	ssize_t n;
	pid_t pid;

	/* The child writes its execvp errno here; a clean exec closes the
	 * pipe (O_CLOEXEC) and the read sees end of file. */
	if (pipe2(report, O_CLOEXEC) < 0)
		return log_error_errno(errno, "cannot create a pipe for \"%s\"", argv[0]);
	if ((io && io->input && pipe2(in, O_CLOEXEC) < 0) ||
	    (io && ((io->output && io->output_size) || io->on_line) && pipe2(out, O_CLOEXEC) < 0)) {
		r = -errno;
		close_pair(report);
		close_pair(in);
		return log_error_errno(r, "cannot create a pipe for \"%s\"", argv[0]);
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close_pair(report);
		close_pair(in);
		close_pair(out);
		return log_error_errno(r, "cannot start \"%s\"", argv[0]);
	}
	if (pid == 0)
		child(argv, io, in, out, report[1]);
	close(report[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	in[0] = out[1] = -1;
	r = feed_and_collect(io, in, out);
	close_pair(out);
	do
		n = read(report[0], &exec_err, sizeof(exec_err));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(errno, "waiting for \"%s\" failed", argv[0]);
	if (n == (ssize_t)sizeof(exec_err))
		return log_error_errno(exec_err == ENOENT ? ENOENT : exec_err,
				       "cannot execute \"%s\"%s%s", argv[0],
				       io && io->cwd ? " in " : "", io && io->cwd ? io->cwd : "");
	if (r < 0)
		return log_error_errno(r, "cannot pass the input to \"%s\"", argv[0]);
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

/* Running a helper program (e2fsck, resize2fs, mke2fs, ...) and waiting for
 * it. The child's stdin is /dev/null (a tool that would ask must not wait
 * on the console at boot); stdout and stderr stay ours, so its messages
 * reach the console and the log. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Runs argv[0] (looked up in PATH when it has no '/') with argv. 0 with
 * *ret_status = its exit status (0-255) or 256 + signal number when a
 * signal ended it; -ENOENT (one error line) when it cannot be executed,
 * another negative errno when it cannot be started or waited for. */
int spawn_wait(const char *const *argv, int *ret_status);

/* What spawn_run gives the child beyond spawn_wait's defaults. */
struct spawn_io {
	const void *input;	/* bytes on its stdin (a pipe; never argv or the
				 * environment: passphrases go this way), or NULL
				 * for /dev/null */
	size_t input_len;
	char *output;		/* its stdout, NUL-terminated and cut to
				 * output_size - 1 bytes, or NULL to leave stdout ours */
	size_t output_size;
	const char *cwd;	/* its working directory, or NULL */
	/* Instead of output: each line of its stdout as it comes (without
	 * the newline; a line over 1 KiB is cut), for progress a long-running
	 * tool prints. A signal that interrupts the wait (EINTR) does not end
	 * it: the caller's handler decides what the child is told. */
	void (*on_line)(const char *line, void *ctx);
	void *line_ctx;
	/* its stderr goes where its stdout goes (output or on_line): a tool
	 * whose banner would be noise on ours, and whose message the caller
	 * quotes when it fails */
	bool stderr_too;
};

/* spawn_wait with io. A child that exits without reading all its input is
 * no error here (its exit status says what happened). */
int spawn_run(const char *const *argv, const struct spawn_io *io, int *ret_status);

/* As spawn_wait, for a tool that must succeed: 0 when it exits 0, else one
 * line naming it and how it ended (-ENOENT when it cannot be executed,
 * -EIO for a non-zero exit or a signal). */
int run_program(const char *const *argv);

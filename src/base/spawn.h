/* Running a helper program (e2fsck, resize2fs, mke2fs, ...) and waiting for
 * it. The child's stdin is /dev/null (a tool that would ask must not wait
 * on the console at boot); stdout and stderr stay ours, so its messages
 * reach the console and the log. */
#pragma once

/* Runs argv[0] (looked up in PATH when it has no '/') with argv. 0 with
 * *ret_status = its exit status (0-255) or 256 + signal number when a
 * signal ended it; -ENOENT (one error line) when it cannot be executed,
 * another negative errno when it cannot be started or waited for. */
int spawn_wait(const char *const *argv, int *ret_status);

/* As spawn_wait, for a tool that must succeed: 0 when it exits 0, else one
 * line naming it and how it ended (-ENOENT when it cannot be executed,
 * -EIO for a non-zero exit or a signal). */
int run_program(const char *const *argv);

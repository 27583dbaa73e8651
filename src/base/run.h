/* Runs an external program (found on PATH) and waits for it. */
#pragma once

/* argv[0] is looked up on PATH. 0 when it exits 0; otherwise one line
 * naming it and how it ended (-ENOENT when it cannot be executed, -EIO for
 * a non-zero exit or a signal). stdin is /dev/null. */
int run_program(const char *const *argv);

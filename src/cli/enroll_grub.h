/* Pure checks enroll makes of GRUB's settings and of what update-grub
 * generated from them (issue 15.5). No I/O: unit-tested directly. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* `text` is one snippet (a .cfg file of /etc/default/grub.d). 1 (and one phrase in
 * `why`, e.g. "line 3 sets GRUB_DEVICE") when it assigns a variable that
 * overrides the root= enroll sets in /etc/default/grub, or puts a root= on
 * GRUB_CMDLINE_LINUX*; 0 when it does not. */
int enroll_grub_snippet_overrides(const char *text, char *why, size_t why_len);

/* `cfg` is the grub.cfg update-grub wrote. 0 when it has at least one
 * linux line and each has exactly one root=, root=/dev/mapper/NAME; else 1
 * with the first offending line described in `why`. */
int enroll_grub_cfg_check(const char *cfg, const char *name, char *why, size_t why_len);

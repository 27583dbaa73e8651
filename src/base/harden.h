/* Process hardening done once at start: no core dumps, not dumpable (no
 * ptrace by other users, no /proc/PID/mem), and every heap block wiped when
 * it is freed or moved by realloc (harden.c, linked with --wrap=free and
 * --wrap=realloc), so a Key Vault secret or bearer token that passed through
 * libcurl's, json-c's or our own buffers is not left in freed memory. */
#pragma once

/* 0, or a negative errno when a limit could not be set (reported, not fatal). */
int harden_process(void);

/* Subcommand entry points: argv[0] is the subcommand name. Return 0 on
 * success, a negative errno on failure (already reported), CMD_USAGE for a
 * usage error (exit 2). */
#pragma once
#include <errno.h>

#define CMD_USAGE 2

int cmd_encrypt(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_open(int argc, char **argv);
int cmd_boot(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_online_resume(int argc, char **argv);
int cmd_debug_http(int argc, char **argv);
int cmd_debug_luks2(int argc, char **argv);
int cmd_debug_ext4tail(int argc, char **argv);
int cmd_debug_shrink(int argc, char **argv);
int cmd_debug_bootsplit(int argc, char **argv);
int cmd_debug_bootloader(int argc, char **argv);

/* Logging: one user-facing line per decision, debug lines at failure points.
 * The *_errno helpers return the negative errno they were given, so callers
 * can "return log_error_errno(r, ...)". */
#pragma once
#include <stdbool.h>

extern bool log_debug_enabled;

void log_set_prefix(const char *prefix);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "rootcrypt: <msg>: <strerror(err)>"; returns -|err|. */
int log_error_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "rootcrypt: <msg>" (no strerror: the errno is invented); returns -|err|. */
int log_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_LAST_ERROR_MAX 512
/* The last line log_error or log_error_errno printed in this thread since
 * log_last_error_clear() (without the "rootcrypt: " prefix, cut at
 * LOG_LAST_ERROR_MAX - 1 bytes), or "": for a status file that must say
 * why something stopped in the words the console used. */
const char *log_last_error(void);
void log_last_error_clear(void);

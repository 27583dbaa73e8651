#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool log_debug_enabled;
static const char *log_prefix = "rootcrypt";

void log_set_prefix(const char *prefix) { log_prefix = prefix; }

/* Per thread: the engine's workers log too, and a status file must get the
 * line its own thread printed. */
static _Thread_local char last_error[LOG_LAST_ERROR_MAX];

const char *log_last_error(void) { return last_error; }
void log_last_error_clear(void) { last_error[0] = '\0'; }

static void log_line(const char *level, int err, bool is_error, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (is_error) {
		/* cut to the buffer: a reason in a status file, not a log */
		size_t n = strnlen(msg, sizeof(last_error) - 1);

		memcpy(last_error, msg, n);
		last_error[n] = '\0';
		if (err)
			snprintf(last_error + n, sizeof(last_error) - n, ": %s", strerror(err));
	}
	if (err)
		fprintf(stderr, "%s: %s%s: %s\n", log_prefix, level, msg, strerror(err));
	else
		fprintf(stderr, "%s: %s%s\n", log_prefix, level, msg);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", 0, false, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning: ", 0, false, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_enabled)
		return;
	va_start(ap, fmt);
	log_line("debug: ", 0, false, fmt, ap);
	va_end(ap);
}

int log_error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	err = abs(err);
	va_start(ap, fmt);
	log_line("", err, true, fmt, ap);
	va_end(ap);
	return -err;
}

int log_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", 0, true, fmt, ap);
	va_end(ap);
	return -abs(err);
}

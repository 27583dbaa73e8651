#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool log_debug_enabled;
static const char *log_prefix = "rootcrypt";

void log_set_prefix(const char *prefix) { log_prefix = prefix; }

static void log_line(const char *level, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s%s: %s\n", log_prefix, level, msg, strerror(err));
	else
		fprintf(stderr, "%s: %s%s\n", log_prefix, level, msg);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", 0, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning: ", 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_enabled)
		return;
	va_start(ap, fmt);
	log_line("debug: ", 0, fmt, ap);
	va_end(ap);
}

int log_error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	err = abs(err);
	va_start(ap, fmt);
	log_line("", err, fmt, ap);
	va_end(ap);
	return -err;
}

int log_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", 0, fmt, ap);
	va_end(ap);
	return -abs(err);
}

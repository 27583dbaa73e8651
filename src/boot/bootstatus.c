#include "bootstatus.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

const char *bootstatus_state_name(enum bootstatus_state s)
{
	switch (s) {
	case BOOTSTATUS_NOT_ENCRYPTED: return "NotEncrypted";
	case BOOTSTATUS_IN_PROGRESS: return "EncryptionInProgress";
	case BOOTSTATUS_ENCRYPTED: return "Encrypted";
	}
	return "Unknown";
}

/* One decimal, written as such: json-c's default form of a double is %.17g
 * ("3.1000000000000001" for 3.1), noise for whoever reads the status. */
static struct json_object *one_decimal(double v)
{
	char text[32];

	v = (double)(long long)(v * 10) / 10;
	snprintf(text, sizeof(text), "%.1f", v);
	return json_object_new_double_s(v, text);
}

char *bootstatus_to_json(const struct bootstatus *st)
{
	struct json_object *o = json_object_new_object();
	double pct = st->bytes_total ? 100.0 * (double)st->bytes_done / (double)st->bytes_total : 0;
	char *s;

	if (!o)
		return NULL;
	json_object_object_add(o, "state", json_object_new_string(bootstatus_state_name(st->state)));
	if (st->device)
		json_object_object_add(o, "device", json_object_new_string(st->device));
	if (st->layout)
		json_object_object_add(o, "layout", json_object_new_string(st->layout));
	json_object_object_add(o, "percent", one_decimal(pct));
	json_object_object_add(o, "bytes_done", json_object_new_int64((int64_t)st->bytes_done));
	json_object_object_add(o, "bytes_total", json_object_new_int64((int64_t)st->bytes_total));
	json_object_object_add(o, "mb_per_s", one_decimal(st->mb_per_s));
	json_object_object_add(o, "last_error",
			       st->last_error ? json_object_new_string(st->last_error) : NULL);
	json_object_object_add(o, "updated", json_object_new_int64((int64_t)time(NULL)));
	if (bootstatus_split_to_json(&st->split, o) < 0) {
		json_object_put(o);
		return NULL;
	}
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

int bootstatus_write(const char *dir, const struct bootstatus *st)
{
	char path[512], tmp[520];
	char *json = bootstatus_to_json(st);
	size_t len;
	int fd, r = 0;

	if (!json)
		return log_error(ENOMEM, "cannot build status JSON");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = log_error_errno(errno, "cannot create \"%s\"", dir);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/status.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = log_error_errno(errno, "cannot write \"%s\"", tmp);
		goto out;
	}
	len = strlen(json);
	json[len] = '\n'; /* replaces the NUL; length passed explicitly */
	if (write(fd, json, len + 1) != (ssize_t)(len + 1))
		r = log_error_errno(errno ? errno : EIO, "cannot write \"%s\"", tmp);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = log_error_errno(errno, "cannot rename \"%s\"", tmp);
out:
	free(json);
	return r;
}

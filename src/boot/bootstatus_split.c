#include "bootstatus_split.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

const char *bootstatus_split_state_name(enum bootstatus_split_state s)
{
	switch (s) {
	case BOOTSTATUS_SPLIT_NONE: return NULL;
	case BOOTSTATUS_SPLIT_IN_PROGRESS: return "in-progress";
	case BOOTSTATUS_SPLIT_DONE: return "done";
	case BOOTSTATUS_SPLIT_REFUSED: return "refused";
	case BOOTSTATUS_SPLIT_INCOMPLETE: return "incomplete";
	}
	return NULL;
}

static struct json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

int bootstatus_split_add(struct json_object *o, const char *state, const char *step,
			 const char *reason)
{
	struct json_object *m = json_object_new_object();

	if (!m)
		return -ENOMEM;
	/* json-c escapes the reason (quotes, backslashes, control bytes): it
	 * is an error line that may quote a path or a tool's output */
	json_object_object_add(m, "state", json_object_new_string(state));
	json_object_object_add(m, "step", string_or_null(step));
	json_object_object_add(m, "reason", string_or_null(reason));
	json_object_object_add(o, "boot_split", m);
	return 0;
}

int bootstatus_split_to_json(const struct bootstatus_split *sp, struct json_object *o)
{
	const char *state = bootstatus_split_state_name(sp->state);

	return state ? bootstatus_split_add(o, state, sp->step, sp->reason) : 0;
}

/* Same block device, or the same file (an image in tests). */
static bool same_device(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return false;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void copy_member(struct json_object *m, const char *key, char *out, size_t n)
{
	struct json_object *v;

	out[0] = '\0';
	if (json_object_object_get_ex(m, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, n, "%s", json_object_get_string(v));
}

int bootstatus_split_read(const char *dir, const char *device, struct bootstatus_split_text *ret)
{
	char path[512];
	struct json_object *o, *v, *m;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if ((size_t)snprintf(path, sizeof(path), "%s/status.json", dir) >= sizeof(path))
		return log_error(ENAMETOOLONG, "status directory \"%s\" is too long", dir);
	if (access(path, F_OK) < 0)
		return 0;
	o = json_object_from_file(path);
	if (!o)
		return log_error(EBADMSG, "cannot read \"%s\" as JSON", path);
	if (json_object_object_get_ex(o, "device", &v) && json_object_is_type(v, json_type_string) &&
	    same_device(json_object_get_string(v), device) &&
	    json_object_object_get_ex(o, "boot_split", &m) && json_object_is_type(m, json_type_object)) {
		copy_member(m, "state", ret->state, sizeof(ret->state));
		copy_member(m, "step", ret->step, sizeof(ret->step));
		copy_member(m, "reason", ret->reason, sizeof(ret->reason));
		r = ret->state[0] ? 1 : 0;
	}
	json_object_put(o);
	return r;
}

/* The split's own error lines start by naming it; the line already does. */
static const char *without_split_prefix(const char *reason)
{
	static const char *const prefixes[] = { "/boot split refused: ", "/boot split stopped: ",
						"/boot split: ", "boot split: " };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(reason, prefixes[i], strlen(prefixes[i])))
			return reason + strlen(prefixes[i]);
	return reason;
}

void bootstatus_split_line(const struct bootstatus_split_text *t, char *out, size_t n)
{
	const char *reason = t->reason[0] ? without_split_prefix(t->reason) : "no reason recorded";

	if (!strcmp(t->state, "done"))
		snprintf(out, n, "/boot split: done (/boot has a partition of its own)");
	else if (!strcmp(t->state, "in-progress"))
		snprintf(out, n, "/boot split: in progress, step %s", t->step[0] ? t->step : "?");
	else if (!strcmp(t->state, "refused"))
		snprintf(out, n, "/boot split: refused: %s", reason);
	else if (!strcmp(t->state, "incomplete") && t->step[0])
		snprintf(out, n, "/boot split: incomplete after step %s: %s (the next boot goes on)",
			 t->step, reason);
	else if (!strcmp(t->state, "incomplete"))
		snprintf(out, n, "/boot split: incomplete: %s (the next boot goes on)", reason);
	else
		snprintf(out, n, "/boot split: %s", t->state);
}

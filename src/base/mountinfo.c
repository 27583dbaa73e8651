#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"

/* One whitespace-separated field from *p into out, \ooo escapes decoded;
 * 0, or -1 when the line has no such field or it does not fit. */
static int field(const char **p, char *out, size_t n)
{
	const char *s = *p;
	size_t len = 0;

	while (*s == ' ')
		s++;
	if (!*s || *s == '\n')
		return -1;
	for (; *s && *s != ' ' && *s != '\n'; s++) {
		char c = *s;

		if (c == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			c = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		}
		if (len + 1 >= n)
			return -1;
		out[len++] = c;
	}
	out[len] = '\0';
	*p = s;
	return 0;
}

/* "ro" as a whole item of a comma-separated option list. */
static bool has_ro(const char *opts)
{
	for (const char *o = opts; o && *o;) {
		size_t k = strcspn(o, ",");

		if (k == 2 && strncmp(o, "ro", 2) == 0)
			return true;
		o += k + (o[k] == ',');
	}
	return false;
}

/* The part of path below root ("" when equal), or NULL when root is not
 * path or one of its parent directories. */
static const char *below(const char *root, const char *path)
{
	size_t k = strlen(root);

	if (strcmp(root, "/") == 0)
		return path;
	if (strncmp(path, root, k) != 0 || (path[k] && path[k] != '/'))
		return NULL;
	return path + k;
}

int mountinfo_locate(const char *text, unsigned major, unsigned minor, const char *path,
		     char *out, size_t n, bool *ret_ro)
{
	int found = 0;

	if (path[0] != '/')
		return -EINVAL;
	for (const char *line = text; line && *line;) {
		char root[PATH_MAX], dir[PATH_MAX], opts[512], skip[PATH_MAX], superopts[512];
		const char *p = line, *rest, *dash;
		unsigned id, parent, ma, mi;
		bool ro;

		line = strchr(line, '\n');
		if (line)
			line++;
		if (sscanf(p, "%u %u %u:%u", &id, &parent, &ma, &mi) != 4 || ma != major ||
		    mi != minor)
			continue;
		for (int i = 0; i < 3; i++) /* id, parent, major:minor */
			if (field(&p, skip, sizeof(skip)) < 0)
				goto next;
		if (field(&p, root, sizeof(root)) < 0 || field(&p, dir, sizeof(dir)) < 0 ||
		    field(&p, opts, sizeof(opts)) < 0)
			continue;
		dash = strstr(p, " - ");
		if (!dash || (line && dash >= line))
			continue;
		p = dash + 3;
		if (field(&p, skip, sizeof(skip)) < 0 || field(&p, skip, sizeof(skip)) < 0 ||
		    field(&p, superopts, sizeof(superopts)) < 0)
			continue;
		rest = below(root, path);
		if (!rest)
			continue;
		ro = has_ro(opts) || has_ro(superopts);
		if (found && (ro || !*ret_ro))
			continue; /* keep the first read-write one */
		if ((size_t)snprintf(out, n, "%s%s", strcmp(dir, "/") == 0 && *rest ? "" : dir,
				     rest) >= n)
			return -ENAMETOOLONG;
		*ret_ro = ro;
		found = 1;
next:;
	}
	return found;
}

/* mountinfo of a host with many mounts (containers) stays far below this */
#define MOUNTINFO_MAX (4u << 20)

int mountinfo_locate_self(unsigned major, unsigned minor, const char *path, char *out, size_t n,
			  bool *ret_ro)
{
	char *text = NULL;
	size_t len;
	int r;

	r = fileio_read_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX, &text, &len);
	if (r == -ENOENT)
		r = log_error(ENOENT, "cannot read /proc/self/mountinfo (no /proc?)");
	if (r < 0)
		return r;
	r = mountinfo_locate(text, major, minor, path, out, n, ret_ro);
	free(text);
	return r;
}

#include "online_key.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "keyring.h"
#include "log.h"
#include "test_hooks.h"

/* Root's user keyring: it outlives the initramfs process and is not the
 * unit's private session keyring, so the unit finds it by asking for @u.
 * Test build only: ROOTCRYPT_KEYRING=session uses the caller's session
 * keyring, so a test run in a private one never touches the machine's. */
static int32_t handover_ring(void)
{
	const char *t = test_hook_getenv("ROOTCRYPT_KEYRING");

	return t && strcmp(t, "session") == 0 ? KEY_SPEC_SESSION_KEYRING : KEY_SPEC_USER_KEYRING;
}

static void key_desc(const char *uuid, char *desc, size_t n)
{
	snprintf(desc, n, "rootcrypt:online:%s", uuid);
}

int online_key_read(const char *uuid, char **ret_secmem, size_t *ret_len)
{
	char desc[80];

	key_desc(uuid, desc, sizeof(desc));
	return keyring_user_read(handover_ring(), desc, ret_secmem, ret_len);
}

int online_key_forget(const char *uuid)
{
	char desc[80];

	key_desc(uuid, desc, sizeof(desc));
	return keyring_user_remove(handover_ring(), desc);
}

int online_key_put(const char *uuid, const char *pass, size_t pass_len)
{
	char desc[80];

	key_desc(uuid, desc, sizeof(desc));
	return keyring_user_add(handover_ring(), desc, pass, pass_len, ONLINE_KEY_TIMEOUT_S);
}

int online_key_hand_over(const char *status_dir, const struct online_marker *m,
			 const char *pass, size_t pass_len)
{
	char text[4 * PATH_MAX + 256];
	int dirfd, n, r;

	r = online_key_put(m->uuid, pass, pass_len);
	if (r < 0)
		return r;
	n = snprintf(text, sizeof(text), "uuid=%s\ndevice=%s\nname=%s\n%s%s%s%s%s%s", m->uuid,
		     m->device, m->name, m->header_fs[0] ? "header_fs=" : "", m->header_fs,
		     m->header_fs[0] ? "\n" : "", m->header_path[0] ? "header_path=" : "",
		     m->header_path, m->header_path[0] ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return log_error(ENAMETOOLONG, "the online marker for \"%s\" is too long", m->device);
	if (mkdir(status_dir, 0755) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create \"%s\"", status_dir);
	dirfd = open(status_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", status_dir);
	r = fileio_replace_at(dirfd, ONLINE_MARKER_NAME, ONLINE_MARKER_NAME ".tmp", text,
			      (size_t)n, NULL);
	close(dirfd);
	if (r == 0)
		log_info("online: the key for volume %s is in the kernel keyring for "
			 "rootcrypt-online.service", m->uuid);
	return r;
}

/* One "key=value" line into field (size n); 1 when key matched. */
static int take(const char *line, const char *key, char *field, size_t n, int *bad)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) != 0 || line[k] != '=')
		return 0;
	if (strlen(line + k + 1) == 0 || strlen(line + k + 1) >= n)
		*bad = 1;
	else
		snprintf(field, n, "%s", line + k + 1);
	return 1;
}

int online_marker_read(const char *status_dir, struct online_marker *ret)
{
	struct online_marker m = { 0 };
	char *buf = NULL, *line, *save = NULL;
	size_t len;
	int dirfd, r, bad = 0;

	dirfd = open(status_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? -ENOENT : log_error_errno(errno, "cannot open \"%s\"", status_dir);
	r = fileio_read_at(dirfd, ONLINE_MARKER_NAME, 4 * PATH_MAX + 256, &buf, &len);
	close(dirfd);
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line && !bad; line = strtok_r(NULL, "\n", &save))
		if (!take(line, "uuid", m.uuid, sizeof(m.uuid), &bad) &&
		    !take(line, "device", m.device, sizeof(m.device), &bad) &&
		    !take(line, "name", m.name, sizeof(m.name), &bad) &&
		    !take(line, "header_fs", m.header_fs, sizeof(m.header_fs), &bad) &&
		    !take(line, "header_path", m.header_path, sizeof(m.header_path), &bad))
			bad = 1;
	free(buf);
	if (bad || !m.uuid[0] || !m.device[0] || !m.name[0] ||
	    (m.header_fs[0] && !m.header_path[0]))
		return log_error(EINVAL, "\"%s/" ONLINE_MARKER_NAME "\" is not what rootcrypt boot "
					 "writes (uuid=, device=, name= lines; header_path= with "
					 "header_fs=)", status_dir);
	*ret = m;
	return 0;
}

int online_marker_remove(const char *status_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" ONLINE_MARKER_NAME, status_dir);
	if (unlink(path) < 0 && errno != ENOENT)
		return log_error_errno(errno, "cannot remove \"%s\"", path);
	return 0;
}

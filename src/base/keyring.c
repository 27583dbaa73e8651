#include "keyring.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/keyctl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "secmem.h"

/* possessor and owner's uid: view, read, search. No write (a later boot
 * replaces the key, it never updates it), no setattr once the timeout is
 * set, nothing for other uids. */
#define KEY_PERM_VIEW 0x01u	/* bits per class (keyctl(2), KEYCTL_SETPERM) */
#define KEY_PERM_READ 0x02u
#define KEY_PERM_SEARCH 0x08u
#define KEY_PERM_POSSESSOR(p) ((p) << 24)
#define KEY_PERM_USER(p) ((p) << 16)
#define KEY_PERM_HANDOVER                                                                   \
	(KEY_PERM_POSSESSOR(KEY_PERM_VIEW | KEY_PERM_READ | KEY_PERM_SEARCH) |              \
	 KEY_PERM_USER(KEY_PERM_VIEW | KEY_PERM_READ | KEY_PERM_SEARCH))

static long keyctl5(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
	return syscall(SYS_keyctl, op, a, b, c, d);
}

static int32_t search(int32_t ring, const char *desc)
{
	long id = keyctl5(KEYCTL_SEARCH, (unsigned long)(long)ring, (unsigned long)"user",
			  (unsigned long)desc, 0);

	return id < 0 ? -errno : (int32_t)id;
}

int keyring_user_add(int32_t ring, const char *desc, const void *data, size_t len,
		     unsigned timeout_s)
{
	long id;
	int r;

	/* A key of ours from an earlier boot has no write permission, so
	 * add_key could not update it in place: it goes first. */
	r = keyring_user_remove(ring, desc);
	if (r < 0)
		return r;
	r = 0;
	/* A new key's setattr and link permissions are the possessor's only,
	 * and a key in the user keyring is possessed only when the caller's
	 * session keyring links the user keyring: not so in a systemd
	 * service (dracut's initqueue, KeyringMode=private), where setting
	 * the timeout then failed with EACCES. So the key is made in this
	 * thread's own keyring (always possessed), given its timeout, linked
	 * into RING, given the hand-over permissions, and unlinked from the
	 * thread keyring. */
	id = syscall(SYS_add_key, "user", desc, data, len, KEY_SPEC_THREAD_KEYRING);
	if (id < 0)
		return log_error_errno(errno, "cannot add the key \"%s\" to the kernel keyring", desc);
	if (timeout_s && keyctl5(KEYCTL_SET_TIMEOUT, (unsigned long)id, timeout_s, 0, 0) < 0)
		r = log_error_errno(errno, "cannot set a timeout on the key \"%s\"", desc);
	else if (keyctl5(KEYCTL_LINK, (unsigned long)id, (unsigned long)(long)ring, 0, 0) < 0)
		r = log_error_errno(errno, "cannot link the key \"%s\" into its keyring", desc);
	else if (keyctl5(KEYCTL_SETPERM, (unsigned long)id, KEY_PERM_HANDOVER, 0, 0) < 0)
		r = log_error_errno(errno, "cannot set the permissions of the key \"%s\"", desc);
	keyctl5(KEYCTL_UNLINK, (unsigned long)id, KEY_SPEC_THREAD_KEYRING, 0, 0);
	if (r < 0)
		keyctl5(KEYCTL_INVALIDATE, (unsigned long)id, 0, 0, 0);
	return r;
}

int keyring_user_read(int32_t ring, const char *desc, char **ret_secmem, size_t *ret_len)
{
	int32_t id = search(ring, desc);
	char *buf;
	long n, m;

	if (id == -ENOKEY || id == -EKEYEXPIRED || id == -EKEYREVOKED)
		return id == -EKEYEXPIRED ? -EKEYEXPIRED : -ENOKEY;
	if (id < 0)
		return log_error_errno(id, "cannot search the kernel keyring for \"%s\"", desc);
	n = keyctl5(KEYCTL_READ, (unsigned long)id, 0, 0, 0);
	if (n < 0)
		return log_error_errno(errno, "cannot read the key \"%s\"", desc);
	buf = secmem_alloc((size_t)n + 1);
	if (!buf)
		return log_error(ENOMEM, "cannot allocate locked memory for the key \"%s\"", desc);
	m = keyctl5(KEYCTL_READ, (unsigned long)id, (unsigned long)buf, (unsigned long)n, 0);
	if (m < 0 || m != n) {
		/* replaced between the two reads, or gone: as if absent */
		int r = m < 0 ? -errno : -ENOKEY;

		secmem_free(buf);
		return r == -ENOKEY || r == -EKEYEXPIRED
			       ? r
			       : log_error_errno(r, "cannot read the key \"%s\"", desc);
	}
	*ret_secmem = buf;
	*ret_len = (size_t)n;
	return 0;
}

/* Whether key id is the `user` key desc: its description reads
 * "user;UID;GID;PERM;DESC". */
static bool is_user_key(int32_t id, const char *desc, long *ret_err)
{
	char d[512];
	const char *name = d;
	long k = keyctl5(KEYCTL_DESCRIBE, (unsigned long)(long)id, (unsigned long)d, sizeof(d), 0);

	*ret_err = k < 0 ? errno : 0;
	if (k <= 0 || (size_t)k > sizeof(d) || strncmp(d, "user;", 5) != 0)
		return false;
	d[sizeof(d) - 1] = '\0';
	for (int semis = 0; semis < 4 && name; semis++)
		name = (name = strchr(name, ';')) ? name + 1 : NULL;
	return name && strcmp(name, desc) == 0;
}

int keyring_user_remove(int32_t ring, const char *desc)
{
	int32_t ids[256];
	long n = keyctl5(KEYCTL_READ, (unsigned long)(long)ring, (unsigned long)ids, sizeof(ids), 0);
	int found = 0;

	/* The ring is listed rather than searched: a search skips an expired
	 * key, which keeps its name (and, having no write permission, blocks
	 * add_key) until the kernel collects it. */
	if (n < 0)
		return errno == ENOKEY ? 0 : log_error_errno(errno, "cannot list the kernel keyring "
								"for \"%s\"", desc);
	if ((size_t)n > sizeof(ids))
		n = sizeof(ids); /* over 256 keys: the rest are left alone */
	for (size_t i = 0; i < (size_t)n / sizeof(ids[0]); i++) {
		long err;
		bool ours = is_user_key(ids[i], desc, &err);

		/* An expired key cannot even be described; it is dead, and the
		 * kernel unlinks it at its next collection: done here now. */
		if (!ours && err != EKEYEXPIRED)
			continue;
		if (keyctl5(KEYCTL_UNLINK, (unsigned long)(long)ids[i], (unsigned long)(long)ring, 0,
			    0) < 0 && errno != ENOENT)
			return log_error_errno(errno, "cannot remove the key \"%s\"", desc);
		if (ours) {
			/* and from any other keyring that links it */
			keyctl5(KEYCTL_INVALIDATE, (unsigned long)(long)ids[i], 0, 0, 0);
			found = 1;
		}
	}
	return found;
}

/* src/base/keyring.c against the host kernel's keyrings, in a fresh
 * anonymous session keyring of this process only: the machine's user
 * keyring is never touched (the keys go to KEY_SPEC_SESSION_KEYRING). */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keyring.h"
#include "secmem.h"
#include "test.h"

/* 1 when this process now has a session keyring of its own */
static int private_session(void)
{
	return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0) >= 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -EIO;
	close(fd);
	return r;
}

static int read_is(const char *desc, const char *want)
{
	char *got = NULL;
	size_t len = 0;
	int r = keyring_user_read(KEY_SPEC_SESSION_KEYRING, desc, &got, &len), same;

	if (r < 0)
		return r;
	same = len == strlen(want) && memcmp(got, want, len) == 0 && got[len] == '\0' &&
	       secmem_size(got) == len + 1;
	secmem_free(got);
	return same ? 1 : 0;
}

TEST(keyring_add_read_replace_remove)
{
	char desc[64], d[256];
	long id;

	if (!private_session())
		SKIP("no kernel keyrings here (keyctl join session keyring failed)");
	snprintf(desc, sizeof(desc), "rootcrypt:test:%d", (int)getpid());
	CHECK_EQ_INT(keyring_user_add(KEY_SPEC_SESSION_KEYRING, desc, "secret-1", 8, 60), 0);
	CHECK_EQ_INT(read_is(desc, "secret-1"), 1);
	/* view/read/search for possessor and uid, nothing else */
	id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
	CHECK(id > 0);
	CHECK(syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, d, sizeof(d), 0) > 0);
	CHECK(strstr(d, ";0b0b0000;") != NULL);
	/* no write permission, yet a later boot replaces it */
	CHECK_EQ_INT(keyring_user_add(KEY_SPEC_SESSION_KEYRING, desc, "secret-2", 8, 60), 0);
	CHECK_EQ_INT(read_is(desc, "secret-2"), 1);
	CHECK_EQ_INT(keyring_user_remove(KEY_SPEC_SESSION_KEYRING, desc), 1);
	CHECK_EQ_INT(read_is(desc, "secret-2"), -ENOKEY);
	CHECK_EQ_INT(keyring_user_remove(KEY_SPEC_SESSION_KEYRING, desc), 0);
	/* the user keyring was never used */
	CHECK(syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0) < 0);
}

TEST(keyring_key_times_out_and_can_be_replaced)
{
	struct timespec pause = { 1, 300 * 1000 * 1000 };
	char desc[64];

	if (!private_session())
		SKIP("no kernel keyrings here (keyctl join session keyring failed)");
	snprintf(desc, sizeof(desc), "rootcrypt:test-timeout:%d", (int)getpid());
	CHECK_EQ_INT(keyring_user_add(KEY_SPEC_SESSION_KEYRING, desc, "short", 5, 1), 0);
	CHECK_EQ_INT(read_is(desc, "short"), 1);
	nanosleep(&pause, NULL);
	CHECK_EQ_INT(read_is(desc, "short"), -EKEYEXPIRED);
	/* the expired key still holds the name until collected */
	CHECK_EQ_INT(keyring_user_add(KEY_SPEC_SESSION_KEYRING, desc, "again", 5, 60), 0);
	CHECK_EQ_INT(read_is(desc, "again"), 1);
	CHECK_EQ_INT(keyring_user_remove(KEY_SPEC_SESSION_KEYRING, desc), 1);
}

/* The hand-over as the initramfs makes it under systemd (dracut): the
 * caller's session keyring is a private one that does not link the user
 * keyring, so the caller does not possess the key it adds there. Seen in a
 * QEMU dracut boot: "cannot set a timeout on the key ...: Permission
 * denied", and the conversion never resumed. Run in a child inside a user
 * namespace of its own, whose user keyring is new: the machine's is never
 * touched. Exit codes: 0 pass, 1 fail, 77 no user namespace here. */
static int add_without_possession(void)
{
	const char *desc = "rootcrypt:test-unpossessed";
	char *got = NULL;
	size_t len = 0;
	long id;
	char d[256];
	int ok;

	if (unshare(CLONE_NEWUSER) < 0 || write_file("/proc/self/setgroups", "deny") < 0 ||
	    write_file("/proc/self/uid_map", "0 0 1") < 0 ||
	    write_file("/proc/self/gid_map", "0 0 1") < 0 || !private_session())
		return 77;
	if (keyring_user_add(KEY_SPEC_USER_KEYRING, desc, "secret-u", 8, 60) < 0)
		return 1;
	if (keyring_user_read(KEY_SPEC_USER_KEYRING, desc, &got, &len) < 0)
		return 1;
	ok = len == 8 && memcmp(got, "secret-u", 8) == 0;
	secmem_free(got);
	/* in the user keyring itself, with the hand-over permissions, and no
	 * longer in the thread keyring it was made in */
	id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", desc, 0);
	ok = ok && id > 0 && syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, d, sizeof(d), 0) > 0 &&
	     strstr(d, ";0b0b0000;") != NULL &&
	     syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_THREAD_KEYRING, "user", desc, 0) < 0;
	return ok && keyring_user_remove(KEY_SPEC_USER_KEYRING, desc) == 1 ? 0 : 1;
}

TEST(keyring_user_add_when_the_session_does_not_link_the_user_keyring)
{
	int status = 0;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(add_without_possession());
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		SKIP("no user namespace with a keyring of its own here");
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

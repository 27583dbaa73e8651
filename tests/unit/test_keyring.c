/* src/base/keyring.c against the host kernel's keyrings, in a fresh
 * anonymous session keyring of this process only: the machine's user
 * keyring is never touched (the keys go to KEY_SPEC_SESSION_KEYRING). */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <sys/syscall.h>
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

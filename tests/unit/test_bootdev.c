#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "bootdev.h"
#include "bootprompt.h"
#include "secmem.h"
#include "test.h"

TEST(bootdev_spec_forms)
{
	char p[256];

	CHECK(bootdev_spec_path("PARTUUID=ABCD-01", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/disk/by-partuuid/abcd-01");
	CHECK(bootdev_spec_path("UUID=F00D", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/disk/by-uuid/f00d");
	CHECK(bootdev_spec_path("PARTLABEL=Root", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/disk/by-partlabel/Root");
	CHECK(bootdev_spec_path("/dev/vda1", p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/vda1");
	CHECK_EQ_INT(bootdev_spec_path("PARTUUID=", p, sizeof(p)), -EINVAL);
	CHECK_EQ_INT(bootdev_spec_path("UUID=../x", p, sizeof(p)), -EINVAL);
	CHECK_EQ_INT(bootdev_spec_path("vda1", p, sizeof(p)), -EINVAL);
}

TEST(bootdev_wait_times_out_on_missing_device)
{
	char p[256];

	CHECK_EQ_INT(bootdev_wait("/nonexistent/dev", 200, p, sizeof(p)), -ETIMEDOUT);
	CHECK(bootdev_wait("/dev/null", 0, p, sizeof(p)) == 0);
	CHECK_EQ_STR(p, "/dev/null");
}

/* Everything readable on fd right now (non-blocking), NUL-terminated. */
static size_t drain(int fd, char *out, size_t size)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (n + 1 >= size || poll(&p, 1, 200) <= 0)
			break;
		k = read(fd, out + n, size - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	return n;
}

/* Issue 16.8: a console that is not a terminal (here a FIFO) cannot hide
 * what is typed: one line says so before the prompt, and the prompt still
 * reads the answer. */
TEST(bootprompt_says_when_echo_cannot_be_turned_off)
{
	char dir[] = "/tmp/console-XXXXXX", path[64], seen[1024];
	char *pass = NULL;
	size_t len = 0;
	int fd, r;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(mkfifo(path, 0600) == 0);
	fd = open(path, O_RDWR | O_NONBLOCK); /* holds the FIFO's data */
	CHECK(fd >= 0);
	CHECK(write(fd, "s3cret-Value\nrest", 17) == 17);
	r = bootprompt_read(path, "PROMPT> ", 5, &pass, &len);
	drain(fd, seen, sizeof(seen));
	close(fd);
	unlink(path);
	rmdir(dir);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(len, 12);
	CHECK_EQ_STR(pass, "s3cret-Value");
	secmem_free(pass);
	/* "rest\n" was not read; after it: the warning, then the prompt */
	CHECK(strncmp(seen, "rest", 4) == 0);
	CHECK(strstr(seen, "echo cannot be turned off") != NULL);
	CHECK(strstr(seen, "will be visible") != NULL);
	CHECK(strstr(seen, "echo cannot be turned off") < strstr(seen, "PROMPT> "));
}

struct typist {
	int master;
	char seen[1024]; /* what the console showed up to the prompt */
	bool ok;
};

/* Types the answer once the prompt is on the screen (input typed earlier
 * would be flushed by the prompt: TCSAFLUSH). */
static void *type_answer(void *arg)
{
	struct typist *t = arg;
	size_t n = 0;

	while (!strstr(t->seen, "PROMPT> ")) {
		struct pollfd p = { .fd = t->master, .events = POLLIN };
		ssize_t k;

		if (n + 1 >= sizeof(t->seen) || poll(&p, 1, 5000) <= 0)
			return NULL;
		k = read(t->master, t->seen + n, sizeof(t->seen) - 1 - n);
		if (k <= 0)
			return NULL;
		n += (size_t)k;
		t->seen[n] = '\0';
	}
	t->ok = write(t->master, "typed-Secret\n", 13) == 13;
	return NULL;
}

/* On a terminal: echo off while reading (what is typed does not come back
 * on the screen), no warning, and the settings restored afterwards. */
TEST(bootprompt_hides_what_is_typed_on_a_terminal)
{
	struct typist t = { .master = posix_openpt(O_RDWR | O_NOCTTY) };
	struct termios before, after;
	char *pass = NULL, *slave, rest[1024];
	size_t len = 0;
	pthread_t th;
	int sfd, r;

	if (t.master < 0 || grantpt(t.master) < 0 || unlockpt(t.master) < 0 ||
	    !(slave = ptsname(t.master))) {
		if (t.master >= 0)
			close(t.master);
		SKIP("no pseudo-terminal on this host");
	}
	sfd = open(slave, O_RDWR | O_NOCTTY); /* keeps the line open throughout */
	CHECK(sfd >= 0);
	CHECK(tcgetattr(sfd, &before) == 0);
	CHECK(before.c_lflag & ECHO);
	CHECK(pthread_create(&th, NULL, type_answer, &t) == 0);
	r = bootprompt_read(slave, "PROMPT> ", 5, &pass, &len);
	pthread_join(th, NULL);
	drain(t.master, rest, sizeof(rest));
	CHECK(tcgetattr(sfd, &after) == 0);
	close(sfd);
	close(t.master);
	CHECK(t.ok);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_STR(pass, "typed-Secret");
	secmem_free(pass);
	CHECK(strstr(t.seen, "echo cannot") == NULL);
	CHECK(strstr(rest, "typed-Secret") == NULL);
	CHECK(after.c_lflag & ECHO);
}

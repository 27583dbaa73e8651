/* Issue 16: secrets must not stay in freed heap, and the process must not
 * dump core. The heap checks read a block right after it was freed (glibc
 * keeps it mapped; its first 16 bytes become allocator pointers), which
 * ASan rightly forbids: there they skip. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harden.h"
#include "json_util.h"
#include "test.h"

#define SECRET "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3Qtc3RheQ"

#if defined(__SANITIZE_ADDRESS__)
#define NEEDS_PLAIN_HEAP() SKIP("reads freed heap, which ASan forbids")
#else
#define NEEDS_PLAIN_HEAP() do { } while (0)
#endif
/* reading a block after free() is the point of these tests */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif
/* 1 when the bytes after the allocator's 16 still hold the pattern. */
__attribute__((no_sanitize("address")))
static int holds(const volatile char *p, size_t n, const char *pat)
{
	size_t m = strlen(pat);

	for (size_t i = 16; i + m <= n; i++)
		if (memcmp((const char *)p + i, pat, m) == 0)
			return 1;
	return 0;
}

TEST(harden_free_wipes_the_block)
{
	char *p;
	volatile char *seen;

	NEEDS_PLAIN_HEAP();
	p = malloc(200);
	CHECK(p);
	/* through a volatile pointer: stores into a block that is freed next
	 * are dead to the compiler, which would drop them and leave nothing
	 * to find */
	seen = p;
	for (size_t i = 0; i < 16; i++)
		seen[i] = 'x';
	for (size_t i = 0; i <= strlen(SECRET); i++)
		seen[16 + i] = SECRET[i];
	free(p);
	CHECK(!holds(seen, 200, SECRET));
}

TEST(harden_realloc_that_moves_wipes_the_old_block)
{
	NEEDS_PLAIN_HEAP();
	char *p = malloc(100), *fence = malloc(100), *q;
	volatile char *seen;

	CHECK(p && fence);
	memset(p, 'x', 16);
	strcpy(p + 16, SECRET);
	seen = p;
	q = realloc(p, 1 << 16); /* the fence makes it move */
	CHECK(q);
	CHECK(q != (char *)seen);
	CHECK(holds(q, 100, SECRET)); /* the content moved... */
	CHECK(!holds(seen, 100, SECRET)); /* ...and did not stay behind */
	free(q);
	free(fence);
}

TEST(harden_json_secret_gone_after_put)
{
	NEEDS_PLAIN_HEAP();
	static const char doc[] = "{\"value\":\"" SECRET "\",\"id\":\"x\"}";
	struct json_object *o;
	const char *v;
	volatile const char *seen;

	CHECK_EQ_INT(json_parse_object(doc, strlen(doc), &o), 0);
	CHECK_EQ_INT(json_get_string(o, "value", &v), 0);
	CHECK_EQ_STR(v, SECRET);
	seen = v;
	json_object_put(o);
	/* the string's own storage (inline in its json-c object) */
	CHECK(memcmp((const char *)seen, SECRET, strlen(SECRET)) != 0);
}

TEST(harden_no_core_not_dumpable)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;

		if (harden_process() < 0 || getrlimit(RLIMIT_CORE, &rl) < 0)
			_exit(2);
		_exit(rl.rlim_cur == 0 && rl.rlim_max == 0 && prctl(PR_GET_DUMPABLE) == 0 ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

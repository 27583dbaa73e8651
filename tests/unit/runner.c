/* Runs every registered test (or those whose name contains argv[1]) and ends
 * with "N passed, N failed, N skipped". With CI=true in the environment a
 * skip counts as a failure: in CI a missing tool is a failure. */
#include <stdbool.h>
#include <stdlib.h>

#include "test.h"

static struct test_case *tests;
static bool current_failed;
static const char *current_skipped;

void test_register(struct test_case *t)
{
	struct test_case **p = &tests;

	/* Keep file order stable: append. */
	while (*p)
		p = &(*p)->next;
	*p = t;
}

void test_fail(void) { current_failed = true; }
void test_skip(const char *reason) { current_skipped = reason; }

int main(int argc, char **argv)
{
	const char *ci = getenv("CI");
	bool strict = ci && strcmp(ci, "true") == 0;
	unsigned passed = 0, failed = 0, skipped = 0;

	for (struct test_case *t = tests; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = false;
		current_skipped = NULL;
		t->fn();
		if (current_failed) {
			printf("FAIL %s\n", t->name);
			failed++;
		} else if (current_skipped && strict) {
			printf("FAIL %s (skipped, and CI=true: %s)\n", t->name, current_skipped);
			failed++;
		} else if (current_skipped) {
			printf("skip %s: %s\n", t->name, current_skipped);
			skipped++;
		} else {
			printf("ok   %s\n", t->name);
			passed++;
		}
	}
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

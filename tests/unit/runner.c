/* Runs every registered test (or those whose name contains argv[1]) and ends
 * with "N passed, N failed". */
#include <stdbool.h>
#include <stdlib.h>

#include "test.h"

static struct test_case *tests;
static bool current_failed;

void test_register(struct test_case *t)
{
	struct test_case **p = &tests;

	/* Keep file order stable: append. */
	while (*p)
		p = &(*p)->next;
	*p = t;
}

void test_fail(void) { current_failed = true; }

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	for (struct test_case *t = tests; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = false;
		t->fn();
		if (current_failed) {
			printf("FAIL %s\n", t->name);
			failed++;
		} else {
			printf("ok   %s\n", t->name);
			passed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

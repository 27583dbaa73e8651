/* Minimal unit-test kit: TEST(name) registers itself; CHECK* stop the
 * current test on failure with file:line and the failed expression; SKIP
 * stops it as skipped, with a reason (a missing tool, a CPU feature): a test
 * that cannot test must say so instead of passing. */
#pragma once
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *t);
void test_fail(void);
void test_skip(const char *reason);

#define TEST(name)                                                                 \
	static void name(void);                                                    \
	static struct test_case name##_case = { #name, name, NULL };               \
	__attribute__((constructor)) static void name##_register(void)             \
	{                                                                          \
		test_register(&name##_case);                                       \
	}                                                                          \
	static void name(void)

#define SKIP(reason)                                                               \
	do {                                                                       \
		test_skip(reason);                                                 \
		return;                                                            \
	} while (0)

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,     \
				__LINE__, #cond);                                  \
			test_fail();                                               \
			return;                                                    \
		}                                                                  \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                         \
	do {                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                \
		if (_a != _b) {                                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);               \
			test_fail();                                               \
			return;                                                    \
		}                                                                  \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                         \
	do {                                                                       \
		const char *_a = (a), *_b = (b);                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)",    \
				_b ? _b : "(null)");                               \
			test_fail();                                               \
			return;                                                    \
		}                                                                  \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

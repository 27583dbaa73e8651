#include <errno.h>
#include <stdint.h>

#include "parse.h"
#include "test.h"

TEST(parse_u64_strict)
{
	uint64_t v;

	CHECK(parse_u64("0", &v) == 0 && v == 0);
	CHECK(parse_u64("4096", &v) == 0 && v == 4096);
	CHECK(parse_u64("010", &v) == 0 && v == 10);	/* decimal, not octal */
	CHECK(parse_u64("0x1f", &v) == 0 && v == 31);
	CHECK(parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK_EQ_INT(parse_u64("18446744073709551616", &v), -ERANGE);
	CHECK_EQ_INT(parse_u64("0x10000000000000000", &v), -ERANGE);
	CHECK_EQ_INT(parse_u64("", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("0x", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("-1", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("+1", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64(" 1", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("1 ", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("12abc", &v), -EINVAL);
	CHECK_EQ_INT(parse_u64(NULL, &v), -EINVAL);
}

TEST(parse_size_suffixes)
{
	uint64_t v;

	CHECK(parse_size("4K", &v) == 0 && v == 4096);
	CHECK(parse_size("4k", &v) == 0 && v == 4096);
	CHECK(parse_size("16M", &v) == 0 && v == 16u << 20);
	CHECK(parse_size("2G", &v) == 0 && v == 2ull << 30);
	CHECK(parse_size("512", &v) == 0 && v == 512);
	CHECK_EQ_INT(parse_size("1MB", &v), -EINVAL);
	CHECK_EQ_INT(parse_size("M", &v), -EINVAL);
	CHECK_EQ_INT(parse_size("17179869184G", &v), -ERANGE);
}

TEST(parse_int_range)
{
	int n;

	CHECK(parse_int("1", 1, 128, &n) == 0 && n == 1);
	CHECK(parse_int("128", 1, 128, &n) == 0 && n == 128);
	CHECK_EQ_INT(parse_int("0", 1, 128, &n), -ERANGE);
	CHECK_EQ_INT(parse_int("129", 1, 128, &n), -ERANGE);
	CHECK_EQ_INT(parse_int("4294967297", 0, 1000, &n), -ERANGE);
	CHECK_EQ_INT(parse_int("3x", 0, 10, &n), -EINVAL);
}

TEST(parse_uuid_text_forms)
{
	CHECK_EQ_INT(parse_uuid_text("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"), 0);
	CHECK_EQ_INT(parse_uuid_text("0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0"), 0);
	CHECK_EQ_INT(parse_uuid_text("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f"), -EINVAL);
	CHECK_EQ_INT(parse_uuid_text("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f00"), -EINVAL);
	CHECK_EQ_INT(parse_uuid_text("0b1c2d3e-4f50-6172-8394xa5b6c7d8e9f0"), -EINVAL);
	CHECK_EQ_INT(parse_uuid_text("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9g0"), -EINVAL);
	CHECK_EQ_INT(parse_uuid_text(NULL), -EINVAL);
}

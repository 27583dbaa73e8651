#include <errno.h>

#include "json_util.h"
#include "test.h"

TEST(json_parse_object_strict_document)
{
	struct json_object *o = NULL;
	const char *bad[] = { "", "[]", "\"x\"", "42", "{", "{} x", "{}{}", "{\"a\":}",
			      "null", "{\"a\":1,}" };

	CHECK_EQ_INT(json_parse_object("{}", 2, &o), 0);
	json_object_put(o);
	CHECK_EQ_INT(json_parse_object(" {\"a\":1} \r\n", 11, &o), 0);
	json_object_put(o);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(json_parse_object(bad[i], strlen(bad[i]), &o), -EBADMSG);
	/* Length, not NUL, ends the document: a NUL inside is garbage. */
	CHECK_EQ_INT(json_parse_object("{}\0{}", 5, &o), -EBADMSG);
}

TEST(json_deep_nesting_refused)
{
	char buf[200];
	struct json_object *o;
	size_t n = 0;

	buf[n++] = '{';
	buf[n++] = '"'; buf[n++] = 'a'; buf[n++] = '"'; buf[n++] = ':';
	for (int i = 0; i < 40; i++)
		buf[n++] = '[';
	for (int i = 0; i < 40; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	CHECK_EQ_INT(json_parse_object(buf, n, &o), -EBADMSG);
}

TEST(json_int64_numbers_or_strings)
{
	struct json_object *o;
	const char *doc = "{\"a\":1506484173,\"b\":\"1506484173\",\"c\":\"-5\",\"d\":\"12x\","
			  "\"e\":1.5,\"f\":\"\",\"g\":null,\"h\":\"99999999999999999999\","
			  "\"i\":99999999999999999999,\"j\":true,\"k\":-9223372036854775808}";
	int64_t v = 0;

	CHECK_EQ_INT(json_parse_object(doc, strlen(doc), &o), 0);
	CHECK_EQ_INT(json_get_int64(o, "a", &v), 0);
	CHECK_EQ_INT(v, 1506484173);
	CHECK_EQ_INT(json_get_int64(o, "b", &v), 0);
	CHECK_EQ_INT(v, 1506484173);
	CHECK_EQ_INT(json_get_int64(o, "c", &v), 0);
	CHECK_EQ_INT(v, -5);
	CHECK_EQ_INT(json_get_int64(o, "k", &v), 0);
	CHECK(v == INT64_MIN);
	CHECK_EQ_INT(json_get_int64(o, "d", &v), -EBADMSG);
	CHECK_EQ_INT(json_get_int64(o, "e", &v), -EBADMSG);
	CHECK_EQ_INT(json_get_int64(o, "f", &v), -EBADMSG);
	CHECK_EQ_INT(json_get_int64(o, "g", &v), -ENOENT);
	CHECK_EQ_INT(json_get_int64(o, "h", &v), -EBADMSG);
	CHECK_EQ_INT(json_get_int64(o, "i", &v), -EBADMSG);
	CHECK_EQ_INT(json_get_int64(o, "j", &v), -EBADMSG);
	CHECK_EQ_INT(json_get_int64(o, "zz", &v), -ENOENT);
	json_object_put(o);
}

TEST(json_strings_and_objects)
{
	struct json_object *o, *sub;
	const char *doc = "{\"s\":\"x\",\"n\":1,\"o\":{\"k\":\"v\"},\"z\":null}", *s;

	CHECK_EQ_INT(json_parse_object(doc, strlen(doc), &o), 0);
	CHECK_EQ_INT(json_get_string(o, "s", &s), 0);
	CHECK_EQ_STR(s, "x");
	CHECK_EQ_INT(json_get_string(o, "n", &s), -EBADMSG);
	CHECK_EQ_INT(json_get_string(o, "z", &s), -ENOENT);
	CHECK_EQ_INT(json_get_object(o, "o", &sub), 0);
	CHECK_EQ_INT(json_get_string(sub, "k", &s), 0);
	CHECK_EQ_STR(s, "v");
	CHECK_EQ_INT(json_get_object(o, "s", &sub), -EBADMSG);
	json_object_put(o);
}

TEST(json_one_line_flattens_and_cuts)
{
	char out[12];

	json_one_line(out, sizeof(out), "a\nb\tc\r");
	CHECK_EQ_STR(out, "a b c ");
	json_one_line(out, sizeof(out), "0123456789abcdef");
	CHECK_EQ_STR(out, "01234567...");
}

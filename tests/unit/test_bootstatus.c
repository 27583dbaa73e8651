#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstatus.h"
#include "test.h"

TEST(bootstatus_json_has_platform_state_names)
{
	struct bootstatus st = { .state = BOOTSTATUS_IN_PROGRESS, .device = "/dev/vda1",
				 .layout = "shift", .bytes_done = 25, .bytes_total = 100,
				 .mb_per_s = 42.42 };
	char *s = bootstatus_to_json(&st);
	struct json_object *o, *v;

	CHECK(s != NULL);
	o = json_tokener_parse(s);
	CHECK(o != NULL);
	CHECK(strstr(s, "\"mb_per_s\":42.4,") != NULL); /* one decimal, not %.17g */
	CHECK(json_object_object_get_ex(o, "state", &v));
	CHECK_EQ_STR(json_object_get_string(v), "EncryptionInProgress");
	free(s);
	CHECK(json_object_object_get_ex(o, "percent", &v));
	CHECK(json_object_get_double(v) == 25.0);
	CHECK(json_object_object_get_ex(o, "last_error", &v));
	CHECK(v == NULL);
	json_object_put(o);
	CHECK_EQ_STR(bootstatus_state_name(BOOTSTATUS_NOT_ENCRYPTED), "NotEncrypted");
	CHECK_EQ_STR(bootstatus_state_name(BOOTSTATUS_ENCRYPTED), "Encrypted");
}

TEST(bootstatus_write_is_atomic_file)
{
	char dir[] = "/tmp/bootstatus-XXXXXX", path[64];
	struct bootstatus st = { .state = BOOTSTATUS_NOT_ENCRYPTED,
				 .last_error = "Key Vault unreachable" };
	struct json_object *o, *v;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(bootstatus_write(dir, &st) == 0);
	snprintf(path, sizeof(path), "%s/status.json", dir);
	o = json_object_from_file(path);
	unlink(path);
	rmdir(dir);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "last_error", &v));
	CHECK_EQ_STR(json_object_get_string(v), "Key Vault unreachable");
	json_object_put(o);
}

/* status.json's boot_split member (BOOT.md "enroll, status") */
static struct json_object *split_member(const struct bootstatus *st, char **text)
{
	struct json_object *o, *m = NULL;

	*text = bootstatus_to_json(st);
	if (!*text)
		return NULL;
	o = json_tokener_parse(*text);
	if (o && json_object_object_get_ex(o, "boot_split", &m))
		json_object_get(m);
	json_object_put(o);
	return m;
}

TEST(bootstatus_split_member_absent_without_a_split)
{
	struct bootstatus st = { .state = BOOTSTATUS_ENCRYPTED, .device = "/dev/vda1" };
	char *s;

	CHECK(split_member(&st, &s) == NULL);
	CHECK(s != NULL && strstr(s, "boot_split") == NULL);
	free(s);
}

TEST(bootstatus_split_member_in_progress_and_done)
{
	struct bootstatus st = { .state = BOOTSTATUS_NOT_ENCRYPTED,
				 .split = { BOOTSTATUS_SPLIT_IN_PROGRESS, "switch-esp", NULL } };
	struct json_object *m, *v;
	char *s;

	m = split_member(&st, &s);
	CHECK(m != NULL);
	CHECK(json_object_object_get_ex(m, "state", &v));
	CHECK_EQ_STR(json_object_get_string(v), "in-progress");
	CHECK(json_object_object_get_ex(m, "step", &v));
	CHECK_EQ_STR(json_object_get_string(v), "switch-esp");
	/* present, and null */
	CHECK(json_object_object_get_ex(m, "reason", &v) && v == NULL);
	json_object_put(m);
	free(s);

	st.split = (struct bootstatus_split){ .state = BOOTSTATUS_SPLIT_DONE };
	m = split_member(&st, &s);
	CHECK(m != NULL);
	CHECK(json_object_object_get_ex(m, "state", &v));
	CHECK_EQ_STR(json_object_get_string(v), "done");
	CHECK(json_object_object_get_ex(m, "step", &v) && v == NULL);
	json_object_put(m);
	free(s);
	CHECK_EQ_STR(bootstatus_split_state_name(BOOTSTATUS_SPLIT_REFUSED), "refused");
	CHECK_EQ_STR(bootstatus_split_state_name(BOOTSTATUS_SPLIT_INCOMPLETE), "incomplete");
	CHECK(bootstatus_split_state_name(BOOTSTATUS_SPLIT_NONE) == NULL);
}

/* The reason is an error line: paths in quotes, a tool's output, any byte. */
TEST(bootstatus_split_reason_is_escaped)
{
	static const char reason[] = "e2fsck \"/dev/vda1\" said: C:\\x\ttab\nline2 \x01\x1f "
				     "</script> caf\xc3\xa9 a/b";
	struct bootstatus st = { .state = BOOTSTATUS_NOT_ENCRYPTED,
				 .split = { BOOTSTATUS_SPLIT_INCOMPLETE, "fill", reason } };
	struct json_object *m, *v;
	char *s;

	m = split_member(&st, &s);
	CHECK(m != NULL);
	/* one line of JSON: nothing of the reason raw that would break it */
	CHECK(strchr(s, '\n') == NULL && strchr(s, '\t') == NULL && strchr(s, '\x01') == NULL);
	CHECK(strstr(s, "\\\"\\/dev\\/vda1\\\"") != NULL || strstr(s, "\\\"/dev/vda1\\\"") != NULL);
	CHECK(strstr(s, "C:\\\\x\\ttab\\nline2 \\u0001\\u001f") != NULL);
	CHECK(json_object_object_get_ex(m, "reason", &v));
	CHECK_EQ_STR(json_object_get_string(v), reason);
	CHECK(json_object_object_get_ex(m, "state", &v));
	CHECK_EQ_STR(json_object_get_string(v), "incomplete");
	json_object_put(m);
	free(s);
}

/* What `rootcrypt status` reads back: only for the device the boot named. */
TEST(bootstatus_split_read_back_for_its_device)
{
	char dir[] = "/tmp/bootstatus-XXXXXX", path[64], dev[64], other[64], line[700];
	static const char reason[] = "/boot split refused: no \"room\"; grow the disk by 835 MiB";
	struct bootstatus st = { .state = BOOTSTATUS_NOT_ENCRYPTED,
				 .split = { BOOTSTATUS_SPLIT_REFUSED, NULL, reason } };
	struct bootstatus_split_text t;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(dev, sizeof(dev), "%s/disk.img", dir);
	snprintf(other, sizeof(other), "%s/other.img", dir);
	f = fopen(dev, "w");
	CHECK(f != NULL);
	fclose(f);
	f = fopen(other, "w");
	CHECK(f != NULL);
	fclose(f);
	CHECK(bootstatus_split_read(dir, dev, &t) == 0); /* no status.json yet */
	st.device = dev;
	CHECK(bootstatus_write(dir, &st) == 0);
	CHECK(bootstatus_split_read(dir, dev, &t) == 1);
	CHECK_EQ_STR(t.state, "refused");
	CHECK_EQ_STR(t.step, "");
	CHECK_EQ_STR(t.reason, reason);
	bootstatus_split_line(&t, line, sizeof(line));
	CHECK_EQ_STR(line, "/boot split: refused: no \"room\"; grow the disk by 835 MiB");
	CHECK(bootstatus_split_read(dir, other, &t) == 0);
	st.split = (struct bootstatus_split){ .state = BOOTSTATUS_SPLIT_INCOMPLETE,
					      .step = "switch-bios",
					      .reason = "boot split: cannot write" };
	CHECK(bootstatus_write(dir, &st) == 0);
	CHECK(bootstatus_split_read(dir, dev, &t) == 1);
	bootstatus_split_line(&t, line, sizeof(line));
	CHECK_EQ_STR(line, "/boot split: incomplete after step switch-bios: cannot write "
			   "(the next boot goes on)");
	st.split = (struct bootstatus_split){ 0 };
	CHECK(bootstatus_write(dir, &st) == 0);
	CHECK(bootstatus_split_read(dir, dev, &t) == 0);
	snprintf(path, sizeof(path), "%s/status.json", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("{not json", f);
	fclose(f);
	CHECK(bootstatus_split_read(dir, dev, &t) < 0);
	unlink(path);
	unlink(dev);
	unlink(other);
	rmdir(dir);
}

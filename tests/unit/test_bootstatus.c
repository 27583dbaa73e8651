#include <json-c/json.h>
#include <stdlib.h>
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
	free(s);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "state", &v));
	CHECK_EQ_STR(json_object_get_string(v), "EncryptionInProgress");
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

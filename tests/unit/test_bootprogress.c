#include <json-c/json.h>
#include <stdlib.h>
#include <unistd.h>

#include "bootprogress.h"
#include "test.h"

TEST(bootprogress_json_lines_become_status_and_console_lines)
{
	char dir[] = "/tmp/bootprogress-XXXXXX", path[80], *out = NULL;
	size_t out_len = 0;
	struct bootprogress bp = { .st = { .state = BOOTSTATUS_IN_PROGRESS, .device = "/dev/vda1" } };
	struct json_object *o, *v;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	bp.status_dir = dir;
	bp.console = open_memstream(&out, &out_len);
	CHECK(bp.console != NULL);
	f = bootprogress_open(&bp);
	CHECK(f != NULL);
	/* Split across writes, as stdio may deliver it. */
	fputs("{\"state\":\"encrypting\",\"percent\":50.0,\"bytes_do", f);
	fflush(f);
	fputs("ne\":536870912,\"bytes_total\":1073741824,\"mb_per_s\":42.5,\"eta_s\":12}\n", f);
	fclose(f);
	fclose(bp.console);
	CHECK(strstr(out, "rootcrypt: encrypting /dev/vda1:  50.0%, 0.50 of 1.00 GiB, 42.5 MB/s, ETA 0:00:12\n") != NULL);
	free(out);
	snprintf(path, sizeof(path), "%s/status.json", dir);
	o = json_object_from_file(path);
	unlink(path);
	rmdir(dir);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "state", &v));
	CHECK_EQ_STR(json_object_get_string(v), "EncryptionInProgress");
	CHECK(json_object_object_get_ex(o, "bytes_done", &v));
	CHECK_EQ_INT(json_object_get_int64(v), 536870912);
	json_object_put(o);
}

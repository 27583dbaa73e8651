#include <errno.h>
#include <string.h>

#include "log.h"
#include "test.h"

/* The line a status file quotes is the one the console printed. */
TEST(log_last_error_keeps_the_last_error_line)
{
	char big[2000];

	log_last_error_clear();
	CHECK_EQ_STR(log_last_error(), "");
	log_info("not an error");
	log_warn("not an error either");
	CHECK_EQ_STR(log_last_error(), "");
	CHECK(log_error(ENOSPC, "no room: grow the disk by %d MiB", 531) == -ENOSPC);
	CHECK_EQ_STR(log_last_error(), "no room: grow the disk by 531 MiB");
	log_info("an info line does not replace it");
	CHECK_EQ_STR(log_last_error(), "no room: grow the disk by 531 MiB");
	CHECK(log_error_errno(-EIO, "cannot write \"%s\"", "/dev/x") == -EIO);
	CHECK_EQ_STR(log_last_error(), "cannot write \"/dev/x\": Input/output error");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_error(EINVAL, "%s", big);
	CHECK_EQ_INT(strlen(log_last_error()), LOG_LAST_ERROR_MAX - 1);
	log_last_error_clear();
	CHECK_EQ_STR(log_last_error(), "");
}

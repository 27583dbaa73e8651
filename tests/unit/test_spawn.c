/* spawn_run: bytes on the child's stdin (how passphrases reach
 * cryptsetup), its stdout captured and cut to the buffer, its working
 * directory (cryptsetup's in-place init writes a temporary header there). */
#include <errno.h>
#include <string.h>

#include "spawn.h"
#include "test.h"

TEST(spawn_run_feeds_stdin_and_captures_stdout)
{
	const char *argv[] = { "sh", "-c", "cat; echo done", NULL };
	char out[64];
	struct spawn_io io = { .input = "pass\0word", .input_len = 9, .output = out,
			       .output_size = sizeof(out) };
	int status = -1;

	CHECK_EQ_INT(spawn_run(argv, &io, &status), 0);
	CHECK_EQ_INT(status, 0);
	CHECK(memcmp(out, "pass\0worddone\n", 15) == 0);
}

TEST(spawn_run_cuts_output_to_the_buffer)
{
	const char *argv[] = { "sh", "-c", "printf abcdefgh; exit 3", NULL };
	char out[4];
	struct spawn_io io = { .output = out, .output_size = sizeof(out) };
	int status = -1;

	CHECK_EQ_INT(spawn_run(argv, &io, &status), 0);
	CHECK_EQ_INT(status, 3);
	CHECK_EQ_STR(out, "abc");
}

TEST(spawn_run_working_directory)
{
	const char *argv[] = { "sh", "-c", "pwd", NULL };
	char out[64];
	struct spawn_io io = { .output = out, .output_size = sizeof(out), .cwd = "/" };
	struct spawn_io bad = { .cwd = "/no/such/directory" };
	int status = -1;

	CHECK_EQ_INT(spawn_run(argv, &io, &status), 0);
	CHECK_EQ_STR(out, "/\n");
	CHECK_EQ_INT(spawn_run(argv, &bad, &status), -ENOENT);
}

TEST(spawn_run_child_that_does_not_read)
{
	/* more than a pipe holds would block; a passphrase is far smaller,
	 * and a child that exits without reading it is no error of ours */
	const char *argv[] = { "sh", "-c", "exit 2", NULL };
	static char input[4096];
	struct spawn_io io = { .input = input, .input_len = sizeof(input) };
	int status = -1;

	CHECK_EQ_INT(spawn_run(argv, &io, &status), 0);
	CHECK_EQ_INT(status, 2);
}

TEST(spawn_run_missing_program)
{
	const char *argv[] = { "/no/such/program", NULL };
	int status = -1;

	CHECK_EQ_INT(spawn_run(argv, NULL, &status), -ENOENT);
}

struct lines_seen {
	char text[4096];
	int count;
};

static void collect_line(const char *line, void *ctx)
{
	struct lines_seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "[%zu:%.8s]", strlen(line), line);
	s->count++;
}

TEST(spawn_run_lines_as_they_come)
{
	/* stdin reaches the child while its lines come back one by one: a
	 * long line is cut at 1 KiB (its rest dropped), the last may lack a
	 * newline */
	const char *argv[] = { "sh", "-c",
			       "read x; echo \"got $x\"; echo; head -c 3000 /dev/zero | tr '\\0' a; "
			       "echo; printf tail",
			       NULL };
	struct lines_seen seen = { "", 0 };
	struct spawn_io io = { .input = "pw\n", .input_len = 3, .on_line = collect_line,
			       .line_ctx = &seen };
	int status = -1;

	CHECK_EQ_INT(spawn_run(argv, &io, &status), 0);
	CHECK_EQ_INT(status, 0);
	CHECK_EQ_STR(seen.text, "[6:got pw][0:][1023:aaaaaaaa][4:tail]");
	CHECK_EQ_INT(seen.count, 4);
}

#include "bootprompt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "secmem.h"

#define PROMPT_MAX 4096

/* Echo off on the console. *restore: the old settings must be put back
 * (tcsetattr succeeded). Returns whether echo is off now: tcsetattr reports
 * success when any one of the changes was made, so it is read back. */
static bool echo_off(int fd, struct termios *old, bool *restore)
{
	struct termios quiet, now;

	*restore = false;
	if (tcgetattr(fd, old) < 0)
		return false; /* not a terminal (a file, a pipe, a closed line) */
	quiet = *old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0)
		return false;
	*restore = true;
	return tcgetattr(fd, &now) == 0 && !(now.c_lflag & ECHO);
}

int bootprompt_read(const char *console, const char *prompt, int timeout_s, char **ret_secmem,
		    size_t *ret_len)
{
	static const char visible[] = "rootcrypt: warning: echo cannot be turned off on this "
				      "console: what you type next will be visible (and kept in "
				      "any log of this console)\n";
	struct termios old;
	bool restore;
	size_t len = 0;
	char *buf;
	int fd, r = 0;

	fd = open(console, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open console \"%s\"", console);
	buf = secmem_alloc(PROMPT_MAX + 1);
	if (!buf) {
		close(fd);
		return log_error(ENOMEM, "out of memory for the passphrase");
	}
	/* Without echo control the prompt still comes: it is the last way to
	 * boot an encrypted root when Key Vault stays away, and refusing it
	 * would leave the machine unbootable. The operator is told first and
	 * can let it time out instead. The line goes where the prompt goes
	 * (in the initramfs stderr is that console too: said once). */
	if (!echo_off(fd, &old, &restore) && write(fd, visible, sizeof(visible) - 1) < 0)
		log_warn("echo cannot be turned off on \"%s\": typed text will be visible", console);
	if (write(fd, prompt, strlen(prompt)) < 0)
		log_debug("prompt write to %s failed", console);

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;
		ssize_t n;

		r = poll(&p, 1, timeout_s > 0 ? timeout_s * 1000 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			r = log_error(ETIMEDOUT, "no passphrase typed on \"%s\" within %d s", console,
				      timeout_s);
			break;
		}
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = len ? 0 : log_error(ENODATA, "console \"%s\" closed before a passphrase",
						console);
			break;
		}
		if (c == '\n' || c == '\r') {
			r = 0;
			break;
		}
		if (len == PROMPT_MAX) {
			r = log_error(E2BIG, "passphrase longer than %d bytes", PROMPT_MAX);
			break;
		}
		buf[len++] = c;
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		log_debug("newline write to %s failed", console);
	close(fd);
	if (r < 0) {
		secmem_free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_secmem = buf;
	*ret_len = len;
	return 0;
}

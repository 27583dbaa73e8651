/* enroll's checks of GRUB's settings and output (issue 15.5): a snippet in
 * /etc/default/grub.d that would override the root= enroll sets, and the
 * generated grub.cfg itself, read back after update-grub, must show the
 * one root= rootcrypt needs. The distro's grub-mkconfig is the authority:
 * the read-back catches any way of overriding we did not foresee. */
#include "enroll_grub.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Variables whose value in a grub.d snippet beats enroll's lines in
 * /etc/default/grub (grub-mkconfig sources the snippets afterwards). */
static const char *const overriding[] = {
	"GRUB_DEVICE", "GRUB_DISABLE_LINUX_UUID", "GRUB_DISABLE_LINUX_PARTUUID",
};

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Is `p` (start of a word) followed by "root=" as a whole word anywhere in
 * [p, end)? */
static bool has_root_param(const char *p, const char *end)
{
	for (; p + 5 <= end; p++)
		if (!memcmp(p, "root=", 5) && (p == end || p[-1] == ' ' || p[-1] == '\t' ||
					       p[-1] == '"' || p[-1] == '\''))
			return true;
	return false;
}

int enroll_grub_snippet_overrides(const char *text, char *why, size_t why_len)
{
	const char *line, *end;
	unsigned n = 0;

	for (line = text; *line; line = *end ? end + 1 : end) {
		const char *p = skip_blanks(line);
		size_t i;

		end = strchrnul(line, '\n');
		n++;
		if (!strncmp(p, "export ", 7))
			p = skip_blanks(p + 7);
		for (i = 0; i < sizeof(overriding) / sizeof(*overriding); i++) {
			size_t l = strlen(overriding[i]);

			if (!strncmp(p, overriding[i], l) && p[l] == '=') {
				snprintf(why, why_len, "line %u sets %s", n, overriding[i]);
				return 1;
			}
		}
		if (!strncmp(p, "GRUB_CMDLINE_LINUX", 18) && has_root_param(p, end)) {
			snprintf(why, why_len, "line %u puts a root= on the kernel line", n);
			return 1;
		}
	}
	return 0;
}

int enroll_grub_cfg_check(const char *cfg, const char *name, char *why, size_t why_len)
{
	char want[256];
	const char *line, *end;
	unsigned n = 0, kernels = 0;

	snprintf(want, sizeof(want), "root=/dev/mapper/%s", name);
	for (line = cfg; *line; line = *end ? end + 1 : end) {
		const char *p = skip_blanks(line), *w;
		unsigned roots = 0;
		bool ours = false;

		end = strchrnul(line, '\n');
		n++;
		if (strncmp(p, "linux", 5) || (p[5] != ' ' && p[5] != '\t' &&
					       strncmp(p + 5, "efi ", 4) && strncmp(p + 5, "16 ", 3)))
			continue;
		kernels++;
		/* words after the kernel path */
		for (w = p; w < end;) {
			const char *we;

			w = skip_blanks(w);
			we = w;
			while (we < end && *we != ' ' && *we != '\t')
				we++;
			if ((size_t)(we - w) >= 5 && !memcmp(w, "root=", 5)) {
				roots++;
				ours = (size_t)(we - w) == strlen(want) && !memcmp(w, want, strlen(want));
			}
			w = we;
		}
		if (roots != 1 || !ours) {
			snprintf(why, why_len, "line %u of the generated grub.cfg has %u root= "
				 "parameter%s%s, not just %s", n, roots, roots == 1 ? "" : "s",
				 roots == 1 ? " (another device)" : "", want);
			return 1;
		}
	}
	if (!kernels) {
		snprintf(why, why_len, "the generated grub.cfg has no linux line");
		return 1;
	}
	return 0;
}

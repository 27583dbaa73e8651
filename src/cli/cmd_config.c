/* `rootcrypt config get KEY`: the one parser of /etc/rootcrypt.conf and of
 * the kernel command line's rootcrypt.* parameters, for the shell glue
 * (issue 17.7). Three sed copies used to read the file and disagreed with
 * config.c on quotes (`name = "root"` made the glue wait for
 * /dev/mapper/"root"); the kernel line has its own quoting rules too. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"

/* Exit codes the glue tells apart: set / not set / the file is invalid
 * (then `rootcrypt boot` must still run, to report it). */
enum { CONFIG_SET = 0, CONFIG_UNSET = 1, CONFIG_INVALID = 3 };

static void usage(FILE *f)
{
	fprintf(f, "Usage: rootcrypt config get KEY [--file F] [--cmdline F | --no-cmdline]\n"
		   "  Prints KEY's value: rootcrypt.KEY= on the kernel command line (default\n"
		   "  /proc/cmdline) wins over \"KEY = value\" in the file (default %s).\n"
		   "  Exit: 0 set, 1 not set, 2 usage or unknown key, 3 the configuration is invalid.\n",
		CONFIG_DEFAULT_PATH);
}

int cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "no-cmdline", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct rootcrypt_config cfg = { 0 };
	const char *file = CONFIG_DEFAULT_PATH, *cmdline = "/proc/cmdline";
	char *value = NULL;
	int ch, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': file = optarg; break;
		case 'c': cmdline = optarg; break;
		case 'n': cmdline = NULL; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CMD_USAGE;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "get") != 0) {
		usage(stderr);
		return CMD_USAGE;
	}
	/* the key is checked before the files: a typo in a script is a usage error */
	r = config_get(&cfg, argv[optind + 1], &value);
	if (r == -ENOENT) {
		log_error(EINVAL, "unknown configuration key \"%s\"", argv[optind + 1]);
		return CMD_USAGE;
	}
	if (config_load(&cfg, file, cmdline) < 0) {
		config_free(&cfg);
		return CONFIG_INVALID;
	}
	r = config_get(&cfg, argv[optind + 1], &value);
	config_free(&cfg);
	if (r < 0)
		return log_error(-r, "out of memory");
	if (!value)
		return CONFIG_UNSET;
	printf("%s\n", value);
	free(value);
	return CONFIG_SET;
}
